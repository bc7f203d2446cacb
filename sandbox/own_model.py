"""Your own model in the sandbox: `show` opens the window on any ``torch.nn.Module`` and its
data, `replay_model` does the same headless (docs/own-model.md walks through both).

Both build an ordinary scenario around what they are handed and send it through the same
checks, pipeline and worker as a bundled one: the data become a data file (checked as any
``[landscape.data] file``), the module a handed-over copy (`sandbox.landscape.module`), the runs
the scenario's ``[[runs]]`` tables. The caller's module and tensors are never changed.
"""

from __future__ import annotations

import atexit
import itertools
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from sandbox.catalogue.networks import GIVEN_LOSS, LOSSES
from sandbox.scenario import handover

SOURCE = "<sandbox.show>"  # where the scenario's problems are said to be
DEFAULT_RUNS = ({"name": "SGD", "optimizer": "sgd", "lr": 0.1},)
_folder: Path | None = None
_numbers = itertools.count(1)


def model_scenario(
    model,
    data: tuple,
    loss: str | Callable = "cross_entropy",
    runs: Sequence[dict] = DEFAULT_RUNS,
    steps: int = 200,
    *,
    slice: dict | None = None,  # noqa: A002 - the scenario's own word for it
    seed: int = 0,
    title: str | None = None,
    description: str = "",
):
    """The validated Scenario that `show` and `replay_model` run.

    Parameters
    ----------
    model : a ``torch.nn.Module``; it starts from its own weights, evaluated in eval mode.
    data : ``(X, y)``, tensors or arrays: X in the module's input shape (n, ...), y class labels
        0..k-1 (n,) or regression targets (n,) / (n, m).
    loss : a scenario loss ("cross_entropy", "mse", "bce", "mae", "huber") or a callable
        ``loss(outputs, targets)`` returning the mean loss.
    runs : dicts with the keys of a scenario's ``[[runs]]`` (name, optimizer, lr, ...).
    slice : the keys of ``[landscape.slice]`` (directions, center, span, resolution).

    Raises
    ------
    ValueError : the model cannot be evaluated or handed over, or the data are not arrays.
    sandbox.ScenarioError : a key is wrong (each problem named by its key).
    """
    import torch

    from sandbox.landscape.module import hand_over
    from sandbox.scenario.edit import validated
    from sandbox.scenario.load import ScenarioError

    x, y = _arrays(data)
    callable_loss = None if isinstance(loss, str) else loss
    if callable_loss is not None and not callable(callable_loss):
        raise ValueError(f"loss must be one of {LOSSES} or a callable, got {loss!r}")
    user = hand_over(model, torch.from_numpy(x), callable_loss)
    data_table: dict[str, Any] = {"file": str(_data_file(x, y))}
    if loss in ("bce", "cross_entropy"):
        data_table["task"] = "classification"
    scenario = {
        "title": title or f"{user.name}: {user.n_params:,} parameters, {len(x):,} samples",
        "description": description,
        "seed": seed,
        "steps": steps,
        "landscape": {
            "kind": "network",
            "loss": GIVEN_LOSS if callable_loss is not None else loss,
            "data": data_table,
            "model": {"kind": "module", "module": handover.hand_over(user)},
            "slice": dict(slice or {}),
        },
        "runs": [dict(run) for run in runs],
    }
    try:
        return validated(scenario, SOURCE)
    except ScenarioError as error:  # lines of a TOML text the caller never saw: keys only
        raise ScenarioError([replace(p, line=None) for p in error.problems]) from None


def replay_model(
    model,
    data: tuple,
    loss="cross_entropy",
    runs=DEFAULT_RUNS,
    steps=200,
    *,
    out=None,
    force: bool = False,
    progress: bool = False,
    **keys,
):
    """`show`'s scenario replayed headless, as `sandbox.replay`: the same ReplayResult, and with
    `out` the same files (summary.json, runs/*.csv, surface.npz)."""
    from sandbox.replayer import replay

    scenario = model_scenario(model, data, loss, runs, steps, **keys)
    return replay(scenario, out, force=force, progress=progress)


def show(
    model,
    data: tuple,
    loss="cross_entropy",
    runs=DEFAULT_RUNS,
    steps=200,
    *,
    size: tuple[int, int] = (1280, 720),
    frames: int | None = None,
    screenshot: str | Path | None = None,
    **keys,
) -> None:
    """Open the sandbox's window on `model` (see `model_scenario` for the arguments): the runs
    train in the background process while the window draws, as for a bundled scenario. Returns
    when the window is closed, or after `frames` frames (then `screenshot` is saved)."""
    import multiprocessing

    from sandbox.app.window import offscreen_without_display, run_app

    if multiprocessing.parent_process() is not None:  # a worker re-running the user's script
        raise RuntimeError(
            "sandbox.show ran again inside the background process that imports your script: "
            'call it under `if __name__ == "__main__":` (a notebook needs nothing)'
        )
    scenario = model_scenario(model, data, loss, runs, steps, **keys)
    offscreen_without_display()
    shot = None if screenshot is None else Path(screenshot)
    if run_app(scenario, size=size, frames=frames, screenshot=shot) != 0:
        raise RuntimeError("the window ended without the runs' results (see the message above)")


def _arrays(data) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) as numpy arrays: X float32 (n, ...), y as given (the data file's checks judge it)."""
    if not isinstance(data, tuple | list) or len(data) != 2:
        raise ValueError("data must be a pair (X, y) of tensors or arrays")
    arrays = []
    for name, value in zip("Xy", data, strict=True):
        if hasattr(value, "detach"):  # a torch tensor, wherever it lives
            value = value.detach().cpu().numpy()
        if not isinstance(value, np.ndarray):
            raise ValueError(f"data's {name} must be a tensor or an array, got {type(value)}")
        arrays.append(value)
    x, y = arrays
    if x.ndim < 2:
        raise ValueError(f"X must have a row per sample, shape (n, ...), got {x.shape}")
    return x.astype(np.float32, copy=False), y


def _data_file(x: np.ndarray, y: np.ndarray) -> Path:
    """The data as an .npz in this process's own temporary folder (removed at exit): the data
    file checks (shape, dtype, NaN, size) apply to it, and the scenario names it."""
    global _folder
    if _folder is None:
        _folder = Path(tempfile.mkdtemp(prefix="sandbox-data-"))
        atexit.register(shutil.rmtree, _folder, ignore_errors=True)
    path = _folder / f"data-{next(_numbers)}.npz"
    np.savez(path, x=x.reshape(len(x), -1), y=y)
    return path
