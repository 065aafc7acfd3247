"""Pareto fronts of two objectives, both minimised.

A point *i* is **dominated** when another point *j* is at least as good in both objectives
and strictly better in one (``x_j <= x_i and y_j <= y_i and (x_j < x_i or y_j < y_i)``).
The front is the set of valid points no valid point dominates.  Consequences:

* exact duplicates do not dominate each other: all copies of a front point are on it;
* of several points with the same ``x``, only those with the smallest ``y`` can be on the
  front (and the same with ``x`` and ``y`` exchanged);
* NaN, infinite or masked-out (``valid = False``, e.g. failed runs) values are never on the
  front and never dominate anything.
"""

from __future__ import annotations

import numpy as np

__all__ = ["pareto_front", "pareto_front_groups"]


def pareto_front(x, y, valid=None) -> np.ndarray:
    """Boolean mask of the points on the Pareto front of ``(x, y)``, both minimised.

    ``x``, ``y``: 1-D sequences of equal length (None is treated as NaN).
    ``valid``: optional boolean mask; False rows are excluded (as are non-finite values).
    O(n log n).
    """
    x = np.asarray([np.nan if v is None else v for v in x], dtype=np.float64)
    y = np.asarray([np.nan if v is None else v for v in y], dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D of equal length, got {x.shape} and {y.shape}")
    ok = np.isfinite(x) & np.isfinite(y)
    if valid is not None:
        valid = np.asarray(valid, dtype=bool)
        if valid.shape != x.shape:
            raise ValueError(f"valid has shape {valid.shape}, expected {x.shape}")
        ok &= valid
    front = np.zeros(x.size, dtype=bool)
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return front
    order = idx[np.lexsort((y[idx], x[idx]))]  # by x, then y
    best = np.inf  # smallest y among points with a strictly smaller x
    i = 0
    while i < order.size:
        j = i
        xi = x[order[i]]
        while j < order.size and x[order[j]] == xi:
            j += 1
        group = order[i:j]             # same x, sorted by y
        gmin = y[group[0]]
        if gmin < best:                # not dominated by a point with smaller x
            front[group[y[group] == gmin]] = True
            best = gmin
        i = j
    return front


def pareto_front_groups(x, y, groups, valid=None) -> np.ndarray:
    """:func:`pareto_front` computed separately within each group (rows with equal
    ``groups[i]``), e.g. per workload: points of different workloads are not compared."""
    x = np.asarray([np.nan if v is None else v for v in x], dtype=np.float64)
    y = np.asarray([np.nan if v is None else v for v in y], dtype=np.float64)
    groups = list(groups)
    valid = np.ones(x.size, dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    front = np.zeros(x.size, dtype=bool)
    for g in dict.fromkeys(groups):
        sel = np.array([gi == g for gi in groups], dtype=bool)
        idx = np.flatnonzero(sel)
        front[idx] = pareto_front(x[idx], y[idx], valid[idx])
    return front
