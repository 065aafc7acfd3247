#!/usr/bin/env python
"""Benchmark: NoC load-latency curves, SimPy reference vs analytic model.

    python bench/noc_load.py [--chip loihi1] [--fanout 8] [--spikes 1,2,4,8,16,32]
                             [--seed 0] [--no-packet-level] [--out PNG]
                             [--no-speed | --speed-only] [--oracle]

Traffic, one NoC phase (one timestep) per point: every core emits ``spikes`` spikes, and
every spike becomes one packet to each of the core's ``fanout`` destination cores, so the
offered load is ``fanout * spikes`` packets per core per step and every (source,
destination) train carries ``spikes`` packets.  ``spikes`` below 1 means that this
fraction of the cores (chosen at random) emits one spike and the others none.

* ``uniform``: the destinations of each core are ``fanout`` distinct random other cores.
* ``hotspot``: one of them is always the same core (slot 0 of the router at the centre
  of the mesh), so that core receives 1/``fanout`` of all traffic.

For each point the script runs the SimPy model (chunks of ``noc.buffer_depth`` packets),
optionally the SimPy model at packet level (``chunk_packets=1``, the exact reference of
the chunk approximation), and the analytic model.  It prints a table (drain time, mean
packet latency, stalls, wall time) and the speed of both models on all-to-some patterns
(CPU and wall time of one step, measured in the same run; ``--oracle`` adds the first
SimPy model, ``tests/noc_oracle.py``), and plots drain time and mean latency against
offered load to ``--out`` (default ``docs/figures/noc_load_latency.png``;
``--speed-only``: the speed table alone).
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

from chipemu.chips import load_chip  # noqa: E402
from chipemu.noc import make_noc  # noqa: E402

PATTERNS = ("uniform", "hotspot")
DEFAULT_OUT = HERE.parent / "docs" / "figures" / "noc_load_latency.png"


def placement(chip) -> np.ndarray:
    """Core k on router k // cores_per_router: every physical core is a logical core."""
    return np.repeat(np.arange(chip.n_routers), chip.mesh.cores_per_router)


