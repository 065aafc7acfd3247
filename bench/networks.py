"""Benchmark workloads, built with the public Network API (deterministic for a seed)."""

from __future__ import annotations

import numpy as np

from chipemu import Network


def random_ei(n: int, fanout: int = 100, steps: int = 200, seed: int = 1, max_delay: int = 7,
              input_fraction: float = 0.1, input_rate: float = 0.03, window: int | None = None,
              input_fanout: int = 50) -> Network:
    """Random 80/20 excitatory/inhibitory network, the reference workload of the benchmarks.

    Every compartment projects to ``fanout`` distinct random compartments (delays uniform
    in 0..max_delay; excitatory weights 2..4, inhibitory -2..-128); ``n * input_fraction``
    Bernoulli input sources (p = ``input_rate`` per step) each drive ``input_fanout``
    compartments on average (default 50).
    With these registers about 0.5-2 % of compartments fire per step.

    ``window``: if given, compartment i draws its targets uniformly from the ``2*window``
    compartments nearest to it on a ring (a spatially local random network), so that the
    fan-in of a core of neighbouring compartments stays within a chip's axon limits;
    ``None`` draws from all n compartments (uniform random; on loihi1 this needs more
    fan-in axon slots than 128 cores have from about 5,000 compartments on).
    """
    rng = np.random.default_rng(seed)
    ne = int(0.8 * n)
    net = Network(f"random_ei_{n}", steps=steps)

    def regs(m):
        return dict(du=rng.integers(900, 1200, m), dv=rng.integers(400, 600, m), vth=200,
                    bias_mant=rng.integers(-100, 100, m), bias_exp=0)

    exc = net.add_population("exc", ne, **regs(ne))
    inh = net.add_population("inh", n - ne, **regs(n - ne))

    def delay(m):
        return rng.integers(0, max_delay + 1, m)

    for k, (pre, w) in enumerate(((exc, lambda m: 2 * rng.integers(1, 3, m)),
                                  (inh, lambda m: -2 * rng.integers(1, 65, m)))):
        # one fan-out draw over all n targets, split by target population
        src_dst = net_fanout(pre.size, n, fanout, seed + 10 + k, window, pre.start, ne)
        for post in (exc, inh):
            sel = (src_dst[1] >= post.start) & (src_dst[1] < post.stop)
            net.connect(pre, post, "explicit", src=src_dst[0][sel], dst=src_dst[1][sel] - post.start,
                        weight=w, delay=delay)
    n_in = max(1, int(n * input_fraction))
    stim = net.add_bernoulli_input("stim", n_in, p=input_rate, seed=seed + 20)
    for post in (exc, inh):
        net.connect(stim, post, "fixed_probability", p=input_fanout / n, seed=seed + 30 + post.start,
                    weight=40, delay=delay)
    return net


def net_fanout(n_pre: int, n_post: int, fanout: int, seed: int, window: int | None = None,
               pre_start: int = 0, n_exc: int = 0):
    """``fanout`` distinct targets per source, from all n_post or from a ring window.

    On the ring every fifth slot holds an inhibitory compartment (global ids >= n_exc),
    so excitation and inhibition are mixed everywhere along it.
    """
    from chipemu.connectors import FixedFanout
    if window is None:
        return FixedFanout(fanout, seed=seed).build(n_pre, n_post, False)
    slot = np.arange(n_post)
    is_inh = (slot % 5 == 4) & (slot // 5 < n_post - n_exc)
    at_slot = np.empty(n_post, dtype=np.int64)  # global id at each ring slot
    at_slot[~is_inh] = np.arange(n_exc)
    at_slot[is_inh] = n_exc + np.arange(int(is_inh.sum()))
    slot_of = np.empty(n_post, dtype=np.int64)
    slot_of[at_slot] = slot
    src, rel = FixedFanout(fanout, seed=seed).build(n_pre, 2 * window, False)
    offset = rel - window + (rel >= window)  # in [-window, window] without 0 (no self)
    dst = at_slot[(slot_of[src + pre_start] + offset) % n_post]
    return src, dst
