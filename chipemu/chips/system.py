"""Validated, immutable descriptions of systems of chips (TOML files like the chip files).

A system is a grid of identical chips joined by chip-to-chip links::

    name = "nahuku32"
    description = "..."
    chip = "loihi1"             # a chip preset name, or a chip TOML path relative to this file

    [grid]                      # chips in x, y and z (z: layers of stacked chips)
    chips_x = 8
    chips_y = 4
    chips_z = 1

    [link]                      # one chip-to-chip link (per direction)
    hop_time_s = ...            # latency of one crossing (s)
    hop_energy_j = ...          # energy per packet per crossing (J)
    bandwidth_pps = ...         # packets per second one link serialises

    [barrier]                   # system-wide barrier when more than one chip is used
    chips = [1, 256, 768]       # chip counts of the table (strictly increasing)
    time_s = [...]              # barrier time at those chip counts (s)
    mode = "linear"             # "linear" (interpolate, clamp) or "step"

:class:`SystemSpec` offers what the rest of chipemu reads from a chip (``mesh``,
``core``, ``noc``, ``energy``, ``time``, ``energy_profile``, ...; those of its chip), so a
system works wherever a chip does; ``n_cores``, ``n_routers`` and ``static_w`` are those
of the whole system.  The geometry (numbering, routes, links) is :mod:`chipemu.hardware`.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from chipemu.chips.spec import BARRIER_MODES, ChipSpec, _fmt_override
from chipemu.chips.rules import dict_digest
from chipemu.errors import ChipSpecError
from chipemu.schema import (Invalid, Table, anything, choice, float_list, int_list, integer, number, show,
                            string, table, type_name, validate)

__all__ = ["GridSpec", "LinkSpec", "BarrierSpec", "SystemSpec", "SYSTEM_SCHEMA", "system_where"]


def _barrier_lengths(values: dict, path: str) -> None:
    if len(values["chips"]) != len(values["time_s"]):
        raise Invalid(f"key '{path}.time_s' has {len(values['time_s'])} entries but '{path}.chips' has "
                      f"{len(values['chips'])} (allowed: the same length)")


_GRID = {
    "chips_x": integer("chips side by side in x", lo=1),
    "chips_y": integer("chips side by side in y", lo=1),
    "chips_z": integer("layers of chips stacked in z", lo=1),
}
_LINK = {
    "hop_time_s": number("latency of one chip-to-chip crossing", lo=0, unit="s"),
    "hop_energy_j": number("energy per packet per chip-to-chip crossing", lo=0, unit="J"),
    "bandwidth_pps": number("packets per second one chip-to-chip link serialises", lo=0, lo_open=True,
                            unit="packets/s"),
}
_BARRIER = {
    "chips": int_list("chip counts of the barrier table", lo=1, increasing=True),
    "time_s": float_list("barrier time at those chip counts", lo=0, unit="s"),
    "mode": choice(BARRIER_MODES, "how the table is read"),
}
#: the system file, as :mod:`chipemu.schema` checks it (``chip``: resolved by the loader)
SYSTEM_SCHEMA = Table({
    "name": string("system name", nonempty=True),
    "description": string("one-line description"),
    "chip": anything("a chip preset name, a chip file path or a table"),
    "grid": table(_GRID, "the grid of chips"),
    "link": table(_LINK, "one chip-to-chip link"),
    "barrier": table(_BARRIER, "the system-wide barrier", extra=_barrier_lengths),
}, "system")


class _Checked:
    """Mixin: a section validated against its :mod:`chipemu.schema` table on construction."""

    _section: ClassVar[str]
    _fields: ClassVar[dict]

    def __post_init__(self) -> None:
        _check_section(self)

    def _to_table(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in ((k, getattr(self, k)) for k in self._fields)}


@dataclass(frozen=True)
class GridSpec(_Checked):
    """The grid of chips.

    Attributes:
        chips_x, chips_y: chips side by side in x and y (count, >= 1); their meshes join
            into one global mesh through the chips' planar ports.
        chips_z: layers of chips stacked on their Up/Down ports (count, >= 1).
    """

    _section: ClassVar[str] = "grid"
    _fields: ClassVar[dict] = _GRID

    chips_x: int
    chips_y: int
    chips_z: int


@dataclass(frozen=True)
class LinkSpec(_Checked):
    """One chip-to-chip link, in each direction.

    Attributes:
        hop_time_s: latency of one packet crossing the link (seconds, >= 0).
        hop_energy_j: energy of one packet crossing the link (joules, >= 0).
        bandwidth_pps: packets per second the link serialises (packets/s, > 0).
    """

    _section: ClassVar[str] = "link"
    _fields: ClassVar[dict] = _LINK

    hop_time_s: float
    hop_energy_j: float
    bandwidth_pps: float


@dataclass(frozen=True)
class BarrierSpec(_Checked):
    """The system-wide barrier (end of a timestep) when more than one chip is used.

    Attributes:
        chips: chip counts at which the time is given (strictly increasing ints >= 1).
        time_s: barrier time at those counts (seconds, >= 0).
        mode: ``"linear"`` (interpolate, clamp at the ends) or ``"step"`` (the time of the
            first entry whose count >= n; beyond the last, the last time).
    """

    _section: ClassVar[str] = "barrier"
    _fields: ClassVar[dict] = _BARRIER

    chips: tuple[int, ...]
    time_s: tuple[float, ...]
    mode: str

    def time(self, n: int) -> float:
        """Barrier time (s) for ``n`` chips, read off the table per :attr:`mode`."""
        xs, ys = self.chips, self.time_s
        if self.mode == "step":
            return ys[min(bisect.bisect_left(xs, n), len(ys) - 1)]
        if n <= xs[0]:
            return ys[0]
        if n >= xs[-1]:
            return ys[-1]
        i = bisect.bisect_right(xs, n)
        x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
        return y0 + (y1 - y0) * (n - x0) / (x1 - x0)


def _check_section(spec) -> None:
    """Validate a section's values against its schema table; normalise them in place."""
    extra = _barrier_lengths if spec._section == "barrier" else None
    values = {k: getattr(spec, k) for k in spec._fields}
    try:
        checked = table(spec._fields, spec._section, extra=extra).schema.check(values, spec._section)
    except Invalid as e:
        raise ChipSpecError(f"system spec: {e}") from None
    for k, v in checked.items():
        object.__setattr__(spec, k, v)


