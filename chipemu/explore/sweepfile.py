"""The sweep file (TOML), part by part: its schema, varied values, chips and workloads.

:data:`SWEEP_SCHEMA` lists every key of a sweep file (``docs/explore.md`` section 1) and is
checked by :mod:`chipemu.schema`, so a sweep file's errors read like every other input's:
``sweep file PATH: key 'samples' = 0 is out of range (allowed: int 1..200000)``.  What the
schema cannot say (a value list or a range table; a program's parameter names; a chip
override that must validate) is checked here, in the same words.
"""

from __future__ import annotations

import inspect
import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..bounded import MAX_STEPS
from ..errors import ChipemuError
from ..schema import (
    Field,
    Invalid,
    Table,
    anything,
    boolean,
    choice,
    integer,
    number,
    show,
    string,
    table,
    type_name,
)

__all__ = ["SWEEP_SCHEMA", "Axis", "Workload", "NOC_MODELS", "SAMPLINGS", "STATIC_POWER", "MAX_POINTS",
           "parse_axis", "parse_workload", "load_chip_ref"]

NOC_MODELS = ("analytic", "simpy")
SAMPLINGS = ("grid", "random")
STATIC_POWER = ("fixed", "per-core")
#: largest number of points a sweep may expand to
MAX_POINTS = 200_000
#: largest magnitude of a range's min/max (project assumption: keeps max - min finite)
_RANGE_MAX = 1e300
#: largest magnitude of an integer range's min/max: the random draw is a 64-bit integer
_INT_RANGE_MAX = 2**62
#: chip paths that may not be varied (they are labels, not figures)
CHIP_LABELS = ("name", "description", "energy_profile", "energy_source")
#: free-form tables: any key, checked against the program or the chip by the parser
_OPEN: dict[str, Field] = {}

#: every key of a sweep file (docs/explore.md section 1)
SWEEP_SCHEMA = Table({
    "name": string("sweep name", nonempty=True),
    "description": string("one-line summary", default=""),
    "noc": choice(NOC_MODELS, "NoC model of every point", default="analytic"),
    "steps": integer("timesteps of every workload without its own", lo=0, hi=MAX_STEPS, default=None),
    "sampling": choice(SAMPLINGS, "grid: every combination; random: samples draws", default="grid"),
    "samples": integer("random sampling: number of chip draws", lo=1, hi=MAX_POINTS, default=None),
    "seed": integer("random sampling: the sampling seed", lo=0, default=None),
    "seeds": anything("a non-empty list of int >= 0 (mapper seeds)", default=[0]),
    "chip": table({
        "base": string("a preset name or a chip TOML path relative to the sweep file", nonempty=True),
        "vary": table(_OPEN, "chip paths to vary", open=True, default={}),
        "static_power": choice(STATIC_POWER, "how static power follows the core count", default="fixed"),
    }, "the chip"),
    "mappers": table({
        "names": anything("a non-empty list of mapper names", default=["traffic"]),
    }, "the mappers", default={}),
    "workload": anything("one or more [[workload]] tables"),
})

#: one [[workload]] table
WORKLOAD_SCHEMA = Table({
    "name": string("label, unique within the sweep", nonempty=True, default=None),
    "program": string("a bundled program name or a .py path", nonempty=True, default=None),
    "network": string("a .npz, .nir or .net network file", nonempty=True, default=None),
    "params": table(_OPEN, "fixed build parameters", open=True, default={}),
    "vary": table(_OPEN, "varied build parameters", open=True, default={}),
    "steps": integer("timesteps of this workload", lo=0, hi=MAX_STEPS, default=None),
    # imported networks (chipemu.loading.ImportOptions; docs/import.md)
    "dt": number(".nir: seconds per step", lo=0, lo_open=True, default=None),
    "input": string(".nir/.net: 0/1 input spikes (.npy, or .npz by Input name), relative to the sweep file",
                    nonempty=True, default=None),
    "input_bias": string(".net: the input layer's bias (.npy), relative to the sweep file", nonempty=True,
                         default=None),
    "weight_scale": number(".nir: float -> integer weight factor", lo=0, lo_open=True, default=None),
    "reset_interval": integer(".net: netx's reset_interval", lo=1, default=None),
})

