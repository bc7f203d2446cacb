"""A sweep's output directory, where nothing but a sweep's own files is ever removed or replaced.

DIR/sweep.json, the manifest, names the sweep that DIR holds (for resuming) and lists the output
files a sweep wrote there ("outputs"). Only those, the cache's entries (`cache/<task key>.json`)
and the manifest itself are ever replaced or removed. The outputs are written into a staging
folder inside DIR (`.sweep-staging-*`) and moved into place at the end, summary.json last: a
failed or interrupted sweep leaves the previous outputs as they were, and removes only its
staging folder. A file that no sweep wrote, standing where an output must go, stops the sweep
with an error naming it before anything is moved; its finished tasks stay cached.

While a sweep runs it holds an advisory lock on DIR itself (flock on a descriptor of the
folder: no lock file to leave behind, and the system drops it when the process dies), so a
second sweep into the same DIR is refused instead of interleaving its files. Without fcntl
(Windows) there is no lock; that platform is untested.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from sandbox.errors import OutputError
from sandbox.trace.io import write_json_atomic

CACHE = "cache"
MANIFEST = "sweep.json"
SUMMARY = "summary.json"
TABLES = ("results.parquet", "results.csv")
STAGING_PREFIX = ".sweep-staging-"
_STAGING = re.compile(re.escape(STAGING_PREFIX) + r"[A-Za-z0-9_]+$")
CACHE_ENTRY = re.compile(r"^[0-9a-f]{32}\.json$")  # a task key (spec.task_key) + .json
_LEGACY_PLOT = re.compile(r"^plots/[^/]+\.png$")


class SweepDir:
    """`with SweepDir(DIR, sweep, force=..., fresh=...) as folder:` DIR checked, locked and
    prepared (refused if it holds something else, unless forced); `folder.staging()` and
    `folder.commit(staging)` put the outputs in place. Leaving the block releases the lock."""

    def __init__(self, root: str | Path, sweep, *, force: bool = False, fresh: bool = False):
        self.root = Path(root)
        self.sweep, self.force, self.fresh = sweep, force, fresh
        self.ours: set[str] = set()  # output files a sweep wrote here (relative names)
        self._lock_fd: int | None = None

    @property
    def cache(self) -> Path:
        return self.root / CACHE

    def __enter__(self) -> SweepDir:
        try:
            self._create()
            self._lock()
            self._prepare()
        except OSError as exc:
            self._unlock()
            raise OutputError(f"cannot use --out {self.root}: {exc.strerror or exc}") from None
        except BaseException:
            self._unlock()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self._unlock()

    # -- entering ----------------------------------------------------------------------------

    def _create(self) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise OutputError(f"--out {self.root} exists and is not a directory")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create --out {self.root}: {exc.strerror or exc}") from None

    def _lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # Windows: no lock (untested there)
            return
        self._lock_fd = os.open(self.root, os.O_RDONLY)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputError(
                f"another sweep is writing into --out {self.root}; wait for it to finish or "
                "choose another folder"
            ) from None

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # also drops the lock
            self._lock_fd = None

    def _prepare(self) -> None:
        """Refuse a DIR that holds something else unless forced; make it this sweep's DIR.

        Forced, the previous sweep's outputs are removed; the cache stays, because its entries
        are keyed by content and code version and cannot be stale (`fresh` clears it too).
        """
        manifest = _read_manifest(self.root / MANIFEST)
        same = manifest is not None and manifest["sweep_id"] == self.sweep.sweep_id
        if any(self.root.iterdir()) and not (same or self.force):
            raise OutputError(
                f"--out {self.root} is not empty and holds no earlier run of this sweep "
                "(use --force to replace a sweep's outputs; other files are kept)"
            )
        self.ours = _outputs(self.root, manifest)
        for name in (MANIFEST, CACHE, SUMMARY, *TABLES):  # before anything is changed
            if manifest is None or name not in (MANIFEST, *self.ours):
                self._refuse_foreign(name, folder=name == CACHE)
        self._remove_stale_staging()
        # The old summary goes first: an interrupted sweep must not look complete.
        self._remove({SUMMARY} & self.ours)
        if not same:
            self._remove(set(self.ours))
        if self.fresh:
            for entry in self.cache.iterdir() if self.cache.is_dir() else ():
                if CACHE_ENTRY.match(entry.name) and entry.is_file() and not entry.is_symlink():
                    entry.unlink()
        self.cache.mkdir(exist_ok=True)
        self._write_manifest(self.ours)

    def _remove_stale_staging(self) -> None:
        """Staging folders left by a killed sweep (the lock says none is running now)."""
        for entry in self.root.iterdir():
            if _STAGING.match(entry.name) and entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)

    # -- writing the outputs -----------------------------------------------------------------

    @contextlib.contextmanager
    def staging(self) -> Iterator[Path]:
        """A new folder inside DIR to write the outputs into; removed when the block ends
        (after `commit` it is empty)."""
        path = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.root))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def commit(self, staging: Path) -> None:
        """Replace the previous outputs with the staged ones, summary.json last."""
        new = {
            p.relative_to(staging).as_posix()
            for p in staging.rglob("*")
            if p.is_file() and not p.is_symlink()
        }
        for name in sorted(new - self.ours):
            self._refuse_foreign(name)
        old = self.ours
        self._write_manifest(old | new)  # every file of ours stays listed until the end
        self._remove(old - new - {SUMMARY})
        for name in sorted(new - {SUMMARY}):
            target = self.root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / name, target)
        self._write_manifest(new)
        if SUMMARY in new:
            os.replace(staging / SUMMARY, self.root / SUMMARY)
        self.ours = new

    def _refuse_foreign(self, name: str, folder: bool = False) -> None:
        """Stop if something no sweep wrote stands where `name` goes (or on the way to it)."""
        for parent in reversed(PurePosixPath(name).parents[:-1]):  # plots/ for plots/x.png
            path = self.root / parent
            if path.is_symlink() or (path.exists() and not path.is_dir()):
                self._in_the_way(path, name)
        target = self.root / name
        if target.is_symlink() or (target.exists() and not (folder and target.is_dir())):
            self._in_the_way(target, name)

    def _in_the_way(self, path: Path, name: str) -> None:
        raise OutputError(
            f"{path} is in the way of this sweep's {name} and no sweep wrote it; move it away "
            "or choose another --out"
        )

    def _remove(self, names: set[str]) -> None:
        """Remove output files of ours, then the folders (plots/) they leave empty."""
        for name in sorted(names):
            (self.root / name).unlink(missing_ok=True)
        folders = {parent for name in names for parent in PurePosixPath(name).parents[:-1]}
        for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):
            with contextlib.suppress(OSError):  # not empty: something else lives there
                (self.root / folder).rmdir()
        self.ours -= names

    def _write_manifest(self, outputs: set[str]) -> None:
        from sandbox.sweep.task import code_version

        manifest = {
            "sweep_id": self.sweep.sweep_id,
            "title": self.sweep.title,
            "file": self.sweep.source,
            "code": code_version(),
            "outputs": sorted(outputs),
        }
        write_json_atomic(self.root / MANIFEST, manifest)


def _read_manifest(path: Path) -> dict | None:
    if path.is_symlink() or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = isinstance(data, dict) and isinstance(data.get("sweep_id"), str)
    return data if ok else None


def _outputs(root: Path, manifest: dict | None) -> set[str]:
    """The output files a sweep wrote in DIR that are still there, as regular files."""
    if manifest is None:
        return set()
    names = manifest.get("outputs")
    if not isinstance(names, list):  # written before manifests listed outputs
        names = _legacy_outputs(root)
    return {name for name in names if _is_file_inside(root, name)}


def _legacy_outputs(root: Path) -> list[str]:
    """A sweep's outputs from before the manifest listed them: fixed names and the plots its
    summary.json names."""
    try:
        plots = json.loads((root / SUMMARY).read_text(encoding="utf-8"))["plots"]
    except (OSError, ValueError, KeyError, TypeError):
        plots = []
    plots = [p for p in plots if isinstance(p, str) and _LEGACY_PLOT.match(p)]
    return [SUMMARY, *TABLES, *plots]


def _is_file_inside(root: Path, name: object) -> bool:
    """Whether `name` is a relative name of a regular file inside `root`, reached through real
    folders only (a link on the way could point at anyone's files)."""
    if not isinstance(name, str) or not name or "\\" in name or "\0" in name:
        return False
    parts = PurePosixPath(name).parts
    if PurePosixPath(name).is_absolute() or any(p in ("", ".", "..") for p in parts):
        return False
    path = root
    for part in parts[:-1]:
        path = path / part
        if path.is_symlink() or not path.is_dir():
            return False
    path = path / parts[-1]
    return path.is_file() and not path.is_symlink()
