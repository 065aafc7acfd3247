"""Seeded input spike generators.

Generators produce explicit events ``(idx, t)`` once, when the input group is added, so a
saved network carries exactly the spikes that were run and a run never depends on a
generator's state.  Every generator uses ``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import NetworkError


def bernoulli_events(owner: str, size: int, p: float, start: int, stop: int, seed: int):
    """Each of ``size`` sources fires with probability ``p`` in every step of [start, stop).

    Returns ``(idx, t)`` int64 arrays sorted by (t, idx).
    """
    if not (0.0 <= float(p) <= 1.0):
        raise NetworkError(f"{owner}: firing probability p = {p} out of range 0..1")
    if int(start) != start or int(stop) != stop or start < 0 or stop < start:
        raise NetworkError(f"{owner}: step window [{start}, {stop}) must satisfy 0 <= start <= stop")
    from .bounded import check_memory

    rng = np.random.default_rng(seed)
    steps, size = int(stop) - int(start), int(size)
    if steps * size > _MAX_DRAWS:
        raise NetworkError(f"{owner}: {steps:,} steps x {size:,} sources is too large a Bernoulli draw "
                           f"(at most {_MAX_DRAWS:,} source-steps)")
    # 16 bytes per expected event (idx, t), refused before drawing anything
    check_memory(int(min(steps * size * float(p), 2**62)) * 16, f"{owner}: {steps:,} steps x {size:,} sources "
                 f"at p = {p}", NetworkError)
    # the (steps, size) draw in blocks of rows: the same random stream, bounded temporaries
    rows = max(1, _DRAW_CELLS // max(size, 1))
    ts, idxs = [], []
    for a in range(0, steps, rows):
        b = min(steps, a + rows)
        t, idx = np.nonzero(rng.random((b - a, size)) < float(p))
        ts.append(t + (a + int(start)))
        idxs.append(idx)
    if not ts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(idxs).astype(np.int64), np.concatenate(ts).astype(np.int64)


#: random numbers drawn at once by :func:`bernoulli_events` (8 bytes each)
_DRAW_CELLS = 1 << 22
#: most source-steps one Bernoulli input draws (about a minute of random numbers)
_MAX_DRAWS = 1 << 33


def poisson_probability(owner: str, rate_hz: float, dt_s: float) -> float:
    """Probability that a Poisson process of ``rate_hz`` has an event in ``dt_s`` seconds."""
    if not (rate_hz >= 0 and math.isfinite(rate_hz)):
        raise NetworkError(f"{owner}: rate_hz = {rate_hz} must be a finite number >= 0")
    if not (dt_s > 0 and math.isfinite(dt_s)):
        raise NetworkError(f"{owner}: dt_s = {dt_s} must be a finite number > 0")
    return 1.0 - math.exp(-rate_hz * dt_s)


def regular_events(owner: str, size: int, period: int, phase: int = 0, start: int = 0, stop: int = 0):
    """Every source fires every ``period`` steps from ``start + phase`` until ``stop``."""
    if int(period) != period or period < 1:
        raise NetworkError(f"{owner}: period = {period} must be an integer >= 1")
    from .bounded import check_memory

    n_t = max(0, -(-(int(stop) - int(start) - int(phase)) // int(period)))
    check_memory(n_t * int(size) * 16, f"{owner}: {n_t:,} firing steps x {int(size):,} sources", NetworkError)
    t = np.arange(int(start) + int(phase), int(stop), int(period), dtype=np.int64)
    idx = np.tile(np.arange(size, dtype=np.int64), t.size)
    return idx, np.repeat(t, size)
