"""The argument parser of the `sandbox` command: one function per subcommand.

Building it imports nothing heavy (no torch, no OpenGL): `sandbox --help` must stay fast. Each
subcommand's handler is in `sandbox.cli.commands`.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from sandbox.cli.commands import (
    FRAMES,
    bench_command,
    check_command,
    gallery_command,
    list_command,
    present_command,
    replay_command,
    run_command,
    schema_command,
)
from sandbox.sweep.cli import add_sweep_parser

VIDEO_TYPES = (".mp4", ".gif")


def build_parser() -> argparse.ArgumentParser:
    """The `sandbox` command's parser; each subcommand sets its handler as `args.handler`."""
    parser = argparse.ArgumentParser(
        prog="sandbox", description="Watch optimisers navigate loss landscapes."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_replay_parser(commands)
    _add_check_parser(commands)
    _add_bench_parser(commands)
    _add_list_parser(commands)
    _add_run_parser(commands)
    _add_present_parser(commands)
    add_sweep_parser(commands)
    _add_gallery_parser(commands)
    _add_schema_parser(commands)
    return parser


def _version() -> str:
    """The installed distribution's version (the package's own when it is not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    import sandbox

    try:
        return version("loss-landscape-sandbox")
    except PackageNotFoundError:
        return sandbox.__version__


def _add_replay_parser(commands) -> None:
    replay = commands.add_parser("replay", help="run a scenario headless and write its outputs")
    replay.add_argument("file", help="scenario file, or the name of a bundled scenario")
    replay.add_argument("--out", type=Path, help="output directory (required unless --compare)")
    replay.add_argument("--force", action="store_true", help="overwrite a non-empty --out")
    replay.add_argument(
        "--compare",
        type=Path,
        metavar="OLD_DIR",
        help="compare with an earlier replay; exit 1 if they differ",
    )
    replay.add_argument("--quiet", action="store_true", help="no progress bar")
    # `--frames N` is a count everywhere (`run --frames N` draws N frames, then quits); here the
    # N frames are also written, and a bare `--frames` (the contract's spelling) means 120.
    replay.add_argument(
        "--frames",
        nargs="?",
        const=True,
        type=_frames,
        metavar="N",
        help=f"also write N PNG frames at evenly spaced steps to DIR/frames ({FRAMES} if no N)",
    )
    replay.add_argument(
        "--video", type=_video_path, metavar="PATH", help="also write an MP4 or GIF"
    )
    replay.add_argument(
        "--video-frames",
        type=_frame_count,
        metavar="N",
        help=f"frames in the video (default: --frames N, else {FRAMES})",
    )
    replay.add_argument(
        "--frame-count",  # before `--frames` took a count; kept for scripts that use it
        type=_frame_count,
        action=_Deprecated,
        help=argparse.SUPPRESS,
        replacement="--frames N (PNG frames) or --video-frames N (the video)",
    )
    replay.add_argument(
        "--plots",
        action="store_true",
        help="also write loss/sharpness/gradient plots as PNG in DIR",
    )
    replay.add_argument(
        "--vtk",
        action="store_true",
        help="also write the drawn surface as DIR/surface.vts (a VTK grid ParaView opens)",
    )
    replay.add_argument(
        "--original",
        type=Path,
        metavar="FILE",
        help="a challenge's original file: refuse a copy that changes a key it does not unlock",
    )
    replay.add_argument("--size", type=_size, default=(1280, 720), metavar="WxH")
    replay.add_argument("--fps", type=_fps, default=30.0, help="video frame rate, 1 to 120")
    replay.set_defaults(handler=replay_command)


def _add_check_parser(commands) -> None:
    check = commands.add_parser("check", help="validate scenario files")
    check.add_argument("files", nargs="+")
    check.add_argument(
        "--original",
        type=Path,
        metavar="FILE",
        help="a challenge's original file: refuse a copy that changes a key it does not unlock",
    )
    check.set_defaults(handler=check_command)


def _add_bench_parser(commands) -> None:
    bench = commands.add_parser("bench", help="measure speed against this machine's limits")
    bench.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    bench.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    bench.add_argument(
        "--only",
        nargs="+",
        metavar="SECTION",
        choices=[
            "grid",
            "first_surface",
            "sharpness",
            "spectrum",
            "frame",
            "training",
            "cnn",
            "module",
        ],
    )
    bench.set_defaults(handler=bench_command)


def _add_list_parser(commands) -> None:
    listing = commands.add_parser("list", help="list the bundled scenarios")
    listing.set_defaults(handler=list_command)


def _add_run_parser(commands) -> None:
    run = commands.add_parser("run", help="open the desktop app on a scenario")
    run.add_argument("file", help="scenario file, or the name of a bundled scenario")
    run.add_argument("--size", type=_size, default=(1280, 720), metavar="WxH")
    run.add_argument("--frames", type=int, metavar="N", help="draw N frames, then quit")
    run.add_argument(
        "--screenshot",
        type=Path,
        metavar="PATH",
        help="save a PNG of the last frame (with --frames)",
    )
    run.add_argument(
        "--lecture",
        action="store_true",
        help="lecture mode: full screen, light high-contrast theme, large subtitles, panel hidden",
    )
    run.add_argument(
        "--anatomy",
        action="store_true",
        help="start with the anatomy arrows on (key a): −η∇f, momentum and the step at each ball",
    )
    run.set_defaults(handler=run_command)


def _add_present_parser(commands) -> None:
    present = commands.add_parser(
        "present", help="lecture mode over a playlist: scenario files in order, or a deck file"
    )
    present.add_argument("files", nargs="+", help="scenario files, bundled names or a deck file")
    present.add_argument("--size", type=_size, default=(1920, 1080), metavar="WxH")
    present.add_argument("--frames", type=int, metavar="N", help="draw N frames, then quit")
    present.add_argument("--screenshot", type=Path, metavar="PATH")
    present.set_defaults(handler=present_command)


def _add_gallery_parser(commands) -> None:
    gallery = commands.add_parser(
        "gallery",
        help="PNGs of the app on every bundled scenario at each caption, and a contact sheet",
        description="Open the app offscreen on every bundled scenario and save its window at each "
        "caption's step and the last step to OUT/<scenario>/stepNNNNNN.png, and a contact sheet "
        "OUT/index.png. Running it again into OUT replaces only the earlier gallery's files.",
    )
    gallery.add_argument("out", type=Path, metavar="OUT", help="output directory")
    gallery.add_argument("--only", nargs="+", metavar="NAME", help="these bundled scenarios only")
    gallery.add_argument(
        "--size", type=_size, default=(1280, 720), metavar="WxH", help="default 1280x720"
    )
    gallery.add_argument("--lecture", action="store_true", help="as `sandbox run --lecture` shows")
    gallery.add_argument(
        "--force",
        action="store_true",
        help="use a non-empty OUT that holds no earlier gallery (its files are kept)",
    )
    gallery.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        metavar="S",
        help="give a scenario up when its worker computes no new step for S seconds (default 120)",
    )
    gallery.set_defaults(handler=gallery_command)


def _add_schema_parser(commands) -> None:
    schema = commands.add_parser(
        "schema", help="print a JSON Schema of scenario files, for editors that complete keys"
    )
    schema.add_argument("--out", type=Path, help="write it to this file instead")
    schema.set_defaults(handler=schema_command)


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 1280x720, got {text!r}") from None
    if not (16 <= width <= 8192 and 16 <= height <= 8192):
        raise argparse.ArgumentTypeError(f"size must be between 16 and 8192 a side, got {text}")
    return width, height


def _bounded_int(low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, got {value}")
        return value

    return parse


_frame_count = _bounded_int(2, 100_000)


def _frames(text: str) -> int:
    """`replay --frames`' N; a word there is most likely the scenario after a bare --frames."""
    try:
        return _frame_count(text)
    except argparse.ArgumentTypeError as exc:
        if text.strip().lstrip("+-").isdigit():
            raise
        hint = f"for {FRAMES} frames, put FILE before a bare --frames"
        raise argparse.ArgumentTypeError(f"{exc} ({hint})") from None


class _Deprecated(argparse.Action):
    """An old option's spelling that still works, with a one-line note on stderr naming the
    new one (`replacement`)."""

    def __init__(self, *args, replacement: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.replacement = replacement

    def __call__(self, parser, namespace, values, option_string=None):
        print(
            f"{parser.prog}: {option_string} is deprecated; use {self.replacement}",
            file=sys.stderr,
        )
        setattr(namespace, self.dest, values)


def _fps(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not (math.isfinite(value) and 1 <= value <= 120):
        raise argparse.ArgumentTypeError(f"must be between 1 and 120 frames a second, got {text}")
    return value


def _video_path(text: str) -> Path:
    path = Path(text)
    if path.suffix.lower() not in VIDEO_TYPES:
        raise argparse.ArgumentTypeError(f"must end in .mp4 or .gif, got {text!r}")
    return path
