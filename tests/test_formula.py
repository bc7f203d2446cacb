"""Formula surfaces (surface = "formula"): the whitelist parser, evaluation on tensors against
math and numpy, autograd derivatives against hand-derived ones, and the errors a scenario gets."""

from __future__ import annotations

import math
import re
import time

import numpy as np
import pytest
import torch
from builders import analytic_toml, run
from torch.autograd.functional import hessian

from sandbox.catalogue import formula as formulas
from sandbox.catalogue.formula import FormulaError, parse
from sandbox.cli import main
from sandbox.landscape.analytic import evaluate, formula_surface
from sandbox.scenario.load import ScenarioError, parse_scenario

# Sample points where every function below is defined (log and sqrt need positive arguments).
POINTS = [(0.3, 0.7), (1.25, -0.4), (2.0, 1.5), (-0.8, 0.05), (0.5, -2.5)]

# formula -> the same function written with math, the oracle.
CASES = {
    "x + y": lambda x, y: x + y,
    "x - y - 1": lambda x, y: x - y - 1,
    "2*x*y": lambda x, y: 2 * x * y,
    "x / y / 2": lambda x, y: x / y / 2,
    "x**2": lambda x, y: x**2,
    "-x**2": lambda x, y: -(x**2),  # the sign applies after the power, as in Python
    "2**-x": lambda x, y: 2 ** (-x),
    "2**3**2": lambda x, y: 2.0**9,  # right-associative: 2^(3^2) = 512, not 64
    "x - -y": lambda x, y: x + y,
    "+x * +y": lambda x, y: x * y,
    "1 + 2*x**2 - 3/y": lambda x, y: 1 + 2 * x**2 - 3 / y,
    "(1 + x) * (y - 2)": lambda x, y: (1 + x) * (y - 2),
    "sin(x) + cos(y)": lambda x, y: math.sin(x) + math.cos(y),
    "exp(-x**2 - y**2)": lambda x, y: math.exp(-(x**2) - y**2),
    "log(1 + x**2) * tanh(y)": lambda x, y: math.log(1 + x**2) * math.tanh(y),
    "sqrt(x**2 + y**2 + 1)": lambda x, y: math.sqrt(x**2 + y**2 + 1),
    "abs(x) + abs(y)": lambda x, y: abs(x) + abs(y),
    "1e-3*x + 2.5E+1*y + .5 + 3.": lambda x, y: 1e-3 * x + 25 * y + 0.5 + 3.0,
    "pi*x + e*y": lambda x, y: math.pi * x + math.e * y,
    "(x**2 + y - 11)**2 + (x + y**2 - 7)**2": lambda x, y: (
        (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2
    ),
}
NUMPY_FUNCTIONS = {name: getattr(np, name) for name in formulas.FUNCTIONS}
NUMPY_FUNCTIONS["log"], NUMPY_FUNCTIONS["abs"] = np.log, np.abs


def _torch(text: str, xy) -> torch.Tensor:
    return formula_surface(text).fn(torch.tensor(xy, dtype=torch.float64), {})


@pytest.mark.parametrize("text", CASES)
def test_formula_equals_math_at_sample_points(text):
    for x, y in POINTS:
        expected = CASES[text](x, y)
        # float64 throughout; the only difference is rounding order (measured ≤ 1 ulp)
        assert float(_torch(text, (x, y))) == pytest.approx(expected, rel=1e-14, abs=1e-14)
        grid = np.array([x]), np.array([y])
        numpy = formulas.evaluate(
            parse(text), dict(zip("xy", grid, strict=True)), np.float64, NUMPY_FUNCTIONS
        )
        assert float(numpy[0] if np.ndim(numpy) else numpy) == pytest.approx(expected, rel=1e-14)


def test_formula_evaluates_on_a_grid_at_once():
    """The surface sampler hands a (rows, cols, 2) grid: one value per point, same shape."""
    xy = torch.rand(7, 5, 2, dtype=torch.float64) + 0.1
    text = "log(x) * sin(y) + x**y"
    values = formula_surface(text).fn(xy, {})
    x, y = xy[..., 0], xy[..., 1]
    assert values.shape == (7, 5)
    torch.testing.assert_close(values, torch.log(x) * torch.sin(y) + x**y, rtol=0, atol=0)


def test_a_constant_formula_has_every_shape_and_a_zero_gradient():
    xy = torch.tensor([[1.0, 2.0], [3.0, -4.0]], dtype=torch.float64, requires_grad=True)
    values = formula_surface("2 * pi").fn(xy, {})
    assert values.tolist() == [2 * math.pi] * 2
    (grad,) = torch.autograd.grad(values.sum(), xy)
    assert grad.abs().max() == 0


def test_ieee_results_are_values_not_errors():
    """1/0, log(−1) and overflow give inf and nan as tensor maths does; a run meeting them
    diverges (tests below), and nothing raises."""
    assert math.isinf(float(_torch("1/(x - x)", (1.0, 0.0))))
    assert math.isnan(float(_torch("log(x)", (-1.0, 0.0))))
    assert math.isinf(float(_torch("10**400 + x", (1.0, 0.0))))


def test_constant_parts_are_computed_once():
    """Only the parts with x or y are evaluated at each point; a constant part is one number."""
    folded = formulas.fold_constants(parse("x * (2**3 + sin(0)) - 1/2"), lambda t: 99.0)
    assert folded == ("-", ("*", ("var", "x"), ("num", 99.0)), ("num", 99.0))
    assert float(_torch("x * (2**3 + sin(0)) - 1/2", (1.5, 0.0))) == 1.5 * 8 - 0.5


def test_float32_points_stay_float32():
    xy = torch.tensor([0.5, 0.25], dtype=torch.float32)
    assert formula_surface("1/3 * x + pi").fn(xy, {}).dtype == torch.float32


# ---------------------------------------------------------------------------- derivatives
def _grad(text: str, xy) -> tuple[float, float]:
    point = torch.tensor(xy, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(formula_surface(text).fn(point, {}), point)
    return tuple(grad.tolist())


# formula -> its gradient (∂f/∂x, ∂f/∂y), derived by hand.
GRADIENTS = {
    "x**3 - 3*x*y**2": lambda x, y: (3 * x**2 - 3 * y**2, -6 * x * y),
    "sin(x*y)": lambda x, y: (y * math.cos(x * y), x * math.cos(x * y)),
    "exp(x) / y": lambda x, y: (math.exp(x) / y, -math.exp(x) / y**2),
    "log(x**2 + y**2)": lambda x, y: (2 * x / (x**2 + y**2), 2 * y / (x**2 + y**2)),
    "sqrt(1 + x**2) * tanh(y)": lambda x, y: (
        x / math.sqrt(1 + x**2) * math.tanh(y),
        math.sqrt(1 + x**2) / math.cosh(y) ** 2,
    ),
    "abs(x - 2*y)": lambda x, y: (math.copysign(1, x - 2 * y), -2 * math.copysign(1, x - 2 * y)),
    "2**x * y": lambda x, y: (math.log(2) * 2**x * y, 2**x),
}


@pytest.mark.parametrize("text", GRADIENTS)
def test_autograd_gradient_equals_the_hand_derivative(text):
    for x, y in POINTS:
        expected = GRADIENTS[text](x, y)
        assert _grad(text, (x, y)) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_hessian_of_a_quadratic_formula_is_exact():
    # f = 1.5x² − 2xy + 0.5y² + x − 3: the Hessian is [[3, −2], [−2, 1]] everywhere, and autograd
    # of x**2 gives 2 exactly, so the comparison is exact.
    text = "1.5*x**2 - 2*x*y + 0.5*y**2 + x - 3"
    for xy in POINTS:
        point = torch.tensor(xy, dtype=torch.float64)
        h = hessian(lambda p: evaluate("formula", {}, p, text), point)
        assert h.tolist() == [[3.0, -2.0], [-2.0, 1.0]]


def test_formula_matches_the_named_surface_it_writes_out():
    xy = torch.randn(50, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    written = evaluate("formula", {}, xy, "(x**2 + y - 11)**2 + (x + y**2 - 7)**2")
    torch.testing.assert_close(written, evaluate("himmelblau", {}, xy), rtol=0, atol=0)


# ---------------------------------------------------------------------------- refusals
@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "x + foo(y)",
            "unknown function 'foo' (allowed: sin, cos, exp, log, sqrt, tanh, abs) at column 5",
        ),
        ("(x + y))", "unexpected ')' at column 8"),
        ("x + z", "unknown name 'z' (allowed: x, y, pi, e) at column 5"),
        ("", "is empty"),
        ("   ", "is empty"),
        ("x +", "unexpected end of the formula (expected a number, a name or '(') at column 4"),
        ("x ^ 2", "unexpected character '^' (write powers as **) at column 3"),
        ("2x", "unexpected 'x' (write '*' to multiply) at column 2"),
        ("(x + 1", "'(' is never closed with ')' at column 1"),
        ("sin x", "function 'sin' needs an argument in parentheses at column 1"),
        ("x(y)", "'x' is not a function (write '*' to multiply) at column 1"),
        ("sin(x, y)", "unexpected character ',' (functions take one argument)"),
        ("x % 2", "unexpected character '%' at column 3"),
        # Python's ways out: none is a name, an operator or a token here.
        ("__import__('os')", "unknown function '__import__'"),
        ("x.__class__", "unexpected character '.' at column 2"),
        ("().__class__", "unexpected ')' (expected a number, a name or '(') at column 2"),
        ("x[0]", "unexpected character '[' at column 2"),
        ("lambda: 1", "unknown name 'lambda'"),
        ("sin(x=1)", "unexpected character '=' (expected ')') at column 6"),
        ("exec('1')", "unknown function 'exec'"),
        ("x if y else 1", "unexpected 'if' at column 3"),
        ("x; y", "unexpected character ';' at column 2"),
        ("ｘ + 1", "unexpected character 'ｘ' at column 1"),
        ("٣ + x", "unexpected character '٣' at column 1"),  # Arabic-Indic 3: float() took it
        ("x +\u3000y", "unexpected character '\\u3000' at column 4"),  # white space is ASCII only
    ],
)
def test_bad_formulas_are_refused_with_the_column(text, message):
    with pytest.raises(FormulaError) as caught:
        parse(text)
    assert message in str(caught.value)


