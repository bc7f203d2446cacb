"""Headless output: PNG frame sequences, MP4 (H.264) and GIF, from an iterable of `SceneState`s.

Frames are deterministic: the same states, size and camera give byte-identical PNGs. Every file
is written under a temporary name of its own and renamed into place, so a crash never leaves a
half frame and never touches another file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from sandbox.render.camera import OrbitCamera
from sandbox.render.scene import SceneState
from sandbox.trace.io import atomic_path

VIDEO_BLOCK = 16  # H.264 macroblock: sizes divisible by 16 need no padding or rescaling
VIDEO_SAMPLES = 4  # MSAA for files: they are watched many times, rendered once


def video_size(size: tuple[int, int], block: int = VIDEO_BLOCK) -> tuple[int, int]:
    """`size` with each side rounded up to a multiple of `block`."""
    return tuple(-(-int(side) // block) * block for side in size)


def save_png(rgb: np.ndarray, path: Path) -> Path:
    """Write an (H, W, 3) uint8 image atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        Image.fromarray(rgb, "RGB").save(tmp, format="PNG", compress_level=4)
    return path


def rendered(
    states: Iterable[SceneState],
    size: tuple[int, int],
    camera: OrbitCamera | None = None,
    ctx=None,
    samples: int = VIDEO_SAMPLES,
) -> Iterator[np.ndarray]:
    """(H, W, 3) uint8 frames of `states`, rendered headless with `samples`-fold MSAA.

    The camera defaults to the framing of the first state and stays put, so the view does not
    jump when a later surface differs.
    """
    from sandbox.render.context import headless_context
    from sandbox.render.renderer import Renderer, default_camera

    ctx = ctx or headless_context()
    renderer = Renderer(ctx, size, samples=samples)
    try:
        for state in states:
            camera = camera or default_camera(state, size)
            renderer.draw(state, camera)
            yield renderer.read_rgb()
    finally:
        renderer.release()


def render_frames(
    states: Iterable[SceneState],
    size: tuple[int, int],
    out_dir: Path,
    camera: OrbitCamera | None = None,
    ctx=None,
    samples: int = VIDEO_SAMPLES,
) -> list[Path]:
    """Write frame_00000.png, frame_00001.png, ... under `out_dir`; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return [
        save_png(rgb, out_dir / f"frame_{index:05d}.png")
        for index, rgb in enumerate(rendered(states, size, camera, ctx, samples))
    ]


def write_video(
    states: Iterable[SceneState],
    path: Path,
    size: tuple[int, int],
    fps: float = 30,
    camera: OrbitCamera | None = None,
    ctx=None,
    samples: int = VIDEO_SAMPLES,
) -> Path:
    """Write an .mp4 (H.264, yuv420p; size rounded up to multiples of 16) or a .gif."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".mp4", ".gif"):
        raise ValueError(f"video must be .mp4 or .gif, got {path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        if suffix == ".mp4":
            size = video_size(size)
            _write_mp4(rendered(states, size, camera, ctx, samples), tmp, size, fps)
        else:
            _write_gif(rendered(states, size, camera, ctx, samples), tmp, fps)
    return path


def mp4_writer(path: Path, size: tuple[int, int], fps: float, preset: str = "medium"):
    """A started imageio-ffmpeg generator writing H.264 to `path`: `.send(rgb)` each (H, W, 3)
    uint8 frame, then `.close()`. A faster `preset` for live recording, where x264 shares the
    CPU with the window and the training."""
    import imageio_ffmpeg

    writer = imageio_ffmpeg.write_frames(
        str(path),
        size,
        fps=fps,
        codec="libx264",
        pix_fmt_out="yuv420p",
        quality=None,
        macro_block_size=VIDEO_BLOCK,
        ffmpeg_log_level="error",
        output_params=["-crf", "18", "-preset", preset, "-f", "mp4"],
    )
    writer.send(None)  # start ffmpeg
    return writer


def _write_mp4(frames: Iterator[np.ndarray], path: Path, size: tuple[int, int], fps: float) -> None:
    writer = mp4_writer(path, size, fps)
    try:
        for rgb in frames:
            writer.send(np.ascontiguousarray(rgb))
    finally:
        writer.close()


def _write_gif(frames: Iterator[np.ndarray], path: Path, fps: float) -> None:
    """Each frame gets its own 255-colour palette (no dithering, deterministic).

    GIF frames are kept in memory until the end (~1 MB per 1280x720 frame, quantised).
    """
    images = [
        Image.fromarray(rgb, "RGB").quantize(
            255, Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
        for rgb in frames
    ]
    if not images:
        raise ValueError("no frames to write")
    duration = round(1000 / fps)
    images[0].save(
        path, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0
    )
