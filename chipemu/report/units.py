"""SI prefixes for the numbers people read (reports, summaries, explore pages)."""

from __future__ import annotations

import math

#: (scale, prefix), largest first
PREFIXES = ((1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f"))


def si_scale(x: float) -> tuple[float, str]:
    """``(scale, prefix)`` so that ``x / scale`` is in [1, 1000) (no prefix for 0)."""
    x = abs(float(x))
    for scale, prefix in PREFIXES:
        if x >= scale:
            return scale, prefix
    return PREFIXES[-1] if x > 0 else PREFIXES[0]


def fmt_si(x: float | None, unit: str, digits: int = 3) -> str:
    """``1.23e-6, "J"`` -> ``"1.23 µJ"``; None or a non-finite value -> ``"n/a"``."""
    if x is None or not math.isfinite(x):
        return "n/a"
    if x == 0:
        return f"0 {unit}"
    scale, prefix = si_scale(x)
    return f"{x / scale:.{digits}g} {prefix}{unit}"
