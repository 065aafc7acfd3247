#!/usr/bin/env python
"""Benchmark: chip emulation wall time vs the host reference runner, same run.

    python bench/chip.py [--n 10000] [--fanout 100] [--steps 200] [--chip loihi1] [--mapper traffic]

Workload: :func:`networks.random_ei` with n compartments and fan-out 100 (1M synapses at
10k), spatially local (targets within +-window on a ring, default 1000): a uniformly
random 10k network needs ~183 cores' worth of fan-in axon slots and does not fit loihi1's
128 cores, so the benchmark uses the local variant (``--window 0`` for uniform).  Prints the
wall time of the reference runner, of the chip emulation with the SimPy
NoC and with the analytic NoC (mapping excluded, timed separately), and the ratios to the
reference.  Targets: SimPy <= 10x, analytic <= 2x the reference runner.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from networks import random_ei  # noqa: E402

from chipemu.chip import emulate  # noqa: E402
from chipemu.chips import load_chip  # noqa: E402
from chipemu.reference import run as reference_run  # noqa: E402
from mapper import map_network  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--fanout", type=int, default=100)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--chip", default="loihi1")
    ap.add_argument("--mapper", default="traffic")
    ap.add_argument("--window", type=int, default=1000, help="ring window of the targets (0: uniform random)")
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs for each timing")
    args = ap.parse_args(argv)

    net = random_ei(args.n, fanout=args.fanout, steps=args.steps, window=args.window or None)
    chip = load_chip(args.chip)
    t0 = time.perf_counter()
    mapping = map_network(net, chip, mapper=args.mapper, seed=0)
    map_s = time.perf_counter() - t0

    def best(fn):
        times, out = [], None
        for _ in range(args.repeat):
            t = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t)
        return min(times), out

    ref_s, ref = best(lambda: reference_run(net))
    simpy_s, run_s = best(lambda: emulate(net, mapping, noc="simpy"))
    ana_s, run_a = best(lambda: emulate(net, mapping, noc="analytic"))
    same = run_s.spikes == ref.spikes and run_a.spikes == ref.spikes
    print(f"random E/I {net.n_compartments:,} compartments, {net.n_synapses:,} synapses, {args.steps} steps, "
          f"{len(ref.spikes):,} spikes; chip {chip.name}, mapper {args.mapper}: {mapping.n_cores} cores "
          f"(mapping {map_s:.2f} s)")
    print(f"  NoC packets {run_s.noc['packets']:,}, hops {run_s.noc['hops']:,}; spikes identical to reference: {same}")
    print(f"  reference runner      {ref_s:8.3f} s   1.00x")
    print(f"  chip, SimPy NoC       {simpy_s:8.3f} s   {simpy_s / ref_s:5.2f}x   (target <= 10x)")
    print(f"  chip, analytic NoC    {ana_s:8.3f} s   {ana_s / ref_s:5.2f}x   (target <= 2x)")
    print(f"  chip time: SimPy {run_s.chip_time_s * 1e3:.3f} ms, analytic {run_a.chip_time_s * 1e3:.3f} ms")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
