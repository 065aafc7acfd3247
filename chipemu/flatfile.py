"""Flat network file, format ``chipemu-flat-1`` (docs/formats.md).

Required keys (integer arrays, 0-based indices)::

    format                                   () str  "chipemu-flat-1"
    du, dv, vth, bias_mant, bias_exp         (n,)    compartment registers
    src, dst, weight, delay                  (m,)    compartment -> compartment synapses
    in_n                                     ()      number of input sources
    in_src, in_dst, in_weight, in_delay      (k,)    input source -> compartment synapses
    in_spike_idx, in_spike_t                 (e,)    input events
    steps                                    ()      default run length

Optional keys written by chipemu so that a network round-trips with its structure:

    name                                     () str  network name
    pop_name (p,) str, pop_start (p,) int    populations (contiguous, in order)
    in_name (q,) str, in_start (q,) int      input groups (contiguous, in order)
    proj_name, proj_pre, proj_post (r,) str, proj_start (r,) int
                                             projections between compartments: synapses
                                             proj_start[i] .. proj_start[i+1]-1 of src/dst
    in_proj_name, in_proj_pre, in_proj_post (s,) str, in_proj_start (s,) int
                                             the same for input synapses

Optional keys of plastic projections (written only when a projection is plastic;
docs/learning.md):

    learn_proj (P,) str                      names of the plastic projections
    learn_rule (P,) str                      their rules, JSON text of LearningRule.to_dict()

Optional keys of the periodic reset (written only when some population resets;
:mod:`chipemu.neuron`):

    reset_interval, reset_offset (n,) int    u and v cleared at the start of every step t
                                             with t % reset_interval == reset_offset
                                             (interval 0: never)

Optional keys of neuron models beyond CUBA LIF and of graded spikes (written only when a
population has another model or an input group carries payloads; :mod:`chipemu.neurons`):

    neuron_format () str                     "chipemu-neurons-1" (version of the keys below)
    pop_model (p,) str                       each population's neuron model (with pop_name)
    model_<register> (n,) int                a model register beyond du/dv/vth/bias_mant/bias_exp
                                             (e.g. model_spike_exp), 0 where the compartment's
                                             model has no such register; every register of
                                             every model used must be present
    in_spike_val (e,) int                    graded payload of each input event (non-zero,
                                             24-bit signed), aligned with in_spike_idx/in_spike_t

The LIF register keys (du, ...) of a compartment whose model lacks that register hold 0.

Optional keys of shapes (written only when a group has a shape; compartments in C order)::

    pop_shape (p, 4) int, in_shape (q, 4) int    each group's shape, zero-padded on the
                                             right; an all-zero row = no shape

Shared-weight projections (convolution, pooling, reshape; chipemu.shared_weights) are
stored compactly -- kernel and geometry, never expanded -- and make the file format
``chipemu-flat-2`` (so that a reader that only knows ``chipemu-flat-1`` refuses the file
instead of silently dropping their synapses)::

    shared_name, shared_pre, shared_post (r,) str   projection names, pre and post groups
    shared_kind (r,) str                     conv, sum_pool, avg_pool or reshape
    shared_slot (r,) int                     position among the projections of its kind
                                             (from compartments / from input sources):
                                             the explicit ones fill the other positions
    shared_geom (r, 17) int                  in_c in_h in_w out_c out_h out_w kh kw
                                             stride_h stride_w pad_h pad_w dil_h dil_w
                                             groups delay spatial_dims (2, 1, or 0 = reshape)
    shared_kernel (K,) int                   the kernels, concatenated, each C-ordered
                                             (out_c, in_c / groups, kh, kw)

Files without the optional keys load as one population ``pop`` (or the given
populations), one input group ``input``, and one projection per (pre, post) pair.
The loader rejects a missing key, a wrong shape or dtype, an out-of-range value or an
index out of bounds with a :class:`~chipemu.errors.FileFormatError` naming the key.

This module writes the file and rebuilds a network from it; the key names and the
validated reads of each key and section are in :mod:`chipemu.flatkeys` (re-exported here).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import bounded, neuron
from .errors import ChipemuError, FileFormatError
from .files import atomic_write, read_json, read_npz, write_npz  # noqa: F401  (atomic_write, read_json: re-exported, their old home)
from .flatkeys import (FORMAT, FORMAT_SHARED, NEURON_FORMAT, REQUIRED, SHARED_KEYS, _add_projections,  # noqa: F401
                       _add_shared, _bad, _check_shape_size, _int_key, _learning_rules, _model_sections,
                       _population_registers, _reset_keys, _sections, _shapes, _str_key)
from .shared_weights import GEOM_FIELDS, SharedProjection


def network_to_arrays(net) -> dict[str, np.ndarray]:
    """Every key of the flat file for ``net`` (required and optional)."""
    f = net.flat()
    rec = [p for p in net.projections if not p.pre_is_input and not isinstance(p, SharedProjection)]
    inp = [p for p in net.projections if p.pre_is_input and not isinstance(p, SharedProjection)]

    def starts(projs):
        return np.cumsum([0] + [len(p) for p in projs[:-1]], dtype=np.int64) if projs else np.zeros(0, np.int64)

    def strs(values):
        return np.array(list(values), dtype=str) if values else np.zeros(0, dtype="<U1")

    plastic = [p for p in rec + inp if p.plasticity is not None]   # the order the loader rebuilds
    learn = {"learn_proj": strs(p.name for p in plastic),
             "learn_rule": strs(p.plasticity.to_json() for p in plastic)} if plastic else {}
    reset = ({"reset_interval": f.reset_interval.astype(np.int32), "reset_offset": f.reset_offset.astype(np.int32)}
             if f.reset_interval is not None else {})
    extra = {**learn, **reset, **_shape_arrays(net), **_shared_arrays(net)}
    return {
        **extra,
        **_model_keys(net),
        "format": np.array(FORMAT_SHARED if f.shared else FORMAT),
        "name": np.array(net.name),
        "du": f.du.astype(np.int16), "dv": f.dv.astype(np.int16), "vth": f.vth.astype(np.int32),
        "bias_mant": f.bias_mant.astype(np.int16), "bias_exp": f.bias_exp.astype(np.int8),
        "src": f.src.astype(np.int32), "dst": f.dst.astype(np.int32),
        "weight": f.weight.astype(np.int16), "delay": f.delay.astype(np.int8),
        "in_n": np.array(f.in_n, dtype=np.int64),
        "in_src": f.in_src.astype(np.int32), "in_dst": f.in_dst.astype(np.int32),
        "in_weight": f.in_weight.astype(np.int16), "in_delay": f.in_delay.astype(np.int8),
        "in_spike_idx": f.in_spike_idx.astype(np.int32), "in_spike_t": f.in_spike_t.astype(np.int32),
        "steps": np.array(f.steps, dtype=np.int64),
        "pop_name": strs(p.name for p in net.populations),
        "pop_start": np.array([p.start for p in net.populations], dtype=np.int64),
        "in_name": strs(g.name for g in net.inputs),
        "in_start": np.array([g.start for g in net.inputs], dtype=np.int64),
        "proj_name": strs(p.name for p in rec), "proj_pre": strs(p.pre for p in rec),
        "proj_post": strs(p.post for p in rec), "proj_start": starts(rec),
        "in_proj_name": strs(p.name for p in inp), "in_proj_pre": strs(p.pre for p in inp),
        "in_proj_post": strs(p.post for p in inp), "in_proj_start": starts(inp),
    }


def _model_keys(net) -> dict:
    """The optional neuron-model keys (empty for an all-LIF network with binary inputs)."""
    f = net.flat()
    out = {}
    if f.model is not None:
        out["pop_model"] = np.array([p.model for p in net.populations], dtype=str)
        for name, arr in f.model_regs.items():
            out[f"model_{name}"] = arr.astype(np.int32)
    if f.in_spike_val is not None:
        out["in_spike_val"] = f.in_spike_val.astype(np.int32)
    if out:
        out["neuron_format"] = np.array(NEURON_FORMAT)
    return out


def _shape_arrays(net) -> dict:
    groups = list(net.populations) + list(net.inputs)
    if all(g.shape is None for g in groups):
        return {}

    def rows(gs):
        out = np.zeros((len(gs), 4), dtype=np.int64)
        for i, g in enumerate(gs):
            if g.shape is not None:
                out[i, :len(g.shape)] = g.shape
        return out
    return {"pop_shape": rows(net.populations), "in_shape": rows(net.inputs)}


def _shared_arrays(net) -> dict:
    slot, shared, count = [], [], {True: 0, False: 0}
    for is_input in (False, True):  # the loader's order: projections from compartments first
        for p in net.projections:
            if p.pre_is_input != is_input:
                continue
            if isinstance(p, SharedProjection):
                slot.append(count[is_input])
                shared.append(p)
            count[is_input] += 1
    if not shared:
        return {}
    return {
        "shared_name": np.array([p.name for p in shared], dtype=str),
        "shared_pre": np.array([p.pre for p in shared], dtype=str),
        "shared_post": np.array([p.post for p in shared], dtype=str),
        "shared_kind": np.array([p.kind for p in shared], dtype=str),
        "shared_slot": np.array(slot, dtype=np.int64),
        "shared_geom": np.array([p.geom_row() for p in shared], dtype=np.int64).reshape(-1, len(GEOM_FIELDS)),
        "shared_kernel": np.concatenate([p.kernel.reshape(-1) for p in shared]).astype(np.int16),
    }


def save_network(net, path) -> None:
    """Write ``net`` as a flat ``.npz`` (atomically: no partial file on failure)."""
    write_npz(path, network_to_arrays(net))


# ------------------------------------------------------------------------ loading
def load_network(path, network_cls):
    """Read, validate and rebuild a network of class ``network_cls`` (a
    :class:`~chipemu.network.Network`; what ``Network.load`` calls) from a flat file."""
    d = read_npz(path, "network file")
    try:
        return network_from_arrays(d, str(path), network_cls)
    except FileFormatError:
        raise
    except ChipemuError as exc:  # a structural rule of the builder, e.g. a name clash
        raise FileFormatError(f"network file {path}: {exc}") from None


def network_from_arrays(d: dict, path: str, network_cls):
    """Validate flat arrays ``d`` (the file's keys) and build a ``network_cls`` (a
    :class:`~chipemu.network.Network`; what ``Network.from_arrays`` calls) from them.

    The class is given, not imported: this module is the file form of the network and
    sits below :mod:`chipemu.network`, which calls it."""
    for key in REQUIRED:
        if key not in d:
            raise _bad(path, key, "is missing")
    fmt = _str_key(d, path, "format", scalar=True)
    if fmt not in (FORMAT, FORMAT_SHARED):
        raise _bad(path, "format", f"is {fmt!r}, expected {FORMAT!r} or {FORMAT_SHARED!r}")
    if fmt == FORMAT and any(k in d for k in SHARED_KEYS):
        raise _bad(path, "format", f"is {FORMAT!r} but the file has shared-weight keys; "
                                   f"they need {FORMAT_SHARED!r}")
    if fmt == FORMAT_SHARED and "shared_name" not in d:
        raise _bad(path, "format", f"is {FORMAT_SHARED!r} but the file has no shared-weight projections "
                                   f"(key 'shared_name'); a file without them is {FORMAT!r}")
    du = d["du"]
    if du.ndim != 1:
        raise _bad(path, "du", f"has shape {du.shape}, expected (n,)")
    n = du.shape[0]
    regs = {k: _int_key(d, path, k, n, *neuron.PARAM_RANGES[k]) for k in neuron.PARAM_RANGES}
    regs.update(_reset_keys(d, path, n))
    in_n = int(_int_key(d, path, "in_n", lo=0, hi=2**31 - 1, scalar=True))
    steps = int(_int_key(d, path, "steps", lo=0, hi=bounded.MAX_STEPS, scalar=True))
    m = d["src"].shape[0] if d["src"].ndim == 1 else -1
    syn = {
        "src": _int_key(d, path, "src", None, 0, n - 1),
        "dst": _int_key(d, path, "dst", m, 0, n - 1),
        "weight": _int_key(d, path, "weight", m, *neuron.WEIGHT_RANGE),
        "delay": _int_key(d, path, "delay", m, *neuron.DELAY_RANGE),
    }
    k = d["in_src"].shape[0] if d["in_src"].ndim == 1 else -1
    isyn = {
        "src": _int_key(d, path, "in_src", None, 0, in_n - 1),
        "dst": _int_key(d, path, "in_dst", k, 0, n - 1),
        "weight": _int_key(d, path, "in_weight", k, *neuron.WEIGHT_RANGE),
        "delay": _int_key(d, path, "in_delay", k, *neuron.DELAY_RANGE),
    }
    for key, w in (("weight", syn["weight"]), ("in_weight", isyn["weight"])):
        odd = w % 2 != 0
        if odd.any():
            i = int(np.flatnonzero(odd)[0])
            raise _bad(path, key, f"value {int(w[i])} at index {i} is odd; weights must be even (8-bit mixed sign)")
    e_idx = _int_key(d, path, "in_spike_idx", None, 0, in_n - 1)
    e_t = _int_key(d, path, "in_spike_t", e_idx.size, 0, 2**31 - 1)
    models = _model_sections(d, path, n)
    e_val = None
    if "in_spike_val" in d:
        from .neurons import PAYLOAD_BITS
        half = 2 ** (PAYLOAD_BITS - 1)
        e_val = _int_key(d, path, "in_spike_val", e_idx.size, -half, half - 1)

    name = _str_key(d, path, "name", scalar=True) if "name" in d else Path(path).stem.split(".")[0] or "network"
    net = network_cls(name, steps=steps)
    pops = _sections(path, d, "pop", n, "pop")
    pop_shapes = _shapes(d, path, "pop_shape", len(pops))
    if models is not None and len(models[0]) != len(pops):
        raise _bad(path, "pop_model", f"has {len(models[0])} entries, expected one per population ({len(pops)})")
    for i, ((pname, a, b), shape) in enumerate(zip(pops, pop_shapes)):
        _check_shape_size(path, "pop_shape", shape, b - a, pname)
        if models is None:
            net.add_population(pname, b - a, shape=shape, **{kk: v[a:b] for kk, v in regs.items()})
        else:
            net.add_population(pname, b - a, shape=shape, **_population_registers(path, pname, models, i, regs, a, b))
    groups = _sections(path, d, "in", in_n, "input")
    in_shapes = _shapes(d, path, "in_shape", len(groups))
    for (gname, a, b), shape in zip(groups, in_shapes):
        _check_shape_size(path, "in_shape", shape, b - a, gname)
        sel = (e_idx >= a) & (e_idx < b)
        try:
            net.add_input(gname, b - a, e_idx[sel] - a, e_t[sel], None if e_val is None else e_val[sel], shape=shape)
        except ChipemuError as exc:
            raise _bad(path, "in_spike_idx", str(exc)) from None
    pop_starts = np.array([a for _, a, _ in pops], dtype=np.int64)
    grp_starts = np.array([a for _, a, _ in groups], dtype=np.int64)
    rules = _learning_rules(d, path)
    _add_projections(net, d, path, "proj", syn, pops, pop_starts, pops, pop_starts, rules)
    _add_projections(net, d, path, "in_proj", isyn, groups, grp_starts, pops, pop_starts, rules)
    unused = [name for name in rules if name not in {p.name for p in net.projections}]
    if unused:
        raise _bad(path, "learn_proj", f"names unknown projection {unused[0]!r}")
    if fmt == FORMAT_SHARED:
        _add_shared(net, d, path)
    return net
