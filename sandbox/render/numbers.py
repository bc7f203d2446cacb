"""Numbers for people: what every legend, label and tooltip prints.

Three significant digits (a student compares 0.131 and 0.0267, not 0.1313 and 0.02667), plain
decimals from 0.001 to 99,999 and short scientific notation outside (1.43e-4, 5.77e17), and a
floor: a positive value below 1e-12 is float noise at the bottom of a minimum, printed as
"< 1e-12" rather than as 1.917e-46.
"""

from __future__ import annotations

import math

FLOOR = 1e-12
DIGITS = 3


def human(value: float) -> str:
    """`value` for a person to read (see the module docstring)."""
    value = float(value)
    if not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if value == 0:
        return "0"
    if abs(value) < FLOOR:
        return "< 1e-12" if value > 0 else "≈ 0"
    if 1e-3 <= abs(value) < 1e5:
        decimals = max(0, DIGITS - 1 - math.floor(math.log10(abs(value))))
        text = f"{value:.{decimals}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    mantissa, exponent = f"{value:.{DIGITS - 1}e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"
