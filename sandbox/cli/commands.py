"""The handlers of the `sandbox` subcommands: each takes the parsed arguments and returns the
exit code (the codes are the contract described in `sandbox.cli`).

Each imports what it needs when it runs, so that `sandbox check` never loads OpenGL and
`sandbox --help` loads neither torch nor OpenGL.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import tempfile
import threading
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sandbox.errors import BadInput, OutputError, Terminated

EXIT_OK, EXIT_ERROR, EXIT_INVALID, EXIT_NO_OPENGL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_TERMINATED = 143
FRAMES = 120  # frames a replay draws when no count is given: 4 s of video at 30 fps


def replay_command(args: argparse.Namespace) -> int:
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
    progress = not args.quiet  # a bar on a terminal, else a line every few seconds
    also_write = None
    if args.plots or args.frames or args.video or args.vtk:
        also_write = lambda result, folder: _write_extras(result, folder, args)  # noqa: E731
    # a scratch folder only for `--compare` alone: the new replay is compared, then dropped
    scratch = (
        tempfile.TemporaryDirectory(prefix="sandbox-")
        if args.out is None
        else contextlib.nullcontext(None)
    )
    source = path
    if args.original is not None:  # a student's copy of a challenge: refused before it runs
        from sandbox.scenario.load import load_against

        source = load_against(path, find_scenario(str(args.original)))
    with _terminate_like_ctrl_c(), scratch as folder:
        out = args.out if args.out is not None else Path(folder) / "new"
        replay(
            source,
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
    if args.vtk:
        import numpy as np

        from sandbox.trace.vtk import write_vts

        with np.load(folder / "surface.npz") as surface:  # the arrays the replay just wrote
            write_vts(folder / "surface.vts", surface["x"], surface["y"], surface["loss"])
    if args.frames or args.video:
        from sandbox.app.headless import frame_steps, scene_states
        from sandbox.render.frames import render_frames, write_video
        from sandbox.trace.progress import counted, progress_bar

        def states(count: int, label: str):
            total = len(frame_steps(result.scenario.steps, count))
            bar = progress_bar(total, label, "frames", enabled=not args.quiet)
            return counted(scene_states(result.scenario, count, result.messages), bar)

        pngs, video_frames = _frame_counts(args)
        if pngs is not None:
            render_frames(states(pngs, "frames"), args.size, folder / "frames")
        if args.video:
            inside = _inside(args.video, args.out) if args.out is not None else None
            video = folder / inside if inside is not None else args.video
            drawn = states(video_frames, f"video {args.video.name}")
            write_video(drawn, video, args.size, args.fps)


def _frame_counts(args: argparse.Namespace) -> tuple[int | None, int]:
    """(PNG frames to write, or None; frames in the video): `--frames N` sets both, a bare
    `--frames` means FRAMES, `--video-frames N` sets the video's, and the deprecated
    `--frame-count N` sets both unless they are given."""
    bare = args.frames is True  # nargs="?": a bare --frames is True, not a count
    pngs = None if args.frames is None else (args.frame_count or FRAMES) if bare else args.frames
    return pngs, args.video_frames or pngs or args.frame_count or FRAMES


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


def bench_command(args: argparse.Namespace) -> int:
    from sandbox.bench import main_bench

    return main_bench(args.json, args.quick, args.only)


def check_command(args: argparse.Namespace) -> int:
    from sandbox.resources import find_scenario
    from sandbox.scenario.load import ScenarioError, load_against, load_scenario

    status = EXIT_OK
    original = find_scenario(str(args.original)) if args.original is not None else None
    for name in args.files:
        path = find_scenario(name)
        try:
            load_scenario(path) if original is None else load_against(path, original)
            print(f"{path}: ok")
        except ScenarioError as exc:
            print(exc, file=sys.stderr)
            status = EXIT_INVALID
    return status


def list_command(args: argparse.Namespace) -> int:
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


def run_command(args: argparse.Namespace) -> int:
    from sandbox.app.commands import Command
    from sandbox.app.window import offscreen_without_display, run_app
    from sandbox.resources import find_scenario
    from sandbox.scenario.load import load_scenario

    path = find_scenario(args.file)
    scenario = load_scenario(path)
    offscreen_without_display()
    return run_app(
        scenario,
        size=args.size,
        frames=args.frames,
        screenshot=args.screenshot,
        source=path,
        lecture_mode=args.lecture,
        commands=(Command.ANATOMY,) if args.anatomy else (),
    )


def present_command(args: argparse.Namespace) -> int:
    from sandbox.app.lecture import playlist
    from sandbox.app.window import offscreen_without_display, run_app
    from sandbox.scenario.load import load_scenario

    paths = playlist(args.files)
    scenarios = [load_scenario(path) for path in paths]  # every file checked before the talk
    offscreen_without_display()
    return run_app(
        scenarios[0],
        size=args.size,
        frames=args.frames,
        screenshot=args.screenshot,
        source=paths[0],
        lecture_mode=True,
        playlist=paths,
    )


def gallery_command(args: argparse.Namespace) -> int:
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


def schema_command(args: argparse.Namespace) -> int:
    import json

    from sandbox.scenario.json_schema import scenario_json_schema
    from sandbox.trace.io import write_text_atomic

    text = json.dumps(scenario_json_schema(), indent=2) + "\n"
    if args.out is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        write_text_atomic(args.out, text)
    except OSError as exc:
        raise OutputError(f"cannot write --out {args.out}: {exc.strerror or exc}") from None
    print(f"wrote {args.out}")
    return EXIT_OK
