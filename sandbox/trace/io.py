"""Writers for replay outputs: streamed CSVs and an atomically written summary.json.

CSV rows go straight to disk (bounded memory for 10⁶-step runs) into `<name>.csv.part`, renamed
when the run ends. summary.json is written last via a temporary file and `os.replace`, so an
interrupted replay never leaves a complete-looking output behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import IO

from sandbox.trace.records import Step

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
            open(str(p) + PART_SUFFIX, "w", encoding="utf-8", newline="") for p in self.paths
        ]
        self.files[0].write(",".join(CSV_HEADER) + "\n")
        self.layers_written = False

    def write(self, s: Step) -> None:
        # format_number inlined: this runs once per step of 10⁶-step replays.
        sharpness = "" if s.sharpness is None else repr(float(s.sharpness))
        self.files[0].write(
            f"{s.step},{float(s.loss)!r},{float(s.x)!r},{float(s.y)!r},"
            f"{float(s.grad_norm)!r},{float(s.lr)!r},{sharpness}\n"
        )
        if len(self.files) > 1:
            self._write_network(s)

    def _write_network(self, s: Step) -> None:
        layers = s.layer_grad_norms or ()
        if not self.layers_written:
            columns = ["step", "offplane", "weight_norm"] + [
                f"grad_norm_layer{i}" for i in range(len(layers))
            ]
            self.files[1].write(",".join(columns) + "\n")
            self.layers_written = True
        numbers = (s.offplane, s.weight_norm, *layers)
        self.files[1].write(f"{s.step}," + ",".join(map(format_number, numbers)) + "\n")

    def close(self, complete: bool) -> None:
        """Close the files; keep them under their final names only if the run completed."""
        for f, path in zip(self.files, self.paths, strict=True):
            f.close()
            part = Path(str(path) + PART_SUFFIX)
            if complete:
                os.replace(part, path)
            else:
                part.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json_atomic(path: Path, data: dict) -> None:
    """Write JSON so that `path` is either absent/old or complete, never half-written."""
    text = json.dumps(data, indent=2, sort_keys=False) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give it a normal file's mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
