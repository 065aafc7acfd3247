#!/usr/bin/env python
"""Benchmark: whole-process ``chipemu simulate NET.npz`` vs Brian2 cython build + run, same run.

    python bench/simulate.py [--sizes 10000 100000] [--steps 100] [--repeat 3] [--brian2-python PATH]

For each size the random E/I network of :func:`networks.random_ei` (fan-out 100, delays
0-7) is saved as a flat file the way ``Network.save`` writes it.  Then, best of
``--repeat``:

* **chipemu**: wall time of the whole ``chipemu simulate NET.npz --out DIR`` process
  (interpreter start, imports, reading and validating the file, the run, writing
  spikes.npz), as a user waits for it;
* **Brian2**: ``bench/brian2_side.py NET.npz --target cython`` under a Python that has
  brian2 (bench/README.md): its ``build_s + run_s`` (network construction, code
  generation with a warm extension cache, and the run; the interpreter start and the
  brian2 import are *not* counted, in Brian2's favour).

Prints both, the ratio (target: chipemu / Brian2 <= 1) and whether the two rasters are
identical.  Without brian2 it prints chipemu's times only.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from networks import random_ei  # noqa: E402
from reference import find_brian2_python  # noqa: E402

CLI = "import sys; from chipemu.cli import console_main; sys.exit(console_main())"


def chipemu_simulate(net_path: Path, out: Path) -> tuple[float, str]:
    """Wall time of one ``chipemu simulate`` process, and its stdout."""
    env_path = str(HERE.parent)
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CLI, "simulate", str(net_path), "--out", str(out)],
                          capture_output=True, text=True, env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"})
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"chipemu simulate failed: {proc.stderr.strip()[-500:]}")
    return wall, proc.stdout


def brian2_build_run(b2: str, net_path: Path, ref: Path, steps: int, json_path: Path) -> dict:
    cmd = [b2, str(HERE / "brian2_side.py"), str(net_path), "--steps", str(steps), "--target", "cython",
           "--ref", str(ref), "--json-out", str(json_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(json_path.read_text())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--fanout", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3, help="best of N processes for each side")
    ap.add_argument("--brian2-python", default=None, help="python with brian2 (default: as bench/reference.py)")
    ap.add_argument("--no-brian2", action="store_true")
    args = ap.parse_args(argv)
    b2 = None if args.no_brian2 else find_brian2_python(args.brian2_python)
    if b2 is None and not args.no_brian2:
        print("brian2 not found: chipemu numbers only (see bench/README.md for the Brian2 venv)")
    work = Path(tempfile.mkdtemp(prefix="chipemu-bench-sim-"))
    try:
        for n in args.sizes:
            net = random_ei(n, fanout=args.fanout, steps=args.steps)
            path = work / f"random_ei_{n}.npz"
            net.save(path)
            mb = path.stat().st_size / 1e6
            ours = min(chipemu_simulate(path, work / "out")[0] for _ in range(args.repeat))
            print(f"\nrandom E/I {n:,} compartments, {net.n_synapses:,} synapses, {args.steps} steps "
                  f"(flat file {mb:.1f} MB)")
            print(f"  chipemu simulate, whole process  {ours:7.3f} s")
            if b2 is None:
                continue
            runs = [brian2_build_run(b2, path, work / "out" / "spikes.npz", args.steps, work / "b2.json")
                    for _ in range(args.repeat)]
            ok = [r for r in runs if "error" not in r]
            if not ok:
                print(f"  brian2 failed: {runs[0]['error']}")
                continue
            best = min(ok, key=lambda r: r["build_s"] + r["run_s"])
            theirs = best["build_s"] + best["run_s"]
            print(f"  brian2 cython, build + run       {theirs:7.3f} s   (build {best['build_s']:.3f} s, "
                  f"run {best['run_s']:.3f} s); identical raster: {best.get('exact_match')}")
            print(f"  ratio chipemu / brian2: {ours / theirs:.2f}  (target <= 1: "
                  f"{'met' if ours <= theirs else 'NOT met'})")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
