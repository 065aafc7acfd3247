"""STDP finds a repeating spike pattern hidden in noise (after Masquelier et al. 2008).

What it computes
    ``afferents`` input sources fire as independent Bernoulli (Poisson-like) noise of
    probability ``p`` per step (1 ms steps), plus ``p_extra`` jitter noise everywhere.  A
    fixed spike pattern of ``pattern_len`` steps over the first ``pattern_frac`` of the
    afferents (drawn at the same rate, so it has no rate signature) replaces their noise in
    randomly chosen slots of ``pattern_len`` steps (each slot with probability
    ``pattern_prob``, never two in a row).  One LIF compartment receives every afferent
    through a plastic projection (initial weight ``w0``) with the on-chip rule
    (:func:`chipemu.learning.stdp`)::

        dw = A+ x1 y0  -  A- y1 x0  +  a_post y0
           = 2^-3*x1*y0 - 2^-6*y1*x0 - 7*2^-1*y0     (defaults: a_plus=8, a_minus=1, a_post=-3.5)

    i.e. pair STDP (pre-before-post potentiation up to ``a_plus`` weight units, post-before-
    pre depression up to ``a_minus``) plus a heterosynaptic depression ``a_post`` of every
    synapse at each postsynaptic spike: an afferent gains at a post spike only if its
    trace exceeds ``-a_post / A+ = 28`` (it fired within ~14 steps before), so afferents
    that keep firing just before the neuron's spikes -- only pattern afferents do so
    consistently -- grow to 254 and the rest decay toward 0.  The neuron ends up firing once
    per pattern presentation, near its start, and stays silent in the noise.

Parameters
    afferents=200, pattern_frac=0.5, pattern_len=50, p=0.02, p_extra=0.003,
    pattern_prob=0.25, steps=20000, w0=100, vth=10000, du=1340, dv=400,
    a_plus=8, a_minus=1, a_post=-3.5, tau_plus=16.8, tau_minus=33.7, epoch=1,
    plastic=True (False: the control, the same network with static weights), seed=0.

Check
    Over the test phase (the last quarter of the run): the neuron fires in at least 80 % of
    the pattern presentations (a spike within the pattern window), and its firing rate
    inside pattern windows is at least 10x its rate outside them.  The control without
    plasticity fails it (it fires as much in noise as in the pattern).
"""

from __future__ import annotations

import numpy as np

from chipemu import Network
from chipemu.learning import stdp

from programs._common import attach_meta, check_build_size, energy_detail, get_meta

HIT_MIN = 0.8        #: fraction of test-phase presentations with a spike in the window
RATIO_MIN = 10.0     #: rate inside pattern windows / rate outside
TEST_FRACTION = 0.25  #: the test phase is the last quarter of the run


def pattern_starts(slots: int, pattern_len: int, prob: float, rng) -> np.ndarray:
    """Start steps of the pattern presentations: slot k (k >= 1) with probability ``prob``,
    never two consecutive slots."""
    starts, prev = [], False
    draws = rng.random(slots)
    for k in range(1, slots):
        prev = (not prev) and draws[k] < prob
        if prev:
            starts.append(k * pattern_len)
    return np.asarray(starts, dtype=np.int64)


