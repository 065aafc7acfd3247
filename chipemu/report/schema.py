"""The schema of ``report.json``: one typed record per section (:mod:`chipemu.records`).

:class:`Report` is the whole file; each section is a record whose field annotations are
the keys, their JSON types and (in the comments) their units.  ``Report.from_dict``
validates a report (wrong type: :class:`~chipemu.errors.FileFormatError` naming the
dotted key) and ``to_dict`` gives it back unchanged: the file round-trips through its
type.  Keys a section does not declare are kept (``extra``), so a report written by a
newer chipemu reads and rewrites unchanged.

Which keys every report.json has (:data:`REQUIRED_KEYS`) follows from the schema: the
fields without a default, plus those of the sections marked ``required`` (energy and
baseline, which the library can leave out of an in-memory report but ``chipemu run``
always writes).  Fields with a ``None`` default are optional when reading (older files
lack them) and always written by :func:`chipemu.report.build_report`.

Adding to the report:

* a field of an existing section: one annotated line in its record here, and the line
  that computes it in :func:`chipemu.report.summary.build_report`;
* a new section: a record class here and one ``Report`` field ``name: Section | None =
  None``; pass it as ``build_report(..., name=Section(...))`` (or a dict of its JSON
  form).  Nothing else (reader, writer, validation, round-trip test) changes.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

from ..errors import FileFormatError
from ..records import Record, record


def _required() -> Any:
    """An optional section every report.json written by ``chipemu run`` has."""
    return field(default=None, metadata={"required": True})


def _nullable() -> Any:
    """A field whose value may be ``null`` and is written as such."""
    return field(default=None, metadata={"keep_none": True})


@record
class ChipSection(Record):
    """The chip the network ran on."""

    name: str
    cores: int                          # physical cores on the chip
    mesh: list[int]                     # [columns, rows] of routers
    cores_per_router: int | None = None
    chips: list[int] | None = None      # [chips_x, chips_y, chips_z] of a system ([1, 1, 1]: one chip)
    n_chips: int | None = None          # chips of the system (cores: of all of them)
    energy_profile: str | None = None   # name of the energy figures used
    energy_source: str | None = None    # their citation
    source: str | None = None           # "preset:NAME" or the chip TOML path
    sha256: str | None = None           # of the chip description's bytes


@record
class NetworkSection(Record):
    """The network that ran (compartments are called neurons here, as in the contract)."""

    name: str | None = None
    source: str | None = None           # the NETWORK argument (file or program)
    neurons: int                        # compartments
    synapses: int                       # recurrent + input synapses
    recurrent_synapses: int | None = None
    input_synapses: int | None = None
    inputs: int                         # input sources
    input_events: int | None = None     # input spikes over the run
    populations: list[str] | None = None
    population_start: list[int] | None = None
    population_size: list[int] | None = None
    sha256: str | None = None           # Network.sha256()


@record
class SpikesSection(Record):
    """Spike totals over the run."""

    total: int
    per_step_mean: float | None = None      # spikes per step
    fraction_per_step: float | None = None  # spikes / (steps x compartments)


@record
class MappingSection(Record):
    """Where the network sits on the chip and what that costs in traffic."""

    strategy: str                        # mapper name
    cores_used: int                      # logical cores K
    routing: str | None = None           # "unicast" | "multicast"
    tiles_used: int | None = None        # routers hosting at least one used core
    chips_used: int | None = None        # chips hosting at least one used core
    core_chip: list[int] | None = None   # (K,) chip of every core (0 on one chip)
    core_xy: list[list[int]] | None = None            # (K, 2) router [x, y] per core
    usage: dict[str, list[int]] | None = None         # resource -> (K,) use per core
    capacity: dict[str, int] | None = None            # resource -> per-core capacity
    quality: dict[str, Any] | None = None             # mapper.Mapping.quality figures
    core_port: list[int] | None = None                # (K,) port on the router
    encoding: dict[str, Any] | None = None            # synapse encodings (mapper.encoding): per projection, per core

    def __post_init__(self) -> None:
        super().__post_init__()
        k = self.cores_used
        per_core = {f"usage.{name}": v for name, v in (self.usage or {}).items()}
        per_core.update({"core_xy": self.core_xy, "core_port": self.core_port, "core_chip": self.core_chip})
        for key, values in per_core.items():
            if values is not None and len(values) != k:
                raise FileFormatError(f"key '{key}' has {len(values)} entries, expected one per core used ({k})")
        if self.core_xy is not None and any(len(xy) != 2 for xy in self.core_xy):
            raise FileFormatError("key 'core_xy' must hold one [x, y] pair per core")
        unknown = sorted(set(self.capacity or {}) - set(self.usage or {}))
        if unknown:
            raise FileFormatError(f"key 'capacity.{unknown[0]}' names a resource without usage")


@record
class PopulationCost(Record):
    """What one population costs on the chip (:mod:`chipemu.report.layers`): counts,
    synaptic memory (bits), spikes, synaptic ops, attributed dynamic energy (J)."""

    name: str
    shape: list[int] | None = None
    compartments: int
    cores: int
    synapses: int                                # synapses onto it (expanded count)
    synapses_by_encoding: dict[str, int] | None = None
    encoding: str                                # encodings of those synapses, "+"-joined
    synapse_bits: int                            # synaptic memory spent on it
    spikes: int
    synaptic_ops: int                            # synaptic events on synapses onto it
    energy_j: float                              # dynamic energy attributed to it
    energy_share: float                          # energy_j / energy.dynamic_j


@record
class NocSection(Record):
    """Mesh NoC totals over the run (packets, hops; seconds)."""

    model: str | None = None             # "simpy" | "analytic"
    packets: int
    hops: int
    hops_ew: int | None = None
    hops_ns: int | None = None
    hops_interchip: int | None = None    # chip-to-chip link crossings
    interchip_packets: int | None = None  # packets that crossed at least one chip boundary
    stalls: int | None = None
    queue_delay_s: float | None = None
    max_latency_s: float | None = None
    max_link_packets: int
    link_packets: list[int] | None = None        # per directed mesh link
    core_packets_out: list[int] | None = None    # per logical core
    core_packets_in: list[int] | None = None


@record
class TimeSection(Record):
    """Emulated chip time (s) and the host wall time of the emulation (s)."""

    chip_s: float
    step_s_max: float
    step_s_mean: float
    compute_s: float | None = None
    noc_s: float | None = None
    barrier_s: float | None = None
    wall_s: float
    per_step_s: list[float] | None = None
    per_step_compute_s: list[float] | None = None
    per_step_noc_s: list[float] | None = None
    per_step_barrier_s: list[float] | None = None


@record
class EnergySection(Record):
    """Chip energy (J) from the operation counters (:mod:`chipemu.energy`)."""

    total_j: float
    dynamic_j: float | None = None
    static_j: float | None = None
    breakdown: dict[str, float]                  # component -> J; sums to total_j
    ops: dict[str, int] | None = None            # component -> operation count
    unit_j: dict[str, float] | None = None       # component -> J per operation (static: W)
    per_core_j: list[float] | None = None
    profile: str | None = None
    source: str | None = None
    static_w: float | None = None
    chip_time_s: float | None = None
    edp_js: float | None = None                  # energy-delay product, J s
    per_step_mean_j: float | None = _nullable()
    energy_per_synaptic_op_j: float | None = _nullable()
    dynamic_per_synaptic_op_j: float | None = _nullable()
    synaptic_ops_by_encoding: dict[str, dict[str, Any]] | None = None  # encoding -> ops, unit_j, energy_j
    notes: dict[str, str] | None = None


@record
class BaselineSection(Record):
    """The modelled von Neumann host running the same network (:mod:`chipemu.baseline`)."""

    energy_j: float
    dynamic_j: float | None = None
    static_j: float | None = None
    time_s: float
    edp_js: float | None = None
    breakdown: dict[str, float] | None = None
    counts: dict[str, int] | None = None
    time: dict[str, Any] | None = None
    assumptions: dict[str, Any] | None = None
    host: dict[str, Any] | None = None
    measured: dict[str, Any] | None = _nullable()   # timing of the reference runner, or null
    chip_edp_js: float | None = None
    ratios: dict[str, float | None] | None = None   # baseline / chip
    ratios_direction: str | None = None


@record
class CheckSection(Record):
    """The outcome of a program's ``check(result)``."""

    passed: bool
    detail: str


