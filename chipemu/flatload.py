"""A flat file straight to the runners: validated arrays, no :class:`~chipemu.network.Network`.

``chipemu simulate NET.npz`` needs only the flat arrays (:class:`~chipemu.network.FlatNetwork`)
that the reference runner consumes.  Rebuilding a ``Network`` from the file (one
``connect`` per projection, each copying and re-checking its synapses) and flattening it
again costs several passes over every synapse; :func:`read_flat` instead validates the
file's arrays in place -- the same rules as :func:`chipemu.flatfile.load_network`, each a
vectorised pass -- and returns the ``FlatNetwork`` that ``Network.load(path).flat()`` would
give (same values in the same order; the per-synapse arrays stay in the compact dtypes
of the file, int32 indices, int16 weights, int8 delays, instead of int64), or ``None`` when the file holds keys only a ``Network``
can interpret (plastic projections, or any key this reader does not know): the caller
then loads the ``Network``.

Rules checked (each error is the loader's one-line :class:`~chipemu.errors.FileFormatError`
naming the key): every required key, its dtype, shape and range; population and input
group sections (names, contiguous starts; names unique and single-line); projection
sections (start at 0, non-decreasing, one pre/post name each, pre a population --
or an input group for input projections --, post a population, every synapse inside its
pre and post groups); input events unique per (source, step); periodic-reset registers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import neuron
from .bounded import MAX_STEPS
from .errors import FileFormatError
from .files import read_npz
from .flatkeys import FORMAT, REQUIRED, _bad, _int_key, _reset_keys, _sections, _str_key, projection_sections
from .network import FlatNetwork

__all__ = ["read_flat", "FlatFile", "KNOWN_KEYS"]

#: the keys :func:`read_flat` interprets; a file with any other key goes through ``Network``
KNOWN_KEYS = frozenset(REQUIRED) | {
    "name", "pop_name", "pop_start", "in_name", "in_start",
    "proj_name", "proj_pre", "proj_post", "proj_start",
    "in_proj_name", "in_proj_pre", "in_proj_post", "in_proj_start",
    "reset_interval", "reset_offset",
}


class FlatFile:
    """A validated flat file: the runners' arrays (``flat``) and the network's ``name``.

    ``n_compartments``, ``n_synapses`` (compartment and input synapses) and ``name``
    answer what the CLI prints, like a ``Network`` does.
    """

    def __init__(self, name: str, flat: FlatNetwork):
        self.name, self.flat = name, flat

    @property
    def n_compartments(self) -> int:
        return self.flat.n

    @property
    def n_synapses(self) -> int:
        return self.flat.m + int(self.flat.in_src.size)


def read_flat(path, arrays: dict | None = None) -> FlatFile | None:
    """Read and validate the flat file ``path``; None if it needs a ``Network`` to load.

    ``arrays``: the file's arrays when already read (``path`` then only names it in errors).
    """
    d = read_npz(path, "network file") if arrays is None else arrays
    path = str(path)
    if any(k not in KNOWN_KEYS for k in d):
        return None
    for key in REQUIRED:
        if key not in d:
            raise _bad(path, key, "is missing")
    fmt = _str_key(d, path, "format", scalar=True)
    if fmt != FORMAT:
        return None  # another format version: the Network loader accepts or rejects it
    du = d["du"]
    if du.ndim != 1:
        raise _bad(path, "du", f"has shape {du.shape}, expected (n,)")
    n = du.shape[0]
    regs = {k: _int_array(d, path, k, n, *neuron.PARAM_RANGES[k]) for k in neuron.PARAM_RANGES}
    reset = _reset_keys(d, path, n)
    in_n = int(_int_key(d, path, "in_n", lo=0, hi=2**31 - 1, scalar=True))
    steps = int(_int_key(d, path, "steps", lo=0, hi=MAX_STEPS, scalar=True))
    syn = _synapses(d, path, "", n, n)
    isyn = _synapses(d, path, "in_", in_n, n)
    e_idx = _int_key(d, path, "in_spike_idx", None, 0, in_n - 1)
    e_t = _int_key(d, path, "in_spike_t", e_idx.size, 0, 2**31 - 1)

    name = _str_key(d, path, "name", scalar=True) if "name" in d else Path(path).stem.split(".")[0] or "network"
    _check_name(path, "network", name)
    pops = _sections(path, d, "pop", n, "pop")
    groups = _sections(path, d, "in", in_n, "input")
    seen: set[str] = set()
    for kind, secs in (("population", pops), ("input group", groups)):
        for gname, _, _ in secs:  # the Network builder's rules and words (input groups: under in_spike_idx)
            if not gname or any(c in gname for c in "\n\r\t"):
                msg = f"{kind} name {gname!r} must be a non-empty single-line string"
            elif gname in seen:
                msg = f"{kind} name '{gname}' is already used in network '{name}'"
            else:
                seen.add(gname)
                continue
            if kind == "population":
                raise FileFormatError(f"network file {path}: {msg}")
            raise _bad(path, "in_spike_idx", msg)
    order = np.lexsort((e_idx, e_t))
    e_idx, e_t = e_idx[order], e_t[order]
    if e_idx.size > 1:
        dup = (np.diff(e_t) == 0) & (np.diff(e_idx) == 0)
        if dup.any():
            i = int(np.flatnonzero(dup)[0])
            g = int(np.searchsorted([a for _, a, _ in groups], e_idx[i], side="right")) - 1
            gname, start = groups[g][0], groups[g][1]
            raise _bad(path, "in_spike_idx", f"input group '{gname}': source {int(e_idx[i]) - start} fires twice "
                                             f"at step {int(e_t[i])}; events must be unique")
    syn = _projection_order(d, path, "proj", syn, pops, pops)
    isyn = _projection_order(d, path, "in_proj", isyn, groups, pops)
    interval = reset.get("reset_interval")
    if interval is not None and not interval.any():
        reset = {}
    flat = FlatNetwork(
        **regs, src=syn["src"], dst=syn["dst"], weight=syn["weight"], delay=syn["delay"], in_n=in_n,
        in_src=isyn["src"], in_dst=isyn["dst"], in_weight=isyn["weight"], in_delay=isyn["delay"],
        in_spike_idx=e_idx, in_spike_t=e_t, steps=steps,
        reset_interval=reset.get("reset_interval"), reset_offset=reset.get("reset_offset"))
    return FlatFile(name, flat)


def _int_array(d, path, key: str, shape_n: int | None, lo: int, hi: int, dtype=np.int64) -> np.ndarray:
    """``_int_key`` for a 1-D array of values in ``lo .. hi``, as ``dtype`` (int64 unless
    a narrower type that holds ``lo .. hi`` is asked for, e.g. for per-synapse arrays): a
    valid array costs one min/max pass and the conversion (none when the file's dtype
    already is ``dtype``); anything else goes through ``_int_key`` for its exact error."""
    arr = d[key]
    if (arr.ndim == 1 and arr.dtype.kind in "iu" and (shape_n is None or arr.shape[0] == shape_n)
            and (arr.size == 0 or (arr.min() >= lo and arr.max() <= hi))):
        return arr.astype(dtype, copy=False)
    return _int_key(d, path, key, shape_n, lo, hi).astype(dtype, copy=False)


def _check_name(path, kind: str, name: str) -> None:
    if not name or any(c in name for c in "\n\r\t"):
        raise FileFormatError(f"network file {path}: {kind} name {name!r} must be a non-empty single-line string")


def _synapses(d, path, prefix: str, n_pre: int, n: int) -> dict[str, np.ndarray]:
    """``src, dst, weight, delay`` of the compartment (prefix "") or input ("in_") synapses,
    as int32 (int64 beyond 2**31 sources or compartments), int32, int16 and int8: every
    valid value fits."""
    first = d[f"{prefix}src"]
    m = first.shape[0] if first.ndim == 1 else -1
    index = np.int32 if max(n_pre, n) <= 2**31 else np.int64
    syn = {
        "src": _int_array(d, path, f"{prefix}src", None, 0, n_pre - 1, index),
        "dst": _int_array(d, path, f"{prefix}dst", m, 0, n - 1, index),
        "weight": _int_array(d, path, f"{prefix}weight", m, *neuron.WEIGHT_RANGE, np.int16),
        "delay": _int_array(d, path, f"{prefix}delay", m, *neuron.DELAY_RANGE, np.int8),
    }
    odd = (syn["weight"] & 1) != 0
    if odd.any():
        i = int(np.flatnonzero(odd)[0])
        raise _bad(path, f"{prefix}weight", f"value {int(syn['weight'][i])} at index {i} is odd; weights must be "
                                            "even (8-bit mixed sign)")
    return syn


def _projection_order(d, path, prefix: str, syn: dict, pre_secs: list, post_secs: list) -> dict:
    """The synapses in the order of the projections a ``Network`` would rebuild.

    Named sections (``<prefix>_name`` ...): the file's order, after checking that every
    synapse of a section lies inside its pre and post groups (one min/max per section).
    Without them: one projection per (pre group, post group) pair, pairs in increasing
    order, synapses in file order within each, as :func:`chipemu.flatfile.load_network`
    groups them (a stable sort by pair).
    """
    m = syn["src"].size
    named = f"{prefix}_name" in d or f"{prefix}_start" in d
    if m == 0 and not named:
        return syn
    pre_starts = np.array([a for _, a, _ in pre_secs] + [np.iinfo(np.int64).max], dtype=np.int64)
    post_starts = np.array([a for _, a, _ in post_secs] + [np.iinfo(np.int64).max], dtype=np.int64)
    if not named:
        if not pre_secs or not post_secs:
            return syn
        pre_of = np.searchsorted(pre_starts[:-1], syn["src"], side="right") - 1
        post_of = np.searchsorted(post_starts[:-1], syn["dst"], side="right") - 1
        key = pre_of * len(post_secs) + post_of
        if key.size < 2 or np.all(key[1:] >= key[:-1]):
            return syn
        order = np.argsort(key, kind="stable")
        return {k: v[order] for k, v in syn.items()}
    secs, pres, posts = projection_sections(d, path, prefix, m)
    pre_index = {s[0]: j for j, s in enumerate(pre_secs)}
    post_index = {s[0]: j for j, s in enumerate(post_secs)}
    starts = np.array([a for _, a, _ in secs], dtype=np.int64)
    stops = np.array([b for _, _, b in secs], dtype=np.int64)
    pi = np.empty(len(secs), dtype=np.int64)
    qi = np.empty(len(secs), dtype=np.int64)
    for i in range(len(secs)):
        _check_name(path, "projection", secs[i][0])
        if pres[i] not in pre_index:
            raise _bad(path, f"{prefix}_pre", f"names unknown source group {pres[i]!r}")
        if posts[i] not in post_index:
            raise _bad(path, f"{prefix}_post", f"names unknown population {posts[i]!r}")
        pi[i], qi[i] = pre_index[pres[i]], post_index[posts[i]]
    full = stops > starts
    if full.any():
        at = starts[full]
        bad = ((np.minimum.reduceat(syn["src"], at) < pre_starts[pi[full]])
               | (np.maximum.reduceat(syn["src"], at) >= pre_starts[pi[full] + 1])
               | (np.minimum.reduceat(syn["dst"], at) < post_starts[qi[full]])
               | (np.maximum.reduceat(syn["dst"], at) >= post_starts[qi[full] + 1]))
        if bad.any():
            i = int(np.flatnonzero(full)[np.flatnonzero(bad)[0]])
            raise _bad(path, f"{prefix}_start",
                       f"projection {secs[i][0]!r} has synapses outside {pres[i]!r} -> {posts[i]!r}")
    return syn
