"""The drawn surface as a VTK structured grid (`surface.vts`), the format ParaView opens.

VTK's XML StructuredGrid with inline base64 binary arrays (little-endian float64, each preceded
by its byte count as UInt32, VTK's default header), written by hand: the format is small and
stable, and this keeps the vtk package (hundreds of MB) out of the install.

Points are (x, y, loss) in the plane's coordinates, x fastest, so the grid is the surface the
view draws; its point data `loss` is the height field itself, NaN and ±inf included (where a
point's own height is not finite, it is drawn at the highest finite loss, as the view does).
"""

from __future__ import annotations

import base64
import struct
from pathlib import Path

import numpy as np

from sandbox.trace.io import atomic_path


def _binary(values: np.ndarray) -> str:
    raw = np.ascontiguousarray(values, dtype="<f8").tobytes()
    return base64.b64encode(struct.pack("<I", len(raw)) + raw).decode("ascii")


def vts_text(x: np.ndarray, y: np.ndarray, loss: np.ndarray) -> str:
    """The StructuredGrid document of `loss` (len(y) × len(x)) over the axes `x` and `y`."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    loss = np.asarray(loss, np.float64).reshape(len(y), len(x))
    finite = loss[np.isfinite(loss)]
    top = float(finite.max()) if finite.size else 0.0
    gx, gy = np.meshgrid(x, y)  # row i is y[i]: x varies fastest, as VTK's points do
    points = np.column_stack(
        [gx.ravel(), gy.ravel(), np.where(np.isfinite(loss), loss, top).ravel()]
    )
    extent = f"0 {len(x) - 1} 0 {len(y) - 1} 0 0"
    return (
        '<?xml version="1.0"?>\n'
        '<VTKFile type="StructuredGrid" version="1.0" byte_order="LittleEndian" '
        'header_type="UInt32">\n'
        f'  <StructuredGrid WholeExtent="{extent}">\n'
        f'    <Piece Extent="{extent}">\n'
        '      <PointData Scalars="loss">\n'
        '        <DataArray type="Float64" Name="loss" format="binary">\n'
        f"          {_binary(loss.ravel())}\n"
        "        </DataArray>\n"
        "      </PointData>\n"
        "      <Points>\n"
        '        <DataArray type="Float64" NumberOfComponents="3" format="binary">\n'
        f"          {_binary(points.ravel())}\n"
        "        </DataArray>\n"
        "      </Points>\n"
        "    </Piece>\n"
        "  </StructuredGrid>\n"
        "</VTKFile>\n"
    )


def write_vts(path: Path, x: np.ndarray, y: np.ndarray, loss: np.ndarray) -> Path:
    """Write the grid to `path` atomically."""
    with atomic_path(Path(path)) as tmp:
        Path(tmp).write_text(vts_text(x, y, loss), encoding="ascii")
    return Path(path)