def test_limits_are_refused():
    long_sum = "+".join(["x"] * 120)  # 239 characters, 239 nodes
    deep = "(" * 60 + "x" + ")" * 60
    signs = "-" * 60 + "x"
    powers = "**".join(["x"] * 60)
    for text, message in [
        (long_sum, "has more than 200 terms and operations (the limit)"),
        # the 51st "(" or "-" is one too deep
        (deep, "is nested more than 50 deep (the limit) at column 51"),
        (signs, "is nested more than 50 deep (the limit) at column 51"),
        (powers, "is nested more than 50 deep (the limit)"),
        ("x" * 501, "is 501 characters long; the limit is 500"),
    ]:
        with pytest.raises(FormulaError, match=re.escape(message)):
            parse(text)
    parse("+".join(["x"] * 100))  # 199 nodes: just inside


@pytest.mark.parametrize("text", ["(" * 100_000, "x+" * 50_000, "-" * 99_999 + "x", "1" * 10**5])
def test_a_huge_formula_is_refused_within_a_second(tmp_path, capsys, text):
    path = tmp_path / "huge.toml"
    path.write_text(_formula_toml(text), encoding="utf-8")
    began = time.perf_counter()
    assert main(["check", str(path)]) == 2
    # measured 0.05 s on the 2-core build machine (mostly the CLI's imports); limit 1 s
    assert time.perf_counter() - began < 1.0
    err = capsys.readouterr().err
    assert f"{path}:7: landscape.formula: is 100,000 characters long; the limit is 500" in err
    assert "Traceback" not in err


