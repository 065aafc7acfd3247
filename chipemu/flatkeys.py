"""The keys of the flat network file (:mod:`chipemu.flatfile`, docs/formats.md): the
format versions and key names, and the loader's validated reads -- one key
(:func:`_int_key`, :func:`_str_key`), one section list (populations, input groups,
projections: :func:`_sections`), the optional reset, neuron-model, shape, learning and
shared-weight keys -- each rejecting a missing key, a wrong shape or dtype, an
out-of-range value or an index out of bounds with a
:class:`~chipemu.errors.FileFormatError` naming the key.

:func:`chipemu.flatfile.network_from_arrays` and :mod:`chipemu.flatload` build on these.
"""

from __future__ import annotations

import numpy as np

from . import bounded, neuron
from .errors import ChipemuError, FileFormatError
from .shared_weights import GEOM_FIELDS, SharedProjection

#: the format of a file without shared-weight projections
FORMAT = "chipemu-flat-1"
#: version of the optional neuron-model keys (pop_model, model_<register>, in_spike_val)
NEURON_FORMAT = "chipemu-neurons-1"
#: the format of a file with shared-weight projections
FORMAT_SHARED = "chipemu-flat-2"
SHARED_KEYS = ("shared_name", "shared_pre", "shared_post", "shared_kind", "shared_slot", "shared_geom",
               "shared_kernel")
REQUIRED = ("format", "du", "dv", "vth", "bias_mant", "bias_exp", "src", "dst", "weight", "delay",
            "in_n", "in_src", "in_dst", "in_weight", "in_delay", "in_spike_idx", "in_spike_t", "steps")


def _bad(path, key, msg) -> FileFormatError:
    return FileFormatError(f"network file {path}: key '{key}' {msg}")


def _int_key(d, path, key, shape_n=None, lo=None, hi=None, scalar=False) -> np.ndarray:
    arr = d[key]
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        if not (arr.size == 0 and arr.ndim == 1):
            raise _bad(path, key, f"must hold integers, got dtype {arr.dtype}")
        arr = arr.astype(np.int64)
    if scalar:
        if arr.shape != ():
            raise _bad(path, key, f"must be a scalar, got shape {arr.shape}")
    elif arr.ndim != 1 or (shape_n is not None and arr.shape[0] != shape_n):
        want = f"({shape_n},)" if shape_n is not None else "1-D"
        raise _bad(path, key, f"has shape {arr.shape}, expected {want}")
    bad = bounded.array_out_of_range(arr, lo, hi)  # in the stored dtype: a uint64 never wraps
    if bad is not None:
        i, value = bad
        rng = f"{lo if lo is not None else '-inf'}..{hi if hi is not None else 'inf'}"
        where = "" if scalar else f" at index {i}"
        side = "too large" if hi is not None and value > hi else "too small"
        raise _bad(path, key, f"value {bounded.show(value)}{where} is {side}: out of range {rng}")
    return arr.astype(np.int64)


def _str_key(d, path, key, scalar=False):
    arr = d[key]
    if arr.dtype.kind not in "US" and not (arr.size == 0 and arr.ndim == 1):
        raise _bad(path, key, f"must hold strings, got dtype {arr.dtype}")
    if scalar:
        if arr.shape != ():
            raise _bad(path, key, f"must be a scalar string, got shape {arr.shape}")
        return str(arr)
    if arr.ndim != 1:
        raise _bad(path, key, f"has shape {arr.shape}, expected 1-D")
    return [str(s) for s in arr.tolist()]


def _sections(path, d, prefix, total, default_name, allow_empty=False):
    """(name, start, stop) of contiguous sections from ``<prefix>_name``/``<prefix>_start``.

    ``allow_empty``: sections may hold no entries (projections with zero synapses).
    """
    nkey, skey = f"{prefix}_name", f"{prefix}_start"
    if nkey not in d and skey not in d:
        return [(default_name, 0, total)] if total else []
    for k in (nkey, skey):
        if k not in d:
            raise _bad(path, k, f"is missing (it must be given together with '{nkey if k == skey else skey}')")
    names = _str_key(d, path, nkey)
    starts = _int_key(d, path, skey, len(names), 0, total if allow_empty else max(total - 1, 0))
    if len(names) == 0 and total:
        raise _bad(path, nkey, f"is empty but there are {total} entries")
    if len(names):
        if allow_empty and (starts[0] != 0 or np.any(np.diff(starts) < 0)):
            raise _bad(path, skey, "must start at 0 and be non-decreasing")
        if not allow_empty and (starts[0] != 0 or np.any(np.diff(starts) <= 0)):
            raise _bad(path, skey, "must start at 0 and be strictly increasing")
    stops = list(starts[1:]) + [total]
    return [(n, int(a), int(b)) for n, a, b in zip(names, starts, stops)]


