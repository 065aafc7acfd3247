"""Sweep descriptions (TOML): validation and expansion into points.

A sweep file names a base chip, the chip parameters to vary, the mappers, the mapper seeds
and the workloads (programs or network files, with their own varied build parameters).
:func:`load_sweep` validates it with :data:`~chipemu.explore.sweepfile.SWEEP_SCHEMA` --
every unknown or missing key, wrong type or out-of-range value raises
:class:`~chipemu.errors.ChipemuError` naming the file and the key -- and
:meth:`Sweep.points` expands it into a list of :class:`SweepPoint` records, each a pure
description of one run (chip, overrides, workload, parameters, mapper, seed, NoC model, steps) with a
deterministic id (a hash of those parameters).  The schema is documented in
``docs/explore.md``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import bounded
from ..errors import ChipemuError
from ..records import ItemAccess, Record, record
from ..schema import Invalid, parse_toml, show, type_name
from .sweepfile import (
    CHIP_LABELS,
    MAX_POINTS,
    NOC_MODELS,
    SAMPLINGS,
    STATIC_POWER,
    SWEEP_SCHEMA,
    Axis,
    Workload,
    load_chip_ref,
    parse_axis,
    parse_workload,
)

__all__ = ["Sweep", "Workload", "load_sweep", "parse_sweep", "point_id", "NOC_MODELS",
           "SAMPLINGS", "STATIC_POWER", "MAX_POINTS"]


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

    def points(self, noc: str | None = None) -> list[SweepPoint]:
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
                    p = self._point(chip, w, wparams, mapper, seed, noc, len(points))
                    if p.id in seen:
                        continue
                    seen.add(p.id)
                    points.append(p)
        return points

    def count(self) -> int:
        if self.sampling == "random":
            return self.samples * len(self.workloads) * len(self.mappers) * len(self.seeds)
        n_chip = math.prod(len(a.grid()) for a in self.chip_axes)
        n_work = sum(math.prod(len(a.grid()) for a in w.axes) for w in self.workloads)
        return n_chip * n_work * len(self.mappers) * len(self.seeds)

    def _point(self, chip: dict, w: Workload, wparams: dict, mapper: str, seed: int, noc: str,
               index: int) -> SweepPoint:
        profile = chip.get("chip.profile")
        base = profile if profile is not None else self.chip_base
        base_resolved = self.profiles[profile] if profile is not None else self.chip_base_resolved
        overrides = {a.key: chip[a.name] for a in self.chip_axes if a.key != "profile"}
        params = {**w.params, **wparams}
        steps = w.steps if w.steps is not None else self.steps
        ident = {"chip": base, "overrides": overrides, "static_power": self.static_power, "workload": w.name,
                 "kind": w.kind, "ref": w.ref, "params": params, "mapper": mapper, "seed": seed, "noc": noc, "steps": steps}
        vary = {a.name: chip[a.name] for a in self.chip_axes}
        vary.update({f"param.{k}": v for k, v in wparams.items()})
        return SweepPoint(id=point_id(ident), workload=w.name, kind=w.kind, ref=w.ref, resolved=w.resolved,
                          params=params, chip=base, chip_resolved=base_resolved, overrides=overrides,
                          static_power=self.static_power, mapper=mapper, seed=seed, noc=noc, steps=steps,
                          vary=vary, index=index)


@record
class SweepPoint(ItemAccess, Record):
    """One point of a sweep: a pure description of one run, identified by a hash of it.

    ``kind`` is "program" or "network"; ``ref`` the workload as written, ``resolved`` the
    program name or file path it resolves to; ``chip`` the base chip as written and
    ``chip_resolved`` its preset name or path; ``overrides`` the chip keys this point
    changes; ``vary`` the varied values by result column (``chip.*``, ``param.*``);
    ``steps`` None runs the network's own length.  ``index``: position in the expansion.
    Written to ``points.json`` with ``to_dict``; ``point["id"]`` reads a field too.
    """

    id: str
    workload: str
    kind: str
    ref: str
    resolved: str
    params: dict[str, Any]
    chip: str
    chip_resolved: str
    overrides: dict[str, Any]
    static_power: str
    mapper: str
    seed: int
    noc: str
    steps: int | None = field(default=None, metadata={"keep_none": True})
    vary: dict[str, Any]
    index: int = 0


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file; paths inside it are relative to its directory."""
    path = Path(path)
    text = bounded.read_text(path, "sweep file", bounded.MAX_TEXT_BYTES, ChipemuError)  # a regular file, capped
    return parse_sweep(text, source=str(path), base_dir=path.resolve().parent)


def parse_sweep(text: str, source: str = "<string>", base_dir: str | Path = ".") -> Sweep:
    """Validate a sweep given as TOML text (see :func:`load_sweep`)."""
    where = f"sweep file {source}"
    d = parse_toml(text, where)
    try:
        sweep = _parse(d, text, source, Path(base_dir).resolve())
    except Invalid as exc:
        raise ChipemuError(f"{where}: {exc}") from None
    n = sweep.count()
    if n > MAX_POINTS:
        raise ChipemuError(f"{where}: the sweep expands to {n:,} points (allowed: at most {MAX_POINTS:,}); "
                           f"vary fewer values or use sampling = \"random\"")
    return sweep