def traffic(chip, pattern: str, fanout: int, spikes: float, seed: int):
    """``(src, dst, count)`` trains of one step (see the module doc)."""
    rng = np.random.default_rng(seed)
    k = chip.n_cores
    if spikes < 1:
        active = np.zeros(k, dtype=bool)
        active[rng.choice(k, max(1, round(spikes * k)), replace=False)] = True
    else:
        active = np.ones(k, dtype=bool)
    hot = ((chip.mesh.rows // 2) * chip.mesh.columns + chip.mesh.columns // 2) \
        * chip.mesh.cores_per_router
    dst = []
    for core in range(k):
        others = np.delete(np.arange(k), core)
        d = rng.choice(others, fanout, replace=False)
        if pattern == "hotspot" and core != hot and hot not in d:
            d[0] = hot
        dst.append(d)
    src = np.repeat(np.arange(k), fanout)
    count = np.repeat(np.where(active, max(1, int(spikes)), 0), fanout)
    return src, np.concatenate(dst), count


def timed_step(kind: str, chip, trains, **options):
    """One NoC step on a fresh model; returns (result, wall seconds)."""
    noc = make_noc(kind, chip, placement(chip), **options)
    t0 = time.perf_counter()
    result = noc.step(*trains)
    return result, time.perf_counter() - t0


def sweep(chip, pattern, fanout, spike_list, seed, packet_level):
    rows = []
    for spikes in spike_list:
        trains = traffic(chip, pattern, fanout, spikes, seed)
        sim, sim_s = timed_step("simpy", chip, trains)
        ana, ana_s = timed_step("analytic", chip, trains)
        pkt = timed_step("simpy", chip, trains, chunk_packets=1)[0] if packet_level else None
        rows.append(dict(load=sim.packets / chip.n_cores, trains=sim.trains, sim=sim,
                         ana=ana, pkt=pkt, sim_s=sim_s, ana_s=ana_s))
    return rows


def print_table(pattern, rows, packet_level):
    print(f"\n{pattern} traffic: offered load = packets per core per step")
    head = ("| load | trains | SimPy drain (us) | "
            + ("packet-level (us) | " if packet_level else "")
            + "analytic (us) | analytic/SimPy | SimPy mean lat. (ns) | analytic mean (ns)"
            " | stalls | SimPy ms | analytic ms |")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for r in rows:
        sim, ana, pkt = r["sim"], r["ana"], r["pkt"]
        cells = [f"{r['load']:g}", f"{r['trains']}", f"{sim.drain_s * 1e6:.3f}"]
        if packet_level:
            cells.append(f"{pkt.drain_s * 1e6:.3f}")
        cells += [f"{ana.drain_s * 1e6:.3f}", f"{ana.drain_s / sim.drain_s:.2f}",
                  f"{sim.mean_latency_s * 1e9:.0f}", f"{ana.mean_latency_s * 1e9:.0f}",
                  f"{sim.stalls}", f"{r['sim_s'] * 1e3:.1f}", f"{r['ana_s'] * 1e3:.2f}"]
        print("| " + " | ".join(cells) + " |")


def speed(chip, seed, oracle: bool = False):
    """CPU and wall time of one step of each model on all-to-some patterns (best of 3 steps,
    each model on the same trains in the same run); with ``oracle`` also the first SimPy
    model (``tests/noc_oracle.py``, one SimPy process per chunk)."""
    models = {"simpy": lambda: make_noc("simpy", chip, placement(chip)),
              "analytic": lambda: make_noc("analytic", chip, placement(chip))}
    if oracle:
        sys.path.insert(0, str(HERE.parent / "tests"))
        from noc_oracle import OracleSimpyNoc

        models = {"first": lambda: OracleSimpyNoc(chip, placement(chip)), **models}
    print("\nspeed: uniform all-to-some, 1 packet per train (best of 3 steps; CPU ms / wall ms)")
    head = ["fan-out", "trains"] + (["first SimPy model"] if oracle else []) + [
        "SimPy", "SimPy trains/s (CPU)", "analytic", "analytic trains/s (CPU)", "SimPy / analytic (CPU)"]
    if oracle:
        head.append("first / SimPy (CPU)")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for fanout in (8, 32, 80):
        trains = traffic(chip, "uniform", fanout, 1, seed)
        cpu, wall = {}, {}
        for kind, make in models.items():
            noc = make()
            times = []
            for _ in range(3):
                c0, t0 = time.process_time(), time.perf_counter()
                r = noc.step(*trains)
                times.append((time.process_time() - c0, time.perf_counter() - t0))
            cpu[kind], wall[kind] = min(t[0] for t in times), min(t[1] for t in times)
        n = r.trains
        cells = [f"{fanout}", f"{n}"]
        if oracle:
            cells.append(f"{cpu['first'] * 1e3:.1f} / {wall['first'] * 1e3:.1f}")
        cells += [f"{cpu['simpy'] * 1e3:.1f} / {wall['simpy'] * 1e3:.1f}", f"{n / cpu['simpy']:.0f}",
                  f"{cpu['analytic'] * 1e3:.2f} / {wall['analytic'] * 1e3:.2f}", f"{n / cpu['analytic']:.0f}",
                  f"{cpu['simpy'] / cpu['analytic']:.0f}x"]
        if oracle:
            cells.append(f"{cpu['first'] / cpu['simpy']:.2f}x")
        print("| " + " | ".join(cells) + " |")
    print(f"(load average {os.getloadavg()[0]:.1f})")


def plot(chip, results, fanout, out: Path, packet_level):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(results), figsize=(5.2 * len(results), 7.5),
                             sharex=True, squeeze=False)
    for col, (pattern, rows) in enumerate(results.items()):
        load = [r["load"] for r in rows]
        series = [("SimPy (chunks of buffer_depth)", "sim", "o-")]
        if packet_level:
            series.append(("SimPy, packet level", "pkt", "x--"))
        series.append(("analytic", "ana", "s:"))
        for row, (metric, label) in enumerate((("drain_s", "NoC drain time per step (us)"),
                                               ("mean_latency_s", "mean packet latency (us)"))):
            ax = axes[row][col]
            for name, key, style in series:
                ax.plot(load, [getattr(r[key], metric) * 1e6 for r in rows], style, label=name)
            ax.set_ylabel(label)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.grid(True, which="both", alpha=0.3)
            if row == 0:
                ax.set_title(f"{pattern} traffic, {chip.name} "
                             f"{chip.mesh.columns}x{chip.mesh.rows}x{chip.mesh.cores_per_router}")
            else:
                ax.set_xlabel(f"offered load (packets per core per step, fan-out {fanout})")
            ax.legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"\nwrote {out}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chip", default="loihi1")
    ap.add_argument("--fanout", type=int, default=8)
    ap.add_argument("--spikes", default="0.0625,0.125,0.25,0.5,1,2,4,8,16,32",
                    help="comma-separated spikes per core per step (< 1: fraction of "
                         "cores that emit one spike)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-packet-level", action="store_true",
                    help="skip the packet-level SimPy run (slow at high load)")
    ap.add_argument("--no-speed", action="store_true", help="skip the speed table")
    ap.add_argument("--speed-only", action="store_true", help="only the speed table (no curves, no figure)")
    ap.add_argument("--oracle", action="store_true",
                    help="the speed table also times the first SimPy model (tests/noc_oracle.py)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    chip = load_chip(args.chip)
    spike_list = [float(s) for s in args.spikes.split(",")]
    packet_level = not args.no_packet_level
    print(f"chip {chip.name}: {chip.mesh.columns}x{chip.mesh.rows} routers, "
          f"{chip.mesh.cores_per_router} cores each; message_out {chip.time.message_out:g} s, "
          f"message_in {chip.time.message_in:g} s, hop {chip.noc.hop_time_ew_s:g} / "
          f"{chip.noc.hop_time_ns_s:g} s, link {chip.noc.link_bandwidth_pps:g} packets/s, "
          f"buffer {chip.noc.buffer_depth} packets")
    if args.speed_only:
        speed(chip, args.seed, args.oracle)
        return 0
    results = {}
    for pattern in PATTERNS:
        results[pattern] = sweep(chip, pattern, args.fanout, spike_list, args.seed,
                                 packet_level)
        print_table(pattern, results[pattern], packet_level)
    if not args.no_speed:
        speed(chip, args.seed, args.oracle)
    plot(chip, results, args.fanout, args.out, packet_level)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
