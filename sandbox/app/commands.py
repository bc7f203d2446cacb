"""The app's commands, one enum: what the keys (keys.py), the panels' `Command` actions and
scripts ask of it. The playback commands are small functions of the playback alone."""

from __future__ import annotations

from enum import Enum

from sandbox.app.playback import Playback


class Command(Enum):
    """Everything the keys, the panels and scripts can ask of the app (keys.py names them)."""

    TOGGLE = "toggle"  # pause / resume
    STEP = "step"  # one step, paused
    FASTER = "faster"
    SLOWER = "slower"
    SCRUB = "scrub"  # value: the step to show
    VISIBLE = "visible"  # value: (run index, shown)
    OPEN = "open"  # value: a scenario file
    SAVE = "save"  # value: a file name
    DROP_BALL = "drop_ball"  # value: (x, y), a new run starting there
    MOVE_START = "move_start"  # value: (run index, (x, y))
    REMOVE_RUN = "remove_run"  # value: a run index (None: the selected run)
    RESTART = "restart"
    NEXT_CAPTION = "next_caption"
    PREVIOUS_CAPTION = "previous_caption"
    PANELS = "panels"
    GRID = "grid"
    ANATOMY = "anatomy"  # the arrows at each ball: −η∇f, momentum, the step taken
    HELP = "help"
    QUIT = "quit"
    FULLSCREEN = "fullscreen"  # these three need the window: App does them
    SCREENSHOT = "screenshot"
    RECORD = "record"


WINDOW_COMMANDS = frozenset({Command.FULLSCREEN, Command.SCREENSHOT, Command.RECORD})


def _pause(playback: Playback, available: int, value) -> None:
    playback.paused = not playback.paused


def _step(playback: Playback, available: int, value) -> None:
    playback.paused = True
    playback.jump(playback.step + 1, available)


def _faster(playback: Playback, available: int, value) -> None:
    playback.speed *= 2


def _slower(playback: Playback, available: int, value) -> None:
    playback.speed = max(playback.speed / 2, 1 / 64)


def _scrub(playback: Playback, available: int, value) -> None:
    playback.jump(int(value), available)


PLAYBACK_COMMANDS = {
    Command.TOGGLE: _pause,
    Command.STEP: _step,
    Command.FASTER: _faster,
    Command.SLOWER: _slower,
    Command.SCRUB: _scrub,
}
