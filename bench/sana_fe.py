#!/usr/bin/env python
"""Benchmark: ``chipemu run`` vs SANA-FE on the same network and mapping, whole processes, same run.

    python bench/sana_fe.py [--n 10000] [--steps 200] [--chip loihi1-silicon] [--mapper sequential]
                            [--noc simpy] [--repeat 1] [--threads 1] [--sana-fe-python PATH]

The workload of issue 14's comparison: the ring-local random E/I network of
bench/networks.py (``--n`` compartments, fan-out 100, Bernoulli inputs), with every
synaptic delay 0 (SANA-FE's delay dendrite, ``accumulator_with_delay``, accepts at most 5
steps and, in a two-neuron test here, integrated only one of several spikes arriving in
consecutive steps; its plain ``accumulator`` delivers a spike the next step, as chipemu
does with delay 0),
mapped by chipemu's ``--mapper`` onto ``--chip``.  Both simulators get the same network
and the same placement of every compartment and input source on the same cores:

* **chipemu**: the network as a flat file; wall time of the whole ``chipemu run NET.npz
  --chip C --mapper M --noc N`` process (map, emulate, energy, baseline, report.json,
  spikes, report.html and its figures);
* **SANA-FE**: the network converted to SANA-FE's netlist format (:func:`write_netlist`:
  one ``g`` line per group, ``n`` per neuron, ``e`` per synapse, ``&`` per placement)
  for SANA-FE's own Loihi architecture (``arch/loihi.yaml``, the costs chipemu's
  ``loihi1-silicon`` preset cites); wall time of the whole ``bench/sana_fe_side.py``
  process under a Python that has ``sanafe`` (interpreter start, import, parsing the
  netlist, loading the chip, ``sim`` of ``--steps`` steps with ``--threads`` threads).

Prints both (wall and CPU time), the ratios (target: chipemu run / SANA-FE <= 0.5) and each side's count of
compartment spikes (SANA-FE's from one more, untimed run with a spike trace).  The models
are not bit-identical (SANA-FE's Loihi LIF is floating point), but the counts show that
the two simulate the same activity.  SANA-FE is not a chipemu dependency:
without it (``pip install sanafe`` in some Python, then ``--sana-fe-python``; see
bench/README.md) this prints chipemu's time only and says so.
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

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from networks import random_ei  # noqa: E402

CLI = "import sys; from chipemu.cli import console_main; sys.exit(console_main())"
#: synaptic delay of the compared network (steps): see the module docstring
DELAY = 0
#: SANA-FE's Loihi architecture, as shipped inside its Python package
SANAFE_ARCH = "import sanafe, importlib.resources as r; print(r.files('sanafe.examples') / 'loihi.yaml')"


def find_sanafe_python(explicit: str | None) -> str | None:
    """A Python that imports ``sanafe``: ``explicit``, this one, or a venv of bench/README.md."""
    candidates = [explicit] if explicit else [sys.executable, "/work/sanafeenv/bin/python",
                                              "/work/bench-venv/bin/python"]
    for py in candidates:
        if py and Path(py).exists() and subprocess.run([py, "-c", "import sanafe"], capture_output=True).returncode == 0:
            return py
    return None


def sanafe_core(mapping, logical_core: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SANA-FE (tile, core) of chipemu logical cores: tile ``x * rows + y`` (SANA-FE numbers
    the tiles of a mesh column by column), core = the router port."""
    rows = int(mapping.chip.mesh.rows)
    xy = mapping.core_xy[logical_core]
    return xy[:, 0] * rows + xy[:, 1], mapping.core_port[logical_core]


