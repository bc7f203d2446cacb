"""The `sandbox` command: run, replay, check, list.

Exit codes (the contract): 0 success, 1 anything else, 2 invalid input, 3 no usable OpenGL,
130 interrupted (Ctrl-C), 143 terminated (SIGTERM during a replay).
Bad input never shows a traceback; set SANDBOX_DEBUG=1 to see one for unexpected errors.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
import tempfile
import threading
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sandbox.errors import BadInput, OutputError, Terminated
from sandbox.scenario.load import ScenarioError
from sandbox.sweep.cli import add_sweep_parser

EXIT_OK, EXIT_ERROR, EXIT_INVALID, EXIT_NO_OPENGL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_TERMINATED = 143
VIDEO_TYPES = (".mp4", ".gif")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    try:
        args = _parser().parse_args(argv)
        return args.handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print("terminated", file=sys.stderr)
        return EXIT_TERMINATED
    except BrokenPipeError:
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks
        if isinstance(exc, ScenarioError):
            print(exc, file=sys.stderr)
            return EXIT_INVALID
        if isinstance(exc, OutputError):
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_ERROR
        if isinstance(exc, BadInput):
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_INVALID
        if type(exc).__name__ == "NoOpenGL":  # not imported here: keeps moderngl off `check`
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_NO_OPENGL
        if os.environ.get("SANDBOX_DEBUG"):
            raise
        print(
            f"error: {type(exc).__name__}: {exc} (SANDBOX_DEBUG=1 shows details)", file=sys.stderr
        )
        return EXIT_ERROR


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sandbox", description="Watch optimisers navigate loss landscapes."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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
    replay.add_argument("--frames", action="store_true", help="also write PNG frames to DIR/frames")
    replay.add_argument(
        "--frame-count",
        type=_bounded_int(2, 100_000),
        default=120,
        metavar="N",
        help="frames at N evenly spaced steps (default 120)",
    )
    replay.add_argument(
        "--video", type=_video_path, metavar="PATH", help="also write an MP4 or GIF"
    )
    replay.add_argument(
        "--plots",
        action="store_true",
        help="also write loss/sharpness/gradient plots as PNG in DIR",
    )
    replay.add_argument("--size", type=_size, default=(1280, 720), metavar="WxH")
    replay.add_argument("--fps", type=_fps, default=30.0, help="video frame rate, 1 to 120")
    replay.set_defaults(handler=_replay)

    check = commands.add_parser("check", help="validate scenario files")
    check.add_argument("files", nargs="+")
    check.set_defaults(handler=_check)

    bench = commands.add_parser("bench", help="measure speed against this machine's limits")
    bench.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    bench.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    bench.add_argument(
        "--only",
        nargs="+",
        metavar="SECTION",
        choices=["grid", "first_surface", "sharpness", "frame", "training"],
    )
    bench.set_defaults(handler=_bench)

    listing = commands.add_parser("list", help="list the bundled scenarios")
    listing.set_defaults(handler=_list)

    run = commands.add_parser("run", help="open the desktop app on a scenario")
    run.add_argument("file", help="scenario file, or the name of a bundled scenario")
    run.add_argument("--size", type=_size, default=(1280, 720), metavar="WxH")
    run.add_argument("--frames", type=int, metavar="N", help="quit after N frames")
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
    run.set_defaults(handler=_run)

    present = commands.add_parser(
        "present", help="lecture mode over a playlist: scenario files in order, or a deck file"
    )
    present.add_argument("files", nargs="+", help="scenario files, bundled names or a deck file")
    present.add_argument("--size", type=_size, default=(1920, 1080), metavar="WxH")
    present.add_argument("--frames", type=int, metavar="N", help="quit after N frames")
    present.add_argument("--screenshot", type=Path, metavar="PATH")
    present.set_defaults(handler=_present)

    add_sweep_parser(commands)
    _add_gallery_parser(commands)
    return parser


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
    gallery.set_defaults(handler=_gallery)


def _gallery(args: argparse.Namespace) -> int:
    from sandbox.gallery import make_gallery

    with _terminate_like_ctrl_c():
        _, failures = make_gallery(
            args.out,
            only=args.only,
            size=args.size,
            lecture=args.lecture,
            force=args.force,
            stall_timeout=args.timeout,
        )
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    return EXIT_ERROR if failures else EXIT_OK


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


def _replay(args: argparse.Namespace) -> int:
    from sandbox.compare import ATOL, RTOL, compare_dirs, read_baseline
    from sandbox.replayer import replay
    from sandbox.resources import find_scenario

    if args.out is None and args.compare is None:
        print("error: replay needs --out DIR (or --compare OLD_DIR)", file=sys.stderr)
        return EXIT_INVALID
    path = find_scenario(args.file)
    baseline = None
    if args.compare is not None:  # checked before hours of replay, not after
        if args.out is not None and _same_place(args.out, args.compare):
            raise BadInput(
                f"--out {args.out} is the --compare baseline: the replay would replace what it "
                "is compared with; choose another --out"
            )
        baseline = read_baseline(args.compare)
    _check_video(args)
    progress = not args.quiet and sys.stderr.isatty()
    also_write = None
    if args.plots or args.frames or args.video:
        also_write = lambda result, folder: _write_extras(result, folder, args)  # noqa: E731
    # a scratch folder only for `--compare` alone: the new replay is compared, then dropped
    scratch = (
        tempfile.TemporaryDirectory(prefix="sandbox-")
        if args.out is None
        else contextlib.nullcontext(None)
    )
    with _terminate_like_ctrl_c(), scratch as folder:
        out = args.out if args.out is not None else Path(folder) / "new"
        replay(
            path,
            out,
            force=args.force,
            progress=progress,
            keep_arrays=False,
            also_write=also_write,
            keep_messages=bool(args.frames or args.video),  # frames draw them: one training
        )
        if baseline is None:
            return EXIT_OK
        report = compare_dirs(baseline, out)
    if not report:
        print(f"same as {args.compare} (within rtol {RTOL:g}, atol {ATOL:g})")
        return EXIT_OK
    print(f"differs from {args.compare} (rtol {RTOL:g}, atol {ATOL:g}):")
    for line in report:
        print(f"  {line}")
    return EXIT_ERROR


def _same_place(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def _inside(path: Path, folder: Path) -> Path | None:
    """`path` relative to `folder` if it lies inside it, else None."""
    try:
        return path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError):
        return None


def _check_video(args: argparse.Namespace) -> None:
    """Refuse a video that cannot be written before anything runs."""
    video = args.video
    if video is None:
        return
    missing = _missing_video_encoder(video)
    if missing:
        raise OutputError(f"cannot write {video}: {missing}")
    if video.is_dir():
        raise OutputError(f"--video {video} is a folder")
    in_out = args.out is not None and _inside(video, args.out) is not None
    if video.exists() and not in_out and not args.force:
        raise OutputError(f"--video {video} exists (use --force to replace it)")


@contextmanager
def _terminate_like_ctrl_c() -> Iterator[None]:
    """SIGTERM (a CI time-out, `kill`) unwinds the replay like Ctrl-C does, so it removes what
    it staged instead of dying with a half-written folder."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _write_extras(result, folder: Path, args: argparse.Namespace) -> None:
    """Plots, frames and video of a replayed scenario, written while the replay's outputs are
    still staged in `folder` (a video inside --out is staged too; one elsewhere is written in
    place, atomically). Frames go through the same renderer as the window, drawing the
    messages the replay kept."""
    if args.plots:
        from sandbox.plots import write_plots

        write_plots(folder)
    if args.frames or args.video:
        from sandbox.app.headless import scene_states
        from sandbox.render.frames import render_frames, write_video

        def states():
            return scene_states(result.scenario, args.frame_count, result.messages)

        if args.frames:
            render_frames(states(), args.size, folder / "frames")
        if args.video:
            inside = _inside(args.video, args.out) if args.out is not None else None
            video = folder / inside if inside is not None else args.video
            write_video(states(), video, args.size, args.fps)


