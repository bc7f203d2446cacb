"""The app's keys and mouse, in one table: the window dispatches on it, the help overlay and the
README's key list are made from it (a test checks the README against it).

Key names are pygame's (`pygame.K_<name>`), so this module needs no pygame itself.

Chords with the platform's shortcut modifier (Ctrl; Cmd on macOS) are not one-key commands:
they belong to the text fields (copy, paste, select all) and to the system (Cmd+H, Cmd+Q).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Key:
    names: tuple[str, ...]  # pygame key names: K_SPACE is "SPACE"
    shown: str  # how the help overlay writes the keys
    command: str  # what App.key does (App.KEY_COMMANDS)
    does: str


KEYS = (
    Key(("SPACE",), "space", "toggle", "pause / resume"),
    Key(("PERIOD",), ".", "step", "one step (pauses)"),
    Key(("PLUS", "EQUALS", "KP_PLUS"), "+", "faster", "play faster"),
    Key(("MINUS", "KP_MINUS"), "−", "slower", "play slower"),
    Key(
        ("PAGEDOWN", "RIGHT", "DOWN"),
        "PgDn  →  ↓",
        "next_caption",
        "next caption (then the next scenario)",
    ),
    Key(
        ("PAGEUP", "LEFT", "UP"), "PgUp  ←  ↑", "previous_caption", "previous caption (or scenario)"
    ),
    Key(("r",), "r", "restart", "restart the runs (also after a crash)"),
    Key(("DELETE", "BACKSPACE"), "Del", "remove_run", "remove the last placed run"),
    Key(("p", "TAB"), "p  /  Tab", "panels", "control panel and plots"),
    Key(("g",), "g", "grid", "grid lines on the surface"),
    Key(("a",), "a", "anatomy", "arrows at each ball: −η∇f, momentum, step (. shows its numbers)"),
    Key(("f",), "f", "fullscreen", "full screen"),
    Key(("s",), "s", "screenshot", "screenshot (PNG)"),
    Key(("v",), "v", "record", "record a video (MP4)"),
    Key(("h",), "h", "help", "help: keys and marks"),
    Key(("ESCAPE",), "Esc", "quit", "quit"),
)

MOUSE = (
    ("left click on the surface", "drop a ball there (settings of the last placed run)"),
    ("left drag from a path's start", "move the start (the runs recompute)"),
    ("left drag", "orbit"),
    ("right drag", "pan (the surface follows)"),
    ("wheel", "zoom (up: closer)"),
)


MACOS = "darwin"  # sys.platform's value on macOS


def shortcut_name(platform: str) -> str:
    """What users of `platform` (a sys.platform value) call the key their shortcuts hold."""
    return "Cmd" if platform == MACOS else "Ctrl"


def shortcut_mask(pygame, platform: str) -> int:
    """pygame's modifier bits of that key: KMOD_GUI (⌘; pygame's KMOD_META is the same bits)
    on macOS, KMOD_CTRL elsewhere."""
    return pygame.KMOD_GUI if platform == MACOS else pygame.KMOD_CTRL


def help_rows() -> tuple[tuple[str, str], ...]:
    """(keys, what they do) for the help overlay: the mouse, then every key."""
    return MOUSE + tuple((key.shown, key.does) for key in KEYS)


def key_commands(pygame) -> dict[int, str]:
    """pygame key code -> command, for the window's key handler."""
    return {getattr(pygame, f"K_{name}"): key.command for key in KEYS for name in key.names}


def markdown_table() -> str:
    """The README's table of inputs (tests/test_layout.py checks the README has it)."""
    rows = [f"| {keys} | {does} |" for keys, does in help_rows()]
    return "\n".join(["| input | does |", "|---|---|", *rows])
