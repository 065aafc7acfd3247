"""Loading chip and system descriptions: presets by name, files by path; the chips table.

:func:`load_chip` reads a chip preset or file and returns a :class:`ChipSpec`;
:func:`load_hardware` reads a chip *or* a system of chips (:class:`SystemSpec`) and is
what every ``--chip`` option uses.  Presets are the TOML files next to this module.
"""

from __future__ import annotations

import hashlib
import os
from importlib import resources
from typing import Iterable

from chipemu.chips.spec import ChipSpec, where as _where
from chipemu.chips.system import SystemSpec, system_where
from chipemu import bounded
from chipemu.errors import ChipSpecError

__all__ = ["load_chip", "load_hardware", "list_presets", "list_systems", "format_chip_table",
           "format_system_table"]

_PRESET_PACKAGE = "chipemu.chips"
_SYSTEM_PACKAGE = "chipemu.chips.systems"


# --------------------------------------------------------------------------------------
# Loading


def list_presets() -> list[str]:
    """Names of the built-in chip presets, sorted."""
    root = resources.files(_PRESET_PACKAGE)
    return sorted(p.name[: -len(".toml")] for p in root.iterdir()
                  if p.name.endswith(".toml") and p.is_file())


def list_systems() -> list[str]:
    """Names of the built-in system presets (grids of chips), sorted."""
    root = resources.files(_SYSTEM_PACKAGE)
    return sorted(p.name[: -len(".toml")] for p in root.iterdir()
                  if p.name.endswith(".toml") and p.is_file())


def _read_toml(data: bytes, where: str) -> dict:
    """UTF-8 TOML, at most :data:`chipemu.bounded.MAX_DEPTH` levels deep."""
    return bounded.parse_toml(bounded.decode_utf8(data, where, ChipSpecError), where, ChipSpecError)


def _read_file(path: str, hint: str) -> bytes:
    """The bytes of a chip or system file: a regular file of bounded size (not a stream,
    a device or a folder); ``hint`` ends the error line (the presets)."""
    try:
        return bounded.read_bytes(path, "chip file", bounded.MAX_TEXT_BYTES, ChipSpecError)
    except ChipSpecError as e:
        raise ChipSpecError(f"{e}; {hint}") from None


def _parse(data: bytes, source: str) -> ChipSpec:
    d = _read_toml(data, _where(source))
    if isinstance(d, dict) and "grid" in d:
        raise ChipSpecError(f"{_where(source)}: describes a system of chips (it has a [grid]); "
                            f"use it where a system is allowed (mapping and running a network take one)")
    return ChipSpec.from_dict(d, source=source, sha256=hashlib.sha256(data).hexdigest())


def _parse_hardware(data: bytes, source: str, base_dir: str | None) -> ChipSpec | SystemSpec:
    """A chip or, if the table has a ``[grid]``, a system; a system's ``chip`` string is a
    chip preset name or a chip file path relative to ``base_dir``."""
    d = _read_toml(data, system_where(source))
    digest = hashlib.sha256(data).hexdigest()
    if not (isinstance(d, dict) and "grid" in d):
        return ChipSpec.from_dict(d, source=source, sha256=digest)

    def resolve(text: str) -> ChipSpec:
        path = text
        if base_dir is not None and not os.path.isabs(text) and (text.endswith(".toml") or os.sep in text):
            path = os.path.join(base_dir, text)
        return load_chip(path)

    return SystemSpec.from_dict(d, source=source, sha256=digest, resolve_chip=resolve)


