"""``report.json``: every number of a run, computed from the run (SI units: J, s).

The keys listed as required in docs/report.md are always present; the rest (per-step times,
per-link and per-core traffic, per-core utilisation) is what the figures are redrawn from.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .. import __version__
from ..flatfile import atomic_write, read_json
from .units import fmt_si


def _tolist(a) -> list:
    return np.asarray(a).tolist()


def build_report(run, *, seed: int = 0, network_source: str = "", energy: dict | None = None,
                 baseline: dict | None = None, check: dict | None = None) -> dict:
    """The report dict of a :class:`~chipemu.chip.ChipRun` (plus energy/baseline when given)."""
    net, mapping, chip = run.network, run.mapping, run.mapping.chip
    f = net.flat()
    steps = run.steps
    step_total = run.step_time.sum(axis=1)
    link_packets = np.asarray(run.link_packets)
    counters = run.counters
    usage = {k: _tolist(v) for k, v in mapping.usage.items()}
    report = {
        "chipemu_version": __version__,
        "seed": int(seed),
        "chip": {
            "name": chip.name,
            "cores": chip.n_cores,
            "mesh": [chip.mesh.columns, chip.mesh.rows],
            "cores_per_router": chip.mesh.cores_per_router,
            "energy_profile": chip.energy_profile,
            "energy_source": chip.energy_source,
            "source": chip.source,
            "sha256": chip.sha256,
        },
        "network": {
            "name": net.name,
            "source": network_source,
            "neurons": f.n,
            "synapses": f.m + int(f.in_src.size),
            "recurrent_synapses": f.m,
            "input_synapses": int(f.in_src.size),
            "inputs": f.in_n,
            "input_events": int(f.in_spike_idx.size),
            "populations": [p.name for p in net.populations],
            "population_start": [int(p.start) for p in net.populations],
            "population_size": [int(p.size) for p in net.populations],
            "sha256": net.sha256(),
        },
        "steps": steps,
        "spikes": {
            "total": len(run.spikes),
            "per_step_mean": len(run.spikes) / steps if steps else 0.0,
            "fraction_per_step": len(run.spikes) / (steps * f.n) if steps and f.n else 0.0,
        },
        "mapping": {
            "strategy": mapping.strategy,
            "cores_used": mapping.n_cores,
            "routing": getattr(mapping, "routing", "unicast"),
            "tiles_used": run.tiles,
            "core_xy": _tolist(mapping.core_xy),
            "usage": usage,
            "capacity": {k: int(v) for k, v in mapping.capacity.items()},
            "quality": mapping.quality(net) if hasattr(mapping, "quality") else {},
        },
        "ops": counters,
        "noc": {
            "model": run.noc_model,
            **run.noc,
            "max_link_packets": int(link_packets.max()) if link_packets.size else 0,
            "link_packets": _tolist(link_packets),
            "core_packets_out": _tolist(run.info.get("core_packets_out", [])),
            "core_packets_in": _tolist(run.info.get("core_packets_in", [])),
        },
        "time": {
            "chip_s": float(step_total.sum()),
            "step_s_max": float(step_total.max()) if steps else 0.0,
            "step_s_mean": float(step_total.mean()) if steps else 0.0,
            "compute_s": float(run.step_time[:, 0].sum()),
            "noc_s": float(run.step_time[:, 1].sum()),
            "barrier_s": float(run.step_time[:, 2].sum()),
            "wall_s": float(run.wall_s),
            "per_step_s": _tolist(step_total),
            "per_step_compute_s": _tolist(run.step_time[:, 0]),
            "per_step_noc_s": _tolist(run.step_time[:, 1]),
            "per_step_barrier_s": _tolist(run.step_time[:, 2]),
        },
    }
    if getattr(mapping, "core_port", None) is not None:
        report["mapping"]["core_port"] = _tolist(mapping.core_port)
    if energy is not None:
        report["energy"] = energy
    if baseline is not None:
        report["baseline"] = baseline
    if check is not None:
        report["check"] = check
    return report


#: dotted keys every report.json has (docs/report.md, "Keys every report has")
REQUIRED_KEYS = (
    "chip.name", "chip.cores", "chip.mesh", "network.neurons", "network.synapses", "network.inputs", "steps",
    "spikes.total", "mapping.strategy", "mapping.cores_used", "noc.packets", "noc.hops", "noc.max_link_packets",
    "time.chip_s", "time.step_s_max", "time.step_s_mean", "time.wall_s", "energy.total_j", "energy.breakdown",
    "baseline.energy_j", "baseline.time_s",
)


def read_report(path) -> dict:
    """Read and check a ``report.json``; a missing or malformed file, or a missing required
    key, raises :class:`~chipemu.errors.FileFormatError` (one line naming file and key)."""
    from ..errors import FileFormatError

    path = Path(path)
    report = read_json(path, "report file")
    if not isinstance(report, dict):
        raise FileFormatError(f"report file {path}: top level must be a JSON object")
    for key in REQUIRED_KEYS:
        cur = report
        for part in key.split("."):
            if not isinstance(cur, dict) or part not in cur:
                raise FileFormatError(f"report file {path}: key '{key}' is missing")
            cur = cur[part]
    return report


def write_report(report: dict, path) -> None:
    """Write ``report.json`` atomically."""
    text = json.dumps(report, indent=1, sort_keys=False)

    def write(tmp):
        Path(tmp).write_text(text)
    atomic_write(path, write)


def format_summary(report: dict) -> str:
    """A short human summary table of a report."""
    r = report
    rows = [
        ("network", f"{r['network']['name']}: {r['network']['neurons']:,} compartments, "
                    f"{r['network']['synapses']:,} synapses, {r['network']['inputs']:,} inputs"),
        ("chip", f"{r['chip']['name']} ({r['chip']['mesh'][0]}x{r['chip']['mesh'][1]} mesh, "
                 f"{r['chip']['cores']} cores), {r['mapping']['cores_used']} cores used, mapper "
                 f"{r['mapping']['strategy']}"),
        ("steps / spikes", f"{r['steps']:,} steps, {r['spikes']['total']:,} spikes"),
        ("NoC", f"{r['noc']['packets']:,} packets, {r['noc']['hops']:,} hops, busiest link "
                f"{r['noc']['max_link_packets']:,} packets ({r['noc']['model']} model)"),
        ("chip time", f"{fmt_si(r['time']['chip_s'], 's')} total, {fmt_si(r['time']['step_s_mean'], 's')} mean / "
                      f"{fmt_si(r['time']['step_s_max'], 's')} max per step"),
    ]
    if "energy" in r:
        e = r["energy"]
        text = f"{fmt_si(e['total_j'], 'J')} ({r['chip']['energy_profile']})"
        if "dynamic_j" in e and "static_j" in e:
            text = (f"{fmt_si(e['total_j'], 'J')} = {fmt_si(e['dynamic_j'], 'J')} dynamic + {fmt_si(e['static_j'], 'J')} "
                    f"static ({r['chip']['energy_profile']})")
        rows.append(("chip energy", text))
    if "baseline" in r:
        b = r["baseline"]
        text = f"{fmt_si(b['energy_j'], 'J')}, {fmt_si(b['time_s'], 's')} (modelled CPU)"
        if "dynamic_j" in b:
            host = b.get("host", {}).get("name", "CPU")
            text = (f"{fmt_si(b['energy_j'], 'J')} ({fmt_si(b['dynamic_j'], 'J')} dynamic), {fmt_si(b['time_s'], 's')} "
                    f"(modelled {host})")
        rows.append(("von Neumann", text))
        ratios = b.get("ratios") or {}
        if ratios.get("energy") is not None:
            def x(v):
                return "n/a" if v is None else f"{v:.3g}x"
            rows.append(("chip advantage", f"energy {x(ratios.get('energy'))} (dynamic "
                                           f"{x(ratios.get('dynamic_energy'))}), time {x(ratios.get('time'))}, "
                                           f"EDP {x(ratios.get('edp'))} (baseline / chip)"))
        if b.get("measured"):
            rows.append(("host measured", f"{fmt_si(b['measured']['wall_s'], 's')} wall (reference runner on this "
                                          f"machine; a time, not an energy)"))
    rows.append(("wall time", f"{r['time']['wall_s']:.2f} s"))
    if "check" in r:
        rows.append(("check", ("PASSED: " if r["check"]["passed"] else "FAILED: ") + r["check"]["detail"]))
    w = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{w}}  {v}" for k, v in rows)
