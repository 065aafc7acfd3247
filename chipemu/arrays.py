"""Array helpers shared by the emulator's layers."""

from __future__ import annotations

import numpy as np

__all__ = ["distinct"]


def distinct(values) -> np.ndarray:
    """The distinct values of a 1-D array, sorted: ``np.unique(values)``, by one sort.

    numpy 2.4's ``np.unique`` (without ``return_*`` options) finds distinct values with a
    hash table first, which is far slower than sorting on large arrays of many distinct
    keys: 21 s against 0.27 s of CPU for 15M random int64 keys on this project's machine
    (measured 2026-12-02, numpy 2.4.6).
    """
    ordered = np.sort(np.asarray(values).reshape(-1))
    if ordered.size == 0:
        return ordered
    keep = np.empty(ordered.size, dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]