def load_hardware(name_or_path: str | os.PathLike[str]) -> ChipSpec | SystemSpec:
    """Load a chip or a system of chips by preset name or from a TOML file path.

    What every ``--chip`` option takes: chip presets (:func:`list_presets`), system presets
    (:func:`list_systems`), or a file (a system file has a ``[grid]`` table).
    """
    if isinstance(name_or_path, (ChipSpec, SystemSpec)):
        return name_or_path
    text = os.fspath(name_or_path) if isinstance(name_or_path, os.PathLike) else name_or_path
    if isinstance(text, str) and not isinstance(name_or_path, os.PathLike) and not text.endswith(".toml") \
            and not os.path.isfile(text):
        if text in list_systems():
            data = resources.files(_SYSTEM_PACKAGE).joinpath(f"{text}.toml").read_bytes()
            return _parse_hardware(data, f"preset:{text}", None)
        if text not in list_presets():
            raise ChipSpecError(f"chip {text!r}: unknown preset (allowed: {', '.join(list_presets())}; "
                                f"systems: {', '.join(list_systems())}; or a path to a .toml file)")
        return load_chip(text)
    if not isinstance(text, str):
        return load_chip(name_or_path)  # raises the error for a bad type
    data = _read_file(text, f"presets are: {', '.join(list_presets())}; systems: {', '.join(list_systems())}")
    return _parse_hardware(data, text, os.path.dirname(os.path.abspath(text)))


def load_chip(name_or_path: str | os.PathLike[str]) -> ChipSpec:
    """Load a chip by preset name (``"loihi1"``) or from a TOML file path.

    A path is anything that is an ``os.PathLike``, ends in ``.toml`` or names an
    existing file; anything else is a preset name.
    """
    if isinstance(name_or_path, os.PathLike):
        return _load_file(os.fspath(name_or_path))
    if not isinstance(name_or_path, str):
        raise ChipSpecError(
            f"chip {name_or_path!r}: not a preset name or a file path "
            f"(presets: {', '.join(list_presets())})"
        )
    text = name_or_path
    if text.endswith(".toml") or os.path.isfile(text):
        return _load_file(text)
    presets = list_presets()
    if text not in presets:
        raise ChipSpecError(
            f"chip {text!r}: unknown preset (allowed: {', '.join(presets)}, "
            f"or a path to a .toml file)"
        )
    data = resources.files(_PRESET_PACKAGE).joinpath(f"{text}.toml").read_bytes()
    return _parse(data, f"preset:{text}")


def _load_file(path: str) -> ChipSpec:
    data = _read_file(path, f"presets are: {', '.join(list_presets())}")
    return _parse(data, path)


# --------------------------------------------------------------------------------------
# Table for `chipemu chips`


def format_chip_table(specs: Iterable[ChipSpec]) -> str:
    """A plain-text table of chips and their key figures (for ``chipemu chips``)."""
    header = ["name", "mesh", "cores", "compartments/core", "total compartments",
              "synapse mem/core (KB)", "energy profile", "synapse op (pJ)", "static (mW)"]
    right = [False, False, True, True, True, True, False, True, True]
    rows = [header]
    for s in specs:
        rows.append([
            s.name,
            f"{s.mesh.columns}x{s.mesh.rows}",
            str(s.n_cores),
            str(s.core.compartments),
            str(s.total_compartments),
            f"{s.core.synapse_memory_bits / 8 / 1024:g}",
            s.energy_profile,
            f"{s.energy.synapse_op * 1e12:.1f}",
            f"{s.static_w * 1e3:.1f}",
        ])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = []
    for n, r in enumerate(rows):
        cells = [c.rjust(w) if right[i] and n else c.ljust(w)
                 for i, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_system_table(specs: Iterable[SystemSpec]) -> str:
    """A plain-text table of systems of chips (for ``chipemu chips``)."""
    header = ["system", "chip", "chips", "grid", "cores", "total compartments",
              "link latency (ns)", "link energy (pJ)", "link bandwidth (Mpkt/s)", "static (W)"]
    rows = [header]
    for s in specs:
        g = s.grid
        rows.append([s.name, s.chip.name, str(s.n_chips), f"{g.chips_x}x{g.chips_y}x{g.chips_z}",
                     str(s.n_cores), str(s.total_compartments), f"{s.link.hop_time_s * 1e9:g}",
                     f"{s.link.hop_energy_j * 1e12:g}", f"{s.link.bandwidth_pps / 1e6:g}",
                     f"{s.static_w:g}"])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = []
    for n, r in enumerate(rows):
        lines.append("  ".join(c.ljust(w) if i < 4 or not n else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
