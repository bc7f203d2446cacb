"""The gallery's output folder: locked while in use, with a manifest of every file of ours.

OUT is treated like a replay's folder: ``OUT/.sandbox-gallery.json`` lists every file of ours at
every moment, a non-empty OUT without it is refused unless ``--force``, and a file no gallery
wrote is never removed or overwritten. Each PNG is written under a temporary name and renamed.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sandbox.errors import OutputError
from sandbox.trace.io import write_json_atomic
from sandbox.trace.outdir import is_file_inside, lock_folder, refuse_foreign, remove_files

MANIFEST = ".sandbox-gallery.json"
WRITTEN_BY = "sandbox gallery"
INDEX = "index.png"
FRAME_NAME = re.compile(r"([A-Za-z0-9_.-]+)/step(\d{6})\.png$")


@dataclass(frozen=True)
class Shot:
    """One saved frame: `file` (relative to OUT) shows `scenario` at `step`."""

    file: str
    scenario: str
    step: int


def frame_name(scenario: str, step: int) -> str:
    return f"{scenario}/step{step:06d}.png"


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
