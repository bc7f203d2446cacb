"""Headless output: PNG frame sequences, MP4 (H.264) and GIF, from an iterable of `SceneState`s.

Frames are deterministic: the same states, size and camera give byte-identical PNGs. Every file
is written under a temporary name of its own and renamed into place, so a crash never leaves a
half frame and never touches another file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from sandbox.render.camera import OrbitCamera
from sandbox.render.scene import SceneState
from sandbox.trace.io import atomic_path

VIDEO_BLOCK = 16  # H.264 macroblock: sizes divisible by 16 need no padding or rescaling
VIDEO_SAMPLES = 4  # MSAA for files: they are watched many times, rendered once
GIF_COLORS = 255  # per frame's palette
GIF_RESERVED = 64  # at most this many of them kept for run and text colours
NO_DITHER = Image.Dither.NONE


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
    from sandbox.render.opening_view import default_camera
    from sandbox.render.renderer import Renderer

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
            states = list(states)  # a GIF's frames are all held until the end anyway
            frames = rendered(states, size, camera, ctx, samples)
            _write_gif(frames, tmp, fps, gif_reserved_colors(states))
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


def gif_reserved_colors(states: Sequence[SceneState]) -> list[tuple[int, int, int]]:
    """The colours every GIF frame's palette keeps exactly: each run's colour and the theme's
    opaque text colours (8-bit RGB, no repeats, in order of first use)."""
    colors: dict[tuple[int, int, int], None] = {}
    for state in states:
        theme = state.theme
        opaque = [c[:3] for c in (theme.backdrop, theme.text, theme.dim, theme.warn) if c[3] == 1]
        for color in [trail.color for trail in state.trails] + opaque:
            colors[tuple(round(255 * c) for c in color)] = None
    return list(colors)[:GIF_RESERVED]


def gif_frame(rgb: np.ndarray, reserved: Sequence[tuple[int, int, int]] = ()) -> Image.Image:
    """An (H, W, 3) uint8 frame as a 255-colour GIF frame (no dithering, deterministic).

    The palette is the `reserved` colours followed by a median cut of the frame for the rest.
    Median cut alone weighs colours by their pixel count, so runs drawn in thin lines of nearby
    hues (red and magenta) shared one entry. Pixels of exactly a reserved colour keep it (Pillow's
    mapping to a palette looks colours up in coarse cells and can pick a neighbour); the others
    take the nearest palette colour.
    """
    image = Image.fromarray(rgb, "RGB")
    reserved = list(reserved)[:GIF_RESERVED]
    cut = image.quantize(GIF_COLORS - len(reserved), Image.Quantize.MEDIANCUT, dither=NO_DITHER)
    rest = cut.getpalette()[: 3 * (GIF_COLORS - len(reserved))]
    colors = [v for color in reserved for v in color] + rest
    palette = Image.new("P", (1, 1))
    palette.putpalette(colors)
    index = np.array(image.quantize(palette=palette, dither=NO_DITHER))
    if reserved:
        keys = _packed(np.array(reserved, np.uint8))
        order = np.argsort(keys, kind="stable")
        codes = _packed(rgb)
        at = np.searchsorted(keys[order], codes).clip(max=len(keys) - 1)
        exact = keys[order][at] == codes
        index[exact] = order[at[exact]]
    frame = Image.fromarray(index, "P")
    frame.putpalette(colors)
    return frame


def _packed(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 colours as one uint32 each."""
    rgb = rgb.astype(np.uint32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def _write_gif(
    frames: Iterator[np.ndarray], path: Path, fps: float, reserved: Sequence = ()
) -> None:
    """Each frame gets its own palette (`gif_frame`).

    GIF frames are kept in memory until the end (~1 MB per 1280x720 frame, quantised).
    """
    images = [gif_frame(rgb, reserved) for rgb in frames]
    if not images:
        raise ValueError("no frames to write")
    duration = round(1000 / fps)
    images[0].save(
        path, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0
    )
