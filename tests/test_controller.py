"""The app's controller without a window: commands, playback, pending edits, reloads, captions.

The clock is a `FakeClock` and the worker computes in this process (`tests/app_doubles.py`), so
every test here is deterministic and opens no window, no GL context and no process.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from app_doubles import FakeClock, StreamWorkers

from sandbox.app.commands import WINDOW_COMMANDS, Command
from sandbox.app.controller import Controller
from sandbox.app.keys import KEYS
from sandbox.app.panel import CommandAction, LiveEdit
from sandbox.app.playback import RELOAD_POLL_SECONDS, default_speed
from sandbox.resources import find_scenario
from sandbox.scenario.load import load_scenario


@pytest.fixture
def saddle(tmp_path):
    """The saddle scenario from a copy of its file (so that a test may edit the file)."""
    path = tmp_path / "saddle.toml"
    path.write_text(find_scenario("saddle").read_text())
    return path


def controller(path, clock=None, per_drain=2, **options) -> Controller:
    workers = StreamWorkers(per_drain)
    made = Controller(
        load_scenario(path), source=path, clock=clock or FakeClock(), workers=workers, **options
    )
    made.workers_made = workers.made
    return made


def frames_until(control: Controller, condition, limit: int = 2000) -> int:
    for count in range(limit):
        if condition():
            return count
        control.update()
    raise AssertionError("never happened")


def test_every_key_names_a_command_and_the_window_keeps_three():
    assert {Command(key.command) for key in KEYS} <= set(Command)
    assert WINDOW_COMMANDS == {Command.FULLSCREEN, Command.SCREENSHOT, Command.RECORD}


def test_playback_commands(saddle):
    control = controller(saddle)
    frames_until(control, lambda: control.playback.step >= 5)
    speed, at = control.playback.speed, control.playback.step
    assert speed == default_speed(400)
    control.command(Command.TOGGLE)
    control.update()
    assert control.playback.paused and control.playback.step == at
    control.command(Command.STEP)
    assert control.playback.step == at + 1
    control.command(Command.FASTER)
    assert control.playback.speed == 2 * speed
    control.command("slower")  # keys.py and the panels' actions name commands as strings
    control.command(Command.SLOWER)
    assert control.playback.speed == speed / 2
    control.command(Command.SCRUB, 2)
    assert control.playback.step == 2
    with pytest.raises(ValueError):
        control.command(Command.SCREENSHOT)  # the window's: App does it


def test_toggles_visibility_and_quit(saddle):
    control = controller(saddle)
    for command in (Command.HELP, Command.GRID, Command.PANELS):
        control.command(command)
    assert control.show_help and control.wireframe and not control.show_panel
    control.command(Command.VISIBLE, (1, False))
    assert control.hidden == {1}
    control.apply(CommandAction(Command.VISIBLE, (1, True)))  # as the panel's checkbox sends it
    assert control.hidden == set()
    control.command(Command.QUIT)
    assert not control.running


def test_playback_advances_by_frames_whatever_the_clock_says(saddle):
    """Speed is steps per frame: `run --frames N` shows the same steps on any machine. The clock
    does not move the runs, frozen or racing."""
    clock = FakeClock()
    control = controller(saddle, clock, per_drain=100)
    frames_until(control, lambda: control.model.available_step() >= 50)
    control.command(Command.SCRUB, 0)
    control.playback.speed = 0.5
    for _ in range(20):
        control.update()
    assert control.playback.step == 10
    clock.advance(3600)
    control.update()
    assert control.playback.step == 10  # half a step owed: the next frame pays it
    control.update()
    assert control.playback.step == 11


def test_a_live_edit_waits_for_the_new_worker_to_catch_up(saddle):
    """An lr change at the shown step k restarts the worker; the old runs stay on screen until
    the new worker has computed step k, then the view switches to it at k, without a jump."""
    control = controller(saddle)
    frames_until(control, lambda: control.playback.step >= 12)
    control.command(Command.TOGGLE)
    k = control.playback.step
    old_worker, old_model = control.worker, control.model
    control.last_state = object()  # a frame is on screen
    control.apply(LiveEdit("GD", "lr", 0.1))
    assert control.pending is not None and control.pending.at == k
    assert control.message == f"lr = 0.1 for GD from step {k}"
    assert control.model is old_model and control.pending.note in control.looks()
    frames = frames_until(control, lambda: control.pending is None)
    assert frames > 1  # it took the new worker some frames to recompute k steps
    assert old_worker.closed and control.worker is control.workers_made[-1]
    assert control.model is not old_model and control.model.available_step() >= k
    assert control.playback.step == k
    [event] = [e for e in control.scenario.timeline if e.set is not None]
    assert event.at == k and event.set.lr == 0.1


def test_a_saved_file_is_reloaded_when_the_clock_says_it_is_time(saddle):
    clock = FakeClock()
    control = controller(saddle, clock)
    control.update()  # the first poll
    saddle.write_text(saddle.read_text().replace("Jiggling free", "Escaping"))
    control.update()
    assert "Escaping" not in control.scenario.title  # polled less often than every frame
    clock.advance(RELOAD_POLL_SECONDS)
    control.update()
    assert (
        control.scenario.title.startswith("Escaping") and control.message == "reloaded saddle.toml"
    )
    saddle.write_text("not toml [")
    clock.advance(RELOAD_POLL_SECONDS)
    control.update()
    assert control.reload_error.endswith("still showing the last good version")
    assert control.scenario.title.startswith("Escaping")  # the last good version stays
    assert control.alert() == control.reload_error


def test_the_picker_is_listed_again_only_after_the_poll_interval(saddle, tmp_path):
    clock = FakeClock()
    control = controller(saddle, clock, user_dir=tmp_path / "mine")
    first = control.scenario_choices()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "new.toml").write_text(saddle.read_text())
    assert control.scenario_choices() == first
    clock.advance(RELOAD_POLL_SECONDS + 0.01)
    assert len(control.scenario_choices()) == len(first) + 1


def test_captions_then_the_playlist(tmp_path):
    deck = [find_scenario("saddle"), find_scenario("learning_rate")]
    control = controller(deck[0], playlist=deck, per_drain=100)
    seen = []
    for _ in range(12):
        control.next_caption()
        frames_until(control, lambda: control.playback.target is None)
        seen.append((control.source.stem, control.playback.step))
        if control.source == deck[1]:
            break
    assert seen[-1] == ("learning_rate", 0) and control.caption.endswith(control.scenario.title)
    assert [stem for stem, _ in seen[:-1]] == ["saddle"] * (len(seen) - 1)
    steps = [step for _, step in seen[:-1]]
    assert steps == sorted(steps) and steps[0] > 0
    control.previous_caption()
    assert control.source == deck[0]


def test_a_dead_worker_is_an_alert_and_restart_starts_a_new_one(saddle):
    control = controller(saddle)
    frames_until(control, lambda: control.playback.step > 0)
    control.worker.death = "the background worker stopped unexpectedly (exit code -9)"
    control.update()
    assert control.alert().endswith("(press r to restart)")
    control.command(Command.RESTART)
    assert control.workers_made[0].closed and len(control.workers_made) == 2
    assert control.playback.step == 0 and control.alert() == ""


def test_the_controller_loads_no_pygame_and_no_gui():
    code = (
        "import sys, sandbox.app.controller, sandbox.app.commands, sandbox.app.playback;"
        "print(sorted(m for m in ('pygame', 'imgui_bundle', 'torch') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr
