"""Von Neumann host descriptions for the baseline (:mod:`chipemu.baseline`).

A host is a TOML file (preset ``cpu-45nm`` next to this module, or a user's file) with
three top-level strings (``name``, ``description``, ``source``) and the sections
``[cpu]``, ``[ops]``, ``[l1]``, ``[l2]``, ``[llc]``, ``[dram]`` and ``[layout]``; every
constant carries its source in a comment.  :func:`load_host` validates it the way
:func:`chipemu.chips.load_chip` validates a chip: an unknown key, a missing key, a wrong
type or an out-of-range value raises :class:`HostSpecError` (a
:class:`~chipemu.errors.ChipSpecError`) with one line naming the file and the dotted key.

Units: joules, seconds, hertz, bytes, bytes per second, watts.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from importlib import resources
from typing import Any

from chipemu import bounded
from chipemu.errors import ChipSpecError
from chipemu.schema import (
    Invalid,
    Table,
    boolean,
    integer,
    number,
    parse_toml,
    string,
    table,
    validate,
)

__all__ = ["HostSpec", "MemoryLevel", "HostSpecError", "load_host", "list_hosts", "MEMORY_LEVELS"]

_PACKAGE = "chipemu.hosts"

#: memory levels in order, smallest (closest to the core) first
MEMORY_LEVELS = ("l1", "l2", "llc", "dram")


class HostSpecError(ChipSpecError):
    """An invalid host description (TOML): unknown or missing key, value out of range."""


#: Upper bounds (project assumption, far beyond any real host) that keep every energy and time
#: of the baseline finite: joules per operation or access <= 1 J, static power <= 1 MW.
_MAX_J, _MAX_W = 1.0, 1e6


def _level_table(level: str):
    return table({
        "capacity_bytes": integer("capacity in bytes", lo=1, hi=2**62, unit="B"),
        "read_64b_j": number("joules per 64-bit read", lo=0, hi=_MAX_J, unit="J"),
        "write_64b_j": number("joules per 64-bit write", lo=0, hi=_MAX_J, unit="J"),
        "bandwidth_bytes_per_s": number("sustained bandwidth in bytes per second", lo=0, lo_open=True, hi=1e18, unit="B/s"),
    }, f"memory level {level}")


def _levels_grow(d: dict, path: str) -> None:
    for a, b in zip(MEMORY_LEVELS[:-1], MEMORY_LEVELS[1:]):
        lo, hi = d[a]["capacity_bytes"], d[b]["capacity_bytes"]
        if hi <= lo:
            raise Invalid(f"key '{b}.capacity_bytes' = {hi} must exceed '{a}.capacity_bytes' = {lo} "
                          f"(levels grow from l1 to dram)")


#: the host file, key by key (docs/chips.md, "Hosts")
HOST_SCHEMA = Table({
    "name": string("host name", nonempty=True),
    "description": string("one-line summary"),
    "source": string("citation shown in reports"),
    "cpu": table({
        "clock_hz": number("core clock in Hz", lo=0, lo_open=True, hi=1e15, unit="Hz"),
        "ipc": number("sustained instructions per cycle", lo=0, lo_open=True, hi=1e6),
        "instruction_overhead_j": number("joules charged per instruction on top of its operation", lo=0, hi=_MAX_J, unit="J"),
        "static_w": number("static power of the host in watts", lo=0, hi=_MAX_W, unit="W"),
        "include_static": boolean("whether the total energy includes static_w * time"),
    }, "CPU"),
    "ops": table({
        "int_add_j": number("joules per 32-bit integer add", lo=0, hi=_MAX_J, unit="J"),
        "int_mult_j": number("joules per 32-bit integer multiply", lo=0, hi=_MAX_J, unit="J"),
        "int_shift_j": number("joules per shift", lo=0, hi=_MAX_J, unit="J"),
        "int_compare_j": number("joules per compare", lo=0, hi=_MAX_J, unit="J"),
    }, "operation energies"),
    **{level: _level_table(level) for level in MEMORY_LEVELS},
    "layout": table({
        "synapse_bytes": integer("bytes per stored synapse", lo=1, hi=2**20, unit="B"),
        "row_pointer_bytes": integer("bytes per CSR row pointer", lo=1, hi=2**20, unit="B"),
        "state_bytes": integer("bytes of u and v per compartment", lo=1, hi=2**20, unit="B"),
        "param_bytes": integer("bytes of constants per compartment", lo=1, hi=2**20, unit="B"),
        "accumulator_bytes": integer("bytes per delay-ring accumulator", lo=1, hi=2**20, unit="B"),
        "weight_bytes": integer("bytes per synaptic weight (read and written per learning update)", lo=1, hi=2**20, unit="B"),
        "trace_bytes": integer("bytes per learning trace", lo=1, hi=2**20, unit="B"),
    }, "data layout"),
}, "host", extra=_levels_grow)


@dataclass(frozen=True)
class MemoryLevel:
    """One level of the memory hierarchy.

    Attributes:
        name: ``"l1"``, ``"l2"``, ``"llc"`` or ``"dram"``.
        capacity_bytes: capacity (bytes).
        read_64b_j, write_64b_j: energy per 64-bit read / write (joules).
        bandwidth_bytes_per_s: sustained bandwidth (bytes/s).
    """

    name: str
    capacity_bytes: int
    read_64b_j: float
    write_64b_j: float
    bandwidth_bytes_per_s: float

    @property
    def read_j_per_byte(self) -> float:
        return self.read_64b_j / 8.0

    @property
    def write_j_per_byte(self) -> float:
        return self.write_64b_j / 8.0


@dataclass(frozen=True)
class HostSpec:
    """A validated host: CPU figures, op energies, memory levels and the data layout.

    ``cpu``, ``ops`` and ``layout`` are plain dicts of the TOML sections (validated);
    ``levels`` the memory levels smallest first.  ``sha256`` is the digest of the file.
    """

    name: str
    description: str
    source: str
    cpu: dict
    ops: dict
    levels: tuple[MemoryLevel, ...]
    layout: dict
    path: str = ""
    sha256: str = ""

    def level(self, name: str) -> MemoryLevel:
        for lv in self.levels:
            if lv.name == name:
                return lv
        raise KeyError(name)

    def fitting_level(self, nbytes: int) -> MemoryLevel:
        """The smallest level whose capacity holds ``nbytes`` (``nbytes <= capacity``);
        the last level (DRAM) if none does."""
        for lv in self.levels:
            if nbytes <= lv.capacity_bytes:
                return lv
        return self.levels[-1]

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "description": self.description, "source": self.source,
                             "cpu": dict(self.cpu), "ops": dict(self.ops)}
        for lv in self.levels:
            d[lv.name] = {"capacity_bytes": lv.capacity_bytes, "read_64b_j": lv.read_64b_j,
                          "write_64b_j": lv.write_64b_j, "bandwidth_bytes_per_s": lv.bandwidth_bytes_per_s}
        d["layout"] = dict(self.layout)
        return d


def host_from_dict(d: Any, where: str = "host spec <dict>", *, path: str = "", sha256: str = "") -> HostSpec:
    """Validate a dict laid out like the TOML file and build a :class:`HostSpec`."""
    v = validate(HOST_SCHEMA, d, where, HostSpecError)
    levels = tuple(MemoryLevel(name=lv, **v[lv]) for lv in MEMORY_LEVELS)
    return HostSpec(name=v["name"], description=v["description"], source=v["source"],
                    cpu=v["cpu"], ops=v["ops"], levels=levels, layout=v["layout"], path=path, sha256=sha256)


def list_hosts() -> list[str]:
    """Names of the built-in host presets, sorted."""
    root = resources.files(_PACKAGE)
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml") and p.is_file())


def load_host(name_or_path: str | os.PathLike[str] = "cpu-45nm") -> HostSpec:
    """Load a host by preset name (``"cpu-45nm"``) or from a TOML file path."""
    text_name = os.fspath(name_or_path)
    is_path = isinstance(name_or_path, os.PathLike) or text_name.endswith(".toml") or os.path.isfile(text_name)
    if is_path:
        where = f"host file {text_name}"
        data = bounded.read_bytes(text_name, "host file", bounded.MAX_TEXT_BYTES, HostSpecError)
        path = text_name
    else:
        names = list_hosts()
        if text_name not in names:
            raise HostSpecError(f"host {text_name!r} is not a preset (allowed: {', '.join(names)}, "
                                f"or a path to a .toml file)")
        where = f"host file {text_name}.toml (preset {text_name})"
        data = resources.files(_PACKAGE).joinpath(f"{text_name}.toml").read_bytes()
        path = f"preset:{text_name}"
    d = parse_toml(data, where, HostSpecError)
    return host_from_dict(d, where, path=path, sha256=hashlib.sha256(data).hexdigest())
