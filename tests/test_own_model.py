"""Your own module (issue 20, deliverable 1): `sandbox.replay_model` / `sandbox.show` on a torch
module defined here, not one of the sandbox's, checked against plain torch on that module."""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import sandbox
from sandbox.landscape.module import hand_over
from sandbox.own_model import model_scenario
from sandbox.scenario.load import ScenarioError, parse_scenario

ROOT = Path(__file__).resolve().parents[1]


class TinyConvNet(nn.Module):
    """A user's module: convolution, BatchNorm with non-trivial running statistics, a head."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.norm = nn.BatchNorm2d(3)
        self.head = nn.Linear(3 * 4 * 4, 4)

    def forward(self, x):
        h = F.avg_pool2d(torch.tanh(self.norm(self.conv(x))), 2)
        return self.head(h.flatten(1))


def _user_net() -> TinyConvNet:
    torch.manual_seed(3)
    net = TinyConvNet()
    net.norm.running_mean.uniform_(-0.2, 0.2)
    net.norm.running_var.uniform_(0.5, 2.0)
    return net  # left in training mode, as a module usually is: we must not flip it


def _data(n: int = 96) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(4)
    return torch.randn(n, 1, 8, 8, generator=gen), torch.randint(0, 4, (n,), generator=gen)


def _state_bytes(module: nn.Module) -> dict[str, tuple]:
    return {k: (v.dtype, v.shape, v.numpy().tobytes()) for k, v in module.state_dict().items()}


def _plain_loss(net: nn.Module, theta: torch.Tensor, x, y) -> float:
    """The oracle: the user's module in eval mode with θ written into a copy of it."""
    probe = copy.deepcopy(net).eval()
    nn.utils.vector_to_parameters(theta, probe.parameters())
    with torch.no_grad():
        return float(F.cross_entropy(probe(x), y))


def test_a_user_module_replays_end_to_end_and_is_left_unchanged(tmp_path):
    net, (x, y) = _user_net(), _data()
    before, grads = _state_bytes(net), [p.requires_grad for p in net.parameters()]
    runs = [{"name": "GD", "optimizer": "gd", "lr": 0.2}]
    result = sandbox.replay_model(
        net, (x, y), "cross_entropy", runs, 6, out=tmp_path, slice={"resolution": 9, "span": 0.5}
    )
    assert _state_bytes(net) == before, "the caller's module changed"
    assert net.training and [p.requires_grad for p in net.parameters()] == grads

    # Training: the same losses as torch.optim.SGD on the module itself (eval mode).
    plain = copy.deepcopy(net).eval()
    sgd, losses = torch.optim.SGD(plain.parameters(), lr=0.2), []
    for _ in range(7):
        sgd.zero_grad()
        loss = F.cross_entropy(plain(x), y)
        losses.append(loss.item())
        loss.backward()
        sgd.step()
    # float32 on both sides, one summation order apart: measured 1e-7; 1e-5 is ~100x margin.
    np.testing.assert_allclose(result.runs["GD"].loss, losses, rtol=1e-5)

    # The drawn surface: each grid point's height is the module's loss at θ₀ + a·d₁ + b·d₂.
    surface = np.load(tmp_path / "surface.npz")
    theta0 = nn.utils.parameters_to_vector(net.parameters()).detach()
    d1, d2 = (torch.from_numpy(d) for d in surface["directions"])
    for i in (0, 4, 8):
        for j in (0, 3, 8):
            theta = theta0 + float(surface["x"][j]) * d1 + float(surface["y"][i]) * d2
            expected = _plain_loss(net, theta, x, y)
            # float32 batched (vmap) against one call: measured 2e-7 relative.
            assert surface["loss"][i, j] == pytest.approx(expected, rel=1e-5)
    assert surface["loss"].std() > 1e-3  # a surface with relief, not a constant
    assert _state_bytes(net) == before


def test_a_callable_loss_gives_the_named_losses_numbers():
    net, data = _user_net(), _data(48)
    runs = [{"name": "GD", "optimizer": "gd", "lr": 0.2}]
    named = sandbox.replay_model(net, data, "cross_entropy", runs, 4)
    given = sandbox.replay_model(net, data, lambda out, y: F.cross_entropy(out, y), runs, 4)
    # The catalogue's cross entropy (log_softmax, gather, mean) and F.cross_entropy round
    # differently: measured 1.8e-7 relative (~1.5 float32 ulp); 1e-6 allows a few ulp more.
    np.testing.assert_allclose(named.runs["GD"].loss, given.runs["GD"].loss, rtol=1e-6)
    assert given.scenario.landscape.loss == "callable"


class MainNet(nn.Module):
    """As if defined in a notebook: pickle cannot find its class in another process."""

    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(2, 3)

    def forward(self, x):
        return torch.relu(self.layer(x))


MainNet.__module__ = "__main__"


def test_a_notebook_class_is_handed_over_as_traced_code():
    user = hand_over(MainNet(), torch.zeros(4, 2))
    blob = pickle.dumps(user.module)
    assert b"MainNet" not in blob  # fx's generated code travels, not a reference to the class
    child = (
        "import pickle, sys, torch; m = pickle.load(sys.stdin.buffer); "
        "print(m(torch.ones(1, 2)).shape)"
    )
    shape = subprocess.run(
        [sys.executable, "-c", child], input=blob, capture_output=True, check=True
    ).stdout
    assert shape.strip() == b"torch.Size([1, 3])"