def _missing_video_encoder(path: Path) -> str | None:
    """Why a video of this type cannot be written here, or None (GIFs need no ffmpeg)."""
    if path.suffix.lower() == ".gif":
        return None
    try:
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as exc:
        return f"no ffmpeg encoder ({exc}); `pip install imageio-ffmpeg` ships one"
    return None


def _bench(args: argparse.Namespace) -> int:
    from sandbox.bench import main_bench

    return main_bench(args.json, args.quick, args.only)


def _check(args: argparse.Namespace) -> int:
    from sandbox.resources import find_scenario
    from sandbox.scenario.load import ScenarioError, load_scenario

    status = EXIT_OK
    for name in args.files:
        path = find_scenario(name)
        try:
            load_scenario(path)
            print(f"{path}: ok")
        except ScenarioError as exc:
            print(exc, file=sys.stderr)
            status = EXIT_INVALID
    return status


def _list(args: argparse.Namespace) -> int:
    from sandbox.resources import bundled_scenarios
    from sandbox.scenario.schema import THEMES

    groups: dict[str, list[tuple[str, str]]] = {}
    for path in bundled_scenarios():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            data = {"title": "(unreadable)"}
        groups.setdefault(data.get("theme") or "other", []).append((path.stem, data.get("title")))
    for theme in [*THEMES, "other"]:
        if theme in groups:
            print(theme.capitalize())
            for name, title in groups[theme]:
                print(f"  {name:<26} {title}")
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from sandbox.app.window import run_app
    from sandbox.resources import find_scenario
    from sandbox.scenario.load import load_scenario

    path = find_scenario(args.file)
    scenario = load_scenario(path)
    _offscreen_without_display()
    return run_app(
        scenario,
        size=args.size,
        frames=args.frames,
        screenshot=args.screenshot,
        source=path,
        lecture_mode=args.lecture,
    )


def _present(args: argparse.Namespace) -> int:
    from sandbox.app.lecture import playlist
    from sandbox.app.window import run_app
    from sandbox.scenario.load import load_scenario

    paths = playlist(args.files)
    scenarios = [load_scenario(path) for path in paths]  # every file checked before the talk
    _offscreen_without_display()
    return run_app(
        scenarios[0],
        size=args.size,
        frames=args.frames,
        screenshot=args.screenshot,
        source=paths[0],
        lecture_mode=True,
        playlist=paths,
    )


def _offscreen_without_display() -> None:
    """With no display at all, render the window offscreen (EGL) instead of failing."""
    has_display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if sys.platform.startswith("linux") and not has_display and "SDL_VIDEODRIVER" not in os.environ:
        os.environ["SDL_VIDEODRIVER"] = "offscreen"
        print(
            "no display found: the window renders offscreen (use --frames N --screenshot PATH "
            "to see it)",
            file=sys.stderr,
        )


if __name__ == "__main__":
    sys.exit(main())
