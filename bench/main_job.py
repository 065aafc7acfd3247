#!/usr/bin/env python
"""Benchmark: README's main job, whole process, ``chipemu run`` vs ``chipemu simulate``, same run.

    python bench/main_job.py [--program programs/brunel.py | --ei-local N] [--param NAME=VALUE ...]
                             [--chip loihi1] [--mapper traffic] [--noc simpy] [--repeat 1] [--phases]
                             [--one-process] [--critical-path]

Runs ``chipemu simulate PROGRAM`` and ``chipemu run PROGRAM`` as separate processes (what a
user waits for: interpreter start, imports, building the network, mapping, emulation,
energy and baseline, report.json, spikes.npz, report.html and its figures) and prints
both wall and CPU times and the wall-time ratio.  Target: run <= 5x simulate on
programs/brunel.py.  ``chipemu run`` forks a helper process on a machine with two or more
CPUs (chipemu.sidecar); ``--one-process`` also times the same run without it
(``chipemu.cli.main``), to show what it saves in the same run.  ``--critical-path`` times, in
CPU seconds, what an idle machine waits for with the helper (the main process plus the
larger figure group): on a busy machine, where a second process gets no CPU of its own,
the wall times cannot show it.

``--phases`` also times the phases of ``run`` in this process (build, map, reference
runner, emulate, energy + baseline, report files), to show where the time goes, and prints
the ratio emulation / reference runner (target with the SimPy NoC: <= 10x).

``--ei-local N`` runs a saved flat file instead: the ring-local random E/I network of
bench/networks.py (N compartments, fan-out 100, 200 steps), the workload of the SANA-FE
comparison (``--ei-local 10000 --chip loihi1-silicon --mapper sequential``).  A same-run
SANA-FE comparison (target: run <= 0.5x SANA-FE on the same network and mapping) needs
SANA-FE installed, which chipemu does not depend on; see bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

CLI = "import sys; from chipemu.cli import console_main; sys.exit(console_main())"


#: ``chipemu`` run in one process: cli.main, which forks no helper (chipemu.sidecar)
CLI_ONE_PROCESS = "import sys; from chipemu.cli import main; sys.exit(main())"


#: ``chipemu run`` with its helper process whatever the load; prints the main process's CPU
#: time and each figure group's (the part of the run an idle machine waits for)
CLI_CRITICAL_PATH = """
import os, resource, sys, time
import chipemu.sidecar as sidecar
sidecar._spare_cpu = lambda: True
split = sidecar._draw_split
def timed_split(render, report, spikes, ways):
    def timed(report, spikes, names):
        cpu = time.process_time()
        out = render(report, spikes, names)
        print(f"figure-group-cpu {time.process_time() - cpu:.6f}", file=sys.stderr, flush=True)
        return out
    return split(timed, report, spikes, ways)
