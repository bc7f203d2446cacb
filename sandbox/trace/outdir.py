"""A replay's output folder, where nothing but a replay's own files is ever removed or replaced.

A replay writes everything into a staging folder that it creates inside DIR
(`.sandbox-staging-*`), then commits: the previous replay's own files (listed in DIR's manifest,
`.sandbox-outputs.json`) are removed, the new ones moved in, the manifest updated, and
`summary.json`, the completion marker, moved in last. Before the commit, whatever happens
(refusal, failure, Ctrl-C, SIGTERM) removes only the staging folder, and DIR itself if the replay
created it and it is still empty. A lock on DIR refuses a second replay into it while one runs.

A file that no replay wrote is never removed or overwritten: one that stands where an output must
go stops the replay with an error naming it, before anything is changed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path, PurePosixPath

from sandbox.errors import OutputError
from sandbox.trace.io import PART_SUFFIX, write_json_atomic

SUMMARY = "summary.json"
MANIFEST = ".sandbox-outputs.json"
STAGING_PREFIX = ".sandbox-staging-"
_STAGING = re.compile(re.escape(STAGING_PREFIX) + r"[A-Za-z0-9_]+$")

# What replays wrote before the manifest existed (recognised once, from their summary.json).
_LEGACY_FILES = (
    "summary.json",
    "surface.npz",
    "connect.csv",
    "loss.png",
    "sharpness.png",
    "layer_grads.png",
)
_LEGACY_FRAME = re.compile(r"frames/frame_\d{5}\.png$")


class OutputFolder:
    """`with OutputFolder(DIR, force=...) as folder:` write into `folder.staging`, then
    `folder.commit()`; leaving the block without a commit leaves DIR as it was."""

    def __init__(self, root: str | Path, *, force: bool = False):
        self.root = Path(root)
        self.force = force
        self.staging: Path = self.root  # set on entry
        self._created: list[Path] = []  # folders this replay made, outermost first
        self._lock_fd: int | None = None
        self._previous: set[str] = set()
        self._committed = False

    def __enter__(self) -> OutputFolder:
        try:
            self._create_root()
            self._lock()
            self._previous = self._check_contents()
            self.staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.root))
        except OSError as exc:
            self._release()
            raise OutputError(f"cannot use --out {self.root}: {exc.strerror or exc}") from None
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self._release()

    # -- entering ----------------------------------------------------------------------------

    def _create_root(self) -> None:
        if self.root.is_symlink() and not self.root.is_dir():
            raise OutputError(f"--out {self.root} is a broken link")
        if self.root.exists() and not self.root.is_dir():
            raise OutputError(f"--out {self.root} exists and is not a directory")
        missing = []
        folder = self.root
        while not folder.exists() and folder != folder.parent:
            missing.append(folder)
            folder = folder.parent
        for folder in reversed(missing):
            try:
                folder.mkdir()
            except OSError as exc:
                raise OutputError(
                    f"cannot create --out {self.root}: {exc.strerror or exc}"
                ) from None
            self._created.append(folder)

    def _lock(self) -> None:
        """An advisory lock on DIR itself (no lock file to leave behind); the system drops it
        when the process dies, so a killed replay never blocks the next one."""
        try:
            import fcntl
        except ImportError:  # Windows: no lock (untested there)
            return
        self._lock_fd = os.open(self.root, os.O_RDONLY)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputError(
                f"another replay is writing into --out {self.root}; wait for it to finish or "
                "choose another folder"
            ) from None

    def _check_contents(self) -> set[str]:
        """The previous replay's own files in DIR; refuses a non-empty DIR unless forced."""
        entries = list(self.root.iterdir())
        if entries and not self.force:
            raise OutputError(
                f"--out {self.root} exists and is not empty (use --force to replace an earlier "
                "replay's outputs; other files are kept)"
            )
        for entry in entries:  # left by a killed replay (the lock says none is running)
            if _STAGING.match(entry.name) and entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
        return self._previous_outputs()

    def _previous_outputs(self) -> set[str]:
        names = _read_manifest(self.root / MANIFEST)
        if names is None:
            names = _legacy_outputs(self.root)
        return {name for name in names if is_file_inside(self.root, name)}

    # -- committing --------------------------------------------------------------------------

    def commit(self) -> None:
        """Replace the previous replay's files with the staged ones; summary.json last."""
        new = _files_under(self.staging)
        if SUMMARY not in new:
            raise RuntimeError("a replay commits its summary.json")  # a bug, not bad input
        for name in sorted(new - self._previous):
            self._refuse_foreign(name)
        previous = self._previous
        if SUMMARY in previous:  # first: a commit cut short must not look complete
            (self.root / SUMMARY).unlink(missing_ok=True)
        _write_manifest(self.root, previous | new)  # covers every file of ours until the end
        for name in sorted(previous - new - {SUMMARY}):
            (self.root / name).unlink(missing_ok=True)
        for name in sorted(new - {SUMMARY}):
            target = self.root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.staging / name, target)
        _write_manifest(self.root, new)
        os.replace(self.staging / SUMMARY, self.root / SUMMARY)
        self._committed = True
        _remove_emptied_folders(self.root, previous - new)

    def _refuse_foreign(self, name: str) -> None:
        target = self.root / name
        for folder in [*reversed(PurePosixPath(name).parents[:-1]), None]:
            path = target if folder is None else self.root / folder
            in_the_way = path.is_symlink() or (
                path.exists() and (folder is None or not path.is_dir())
            )
            if in_the_way:
                raise OutputError(
                    f"{path} is in the way of this replay's {name} and no replay wrote it; "
                    "move it away or choose another --out"
                )

    def final_name(self, path: str | Path) -> Path:
        """Where a staged file ends up (for messages): DIR/runs/gd.csv for a staged .part."""
        try:
            relative = Path(path).relative_to(self.staging)
        except ValueError:
            return Path(path)
        return self.root / str(relative).removesuffix(PART_SUFFIX)

    # -- leaving -----------------------------------------------------------------------------

    def _release(self) -> None:
        if self.staging != self.root:
            shutil.rmtree(self.staging, ignore_errors=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # also drops the lock
            self._lock_fd = None
        if not self._committed:
            for folder in reversed(self._created):  # only while still empty
                try:
                    folder.rmdir()
                except OSError:
                    break


def _files_under(folder: Path) -> set[str]:
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and not p.is_symlink()
    }


