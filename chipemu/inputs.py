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
    rng = np.random.default_rng(seed)
    steps = int(stop) - int(start)
    fires = rng.random((steps, int(size))) < float(p)
    t, idx = np.nonzero(fires)
    return idx.astype(np.int64), (t + int(start)).astype(np.int64)


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
    t = np.arange(int(start) + int(phase), int(stop), int(period), dtype=np.int64)
    idx = np.tile(np.arange(size, dtype=np.int64), t.size)
    return idx, np.repeat(t, size)
