"""Validated, immutable chip descriptions and their TOML loader.

A chip is described by a TOML file (see the presets next to this module) with the
sections ``[mesh]``, ``[core]``, ``[noc]``, ``[energy]``, ``[time]`` and ``[power]`` plus
four top-level strings.  :func:`load_chip` reads a preset by name or a user's file by path
and returns a frozen :class:`ChipSpec`.  Every problem with the input (malformed TOML,
unknown key, missing key, wrong type, out-of-range value) raises
:class:`~chipemu.errors.ChipSpecError` with one line naming the file, the dotted key,
the bad value and what is allowed.

All quantities are SI: joules, seconds, watts, packets per second, bits.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

from chipemu.chips.rules import (INT_POS as _INT_POS, NONNEG as _NONNEG, Bad as _Bad, Rule as _Rule,
                                 Section as _Section, dict_digest as _dict_digest,
                                 optional_rule_field as _opt, rule_field as _f, show as _show,
                                 type_name as _type_name)
from chipemu import neuron
from chipemu.errors import ChipSpecError

__all__ = ["MeshSpec", "CoreSpec", "NocSpec", "OpCosts", "ChipSpec", "BARRIER_MODES", "where"]

BARRIER_MODES = ("linear", "step")
#: Largest mesh of one chip (project assumption: Loihi 2 has 128 cores; a million keeps every
#: per-core array and figure bounded): routers per side, cores per router, cores in all.
MAX_MESH_SIDE = 2**16
MAX_CORES_PER_ROUTER = 2**12
MAX_CORES = 2**20


# --------------------------------------------------------------------------------------
# Spec dataclasses


@dataclass(frozen=True)
class MeshSpec(_Section):
    """The 2-D router mesh.  A *tile* is one router and its cores.

    Attributes:
        columns: routers in x (count, >= 1).
        rows: routers in y (count, >= 1).
        cores_per_router: neuromorphic cores attached to each router (count, >= 1).
    """

    _section: ClassVar[str] = "mesh"

    columns: int = _f(_Rule("int", lo=1, cap=MAX_MESH_SIDE), "routers in x")
    rows: int = _f(_Rule("int", lo=1, cap=MAX_MESH_SIDE), "routers in y")
    cores_per_router: int = _f(_Rule("int", lo=1, cap=MAX_CORES_PER_ROUTER), "cores attached to each router")

    @classmethod
    def _cross_check(cls, section: str, values: Mapping[str, Any]) -> None:
        n = values["columns"] * values["rows"] * values["cores_per_router"]
        if n > MAX_CORES:
            raise _Bad(f"keys '{section}.columns' x '{section}.rows' x '{section}.cores_per_router' = "
                       f"{n:,} cores is too large (allowed: at most {MAX_CORES:,} cores)")


@dataclass(frozen=True)
class CoreSpec(_Section):
    """Per-core resource limits.

    Attributes:
        compartments: neuron compartments one core holds (count, >= 1).
        synapse_memory_bits: synaptic memory of one core (bits, >= 1).
        fanin_axons: distinct presynaptic sources a core can receive from (count, >= 1).
        fanout_axons: distinct destination cores one core may send to, D18's "fan-out
            axons" (count, >= 1).
        max_delay: largest synaptic delay (timesteps, 0..62).
        weight_bits: bits of synaptic weight stored per synapse, incl. sign (bits, 1..9).
        delay_bits: bits of the per-synapse delay field (bits, 0..6).
    """

    _section: ClassVar[str] = "core"

    compartments: int = _f(_INT_POS, "compartments per core")
    synapse_memory_bits: int = _f(_INT_POS, "synaptic memory per core in bits")
    fanin_axons: int = _f(_INT_POS, "distinct presynaptic sources per core")
    fanout_axons: int = _f(_INT_POS, "distinct destination cores per core")
    max_delay: int = _f(_Rule("int", lo=0, hi=neuron.DELAY_RANGE[1]), "largest synaptic delay in timesteps")
    weight_bits: int = _f(_Rule("int", lo=1, hi=neuron.WEIGHT_BITS), "stored weight bits incl. sign")
    delay_bits: int = _f(_Rule("int", lo=0, hi=neuron.DELAY_BITS), "bits of the per-synapse delay field")

    @classmethod
    def _cross_check(cls, section: str, values: Mapping[str, Any]) -> None:
        field_max = 2 ** values["delay_bits"] - 1
        if values["max_delay"] > field_max:
            raise _Bad(f"key '{section}.max_delay' = {values['max_delay']} does not fit a {values['delay_bits']}-bit "
                       f"delay field (key '{section}.delay_bits'; allowed: max_delay <= {field_max})")


@dataclass(frozen=True)
class NocSpec(_Section):
    """Network-on-chip parameters.

    Attributes:
        hop_energy_ew_j: energy per packet per east-west hop (joules, >= 0).
        hop_energy_ns_j: energy per packet per north-south hop (joules, >= 0).
        hop_time_ew_s: latency of one east-west hop (seconds, >= 0).
        hop_time_ns_s: latency of one north-south hop (seconds, >= 0).
        link_bandwidth_pps: packets per second one link serialises (packets/s, > 0).
        buffer_depth: packets one router input buffer holds (packets, >= 1).
        barrier_tiles: tile counts at which the barrier time is given (strictly
            increasing positive ints, same length as ``barrier_time_s``).
        barrier_time_s: barrier (timestep synchronisation) time at those tile counts
            (seconds, >= 0).
        barrier_mode: ``"linear"`` (interpolate, clamp at the ends) or ``"step"`` (time of
            the first entry whose tile count >= n; beyond the last entry, the last time).
    """

    _section: ClassVar[str] = "noc"

    hop_energy_ew_j: float = _f(_NONNEG, "joules per packet per east-west hop")
    hop_energy_ns_j: float = _f(_NONNEG, "joules per packet per north-south hop")
    hop_time_ew_s: float = _f(_NONNEG, "seconds per east-west hop")
    hop_time_ns_s: float = _f(_NONNEG, "seconds per north-south hop")
    link_bandwidth_pps: float = _f(_Rule("float", lo=0, lo_open=True, cap=1e18),
                                   "packets per second one link serialises")
    buffer_depth: int = _f(_INT_POS, "packets a router input buffer holds")
    barrier_tiles: tuple[int, ...] = _f(_Rule("int_list", lo=1, cap=2**31 - 1),
                                        "tile counts of the barrier table")
    barrier_time_s: tuple[float, ...] = _f(_Rule("float_list", lo=0, cap=1e6),
                                           "barrier time in seconds at those tile counts")
    barrier_mode: str = _f(_Rule("choice", choices=BARRIER_MODES),
                           "how barrier time is read off the table")

    @classmethod
    def _cross_check(cls, section: str, values: Mapping[str, Any]) -> None:
        tiles, times = values["barrier_tiles"], values["barrier_time_s"]
        if len(tiles) != len(times):
            raise _Bad(
                f"key '{section}.barrier_time_s' has {len(times)} entries but "
                f"'{section}.barrier_tiles' has {len(tiles)} (allowed: the same length)"
            )


@dataclass(frozen=True)
class OpCosts(_Section):
    """Cost of each counted event: joules in :attr:`ChipSpec.energy`, seconds in
    :attr:`ChipSpec.time` (time is serial within one core).  All values >= 0.

    Attributes:
        synapse_op: per synaptic event (one synapse receiving one spike).
        neuron_active: per compartment update when it had input, non-zero v or u, or a bias.
        neuron_inactive: per compartment update otherwise.
        spike_generation: per spike fired.
        message_out: per spike packet injected by a core (one per destination core).
        message_in: per packet received by a core.
        learning_update: per synaptic weight update (STDP).
        graded_synapse_op: extra per synaptic event whose spike carried a graded payload
            (the weight x payload multiply; optional, default 0).
        payload_byte: per payload byte of a graded packet injected by a core (optional,
            default 0).
        synapse_op_dense, synapse_op_conv: optional; per synaptic event of a synapse in a
            dense or a conv (shared-weight) list (mapper.encoding).  Absent: the same as
            ``synapse_op`` (which is the sparse list's cost).  :meth:`synapse_op_of` reads them.
    """

    _section: ClassVar[str] = "OpCosts"

    synapse_op: float = _f(_NONNEG, "per synaptic event")
    neuron_active: float = _f(_NONNEG, "per active compartment update")
    neuron_inactive: float = _f(_NONNEG, "per inactive compartment update")
    spike_generation: float = _f(_NONNEG, "per spike fired")
    message_out: float = _f(_NONNEG, "per spike packet injected by a core")
    message_in: float = _f(_NONNEG, "per packet received by a core")
    learning_update: float = _f(_NONNEG, "per synaptic weight update")
    graded_synapse_op: float = _f(_NONNEG, "extra per synaptic event with a graded payload (optional)", 0.0)
    payload_byte: float = _f(_NONNEG, "per payload byte of a graded packet sent to another core (optional)", 0.0)
    synapse_op_dense: float | None = _opt(_NONNEG, "per synaptic event of a dense-list synapse (optional)")
    synapse_op_conv: float | None = _opt(_NONNEG, "per synaptic event of a conv-list synapse (optional)")

    def synapse_op_of(self, encoding: str) -> float:
        """Cost of one synaptic event of a synapse in ``encoding`` (sparse, dense or conv)."""
        v = getattr(self, f"synapse_op_{encoding}", None) if encoding != "sparse" else None
        return self.synapse_op if v is None else v


_TOP_RULES: dict[str, _Rule] = {
    "name": _Rule("str", nonempty=True),
    "description": _Rule("str"),
    "energy_profile": _Rule("str", nonempty=True),
    "energy_source": _Rule("str"),
}
_SECTIONS: dict[str, type[_Section]] = {
    "mesh": MeshSpec,
    "core": CoreSpec,
    "noc": NocSpec,
    "energy": OpCosts,
    "time": OpCosts,
}
_POWER_RULES: dict[str, _Rule] = {"static_w": _NONNEG}
_TOP_KEYS = [*_TOP_RULES, *_SECTIONS, "power"]


@dataclass(frozen=True)
class ChipSpec:
    """A validated, immutable chip description.

    Attributes:
        name: chip name (e.g. ``"loihi1"``).
        description: one-line human description.
        energy_profile: name of the per-op cost profile (e.g. ``"D18"``).
        energy_source: citation of the cost figures, shown in reports.
        mesh: router mesh (:class:`MeshSpec`).
        core: per-core limits (:class:`CoreSpec`).
        noc: network-on-chip parameters (:class:`NocSpec`).
        energy: joules per event (:class:`OpCosts`).
        time: seconds per event, serial within a core (:class:`OpCosts`).
        static_w: static power of the whole chip (watts, >= 0).
        source: where it came from: a file path, ``"preset:NAME"`` or ``"<dict>"``.
        sha256: hex SHA-256 of the TOML file's bytes; for specs not read from a file
            (``from_dict``, ``with_overrides``) the digest of the canonical JSON of
            :meth:`to_dict`.  ``source`` and ``sha256`` are not part of equality.
    """

    name: str
    description: str
    energy_profile: str
    energy_source: str
    mesh: MeshSpec
    core: CoreSpec
    noc: NocSpec
    energy: OpCosts
    time: OpCosts
    static_w: float
    source: str = field(default="<dict>", compare=False)
    sha256: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        try:
            for key, rule in _TOP_RULES.items():
                object.__setattr__(self, key, rule.check(key, getattr(self, key)))
            for key, cls in _SECTIONS.items():
                v = getattr(self, key)
                if not isinstance(v, cls):
                    raise _Bad(f"key '{key}' = {_show(v)} has the wrong type "
                               f"{_type_name(v)} (allowed: {cls.__name__})")
            object.__setattr__(self, "static_w",
                               _POWER_RULES["static_w"].check("power.static_w", self.static_w))
            if not isinstance(self.source, str):
                raise _Bad(f"source = {_show(self.source)} is not a string")
        except _Bad as e:
            raise ChipSpecError(f"chip spec: {e}") from None
        if not self.sha256:
            object.__setattr__(self, "sha256", _dict_digest(self.to_dict()))

    # ---- derived figures ------------------------------------------------------------

    #: a chip is the 1 x 1 x 1 system of itself (see :class:`chipemu.chips.system.SystemSpec`)
    is_system: ClassVar[bool] = False
    chips: ClassVar[tuple[int, int, int]] = (1, 1, 1)
    n_chips: ClassVar[int] = 1

    @property
    def chip(self) -> ChipSpec:
        """The chip of every position of the (one-chip) system: itself."""
        return self

    def barrier_time_s(self, tiles: int, chips: int = 1) -> float:
        """Barrier time (s) of a step with ``tiles`` tiles in use (one chip)."""
        return self.barrier_time(tiles)

    @property
    def n_routers(self) -> int:
        """Number of routers (= tiles) in the mesh."""
        return self.mesh.columns * self.mesh.rows

    @property
    def n_cores(self) -> int:
        """Number of neuromorphic cores: routers x cores per router."""
        return self.n_routers * self.mesh.cores_per_router

    @property
    def total_compartments(self) -> int:
        """Compartments on the whole chip."""
        return self.n_cores * self.core.compartments

    def router_xy(self, router: int) -> tuple[int, int]:
        """Mesh coordinates ``(x, y)`` of a router index; ``router = y * columns + x``."""
        if isinstance(router, bool) or not isinstance(router, int) or not (
            0 <= router < self.n_routers
        ):
            raise ChipSpecError(
                f"chip {self.name}: router index {router!r} out of range "
                f"(allowed: int 0..{self.n_routers - 1})"
            )
        return router % self.mesh.columns, router // self.mesh.columns

    def barrier_time(self, tiles: int) -> float:
        """Barrier (timestep synchronisation) time in seconds for ``tiles`` tiles.

        ``"linear"``: interpolate the table, clamped to its end values.  ``"step"``: the
        time of the first entry whose tile count >= ``tiles``; beyond the last entry, the
        last time.
        """
        if isinstance(tiles, bool) or not isinstance(tiles, int) or tiles < 0:
            raise ChipSpecError(
                f"chip {self.name}: barrier tile count {tiles!r} is invalid (allowed: int >= 0)"
            )
        xs, ys = self.noc.barrier_tiles, self.noc.barrier_time_s
        if self.noc.barrier_mode == "step":
            i = bisect.bisect_left(xs, tiles)
            return ys[min(i, len(ys) - 1)]
        if tiles <= xs[0]:
            return ys[0]
        if tiles >= xs[-1]:
            return ys[-1]
        i = bisect.bisect_right(xs, tiles)  # xs[i-1] <= tiles < xs[i]
        x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
        return y0 + (y1 - y0) * (tiles - x0) / (x1 - x0)

    # ---- conversion -----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able nested dict with the same layout as the TOML file."""
        return {
            "name": self.name,
            "description": self.description,
            "energy_profile": self.energy_profile,
            "energy_source": self.energy_source,
            "mesh": self.mesh._to_table(),
            "core": self.core._to_table(),
            "noc": self.noc._to_table(),
            "energy": self.energy._to_table(),
            "time": self.time._to_table(),
            "power": {"static_w": self.static_w},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], source: str = "<dict>", *,
                  sha256: str | None = None) -> "ChipSpec":
        """Build and validate a spec from a dict laid out like the TOML file.

        Errors raise :class:`ChipSpecError` naming ``source`` and the dotted key.
        """
        where = _where(source)
        try:
            return cls._from_dict(d, source, sha256)
        except _Bad as e:
            raise ChipSpecError(f"{where}: {e}") from None

    @classmethod
    def _from_dict(cls, d: Any, source: str, sha256: str | None) -> "ChipSpec":
        if not isinstance(d, Mapping):
            raise _Bad(f"top level is {_type_name(d)} (allowed: a table of keys "
                       f"{', '.join(_TOP_KEYS)})")
        for key in d:
            if key not in _TOP_KEYS:
                raise _Bad(f"unknown key '{key}' (allowed: {', '.join(_TOP_KEYS)})")
        for key in _TOP_KEYS:
            if key not in d:
                what = _TOP_RULES[key].allowed() if key in _TOP_RULES else f"a table [{key}]"
                raise _Bad(f"missing key '{key}' (required: {what})")
        top = {k: rule.check(k, d[k]) for k, rule in _TOP_RULES.items()}
        sections = {k: sec._from_table(d[k], k) for k, sec in _SECTIONS.items()}
        power = d["power"]
        if not isinstance(power, dict):
            raise _Bad(f"key 'power' = {_show(power)} has the wrong type "
                       f"{_type_name(power)} (allowed: a table [power])")
        for key in power:
            if key not in _POWER_RULES:
                raise _Bad(f"unknown key 'power.{key}' (allowed: {', '.join(_POWER_RULES)})")
        if "static_w" not in power:
            raise _Bad("missing key 'power.static_w' (required: finite number >= 0; "
                       "static power of the whole chip in watts)")
        static_w = _POWER_RULES["static_w"].check("power.static_w", power["static_w"])
        return cls(**top, **sections, static_w=static_w, source=source,
                   sha256=sha256 or "")

    def with_overrides(self, overrides: Mapping[str, object]) -> "ChipSpec":
        """A copy with some values replaced, re-validated.

        Keys are dotted paths as in the TOML file (``"mesh.columns"``,
        ``"energy.synapse_op"``, ``"power.static_w"``, ``"name"``).  Unless ``"name"`` is
        overridden, the name gets a suffix per override, e.g. ``loihi1+mesh.columns=16``.
        """
        d = self.to_dict()
        where = f"{_where(self.source)} with overrides"
        suffix = ""
        for path, value in overrides.items():
            parts = str(path).split(".")
            target: Any = d
            ok = True
            for p in parts[:-1]:
                if not isinstance(target, dict) or not isinstance(target.get(p), dict):
                    ok = False
                    break
                target = target[p]
            last = parts[-1]
            if not ok or not isinstance(target, dict) or last not in target or isinstance(
                target[last], dict
            ):
                near = [q for q in _all_paths() if q.startswith(parts[0] + ".")]
                raise ChipSpecError(
                    f"{where}: unknown key '{path}' (allowed: {', '.join(near or _all_paths())})"
                )
            target[last] = list(value) if isinstance(value, tuple) else value
            if path != "name":
                suffix += f"+{path}={_fmt_override(value)}"
        if "name" not in overrides and isinstance(d["name"], str):
            d["name"] = d["name"] + suffix
        source = f"{self.source}+overrides"
        try:
            return ChipSpec._from_dict(d, source, None)
        except _Bad as e:
            raise ChipSpecError(f"{where}: {e}") from None


def _fmt_override(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_fmt_override(v) for v in value) + "]"
    return str(value)


def _all_paths() -> list[str]:
    paths = list(_TOP_RULES)
    for sec, cls in _SECTIONS.items():
        paths += [f"{sec}.{k}" for k in cls._keys()]
    paths += [f"power.{k}" for k in _POWER_RULES]
    return paths


def _where(source: str) -> str:
    if source.startswith("preset:"):
        name = source[len("preset:"):]
        return f"chip file {name}.toml (preset {name})"
    if source.startswith("<"):
        return f"chip spec {source}"
    return f"chip file {source}"



where = _where
