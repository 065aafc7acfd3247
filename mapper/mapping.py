"""The :class:`Mapping` object: where every compartment and input source lives on the chip.

A mapping assigns each compartment a *logical core* ``0..K-1`` (``neuron_core``) and a
slot within it (``neuron_slot``: the compartments of a core in ascending global index),
each input source an injecting core (``input_core``), and each logical core a chip
``core_chip[k]`` (0 on a single chip), a router position ``core_xy[k] = [x, y]`` on that
chip and a port ``core_port[k]`` (which of the router's cores).  Router and core ids,
routes and links are those of :mod:`chipemu.hardware`.
``usage`` and ``capacity`` record the per-core resources (see :mod:`mapper.resources`).

``mapping.json`` (format ``chipemu-mapping-1``; docs/mapping.md) holds::

    format        "chipemu-mapping-1"
    chip          chip or system name                (contract)
    chip_spec     the full chip or system description (so custom ones reload without their file)
    strategy      mapper name; seed: int; routing: "unicast" | "multicast"
    max_per_core  int or null; pin: {population: [physical core ids]}
    n_cores       K
    neuron_core   (n,) logical core per compartment    (contract)
    neuron_slot   (n,) index within the core
    input_core    (in_n,) injecting core per input source, -1 only if K = 0   (contract)
    core_xy       (K, 2) router [x, y] per logical core, on its chip  (contract)
    core_chip     (K,) chip per logical core (0 on a single chip)
    core_port     (K,) port on that router
    usage         {resource: (K,) ints}; capacity: {resource: int}
    encoding      the synaptic-memory encoding in numbers
    network       {name, compartments, inputs, synapses}

Only ``chip``, ``neuron_core``, ``input_core`` and ``core_xy`` are required to load; the
rest is validated when present (a missing ``core_port`` numbers the cores of each router
in logical order; a missing ``neuron_slot`` is derived).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chipemu.chips import ChipSpec, SystemSpec, load_hardware
from chipemu.errors import ChipemuError, FileFormatError
from chipemu.files import read_json
from chipemu.hardware import Hardware
from chipemu.schema import Invalid, Table, anything, choice, integer, string, table, validate

from .graph import MapGraph, NetworkLike, build_graph, source_rates
from .resources import LIMITED, RESOURCES, source_cores
from .routing import (
    ROUTING_MODES,
    destination_cores,
    link_loads,
    routing_tables,
    source_hops,
)

FORMAT = "chipemu-mapping-1"
REQUIRED_KEYS = ("chip", "neuron_core", "input_core", "core_xy")

#: every key of mapping.json (docs/mapping.md).  Arrays are checked against the chip and
#: each other by :meth:`Mapping.from_dict`; keys this version does not know are ignored, so
#: a file written by a later version still loads.
MAPPING_SCHEMA = Table({
    "format": choice((FORMAT,), "the file format", default=FORMAT),
    "chip": string("chip name"),
    "chip_spec": anything("the full chip description", default=None),
    "strategy": string("mapper name", default="unknown"),
    "seed": integer("mapper seed", default=0),
    "routing": choice(ROUTING_MODES, "spike routing mode", default="unicast"),
    "max_per_core": integer("compartment cap per core", nullable=True, default=None),
    "pin": table({}, "population -> physical cores", open=True, nullable=True, default={}),
    "n_cores": integer("logical cores K", lo=0, default=None),
    "neuron_core": anything("(n,) list of int: logical core per compartment"),
    "neuron_slot": anything("(n,) list of int: index within the core", default=None),
    "input_core": anything("(in_n,) list of int: injecting core per input source"),
    "core_xy": anything("(K, 2) list of int: router [x, y] per logical core"),
    "core_chip": anything("(K,) list of int: chip of each logical core in a system", default=None),
    "core_port": anything("(K,) list of int: port on that router", default=None),
    "usage": table({}, "resource -> (K,) list of int", open=True, nullable=True, default={}),
    "capacity": table({}, "resource -> int", open=True, nullable=True, default={}),
    "encoding": table({}, "the synaptic-memory encoding", open=True, nullable=True, default={}),
    "network": table({}, "network name and sizes", open=True, nullable=True, default={}),
}, "mapping", open=True)


def slots_of(neuron_core: np.ndarray) -> np.ndarray:
    """Index of every compartment within its core (cores' compartments in ascending index)."""
    nc = np.asarray(neuron_core, dtype=np.int64)
    if nc.size == 0:
        return nc.copy()
    order = np.argsort(nc, kind="stable")
    counts = np.bincount(nc)
    starts = np.cumsum(counts) - counts
    slot = np.empty_like(nc)
    slot[order] = np.arange(nc.size) - starts[nc[order]]
    return slot


@dataclass(frozen=True, eq=False)
class Mapping:
    """A network mapped onto a chip (see the module docstring for every field)."""

    chip: ChipSpec | SystemSpec
    strategy: str
    seed: int
    neuron_core: np.ndarray
    neuron_slot: np.ndarray
    input_core: np.ndarray
    core_xy: np.ndarray
    core_port: np.ndarray
    usage: dict[str, np.ndarray]
    capacity: dict[str, int]
    routing: str = "unicast"
    encoding: dict[str, Any] = field(default_factory=dict)
    max_per_core: int | None = None
    pin: dict[str, list[int]] = field(default_factory=dict)
    network: dict[str, Any] = field(default_factory=dict)
    core_chip: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.core_chip is None:
            object.__setattr__(self, "core_chip", np.zeros(self.core_xy.shape[0], dtype=np.int64))

    # ------------------------------------------------------------------ derived
    @property
    def hardware(self) -> Hardware:
        """The geometry of the chip or system (:mod:`chipemu.hardware`)."""
        return Hardware.of(self.chip)

    @property
    def chips_used(self) -> int:
        """Distinct chips that host at least one logical core."""
        return int(np.unique(self.core_chip).size)

    @property
    def n_cores(self) -> int:
        """Logical cores used (K)."""
        return int(self.core_xy.shape[0])

    @property
    def core_router(self) -> np.ndarray:
        """(K,) global router id of every logical core (``y * columns + x`` on one chip)."""
        return self.hardware.core_router(self.core_chip, self.core_xy)

    @property
    def core_id(self) -> np.ndarray:
        """(K,) physical core id ``router * cores_per_router + port`` of every logical core."""
        return self.hardware.physical_core(self.core_chip, self.core_xy, self.core_port)

    @property
    def source_core(self) -> np.ndarray:
        """(n + in_n,) core of every source id (compartments, then inputs' injecting cores)."""
        return source_cores(self.neuron_core, self.input_core)

    def routing_tables(self) -> np.ndarray:
        """(n_routers, K) direction codes (see :func:`mapper.routing.routing_tables`)."""
        return routing_tables(self.hardware, self.core_router)

    def destinations(self, network: NetworkLike | MapGraph) -> tuple[np.ndarray, np.ndarray]:
        """CSR ``(indptr, cores)``: each source's distinct destination cores other than its own."""
        g = self._graph(network)
        return destination_cores(g, self.neuron_core, self.input_core, self.n_cores)

    def hops(self, network: NetworkLike | MapGraph) -> np.ndarray:
        """(n + in_n,) link traversals per spike of each source, in this mapping's routing mode."""
        indptr, cores = self.destinations(network)
        return source_hops(indptr, cores, self.source_core, self.hardware, self.core_router, self.routing)

    def _graph(self, network) -> MapGraph:
        g = network if isinstance(network, MapGraph) else build_graph(network)
        if g.n != self.neuron_core.size or g.in_n != self.input_core.size:
            raise ChipemuError(
                f"mapping: made for {self.neuron_core.size} compartments and {self.input_core.size} inputs, "
                f"but the network has {g.n} compartments and {g.in_n} inputs")
        return g

    # ------------------------------------------------------------------ quality
    def quality(self, net: NetworkLike | MapGraph, rates=None) -> dict[str, Any]:
        """Traffic figures of this mapping for ``net``.

        Per presynaptic spike (averaged over sources weighted by ``rates``, spikes per
        timestep; every source weighs 1 when None): ``inter_core_packets_per_spike`` (one
        per distinct destination core other than the source's own) and
        ``packet_hops_per_spike`` (mesh links traversed, in this mapping's routing mode).
        ``packets`` / ``packet_hops``: the same summed over sources (per timestep at the
        given rates; with rates None, when every source spikes once).
        ``max_link_load``: packets on the busiest directed mesh link, same units.
        ``cut_synapses``: synapses whose source (input: injecting core) and target are on
        different cores.  ``cores_used``, ``routers_used``.
        """
        g = self._graph(net)
        r = source_rates(g, rates)
        indptr, cores = destination_cores(g, self.neuron_core, self.input_core, self.n_cores)
        sc = self.source_core
        packets = np.diff(indptr).astype(np.float64)
        hops = source_hops(indptr, cores, sc, self.hardware, self.core_router, self.routing).astype(np.float64)
        total_r = float(r.sum())
        f = g.flat.expanded()
        nc, ic = self.neuron_core, self.input_core
        cut = int(np.count_nonzero(nc[f.src] != nc[f.dst])) + int(np.count_nonzero(ic[f.in_src] != nc[f.in_dst]))
        loads = link_loads(indptr, cores, sc, self.hardware, self.core_router, r, self.routing)
        max_load = float(loads.max()) if loads.size else 0.0
        tot_p, tot_h = float(r @ packets), float(r @ hops)
        return {
            "routing": self.routing,
            "cores_used": self.n_cores,
            "routers_used": int(np.unique(self.core_router).size),
            "chips_used": self.chips_used,
            "inter_core_packets_per_spike": tot_p / total_r if total_r else 0.0,
            "packet_hops_per_spike": tot_h / total_r if total_r else 0.0,
            "packets": tot_p,
            "packet_hops": tot_h,
            "cut_synapses": cut,
            "synapses": g.m,
            "max_link_load": max_load,
        }

    # ------------------------------------------------------------------ tables
    def utilisation_table(self) -> str:
        """Per-core resource use: one row per logical core (plain text)."""
        cap = self.capacity
        u = self.usage
        head = ["core", "chip:[x,y]" if self.chip.n_chips > 1 else "[x,y]", "port", "compartments", "synapse bits",
                "fan-in", "fan-out", "max delay"]
        rows = [head]
        for k in range(self.n_cores):
            def frac(res: str, k: int = k) -> str:
                if res not in u:
                    return "-"
                return f"{int(u[res][k])}/{cap.get(res, '?')}"
            bits = "-"
            if "synapse_bits" in u and cap.get("synapse_bits"):
                b = int(u["synapse_bits"][k])
                bits = f"{b}/{cap['synapse_bits']} ({100.0 * b / cap['synapse_bits']:.1f}%)"
            md = "-" if "max_delay" not in u else (str(int(u["max_delay"][k])) if u["max_delay"][k] >= 0 else "-")
            where = f"[{int(self.core_xy[k, 0])},{int(self.core_xy[k, 1])}]"
            if self.chip.n_chips > 1:
                where = f"{int(self.core_chip[k])}:{where}"
            rows.append([str(k), where,
                         str(int(self.core_port[k])), frac("compartments"), bits, frac("fanin_axons"),
                         frac("fanout_axons"), md])
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = []
        for i, r in enumerate(rows):
            cells = (c.rjust(w) if i and j != 1 else c.ljust(w) for j, (c, w) in enumerate(zip(r, widths)))
            lines.append("  ".join(cells).rstrip())
            if i == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of everything (the mapping.json layout)."""
        return {
            "format": FORMAT,
            "chip": self.chip.name,
            "chip_spec": self.chip.to_dict(),
            "strategy": self.strategy,
            "seed": int(self.seed),
            "routing": self.routing,
            "max_per_core": self.max_per_core,
            "pin": {k: [int(c) for c in v] for k, v in self.pin.items()},
            "n_cores": self.n_cores,
            "neuron_core": self.neuron_core.tolist(),
            "neuron_slot": self.neuron_slot.tolist(),
            "input_core": self.input_core.tolist(),
            "core_xy": self.core_xy.tolist(),
            "core_chip": self.core_chip.tolist(),
            "core_port": self.core_port.tolist(),
            "usage": {k: np.asarray(v).tolist() for k, v in self.usage.items()},
            "capacity": {k: int(v) for k, v in self.capacity.items()},
            "encoding": dict(self.encoding),
            "network": dict(self.network),
        }

    @classmethod
    def from_dict(cls, d: Any, chip: ChipSpec | str | None = None, where: str = "mapping") -> "Mapping":
        """Rebuild and validate a mapping (:data:`MAPPING_SCHEMA`); errors name ``where`` and the key."""
        v = validate(MAPPING_SCHEMA, d, where, FileFormatError)
        for key in ("pin", "usage", "capacity", "encoding", "network"):  # null reads as empty
            v[key] = v[key] or {}
        spec = _resolve_chip(v, chip, where)
        core_xy, core_chip, port = _core_layout(v, spec, where)
        K = core_xy.shape[0]
        nc = _ints(v, "neuron_core", where)
        _range(nc, "neuron_core", where, 0, K - 1)
        ic = _ints(v, "input_core", where)
        _range(ic, "input_core", where, -1, K - 1)
        slot = slots_of(nc)
        if v["neuron_slot"] is not None:
            given = _ints(v, "neuron_slot", where)
            _shape(given, nc.shape, "neuron_slot", where)
            if not np.array_equal(given, slot):
                i = int(np.flatnonzero(given != slot)[0])
                raise FileFormatError(f"{where}: key 'neuron_slot' = {int(given[i])} at index {i} is inconsistent with "
                                      f"'neuron_core' (expected {int(slot[i])}: a core's compartments in ascending index)")
        usage = {}
        for res, vals in v["usage"].items():
            arr = _ints({res: vals}, res, f"{where}: key 'usage'")
            _shape(arr, (K,), f"usage.{res}", where)
            usage[res] = arr
        try:
            capacity = {res: _CAPACITY.check(f"capacity.{res}", val) for res, val in v["capacity"].items()}
        except Invalid as exc:
            raise FileFormatError(f"{where}: {exc}") from None
        return cls(chip=spec, strategy=v["strategy"], seed=v["seed"], neuron_core=nc, neuron_slot=slot,
                   input_core=ic, core_xy=core_xy, core_port=port, usage=usage, capacity=capacity,
                   routing=v["routing"], encoding=v["encoding"], max_per_core=v["max_per_core"],
                   pin={str(k): list(c) for k, c in v["pin"].items()}, network=v["network"],
                   core_chip=core_chip)

    def save(self, path) -> None:
        """Write ``mapping.json`` atomically (no partial file on failure)."""
        from chipemu.files import atomic_write
        text = json.dumps(self.to_dict(), separators=(",", ":"))

        def write(tmp):
            Path(tmp).write_text(text + "\n", encoding="utf-8")

        atomic_write(path, write)

    @classmethod
    def load(cls, path, chip: ChipSpec | str | None = None) -> "Mapping":
        """Read and validate ``mapping.json``; ``chip`` overrides the one stored in the file."""
        return cls.from_dict(read_json(path, "mapping file"), chip, f"mapping file {path}")


# ------------------------------------------------------------------ validation helpers
def _core_layout(v: dict, spec, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(core_xy, core_chip, core_port)`` checked against the hardware: every logical core on
    its own physical core (a missing ``core_chip`` puts every core on chip 0; a missing
    ``core_port`` numbers each router's cores in order)."""
    core_xy = _ints(v, "core_xy", where, ndim=2)
    K = core_xy.shape[0]
    if core_xy.size == 0:
        core_xy = core_xy.reshape(0, 2)
    if core_xy.shape[1:] != (2,):
        raise FileFormatError(f"{where}: key 'core_xy' has shape {core_xy.shape}, expected (K, 2)")
    m, hw = spec.mesh, Hardware.of(spec)
    if v.get("core_chip") is not None:
        core_chip = _ints(v, "core_chip", where)
        _shape(core_chip, (K,), "core_chip", where)
        _range(core_chip, "core_chip", where, 0, hw.n_chips - 1)
    else:
        core_chip = np.zeros(K, dtype=np.int64)
    _range(core_xy[:, 0], "core_xy", where, 0, m.columns - 1, "x")
    _range(core_xy[:, 1], "core_xy", where, 0, m.rows - 1, "y")
    if K > spec.n_cores:
        raise FileFormatError(f"{where}: key 'core_xy' lists {K} cores, more than the {spec.n_cores} of chip '{spec.name}'")
    if v["core_port"] is not None:
        port = _ints(v, "core_port", where)
        _shape(port, (K,), "core_port", where)
        _range(port, "core_port", where, 0, m.cores_per_router - 1)
    else:
        port = slots_of(hw.core_router(core_chip, core_xy))
        if port.size and port.max() >= m.cores_per_router:
            raise FileFormatError(f"{where}: key 'core_xy' puts more than {m.cores_per_router} cores on one router")
    if np.unique(hw.physical_core(core_chip, core_xy, port)).size != K:
        raise FileFormatError(f"{where}: keys 'core_xy'/'core_port' put two logical cores on the same physical core")
    return core_xy, core_chip, port


#: a per-core limit in ``capacity``
_CAPACITY = integer("a per-core limit")


def _resolve_chip(d: dict, chip, where: str) -> ChipSpec:
    """The chip of a mapping: ``chip`` if given (its name must match), else the stored
    ``chip_spec``, else the preset named by ``chip``."""
    name = d["chip"]
    if chip is not None:
        spec = load_hardware(chip)
        if spec.name != name:
            raise FileFormatError(f"{where}: key 'chip' = {name!r} but the mapping is loaded for chip '{spec.name}'")
        return spec
    if d.get("chip_spec") is not None:
        try:
            cs = d["chip_spec"]
            if isinstance(cs, dict) and "grid" in cs:
                return SystemSpec.from_dict(cs, source=f"{where} key 'chip_spec'")
            return ChipSpec.from_dict(cs, source=f"{where} key 'chip_spec'")
        except ChipemuError as exc:
            raise FileFormatError(f"{where}: key 'chip_spec': {exc}") from None
    try:
        return load_hardware(name)
    except ChipemuError as exc:
        raise FileFormatError(f"{where}: key 'chip': {exc}") from None


def _ints(d: dict, key: str, where: str, ndim: int = 1) -> np.ndarray:
    val = d[key]
    if not isinstance(val, list):
        raise FileFormatError(f"{where}: key '{key}' must be a list, got {type(val).__name__}")
    try:
        arr = np.array(val, dtype=object)
    except ValueError:
        raise FileFormatError(f"{where}: key '{key}' is ragged (expected {ndim}-D)") from None
    if arr.size == 0:
        return np.zeros((0,) * ndim, dtype=np.int64) if ndim == 1 else np.zeros((0, 2), dtype=np.int64)
    if arr.ndim != ndim:
        raise FileFormatError(f"{where}: key '{key}' has shape {arr.shape}, expected {ndim}-D")
    flat = arr.reshape(-1)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in flat.tolist()):
        raise FileFormatError(f"{where}: key '{key}' must hold integers")
    return arr.astype(np.int64)


def _shape(arr: np.ndarray, shape: tuple, key: str, where: str) -> None:
    if arr.shape != shape:
        raise FileFormatError(f"{where}: key '{key}' has shape {arr.shape}, expected {shape}")


def _range(arr: np.ndarray, key: str, where: str, lo: int, hi: int, what: str = "value") -> None:
    if arr.size:
        bad = (arr < lo) | (arr > hi)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise FileFormatError(f"{where}: key '{key}' {what} {int(arr[i])} at index {i} out of range {lo}..{hi}")


def format_quality(q: dict[str, Any]) -> str:
    """A short human summary of :meth:`Mapping.quality`."""
    return (f"cores used: {q['cores_used']} on {q['routers_used']} routers; routing: {q['routing']}\n"
            f"inter-core packets per presynaptic spike: {q['inter_core_packets_per_spike']:.3f}; "
            f"packet-hops per presynaptic spike: {q['packet_hops_per_spike']:.3f}\n"
            f"cut synapses: {q['cut_synapses']} of {q['synapses']}; "
            f"max link load: {q['max_link_load']:.1f} packets")


__all__ = ["Mapping", "FORMAT", "slots_of", "format_quality", "RESOURCES", "LIMITED"]