_SECTIONS = {"grid": GridSpec, "link": LinkSpec, "barrier": BarrierSpec}


def system_where(source: str) -> str:
    """How messages name a system description's origin."""
    if source.startswith("preset:"):
        name = source[len("preset:"):]
        return f"system file {name}.toml (preset {name})"
    if source.startswith("<"):
        return f"system spec {source}"
    return f"system file {source}"


@dataclass(frozen=True)
class SystemSpec:
    """A validated, immutable system of identical chips (see the module docstring).

    Attributes:
        name, description: strings.
        chip: the chip of every position (:class:`ChipSpec`).
        grid, link, barrier: :class:`GridSpec`, :class:`LinkSpec`, :class:`BarrierSpec`.
        source: a file path, ``"preset:NAME"`` or ``"<dict>"``; sha256: hex digest of the
            file's bytes (else of the canonical JSON of :meth:`to_dict`).  Neither is part
            of equality.
    """

    name: str
    description: str
    chip: ChipSpec
    grid: GridSpec
    link: LinkSpec
    barrier: BarrierSpec
    source: str = field(default="<dict>", compare=False)
    sha256: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        for key in ("name", "description"):
            try:
                object.__setattr__(self, key, SYSTEM_SCHEMA.fields[key].check(key, getattr(self, key)))
            except Invalid as e:
                raise ChipSpecError(f"system spec: {e}") from None
        for key, cls in (("chip", ChipSpec), *_SECTIONS.items()):
            v = getattr(self, key)
            if not isinstance(v, cls):
                raise ChipSpecError(f"system spec: key '{key}' = {show(v)} has the wrong type {type_name(v)} "
                                    f"(allowed: {cls.__name__})")
        if not self.sha256:
            object.__setattr__(self, "sha256", dict_digest(self.to_dict()))

    # ---- what a chip offers, for the whole system ------------------------------------

    is_system: ClassVar[bool] = True

    @property
    def chips(self) -> tuple[int, int, int]:
        """``(chips_x, chips_y, chips_z)``."""
        return (self.grid.chips_x, self.grid.chips_y, self.grid.chips_z)

    @property
    def n_chips(self) -> int:
        return self.grid.chips_x * self.grid.chips_y * self.grid.chips_z

    mesh = property(lambda self: self.chip.mesh, doc="the mesh of one chip")
    core = property(lambda self: self.chip.core, doc="per-core limits")
    noc = property(lambda self: self.chip.noc, doc="on-chip NoC figures")
    energy = property(lambda self: self.chip.energy, doc="joules per event")
    time = property(lambda self: self.chip.time, doc="seconds per event")
    energy_profile = property(lambda self: self.chip.energy_profile)

    @property
    def energy_source(self) -> str:
        return f"{self.chip.energy_source}; chip-to-chip links: see system {self.name}"

    @property
    def n_routers(self) -> int:
        """Routers of the whole system."""
        return self.n_chips * self.chip.n_routers

    @property
    def n_cores(self) -> int:
        """Cores of the whole system."""
        return self.n_chips * self.chip.n_cores

    @property
    def total_compartments(self) -> int:
        return self.n_cores * self.chip.core.compartments

    @property
    def static_w(self) -> float:
        """Static power of the whole system: every chip is powered (W)."""
        return self.n_chips * self.chip.static_w

    def barrier_time_s(self, tiles: int, chips: int) -> float:
        """Barrier time (s) of a step: the chip's own barrier for ``tiles`` tiles when at
        most one chip is used, else the system barrier for ``chips`` chips."""
        if chips <= 1:
            return self.chip.barrier_time(tiles)
        return self.barrier.time(chips)

    # ---- variants -------------------------------------------------------------------

    def with_overrides(self, overrides: Mapping[str, object]) -> SystemSpec:
        """A copy with some values replaced, re-validated (what sweeps vary).

        Keys are dotted paths: the system's own ``grid.*``, ``link.*``, ``barrier.*`` and
        ``name``/``description``, or any chip path (``"mesh.columns"``,
        ``"energy.synapse_op"``, ``"power.static_w"``; :meth:`ChipSpec.with_overrides`),
        which changes every chip of the system.  Unless ``"name"`` is overridden, the name
        gets a suffix per override, e.g. ``nahuku32+grid.chips_x=4``.
        """
        where = f"{system_where(self.source)} with overrides"
        d = self.to_dict()
        chip_overrides, suffix = {}, ""
        for path, value in overrides.items():
            section, _, leaf = str(path).partition(".")
            if section in _SECTIONS:
                if leaf not in d[section]:
                    allowed = ", ".join(f"{section}.{k}" for k in d[section])
                    raise ChipSpecError(f"{where}: unknown key '{path}' (allowed: {allowed})")
                d[section][leaf] = list(value) if isinstance(value, tuple) else value
            elif path in ("name", "description"):
                d[path] = value
            else:
                chip_overrides[path] = value
            if path != "name":
                suffix += f"+{path}={_fmt_override(value)}"
        chip = self.chip.with_overrides(chip_overrides) if chip_overrides else self.chip
        if "name" not in overrides and isinstance(d["name"], str):
            d["name"] = d["name"] + suffix
        d["chip"] = chip.name  # resolved to the (overridden) chip itself
        return SystemSpec.from_dict(d, f"{self.source}+overrides", resolve_chip=lambda _name: chip)

    # ---- conversion -----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able dict; ``chip`` is the chip's full description."""
        return {"name": self.name, "description": self.description, "chip": self.chip.to_dict(),
                "grid": self.grid._to_table(), "link": self.link._to_table(),
                "barrier": self.barrier._to_table()}

    @classmethod
    def from_dict(cls, d: Any, source: str = "<dict>", *, sha256: str | None = None,
                  resolve_chip=None) -> SystemSpec:
        """Build and validate a system from a dict laid out like the TOML file.

        ``chip`` may be a table (a chip description) or a string; a string is resolved by
        ``resolve_chip(text)`` (the loader passes one that reads presets and relative
        paths).  Errors raise :class:`ChipSpecError` naming ``source`` and the key.
        """
        where = system_where(source)
        v = validate(SYSTEM_SCHEMA, d, where, ChipSpecError)
        top = {"name": v["name"], "description": v["description"]}
        sections = {k: cls(**v[k]) for k, cls in _SECTIONS.items()}
        raw = d["chip"]
        if isinstance(raw, Mapping):
            chip = ChipSpec.from_dict(raw, source=f"{source} key 'chip'")
        elif isinstance(raw, str) and raw.strip() and resolve_chip is not None:
            try:
                chip = resolve_chip(raw)
            except ChipSpecError as e:
                raise ChipSpecError(f"{where}: key 'chip' = {raw!r}: {e}") from None
        else:
            raise ChipSpecError(f"{where}: key 'chip' = {show(raw)} has the wrong type {type_name(raw)} "
                                f"(allowed: a chip preset name, a chip file path or a table)")
        return cls(**top, chip=chip, **sections, source=source, sha256=sha256 or "")