# ---------------------------------------------------------------------------- scenarios
def _formula_toml(formula: str | None, surface: str = "formula", **keys) -> str:
    """Line 6: surface, line 7: formula (builders' canonical layout)."""
    return analytic_toml(surface, formula=formula, runs=[run(start=[1.0, 0.5])], **keys)


def _problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "s.toml")
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (_formula_toml("x + foo(y)"), "s.toml:7: landscape.formula: unknown function 'foo'"),
        (_formula_toml(""), "s.toml:7: landscape.formula: is empty"),
        (
            _formula_toml("x**2", surface="saddle"),
            's.toml:7: landscape.formula: applies to surface = "formula" only',
        ),
        (
            _formula_toml(None),
            's.toml:6: landscape.surface: surface = "formula" needs formula = "..."',
        ),
        (
            _formula_toml("x", params={"a": 1.0}),
            "landscape.params: unknown parameter 'a' for surface 'formula'; allowed: (none)",
        ),
    ],
)
def test_scenario_problems_name_line_and_key(text, expected):
    assert any(expected in p for p in _problems(text)), _problems(text)


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("x**2 + y)", "s.toml:7: landscape.formula: unexpected ')' at column 9"),
        (
            "x + __import__('os').system('true')",
            "s.toml:7: landscape.formula: unknown function '__import__'",
        ),
    ],
)
def test_sandbox_check_refuses_a_bad_formula(tmp_path, capsys, formula, expected):
    path = tmp_path / "s.toml"
    path.write_text(_formula_toml(formula), encoding="utf-8")
    assert main(["check", str(path)]) == 2
    out, err = capsys.readouterr()
    assert expected.replace("s.toml", str(path)) in err
    assert "Traceback" not in out + err


