"""The gallery: every bundled scenario drawn by the app itself at each caption's step.

`sandbox gallery OUT` opens the real app window offscreen on each scenario, waits until the
worker has computed a caption's step, shows that step paused (with the control panel and the
timeline plots, as a user who scrubbed there sees it) and saves the frame as
``OUT/<scenario>/stepNNNNNN.png``; the last step is shown too. ``OUT/index.png`` is a contact
sheet of every frame in OUT. The gallery is how we check that nothing covers the runs and that
each picture shows what its caption claims.

OUT is treated like a replay's folder: ``OUT/.sandbox-gallery.json`` lists every file of ours at
every moment, a non-empty OUT without it is refused unless ``--force``, and a file no gallery
wrote is never removed or overwritten. Each PNG is written under a temporary name and renamed.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sandbox.errors import BadInput, OutputError
from sandbox.resources import bundled_scenarios
from sandbox.scenario.schema import Scenario
from sandbox.trace.io import write_json_atomic
from sandbox.trace.outdir import is_file_inside, lock_folder, refuse_foreign, remove_files

MANIFEST = ".sandbox-gallery.json"
WRITTEN_BY = "sandbox gallery"
INDEX = "index.png"
FRAME_NAME = re.compile(r"([A-Za-z0-9_.-]+)/step(\d{6})\.png$")
STALL_TIMEOUT = 120.0  # seconds without a new step before a scenario is given up
POLL_SECONDS = 0.05  # between frames while the worker computes: the cycles go to training
SETTLE_FRAMES = 3  # frames drawn at a step before saving it: ImGui lays out over two frames
BALL_MARGIN = 8  # pixels at 720 of height: about a ball's radius
THUMB_WIDTH = 320
LABEL_PX = 15
PAD = 8
SHEET_BACKDROP = (32, 32, 36)
LABEL_COLOR = (235, 235, 235)

Log = Callable[[str], None]


class GalleryError(RuntimeError):
    """One scenario could not be drawn (worker failed, stalled); the gallery goes on without it."""


@dataclass(frozen=True)
class Shot:
    """One saved frame: `file` (relative to OUT) shows `scenario` at `step`."""

    file: str
    scenario: str
    step: int


def gallery_steps(scenario: Scenario) -> list[int]:
    """The steps a scenario is shown at: each caption's, and the last one."""
    captions = {min(event.at, scenario.steps) for event in scenario.timeline if event.caption}
    return sorted(captions | {scenario.steps})


def frame_name(scenario: str, step: int) -> str:
    return f"{scenario}/step{step:06d}.png"


def select_scenarios(only: list[str] | None) -> list[Path]:
    """The bundled scenario files to draw, in `sandbox list`'s name order; BadInput names any
    requested name that is not bundled."""
    bundled = {path.stem: path for path in bundled_scenarios()}
    if not only:
        return list(bundled.values())
    unknown = [name for name in only if name.removesuffix(".toml") not in bundled]
    if unknown:
        raise BadInput(
            f"--only: no bundled scenario named {', '.join(map(repr, unknown))} "
            "(`sandbox list` shows them)"
        )
    wanted = {name.removesuffix(".toml") for name in only}
    return [path for name, path in bundled.items() if name in wanted]


# -- the output folder -----------------------------------------------------------------------


class GalleryFolder:
    """`with GalleryFolder(OUT, force=...) as folder:` OUT locked, its gallery files known.

    The manifest is updated before each new file is written, so it lists every file of ours
    even if the gallery is killed; only listed files are ever replaced or removed.
    """

    def __init__(self, root: Path, *, force: bool = False):
        self.root = Path(root)
        self.force = force
        self.shots: dict[str, Shot] = {}  # by file name: every frame of this gallery
        self.extra: set[str] = set()  # our other files (index.png)
        self._lock_fd: int | None = None

    def __enter__(self) -> GalleryFolder:
        if self.root.exists() and not self.root.is_dir():
            raise OutputError(f"{self.root} exists and is not a directory")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._lock_fd = lock_folder(self.root, "gallery")
        except OSError as exc:
            raise OutputError(f"cannot use {self.root}: {exc.strerror or exc}") from None
        try:
            self._read_manifest()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _read_manifest(self) -> None:
        data = _manifest(self.root / MANIFEST)
        if data is None:
            if any(self.root.iterdir()) and not self.force:
                raise OutputError(
                    f"{self.root} is not empty and holds no earlier gallery (use --force to "
                    "write the gallery beside its files; they are kept)"
                )
            return
        for entry in data.get("frames", []):
            shot = _shot(entry)
            if shot is not None and is_file_inside(self.root, shot.file):
                self.shots[shot.file] = shot
        self.extra = {INDEX} if is_file_inside(self.root, INDEX) else set()

    def _save_manifest(self) -> None:
        shots = sorted(self.shots.values(), key=lambda s: (s.scenario, s.step))
        write_json_atomic(
            self.root / MANIFEST,
            {
                "written_by": WRITTEN_BY,
                "outputs": sorted([*self.shots, *self.extra]),
                "frames": [{"file": s.file, "scenario": s.scenario, "step": s.step} for s in shots],
            },
        )

    def _claim(self, name: str) -> Path:
        """The path to write `name` to, after checking no foreign file is there."""
        if name not in self.shots and name not in self.extra:
            refuse_foreign(self.root, name, "gallery")
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def save_frame(self, shot: Shot, rgb: np.ndarray) -> None:
        from sandbox.render.frames import save_png

        path = self._claim(shot.file)
        self.shots[shot.file] = shot
        self._save_manifest()
        save_png(rgb, path)

    def save_index(self, rgb: np.ndarray) -> None:
        from sandbox.render.frames import save_png

        path = self._claim(INDEX)
        self.extra.add(INDEX)
        self._save_manifest()
        save_png(rgb, path)

    def drop(self, names: set[str]) -> None:
        """Remove frames of an earlier gallery that this one no longer shows."""
        names = names & set(self.shots)
        if names:
            for name in names:
                del self.shots[name]
            remove_files(self.root, names)
            self._save_manifest()


