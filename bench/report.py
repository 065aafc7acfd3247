#!/usr/bin/env python
"""Benchmark: time to draw every report figure, on a 128-core chip and a 4,096-core mesh.

    python bench/report.py [--n 10000] [--big-n 40960] [--steps 200] [--repeat 3] [--out DIR]

Two real runs (mapping + emulation with the analytic NoC, not timed), then every figure of
``report.html`` is drawn from the run's report dict and spike raster, best of ``--repeat``:

* **128-core chip**: :func:`networks.random_ei` (ring-local, fan-out 100) on loihi1, spread
  over all 128 cores (``max_per_core`` = n / 128).
* **4,096-core mesh**: a loihi1-like chip of 32 x 32 routers x 4 cores (the chip TOML is
  written to a temporary folder), a ring-local random E/I network of ``--big-n``
  compartments (fan-out 20) on all 4,096 cores.

Prints the drawing time of each figure and of all of them (PNG encoding included), and the
ratio of the total to its target (< 1 s at 128 cores, < 3 s at 4,096 cores).  The
baseline measured in the same run is matplotlib's own floor: drawing and encoding one empty
figure of the same pixel size as each report figure, so the ``x floor`` column says how
much the content itself costs.  ``--out DIR`` also writes the PNGs for a look.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from networks import random_ei  # noqa: E402

from chipemu.chips import load_chip  # noqa: E402
from chipemu.pipeline import run_network  # noqa: E402


def _big_chip_toml(folder: Path, columns: int, rows: int) -> Path:
    """loihi1's TOML with a ``columns x rows`` mesh (4 cores per router) and a new name."""
    src = (HERE.parent / "chipemu" / "chips" / "loihi1.toml").read_text()
    lines = []
    for line in src.splitlines():
        key = line.split("=")[0].strip()
        if key == "name":
            line = f'name = "mesh{columns}x{rows}"'
        elif key == "columns":
            line = f"columns = {columns}"
        elif key == "rows":
            line = f"rows = {rows}"
        elif key == "barrier_tiles":
            line = f"barrier_tiles = [1, {columns * rows}]"
        lines.append(line)
    path = folder / f"mesh{columns}x{rows}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _time_figures(report: dict, spikes, repeat: int, out: Path | None, tag: str) -> tuple[dict, dict, dict]:
    from matplotlib.figure import Figure

    from chipemu.report import figures as F

    makers = {"raster": lambda: F.fig_raster(report, spikes), "latency": lambda: F.fig_latency(report),
              "energy": lambda: F.fig_energy(report), "cores": lambda: F.fig_core_utilisation(report),
              "links": lambda: F.fig_link_traffic(report)}
    best, floor, cpu = {}, {}, {}
    for name, make in makers.items():
        times, png, size = [], b"", (1, 1)
        for _ in range(repeat):
            t, c = time.perf_counter(), time.process_time()
            fig = make()
            png = F._png(fig)
            times.append(time.perf_counter() - t)
            cpu[name] = min(cpu.get(name, 1e9), time.process_time() - c)
            size = tuple(fig.get_size_inches())
        best[name] = min(times)
        empty = []
        for _ in range(repeat):
            t = time.perf_counter()
            F._png(Figure(figsize=size, dpi=F._DPI, facecolor="white"))
            empty.append(time.perf_counter() - t)
        floor[name] = min(empty)
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{tag}_{name}.png").write_bytes(png)
    if out is not None:  # the inputs too, to redraw them with `chipemu report`
        from chipemu.report import write_report

        (out / tag).mkdir(parents=True, exist_ok=True)
        write_report(report, out / tag / "report.json")
        spikes.save(out / tag / "spikes.npz")
    return best, floor, cpu


def _print(title: str, best: dict, floor: dict, cpu: dict, target_s: float) -> bool:
    total, total_floor, total_cpu = sum(best.values()), sum(floor.values()), sum(cpu.values())
    print(title)
    for name in best:
        print(f"  {name:8s} {best[name]:7.3f} s (cpu {cpu[name]:6.3f} s)   empty figure {floor[name]:6.3f} s   "
              f"{best[name] / max(floor[name], 1e-9):5.1f}x floor")
    ok = total < target_s
    print(f"  all      {total:7.3f} s (cpu {total_cpu:6.3f} s)   empty figures {total_floor:5.3f} s   "
          f"{total / max(total_floor, 1e-9):5.1f}x floor;  {total / target_s:.2f} of the {target_s:g} s target "
          f"({'met' if ok else 'NOT met'})")
    return ok


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000, help="compartments on the 128-core chip")
    ap.add_argument("--big-n", type=int, default=40_960, help="compartments on the 4,096-core mesh")
    ap.add_argument("--mesh", type=int, nargs=2, default=(32, 32), metavar=("COLUMNS", "ROWS"),
                    help="router mesh of the big chip (4 cores per router; default 32 32 = 4,096 cores)")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3, help="best of N drawings")
    ap.add_argument("--out", type=Path, default=None, help="also write the PNGs here")
    args = ap.parse_args(argv)

    chip = load_chip("loihi1")
    net = random_ei(args.n, fanout=100, steps=args.steps, window=min(1000, args.n // 4))
    per_core = -(-net.n_compartments // chip.n_cores)
    run = run_network(net, chip, "sequential", noc="analytic", max_per_core=per_core, measure_baseline=False)
    best, floor, cpu = _time_figures(run.report, run.spikes, args.repeat, args.out, "chip128")
    _print(f"{chip.name}: {run.report['mapping']['cores_used']} of {chip.n_cores} cores, "
                 f"{net.n_compartments:,} compartments, {args.steps} steps, {len(run.spikes):,} spikes", best, floor, cpu, 1.0)

    with tempfile.TemporaryDirectory() as tmp:
        big = load_chip(_big_chip_toml(Path(tmp), *args.mesh))
    net = random_ei(args.big_n, fanout=20, steps=args.steps, window=min(200, args.big_n // 4))
    per_core = -(-net.n_compartments // big.n_cores)
    run = run_network(net, big, "sequential", noc="analytic", max_per_core=per_core, measure_baseline=False)
    best, floor, cpu = _time_figures(run.report, run.spikes, args.repeat, args.out, f"chip{big.n_cores}")
    _print(f"{big.name}: {run.report['mapping']['cores_used']} of {big.n_cores} cores, "
                 f"{net.n_compartments:,} compartments, {args.steps} steps, {len(run.spikes):,} spikes", best, floor, cpu, 3.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
