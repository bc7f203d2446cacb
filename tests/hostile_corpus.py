"""The hostile-scenario corpus (issue 15): (case id, TOML text, exit code, message fragment).

Each case is one of two builder-made texts with one value edited to what `check` used to accept
and `replay` then could not run; the fragment names the file, line, key path and reason that
`sandbox check` must print. The `ok` cases guard the other side: the largest values still
allowed pass.
"""

from __future__ import annotations

from builders import analytic_toml, network_toml, run, table

from sandbox.scenario.schema import LIMITS

# The corpus below names lines of these two texts (the builders' layout).
ANALYTIC = analytic_toml(
    "double_well_saddle",
    title="analytic",
    seed=1,
    bounds=[[-2.0, 2.0], [-1.8, 1.8]],
    runs=[run("GD", lr=0.05, start=[1.5, 0.0]), run("GD + noise", lr=0.05, noise=0.3)],
    timeline=[{"at": 5, "caption": "A caption."}],
)
NETWORK = network_toml(
    title="network",
    seed=3,
    loss="mse",
    data={"name": "spirals", "n": 64},
    widths=[2, 16, 16, 1],
    slice={"span": 0.5},
    runs=[run("A", lr=0.05), run("B", "momentum", 0.05)],
)


def edit(base: str, *pairs: str) -> str:
    """`base` with each (old, new) pair of `pairs` replaced once; every old text must be there."""
    text = base
    for old, new in zip(pairs[::2], pairs[1::2], strict=True):
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


TOP = 2**63 - 1
DEEP = "[2, " + ", ".join(["120"] * 63) + ", 1]"  # 63 hidden layers of 120 units
MANY_RUNS = "".join(table("[[runs]]", run(f"R{i}")) for i in range(17))
MANY_EVENTS = "".join(table("[[timeline]]", {"at": i % 10}) for i in range(LIMITS["timeline"] + 1))

