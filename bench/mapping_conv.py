#!/usr/bin/env python
"""Benchmark: the traffic mapper on a 20k-compartment, 3.5M-synapse convolutional network.

    python bench/mapping_conv.py [--scale 1.0] [--chip loihi2] [--repeat 1]

Workload (DVS-gesture-like, built with explicit synapses so that it needs nothing but the
Network API): 2 x 64 x 64 input sources (Bernoulli events) -> conv 7x7 stride 2, 16
channels (16 x 29 x 29 = 13,456 compartments, 1.32M synapses) -> conv 5x5 stride 2, 32
channels (32 x 13 x 13 = 5,408, 2.16M synapses) -> readout 11 (from half of conv2, 30k synapses):
18,875 compartments and 3.51M synapses.  ``--scale`` shrinks the input side (for a smoke test).

Prints the wall time (and CPU time, with the load average) of ``map_network(...,
mapper="traffic")`` and, as the baseline measured in the same run, of the ``sequential``
mapper (index order + row-major placement) on the same network, and the ratio; and the
traffic of both mappings when every source spikes once (packets, packet-hops, the busiest
link's packets: :meth:`mapper.Mapping.quality`).  Target: traffic mapper < 3 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from chipemu import Network  # noqa: E402
from chipemu.chips import load_chip  # noqa: E402
from mapper import map_network  # noqa: E402


def conv_synapses(in_c: int, in_h: int, in_w: int, out_c: int, k: int, stride: int, seed: int):
    """(src, dst, weight) of a valid (no padding) 2-D convolution, C-ordered indices."""
    out_h, out_w = (in_h - k) // stride + 1, (in_w - k) // stride + 1
    oc, oy, ox, ic, ky, kx = np.meshgrid(np.arange(out_c), np.arange(out_h), np.arange(out_w), np.arange(in_c),
                                         np.arange(k), np.arange(k), indexing="ij")
    dst = (oc * out_h + oy) * out_w + ox
    src = (ic * in_h + oy * stride + ky) * in_w + ox * stride + kx
    kernel = 2 * np.random.default_rng(seed).integers(-20, 40, (out_c, in_c, k, k))
    w = kernel[oc, ic, ky, kx]
    return src.reshape(-1), dst.reshape(-1), w.reshape(-1), (out_c, out_h, out_w)


def conv_network(side: int = 64, steps: int = 100, seed: int = 0) -> Network:
    net = Network(f"conv_{side}", steps=steps)
    stim = net.add_bernoulli_input("dvs", 2 * side * side, p=0.05, seed=seed)
    s1, d1, w1, shape1 = conv_synapses(2, side, side, 16, 7, 2, seed + 1)
    c1 = net.add_population("conv1", int(np.prod(shape1)), du=1024, dv=256, vth=400, bias_mant=0, bias_exp=0)
    net.connect(stim, c1, "explicit", src=s1, dst=d1, weight=w1, delay=0)
    s2, d2, w2, shape2 = conv_synapses(*shape1, 32, 5, 2, seed + 2)
    c2 = net.add_population("conv2", int(np.prod(shape2)), du=1024, dv=256, vth=800, bias_mant=0, bias_exp=0)
    net.connect(c1, c2, "explicit", src=s2, dst=d2, weight=w2, delay=0)
    out = net.add_population("out", 11, du=1024, dv=256, vth=1000, bias_mant=0, bias_exp=0)
    rng = np.random.default_rng(seed + 3)
    # a readout from half of conv2 (a full dense layer would need 5,408 fan-in axons > Loihi's 4,096)
    net.connect(c2, out, "fixed_probability", p=0.5, seed=seed + 4, weight=lambda m: 2 * rng.integers(-30, 30, m),
                delay=0)
    return net


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0, help="input side = 64 * scale")
    ap.add_argument("--chip", default="loihi2",
                    help="default loihi2: on loihi1 the explicit conv synapses need 203 cores of fan-in axons")
    ap.add_argument("--repeat", type=int, default=1, help="best of N mappings")
    args = ap.parse_args(argv)
    side = max(16, int(round(64 * args.scale)))
    net = conv_network(side)
    chip = load_chip(args.chip)

    def best(mapper):
        times, m = [], None
        for _ in range(args.repeat):
            t, c = time.perf_counter(), time.process_time()
            m = map_network(net, chip, mapper=mapper, seed=0)
            times.append((time.perf_counter() - t, time.process_time() - c))
        return min(times), m

    (seq_s, seq_cpu), seq = best("sequential")
    (tr_s, tr_cpu), tr = best("traffic")
    print(f"conv network: {net.n_compartments:,} compartments, {net.n_inputs:,} inputs, {net.n_synapses:,} synapses "
          f"on {chip.name} (load average {os.getloadavg()[0]:.1f})")
    print(f"  sequential mapper  {seq_s:7.2f} s ({seq_cpu:.2f} s CPU)   {seq.n_cores} cores")
    print(f"  traffic mapper     {tr_s:7.2f} s ({tr_cpu:.2f} s CPU)   {tr.n_cores} cores   "
          f"{tr_s / seq_s:5.1f}x the sequential mapper;  target < 3 s: {'met' if tr_s < 3 else 'NOT met'}")
    qs, qt = seq.quality(net), tr.quality(net)
    for name, q in (("sequential", qs), ("traffic", qt)):
        print(f"  {name:<10} traffic when every source spikes once: {q['packets']:,.0f} packets, "
              f"{q['packet_hops']:,.0f} packet-hops, busiest link {q['max_link_load']:,.0f} packets")
    print("  traffic / sequential: " + ", ".join(f"{k.replace('_', ' ')} {qt[k] / qs[k]:.3f}x"
                                                for k in ("packets", "packet_hops", "max_link_load") if qs[k]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