def _parse(d: Any, text: str, source: str, base_dir: Path) -> Sweep:
    s = SWEEP_SCHEMA.check(d)
    samples, sample_seed = _sampling(s)
    seeds = _distinct_list(s["seeds"], "seeds", "int >= 0", _nonneg_int)
    base_resolved, base_spec = load_chip_ref(s["chip"]["base"], "chip.base", base_dir)
    chip_axes, profiles = _chip_axes(s["chip"], base_spec, s["sampling"], base_dir)
    names = _distinct_list(s["mappers"]["names"], "mappers.names", "mapper names", _mapper_name)
    raw_w = s["workload"]
    if isinstance(raw_w, dict):
        raw_w = [raw_w]
    if not isinstance(raw_w, list) or not raw_w:
        raise Invalid("key 'workload' must be one or more [[workload]] tables")
    workloads = [parse_workload(i, w, s["sampling"], base_dir) for i, w in enumerate(raw_w)]
    labels = [w.name for w in workloads]
    for i, lab in enumerate(labels):
        if labels.index(lab) != i:
            raise Invalid(f"key 'workload[{i}].name': two workloads are named {lab!r} (set distinct 'name' keys)")
    return Sweep(name=s["name"], description=s["description"], source=source, text=text, noc=s["noc"],
                 steps=s["steps"], sampling=s["sampling"], samples=samples, sample_seed=sample_seed, seeds=seeds,
                 chip_base=s["chip"]["base"], chip_base_resolved=base_resolved, chip_axes=chip_axes,
                 profiles=profiles, mappers=names, workloads=tuple(workloads),
                 static_power=s["chip"]["static_power"])


def _sampling(s: dict) -> tuple[int | None, int]:
    """``(samples, sample seed)``: both apply to random sampling only."""
    if s["sampling"] == "random":
        if s["samples"] is None:
            raise Invalid("missing key 'samples' (sampling = \"random\" needs the number of samples, int >= 1)")
        return s["samples"], s["seed"] if s["seed"] is not None else 0
    for k in ("samples", "seed"):
        if s[k] is not None:
            raise Invalid(f"key '{k}' applies to sampling = \"random\" only (the mapper seeds are 'seeds')")
    return None, 0


def _nonneg_int(v: Any, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise Invalid(f"key '{where}' = {show(v)} has the wrong type {type_name(v)} (allowed: int >= 0)")
    if v > 2**63 - 1:
        raise Invalid(f"key '{where}' = {show(v)} is too large (allowed: int 0..{2**63 - 1})")
    if v < 0:
        raise Invalid(f"key '{where}' = {v} is out of range (allowed: int >= 0)")
    return v


def _mapper_name(v: Any, where: str) -> str:
    if not isinstance(v, str) or not v.strip():
        raise Invalid(f"key '{where}' = {show(v)} is not allowed (allowed: a non-empty string, a mapper name)")
    known = _known_mappers()
    if known is not None and v not in known:
        raise Invalid(f"key '{where}' = {v!r} is not a mapper (allowed: {', '.join(known)})")
    return v


def _distinct_list(raw: Any, key: str, what: str, check) -> tuple:
    """A non-empty list of distinct entries, each passed through ``check(value, path)``."""
    if not isinstance(raw, list) or not raw:
        raise Invalid(f"key '{key}' = {show(raw)} is not allowed (allowed: a non-empty list of {what})")
    out = tuple(check(v, f"{key}[{i}]") for i, v in enumerate(raw))
    if len(set(out)) != len(out):
        raise Invalid(f"key '{key}' = {list(out)} lists a value twice")
    return out


def _chip_axes(chip: dict, base_spec, sampling: str, base_dir: Path) -> tuple[tuple[Axis, ...], dict]:
    """The varied chip parameters; every value is checked against every chip file it applies to."""
    vary = chip["vary"]
    axes, profiles, specs = [], {}, {chip["base"]: base_spec}
    if "profile" in vary:
        ax = parse_axis("chip.profile", "profile", vary["profile"], "chip.vary.profile", "grid")
        for i, ref in enumerate(ax.values):
            if not isinstance(ref, str) or not ref.strip():
                raise Invalid(f"key 'chip.vary.profile[{i}]' = {show(ref)} is not allowed "
                              f"(allowed: a preset name or a chip TOML path)")
            profiles[ref], specs[ref] = load_chip_ref(ref, f"chip.vary.profile[{i}]", base_dir)
        axes.append(ax)
    for key, raw in vary.items():
        if key == "profile":
            continue
        where = f'chip.vary."{key}"'
        if key in CHIP_LABELS:
            raise Invalid(f"key '{where}': '{key}' is a label and cannot be varied (vary 'profile' to "
                          f"switch between chip files)")
        ax = parse_axis(f"chip.{key}", key, raw, where, sampling)
        for spec in specs.values():
            for v in (ax.values if ax.values is not None else (ax.lo, ax.hi)):
                try:
                    spec.with_overrides({key: v})
                except ChipemuError as e:
                    raise Invalid(f"key '{where}' value {show(v)}: {' '.join(str(e).split())}") from None
        axes.append(ax)
    return tuple(axes), profiles


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
