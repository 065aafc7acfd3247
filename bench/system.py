#!/usr/bin/env python
"""Benchmark: a network too big for one chip, on a system of chips (``nahuku32``).

    python bench/system.py [--quick | --n N] [--steps N] [--chip SYSTEM] [--mapper NAME] [--simpy] [--keep DIR]
                           [--map-only]

The workload is the uniform random 80/20 E/I network of ``bench/networks.py``: 100k
compartments, fan-out 100 (10M recurrent synapses), 10k Bernoulli input sources of 500
targets each (5M input synapses), ~0.5 % of compartments firing per step.  It needs
about 3,000 of Loihi 1's cores (fan-in axon slots run out first), ~24 chips.

Measured, each in a fresh process (wall time and peak resident memory of that process;
for ``run`` also its CPU time and the load average, since the machine may be shared).
``chipemu run`` may fork a helper process (``chipemu.sidecar``, only for networks of at most
64 MiB of arrays, so never at the full 100k): child processes' CPU time is added to the
run's; the peak memory judged is the run process's own, and its largest child's peak is
printed beside it (a fork's peak includes the pages it shares with its parent):

* ``map``: loading the network file and :func:`mapper.map_network` onto ``nahuku32``
  (target: < 20 s for the mapping itself; wall and CPU time and the load average), and the
  traffic of the mapping when every source spikes once (packets, packets that cross chips,
  packet-hops, the busiest link's packets); the ``sequential`` mapper is mapped too, as the
  baseline of the same run (``--map-only``: only this step);
* ``run``: the whole ``chipemu run NET --chip nahuku32 --noc analytic`` (load + map +
  emulate + energy + report); target < 60 s and < 4 GB;
* with ``--simpy``: the same with the SimPy NoC (target < 5 minutes);
* the baseline, measured in the same run: the host reference runner
  (``chipemu.reference.run``) on the same network and steps; the ratios print
  ``run / reference``.

``--quick`` shrinks the network 10x (10k compartments, same fan-out and firing; a smoke
test, it does not judge the targets); ``--n N`` sets any size (the targets are judged only
at the full 100k).  The network file is written once to a temporary
directory (``--keep DIR`` keeps it there).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

TARGETS = {"map_s": 20.0, "run_s": 60.0, "run_gb": 4.0, "simpy_s": 300.0}

_CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
t0 = time.perf_counter()
what, net_path, chip, steps, mapper = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
out = {{}}
if what == "map":
    import os
    import numpy as np
    from chipemu import Network
    from mapper import build_graph, map_network
    net = Network.load(net_path)
    t1, c1 = time.perf_counter(), time.process_time()
    m = map_network(net, chip, mapper=mapper, seed=0)
    out.update(map_only_s=time.perf_counter() - t1, map_cpu_s=time.process_time() - c1, cores=m.n_cores,
               chips_used=m.chips_used, load=os.getloadavg()[0],
               map_peak_gb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6)
    g = build_graph(net)  # traffic figures, every source spiking once (not timed)
    q = m.quality(g)
    indptr, cores = m.destinations(g)
    src_chip = m.core_chip[m.source_core]
    crossing = m.core_chip[cores] != np.repeat(src_chip, np.diff(indptr))
    out.update(packets=q["packets"], packet_hops=q["packet_hops"], max_link_load=q["max_link_load"],
               interchip_packets=int(crossing.sum()))
elif what == "reference":
    from chipemu import Network
    from chipemu.reference import run
    net = Network.load(net_path)
    t1 = time.perf_counter()
    r = run(net, steps)
    out.update(loop_s=time.perf_counter() - t1, spikes=len(r.spikes))
else:
    from chipemu.cli import console_main
    rc = console_main(["run", net_path, "--chip", chip, "--noc", what, "--steps", str(steps), "--mapper", mapper,
               "--out", sys.argv[6]])
    out["rc"] = rc
out["wall_s"] = time.perf_counter() - t0
usage = resource.getrusage(resource.RUSAGE_SELF)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # chipemu run's helper processes (chipemu.sidecar)
out["peak_gb"] = usage.ru_maxrss / 1e6
# a forked child's peak counts the pages it shares with this process at the fork (even a
# short-lived one, such as platform.processor()'s `uname -p`), so it is printed apart
out["child_peak_gb"] = kids.ru_maxrss / 1e6
out["cpu_s"] = usage.ru_utime + usage.ru_stime + kids.ru_utime + kids.ru_stime
print(json.dumps(out))
"""