#: workload keys of imported networks, by file suffix
IMPORT_KEYS = {".nir": ("dt", "input", "weight_scale"), ".net": ("input", "input_bias", "reset_interval")}
_ALL_IMPORT_KEYS = ("dt", "input", "input_bias", "weight_scale", "reset_interval")

#: a varied value given as a range
RANGE_SCHEMA = Table({
    "min": number("smallest value", lo=-_RANGE_MAX, hi=_RANGE_MAX),
    "max": number("largest value", lo=-_RANGE_MAX, hi=_RANGE_MAX),
    "log": boolean("log-spaced (grid) or log-uniform (random)", default=False),
    "int": boolean("integer values", default=False),
    "num": integer("grid sampling: number of values", lo=1, hi=10_000, default=None),
})


# --------------------------------------------------------------------------------------
# Varied values: a list (grid or random choice) or a range table


@dataclass(frozen=True)
class Axis:
    """One varied parameter: ``values`` (a list) or a range (``lo``..``hi``)."""

    name: str                      # column name, e.g. "chip.mesh.columns", "param.n"
    key: str                       # what it sets: a ChipSpec path, "profile" or a build parameter
    values: tuple | None = None    # explicit values (grid: all of them; random: uniform choice)
    lo: float | None = None
    hi: float | None = None
    log: bool = False
    integer: bool = False

    def grid(self) -> tuple:
        assert self.values is not None
        return self.values

    def draw(self, rng: np.random.Generator) -> Any:
        if self.values is not None:
            return self.values[int(rng.integers(len(self.values)))]
        if self.integer:
            lo, hi = int(self.lo), int(self.hi)
            if self.log:
                x = math.exp(rng.uniform(math.log(lo), math.log(hi + 1)))
                return int(min(hi, max(lo, math.floor(x))))
            return int(rng.integers(lo, hi + 1))
        if self.log:
            return float(math.exp(rng.uniform(math.log(self.lo), math.log(self.hi))))
        return float(rng.uniform(self.lo, self.hi))


def _scalar_ok(v: Any) -> bool:
    return isinstance(v, (bool, int, float, str)) and not (isinstance(v, float) and not math.isfinite(v))


def parse_axis(name: str, key: str, raw: Any, where: str, sampling: str) -> Axis:
    """One varied parameter: a non-empty list of distinct values, or a range table."""
    if isinstance(raw, list):
        return _value_axis(name, key, raw, where, sampling)
    if isinstance(raw, dict):
        return _range_axis(name, key, raw, where, sampling)
    raise Invalid(f"key '{where}' = {show(raw)} has the wrong type {type_name(raw)} (allowed: a list of values"
                  f" or a table {{min, max, log, int{', num' if sampling == 'grid' else ''}}})")


def _value_axis(name: str, key: str, raw: list, where: str, sampling: str) -> Axis:
    if not raw:
        raise Invalid(f"key '{where}' = [] is empty (allowed: a non-empty list of values"
                      + (" or a table {min, max, log, int}" if sampling == "random" else "") + ")")
    seen: list = []
    for i, v in enumerate(raw):
        if not _scalar_ok(v):
            raise Invalid(f"key '{where}' has a bad entry [{i}] = {show(v)} (allowed: numbers, strings or booleans)")
        if any(type(v) is type(s) and v == s for s in seen):
            raise Invalid(f"key '{where}' lists the value {show(v)} twice")
        seen.append(v)
    return Axis(name, key, values=tuple(raw))


