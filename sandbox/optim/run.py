"""One optimiser run as a plain generator of `Step` records: no threads, clocks or UI inside.

Per step k: evaluate the loss and gradient at θ_k, record them, then update θ_k -> θ_{k+1} with
gradient (SAM: at its ascent point) -> + noise -> clip -> precondition -> optimizer step. The
app's worker and headless replays both iterate this generator, so a replay is the live run by
construction.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

import torch

from sandbox.optim.anatomy import take_apart
from sandbox.optim.extra import SAM
from sandbox.optim.precondition import precondition
from sandbox.optim.registry import make_optimizer
from sandbox.optim.schedule import lr_factor
from sandbox.optim.sharpness import top_eigenvalue
from sandbox.optim.spectrum import hessian_probes
from sandbox.scenario.schema import Change, Run
from sandbox.trace.records import Step

Probes = tuple[tuple[str, tuple[float, ...]], ...]  # (name, values) pairs, as Step.probes

DIVERGENCE_LOSS = 1e12  # |loss| beyond this counts as diverged (the contract)


def run_seed(scenario_seed: int, run_name: str) -> int:
    """The seed of one run's randomness: stable under reordering or adding other runs."""
    return (scenario_seed * 1_000_003 + zlib.crc32(run_name.encode())) % 2**63


@dataclass
class Settings:
    """A run's hyper-parameters that the timeline may change while it runs."""

    lr: float
    noise: float
    clip: float | None
    batch_size: int | None

    def apply(self, change: Change, optimizer: torch.optim.Optimizer) -> None:
        for key in ("lr", "noise", "clip", "batch_size"):
            if getattr(change, key) is not None:
                setattr(self, key, getattr(change, key))
        group = optimizer.param_groups[0]
        for key in ("momentum", "weight_decay", "eps"):
            if getattr(change, key) is not None and key in group:
                group[key] = getattr(change, key)


def run_steps(
    problem,
    run: Run,
    steps: int,
    seed: int,
    *,
    changes: Mapping[int, Sequence[Change]] | None = None,
    probe: Callable[[int, torch.Tensor], Probes] | None = None,
    observe: Callable[[int, torch.Tensor], None] | None = None,
    anatomy: bool = False,
) -> Iterator[Step]:
    """Yield the run's Step records from step 0 to `steps` (or to divergence).

    `seed` is the scenario's (the run's own randomness is `run_seed(seed, run.name)`);
    `changes` are the timeline's changes of this run's settings by step. `observe(k, θ_k)`,
    when given, sees the full parameters at each step (read-only): for snapshots (PCA slices)
    and moving surfaces, which the records deliberately do not carry. `probe(k, θ_k)` gives
    the probes a record carries (`sandbox.landscape.probes.make_probes`). `anatomy=True` adds
    to each record the update from it taken apart (`sandbox.optim.anatomy`: the app's arrows),
    which is why a record is yielded after its update.
    """
    generator = torch.Generator().manual_seed(run_seed(seed, run.name))
    theta = problem.initial_theta(run).clone().requires_grad_(True)
    optimizer = make_optimizer(run, [theta])
    settings = Settings(run.lr, run.noise, run.clip, run.batch_size)
    changes = changes or {}
    kind = "newton" if run.optimizer == "newton" else run.precondition
    measure = _Measures(problem, run, seed, probe)
    for k in range(steps + 1):
        for change in changes.get(k, ()):
            settings.apply(change, optimizer)
        lr = settings.lr * lr_factor(run.schedule, k, steps)
        batch = problem.sample_batch(settings.batch_size, generator)
        value, grad = _evaluate(problem, theta, batch, generator)
        record = _record(problem, k, value, theta, grad, lr)
        if observe is not None:
            observe(k, theta.detach())
        record = measure(record, k, theta.detach())
        if record.diverged or k == steps:
            yield record
            return
        step_grad = _step_gradient(problem, optimizer, theta, grad, batch, generator)
        before = theta.detach().clone() if anatomy else None
        theta.grad = _update(problem, theta, step_grad, settings, kind, run.damping, generator)
        optimizer.param_groups[0]["lr"] = lr
        optimizer.step()
        if before is not None:
            record = replace(
                record, anatomy=take_apart(problem, optimizer, theta, before, grad, lr)
            )
        yield record