def child(what: str, net_path: Path, chip: str, steps: int, mapper: str, out_dir: Path | None = None) -> dict:
    """Run one measurement in a fresh Python process; returns its JSON line."""
    code = _CHILD.format(root=str(ROOT))
    args = [sys.executable, "-c", code, what, str(net_path), chip, str(steps), mapper]
    args += [str(out_dir)] if out_dir else []
    t0 = time.perf_counter()
    p = subprocess.run(args, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{what} failed:\n{p.stderr[-2000:]}")
    res = json.loads(p.stdout.strip().splitlines()[-1])
    res["process_s"] = wall
    return res


def build(n: int, steps: int, path: Path) -> dict:
    from networks import random_ei

    t0 = time.perf_counter()
    net = random_ei(n, fanout=100, steps=steps, seed=1, input_fraction=0.1, input_fanout=500,
                    input_rate=0.0014)
    net.save(path)
    f = net.flat()
    return {"compartments": f.n, "recurrent_synapses": f.m, "input_synapses": int(f.in_src.size),
            "build_s": time.perf_counter() - t0}


def map_step(net_path: Path, a, judge: bool) -> dict:
    """Map with ``a.mapper`` and, as the baseline of the same run, with ``sequential``; print
    time (wall and CPU, with the load average) and the traffic figures of both mappings."""
    names = [a.mapper] + (["sequential"] if a.mapper != "sequential" else [])
    res = {name: child("map", net_path, a.chip, a.steps, name) for name in names}
    for name, mp in res.items():
        print(f"map on {a.chip} (mapper {name}): {mp['map_only_s']:.1f} s mapping ({mp['map_cpu_s']:.1f} s CPU, "
              f"load average {mp['load']:.1f}; {mp['wall_s']:.1f} s with loading), {mp['cores']:,} cores on "
              f"{mp['chips_used']} chips, peak {mp['map_peak_gb']:.2f} GB"
              + ("" if not judge or name != a.mapper else f"  [target < {TARGETS['map_s']:.0f} s: "
                 f"{'met' if mp['map_only_s'] < TARGETS['map_s'] else 'NOT met'}]"))
        print(f"  traffic when every source spikes once: {mp['packets']:,.0f} packets, "
              f"{mp['interchip_packets']:,} cross chips, {mp['packet_hops']:,.0f} packet-hops, "
              f"busiest link {mp['max_link_load']:,.0f} packets")
    if len(names) == 2:
        mp, sq = res[a.mapper], res["sequential"]
        print(f"  {a.mapper} / sequential: time {mp['map_only_s'] / sq['map_only_s']:.2f}x, " + ", ".join(
            f"{k.replace('_', ' ')} {mp[k] / sq[k]:.3f}x" for k in ("packets", "interchip_packets", "packet_hops",
                                                                    "max_link_load") if sq[k]))
    return res[a.mapper]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="10k compartments (smoke test; targets not judged)")
    ap.add_argument("--n", type=int, help="compartments (default 100,000; 10,000 with --quick)")
    ap.add_argument("--steps", type=int, default=200, help="timesteps (default 200)")
    ap.add_argument("--simpy", action="store_true", help="also run with the SimPy NoC")
    ap.add_argument("--chip", default="nahuku32", help="system (default nahuku32)")
    ap.add_argument("--mapper", default="traffic", help="mapper (default traffic, chipemu run's default)")
    ap.add_argument("--keep", metavar="DIR", help="keep the network file and run directories in DIR")
    ap.add_argument("--map-only", action="store_true",
                    help="only the map step (the mapper and the sequential baseline), no reference or run")
    a = ap.parse_args(argv)
    n = a.n if a.n is not None else 10_000 if a.quick else 100_000
    if n < 10:
        ap.error(f"--n {n}: at least 10 compartments")
    judge = n == 100_000  # the targets are for the full-size network only
    tmp = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="chipemu-bench-system-"))
    tmp.mkdir(parents=True, exist_ok=True)
    net_path = tmp / f"random_ei_{n}.net.npz"
    if net_path.exists():  # kept from an earlier run (--keep): same seed, same network
        from chipemu import Network
        f = Network.load(net_path).flat()
        info = {"compartments": f.n, "recurrent_synapses": f.m, "input_synapses": int(f.in_src.size), "build_s": 0.0}
    else:
        info = build(n, a.steps, net_path)
    print(f"network: {info['compartments']:,} compartments, {info['recurrent_synapses']:,} recurrent + "
          f"{info['input_synapses']:,} input synapses, {a.steps} steps (built in {info['build_s']:.1f} s)")
    if a.map_only:
        map_step(net_path, a, judge)
        if not a.keep:
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)
        return 0
    ref = child("reference", net_path, a.chip, a.steps, a.mapper)
    print(f"baseline: host reference runner {ref['wall_s']:.1f} s in its process ({ref['cpu_s']:.1f} s CPU; "
          f"{ref['loop_s']:.1f} s loop), {ref['spikes']:,} spikes "
          f"({100 * ref['spikes'] / (a.steps * n):.2f} % per step), peak {ref['peak_gb']:.2f} GB")
    map_step(net_path, a, judge)
    rows = [("analytic", "run_s")] + ([("simpy", "simpy_s")] if a.simpy else [])
    for noc, target in rows:
        out = tmp / f"run_{noc}"
        r = child(noc, net_path, a.chip, a.steps, a.mapper, out)
        rep = json.loads((out / "report.json").read_text())
        ok = r["process_s"] < TARGETS[target] and (noc != "analytic" or r["peak_gb"] < TARGETS["run_gb"])
        print(f"chipemu run --noc {noc}: {r['process_s']:.1f} s whole process ({r['cpu_s']:.1f} s CPU, load "
              f"average {os.getloadavg()[0]:.1f}), peak {r['peak_gb']:.2f} GB "
              f"(largest child process {r.get('child_peak_gb', 0.0):.2f} GB, shared pages included), "
              f"{r['process_s'] / ref['wall_s']:.1f}x the reference runner "
              f"({r['cpu_s'] / ref['cpu_s']:.1f}x in CPU time); "
              f"{rep['spikes']['total']:,} spikes "
              f"({'identical count' if rep['spikes']['total'] == ref['spikes'] else 'DIFFERENT'}), "
              f"{rep['noc']['packets']:,} packets, {rep['noc']['interchip_packets']:,} crossed chips"
              + ("" if not judge else f"  [target < {TARGETS[target]:.0f} s"
                 + (f", < {TARGETS['run_gb']:.0f} GB" if noc == "analytic" else "")
                 + f": {'met' if ok else 'NOT met'}]"))
    if not a.keep:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
