#!/usr/bin/env python
"""Benchmark: the SimPy NoC against its first implementation, on a program's real traffic.

    python bench/noc_simpy.py [--program programs/brunel.py] [--param NAME=VALUE ...]
                              [--chip loihi1] [--mapper traffic] [--steps N] [--repeat 1]

Records every step's trains of ``chipemu run PROGRAM`` (the chip runner's calls to the NoC
model; the NoC is not simulated while recording), then replays them through the first
SimPy model (``tests/noc_oracle.py``: one SimPy process per chunk) and through the current
one (``chipemu.noc.SimpyNoc``) in both its executions (pure-Python bookkeeping, one SimPy
event per instant; compiled kernel, one SimPy event per NoC cycle), alternating
``--repeat`` times, each on a fresh model.
Prints the CPU time (and wall time) of each replay, the SimPy events each model processes
(counted in one more, untimed replay, so the counting costs no time in the figures), and
whether every step's result, the per-link and per-core counters and the totals are
bit-identical (they must be).  CPU time is the fair figure on a shared machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def record(program: str, params: list[str], chip: str, mapper: str):
    """The trains of every step of ``chipemu run PROGRAM`` and the mapping's core_router."""
    import numpy as np

    from chipemu.chip import emulate
    from chipemu.chips import load_hardware
    from chipemu.cli import _parse_params
    from chipemu.loading import load_network_arg
    from chipemu.noc import NOC_KINDS, SimpyNoc
    from chipemu.noc.result import NocStepResult
    from mapper import map_network

    steps, routers = [], []

    class Recorder(SimpyNoc):
        def step(self, src_core, dst_core, count):
            steps.append((np.array(src_core), np.array(dst_core), np.array(count)))
            routers.append(self.core_router)
            return NocStepResult()

    net, _ = load_network_arg(program, _parse_params(params))
    hw = load_hardware(chip)
    mapping = map_network(net, hw, mapper=mapper, seed=0)
    NOC_KINDS["record"] = Recorder
    try:
        emulate(net, mapping, None, noc="record")
    finally:
        del NOC_KINDS["record"]
    return hw, routers[0], steps


def replay(cls, hw, core_router, steps):
    """Run the steps through a fresh model; ``(results, model, cpu s, wall s)``."""
    noc = cls(hw, core_router)
    cpu, wall = time.process_time(), time.perf_counter()
    results = [noc.step(*s) for s in steps]
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return results, noc, cpu, wall


def count_events(cls, hw, core_router, steps) -> int:
    """SimPy events a fresh model processes on the steps (a separate, untimed replay: the
    counting wrapper around ``Environment.step`` costs more the more events a model has)."""
    import simpy.core

    events = [0]
    original = simpy.core.Environment.step

    def counting_step(env):
        events[0] += 1
        return original(env)

    simpy.core.Environment.step = counting_step
    try:
        noc = cls(hw, core_router)
        for s in steps:
            noc.step(*s)
    finally:
        simpy.core.Environment.step = original
    return events[0]


def identical(a, b) -> bool:
    import numpy as np

    (ra, na), (rb, nb) = a, b
    return ([repr(r) for r in ra] == [repr(r) for r in rb] and repr(na.totals) == repr(nb.totals)
            and all(np.array_equal(getattr(na, k), getattr(nb, k))
                    for k in ("link_packets", "core_packets_out", "core_packets_in")))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--program", default="programs/brunel.py")
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--chip", default="loihi1", help="chip or system (default loihi1)")
    ap.add_argument("--mapper", default="traffic")
    ap.add_argument("--steps", type=int, default=None, help="replay only the first N steps")
    ap.add_argument("--repeat", type=int, default=1, help="alternating replays of each model")
    a = ap.parse_args(argv)
    import os

    from chipemu.noc import SimpyNoc
    from noc_oracle import OracleSimpyNoc

    program = str(ROOT / a.program) if not Path(a.program).is_absolute() else a.program
    hw, core_router, steps = record(program, a.param, a.chip, a.mapper)
    steps = steps[:a.steps]
    trains = sum(int(s[0].size) for s in steps)
    print(f"{a.program} on {a.chip} (mapper {a.mapper}): {len(steps)} steps, {trains:,} trains recorded")
    from functools import partial

    from chipemu.noc.simpy_model import KERNEL_AVAILABLE

    runs = {"first model (tests/noc_oracle.py)": OracleSimpyNoc,
            "current model, pure Python": partial(SimpyNoc, compiled=False)}
    if KERNEL_AVAILABLE:
        runs["current model, compiled kernel"] = partial(SimpyNoc, compiled=True)
    else:
        print("  (the compiled kernel _chipemu_noc_kernel is not installed: its row is missing)")
    best, last = {}, {}
    for _ in range(a.repeat):
        for name, cls in runs.items():
            results, noc, cpu, wall = replay(cls, hw, core_router, steps)
            print(f"  {name:38s} {cpu:7.2f} s CPU {wall:7.2f} s wall (load average {os.getloadavg()[0]:.1f})")
            best[name] = min(best.get(name, cpu), cpu)
            last[name] = (results, noc)
    for name, cls in runs.items():
        print(f"  {name:38s} {count_events(cls, hw, core_router, steps):,} SimPy events (untimed replay)")
    names = list(runs)
    old = best[names[0]]
    same = all(identical(last[names[0]], last[n]) for n in names[1:])
    for name in names[1:]:
        new = best[name]
        ratio = f"{old / new:.2f}x" if new > 0 else "n/a (no traffic)"
        print(f"  speed-up of the {name[len('current model, '):]} over the first model, CPU (best of {a.repeat}): {ratio}")
    print(f"  results bit-identical: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
