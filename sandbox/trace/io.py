"""Writers for replay outputs: streamed CSVs and atomically written files.

CSV rows go straight to disk (bounded memory for 10⁶-step runs) into `<name>.csv.part`, renamed
when the run ends. Every other file is written through `atomic_path`: a temporary file of its own
beside the target, renamed into place when complete and removed when not, so an interrupted
write never leaves a half file and never touches another file of the same folder.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from sandbox.trace.records import HESSIAN_PROBES, Step

CSV_HEADER = ("step", "loss", "x", "y", "grad_norm", "lr", "sharpness")
PART_SUFFIX = ".part"


def format_number(value: float | None) -> str:
    """Shortest round-trip text of a float (deterministic); empty for None."""
    return "" if value is None else repr(float(value))


class RunWriter:
    """Streams one run's steps to runs/<name>.csv (and, for networks, runs/<name>_network.csv)."""

    def __init__(self, runs_dir: Path, safe_name: str, network: bool):
        self.paths = [runs_dir / f"{safe_name}.csv"]
        if network:
            self.paths.append(runs_dir / f"{safe_name}_network.csv")
        self.files: list[IO[str]] = [
            open(str(p) + PART_SUFFIX, "x", encoding="utf-8", newline="") for p in self.paths
        ]
        self.files[0].write(",".join(CSV_HEADER) + "\n")
        self.layers_written = False
        self.probe_widths: tuple[tuple[str, int], ...] = ()

    def write(self, s: Step) -> None:
        # format_number inlined: this runs once per step of 10⁶-step replays.
        sharpness = "" if s.sharpness is None else repr(float(s.sharpness))
        try:
            self.files[0].write(
                f"{s.step},{float(s.loss)!r},{float(s.x)!r},{float(s.y)!r},"
                f"{float(s.grad_norm)!r},{float(s.lr)!r},{sharpness}\n"
            )
            if len(self.files) > 1:
                self._write_network(s)
        except OSError as exc:  # a full disk: say which file could not be written
            raise _naming(exc, self.paths[0]) from None

    def _write_network(self, s: Step) -> None:
        layers = s.layer_grad_norms or ()
        if not self.layers_written:
            # The probes the scenario's plots asked for, as at step 0: `margin`, or `signal0`,
            # `signal1`, ... for a probe of several values; empty on steps without them.
            self.probe_widths = tuple(
                (name, len(values)) for name, values in s.probes if name not in HESSIAN_PROBES
            )
            columns = ["step", "offplane", "weight_norm"] + [
                f"grad_norm_layer{i}" for i in range(len(layers))
            ]
            columns += [
                name if width == 1 else f"{name}{i}"
                for name, width in self.probe_widths
                for i in range(width)
            ]
            self.files[1].write(",".join(columns) + "\n")
            self.layers_written = True
        numbers = (s.offplane, s.weight_norm, *layers)
        if self.probe_widths:
            probes = dict(s.probes)
            for name, width in self.probe_widths:
                numbers += (*probes.get(name, ()), *(None,) * width)[:width]
        self.files[1].write(f"{s.step}," + ",".join(map(format_number, numbers)) + "\n")

    def close(self, complete: bool) -> None:
        """Close the files; keep them under their final names only if the run completed."""
        for f, path in zip(self.files, self.paths, strict=True):
            try:
                f.close()
            except OSError as exc:
                if complete:
                    raise _naming(exc, path) from None
            part = Path(str(path) + PART_SUFFIX)
            if complete:
                os.replace(part, path)
            else:
                part.unlink(missing_ok=True)


def _naming(exc: OSError, path: Path) -> OSError:
    """`exc` with the file it was about (a failed write() or close() does not say)."""
    return exc if exc.filename else OSError(exc.errno, exc.strerror, str(path))


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path to write `path` through: renamed to `path` when the block succeeds,
    removed when it fails. The name is new (mkstemp), so no other file is ever touched."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=PART_SUFFIX)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give it a normal file's mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json_atomic(path: Path, data: dict) -> None:
    """Write JSON so that `path` is either absent/old or complete, never half-written."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def write_text_atomic(path: Path, text: str) -> None:
    """Write a text file so that `path` is either absent/old or complete, never half-written."""
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
