#!/usr/bin/env python
"""Benchmark: README's main job, whole process, ``chipemu run`` vs ``chipemu simulate``, same run.

    python bench/main_job.py [--program programs/brunel.py] [--param NAME=VALUE ...] [--noc simpy]
                             [--repeat 1] [--phases]

Runs ``chipemu simulate PROGRAM`` and ``chipemu run PROGRAM`` as separate processes (what a
user waits for: interpreter start, imports, building the network, mapping, emulation,
energy and baseline, report.json, spikes.npz, report.html and its figures) and prints
both wall times and their ratio.  Target: run <= 5x simulate on programs/brunel.py.

``--phases`` also times the phases of ``run`` in this process (build, map, emulate,
energy + baseline, report files), to show where the time goes.

A SANA-FE comparison (target: run <= 0.5x SANA-FE on the same network and mapping) needs
SANA-FE installed, which chipemu does not depend on; see bench/README.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

CLI = "import sys; from chipemu.cli import main; sys.exit(main())"


def whole_process(argv: list[str]) -> float:
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CLI, *argv], capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    wall = time.perf_counter() - t
    if proc.returncode not in (0, 1):  # 1: a program's check failed, the run itself worked
        raise SystemExit(f"chipemu {argv[0]} failed: {proc.stderr.strip()[-500:]}")
    return wall


def phases(program: str, params: list[str], noc: str, out: Path) -> dict[str, float]:
    from chipemu.baseline import baseline_report
    from chipemu.chip import emulate
    from chipemu.chips import load_chip
    from chipemu.rundir import write_run_dir
    from chipemu.energy import energy_report
    from chipemu.cli import _parse_params
    from chipemu.loading import load_network_arg
    from chipemu.report import build_report
    from mapper import map_network

    times = {}
    t = time.perf_counter()
    net, _ = load_network_arg(program, _parse_params(params))
    times["build the network"] = time.perf_counter() - t
    t = time.perf_counter()
    mapping = map_network(net, load_chip("loihi1"), mapper="traffic", seed=0)
    times["map (traffic)"] = time.perf_counter() - t
    t = time.perf_counter()
    run = emulate(net, mapping, None, noc=noc)
    times[f"emulate ({noc} NoC)"] = time.perf_counter() - t
    t = time.perf_counter()
    energy = energy_report(run)
    baseline = baseline_report(run, energy, measure=True)
    run.report = build_report(run, seed=0, network_source=program, energy=energy, baseline=baseline)
    times["energy + baseline (measured reference run)"] = time.perf_counter() - t
    t = time.perf_counter()
    write_run_dir(run, out)
    times["report files (json, npz, html, figures)"] = time.perf_counter() - t
    return times


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--program", default="programs/brunel.py")
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--noc", default="simpy", choices=["simpy", "analytic"])
    ap.add_argument("--repeat", type=int, default=1, help="best of N processes for each command")
    ap.add_argument("--phases", action="store_true", help="also time the phases of run in this process")
    args = ap.parse_args(argv)
    program = str((ROOT / args.program) if not Path(args.program).is_absolute() else args.program)
    extra = [x for p in args.param for x in ("--param", p)]
    with tempfile.TemporaryDirectory() as tmp:
        sim = min(whole_process(["simulate", program, *extra, "--out", f"{tmp}/sim"]) for _ in range(args.repeat))
        run = min(whole_process(["run", program, *extra, "--noc", args.noc, "--out", f"{tmp}/run"])
                  for _ in range(args.repeat))
        print(f"{args.program} {' '.join(args.param)}".strip())
        print(f"  chipemu simulate, whole process   {sim:8.2f} s")
        print(f"  chipemu run --noc {args.noc}, whole process {run:8.2f} s")
        print(f"  ratio run / simulate: {run / sim:.1f}x  (target <= 5x: {'met' if run <= 5 * sim else 'NOT met'})")
        if args.phases:
            for name, s in phases(program, args.param, args.noc, Path(tmp) / "phases").items():
                print(f"    {name:45s} {s:8.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