def test_a_formula_scenario_replays_like_the_named_surface():
    """Same surface, same runs: the formula and the named saddle give identical trajectories,
    with GD, Newton and both preconditioners (diag and newton need the exact Hessian)."""
    from sandbox.replayer import replay

    runs = [
        run("gd", start=[1.5, 0.05]),
        run("newton", optimizer="newton", lr=0.5, start=[1.5, 0.05]),
        run("diag", precondition="diag", start=[1.5, 0.05]),
        run("pre", precondition="newton", sharpness_every=2, start=[1.5, 0.05]),
    ]
    named = replay(parse_scenario(analytic_toml("saddle", runs=runs)))
    written = replay(parse_scenario(analytic_toml("formula", formula="x**2 - y**2", runs=runs)))
    for a, b in zip(named.runs.values(), written.runs.values(), strict=True):
        np.testing.assert_array_equal(a.x, b.x)
        np.testing.assert_array_equal(a.y, b.y)
        np.testing.assert_array_equal(a.sharpness, b.sharpness)
    assert np.isfinite(written.runs["pre"].sharpness).sum() == 6  # steps 0, 2, ..., 10


def test_a_start_where_the_formula_is_not_finite_diverges_at_step_zero():
    from sandbox.replayer import replay

    text = analytic_toml("formula", formula="log(x) + y**2", runs=[run(start=[-1.0, 0.0])])
    result = replay(parse_scenario(text))
    assert result.summary["runs"][0]["diverged_at"] == 0


def test_the_control_panel_edits_keep_the_formula(tmp_path):
    """A structural edit (new optimiser, restart) and "Save as" go back through the TOML text:
    the formula goes with them and the edited scenario still replays on the same surface."""
    from sandbox.replayer import replay
    from sandbox.scenario.edit import restart_change, save_scenario
    from sandbox.scenario.load import load_scenario

    text = analytic_toml("formula", formula="x**2 - y**2", runs=[run(start=[1.5, 0.05])])
    edited = restart_change(parse_scenario(text), ("runs", 0, "optimizer"), "newton")
    assert edited.landscape.formula == "x**2 - y**2" and edited.runs[0].optimizer == "newton"
    saved = load_scenario(save_scenario(edited, tmp_path / "saved.toml"))
    assert saved == edited
    # saddle-free Newton with lr 0.1 moves x by the factor 0.9 a step: 1.5·0.9¹⁰ after 10 steps
    final_x = replay(saved).runs["a"].x[-1]
    assert final_x == pytest.approx(1.5 * 0.9**10, rel=1e-12)


def test_every_formula_in_the_docs_parses_and_every_refusal_shown_is_what_check_says():
    from pathlib import Path

    docs = (Path(__file__).parents[1] / "docs" / "scenarios.md").read_text(encoding="utf-8")
    formulas_shown = re.findall(r'^formula = "([^"]*)"', docs, re.MULTILINE)
    assert len(formulas_shown) >= 5
    for text in formulas_shown:
        parse(text)
    shown = re.findall(r"^s\.toml:7: landscape\.formula: (.*) at column (\d+)$", docs, re.MULTILINE)
    assert len(shown) >= 5
    refused = {"unknown function 'foo'": "x + foo(y)", "unexpected ')'": "x**2 + y)"}
    refused |= {"unknown name 'z'": "x + z", "unexpected character '^'": "x ^ 2"}
    refused |= {"unexpected 'x'": "2x", "'(' is never closed": "(x + 1"}
    for reason, column in shown:
        text = next(t for start, t in refused.items() if reason.startswith(start))
        with pytest.raises(FormulaError, match=re.escape(f"{reason} at column {column}")):
            parse(text)