class _Measures:
    """What a record measures at θ_k besides its loss (never for a diverged run): λmax, warm-
    started from the last estimate; the plots' probes; the Hessian's trace and density."""

    def __init__(self, problem, run: Run, seed: int, probe):
        self.problem, self.run, self.probe = problem, run, probe
        self.vector = None  # the last λmax estimate's eigenvector
        self.seed = run_seed(seed, run.name) % 2**31  # the Hessian probes' own vectors (+ step)

    def __call__(self, record: Step, k: int, theta: torch.Tensor) -> Step:
        run, loss = self.run, self.problem.full_loss
        if record.diverged:
            return record
        if run.sharpness_every and k % run.sharpness_every == 0:
            sharpness, self.vector = top_eigenvalue(loss, theta, v0=self.vector)
            record = replace(record, sharpness=sharpness)
        if self.probe is not None:
            record = replace(record, probes=self.probe(k, theta))
        if run.trace_every or run.density_every:
            spectrum = hessian_probes(loss, run, k, theta, self.seed)
            record = replace(record, probes=record.probes + spectrum)
        return record


def _evaluate(problem, theta: torch.Tensor, batch, generator) -> tuple[float, torch.Tensor]:
    """The landscape's loss at θ (full data, no dropout) and the gradient of the batch's."""
    loss = problem.loss(theta, batch, generator)
    # backward() rather than autograd.grad(): the same engine and the same numbers, without
    # autograd.grad's Python-side checks, which cost as much as the engine on these tiny graphs.
    theta.grad = None
    loss.backward()
    if problem.batch_is_full(batch):
        return loss.item(), theta.grad
    with torch.no_grad():
        return problem.full_loss(theta).item(), theta.grad


def _step_gradient(
    problem,
    optimizer: torch.optim.Optimizer,
    theta: torch.Tensor,
    grad: torch.Tensor,
    batch,
    generator: torch.Generator,
) -> torch.Tensor:
    """The gradient the step follows: ∇f(θ_k), or for SAM ∇f at its ascent point (same batch).

    SAM's step needs a second gradient, at θ_k + ρ·g/‖g‖ (g: the recorded one). The loop takes
    it here, in the open, rather than in a closure that optimizer.step() calls: the record of
    step k stays the loss and gradient at θ_k; the ascent uses the same batch (the sharpness SAM
    sees is that of the loss it steps on); noise, clip and preconditioning then apply to the
    gradient the step uses, as for every optimiser; and θ never moves to θ + ε and back in
    place, where observe or probe could see it.
    """
    if not isinstance(optimizer, SAM):
        return grad
    point = optimizer.ascent_point(theta.detach(), grad).requires_grad_(True)
    problem.loss(point, batch, generator).backward()
    return point.grad


def _update(
    problem,
    theta: torch.Tensor,
    grad: torch.Tensor,
    settings: Settings,
    kind: str,
    damping: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """What the optimiser steps along: gradient -> + noise -> clip -> precondition."""
    update = (
        grad + settings.noise * torch.randn(grad.shape, generator=generator, dtype=grad.dtype)
        if settings.noise
        else grad
    )
    if settings.clip is not None:
        update = update * min(1.0, settings.clip / (update.norm().item() + 1e-12))
    if kind != "none":
        update = precondition(
            update,
            kind,
            problem.full_loss,
            theta,
            damping,
            exact_diagonal=not problem.is_network,
            generator=generator,
        )
    return update


def _record(
    problem, k: int, value: float, theta: torch.Tensor, grad: torch.Tensor, lr: float
) -> Step:
    """The step's record; divergence is read off its numbers (cheaper than scanning θ)."""
    x, y, offplane = problem.project(theta)
    if problem.is_network:
        weight_norm = theta.detach().norm().item()  # inf or nan as soon as any weight is
        grad_norm = grad.norm().item()
        layers = tuple(problem.model.layer_grad_norms(grad).tolist())
        finite_theta = math.isfinite(weight_norm)
    else:
        weight_norm, layers = None, None
        grad_norm = math.hypot(*grad.tolist())
        finite_theta = math.isfinite(x) and math.isfinite(y)
    diverged = not (finite_theta and math.isfinite(value) and abs(value) <= DIVERGENCE_LOSS)
    return Step(k, value, x, y, grad_norm, lr, None, offplane, weight_norm, layers, diverged)