def _manifest(path: Path) -> dict | None:
    if not path.is_file() or path.is_symlink():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("written_by") == WRITTEN_BY else None


def _shot(entry: object) -> Shot | None:
    """A frame record of a manifest, if it is well formed and names a frame file."""
    if not isinstance(entry, dict):
        return None
    file, scenario, step = entry.get("file"), entry.get("scenario"), entry.get("step")
    match = FRAME_NAME.match(file) if isinstance(file, str) else None
    if match is None or match.group(1) != scenario or step != int(match.group(2)):
        return None
    return Shot(file, scenario, step)


# -- driving the app -------------------------------------------------------------------------


def draw_scenario(
    app, name: str, folder: GalleryFolder, stall_timeout: float, log: Log | None = None
) -> list[Shot]:
    """Save `app`'s frame at each of its scenario's gallery steps; `log` gets a line for each
    ball that a frame does not show where it is (see `hidden_balls`).

    The worker finishes first, so that the scrubber's range and a moving slice's surface are
    the same whatever the machine's speed: the frames do not depend on how far it had got.
    """
    _wait_until_finished(app, name, stall_timeout)
    shots = []
    for step in gallery_steps(app.scenario):
        rgb = _frame_at(app, name, step)
        shot = Shot(frame_name(name, step), name, step)
        folder.save_frame(shot, rgb)
        shots.append(shot)
        for problem in hidden_balls(app) if log else []:
            log(f"  {name} step {step}: {problem}")
    return shots


def hidden_balls(app, camera=None) -> list[str]:
    """Why a run's ball is not seen where it is in the frame on screen: off the drawn slice,
    outside the window, or under the control panel, the timeline or a HUD panel (title,
    legend, mini-map, subtitle). `camera` defaults to the one the frame was drawn with."""
    from sandbox.render.world import WorldTransform

    state, renderer = app.last_state, app.renderer
    camera = camera or renderer.camera
    if state is None or camera is None:
        return []
    width, height = app.window_size
    margin = BALL_MARGIN * height / 720
    panels = [(f"the HUD panel {_box_text(box)}", box) for box in renderer.hud_boxes]
    if app.show_panel:
        layout = app.layout()
        panels += [("the control panel", layout.controls), ("the timeline", layout.timeline)]
    world = WorldTransform.from_state(state)
    problems = []
    for trail in state.trails:
        if not len(trail.xy) or not np.isfinite(trail.loss[-1]):
            continue  # nothing yet, or diverged: drawn as a marker, not a ball
        uv = world.raw_uv(trail.xy[-1:])[0]
        if not ((0 <= uv) & (uv <= 1)).all():
            problems.append(f"{trail.name}: off the drawn slice (a ring at its edge)")
            continue
        x, y = camera.project(world.point(trail.xy[-1:], trail.loss[-1:]), (width, height))[0]
        if not (0 <= x < width and 0 <= y < height):
            problems.append(f"{trail.name}: outside the window ({x:.0f}, {y:.0f})")
        for label, (x0, y0, x1, y1) in panels:
            if x0 - margin < x < x1 + margin and y0 - margin < y < y1 + margin:
                problems.append(f"{trail.name}: under {label}, ball at ({x:.0f}, {y:.0f})")
    return problems


def _wait_until_finished(app, name: str, stall_timeout: float) -> None:
    """Let the app run until its worker has sent everything; GalleryError when the worker
    fails or computes no new step for `stall_timeout` seconds."""
    computed, since = app.model.available_step(), time.monotonic()
    while not app.model.finished:
        if app.model.failure:
            raise GalleryError(f"{name}: the worker failed: {app.model.failure}")
        if app.model.available_step() > computed:
            computed, since = app.model.available_step(), time.monotonic()
        elif time.monotonic() - since > stall_timeout:
            raise GalleryError(
                f"{name}: no new step for {stall_timeout:g} s (computed up to step "
                f"{max(computed, 0)} of {app.scenario.steps})"
            )
        app.frame()
        time.sleep(POLL_SECONDS)