def _range_axis(name: str, key: str, raw: dict, where: str, sampling: str) -> Axis:
    r = RANGE_SCHEMA.check(raw, where)
    lo, hi, log, integer_ = r["min"], r["max"], r["log"], r["int"]
    if not lo <= hi:
        raise Invalid(f"key '{where}': min = {raw['min']} > max = {raw['max']} (allowed: min <= max)")
    if log and lo <= 0:
        raise Invalid(f"key '{where}.min' = {raw['min']} is out of range (allowed: > 0 with log = true)")
    if integer_ and max(abs(lo), abs(hi)) > _INT_RANGE_MAX:
        raise Invalid(f"key '{where}': min and max with int = true must lie within +-{_INT_RANGE_MAX:,} "
                      f"(a 64-bit integer range), got {show(raw['min'])}..{show(raw['max'])}: too large")
    if integer_ and (lo != int(lo) or hi != int(hi)):
        raise Invalid(f"key '{where}': min and max must be integers with int = true")
    if sampling == "random":
        if r["num"] is not None:
            raise Invalid(f"key '{where}.num' applies to sampling = \"grid\" only (random sampling draws "
                          f"'samples' values)")
        if integer_:
            return Axis(name, key, lo=int(lo), hi=int(hi), log=log, integer=True)
        return Axis(name, key, lo=lo, hi=hi, log=log, integer=False)
    if r["num"] is None:
        raise Invalid(f"missing key '{where}.num' (a range in grid sampling needs the number of "
                      f"values, int >= 1; or give a list of values)")
    num = r["num"]
    if num == 1:
        xs = [lo]
    else:
        xs = (np.geomspace if log else np.linspace)(lo, hi, num).tolist()
    if integer_:
        return Axis(name, key, values=tuple(dict.fromkeys(int(round(x)) for x in xs)))
    return Axis(name, key, values=tuple(float(x) for x in xs))


# --------------------------------------------------------------------------------------
# Chips, workloads


def _is_path(ref: str, suffix: str) -> bool:
    return ref.endswith(suffix) or "/" in ref or "\\" in ref


def _resolve(ref: str, base_dir: Path) -> str:
    p = Path(ref).expanduser()
    return str(p if p.is_absolute() else (base_dir / p).resolve())


def load_chip_ref(ref: str, where: str, base_dir: Path):
    """``(resolved, spec)`` of a chip or a system of chips named in the sweep: a preset
    or a TOML path relative to the sweep file; ``spec`` is a ChipSpec or a SystemSpec."""
    from ..chips import list_presets, list_systems, load_hardware

    if _is_path(ref, ".toml") or (base_dir / ref).is_file():
        path = _resolve(ref, base_dir)
        if not Path(path).is_file():
            raise Invalid(f"key '{where}' = {ref!r}: chip file {path} does not exist "
                          f"(a preset name: {', '.join(list_presets() + list_systems())}, "
                          f"or a TOML path relative to the sweep file)")
        resolved = path
    else:
        resolved = ref
    try:
        spec = load_hardware(resolved)
    except ChipemuError as e:
        raise Invalid(f"key '{where}' = {ref!r}: {' '.join(str(e).split())}") from None
    return resolved, spec


@dataclass(frozen=True)
class Workload:
    """One ``[[workload]]`` entry: a program (with parameters) or a network file."""

    name: str                  # label (unique within the sweep)
    kind: str                  # "program" or "network"
    ref: str                   # as written in the sweep file
    resolved: str              # bundled program name or absolute path
    params: dict               # fixed build parameters
    axes: tuple[Axis, ...]     # varied build parameters
    steps: int | None


def _program_signature(resolved: str, where: str):
    from ..loading import load_program

    try:
        module = load_program(resolved)
    except ChipemuError as e:
        raise Invalid(f"key '{where}': {' '.join(str(e).split())}") from None
    return inspect.signature(module.build)


