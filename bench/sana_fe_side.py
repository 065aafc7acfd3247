#!/usr/bin/env python
"""SANA-FE's side of bench/sana_fe.py: load a netlist and an architecture, simulate, time it.

    SANAFE_PYTHON bench/sana_fe_side.py NET.net ARCH.yaml STEPS [--threads K] [--count-group G]
                                        [--json-out R.json]

Runs under a Python that has SANA-FE's ``sanafe`` module (it is not a chipemu dependency;
bench/README.md) and uses only the standard library besides it.  Prints (and with
``--json-out`` writes) ``import_s`` (importing sanafe), ``load_s`` (parsing the
architecture and the netlist, loading the network onto the chip), ``sim_s`` (``sim``),
SANA-FE's ``spikes`` counter, its simulated chip time ``sim_time`` (seconds) and, with
``--count-group G``, ``group_spikes``: the spikes of neuron group G counted from a spike
trace (which costs time: use it in a check run, not a timed one).  The whole process,
interpreter start included, is timed by the caller.
"""

from __future__ import annotations

import argparse
import json
import time


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("net")
    ap.add_argument("arch")
    ap.add_argument("steps", type=int)
    ap.add_argument("--threads", type=int, default=1, help="SANA-FE processing threads (0: all cores)")
    ap.add_argument("--count-group", default=None, metavar="G", help="count the spikes of group G (traced)")
    ap.add_argument("--json-out", default=None)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    import sanafe

    t1 = time.perf_counter()
    arch = sanafe.load_arch(args.arch)
    net = sanafe.load_net(args.net, arch, use_netlist_format=True)
    chip = sanafe.SpikingChip(arch)
    chip.load(net)
    t2 = time.perf_counter()
    res = chip.sim(args.steps, processing_threads=args.threads, spike_trace=args.count_group is not None)
    t3 = time.perf_counter()
    out = {"import_s": t1 - t0, "load_s": t2 - t1, "sim_s": t3 - t2, "spikes": int(res.get("spikes", -1)),
           "sim_time": float(res.get("sim_time", float("nan"))), "timesteps": int(res.get("timesteps_executed", 0))}
    if args.count_group is not None:  # trace entries print as "group.neuron"
        out["group_spikes"] = sum(str(a).split(".")[0] == args.count_group for step in res["spike_trace"] for a in step)
    print(json.dumps(out))
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as fh:
            json.dump(out, fh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