sidecar._draw_split = timed_split
from chipemu.cli import console_main
rc = console_main()
me = resource.getrusage(resource.RUSAGE_SELF)
print(f"main-process-cpu {me.ru_utime + me.ru_stime:.6f}", file=sys.stderr)
sys.exit(rc)
"""


def critical_path(argv: list[str]) -> tuple[float, float]:
    """(main process CPU s + the larger figure group's CPU s, total CPU s) of ``chipemu ARGV``
    with its helper: what an idle machine with a CPU to spare waits for, measured as CPU
    time, so that a busy machine (where a second process gets no CPU of its own) can
    estimate it too.  The helper's import and reference run overlap the emulation."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, "-c", CLI_CRITICAL_PATH, *argv], capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"chipemu {argv[0]} failed: {proc.stderr.strip()[-500:]}")
    lines = proc.stderr.splitlines()
    main_cpu = sum(float(x.split()[1]) for x in lines if x.startswith("main-process-cpu"))
    groups = [float(x.split()[1]) for x in lines if x.startswith("figure-group-cpu")]
    total = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return main_cpu + max(groups, default=0.0), total


def whole_process(argv: list[str], cli: str = CLI) -> tuple[float, float]:
    """(wall s, CPU s) of ``chipemu ARGV`` as its own process (CPU: user + system of it and
    of the processes it forked and waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", cli, *argv], capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):  # 1: a program's check failed, the run itself worked
        raise SystemExit(f"chipemu {argv[0]} failed: {proc.stderr.strip()[-500:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def phases(program: str, params: list[str], noc: str, out: Path, chip: str = "loihi1",
           mapper: str = "traffic") -> dict[str, tuple[float, float]]:
    """Time the phases of ``chipemu run`` in this process: ``{phase: (wall s, CPU s)}``."""
    from chipemu.baseline import baseline_report
    from chipemu.chip import emulate
    from chipemu.chips import load_chip
    from chipemu.rundir import write_run_dir
    from chipemu.energy import energy_report
    from chipemu.cli import _parse_params
    from chipemu.loading import load_network_arg
    from chipemu.reference import run as reference_run
    from chipemu.report import build_report
    from mapper import map_network

    times = {}

    def timed(name, f, *args, **kwargs):
        """Call f; record (wall s, CPU s of this process) under ``name``."""
        wall, cpu = time.perf_counter(), time.process_time()
        result = f(*args, **kwargs)
        times[name] = (time.perf_counter() - wall, time.process_time() - cpu)
        return result

    net, _ = timed("build the network", load_network_arg, program, _parse_params(params))
    mapping = timed(f"map ({mapper})", map_network, net, load_chip(chip), mapper=mapper, seed=0)
    timed("reference runner (host, for the ratio below)", reference_run, net)
    run = timed(f"emulate ({noc} NoC)", emulate, net, mapping, None, noc=noc)

    def report():
        energy = energy_report(run)
        baseline = baseline_report(run, energy, measure=True)
        run.report = build_report(run, seed=0, network_source=program, energy=energy, baseline=baseline)

    timed("energy + baseline (measured reference run)", report)
    timed("report files (json, npz, html, figures)", write_run_dir, run, out)
    return times


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--program", default="programs/brunel.py")
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--ei-local", type=int, default=None, metavar="N",
                    help="run the ring-local random E/I network of N compartments (a flat file) instead")
    ap.add_argument("--chip", default="loihi1")
    ap.add_argument("--mapper", default="traffic")
    ap.add_argument("--noc", default="simpy", choices=["simpy", "analytic"])
    ap.add_argument("--repeat", type=int, default=1, help="best of N processes for each command")
    ap.add_argument("--phases", action="store_true", help="also time the phases of run in this process")
    ap.add_argument("--critical-path", action="store_true",
                    help="also measure run's critical path in CPU time (main process + larger figure group)")
    ap.add_argument("--one-process", action="store_true",
                    help="also time the run in one process, without its helper process (chipemu.sidecar)")
    ap.add_argument("--sana-fe-s", type=float, default=None, metavar="SECONDS",
                    help="SANA-FE's whole-process time on the same network and mapping, measured separately")
    args = ap.parse_args(argv)
    program = str((ROOT / args.program) if not Path(args.program).is_absolute() else args.program)
    extra = [x for p in args.param for x in ("--param", p)]
    with tempfile.TemporaryDirectory() as tmp:
        title = f"{args.program} {' '.join(args.param)}".strip()
        if args.ei_local:
            sys.path.insert(0, str(HERE))
            from networks import random_ei

            program, extra = f"{tmp}/ei_local.npz", []
            random_ei(args.ei_local, window=min(1000, args.ei_local // 4)).save(program)
            title = f"ring-local random E/I, {args.ei_local:,} compartments (flat file)"
        chip_args = ["--chip", args.chip, "--mapper", args.mapper, "--noc", args.noc]
        sim, sim_cpu = min(whole_process(["simulate", program, *extra, "--out", f"{tmp}/sim"])
                           for _ in range(args.repeat))
        run, run_cpu = min(whole_process(["run", program, *extra, *chip_args, "--out", f"{tmp}/run"])
                           for _ in range(args.repeat))
        print(f"{title}; chip {args.chip}, mapper {args.mapper}")
        print(f"  chipemu simulate, whole process   {sim:8.2f} s wall {sim_cpu:8.2f} s CPU")
        print(f"  chipemu run --noc {args.noc}, whole process {run:8.2f} s wall {run_cpu:8.2f} s CPU")
        if args.critical_path:
            cp, cp_total = min(critical_path(["run", program, *extra, *chip_args, "--out", f"{tmp}/cp"])
                               for _ in range(args.repeat))
            print(f"  run with its helper: main process + larger figure group {cp:8.2f} s CPU "
                  f"(total {cp_total:.2f} s CPU): what an idle machine waits for; ratio to simulate's CPU "
                  f"{cp / sim_cpu:.1f}x")
        if args.one_process:
            one, one_cpu = min(whole_process(["run", program, *extra, *chip_args, "--out", f"{tmp}/one"],
                                             CLI_ONE_PROCESS) for _ in range(args.repeat))
            print(f"  the same run in one process (no helper process) {one:8.2f} s wall {one_cpu:8.2f} s CPU; "
                  f"the helper saves {one - run:.2f} s wall (it starts only below a load average of "
                  f"{len(os.sched_getaffinity(0))}; now {os.getloadavg()[0]:.1f})")
        if args.sana_fe_s:
            print(f"  SANA-FE (given with --sana-fe-s, not measured here) {args.sana_fe_s:8.2f} s; ratio run / SANA-FE: "
                  f"{run / args.sana_fe_s:.2f}  (target <= 0.5)")
        print(f"  ratio run / simulate: {run / sim:.1f}x  wall (target <= 5x: {'met' if run <= 5 * sim else 'NOT met'})")
        if args.phases:
            times = phases(program, [] if args.ei_local else args.param, args.noc, Path(tmp) / "phases",
                           args.chip, args.mapper)
            print(f"    {'phase':45s} {'wall':>8s}   {'CPU':>8s}")
            for name, (wall, cpu) in times.items():
                print(f"    {name:45s} {wall:8.2f} s {cpu:8.2f} s")
            emu, ref = times[f"emulate ({args.noc} NoC)"], times["reference runner (host, for the ratio below)"]
            target = " (target <= 10x)" if args.noc == "simpy" else ""
            print(f"  ratio emulate ({args.noc} NoC) / reference runner: {emu[0] / ref[0]:.1f}x wall, "
                  f"{emu[1] / ref[1]:.1f}x CPU{target}; load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