def write_netlist(flat, mapping, steps: int, path: Path) -> None:
    """``flat`` (a :class:`chipemu.network.FlatNetwork`, explicit synapses) placed as
    ``mapping`` places it, in SANA-FE's netlist format.

    Group 0: the compartments, SANA-FE's ``leaky_integrate_fire`` soma (``loihi_lif``), in
    weight units (chipemu's registers / 2**6): threshold = vth, bias = bias_mant * 2**bias_exp
    / 2**6, input_decay = (4096 - du) / 4096, leak_decay = (4096 - dv) / 4096, hard reset to
    0; synapses ``loihi_sparse_synapse`` with their weight, dendrite ``loihi_dendrites``
    (no delays: the network's delays must all be 0).  Then the input sources, SANA-FE ``input`` somas replaying
    chipemu's input events as spike trains of ``steps`` steps (groups 1, 2, ...: the k-th source of each core is in group 1 + k
    and uses the soma unit ``loihi_inputs[k]``, as one input unit holds one spike train).
    """
    p = flat.params()
    n, n_in = flat.n, flat.in_n
    tile, core = sanafe_core(mapping, mapping.neuron_core)
    in_core = np.asarray(mapping.input_core)
    in_tile, in_port = sanafe_core(mapping, in_core)
    # an input soma unit holds one spike train: the k-th input source of a core uses unit
    # loihi_inputs[k], and the sources using unit k form group 1 + k (SANA-FE sets soma
    # units per group)
    order = np.argsort(in_core, kind="stable")
    unit = np.empty(n_in, dtype=np.int64)
    unit[order] = np.arange(n_in) - np.searchsorted(in_core[order], in_core[order], side="left")
    by_unit = np.argsort(unit, kind="stable")
    units, counts = np.unique(unit, return_counts=True)
    index = np.empty(n_in, dtype=np.int64)  # position of each source in its group
    index[by_unit] = np.arange(n_in) - np.repeat(np.cumsum(counts) - counts, counts)
    group = (1 + unit).tolist()
    index = index.tolist()
    trains = np.zeros((n_in, steps), dtype=np.int8)
    keep = flat.in_spike_t < steps
    trains[flat.in_spike_idx[keep], flat.in_spike_t[keep]] = 1
    if (flat.delay.size and flat.delay.max() > 0) or (flat.in_delay.size and flat.in_delay.max() > 0):
        raise ValueError("write_netlist: SANA-FE's plain dendrite has no delays; every delay must be 0")
    common = "synapse_hw_name=loihi_sparse_synapse dendrite_hw_name=loihi_dendrites log_spikes=1"
    with open(path, "w", encoding="ascii") as fh:
        w = fh.write
        w(f"g {n} soma_hw_name=loihi_lif {common} reset_mode=hard reset=0.0\n")
        w("".join(f"g {c} soma_hw_name=loihi_inputs[{k}] {common}\n" for k, c in zip(units.tolist(), counts.tolist())))
        thr, bias = (p.threshold / 64.0).tolist(), (p.bias / 64.0).tolist()
        ud, vd = (p.u_keep / 4096.0).tolist(), (p.v_keep / 4096.0).tolist()
        w("".join(f"n 0.{i} threshold={thr[i]} bias={bias[i]} input_decay={ud[i]} leak_decay={vd[i]}\n"
                  for i in range(n)))
        w("".join(f"n {group[j]}.{index[j]} {{spikes: [{','.join(map(str, trains[j].tolist()))}]}}\n"
                  for j in range(n_in)))
        w("".join(f"e 0.{s}->0.{d} weight={x}\n"
                  for s, d, x in zip(flat.src.tolist(), flat.dst.tolist(), flat.weight.tolist())))
        w("".join(f"e {group[s]}.{index[s]}->0.{d} weight={x}\n"
                  for s, d, x in zip(flat.in_src.tolist(), flat.in_dst.tolist(), flat.in_weight.tolist())))
        w("".join(f"& 0.{i}@{t}.{c}\n" for i, (t, c) in enumerate(zip(tile.tolist(), core.tolist()))))
        w("".join(f"& {group[j]}.{index[j]}@{t}.{c}\n" for j, (t, c) in enumerate(zip(in_tile.tolist(), in_port.tolist()))))


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """(wall s, CPU s (user + system) of the child process, its stdout)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{Path(cmd[1]).name if len(cmd) > 1 else cmd[0]} failed: {proc.stderr.strip()[-800:]}")
    return wall, cpu, proc.stdout


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000, help="compartments")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--chip", default="loihi1-silicon")
    ap.add_argument("--mapper", default="sequential")
    ap.add_argument("--noc", default="simpy", choices=["simpy", "analytic"])
    ap.add_argument("--repeat", type=int, default=1, help="best of N processes for each side")
    ap.add_argument("--threads", type=int, default=1, help="SANA-FE processing threads (0: all cores)")
    ap.add_argument("--sana-fe-python", default=None, help="a Python with sanafe (default: searched)")
    args = ap.parse_args(argv)

    from chipemu.chips import load_chip
    from mapper import map_network

    net = random_ei(args.n, steps=args.steps, window=min(1000, args.n // 4), max_delay=DELAY)
    mapping = map_network(net, load_chip(args.chip), mapper=args.mapper, seed=0)
    flat = net.flat()
    print(f"ring-local random E/I: {net.n_compartments:,} compartments, {net.n_synapses:,} synapses, "
          f"{args.steps} steps; chip {args.chip}, mapper {args.mapper}: {int(mapping.core_xy.shape[0])} cores")
    with tempfile.TemporaryDirectory(prefix="chipemu-bench-sanafe-") as tmp:
        npz = Path(tmp) / "ei_local.npz"
        net.save(npz)
        env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
        argv_run = [sys.executable, "-c", CLI, "run", str(npz), "--chip", args.chip, "--mapper", args.mapper,
                    "--noc", args.noc, "--out", f"{tmp}/run"]
        ours, ours_cpu, _ = min((timed(argv_run, env) for _ in range(args.repeat)), key=lambda r: r[0])
        ours_spikes = json.loads((Path(tmp) / "run" / "report.json").read_text())["spikes"]["total"]
        print(f"  chipemu run --noc {args.noc}, whole process   {ours:8.2f} s wall, {ours_cpu:6.2f} s CPU   "
              f"({ours_spikes:,} spikes)")
        py = find_sanafe_python(args.sana_fe_python)
        if py is None:
            print("  SANA-FE: not installed here (no Python with 'sanafe' found; pass --sana-fe-python): "
                  "no same-run ratio")
            return 0
        netlist = Path(tmp) / "ei_local.net"
        t = time.perf_counter()
        write_netlist(flat, mapping, args.steps, netlist)
        convert = time.perf_counter() - t
        arch = subprocess.run([py, "-c", SANAFE_ARCH], capture_output=True, text=True, check=True).stdout.strip()
        side = [py, str(HERE / "sana_fe_side.py"), str(netlist), arch, str(args.steps), "--threads", str(args.threads)]
        theirs, theirs_cpu, out = min((timed(side) for _ in range(args.repeat)), key=lambda r: r[0])
        res = json.loads(out.strip().splitlines()[-1])
        check = json.loads(timed(side + ["--count-group", "0"])[2].strip().splitlines()[-1])
        print(f"  SANA-FE (netlist, {args.threads} thread(s)), whole process {theirs:8.2f} s wall, {theirs_cpu:6.2f} s CPU   "
              f"({check['group_spikes']:,} spikes; import {res['import_s']:.2f} s, parse + load {res['load_s']:.2f} s, "
              f"sim {res['sim_s']:.2f} s wall; netlist written in {convert:.1f} s, not counted)")
        load = os.getloadavg()[0]
        print(f"  ratio chipemu run / SANA-FE: {ours / theirs:.2f} wall, {ours_cpu / max(theirs_cpu, 1e-9):.2f} CPU  "
              f"(target <= 0.5: {'met' if ours <= 0.5 * theirs else 'NOT met'} in wall time); load average {load:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