CORPUS = [
    # 1. Seeds: one range, 0 … 2⁶³ − 1, for every seed.
    ("seed-top-ok", edit(NETWORK, "seed = 3", f"seed = {TOP}"), 0, "ok"),
    ("seed-too-big", edit(ANALYTIC, "seed = 1", f"seed = {TOP + 1}"), 2, "s.toml:2: seed: Input"),
    (
        "init-seed-too-big",
        edit(NETWORK, "lr = 0.05\n", f"lr = 0.05\ninit_seed = {TOP + 1}\n"),
        2,
        "s.toml:23: runs[0].init_seed: Input should be less than or equal to 9223372036854775807",
    ),
    (
        "data-seed-too-big",
        edit(NETWORK, "n = 64", f"n = 64\nseed = {2**64}"),
        2,
        "s.toml:12: landscape.data.seed: Input should be less than or equal to",
    ),
    (
        "slice-seed-too-big",
        edit(NETWORK, "span = 0.5", f"span = 0.5\nseed = {2**64}"),
        2,
        "s.toml:18: landscape.slice.seed: Input should be less than or equal to",
    ),
    (
        "every-seed-at-the-top-ok",
        edit(
            NETWORK,
            "n = 64",
            f"n = 64\nseed = {TOP}",
            "span = 0.5",
            f"span = 0.5\nseed = {TOP}",
            "lr = 0.05\n",
            f"lr = 0.05\ninit_seed = {TOP}\n",
        ),
        0,
        "ok",
    ),
    # 2. Multiplicative keys that overflow float32.
    (
        "gain-huge",
        edit(NETWORK, "widths", "gain = 1e308\nwidths"),
        2,
        "s.toml:14: landscape.model.gain: Input should be less than or equal to 100",
    ),
    ("gain-100-ok", edit(NETWORK, "widths", "gain = 100.0\nwidths"), 0, "ok"),
    (
        "weight-decay-huge",
        edit(NETWORK, "lr = 0.05\n", "lr = 0.05\nweight_decay = 1e308\n"),
        2,
        "s.toml:23: runs[0].weight_decay: Input should be less than or equal to 1000000",
    ),
    (
        "timeline-weight-decay-huge",
        NETWORK + '\n[[timeline]]\nat = 2\nset = { run = "A", weight_decay = 1e300 }\n',
        2,
        "s.toml:31: timeline[0].set.weight_decay: Input should be less than or equal to 1000000",
    ),
    (
        "damping-huge",
        edit(NETWORK, "lr = 0.05\n", 'lr = 0.05\nprecondition = "diag"\ndamping = 1e308\n'),
        2,
        "s.toml:24: runs[0].damping: Input should be less than or equal to 1000000",
    ),
    # 3. Coordinates the float32 renderer can draw.
    (
        "bounds-huge",
        edit(ANALYTIC, "[[-2.0, 2.0]", "[[-1e308, 2.0]"),
        2,
        "s.toml:8: landscape.bounds[0][0]: Input should be greater than or equal to -1000000",
    ),
    (
        "bounds-subnormal",
        edit(ANALYTIC, "[-1.8, 1.8]", "[0.0, 5e-324]"),
        2,
        "s.toml:8: landscape.bounds: y bounds [0.0, 5e-324] are too narrow to draw",
    ),
    (
        "bounds-narrow-far-out",
        edit(ANALYTIC, "[[-2.0, 2.0]", "[[999999.999, 1e6]"),
        2,
        "landscape.bounds: x bounds [999999.999, 1000000.0] are too narrow to draw: the width "
        "must be at least 1",
    ),
    ("bounds-at-the-limits-ok", edit(ANALYTIC, "[[-2.0, 2.0]", "[[-1e6, -999999.0]"), 0, "ok"),
    (
        "start-huge",
        edit(ANALYTIC, "start = [1.5, 0.0]", "start = [1.5, 1e200]"),
        2,
        "s.toml:14: runs[0].start[1]: Input should be less than or equal to 1000000",
    ),
    (
        "span-huge",
        edit(NETWORK, "span = 0.5", "span = 1e308"),
        2,
        "s.toml:17: landscape.slice.span: Input should be less than or equal to 1000000",
    ),
    (
        "span-subnormal",
        edit(NETWORK, "span = 0.5", "span = 5e-324"),
        2,
        "s.toml:17: landscape.slice.span: Input should be greater than or equal to 0.000001",
    ),
    # 4. Run names, title and captions the app's font can draw.
    (
        "name-nul",
        edit(ANALYTIC, 'name = "GD"', 'name = "G\\u0000D"'),
        2,
        "s.toml:11: runs[0].name: contains U+0000: a control character",
    ),
    (
        "name-zero-width",
        edit(ANALYTIC, 'name = "GD"', 'name = "G\\u200bD"'),
        2,
        "runs[0].name: contains U+200B ZERO WIDTH SPACE: an invisible formatting character",
    ),
    (
        "name-right-to-left",
        edit(ANALYTIC, 'name = "GD"', 'name = "\\u202eDG"'),
        2,
        "runs[0].name: contains U+202E RIGHT-TO-LEFT OVERRIDE: an invisible formatting",
    ),
    (
        "name-emoji",
        edit(ANALYTIC, 'name = "GD"', 'name = "GD \\U0001F680"'),
        2,
        "runs[0].name: contains U+1F680 ROCKET: the app's font (DejaVu Sans) cannot draw it",
    ),
    (
        "name-combining-mark",
        edit(ANALYTIC, 'name = "GD"', 'name = "GDe\\u0301"'),
        2,
        "runs[0].name: contains U+0301 COMBINING ACUTE ACCENT: a combining mark",
    ),
    (
        "name-newline",
        edit(ANALYTIC, 'name = "GD"', 'name = "G\\nD"'),
        2,
        "runs[0].name: contains U+000A: a control character",
    ),
    (
        "name-greek-and-maths-ok",
        edit(ANALYTIC, 'name = "GD"', 'name = "GD, η = 0.05, λ ≤ 2/η → ∞, é"'),
        0,
        "ok",
    ),
    (
        "name-too-long",
        edit(ANALYTIC, 'name = "GD"', f'name = "{"x" * 81}"'),
        2,
        "s.toml:11: runs[0].name: is 81 characters long; the limit is 80",
    ),
    (
        "name-too-many-bytes",
        edit(ANALYTIC, 'name = "GD"', f'name = "{"ж" * 41}"'),
        2,
        "runs[0].name: its output file name " + "ж" * 41 + ".csv is 82 bytes of UTF-8 before "
        ".csv; the limit is 80",
    ),
    (
        "title-control",
        edit(ANALYTIC, 'title = "analytic"', 'title = "ana\\tlytic"'),
        2,
        "s.toml:1: title: contains U+0009: a control character",
    ),
    (
        "caption-zero-width",
        edit(ANALYTIC, 'caption = "A caption."', 'caption = "A\\u200dcaption."'),
        2,
        "s.toml:24: timeline[0].caption: contains U+200D ZERO WIDTH JOINER",
    ),
    (
        "caption-newline-ok",
        edit(ANALYTIC, 'caption = "A caption."', 'caption = "A\\ncaption."'),
        0,
        "ok",
    ),
    (
        "description-bell",
        edit(ANALYTIC, "seed = 1", 'seed = 1\ndescription = "ring \\u0007"'),
        2,
        "s.toml:3: description: contains U+0007: a control character",
    ),
    # 5. Output files unique across every file a run writes.
    (
        "network-file-collision",
        edit(NETWORK, 'name = "B"', 'name = "A network"'),
        2,
        "s.toml:25: runs[1].name: run name 'A network': its output file runs/a_network.csv is "
        "also written by run 'A'",
    ),
    (
        "analytic-no-network-file-ok",
        edit(ANALYTIC, 'name = "GD + noise"', 'name = "GD network"'),
        0,
        "ok",
    ),
    (
        "case-insensitive-collision",
        edit(ANALYTIC, 'name = "GD"', 'name = "Σς"', 'name = "GD + noise"', 'name = "σσ"'),
        2,
        "runs[1].name: run name 'σσ': its output file runs/σσ.csv is run 'Σς''s runs/σς.csv on "
        "a case-insensitive disk",
    ),
    (
        "duplicate-name",
        edit(ANALYTIC, 'name = "GD + noise"', 'name = "gd"'),
        2,
        "runs[1].name: duplicate run name 'gd': its output file runs/gd.csv is also written by",
    ),
    # 6. Text sizes.
    (
        "title-too-long",
        edit(ANALYTIC, 'title = "analytic"', f'title = "{"t" * 201}"'),
        2,
        "s.toml:1: title: is 201 characters long; the limit is 200",
    ),
    (
        "description-too-long",
        edit(ANALYTIC, "seed = 1", f'seed = 1\ndescription = "{"d" * 4001}"'),
        2,
        "s.toml:3: description: is 4,001 characters long; the limit is 4,000",
    ),
    (
        "caption-too-long",
        edit(ANALYTIC, 'caption = "A caption."', f'caption = "{"c" * 501}"'),
        2,
        "s.toml:24: timeline[0].caption: is 501 characters long; the limit is 500",
    ),
    # 7. Count limits, reported where the first one beyond the limit is written.
    (
        "too-many-runs",
        ANALYTIC + MANY_RUNS,
        2,
        "s.toml:96: runs[16]: 19 runs; the limit is 16 (this is the first beyond it)",
    ),
    (
        "too-many-events",
        ANALYTIC + MANY_EVENTS,
        2,
        "s.toml:3023: timeline[1000]: 1,002 timeline events; the limit is 1,000",
    ),
    # 8. Resource budgets.
    (
        "memory-deep-and-much-data",
        edit(NETWORK, "n = 64", "n = 100000", "[2, 16, 16, 1]", DEEP),
        2,
        "s.toml:14: landscape.model.widths: needs about 8.5 GiB of memory (the training of run "
        "'A', 100,000 samples × 7,561 units a step: 8.5 GiB); the budget is 2.0 GiB: lower "
        "data.n or the widths, or set a batch_size",
    ),
    (
        "memory-newton-vectorised-hessian",
        edit(
            NETWORK, "n = 64", "n = 100000", "[2, 16, 16, 1]", "[2, 38, 38, 1]", '"gd"', '"newton"'
        ),
        2,
        "s.toml:21: runs[0].optimizer: needs about 187.6 GiB of memory (the Newton Hessian of "
        "run 'A', 1,635 parameters × 100,000 samples × 77 units every step: 187.6 GiB)",
    ),
    (
        "work-sharpness-every-step",
        edit(
            NETWORK,
            "steps = 10",
            "steps = 300",
            "n = 64",
            "n = 256",
            "[2, 16, 16, 1]",
            "[2, 990, 990, 1]",
            "lr = 0.05\n",
            "lr = 0.05\nsharpness_every = 1\n",
        ),
        2,
        "s.toml:23: runs[0].sharpness_every: needs about 1.5e+13 floating-point operations, ~25 "
        "minutes on one laptop core (the 301 sharpness estimates of run 'A', 21 Hessian-vector "
        "products each on 256 samples × 985,051 parameters: 1.3e+13); the budget is 6e+12, ~10 "
        "minutes: raise sharpness_every",
    ),
    (
        "memory-pca-snapshots",
        edit(
            NETWORK,
            "steps = 10",
            "steps = 1000",
            "[2, 16, 16, 1]",
            "[2, 990, 990, 1]",
            "span",
            'directions = "pca"\nspan',
        ),
        2,
        "s.toml:17: landscape.slice.directions: needs about 7.4 GiB of memory (the PCA slice's "
        "1,004 weight snapshots of 985,051 parameters",
    ),
    (
        "sharpness-every-20-ok",
        edit(NETWORK, "lr = 0.05\n", "lr = 0.05\nsharpness_every = 20\n"),
        0,
        "ok",
    ),
]