def _frame_at(app, name: str, step: int) -> np.ndarray:
    """The window's pixels with playback paused at `step`."""
    from sandbox.app.commands import Command

    app.playback.paused = True
    app.command(Command.SCRUB, step)
    for _ in range(SETTLE_FRAMES):
        app.redraw()  # App.frame draws only when something changed
        app.frame()
    shown = app.last_state.step if app.last_state is not None else None
    if shown != step or app.playback.step != step:
        raise GalleryError(f"{name}: asked for step {step}, the window shows step {shown}")
    return app.renderer.read_rgb()


def make_gallery(
    out: Path,
    *,
    only: list[str] | None = None,
    size: tuple[int, int] = (1280, 720),
    lecture: bool = False,
    force: bool = False,
    stall_timeout: float = STALL_TIMEOUT,
    log: Log | None = None,
) -> tuple[list[Shot], list[str]]:
    """Draw the gallery into `out`; returns (the frames saved, one message per scenario that
    failed). Scenario files are all validated before any window opens."""
    from sandbox.scenario.load import load_scenario

    log = log or _stderr
    paths = select_scenarios(only)
    scenarios = [(path.stem, load_scenario(path)) for path in paths]
    # Frames are files: never a window on the desktop, which would be fitted to the display
    # (or made full screen in lecture mode) instead of the size asked for
    os.environ["SDL_VIDEODRIVER"] = "offscreen"
    shots, failures = [], []
    with GalleryFolder(out, force=force) as folder:
        for number, (name, scenario) in enumerate(scenarios, 1):
            started = time.monotonic()
            prefix = f"gallery [{number}/{len(scenarios)}] {name}"
            try:
                made = _draw_one(scenario, name, folder, size, lecture, stall_timeout, log)
            except GalleryError as error:
                failures.append(str(error))
                log(f"{prefix}: FAILED: {error}")
                continue
            shots += made
            old = {file for file, shot in folder.shots.items() if shot.scenario == name}
            folder.drop(old - {shot.file for shot in made})
            steps = ", ".join(str(shot.step) for shot in made)
            log(f"{prefix}: steps {steps} ({time.monotonic() - started:.1f} s)")
        if not only and not failures:  # a complete gallery: scenarios no longer bundled go
            drawn = {name for name, _ in scenarios}
            folder.drop({f for f, s in folder.shots.items() if s.scenario not in drawn})
        folder.save_index(contact_sheet(folder))
    log(f"gallery: {len(shots)} frames and {out / INDEX}")
    return shots, failures


def _draw_one(scenario, name, folder, size, lecture, stall_timeout, log) -> list[Shot]:
    from sandbox.app.window import App
    from sandbox.resources import find_scenario

    app = App(scenario, size, source=find_scenario(name), lecture_mode=lecture)
    try:
        return draw_scenario(app, name, folder, stall_timeout, log)
    finally:
        app.close()


def _box_text(box) -> str:
    x0, y0, x1, y1 = box
    return f"({x0:.0f}, {y0:.0f})-({x1:.0f}, {y1:.0f})"


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# -- the contact sheet -----------------------------------------------------------------------


def contact_sheet(folder: GalleryFolder) -> np.ndarray:
    """Every frame in the folder as a labelled thumbnail: one row per scenario, in step order."""
    from PIL import Image

    rows: dict[str, list[tuple[str, Image.Image]]] = {}
    for shot in sorted(folder.shots.values(), key=lambda s: (s.scenario, s.step)):
        with Image.open(folder.root / shot.file) as image:
            thumb = _thumbnail(image.convert("RGB"))
        rows.setdefault(shot.scenario, []).append((f"{shot.scenario}  step {shot.step}", thumb))
    return sheet(list(rows.values()))


def _thumbnail(image):
    from PIL import Image

    height = max(1, round(image.height * THUMB_WIDTH / image.width))
    return image.resize((THUMB_WIDTH, height), Image.Resampling.LANCZOS)


def sheet(rows: list[list[tuple[str, object]]]) -> np.ndarray:
    """(H, W, 3) uint8: rows of (label, PIL image) cells, each label above its image."""
    from PIL import Image, ImageDraw, ImageFont

    from sandbox.render.text import FONT_BOLD, font_path

    columns = max((len(row) for row in rows), default=1)
    cell_w = max((image.width for row in rows for _, image in row), default=THUMB_WIDTH)
    cell_h = max((image.height for row in rows for _, image in row), default=1) + LABEL_PX + 6
    width, height = PAD + columns * (cell_w + PAD), PAD + len(rows) * (cell_h + PAD)
    canvas = Image.new("RGB", (width, height), SHEET_BACKDROP)
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.truetype(str(font_path(FONT_BOLD)), LABEL_PX)
    for r, row in enumerate(rows):
        for c, (label, image) in enumerate(row):
            x, y = PAD + c * (cell_w + PAD), PAD + r * (cell_h + PAD)
            draw.text((x, y), label, fill=LABEL_COLOR, font=font)
            canvas.paste(image, (x, y + LABEL_PX + 6))
    return np.asarray(canvas)