def parse_workload(i: int, raw: Any, sampling: str, base_dir: Path) -> Workload:
    """The ``i``-th ``[[workload]]`` table: a program with parameters, or a network file."""
    where = f"workload[{i}]"
    w = WORKLOAD_SCHEMA.check(raw, where)
    if (w["program"] is None) == (w["network"] is None):
        raise Invalid(f"key '{where}' needs exactly one of 'program' (a bundled name or a .py path) "
                      f"and 'network' (a .npz path)")
    params, vary = dict(w["params"]), w["vary"]
    if w["network"] is not None:
        ref, kind = w["network"], "network"
        resolved = _network_file(ref, where, base_dir, params or vary)
        params = _import_options(w, where, resolved, base_dir)
    else:
        given = [k for k in _ALL_IMPORT_KEYS if w[k] is not None]
        if given:
            raise Invalid(f"key '{where}.{given[0]}' applies to imported networks (.nir, .net), not to programs")
        ref, kind = w["program"], "program"
        resolved = _resolve(ref, base_dir) if _is_path(ref, ".py") else ref
        _check_program_params(ref, resolved, where, params, vary)
    name = w["name"] if w["name"] is not None else Path(ref).stem
    if not name.strip():
        raise Invalid(f"key '{where}.name' = {name!r} is empty (allowed: a non-empty string)")
    axes = tuple(parse_axis(f"param.{k}", k, v, f"{where}.vary.{k}", sampling) for k, v in vary.items())
    return Workload(name=name, kind=kind, ref=ref, resolved=resolved, params=params, axes=axes, steps=w["steps"])


def _network_file(ref: str, where: str, base_dir: Path, has_params: bool) -> str:
    if has_params:
        raise Invalid(f"key '{where}': 'params' and 'vary' apply to programs, not to the network file {ref}")
    resolved = _resolve(ref, base_dir)
    if not resolved.endswith((".npz", ".nir", ".net")):
        raise Invalid(f"key '{where}.network' = {ref!r} is not a .npz, .nir or .net network file")
    if not Path(resolved).is_file():
        raise Invalid(f"key '{where}.network' = {ref!r}: network file {resolved} does not exist "
                      f"(paths are relative to the sweep file)")
    return resolved


def _import_options(w: dict, where: str, resolved: str, base_dir: Path) -> dict:
    """The import options of a network workload (``chipemu.loading.ImportOptions`` fields;
    empty for a .npz file).  Input paths are resolved against the sweep file's folder."""
    allowed = IMPORT_KEYS.get(Path(resolved).suffix, ())
    out = {}
    for k in _ALL_IMPORT_KEYS:
        if w[k] is None:
            continue
        if k not in allowed:
            raise Invalid(f"key '{where}.{k}' does not apply to {Path(resolved).name}"
                          + (f" (it takes {', '.join(allowed)})" if allowed else ""))
        out[k] = _resolve(w[k], base_dir) if k in ("input", "input_bias") else w[k]
    if resolved.endswith(".nir") and "dt" not in out:
        from ..loading import NIR_DT_HINT
        raise Invalid(f"missing key '{where}.dt': a NIR graph carries no time step ({NIR_DT_HINT})")
    return out


def _check_program_params(ref: str, resolved: str, where: str, params: dict, vary: dict) -> None:
    sig = _program_signature(resolved, f"{where}.program")
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    allowed = ", ".join(sig.parameters) or "none"
    for key in itertools.chain(params, vary):
        if key not in sig.parameters and not accepts_any:
            sect = "params" if key in params else "vary"
            raise Invalid(f"unknown key '{where}.{sect}.{key}': program {ref} has no parameter "
                          f"'{key}' (allowed: {allowed})")
    for key in vary:
        if key in params:
            raise Invalid(f"key '{where}': parameter '{key}' is both in 'params' and in 'vary'")
    for key, v in params.items():
        if isinstance(v, dict):
            raise Invalid(f"key '{where}.params.{key}' is a table (allowed: a value or a list)")
