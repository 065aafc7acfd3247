"""Sweep descriptions (TOML): validation and expansion into points.

A sweep file names a base chip, the chip parameters to vary, the mappers, the mapper seeds
and the workloads (programs or network files, with their own varied build parameters).
:func:`load_sweep` validates it -- every unknown or missing key, wrong type or out-of-range
value raises :class:`~chipemu.errors.ChipemuError` naming the file and the key -- and
:meth:`Sweep.points` expands it into a list of :class:`Point` dicts, each a pure description
of one run (chip, overrides, workload, parameters, mapper, seed, NoC model, steps) with a
deterministic id (a hash of those parameters).  The schema is documented in
``docs/explore.md``.
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ChipemuError

__all__ = ["Sweep", "Workload", "load_sweep", "parse_sweep", "point_id", "NOC_MODELS",
           "SAMPLINGS", "MAX_POINTS"]

NOC_MODELS = ("analytic", "simpy")
SAMPLINGS = ("grid", "random")
#: largest number of points a sweep may expand to
MAX_POINTS = 200_000

_TOP_KEYS = ("name", "description", "noc", "steps", "sampling", "samples", "seed", "seeds",
             "chip", "mappers", "workload")
_CHIP_KEYS = ("base", "vary", "static_power")
STATIC_POWER = ("fixed", "per-core")
_MAPPER_KEYS = ("names",)
_WORKLOAD_KEYS = ("name", "program", "network", "params", "vary", "steps")
_RANGE_KEYS = ("min", "max", "log", "int", "num")
#: chip paths that may not be varied (they are labels, not figures)
_CHIP_FIXED = ("name", "description", "energy_profile", "energy_source")


def _show(v: Any) -> str:
    text = repr(v) if not isinstance(v, dict) else "{...}"
    return text if len(text) <= 60 else text[:57] + "..."


def _type(v: Any) -> str:
    return {bool: "bool", int: "int", float: "float", str: "string", list: "list",
            dict: "table"}.get(type(v), type(v).__name__)


class _Ctx:
    """Error factory bound to one sweep file."""

    def __init__(self, source: str):
        self.source = source

    def err(self, msg: str) -> ChipemuError:
        return ChipemuError(f"sweep file {self.source}: {msg}")

    def table(self, d: Any, where: str) -> dict:
        if not isinstance(d, dict):
            raise self.err(f"key '{where}' = {_show(d)} has the wrong type {_type(d)} (allowed: a table)")
        return d

    def keys(self, d: dict, allowed: tuple[str, ...], where: str, required: tuple[str, ...] = ()) -> None:
        prefix = f"{where}." if where else ""
        for k in d:
            if k not in allowed:
                raise self.err(f"unknown key '{prefix}{k}' (allowed: {', '.join(allowed)})")
        for k in required:
            if k not in d:
                raise self.err(f"missing key '{prefix}{k}'")

    def string(self, v: Any, where: str, nonempty: bool = True) -> str:
        if not isinstance(v, str):
            raise self.err(f"key '{where}' = {_show(v)} has the wrong type {_type(v)} (allowed: a string)")
        if nonempty and not v.strip():
            raise self.err(f"key '{where}' is empty (allowed: a non-empty string)")
        return v

    def integer(self, v: Any, where: str, lo: int, hi: int | None = None) -> int:
        rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.err(f"key '{where}' = {_show(v)} has the wrong type {_type(v)} (allowed: int {rng})")
        if v < lo or (hi is not None and v > hi):
            raise self.err(f"key '{where}' = {v} is out of range (allowed: int {rng})")
        return v

    def choice(self, v: Any, where: str, choices: tuple[str, ...]) -> str:
        allowed = ", ".join(repr(c) for c in choices)
        if not isinstance(v, str) or v not in choices:
            raise self.err(f"key '{where}' = {_show(v)} is not allowed (allowed: one of {allowed})")
        return v


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


def _parse_axis(ctx: _Ctx, name: str, key: str, raw: Any, where: str, sampling: str) -> Axis:
    if isinstance(raw, list):
        if not raw:
            raise ctx.err(f"key '{where}' = [] is empty (allowed: a non-empty list of values"
                          + (" or a table {min, max, log, int}" if sampling == "random" else "") + ")")
        seen = []
        for i, v in enumerate(raw):
            if not _scalar_ok(v):
                raise ctx.err(f"key '{where}' has a bad entry [{i}] = {_show(v)} "
                              f"(allowed: numbers, strings or booleans)")
            if any(type(v) is type(s) and v == s for s in seen):
                raise ctx.err(f"key '{where}' lists the value {_show(v)} twice")
            seen.append(v)
        return Axis(name, key, values=tuple(raw))
    if isinstance(raw, dict):
        ctx.keys(raw, _RANGE_KEYS, where, required=("min", "max"))
        lo, hi = raw["min"], raw["max"]
        for k, v in (("min", lo), ("max", hi)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ctx.err(f"key '{where}.{k}' = {_show(v)} is not a finite number")
        log = raw.get("log", False)
        integer = raw.get("int", False)
        for k, v in (("log", log), ("int", integer)):
            if not isinstance(v, bool):
                raise ctx.err(f"key '{where}.{k}' = {_show(v)} has the wrong type {_type(v)} (allowed: true or false)")
        if not lo <= hi:
            raise ctx.err(f"key '{where}': min = {lo} > max = {hi} (allowed: min <= max)")
        if log and lo <= 0:
            raise ctx.err(f"key '{where}.min' = {lo} is out of range (allowed: > 0 with log = true)")
        if integer and (float(lo) != int(lo) or float(hi) != int(hi)):
            raise ctx.err(f"key '{where}': min and max must be integers with int = true")
        if sampling == "grid":
            if "num" not in raw:
                raise ctx.err(f"missing key '{where}.num' (a range in grid sampling needs the number of "
                              f"values, int >= 1; or give a list of values)")
            num = ctx.integer(raw["num"], f"{where}.num", 1, 10_000)
            if num == 1:
                xs = [lo]
            elif log:
                xs = np.geomspace(lo, hi, num).tolist()
            else:
                xs = np.linspace(lo, hi, num).tolist()
            if integer:
                vals = tuple(dict.fromkeys(int(round(x)) for x in xs))
            else:
                vals = tuple(float(x) for x in xs)
            return Axis(name, key, values=vals)
        if "num" in raw:
            raise ctx.err(f"key '{where}.num' applies to sampling = \"grid\" only (random sampling draws "
                          f"'samples' values)")
        if integer:
            lo, hi = int(lo), int(hi)
        else:
            lo, hi = float(lo), float(hi)
        return Axis(name, key, lo=lo, hi=hi, log=log, integer=integer)
    raise ctx.err(f"key '{where}' = {_show(raw)} has the wrong type {_type(raw)} (allowed: a list of values"
                  f" or a table {{min, max, log, int{', num' if sampling == 'grid' else ''}}})")


# --------------------------------------------------------------------------------------
# Chips, workloads


def _is_path(ref: str, suffix: str) -> bool:
    return ref.endswith(suffix) or "/" in ref or "\\" in ref


def _resolve(ref: str, base_dir: Path) -> str:
    p = Path(ref).expanduser()
    return str(p if p.is_absolute() else (base_dir / p).resolve())


def _load_chip(ctx: _Ctx, ref: str, where: str, base_dir: Path):
    from ..chips import load_chip, list_presets

    if _is_path(ref, ".toml") or (base_dir / ref).is_file():
        path = _resolve(ref, base_dir)
        if not Path(path).is_file():
            raise ctx.err(f"key '{where}' = {ref!r}: chip file {path} does not exist "
                          f"(a preset name: {', '.join(list_presets())}, or a TOML path relative to the sweep file)")
        resolved = path
    else:
        resolved = ref
    try:
        spec = load_chip(resolved)
    except ChipemuError as e:
        raise ctx.err(f"key '{where}' = {ref!r}: {' '.join(str(e).split())}") from None
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


def _program_signature(ctx: _Ctx, resolved: str, where: str):
    from ..loading import load_program

    try:
        module = load_program(resolved)
    except ChipemuError as e:
        raise ctx.err(f"key '{where}': {' '.join(str(e).split())}") from None
    return inspect.signature(module.build)


def _parse_workload(ctx: _Ctx, i: int, w: Any, sampling: str, base_dir: Path) -> Workload:
    where = f"workload[{i}]"
    w = ctx.table(w, where)
    ctx.keys(w, _WORKLOAD_KEYS, where)
    has_p, has_n = "program" in w, "network" in w
    if has_p == has_n:
        raise ctx.err(f"key '{where}' needs exactly one of 'program' (a bundled name or a .py path) "
                      f"and 'network' (a .npz path)")
    steps = ctx.integer(w["steps"], f"{where}.steps", 0) if "steps" in w else None
    params = dict(ctx.table(w.get("params", {}), f"{where}.params"))
    vary = ctx.table(w.get("vary", {}), f"{where}.vary")
    if has_n:
        ref = ctx.string(w["network"], f"{where}.network")
        if params or vary:
            raise ctx.err(f"key '{where}': 'params' and 'vary' apply to programs, not to the network file {ref}")
        resolved = _resolve(ref, base_dir)
        if not resolved.endswith(".npz"):
            raise ctx.err(f"key '{where}.network' = {ref!r} is not a .npz network file")
        if not Path(resolved).is_file():
            raise ctx.err(f"key '{where}.network' = {ref!r}: network file {resolved} does not exist "
                          f"(paths are relative to the sweep file)")
        name = w.get("name", Path(ref).stem)
        kind = "network"
    else:
        ref = ctx.string(w["program"], f"{where}.program")
        resolved = _resolve(ref, base_dir) if _is_path(ref, ".py") else ref
        sig = _program_signature(ctx, resolved, f"{where}.program")
        accepts_any = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
        allowed = ", ".join(sig.parameters) or "none"
        for key, v in itertools.chain(params.items(), vary.items()):
            if key not in sig.parameters and not accepts_any:
                sect = "params" if key in params else "vary"
                raise ctx.err(f"unknown key '{where}.{sect}.{key}': program {ref} has no parameter "
                              f"'{key}' (allowed: {allowed})")
        for key in vary:
            if key in params:
                raise ctx.err(f"key '{where}': parameter '{key}' is both in 'params' and in 'vary'")
        for key, v in params.items():
            if isinstance(v, dict):
                raise ctx.err(f"key '{where}.params.{key}' is a table (allowed: a value or a list)")
        name = w.get("name", Path(ref).stem)
        kind = "program"
    name = ctx.string(name, f"{where}.name")
    axes = tuple(_parse_axis(ctx, f"param.{k}", k, v, f"{where}.vary.{k}", sampling) for k, v in vary.items())
    return Workload(name=name, kind=kind, ref=ref, resolved=resolved, params=params, axes=axes, steps=steps)


# --------------------------------------------------------------------------------------
# The sweep


def _canon(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False, default=str)


def point_id(params: dict) -> str:
    """A short, deterministic id of a point: the first 12 hex digits of the SHA-256 of its
    parameters as canonical JSON."""
    return hashlib.sha256(_canon(params).encode("utf-8")).hexdigest()[:12]


@dataclass
class Sweep:
    """A validated sweep description (see :func:`load_sweep`)."""

    name: str
    description: str
    source: str                       # sweep file path (or "<string>")
    text: str                         # the file's text, copied to DIR/sweep.toml
    noc: str
    steps: int | None
    sampling: str
    samples: int | None
    sample_seed: int
    seeds: tuple[int, ...]
    chip_base: str                    # as written
    chip_base_resolved: str
    chip_axes: tuple[Axis, ...]       # ChipSpec paths, and "profile"
    profiles: dict[str, str] = field(default_factory=dict)   # profile as written -> resolved
    mappers: tuple[str, ...] = ("traffic",)
    workloads: tuple[Workload, ...] = ()
    static_power: str = "fixed"       # "per-core": static power scales with the chip's core count

    @property
    def parameter_columns(self) -> list[str]:
        """Columns of results.csv that hold the varied parameters, in order."""
        cols = ["workload", "mapper", "seed"]
        cols += [a.name for a in self.chip_axes]
        seen = set()
        for w in self.workloads:
            for a in w.axes:
                if a.name not in seen:
                    seen.add(a.name)
                    cols.append(a.name)
        return cols

    @property
    def varied_chip_paths(self) -> list[str]:
        return [a.key for a in self.chip_axes if a.key != "profile"]

    def points(self, noc: str | None = None) -> list[dict]:
        """The expanded point list (deduplicated by id, in a deterministic order).

        ``noc``: override the sweep's NoC model.
        """
        noc = noc or self.noc
        if self.sampling == "grid":
            chip_settings = [dict(zip([a.name for a in self.chip_axes], vals))
                             for vals in itertools.product(*[a.grid() for a in self.chip_axes])]
            combos = []
            for chip in chip_settings:
                for w in self.workloads:
                    for vals in itertools.product(*[a.grid() for a in w.axes]):
                        combos.append((chip, w, dict(zip([a.key for a in w.axes], vals))))
        else:
            rng = np.random.default_rng(self.sample_seed)
            combos = []
            for _ in range(self.samples):
                chip = {a.name: a.draw(rng) for a in self.chip_axes}
                for w in self.workloads:
                    combos.append((chip, w, {a.key: a.draw(rng) for a in w.axes}))
        points, seen = [], set()
        for chip, w, wparams in combos:
            for mapper in self.mappers:
                for seed in self.seeds:
                    p = self._point(chip, w, wparams, mapper, seed, noc)
                    if p["id"] in seen:
                        continue
                    seen.add(p["id"])
                    p["index"] = len(points)
                    points.append(p)
        return points

    def count(self) -> int:
        if self.sampling == "random":
            return self.samples * len(self.workloads) * len(self.mappers) * len(self.seeds)
        n_chip = math.prod(len(a.grid()) for a in self.chip_axes)
        n_work = sum(math.prod(len(a.grid()) for a in w.axes) for w in self.workloads)
        return n_chip * n_work * len(self.mappers) * len(self.seeds)

    def _point(self, chip: dict, w: Workload, wparams: dict, mapper: str, seed: int, noc: str) -> dict:
        profile = chip.get("chip.profile")
        base = profile if profile is not None else self.chip_base
        base_resolved = self.profiles[profile] if profile is not None else self.chip_base_resolved
        overrides = {a.key: chip[a.name] for a in self.chip_axes if a.key != "profile"}
        params = {**w.params, **wparams}
        steps = w.steps if w.steps is not None else self.steps
        ident = {"chip": base, "overrides": overrides, "static_power": self.static_power, "workload": w.name, "kind": w.kind, "ref": w.ref,
                 "params": params, "mapper": mapper, "seed": seed, "noc": noc, "steps": steps}
        vary = {a.name: chip[a.name] for a in self.chip_axes}
        vary.update({f"param.{k}": v for k, v in wparams.items()})
        return {
            "id": point_id(ident),
            "workload": w.name,
            "kind": w.kind,
            "ref": w.ref,
            "resolved": w.resolved,
            "params": params,
            "chip": base,
            "chip_resolved": base_resolved,
            "overrides": overrides,
            "static_power": self.static_power,
            "mapper": mapper,
            "seed": seed,
            "noc": noc,
            "steps": steps,
            "vary": vary,
        }


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file; paths inside it are relative to its directory."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ChipemuError(f"sweep file {path}: cannot read ({e.strerror or e})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ChipemuError(f"sweep file {path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    return parse_sweep(text, source=str(path), base_dir=path.resolve().parent)


def parse_sweep(text: str, source: str = "<string>", base_dir: str | Path = ".") -> Sweep:
    """Validate a sweep given as TOML text (see :func:`load_sweep`)."""
    from ..chips import ChipSpec

    ctx = _Ctx(source)
    base_dir = Path(base_dir).resolve()
    try:
        d = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ctx.err(f"malformed TOML: {' '.join(str(e).split())}") from None
    ctx.keys(d, _TOP_KEYS, "", required=("name", "chip", "workload"))
    name = ctx.string(d["name"], "name")
    description = ctx.string(d.get("description", ""), "description", nonempty=False)
    noc = ctx.choice(d.get("noc", "analytic"), "noc", NOC_MODELS)
    steps = ctx.integer(d["steps"], "steps", 0) if "steps" in d else None
    sampling = ctx.choice(d.get("sampling", "grid"), "sampling", SAMPLINGS)
    if sampling == "random":
        if "samples" not in d:
            raise ctx.err("missing key 'samples' (sampling = \"random\" needs the number of samples, int >= 1)")
        samples = ctx.integer(d["samples"], "samples", 1, MAX_POINTS)
        sample_seed = ctx.integer(d.get("seed", 0), "seed", 0)
    else:
        for k in ("samples", "seed"):
            if k in d:
                raise ctx.err(f"key '{k}' applies to sampling = \"random\" only (the mapper seeds are 'seeds')")
        samples, sample_seed = None, 0
    raw_seeds = d.get("seeds", [0])
    if not isinstance(raw_seeds, list) or not raw_seeds:
        raise ctx.err(f"key 'seeds' = {_show(raw_seeds)} is not allowed (allowed: a non-empty list of int >= 0)")
    seeds = tuple(ctx.integer(s, f"seeds[{i}]", 0) for i, s in enumerate(raw_seeds))
    if len(set(seeds)) != len(seeds):
        raise ctx.err(f"key 'seeds' = {list(seeds)} lists a seed twice")

    # chip
    chip = ctx.table(d["chip"], "chip")
    ctx.keys(chip, _CHIP_KEYS, "chip", required=("base",))
    base = ctx.string(chip["base"], "chip.base")
    base_resolved, base_spec = _load_chip(ctx, base, "chip.base", base_dir)
    static_power = ctx.choice(chip.get("static_power", "fixed"), "chip.static_power", STATIC_POWER)
    vary = ctx.table(chip.get("vary", {}), "chip.vary")
    chip_axes, profiles, specs = [], {}, {base: base_spec}
    if "profile" in vary:
        ax = _parse_axis(ctx, "chip.profile", "profile", vary["profile"], "chip.vary.profile", "grid")
        for i, ref in enumerate(ax.values):
            ref = ctx.string(ref, f"chip.vary.profile[{i}]")
            profiles[ref], specs[ref] = _load_chip(ctx, ref, f"chip.vary.profile[{i}]", base_dir)
        chip_axes.append(ax)
    for key, raw in vary.items():
        if key == "profile":
            continue
        where = f'chip.vary."{key}"'
        if key in _CHIP_FIXED:
            raise ctx.err(f"key '{where}': '{key}' is a label and cannot be varied (vary 'profile' to "
                          f"switch between chip files)")
        ax = _parse_axis(ctx, f"chip.{key}", key, raw, where, sampling)
        probe = ax.values if ax.values is not None else (ax.lo, ax.hi)
        for spec in specs.values():
            for v in probe:
                try:
                    spec.with_overrides({key: v})
                except ChipemuError as e:
                    raise ctx.err(f"key '{where}' value {_show(v)}: {' '.join(str(e).split())}") from None
        chip_axes.append(ax)
    assert all(isinstance(s, ChipSpec) for s in specs.values())

    # mappers
    mappers_t = ctx.table(d.get("mappers", {}), "mappers")
    ctx.keys(mappers_t, _MAPPER_KEYS, "mappers")
    names = mappers_t.get("names", ["traffic"])
    if not isinstance(names, list) or not names:
        raise ctx.err(f"key 'mappers.names' = {_show(names)} is not allowed (allowed: a non-empty list of mapper names)")
    known = _known_mappers()
    for i, n in enumerate(names):
        ctx.string(n, f"mappers.names[{i}]")
        if known is not None and n not in known:
            raise ctx.err(f"key 'mappers.names[{i}]' = {n!r} is not a mapper (allowed: {', '.join(known)})")
    if len(set(names)) != len(names):
        raise ctx.err(f"key 'mappers.names' = {names} lists a mapper twice")

    # workloads
    raw_w = d["workload"]
    if isinstance(raw_w, dict):
        raw_w = [raw_w]
    if not isinstance(raw_w, list) or not raw_w:
        raise ctx.err("key 'workload' must be one or more [[workload]] tables")
    workloads = [_parse_workload(ctx, i, w, sampling, base_dir) for i, w in enumerate(raw_w)]
    labels = [w.name for w in workloads]
    for i, lab in enumerate(labels):
        if labels.index(lab) != i:
            raise ctx.err(f"key 'workload[{i}].name': two workloads are named {lab!r} (set distinct 'name' keys)")

    sweep = Sweep(name=name, description=description, source=source, text=text, noc=noc, steps=steps,
                  sampling=sampling, samples=samples, sample_seed=sample_seed, seeds=seeds, chip_base=base,
                  chip_base_resolved=base_resolved, chip_axes=tuple(chip_axes), profiles=profiles,
                  mappers=tuple(names), workloads=tuple(workloads), static_power=static_power)
    n = sweep.count()
    if n > MAX_POINTS:
        raise ctx.err(f"the sweep expands to {n:,} points (allowed: at most {MAX_POINTS:,}); "
                      f"vary fewer values or use sampling = \"random\"")
    return sweep


def _known_mappers() -> list[str] | None:
    """Names of the mapping strategies, or None when the mapper does not list them."""
    try:
        import mapper
    except ImportError:
        return None
    names = getattr(mapper, "MAPPERS", None)
    if names is None:
        return None
    return list(names)