class Untraceable(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(2, 2)

    def forward(self, x):
        return self.layer(x) if x.sum() > 0 else -self.layer(x)  # control flow on values


Untraceable.__module__ = "__main__"


def test_what_cannot_be_handed_over_is_said_plainly():
    with pytest.raises(ValueError, match="cannot be handed to the background process"):
        hand_over(Untraceable(), torch.zeros(4, 2))
    with pytest.raises(ValueError, match=r"\(samples, outputs\)"):
        hand_over(nn.Flatten(0), torch.zeros(4, 2))


def test_bad_data_and_keys_are_refused_with_the_key():
    net, (x, y) = _user_net(), _data(16)
    x[3, 0, 0, 0] = float("nan")
    with pytest.raises(ScenarioError, match="landscape.data"):
        sandbox.replay_model(net, (x, y), steps=2)
    with pytest.raises(ValueError, match="fails on one sample"):
        sandbox.replay_model(net, (torch.zeros(16, 5), y), steps=2)
    with pytest.raises(ScenarioError, match=r"^<sandbox.show>: runs\[0\]\.lr: .*greater than 0"):
        sandbox.replay_model(net, _data(16), runs=[{"name": "a", "optimizer": "sgd", "lr": -1}])


def test_a_scenario_file_cannot_name_a_module():
    text = """title = "t"\nsteps = 3\n[landscape]\nkind = "network"\nloss = "mse"
[landscape.data]\nname = "moons"\n[landscape.model]\nkind = "module"\nmodule = "module-99999"
[[runs]]\nname = "a"\noptimizer = "gd"\nlr = 0.1\n"""
    with pytest.raises(ScenarioError, match=r"t\.toml:9: landscape\.model\.kind: .*from Python"):
        parse_scenario(text, "t.toml")


def test_the_guides_example_runs_as_written_in_the_window(tmp_path):
    """docs/own-model.md's whole example, its class in __main__ as in a notebook, run in the
    offscreen window: the module reaches the spawned worker, the runs advance, a frame is saved."""
    from tests.offscreen import python

    sys.path.insert(0, str(ROOT / "docs" / "img"))
    try:
        from own_model import example_code
    finally:
        sys.path.pop(0)
    shot = tmp_path / "shot.png"
    done = python(example_code(20, shot, (480, 270)))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "computed" in done.stderr and shot.stat().st_size > 10_000


class SmallMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(2, 6), nn.Linear(6, 3)

    def forward(self, x):
        return self.b(torch.tanh(self.a(x)))


def test_sharpness_of_a_user_module_is_its_hessians_top_eigenvalue():
    """λmax recorded at step 0 against eigvalsh of the dense Hessian of plain torch's loss."""
    torch.manual_seed(1)
    net = SmallMLP()
    x, y = torch.randn(40, 2), torch.randint(0, 3, (40,))
    runs = [{"name": "GD", "optimizer": "gd", "lr": 0.1, "sharpness_every": 1}]
    result = sandbox.replay_model(net, (x, y), "cross_entropy", runs, 1)
    names = [name for name, _ in net.named_parameters()]
    shapes = [p.shape for p in net.parameters()]

    def loss(theta):
        tensors, offset = {}, 0
        for name, shape in zip(names, shapes, strict=True):
            tensors[name] = theta[offset : offset + shape.numel()].view(shape)
            offset += shape.numel()
        return F.cross_entropy(torch.func.functional_call(net, tensors, (x.double(),)), y)

    theta0 = nn.utils.parameters_to_vector(net.parameters()).detach().double()
    exact = torch.linalg.eigvalsh(torch.autograd.functional.hessian(loss, theta0)).max()
    # Lanczos on a 39-parameter Hessian (float32 products): measured 1e-8 relative.
    assert result.runs["GD"].sharpness[0] == pytest.approx(float(exact), rel=1e-6)


def test_batched_and_one_by_one_evaluation_agree():
    from sandbox.landscape.module import FlatModule

    torch.manual_seed(2)
    flat = FlatModule(hand_over(SmallMLP(), torch.zeros(4, 2)))
    thetas = flat.given_params() + 0.3 * torch.randn(5, flat.n_params)
    x = torch.randn(30, 2)
    batched = flat.forward_batched(thetas, x)
    assert flat._vmap_works  # Linear layers: one vmapped call
    one_by_one = torch.stack([flat.forward(theta, x) for theta in thetas])
    torch.testing.assert_close(batched, one_by_one, rtol=1e-6, atol=1e-6)


def test_the_windows_edits_keep_the_handed_over_module():
    """Every edit goes back through TOML (sandbox.scenario.edit): the module's handle brings the
    same module back, so a live change and a dropped ball replay on it."""
    from sandbox.scenario import edit

    torch.manual_seed(5)
    x, y = torch.randn(40, 2), torch.randint(0, 3, (40,))
    scenario = model_scenario(SmallMLP(), (x, y), steps=3)
    user = scenario.landscape.model.user
    edited = edit.live_change(scenario, "SGD", "lr", 0.05, at=1)
    dropped = edit.add_run(edited, 0, (0.3, -0.2), "SGD ball 2")
    assert dropped.landscape.model.user is user and dropped.landscape.data.table is not None
    result = sandbox.replay(dropped)
    assert result.runs["SGD"].lr.tolist() == [0.1, 0.05, 0.05, 0.05]
    assert (result.runs["SGD ball 2"].x[0], result.runs["SGD ball 2"].y[0]) == pytest.approx(
        (0.3, -0.2), abs=1e-6
    )
