"""Array helpers shared by the emulator's layers: distinct values and sums per key by one sort.

numpy 2.4's ``np.unique`` (without ``return_*`` options) finds distinct values with a hash
table first, which is far slower than sorting on large arrays of many distinct keys: 21 s
against 0.27 s of CPU for 15M random int64 keys on this project's machine (measured
2026-12-02, numpy 2.4.6).  Every helper here sorts once instead.
"""

from __future__ import annotations

import numpy as np

__all__ = ["distinct", "distinct_counts", "run_lengths", "run_starts", "sum_by_key"]


def run_starts(grouped: np.ndarray) -> np.ndarray:
    """Indices where a 1-D array whose equal values are adjacent (e.g. sorted) starts a new run."""
    first = np.empty(grouped.size, dtype=bool)
    first[:1] = True
    np.not_equal(grouped[1:], grouped[:-1], out=first[1:])
    return np.flatnonzero(first)


def run_lengths(starts: np.ndarray, n: int) -> np.ndarray:
    """Lengths of the runs that start at ``starts`` (:func:`run_starts`) in an array of length n."""
    return np.diff(np.append(starts, n))


def distinct(values) -> np.ndarray:
    """The distinct values of an array (flattened), sorted: ``np.unique(values)``, by one sort."""
    ordered = np.sort(np.asarray(values).reshape(-1))
    if ordered.size == 0:
        return ordered
    return ordered[run_starts(ordered)]


def distinct_counts(values) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values of an array (flattened) and how often each occurs (int64).

    ``np.unique(values, return_counts=True)`` by one sort; ``values`` is not modified.
    """
    ordered = np.sort(np.asarray(values).reshape(-1))
    if ordered.size == 0:
        return ordered, np.zeros(0, dtype=np.int64)
    starts = run_starts(ordered)
    return ordered[starts], run_lengths(starts, ordered.size)


def sum_by_key(keys, weights) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct ``keys`` and the float64 sum of ``weights`` over each key's entries.

    The additions of one key run in input order (a stable sort, then ``np.bincount``), so
    the sums are the same floats as ``np.bincount(keys, weights)`` gives per key, without
    an array as long as the largest key.
    """
    keys = np.asarray(keys).reshape(-1)
    weights = np.asarray(weights, dtype=np.float64).reshape(-1)
    if keys.size != weights.size:
        raise ValueError(f"sum_by_key: {keys.size} keys but {weights.size} weights")
    if keys.size == 0:
        return keys.copy(), np.zeros(0)
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    starts = run_starts(ordered)
    group = np.empty(keys.size, dtype=np.int64)
    group[order] = np.repeat(np.arange(starts.size), run_lengths(starts, keys.size))
    return ordered[starts], np.bincount(group, weights=weights, minlength=starts.size)
