"""'Save as' of a scenario loaded from a file keeps the file's comments and key order."""

from __future__ import annotations

import textwrap

from sandbox.scenario.edit import add_run, live_change, remove_run, restart_change, save_scenario
from sandbox.scenario.load import load_scenario

COMMENTED = textwrap.dedent(
    """\
    # A saddle, with the teacher's notes.
    title = "Saddle"  # shown in the window
    steps = 60
    seed = 3

    [landscape]
    kind = "analytic"
    surface = "quadratic"   # the simplest bowl
    params = { l1 = 4.0, l2 = 1.0 }
    bounds = [
      [-3.0, 3.0],
      [-3.0, 3.0]]

    # Two runs: the second is bolder.
    [[runs]]
    name = "calm"
    optimizer = "gd"
    lr = 0.1        # try 0.2 next
    start = [2.0, -1.0]

    [[runs]]
    name = "bold"   # diverges
    optimizer = "gd"
    lr = 0.45
    start = [2.0, 1.0]

    [[timeline]]
    at = 10
    caption = "Watch the bold one."  # a caption
    """
)


def saved_after(tmp_path, edit):
    source = tmp_path / "mine.toml"
    source.write_text(COMMENTED, encoding="utf-8")
    edited = edit(load_scenario(source))
    path = save_scenario(edited, tmp_path / "out" / "copy.toml", "Saved by a test", source)
    assert load_scenario(path) == edited
    return path.read_text(encoding="utf-8")


def in_order(lines: list[str], text: str) -> bool:
    """Whether every one of `lines` is a line of `text`, in this order."""
    rest = iter(text.splitlines())
    return all(any(line == other for other in rest) for line in lines)


def test_a_changed_rate_and_an_added_run_keep_comments_and_order(tmp_path):
    def edit(scenario):
        faster = restart_change(scenario, ("runs", 0, "lr"), 0.2)
        return add_run(faster, 1, (-1.0, 0.5), "third", "#00aa00")

    text = saved_after(tmp_path, edit)
    assert text.startswith("# Saved by a test\n# A saddle, with the teacher's notes.\n")
    kept = COMMENTED.replace("lr = 0.1        # try 0.2 next", "lr = 0.2        # try 0.2 next")
    assert in_order(kept.splitlines(), text), text  # every line, comments included, in order
    assert text.index('name = "bold"') < text.index('name = "third"') < text.index("[[timeline]]")
    assert '\n\n[[runs]]\nname = "third"\n' in text and '"\n\n[[timeline]]' in text  # set apart


def test_a_live_change_and_a_removed_run_keep_the_rest_as_written(tmp_path):
    def edit(scenario):
        return live_change(remove_run(scenario, 0), "bold", "lr", 0.3, 20)

    text = saved_after(tmp_path, edit)
    assert 'name = "calm"' not in text and "try 0.2 next" not in text
    for line in ("# Two runs: the second is bolder.", 'name = "bold"   # diverges'):
        assert line in text
    assert in_order(['caption = "Watch the bold one."  # a caption', "at = 20"], text), text


def test_without_a_source_the_scenario_is_written_fresh(tmp_path):
    source = tmp_path / "mine.toml"
    source.write_text(COMMENTED, encoding="utf-8")
    scenario = load_scenario(source)
    text = save_scenario(scenario, tmp_path / "fresh.toml").read_text(encoding="utf-8")
    assert "teacher's notes" not in text and load_scenario(tmp_path / "fresh.toml") == scenario


def test_saving_a_saved_file_again_replaces_the_saved_line(tmp_path):
    from sandbox.resources import find_scenario
    from sandbox.scenario.edit import SAVED_BY

    first = tmp_path / "first.toml"
    source = find_scenario("saddle")
    save_scenario(
        live_change(load_scenario(source), "GD", "lr", 0.02, 0),
        first,
        f"{SAVED_BY} on day 1, edited from saddle.toml.",
        source,
    )
    second = tmp_path / "second.toml"
    save_scenario(
        live_change(load_scenario(first), "GD", "lr", 0.03, 0),
        second,
        f"{SAVED_BY} on day 2, edited from first.toml.",
        first,
    )
    lines = second.read_text(encoding="utf-8").splitlines()
    assert lines[0] == f"# {SAVED_BY} on day 2, edited from first.toml."
    assert sum(SAVED_BY in line for line in lines) == 1
    comments = [line for line in source.read_text(encoding="utf-8").splitlines() if line[:1] == "#"]
    assert comments and [line for line in lines[1:] if line[:1] == "#"] == comments
    assert load_scenario(second).runs[0].lr == 0.03
