"""Loss Landscape Sandbox: watch optimisers navigate loss landscapes.

The Python API for tests and notebooks:

    import sandbox
    result = sandbox.replay("saddle")                     # a bundled name, or a file
    result.summary                                        # what summary.json holds
    result.runs["GD"].loss                                # per-step arrays
    sandbox.show(model, data=(X, y), loss="cross_entropy")  # your own torch module, live
    sandbox.replay_model(model, data=(X, y), out="out/")    # the same, headless
    sandbox.replay(toml_text_or_dict, overrides={"runs.0.lr": 0.01, "steps": 50})

    from sandbox.testing import assert_replays_close   # in tests: where two replays part
    assert_replays_close("golden_dir", result, rtol=1e-6)
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["replay", "replay_model", "show", "load_scenario", "parse_scenario", "ScenarioError"]


def __getattr__(name: str):
    # Lazy: `import sandbox` must stay cheap (no torch) for the CLI's `list` and `check --help`.
    if name == "replay":
        from sandbox.replayer import replay

        return replay
    if name in ("show", "replay_model"):
        from sandbox import own_model

        return getattr(own_model, name)
    if name in ("load_scenario", "parse_scenario", "ScenarioError"):
        from sandbox.scenario import load

        return getattr(load, name)
    raise AttributeError(f"module 'sandbox' has no attribute {name!r}")
