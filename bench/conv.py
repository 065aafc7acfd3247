"""Conv encoding benchmark: a DVS-gesture-sized conv SNN with and without shared weights.

One command::

    PYTHONPATH=. python bench/conv.py            # full size (SANA-FE's DVS-gesture layer sizes)
    PYTHONPATH=. python bench/conv.py --quick    # a smoke run (a quarter of the channels)

It builds the network of :func:`bench.networks.dvs_gesture` twice -- convolutions as
shared-weight projections (conv encoding), and the same synapses written out explicitly
(sparse encoding, the read-out dense in both) -- maps both on ``loihi1-silicon`` with the
``traffic`` mapper, emulates a few steps of each and prints, side by side: cores,
synaptic memory, the bytes of synapse arrays the Network holds, energy per synaptic op,
and the ratios explicit / conv, then both core counts against SANA-FE's silicon layout of
this network (49 cores).
The spikes of the two runs must be identical (checked; exit 1 otherwise).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.networks import dvs_gesture
from chipemu.chip import emulate
from chipemu.chips import load_chip
from chipemu.energy import energy_report
from mapper import map_network

SILICON_CORES = 49  # SANA-FE's DVS-gesture network on Loihi 1 silicon (Boyle et al., TCAD 2025)


def one(explicit: bool, steps: int, scale: int, seed: int) -> dict:
    t0 = time.perf_counter()
    net = dvs_gesture(steps=steps, seed=seed, explicit=explicit, channels_divisor=scale)
    build = time.perf_counter() - t0
    chip = load_chip("loihi1-silicon")
    t0 = time.perf_counter()
    m = map_network(net, chip, mapper="traffic", seed=seed)
    map_s = time.perf_counter() - t0
    run = emulate(net, m, steps, noc="analytic")
    e = energy_report(run)
    return {"net": net, "mapping": m, "run": run, "energy": e, "build_s": build, "map_s": map_s}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a quarter of the channels (a smoke run)")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    scale = 4 if args.quick else 1
    res = {k: one(k == "explicit", args.steps, scale, args.seed) for k in ("conv", "explicit")}
    c, x = res["conv"], res["explicit"]
    net = c["net"]
    print(f"network {net.name}: {net.n_compartments} compartments, {net.n_inputs} inputs, "
          f"{net.n_synapses} synapses, {args.steps} steps; chip loihi1-silicon, mapper traffic")
    print(f"{'':34}{'conv encoding':>16}{'explicit (sparse)':>20}{'explicit / conv':>17}")

    def row(label, a, b, fmt="{:,.0f}"):
        ratio = f"{b / a:.2f}x" if a and b else "n/a"
        print(f"{label:<34}{fmt.format(a):>16}{fmt.format(b):>20}{ratio:>17}")

    row("cores", c["mapping"].n_cores, x["mapping"].n_cores)
    for key in ("synapse_bits", "kernel_bits", "fanin_axons", "compartments"):
        row(f"max {key} per core" if key != "kernel_bits" else "kernel bits (all cores)",
            int(c["mapping"].usage[key].max() if key != "kernel_bits" else c["mapping"].usage[key].sum()),
            int(x["mapping"].usage[key].max() if key != "kernel_bits" else x["mapping"].usage[key].sum()))
    row("synaptic memory, all cores (bits)", int(c["mapping"].usage["synapse_bits"].sum()),
        int(x["mapping"].usage["synapse_bits"].sum()))
    row("network object synapse arrays (B)", _explicit_bytes(c["net"]), _explicit_bytes(x["net"]))
    row("dynamic energy per synaptic op (pJ)", 1e12 * c["energy"]["dynamic_per_synaptic_op_j"],
        1e12 * x["energy"]["dynamic_per_synaptic_op_j"], "{:.1f}")
    row("synaptic-op energy (uJ)", 1e6 * c["energy"]["breakdown"]["synaptic_ops"],
        1e6 * x["energy"]["breakdown"]["synaptic_ops"], "{:.2f}")
    row("mapping wall time (s)", c["map_s"], x["map_s"], "{:.1f}")
    print("cores by encoding, conv network:    ", dict(Counter(c["mapping"].encoding["cores"])))
    print("cores by encoding, explicit network:", dict(Counter(x["mapping"].encoding["cores"])))
    same = c["run"].spikes == x["run"].spikes
    print(f"spikes identical: {same}")
    if not args.quick:
        print(f"cores / silicon layout ({SILICON_CORES} cores): conv encoding {c['mapping'].n_cores / SILICON_CORES:.2f}, "
              f"explicit {x['mapping'].n_cores / SILICON_CORES:.2f}")
    return 0 if same else 1


def _explicit_bytes(net) -> int:
    """Bytes of the explicit synapse arrays the Network object holds (shared projections: kernels)."""
    total = 0
    for p in net.projections:
        if hasattr(p, "kernel"):
            total += p.kernel.nbytes
        else:
            total += p.src.nbytes + p.dst.nbytes + p.weight.nbytes + p.delay.nbytes
    return total


if __name__ == "__main__":
    raise SystemExit(main())