@record
class ChipsSection(Record):
    """Per chip of a system (one entry on a single chip) and per chip-to-chip link pair
    (:func:`chipemu.noc.interchip.chip_traffic`)."""

    grid: list[int]                               # [chips_x, chips_y, chips_z]
    cores_used: list[int]                         # per chip
    packets_out: list[int]                        # injected by the chip's cores
    packets_in: list[int]                         # delivered to the chip's cores
    interchip_out: list[int] | None = None        # packets leaving the chip on chip-to-chip links
    interchip_in: list[int] | None = None
    links: list[dict[str, int]] | None = None     # {"from", "to", "packets"} per neighbouring chip pair
    dynamic_core_j: list[float] | None = None     # core-local dynamic energy per chip, J


@record
class ImportSection(Record):
    """How the network was imported from another tool's file (NIR graph, lava-dl netx)."""

    format: str                                   # "nir" or "lava-dl netx"
    source: str                                   # the imported file
    summary: str                                  # one paragraph: what was converted and how exactly
    details: dict[str, Any] = field(default_factory=dict)   # the importer's record (quantisation errors, layers)
    warnings: list[str] = field(default_factory=list)       # what the user should check (large errors, no input)


@record
class Report(Record):
    """One ``report.json`` (see the module docstring for how to extend it)."""

    where = "report"

    chipemu_version: str | None = None
    seed: int | None = None
    chip: ChipSection
    network: NetworkSection
    steps: int
    spikes: SpikesSection
    mapping: MappingSection
    ops: dict[str, int] | None = None            # chip operation counters over the run
    noc: NocSection
    time: TimeSection
    energy: EnergySection | None = _required()
    baseline: BaselineSection | None = _required()
    check: CheckSection | None = None
    chips: ChipsSection | None = None
    populations: list[PopulationCost] | None = None   # per-population costs (chipemu.report.layers)
    imported: ImportSection | None = field(default=None, metadata={"key": "import"})


#: dotted keys every report.json has
REQUIRED_KEYS: tuple[str, ...] = tuple(Report.required_keys())

__all__ = ["Report", "REQUIRED_KEYS", "ChipSection", "NetworkSection", "SpikesSection", "MappingSection",
           "NocSection", "TimeSection", "EnergySection", "BaselineSection", "CheckSection", "ChipsSection",
           "PopulationCost", "ImportSection"]