def build(afferents: int = 200, pattern_frac: float = 0.5, pattern_len: int = 50, p: float = 0.02,
          p_extra: float = 0.003, pattern_prob: float = 0.25, steps: int = 20000, w0: int = 100,
          vth: int = 10000, du: int = 1340, dv: int = 400, a_plus: float = 8, a_minus: float = 1,
          a_post: float = -3.5, tau_plus: float = 16.8, tau_minus: float = 33.7, epoch: int = 1,
          plastic: bool = True, seed: int = 0) -> Network:
    check_build_size("stdp_pattern", {"afferents": afferents, "steps": steps, "pattern_len": pattern_len},
                     9 * steps * afferents + 9 * pattern_len * afferents, f"{steps:,} steps x {afferents:,} afferents")
    rng = np.random.default_rng(seed)
    raster = rng.random((steps, afferents)) < p
    n_pat = int(round(afferents * pattern_frac))
    pattern = rng.random((pattern_len, n_pat)) < p
    starts = pattern_starts(steps // pattern_len, pattern_len, pattern_prob, rng)
    for s0 in starts:
        raster[s0:s0 + pattern_len, :n_pat] = pattern
    raster |= rng.random((steps, afferents)) < p_extra
    t, i = np.nonzero(raster)
    net = Network("stdp_pattern" if plastic else "stdp_pattern_control", steps=steps)
    inp = net.add_input("afferents", afferents, i, t)
    post = net.add_population("neuron", 1, du=du, dv=dv, vth=vth)
    rule = stdp(a_plus, a_minus, tau_plus, tau_minus, a_post=a_post, epoch=epoch, seed=seed) if plastic else None
    net.connect(inp, post, "all_to_all", weight=w0, name="afferents->neuron", plasticity=rule)
    return attach_meta(net, "stdp_pattern", starts=starts, pattern_len=pattern_len, pattern_afferents=n_pat,
                       test_start=int(steps * (1 - TEST_FRACTION)))


def selectivity(spikes, starts: np.ndarray, pattern_len: int, t0: int, t1: int) -> dict:
    """Response of compartment 0 in [t0, t1): hit rate, rates inside/outside windows."""
    inside = np.zeros(t1, dtype=bool)
    for s0 in starts:
        inside[s0:s0 + pattern_len] = True
    keep = (spikes.t >= t0) & (spikes.t < t1) & (spikes.neuron == 0)
    st = spikes.t[keep]
    wins = starts[(starts >= t0) & (starts + pattern_len <= t1)]
    first = np.searchsorted(st, wins)
    hit = (first < st.size) & (st[np.minimum(first, max(st.size - 1, 0))] < wins + pattern_len) if st.size else \
        np.zeros(wins.size, bool)
    n_in_steps = int(inside[t0:t1].sum())
    n_out_steps = (t1 - t0) - n_in_steps
    spk_in = int(inside[st].sum())
    spk_out = int(st.size - spk_in)
    rate_in = spk_in / n_in_steps if n_in_steps else 0.0
    rate_out = spk_out / n_out_steps if n_out_steps else 0.0
    latency = (st[first[hit]] - wins[hit]) if hit.any() else np.zeros(0)
    return {"presentations": int(wins.size), "hits": int(hit.sum()),
            "hit_rate": float(hit.mean()) if wins.size else 0.0,
            "rate_in_hz": 1000.0 * rate_in, "rate_out_hz": 1000.0 * rate_out,
            "ratio": (rate_in / rate_out) if rate_out > 0 else (float("inf") if rate_in > 0 else 0.0),
            "latency_steps": float(np.median(latency)) if latency.size else float("nan")}


def check(result) -> tuple[bool, str]:
    meta = get_meta(result.network, "stdp_pattern")
    t0, t1 = meta["test_start"], result.steps
    s = selectivity(result.spikes, meta["starts"], meta["pattern_len"], t0, t1)
    if s["presentations"] == 0:
        return False, f"no pattern presentation in the test phase [{t0}, {t1}): nothing was checked"
    ratio = "inf" if s["ratio"] == float("inf") else f"{s['ratio']:.1f}"
    detail = (f"test phase steps {t0}-{t1}: fired in {s['hits']}/{s['presentations']} pattern presentations "
              f"({100 * s['hit_rate']:.0f} %, need >= {100 * HIT_MIN:.0f} %), rate {s['rate_in_hz']:.1f} Hz in "
              f"pattern vs {s['rate_out_hz']:.1f} Hz in noise (ratio {ratio}, need >= {RATIO_MIN:g}), "
              f"median latency {s['latency_steps']:.0f} steps")
    if s["hit_rate"] < HIT_MIN:
        return False, "misses the pattern: " + detail
    if s["ratio"] < RATIO_MIN:
        return False, "not selective: " + detail
    return True, detail + energy_detail(result, max(len(meta["starts"]), 1), "presentation")
