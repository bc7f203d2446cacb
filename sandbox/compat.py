"""Differences between the Python versions the package supports (3.10 to 3.13), in one place.

`tomllib` is the standard library's TOML reader from Python 3.11; on 3.10 the same parser is the
`tomli` package (tomllib is tomli, vendored), installed there by the package's dependencies.
"""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["tomllib"]
