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
import math
import os
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from chipemu.errors import ChipSpecError

__all__ = ["HostSpec", "MemoryLevel", "HostSpecError", "load_host", "list_hosts", "MEMORY_LEVELS"]

_PACKAGE = "chipemu.hosts"

#: memory levels in order, smallest (closest to the core) first
MEMORY_LEVELS = ("l1", "l2", "llc", "dram")


class HostSpecError(ChipSpecError):
    """An invalid host description (TOML): unknown or missing key, value out of range."""


# key -> (kind, lower bound, strictly greater?, doc)
_NUM = "number"
_INT = "int"
_BOOL = "bool"
_STR = "str"
_SCHEMA: dict[str, dict[str, tuple[str, float | None, bool, str]]] = {
    "cpu": {
        "clock_hz": (_NUM, 0, True, "core clock in Hz"),
        "ipc": (_NUM, 0, True, "sustained instructions per cycle"),
        "instruction_overhead_j": (_NUM, 0, False, "joules charged per instruction on top of its operation"),
        "static_w": (_NUM, 0, False, "static power of the host in watts"),
        "include_static": (_BOOL, None, False, "whether the total energy includes static_w * time"),
    },
    "ops": {
        "int_add_j": (_NUM, 0, False, "joules per 32-bit integer add"),
        "int_mult_j": (_NUM, 0, False, "joules per 32-bit integer multiply"),
        "int_shift_j": (_NUM, 0, False, "joules per shift"),
        "int_compare_j": (_NUM, 0, False, "joules per compare"),
    },
    **{level: {
        "capacity_bytes": (_INT, 1, False, "capacity in bytes"),
        "read_64b_j": (_NUM, 0, False, "joules per 64-bit read"),
        "write_64b_j": (_NUM, 0, False, "joules per 64-bit write"),
        "bandwidth_bytes_per_s": (_NUM, 0, True, "sustained bandwidth in bytes per second"),
    } for level in MEMORY_LEVELS},
    "layout": {
        "synapse_bytes": (_INT, 1, False, "bytes per stored synapse"),
        "row_pointer_bytes": (_INT, 1, False, "bytes per CSR row pointer"),
        "state_bytes": (_INT, 1, False, "bytes of u and v per compartment"),
        "param_bytes": (_INT, 1, False, "bytes of constants per compartment"),
        "accumulator_bytes": (_INT, 1, False, "bytes per delay-ring accumulator"),
        "weight_bytes": (_INT, 1, False, "bytes per synaptic weight (read and written per learning update)"),
        "trace_bytes": (_INT, 1, False, "bytes per learning trace"),
    },
}
_TOP = {"name": "a non-empty string", "description": "a string", "source": "a string"}
_TOP_KEYS = [*_TOP, *_SCHEMA]


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


def _show(v: Any) -> str:
    text = "{...}" if isinstance(v, dict) else repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _check(where: str, path: str, value: Any, rule: tuple) -> Any:
    kind, lo, strict, doc = rule
    if kind == _BOOL:
        if not isinstance(value, bool):
            raise HostSpecError(f"{where}: key '{path}' = {_show(value)} must be true or false ({doc})")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind == _INT and not isinstance(value, int)):
        want = "an int" if kind == _INT else "a number"
        raise HostSpecError(f"{where}: key '{path}' = {_show(value)} has the wrong type (allowed: {want}; {doc})")
    if not math.isfinite(value) or (lo is not None and (value < lo or (strict and value == lo))):
        rng = f"{'>' if strict else '>='} {lo:g}"
        raise HostSpecError(f"{where}: key '{path}' = {_show(value)} is out of range (allowed: {rng}; {doc})")
    return int(value) if kind == _INT else float(value)


def host_from_dict(d: Any, where: str = "host spec <dict>", *, path: str = "", sha256: str = "") -> HostSpec:
    """Validate a dict laid out like the TOML file and build a :class:`HostSpec`."""
    if not isinstance(d, dict):
        raise HostSpecError(f"{where}: top level must be a table of keys {', '.join(_TOP_KEYS)}")
    for key in d:
        if key not in _TOP_KEYS:
            raise HostSpecError(f"{where}: unknown key '{key}' (allowed: {', '.join(_TOP_KEYS)})")
    for key in _TOP_KEYS:
        if key not in d:
            what = _TOP.get(key, f"a table [{key}]")
            raise HostSpecError(f"{where}: missing key '{key}' (required: {what})")
    top = {}
    for key in _TOP:
        v = d[key]
        if not isinstance(v, str) or (key == "name" and not v.strip()):
            raise HostSpecError(f"{where}: key '{key}' = {_show(v)} must be {_TOP[key]}")
        top[key] = v
    sections: dict[str, dict] = {}
    for sec, rules in _SCHEMA.items():
        table = d[sec]
        if not isinstance(table, dict):
            raise HostSpecError(f"{where}: key '{sec}' = {_show(table)} must be a table [{sec}]")
        for key in table:
            if key not in rules:
                raise HostSpecError(f"{where}: unknown key '{sec}.{key}' (allowed: {', '.join(rules)})")
        out = {}
        for key, rule in rules.items():
            if key not in table:
                raise HostSpecError(f"{where}: missing key '{sec}.{key}' (required: {rule[3]})")
            out[key] = _check(where, f"{sec}.{key}", table[key], rule)
        sections[sec] = out
    levels = tuple(MemoryLevel(name=lv, **sections[lv]) for lv in MEMORY_LEVELS)
    for a, b in zip(levels[:-1], levels[1:]):
        if b.capacity_bytes <= a.capacity_bytes:
            raise HostSpecError(f"{where}: key '{b.name}.capacity_bytes' = {b.capacity_bytes} must exceed "
                                f"'{a.name}.capacity_bytes' = {a.capacity_bytes} (levels grow from l1 to dram)")
    return HostSpec(name=top["name"], description=top["description"], source=top["source"],
                    cpu=sections["cpu"], ops=sections["ops"], levels=levels, layout=sections["layout"],
                    path=path, sha256=sha256)


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
        try:
            data = Path(text_name).read_bytes()
        except FileNotFoundError:
            raise HostSpecError(f"{where}: no such file") from None
        except OSError as e:
            raise HostSpecError(f"{where}: cannot be read ({e.strerror})") from None
        path = text_name
    else:
        names = list_hosts()
        if text_name not in names:
            raise HostSpecError(f"host {text_name!r} is not a preset (allowed: {', '.join(names)}, "
                                f"or a path to a .toml file)")
        where = f"host file {text_name}.toml (preset {text_name})"
        data = resources.files(_PACKAGE).joinpath(f"{text_name}.toml").read_bytes()
        path = f"preset:{text_name}"
    try:
        d = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise HostSpecError(f"{where}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except tomllib.TOMLDecodeError as e:
        raise HostSpecError(f"{where}: malformed TOML: {' '.join(str(e).split())}") from None
    return host_from_dict(d, where, path=path, sha256=hashlib.sha256(data).hexdigest())