def _reset_keys(d, path, n: int) -> dict:
    """``reset_interval``/``reset_offset`` (n,) from the optional keys ({} when absent)."""
    if "reset_interval" not in d and "reset_offset" not in d:
        return {}
    for k in ("reset_interval", "reset_offset"):
        if k not in d:
            other = "reset_offset" if k == "reset_interval" else "reset_interval"
            raise _bad(path, k, f"is missing (it must be given together with '{other}')")
    interval = _int_key(d, path, "reset_interval", n, *neuron.RESET_INTERVAL_RANGE)
    offset = _int_key(d, path, "reset_offset", n, *neuron.RESET_INTERVAL_RANGE)
    bad = offset >= np.maximum(interval, 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise _bad(path, "reset_offset", f"value {int(offset[i])} at index {i} must be below its reset_interval "
                                         f"({int(interval[i])}; 0 where the interval is 0)")
    return {"reset_interval": interval, "reset_offset": offset}


def _model_sections(d, path, n: int):
    """``(model names per population, {register: (n,)})`` from the optional neuron-model
    keys, or None when the file has none (every compartment CUBA LIF)."""
    from .neurons import MODEL_REGISTERS, MODELS
    keys = [k for k in d if k.startswith("model_") or k in ("pop_model", "neuron_format", "in_spike_val")]
    if not keys:
        return None
    if "neuron_format" not in d:
        raise _bad(path, keys[0], "needs the key 'neuron_format' (= 'chipemu-neurons-1')")
    fmt = _str_key(d, path, "neuron_format", scalar=True)
    if fmt != NEURON_FORMAT:
        raise _bad(path, "neuron_format", f"is {fmt!r}, expected {NEURON_FORMAT!r}")
    if "pop_model" not in d:
        if any(k.startswith("model_") for k in d):
            raise _bad(path, next(k for k in d if k.startswith("model_")), "needs the key 'pop_model'")
        return None
    names = _str_key(d, path, "pop_model")
    for name in names:
        if name not in MODELS:
            raise _bad(path, "pop_model", f"names unknown neuron model {name!r} (known: {', '.join(MODELS)})")
    regs = {}
    for k in d:
        if k.startswith("model_"):
            reg = k[len("model_"):]
            if reg not in MODEL_REGISTERS:
                raise _bad(path, k, f"is not a model register (known: {', '.join(MODEL_REGISTERS)})")
            r = MODEL_REGISTERS[reg]
            regs[reg] = _int_key(d, path, k, n, min(r.lo, 0), max(r.hi, 0))
    for name in set(names):
        for reg in MODELS[name].registers:
            if reg not in neuron.PARAM_RANGES and reg not in regs:
                raise _bad(path, f"model_{reg}", f"is missing (neuron model '{name}' has register '{reg}')")
    return names, regs


def _population_registers(path, pname: str, models, i: int, lif_regs: dict, a: int, b: int) -> dict:
    """``add_population`` keyword arguments of population i (compartments a..b-1)."""
    from .neurons import MODELS
    names, regs = models
    m = MODELS[names[i]]
    kwargs = {"model": m.name}
    for k, v in lif_regs.items():
        if k in m.registers:
            kwargs[k] = v[a:b]
        elif np.any(v[a:b] != 0):
            j = int(np.flatnonzero(v[a:b] != 0)[0]) + a
            raise _bad(path, k, f"value {int(v[j])} at index {j}: population '{pname}' (model '{m.name}') has no "
                                f"register '{k}'; it must be 0")
    for k, v in regs.items():
        if k in m.registers:
            kwargs[k] = v[a:b]
        elif np.any(v[a:b] != 0):
            j = int(np.flatnonzero(v[a:b] != 0)[0]) + a
            raise _bad(path, f"model_{k}", f"value {int(v[j])} at index {j}: population '{pname}' (model '{m.name}') "
                                           f"has no register '{k}'; it must be 0")
    return kwargs


def _check_shape_size(path, key, shape, size, name) -> None:
    if shape is not None and int(np.prod(shape)) != size:
        raise _bad(path, key, f"gives {name!r} shape {shape} ({int(np.prod(shape))} elements) but it has {size}")


def _shapes(d, path, key, count) -> list:
    """Per-group shapes from ``key`` ((count, 4) ints, zero-padded), None where absent."""
    if key not in d:
        return [None] * count
    arr = d[key]
    if arr.ndim != 2 or arr.shape != (count, 4) or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        raise _bad(path, key, f"has shape {arr.shape} and dtype {arr.dtype}, expected ({count}, 4) integers")
    out = []
    for i, row in enumerate(arr.astype(np.int64).tolist()):
        nd = sum(1 for x in row if x != 0)
        if any(x < 0 for x in row) or any(x == 0 for x in row[:nd]) or any(row[nd:]):
            raise _bad(path, key, f"row {i} {row} must be positive dimensions followed by zeros")
        out.append(tuple(row[:nd]) if nd else None)
    return out


def _add_shared(net, d, path) -> None:
    """Rebuild the shared-weight projections (format chipemu-flat-2) and put them at their slots."""
    for k in SHARED_KEYS:
        if k not in d:
            raise _bad(path, k, f"is missing (a {FORMAT_SHARED!r} file needs all of {', '.join(SHARED_KEYS)})")
    names = _str_key(d, path, "shared_name")
    r = len(names)
    cols = {k: _str_key(d, path, k) for k in ("shared_pre", "shared_post", "shared_kind")}
    for k, v in cols.items():
        if len(v) != r:
            raise _bad(path, k, f"has {len(v)} entries, expected one per shared_name ({r})")
    slot = _int_key(d, path, "shared_slot", r, 0, 2**31)
    geom = d["shared_geom"]
    if geom.shape != (r, len(GEOM_FIELDS)) or not (np.issubdtype(geom.dtype, np.integer) or geom.size == 0):
        raise _bad(path, "shared_geom", f"has shape {geom.shape} and dtype {geom.dtype}, expected "
                                        f"({r}, {len(GEOM_FIELDS)}) integers ({' '.join(GEOM_FIELDS)})")
    geom = geom.astype(np.int64)
    if geom.size and (geom.min() < 0 or geom.max() > 2**31):
        raise _bad(path, "shared_geom", "values must be in 0..2**31")
    kernels = _int_key(d, path, "shared_kernel", None, *neuron.WEIGHT_RANGE)
    pos = 0
    made = []
    for i, name in enumerate(names):
        g = dict(zip(GEOM_FIELDS, geom[i].tolist()))
        dims = g["spatial_dims"]
        if dims not in (0, 1, 2) or g["groups"] < 1 or g["in_c"] % g["groups"]:
            raise _bad(path, "shared_geom", f"row {i} (projection {name!r}): spatial_dims must be 0, 1 or 2 "
                                            f"and groups >= 1 must divide in_c")
        kshape = (g["out_c"], g["in_c"] // g["groups"], g["kh"], g["kw"]) if dims == 2 else \
            (g["out_c"], g["in_c"] // g["groups"], g["kw"]) if dims == 1 else (1,)
        size = int(np.prod(kshape))
        if pos + size > kernels.size:
            raise _bad(path, "shared_kernel", f"has {kernels.size} entries, too few for the kernels of shared_geom")
        kernel = kernels[pos:pos + size].reshape(kshape)
        pos += size
        in_shape = (g["in_c"], g["in_h"], g["in_w"]) if dims == 2 else (g["in_c"], g["in_w"]) if dims == 1 else None
        try:
            proj = net.add_shared_projection(cols["shared_pre"][i], cols["shared_post"][i], cols["shared_kind"][i], kernel,
                                   name, stride=(g["stride_h"], g["stride_w"]), padding=(g["pad_h"], g["pad_w"]),
                                   dilation=(g["dil_h"], g["dil_w"]), groups=g["groups"],
                                   delay=g["delay"], in_shape=in_shape)
        except ChipemuError as exc:
            raise _bad(path, "shared_geom", f"row {i}: {exc}") from None
        if proj.name != name or proj.geom_row() != geom[i].tolist():
            raise _bad(path, "shared_geom", f"row {i} (projection {name!r}) does not match the shapes of "
                                            f"{proj.pre!r} and {proj.post!r} (expected {proj.geom_row()})")
        made.append(proj)
    if pos != kernels.size:
        raise _bad(path, "shared_kernel", f"has {kernels.size} entries, the kernels of shared_geom need {pos}")
    explicit = [p for p in net.projections if not isinstance(p, SharedProjection)]
    ordered = []
    for is_input in (False, True):
        mine = [p for p in explicit if p.pre_is_input == is_input]
        sh = sorted(((int(s), p) for s, p in zip(slot, made) if p.pre_is_input == is_input), key=lambda x: x[0])
        total = len(mine) + len(sh)
        slots = [s for s, _ in sh]
        if len(set(slots)) != len(slots) or any(s >= total for s in slots):
            raise _bad(path, "shared_slot", f"slots {slots} must be distinct and below {total} "
                                            f"(the number of {'input' if is_input else 'compartment'} projections)")
        rest = iter(mine)
        at = dict(sh)
        ordered += [at[k] if k in at else next(rest) for k in range(total)]
    net.projections[:] = ordered
    net._flat = None


def _learning_rules(d, path) -> dict:
    """{projection name: LearningRule} from the optional keys learn_proj / learn_rule."""
    from .learning import LearningError, LearningRule
    if "learn_proj" not in d and "learn_rule" not in d:
        return {}
    for k in ("learn_proj", "learn_rule"):
        if k not in d:
            other = "learn_rule" if k == "learn_proj" else "learn_proj"
            raise _bad(path, k, f"is missing (it must be given together with '{other}')")
    names = _str_key(d, path, "learn_proj")
    texts = _str_key(d, path, "learn_rule")
    if len(texts) != len(names):
        raise _bad(path, "learn_rule", f"has {len(texts)} entries, expected one per learn_proj ({len(names)})")
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise _bad(path, "learn_proj", f"lists projection {dup!r} twice")
    rules = {}
    for i, (name, text) in enumerate(zip(names, texts)):
        try:
            rules[name] = LearningRule.from_json(text)
        except LearningError as exc:
            raise _bad(path, "learn_rule", f"entry {i} (projection {name!r}): {exc}") from None
    return rules


def projection_sections(d, path, prefix: str, m: int):
    """``(sections, pre names, post names)`` of the named projections under ``prefix``.

    ``sections`` are ``(name, start, stop)`` over the ``m`` synapses; ``{prefix}_pre`` and
    ``{prefix}_post`` must name one source and one target group per projection.
    """
    secs = _sections(path, d, prefix, m, prefix, allow_empty=True)
    pres = _str_key(d, path, f"{prefix}_pre") if f"{prefix}_pre" in d else None
    posts = _str_key(d, path, f"{prefix}_post") if f"{prefix}_post" in d else None
    for key, vals in ((f"{prefix}_pre", pres), (f"{prefix}_post", posts)):
        if vals is None or len(vals) != len(secs):
            raise _bad(path, key, f"must list one name per projection ({len(secs)})")
    return secs, pres, posts


def _add_projections(net, d, path, prefix, syn, pre_secs, pre_starts, post_secs, post_starts, rules=None):
    m = syn["src"].size
    named = f"{prefix}_name" in d or f"{prefix}_start" in d
    if m == 0 and not named:
        return
    if named:
        secs, pres, posts = projection_sections(d, path, prefix, m)
        pre_index = {s[0]: j for j, s in enumerate(pre_secs)}
        post_index = {s[0]: j for j, s in enumerate(post_secs)}
        groups = []
        for i, (pname, a, b) in enumerate(secs):
            pi = pre_index.get(pres[i])
            qi = post_index.get(posts[i])
            if pi is None:
                raise _bad(path, f"{prefix}_pre", f"names unknown source group {pres[i]!r}")
            if qi is None:
                raise _bad(path, f"{prefix}_post", f"names unknown population {posts[i]!r}")
            # every synapse inside its groups' index ranges (sections are contiguous: a
            # minimum and a maximum per projection, no search per synapse)
            if b > a and any(int(x[a:b].min()) < lo or int(x[a:b].max()) >= hi
                             for x, lo, hi in ((syn["src"], pre_secs[pi][1], pre_secs[pi][2]),
                                               (syn["dst"], post_secs[qi][1], post_secs[qi][2]))):
                raise _bad(path, f"{prefix}_start",
                           f"projection {pname!r} has synapses outside {pres[i]!r} -> {posts[i]!r}")
            groups.append((pname, pi, qi, slice(a, b)))  # views of the file's arrays, no copies
    else:  # one projection per (pre, post) pair, synapse order kept within each
        pre_of = np.searchsorted(pre_starts, syn["src"], side="right") - 1
        post_of = np.searchsorted(post_starts, syn["dst"], side="right") - 1
        key = pre_of * len(post_secs) + post_of
        order = np.argsort(key, kind="stable")
        bounds = np.flatnonzero(np.diff(key[order])) + 1
        groups = []
        for sel in np.split(order, bounds):
            pi, qi = int(pre_of[sel[0]]), int(post_of[sel[0]])
            groups.append((f"{pre_secs[pi][0]}->{post_secs[qi][0]}", pi, qi, sel))
    rules = rules or {}
    for pname, pi, qi, sel in groups:
        rule = rules.get(pname)
        try:
            net.connect(pre_secs[pi][0], post_secs[qi][0], "explicit",
                        src=syn["src"][sel] - pre_starts[pi], dst=syn["dst"][sel] - post_starts[qi],
                        weight=syn["weight"][sel], delay=syn["delay"][sel], name=pname, plasticity=rule)
        except ChipemuError as exc:
            if rule is None:
                raise
            raise _bad(path, "learn_rule", f"projection {pname!r}: {exc}") from None
