#!/usr/bin/env python
"""Benchmark: mapping quality and mapping speed.

    python bench/mapping.py [--quick] [--seed N]

(a) Quality, on ``loihi1``: inter-core packets and packet-hops per presynaptic spike
    (unicast XY routing, every source weighted equally) of the baseline ``sequential``
    mapper (index order + row-major placement) against ``traffic`` (traffic-aware
    partition + annealed placement), on

    * a modular network with shuffled compartment indices: 64 clusters, 90 % of each
      compartment's synapses inside its cluster (one population, explicit connector whose
      indices are permuted), plus one input source per cluster;
    * the random 80/20 E/I network of ``bench/networks.py`` (no structure to exploit:
      placement is the only lever).

    Target: >= 30 % fewer packet-hops on the modular network.

(b) Speed: the ``traffic`` mapper on >= 100k compartments and >= 10M synapses (a full
    Loihi 1's worth of compartments, 100 synapses each: a ring of 125 clusters of 800,
    90 % of synapses inside the cluster, 10 % to the two neighbouring clusters, indices
    shuffled).  With the sparse synapse encoding of mapper/resources.py (24 bits per
    synapse on loihi1) 10M synapses need ~235 cores of synaptic memory, so the chip is
    ``loihi1`` with ``mesh.columns = 16`` (256 cores: Loihi 1's core and NoC figures on a
    twice-as-long mesh).  Prints wall time and peak memory (ru_maxrss of the process,
    network included, and the growth during mapping).  Target: < 30 s.

``--quick`` shrinks every network ~8x (for a smoke test).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from networks import random_ei  # noqa: E402

from chipemu import FitError, Network  # noqa: E402
from chipemu.chips import load_chip  # noqa: E402
from mapper import map_network  # noqa: E402


def modular(n_clusters: int = 64, size: int = 256, fanout: int = 32, p_in: float = 0.9,
            seed: int = 0) -> Network:
    """Clusters of ``size`` compartments; a synapse stays inside its cluster with ``p_in``,
    else goes to a random cluster; compartment indices are shuffled; one input source per
    cluster drives half of it."""
    rng = np.random.default_rng(seed)
    n = n_clusters * size
    src = np.repeat(np.arange(n, dtype=np.int64), fanout)
    inside = rng.random(src.size) < p_in
    tc = np.where(inside, src // size, rng.integers(0, n_clusters, src.size))
    dst = tc * size + rng.integers(0, size, src.size)
    perm = rng.permutation(n)
    net = Network(f"modular_{n_clusters}x{size}", steps=100)
    pop = net.add_population("all", n, vth=200)
    net.connect(pop, pop, "explicit", src=perm[src], dst=perm[dst], weight=2)
    stim = net.add_bernoulli_input("stim", n_clusters, p=0.05, seed=seed + 1)
    isrc = np.repeat(np.arange(n_clusters), size // 2)
    idst = isrc * size + np.tile(np.arange(size // 2), n_clusters)
    net.connect(stim, pop, "explicit", src=isrc, dst=perm[idst], weight=40)
    return net


def ring_modular(n: int = 100_000, fanout: int = 100, cluster: int = 800, p_in: float = 0.9,
                 seed: int = 0) -> Network:
    """``n`` compartments in clusters of ``cluster`` on a ring: a synapse stays inside its
    cluster with ``p_in``, else goes to one of the two neighbouring clusters; shuffled."""
    rng = np.random.default_rng(seed)
    n_cl = n // cluster
    src = np.repeat(np.arange(n, dtype=np.int64), fanout)
    cl = np.minimum(src // cluster, n_cl - 1)
    step = np.where(rng.random(src.size) < 0.5, 1, -1)
    tc = np.where(rng.random(src.size) < p_in, cl, (cl + step) % n_cl)
    dst = np.minimum(tc * cluster + rng.integers(0, cluster, src.size), n - 1)
    perm = rng.permutation(n)
    net = Network(f"ring_{n}", steps=100)
    pop = net.add_population("all", n, vth=200)
    net.connect(pop, pop, "explicit", src=perm[src], dst=perm[dst], weight=2)
    return net


def quality_row(name: str, net: Network, chip, seed: int) -> float:
    res = {}
    for mapper in ("sequential", "traffic"):
        t0 = time.perf_counter()
        m = map_network(net, chip, mapper=mapper, seed=seed)
        wall = time.perf_counter() - t0
        q = m.quality(net)
        res[mapper] = q
        print(f"  {name:<22} {mapper:<11} cores {m.n_cores:4d}  packets/spike {q['inter_core_packets_per_spike']:8.3f}"
              f"  packet-hops/spike {q['packet_hops_per_spike']:8.3f}  cut synapses {q['cut_synapses']:9d}"
              f"  ({wall:.2f} s)")
    s, t = res["sequential"], res["traffic"]
    def fewer(key: str) -> float:
        return 1 - t[key] / s[key] if s[key] > 0 else 0.0

    dp, dh = fewer("inter_core_packets_per_spike"), fewer("packet_hops_per_spike")
    print(f"  {name:<22} traffic vs sequential: {100 * dp:.1f} % fewer packets, {100 * dh:.1f} % fewer packet-hops")
    return dh


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="networks ~8x smaller (a smoke run: targets not judged)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    q = 8 if args.quick else 1
    loihi1 = load_chip("loihi1")

    print("(a) quality on loihi1 (unicast, every source weighted 1)")
    mod = modular(size=256 // q, fanout=32, seed=args.seed)
    print(f"  modular: {mod.n_compartments} compartments, {mod.n_synapses} synapses, {mod.n_inputs} inputs")
    dh = quality_row("modular (shuffled)", mod, loihi1, args.seed)
    ei = random_ei(8000 // q, fanout=50, seed=args.seed + 1)
    print(f"  random E/I: {ei.n_compartments} compartments, {ei.n_synapses} synapses, {ei.n_inputs} inputs")
    quality_row("random E/I", ei, loihi1, args.seed)
    ok_q = dh >= 0.30
    if args.quick:  # a few cores on one router: too small to judge the quality target
        print("  (--quick: the quality target is judged at full size only)")
        ok_q = True
    else:
        print(f"  target >= 30 % fewer packet-hops on the modular network: {'met' if ok_q else 'NOT met'}")

    print("(b) speed of the traffic mapper")
    t0 = time.perf_counter()
    big = ring_modular(n=100_000 // q, fanout=100, seed=args.seed)
    f = big.flat()
    build = time.perf_counter() - t0
    chip = loihi1.with_overrides({"mesh.columns": 16})
    print(f"  network: {f.n} compartments, {f.m} synapses (built in {build:.1f} s); chip {chip.name}: "
          f"{chip.n_cores} cores")
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    m = map_network(big, chip, mapper="traffic", seed=args.seed)
    wall = time.perf_counter() - t0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    qb = m.quality(big)
    print(f"  traffic mapper: {wall:.1f} s wall, {m.n_cores} cores; peak RSS {rss1:.0f} MB "
          f"(+{max(rss1 - rss0, 0):.0f} MB during mapping)")
    print(f"  packets/spike {qb['inter_core_packets_per_spike']:.3f}, packet-hops/spike "
          f"{qb['packet_hops_per_spike']:.3f}")
    t0 = time.perf_counter()
    try:
        ms = map_network(big, chip, mapper="sequential", seed=args.seed)
    except FitError as exc:  # index order scatters every cluster: fan-in overflows
        print(f"  sequential mapper ({time.perf_counter() - t0:.1f} s): does not fit: {exc}")
    else:
        qs = ms.quality(big)
        print(f"  sequential mapper: {time.perf_counter() - t0:.1f} s, {ms.n_cores} cores, packets/spike "
              f"{qs['inter_core_packets_per_spike']:.3f}, packet-hops/spike {qs['packet_hops_per_spike']:.3f}")
    ok_t = wall < 30.0 or args.quick
    if not args.quick:
        print(f"  target < 30 s: {'met' if ok_t else 'NOT met'}")
    return 0 if ok_q and ok_t else 1


if __name__ == "__main__":
    sys.exit(main())
