#!/usr/bin/env python
"""Benchmark: the host reference runner vs Brian2's cython runtime on the same network.

    python bench/reference.py [--sizes 10000 100000] [--steps 200] [--brian2-python PATH]

Workload: :func:`networks.random_ei` (80/20 E/I, fan-out 100, delays 0-7, ~1.5 % of
compartments firing per step).  For each size it prints, for chipemu's reference runner:
build time (synapse tables), loop time, steps/s, synaptic events/s and bytes per synapse
held (the CSR tables the runner keeps), then the same network run by Brian2 in the same
run (``bench/brian2_side.py`` under a separate Python that has brian2, see
bench/README.md), whether the two rasters are identical, and the ratios.
Targets: loop at least as fast as Brian2 cython (ratio >= 1.0); <= 8 bytes per synapse.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from networks import random_ei  # noqa: E402

from chipemu.reference import run  # noqa: E402


def find_brian2_python(explicit: str | None) -> str | None:
    if explicit:
        return explicit
    try:
        import brian2  # noqa: F401
        return sys.executable
    except ImportError:
        pass
    default = next((p for p in (Path("/work/bench-venv/bin/python"), Path("/work/brian2env/bin/python")) if p.exists()), None)
    return str(default) if default is not None else None


def bench_size(n: int, steps: int, brian2_python: str | None, workdir: Path) -> dict:
    net = random_ei(n, steps=steps)
    net_path = workdir / f"random_ei_{n}.npz"
    net.save(net_path)
    res = run(net)
    syn = res.info.synapses
    ours = {
        "neurons": n, "synapses": syn, "steps": steps, "spikes": len(res.spikes),
        "firing_pct_per_step": 100.0 * len(res.spikes) / (n * steps),
        "build_s": res.info.build_s, "loop_s": res.info.loop_s,
        "steps_per_s": steps / res.info.loop_s,
        "events_per_s": res.synaptic_events / res.info.loop_s,
        "bytes_per_synapse": res.info.synapse_table_bytes / syn,
    }
    out = {"chipemu": ours}
    if brian2_python:
        spk_path = workdir / f"ours_{n}.npz"
        res.spikes.save(spk_path)
        json_path = workdir / f"brian2_{n}.json"
        cmd = [brian2_python, str(HERE / "brian2_side.py"), str(net_path), "--steps", str(steps),
               "--target", "cython", "--ref", str(spk_path), "--json-out", str(json_path)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            out["brian2_error"] = proc.stderr.strip().splitlines()[-1:] or ["failed"]
        else:
            b = json.loads(json_path.read_text())
            out["brian2"] = {k: b.get(k) for k in ("build_s", "run_s", "loop_s", "spikes", "exact_match")}
            out["ratio_loop"] = b["loop_s"] / ours["loop_s"]
            out["ratio_total"] = (b["build_s"] + b["run_s"]) / (ours["build_s"] + ours["loop_s"])
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--brian2-python", default=None, help="python with brian2 (default: this one if it has "
                                                          "brian2, else /work/bench-venv/bin/python if present)")
    ap.add_argument("--no-brian2", action="store_true")
    ap.add_argument("--json", default=None, help="also write the results as JSON here")
    args = ap.parse_args(argv)
    b2 = None if args.no_brian2 else find_brian2_python(args.brian2_python)
    if b2 is None and not args.no_brian2:
        print("brian2 not found: chipemu numbers only (see bench/README.md for the Brian2 venv)")
    results = []
    workdir = Path(tempfile.mkdtemp(prefix="chipemu-bench-"))
    try:
        for n in args.sizes:
            r = bench_size(n, args.steps, b2, workdir)
            results.append(r)
            o = r["chipemu"]
            print(f"\nrandom E/I, {n:,} compartments, {o['synapses']:,} synapses, {args.steps} steps, "
                  f"{o['firing_pct_per_step']:.2f} % firing/step")
            print(f"  chipemu reference: build {o['build_s']:.3f} s, loop {o['loop_s']:.3f} s, "
                  f"{o['steps_per_s']:.0f} steps/s, {o['events_per_s'] / 1e6:.1f} M synaptic events/s, "
                  f"{o['bytes_per_synapse']:.2f} bytes/synapse (target <= 8)")
            if "brian2" in r:
                b = r["brian2"]
                print(f"  brian2 cython:     build {b['build_s']:.3f} s, run {b['run_s']:.3f} s "
                      f"(loop {b['loop_s']:.3f} s), identical raster: {b['exact_match']}")
                print(f"  ratio (brian2 / chipemu, > 1 means chipemu faster): loop {r['ratio_loop']:.2f}x, "
                      f"build+run {r['ratio_total']:.2f}x")
            elif "brian2_error" in r:
                print(f"  brian2 failed: {r['brian2_error'][0]}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
