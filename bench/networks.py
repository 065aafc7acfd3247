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


def dvs_gesture(steps: int = 20, seed: int = 1, rate: float = 0.05, explicit: bool = False,
                channels_divisor: int = 1) -> Network:
    """A DVS-gesture-sized conv SNN, the layer sizes of SANA-FE's DVS-gesture network.

    32x32 input (one channel), four 3x3 convolutions -- 16 channels at stride 2 (15x15),
    then 32 (13x13), 64 (11x11) and 11 (9x9) at stride 1 -- and a dense read-out of 11:
    17,654 compartments (18,678 neurons with the input) and 3,564,441 synapses (SANA-FE's
    network: 18.7k neurons, 3.56M synapses; its trained weights are not public, so the
    kernels here are seeded random even integers).  ``explicit``: every projection
    written as explicit synapses (the sparse encoding), the same network otherwise.
    ``channels_divisor``: divide the conv layers' channels (a smaller network for smoke runs).
    """
    rng = np.random.default_rng(seed)
    net = Network("dvs_gesture" + ("_explicit" if explicit else ""), steps=steps)
    t, i = np.nonzero(rng.random((steps, 1024)) < rate)
    net.add_input("in", (1, 32, 32), i, t)
    q = max(1, int(channels_divisor))
    shapes = [("conv1", (16 // q, 15, 15), 2), ("conv2", (32 // q, 13, 13), 1), ("conv3", (64 // q, 11, 11), 1),
              ("conv4", (11, 9, 9), 1)]
    prev, prev_c = "in", 1
    for name, shape, stride in shapes:
        net.add_population(name, shape, du=410, dv=205, vth=250 * 9 * prev_c // 4)
        kernel = rng.integers(-20, 60, (shape[0], prev_c, 3, 3)) * 2
        net.connect_conv(prev, name, kernel, stride=stride)
        prev, prev_c = name, shape[0]
    net.add_population("dense", 11, du=410, dv=205, vth=2000)
    net.connect(prev, "dense", "all_to_all", weight=rng.integers(-20, 60, 9 * 9 * 11 * 11) * 2)
    if not explicit:
        return net
    out = Network(net.name, steps=steps)
    for p in net.populations:
        out.add_population(p.name, p.size, du=p.du, dv=p.dv, vth=p.vth, bias_mant=p.bias_mant,
                           bias_exp=p.bias_exp)
    for g in net.inputs:
        out.add_input(g.name, g.size, g.spike_idx, g.spike_t)
    for pr in net.projections:
        out.connect(pr.pre, pr.post, "explicit", src=pr.src, dst=pr.dst, weight=pr.weight, delay=pr.delay,
                    name=pr.name)
    return out
