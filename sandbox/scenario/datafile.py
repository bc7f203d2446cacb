"""A scenario's own data: ``[landscape.data] file = "points.csv"`` (or ``.npz``), read as numbers.

Read once, when the scenario is validated; the arrays then travel inside the validated scenario
(`DataSpec.table`), so the background worker trains on exactly what `check` accepted even if the
file changes afterwards. Nothing in a file can run code: a CSV is parsed as numbers and an
``.npz`` is opened with ``allow_pickle=False``. Sizes are checked before anything is read, so a
huge file is refused at once. The conventions (docs/scenarios.md, "Your own data"):

- CSV: comma-separated, a header line of column names, one row per sample. The target is the
  column named ``label`` or ``y`` if there is one, else the last column; the others are inputs.
- NPZ: arrays ``x`` (n, d) and ``y`` (n,) or (n, m), numeric.
- The task: classification when the targets are whole numbers 0..k-1 (k >= 2, every class
  present), else regression; ``task = "classification" | "regression"`` says it explicitly.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

MAX_BYTES = 64 << 20  # the file, and each array of an .npz once decompressed
MAX_ROWS = 100_000  # = schema.LIMITS["data_n"], as for generated data
MAX_FEATURES = 1_024  # = schema.LIMITS["width"]: widths[0] must equal it, so more cannot be used
MIN_ROWS = 4  # as DataSpec.n
TARGET_NAMES = ("label", "y")  # a column with one of these names is the target
# Tables kept (each at most ~64 MiB), so that the app's edits, each re-validated, do not parse
# the file again (its bytes are read and hashed again: a changed file is a new table).
_CACHE_SIZE = 4


class DataFileError(ValueError):
    """A data file that cannot be used; the message says why (and where, for a CSV)."""


@dataclass(frozen=True, eq=False)
class Table:
    """A data file's arrays, validated. eq=False: two scenarios are equal if they hold the same
    table object (the cache gives the same one for an unchanged file), never by comparing
    arrays."""

    x: np.ndarray  # shape (n, d) float32
    y: np.ndarray  # shape (n,) int64 class labels, or (n, m) float32 regression targets
    task: str  # "classification" or "regression"
    n_classes: int  # 0 for regression
    sha256: str  # of the file's bytes, for the record

    @property
    def rows(self) -> int:
        return len(self.x)

    @property
    def input_dim(self) -> int:
        return self.x.shape[1]

    @property
    def target_dim(self) -> int:
        return 0 if self.n_classes else self.y.shape[1]


_cache: dict[tuple, Table] = {}


def absolutise(data: Any, folder: Path) -> None:
    """Make a relative ``landscape.data.file`` of raw scenario data absolute, from `folder` (the
    scenario file's). Done before validation, so that the validated scenario, and whatever the
    app saves from it elsewhere, names the same file."""
    land = data.get("landscape") if isinstance(data, dict) else None
    spec = land.get("data") if isinstance(land, dict) else None
    file = spec.get("file") if isinstance(spec, dict) else None
    if isinstance(file, str) and file and "\0" not in file and not os.path.isabs(file):
        spec["file"] = os.path.abspath(folder / file)


def read_table(path: str, task: str | None) -> Table:
    """The validated arrays of a .csv or .npz file; DataFileError says what is wrong."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".csv", ".npz"):
        raise DataFileError(f"{Path(path).name!r}: a data file must end in .csv or .npz")
    data = _read_bytes(path)
    digest = hashlib.sha256(data).hexdigest()
    key = (digest, suffix, task)  # the same bytes read the same way give the same table
    if key in _cache:
        return _cache[key]
    x, y, where = _parse_csv(data) if suffix == ".csv" else _parse_npz(data)
    table = _table(x, y, task, where, digest)
    if len(_cache) >= _CACHE_SIZE:
        _cache.pop(next(iter(_cache)))
    _cache[key] = table
    return table


def _read_bytes(path: str) -> bytes:
    # O_NONBLOCK: opening a FIFO would otherwise wait for a writer (as scenario files, load.py).
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except (OSError, ValueError) as exc:
        raise DataFileError(
            f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise DataFileError(f"{path} is a directory, not a data file")
        if not stat.S_ISREG(info.st_mode):
            raise DataFileError(f"{path} is not a regular file")
        if info.st_size > MAX_BYTES:  # before reading: a 10^8-row file is refused at once
            raise DataFileError(
                f"the file is {info.st_size / 2**20:,.1f} MiB; the limit is {MAX_BYTES >> 20} MiB"
            )
        with open(fd, "rb", closefd=False) as file:
            data = file.read(MAX_BYTES + 1)  # a file that grows is cut here
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise DataFileError(f"the file is larger than {MAX_BYTES >> 20} MiB, the limit")
    return data


class _Where:
    """How to name a sample and a column in messages: CSV rows and lines, or .npz indices."""

    def __init__(self, names: list[str] | None = None, lines: list[int] | None = None):
        self.names, self.lines = names, lines

    def cell(self, row: int, column: int, target: bool) -> str:
        """`column` counts in x, or in y's columns for a target (a CSV has one, named last)."""
        if self.lines is None:
            return f"{'y' if target else 'x'}[{row}, {column}]"
        name = self.names[-1] if target else self.names[column]
        return f"row {row + 1} (line {self.lines[row]}), column {name!r}"


def _parse_csv(data: bytes) -> tuple[np.ndarray, np.ndarray, _Where]:
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataFileError(f"line {line} is not UTF-8 text") from None
    numbered = [(i + 1, line) for i, line in enumerate(text.splitlines()) if line.strip()]
    if not numbered:
        raise DataFileError("the file is empty; it needs a header line and rows of numbers")
    names = [name.strip().strip('"').strip() for name in numbered[0][1].split(",")]
    _check_header(names)
    rows = numbered[1:]
    if len(rows) > MAX_ROWS:
        raise DataFileError(f"{len(rows):,} rows; the limit is {MAX_ROWS:,}")
    values = _fast_values([content for _, content in rows], len(names))
    if values is None:
        values = _checked_values(rows, names)
    target = next((names.index(n) for n in TARGET_NAMES if n in names), len(names) - 1)
    inputs = [c for c in range(len(names)) if c != target]
    where = _Where([names[c] for c in inputs] + [names[target]], [line for line, _ in rows])
    return values[:, inputs], values[:, target], where


def _fast_values(rows: list[str], width: int) -> np.ndarray | None:
    """numpy's C parser (measured 2.3 s against 4.8 s for float() a cell, on a 50 MiB file on
    the 2-core build machine); None when it fails, so that `_checked_values` finds the row and
    column to report."""
    if not rows:
        return None
    try:
        values = np.loadtxt(rows, delimiter=",", dtype=np.float64, ndmin=2, comments=None)
    except ValueError:
        return None
    return values if values.shape == (len(rows), width) else None


def _checked_values(rows: list[tuple[int, str]], names: list[str]) -> np.ndarray:
    """The rows parsed cell by cell, raising at the first ragged row or non-number."""
    values = np.empty((len(rows), len(names)), dtype=np.float64)
    for r, (line, content) in enumerate(rows):
        cells = content.split(",")
        if len(cells) != len(names):
            raise DataFileError(
                f"row {r + 1} (line {line}) has {len(cells)} columns, expected {len(names)} "
                "(as the header)"
            )
        try:
            values[r] = [float(cell) for cell in cells]
        except ValueError:
            c = next(c for c, cell in enumerate(cells) if not _is_number(cell))
            raise DataFileError(
                f"row {r + 1} (line {line}), column {names[c]!r}: "
                f"{cells[c].strip()[:40]!r} is not a number"
            ) from None
    return values


def _check_header(names: list[str]) -> None:
    if all(_is_number(name) for name in names):
        raise DataFileError(
            "line 1 must be a header of column names (e.g. x1,x2,label); it holds numbers"
        )
    if len(names) < 2:
        raise DataFileError("the header names one column; inputs and a target need two or more")
    if len(names) - 1 > MAX_FEATURES:  # before the rows are read into an array that wide
        raise DataFileError(
            f"the header names {len(names) - 1:,} input columns; the limit is {MAX_FEATURES:,}"
        )
    if not names[0]:
        raise DataFileError(
            "the first column has no name (pandas' row index? write with index=False)"
        )
    if sum(name in TARGET_NAMES for name in names) > 1:
        raise DataFileError("both 'label' and 'y' are columns; the target must be one of them")


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _parse_npz(data: bytes) -> tuple[np.ndarray, np.ndarray, _Where]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            sizes = {info.filename: info.file_size for info in archive.infolist()}
    except zipfile.BadZipFile:
        raise DataFileError("not an .npz archive (numpy.savez writes one)") from None
    missing = [name for name in ("x", "y") if f"{name}.npy" not in sizes]
    if missing:
        found = ", ".join(repr(n.removesuffix(".npy")) for n in sizes) or "none"
        raise DataFileError(
            f"the archive has no array {' or '.join(map(repr, missing))} (arrays: {found}); "
            "it needs x (inputs) and y (targets): numpy.savez(path, x=..., y=...)"
        )
    for name in ("x", "y"):
        if sizes[f"{name}.npy"] > MAX_BYTES:  # before decompressing: an .npz can be a zip bomb
            raise DataFileError(f"array {name!r} is over {MAX_BYTES >> 20} MiB uncompressed")
    arrays = {}
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        for name in ("x", "y"):
            try:
                arrays[name] = archive[name]
            except ValueError as exc:  # object arrays: refused by allow_pickle=False
                raise DataFileError(f"array {name!r} cannot be read as numbers: {exc}") from None
    return _numeric(arrays["x"], "x"), _numeric(arrays["y"], "y"), _Where()


def _numeric(array: np.ndarray, name: str) -> np.ndarray:
    if array.dtype.kind not in "biuf":
        raise DataFileError(f"array {name!r} has dtype {array.dtype}; it must hold numbers")
    if name == "x" and array.ndim != 2:
        raise DataFileError(f"array 'x' has shape {array.shape}; it must be (n, d)")
    if name == "y" and array.ndim not in (1, 2):
        raise DataFileError(f"array 'y' has shape {array.shape}; it must be (n,) or (n, m)")
    return array.astype(np.float64)


def _table(x: np.ndarray, y: np.ndarray, task: str | None, where: _Where, digest: str) -> Table:
    n, d = x.shape
    if len(y) != n:
        raise DataFileError(f"x has {n:,} rows but y has {len(y):,}; they must match")
    if n > MAX_ROWS:
        raise DataFileError(f"{n:,} rows; the limit is {MAX_ROWS:,}")
    if n < MIN_ROWS:
        raise DataFileError(f"{n} rows; at least {MIN_ROWS} are needed")
    if not 1 <= d <= MAX_FEATURES:
        raise DataFileError(f"{d:,} input columns; it needs 1 to {MAX_FEATURES:,}")
    for array, target in ((x, False), (y.reshape(n, -1), True)):
        bad = np.argwhere(~np.isfinite(array))
        if len(bad):
            row, column = bad[0]
            value = array[row, column]
            cell = where.cell(row, column, target)
            raise DataFileError(f"{cell}: {value} is not a finite number")
    y = y.reshape(n, -1)
    whole = y.shape[1] == 1 and bool(np.all(y == np.round(y)))
    if task == "regression" or (task is None and not whole):
        return Table(x.astype(np.float32), y.astype(np.float32), "regression", 0, digest)
    if y.shape[1] != 1:
        raise DataFileError(f"classification needs one label per row; y has shape {y.shape}")
    labels = y[:, 0]
    return Table(
        x.astype(np.float32),
        _labels(labels, whole, task),
        "classification",
        int(labels.max()) + 1,
        digest,
    )


def _labels(labels: np.ndarray, whole: bool, task: str | None) -> np.ndarray:
    """Class labels 0..k-1, every class present, at least two (the losses need them)."""
    hint = "" if task else ', or say task = "regression" if the target is a quantity'
    if not whole:
        raise DataFileError("classification needs whole-number labels 0..k-1")
    found = np.unique(labels)
    shown = ", ".join(f"{v:g}" for v in found[:6]) + (", ..." if len(found) > 6 else "")
    if len(found) < 2:
        raise DataFileError(
            f"every row has label {found[0]:g}: classification needs at least 2 classes{hint}"
        )
    if found[0] != 0 or found[-1] != len(found) - 1:
        raise DataFileError(
            f"labels must be 0..k-1 with every class present; found {shown} "
            f"(renumber them from 0{hint})"
        )
    return labels.astype(np.int64)


def checked_table(name: str | None, file: str | None, task: str | None) -> Table | None:
    """The `[landscape.data]` table's file read (None for a generated dataset): exactly one of
    `name` and `file`; a problem is a validation error at its key, so reported at its line."""
    if name is None and file is None:
        fail_at("name", "missing", "required key is missing")
    if file is not None and name is not None:
        fail_at("file", "data_file", "give name (a generated dataset) or file, not both")
    if file is None:
        return None
    try:
        return read_table(file, task)
    except DataFileError as exc:
        fail_at("file", "data_file", str(exc))


def fail_at(key: str, kind: str, reason: str) -> None:
    """A validation error at `key` of the model being validated (so it is reported at its
    line); the reason goes through the context, so braces in it are not a template."""
    error = PydanticCustomError(kind, "{reason}", {"reason": reason})
    raise ValidationError.from_exception_data(
        "data", [InitErrorDetails(type=error, loc=(key,), input={})]
    )
