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
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from sandbox.errors import OutputError
from sandbox.trace.io import PART_SUFFIX, write_json_atomic

SUMMARY = "summary.json"
MANIFEST = ".sandbox-outputs.json"
STAGING_PREFIX = ".sandbox-staging-"

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
        self._lock_fd = lock_folder(self.root, "replay")

    def _check_contents(self) -> set[str]:
        """The previous replay's own files in DIR; refuses a non-empty DIR unless forced."""
        entries = list(self.root.iterdir())
        if entries and not self.force:
            raise OutputError(
                f"--out {self.root} exists and is not empty (use --force to replace an earlier "
                "replay's outputs; other files are kept)"
            )
        remove_stale_staging(self.root, STAGING_PREFIX)
        return self._previous_outputs()

    def _previous_outputs(self) -> set[str]:
        names = _read_manifest(self.root / MANIFEST)
        if names is None:
            names = _legacy_outputs(self.root)
        return {name for name in names if is_file_inside(self.root, name)}

    # -- committing --------------------------------------------------------------------------

    def commit(self) -> None:
        """Replace the previous replay's files with the staged ones; summary.json last."""
        if not (self.staging / SUMMARY).is_file():
            raise RuntimeError("a replay commits its summary.json")  # a bug, not bad input
        commit_staged(
            self.root,
            self.staging,
            self._previous,
            lambda names: _write_manifest(self.root, names),
            "replay",
        )
        self._committed = True

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


# -- what replays and sweeps share -----------------------------------------------------------


def lock_folder(root: Path, who: str) -> int | None:
    """An advisory lock on the folder itself, held until the returned descriptor is closed (no
    lock file to leave behind; the system drops it when the process dies, so a killed run
    never blocks the next one). None where there is no fcntl (Windows: untested there)."""
    try:
        import fcntl
    except ImportError:
        return None
    fd = os.open(root, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise OutputError(
            f"another {who} is writing into --out {root}; wait for it to finish or choose "
            "another folder"
        ) from None
    return fd


def remove_stale_staging(root: Path, prefix: str) -> None:
    """Staging folders a killed run left behind (call with the lock held: none is running)."""
    pattern = re.compile(re.escape(prefix) + r"[A-Za-z0-9_]+$")
    for entry in root.iterdir():
        if pattern.match(entry.name) and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)


def refuse_foreign(root: Path, name: str, who: str, folder_ok: bool = False) -> None:
    """Stop if something no run of ours wrote stands where `name` goes, or on the way to it (a
    file or a link where a folder must be): it is the user's, and stays as it is."""
    for parent in [*reversed(PurePosixPath(name).parents[:-1]), None]:
        path = root / name if parent is None else root / parent
        may_be_folder = parent is not None or folder_ok
        if path.is_symlink() or (path.exists() and not (may_be_folder and path.is_dir())):
            raise OutputError(
                f"{path} is in the way of this {who}'s {name} and no {who} wrote it; move it "
                "away or choose another --out"
            )


def commit_staged(
    root: Path,
    staging: Path,
    previous: set[str],
    write_manifest: Callable[[set[str]], None],
    who: str,
) -> set[str]:
    """Move the files staged in `staging` into `root` in place of `previous` (the earlier
    run's own files); returns the new set. Nothing changes before every foreign file in the
    way is ruled out; the manifest lists every file of ours at every moment; summary.json is
    removed first and moved in last, so a commit cut short never looks complete."""
    new = files_under(staging)
    for name in sorted(new - previous):
        refuse_foreign(root, name, who)
    if SUMMARY in previous:
        (root / SUMMARY).unlink(missing_ok=True)
    write_manifest(previous | new)
    remove_files(root, previous - new - {SUMMARY})
    for name in sorted(new - {SUMMARY}):
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / name, target)
    write_manifest(new)
    if SUMMARY in new:
        os.replace(staging / SUMMARY, root / SUMMARY)
    return new


def remove_files(root: Path, names: set[str]) -> None:
    """Remove our files, then the folders (frames/, plots/) they leave empty."""
    for name in sorted(names):
        (root / name).unlink(missing_ok=True)
    folders = {parent for name in names for parent in PurePosixPath(name).parents[:-1]}
    for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):
        try:
            (root / folder).rmdir()
        except OSError:
            pass  # not empty: something else lives there


def files_under(folder: Path) -> set[str]:
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