def safe_relative_name(name: object) -> bool:
    """A relative path of plain names (no '..', no absolute path, no drive)."""
    if not isinstance(name, str) or not name or "\\" in name or "\0" in name:
        return False
    path = PurePosixPath(name)
    return not path.is_absolute() and all(part not in ("", ".", "..") for part in path.parts)


def is_file_inside(root: Path, name: str) -> bool:
    """Whether `name` is a regular file inside `root`, reached through real folders only (a link
    on the way could point at anyone's files)."""
    if not safe_relative_name(name):
        return False
    path = root
    for part in PurePosixPath(name).parts[:-1]:
        path = path / part
        if path.is_symlink() or not path.is_dir():
            return False
    path = path / PurePosixPath(name).name
    return path.is_file() and not path.is_symlink()


def _read_manifest(path: Path) -> list[str] | None:
    if not path.is_file() or path.is_symlink():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        names = data["outputs"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else None


def _write_manifest(root: Path, names: set[str]) -> None:
    write_json_atomic(root / MANIFEST, {"written_by": "sandbox replay", "outputs": sorted(names)})


def _legacy_outputs(root: Path) -> set[str]:
    """The files of a replay made before manifests: named in its summary.json, or fixed names."""
    summary = root / SUMMARY
    try:
        data = json.loads(summary.read_text(encoding="utf-8"))
        runs = data["runs"]
        files = [run["file"] for run in runs]
    except (OSError, ValueError, KeyError, TypeError):
        return set()  # no replay's summary: nothing here is known to be ours
    names = set(_LEGACY_FILES)
    for file in files:
        if isinstance(file, str) and file.startswith("runs/") and file.endswith(".csv"):
            names |= {file, file.removesuffix(".csv") + "_network.csv"}
    frames = root / "frames"
    if frames.is_dir() and not frames.is_symlink():
        names |= {
            f"frames/{p.name}" for p in frames.iterdir() if _LEGACY_FRAME.match(f"frames/{p.name}")
        }
    return names


def _remove_emptied_folders(root: Path, removed: set[str]) -> None:
    """Folders (e.g. frames/) that only held the previous replay's files go with them."""
    folders = {parent for name in removed for parent in PurePosixPath(name).parents[:-1]}
    for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):
        try:
            (root / folder).rmdir()
        except OSError:
            pass  # not empty: something else lives there
