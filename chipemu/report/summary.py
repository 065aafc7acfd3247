"""``report.json``: every number of a run, computed from the run (SI units: J, s).

The keys (docs/report.md), their types and units are the records of
:mod:`chipemu.report.schema`; the required ones are always present; the rest (per-step times, per-link and per-core
traffic, per-core utilisation) is what the figures are redrawn from.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .. import __version__
from ..files import atomic_write, read_json
from ..records import Record
from .layers import population_costs
from .schema import (REQUIRED_KEYS, BaselineSection, ChipSection, ChipsSection, CheckSection, EnergySection,
                     MappingSection, NetworkSection, NocSection, PopulationCost, Report, SpikesSection, TimeSection)
from .units import fmt_si


def _tolist(a) -> list:
    return np.asarray(a).tolist()


def build_report(run, *, seed: int = 0, network_source: str = "", energy: dict | None = None,
                 baseline: dict | None = None, check: dict | None = None, quality: dict | None = None,
                 graph=None, **sections) -> dict:
    """The report dict (the JSON form of :class:`~chipemu.report.schema.Report`) of a
    :class:`~chipemu.chip.ChipRun`, plus energy/baseline/check when given.

    ``sections``: further :class:`Report` fields by name (a record or its JSON form).
    """
    return make_report(run, seed=seed, network_source=network_source, energy=energy, baseline=baseline,
                       check=check, quality=quality, graph=graph, **sections).to_dict()


def make_report(run, *, seed: int = 0, network_source: str = "", energy=None, baseline=None, check=None,
                quality: dict | None = None, graph=None, **sections) -> Report:
    """The typed :class:`Report` of a :class:`~chipemu.chip.ChipRun` (see :func:`build_report`).

    ``quality``: the mapping's traffic figures (:meth:`mapper.Mapping.quality`); computed
    from the run's mapping when not given.  ``graph``: the network's mapper graph
    (:func:`mapper.graph.build_graph`) if the caller has it (the mapper's own); otherwise it
    is built here, once for these figures and the per-population costs.
    """
    from mapper.graph import build_graph

    net, mapping, chip = run.network, run.mapping, run.mapping.chip
    f = net.flat()
    steps = run.steps
    step_total = run.step_time.sum(axis=1)
    link_packets = np.asarray(run.link_packets)
    if graph is None:
        graph = build_graph(net)
    if quality is None:
        quality = mapping.quality(graph)
    core_port = getattr(mapping, "core_port", None)
    core_chip = getattr(mapping, "core_chip", None)
    if core_chip is None:
        core_chip = np.zeros(mapping.n_cores, dtype=np.int64)
    unknown = sorted(set(sections) - set(Report.field_names()))
    if unknown:
        raise TypeError(f"build_report: unknown report section {unknown[0]!r}")
    return Report(
        chipemu_version=__version__,
        seed=int(seed),
        chip=ChipSection(
            name=chip.name,
            cores=chip.n_cores,
            mesh=[chip.mesh.columns, chip.mesh.rows],
            cores_per_router=chip.mesh.cores_per_router,
            chips=list(getattr(chip, "chips", (1, 1, 1))),
            n_chips=int(getattr(chip, "n_chips", 1)),
            energy_profile=chip.energy_profile,
            energy_source=chip.energy_source,
            source=chip.source,
            sha256=chip.sha256,
        ),
        network=NetworkSection(
            name=net.name,
            source=network_source,
            neurons=f.n,
            synapses=f.n_synapses,
            recurrent_synapses=f.m,
            input_synapses=f.m_in,
            inputs=f.in_n,
            input_events=int(f.in_spike_idx.size),
            populations=[p.name for p in net.populations],
            population_start=[int(p.start) for p in net.populations],
            population_size=[int(p.size) for p in net.populations],
            sha256=net.sha256(),
        ),
        steps=steps,
        spikes=SpikesSection(
            total=len(run.spikes),
            per_step_mean=len(run.spikes) / steps if steps else 0.0,
            fraction_per_step=len(run.spikes) / (steps * f.n) if steps and f.n else 0.0,
        ),
        mapping=MappingSection(
            strategy=mapping.strategy,
            cores_used=mapping.n_cores,
            routing=getattr(mapping, "routing", "unicast"),
            tiles_used=run.tiles,
            chips_used=int(getattr(run, "chips_used", 1)),
            core_xy=_tolist(mapping.core_xy),
            core_chip=_tolist(core_chip),
            usage={k: _tolist(v) for k, v in mapping.usage.items()},
            capacity={k: int(v) for k, v in mapping.capacity.items()},
            quality=dict(quality),
            core_port=None if core_port is None else _tolist(core_port),
            encoding=dict(getattr(mapping, "encoding", None) or {}) or None,
        ),
        ops=run.counters,
        noc=NocSection.from_dict({
            "model": run.noc_model,
            **run.noc,
            "max_link_packets": int(link_packets.max()) if link_packets.size else 0,
            "link_packets": _tolist(link_packets),
            "core_packets_out": _tolist(run.info.core_packets_out) if run.info is not None else [],
            "core_packets_in": _tolist(run.info.core_packets_in) if run.info is not None else [],
        }),
        time=TimeSection(
            chip_s=float(step_total.sum()),
            step_s_max=float(step_total.max()) if steps else 0.0,
            step_s_mean=float(step_total.mean()) if steps else 0.0,
            compute_s=float(run.step_time[:, 0].sum()),
            noc_s=float(run.step_time[:, 1].sum()),
            barrier_s=float(run.step_time[:, 2].sum()),
            wall_s=float(run.wall_s),
            per_step_s=_tolist(step_total),
            per_step_compute_s=_tolist(run.step_time[:, 0]),
            per_step_noc_s=_tolist(run.step_time[:, 1]),
            per_step_barrier_s=_tolist(run.step_time[:, 2]),
        ),
        energy=_section(EnergySection, energy),
        baseline=_section(BaselineSection, baseline),
        check=_section(CheckSection, check),
        chips=_chips_section(run, chip, core_chip, link_packets, energy),
        populations=None if "populations" in sections else [PopulationCost.from_dict(p)
                                                            for p in population_costs(run, energy, graph)],
        **{_attribute(name): _section(Report.field_record(_attribute(name)), value)
           for name, value in sections.items()},
    )


def _chips_section(run, chip, core_chip, link_packets, energy) -> ChipsSection:
    """Per-chip traffic and core energy (:func:`chipemu.noc.interchip.chip_traffic`)."""
    from ..hardware import Hardware
    from ..noc.interchip import chip_traffic

    k = np.asarray(core_chip).size
    d = chip_traffic(Hardware.of(chip), core_chip, link_packets,
                     run.info.get("core_packets_out", np.zeros(k)), run.info.get("core_packets_in", np.zeros(k)))
    if energy is not None and energy.get("per_core_j") is not None:
        per_core = np.asarray(energy["per_core_j"], dtype=np.float64)
        d["dynamic_core_j"] = np.bincount(np.asarray(core_chip), weights=per_core,
                                          minlength=len(d["cores_used"])).tolist()
    return ChipsSection.from_dict(d, where="report section chips")


def _section(cls, value):
    """``value`` as a record of ``cls``: a record passes, a dict is validated, None stays."""
    if value is None or isinstance(value, Record):
        return value
    return cls.from_dict(value, where=f"report section {cls.__name__}")


def read_report(path) -> dict:
    """Read and check a ``report.json`` against :class:`Report`; a missing or malformed
    file, a value of the wrong type or a missing required key raises
    :class:`~chipemu.errors.FileFormatError` (one line naming file and key)."""
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
    return Report.from_dict(report, where=f"report file {path}").to_dict()


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


def _attribute(key: str) -> str:
    """The :class:`Report` attribute of JSON key ``key`` (``import`` is ``imported``)."""
    import dataclasses
    for f in dataclasses.fields(Report):
        if f.metadata.get("key", f.name) == key:
            return f.name
    return key
