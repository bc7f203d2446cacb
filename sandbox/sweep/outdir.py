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
from pathlib import Path

from sandbox.errors import OutputError
from sandbox.trace.io import write_json_atomic
from sandbox.trace.outdir import (
    commit_staged,
    is_file_inside,
    lock_folder,
    refuse_foreign,
    remove_files,
    remove_stale_staging,
)

CACHE = "cache"
MANIFEST = "sweep.json"
SUMMARY = "summary.json"
TABLES = ("results.parquet", "results.csv")
STAGING_PREFIX = ".sweep-staging-"
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
        self._lock_fd = lock_folder(self.root, "sweep")

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
                refuse_foreign(self.root, name, "sweep", folder_ok=name == CACHE)
        remove_stale_staging(self.root, STAGING_PREFIX)
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
        self.ours = commit_staged(self.root, staging, self.ours, self._write_manifest, "sweep")

    def _remove(self, names: set[str]) -> None:
        remove_files(self.root, names)
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
    return {name for name in names if is_file_inside(root, name)}


def _legacy_outputs(root: Path) -> list[str]:
    """A sweep's outputs from before the manifest listed them: fixed names and the plots its
    summary.json names."""
    try:
        plots = json.loads((root / SUMMARY).read_text(encoding="utf-8"))["plots"]
    except (OSError, ValueError, KeyError, TypeError):
        plots = []
    plots = [p for p in plots if isinstance(p, str) and _LEGACY_PLOT.match(p)]
    return [SUMMARY, *TABLES, *plots]
