"""The parts of a :class:`~chipemu.network.Network`: its records and their validation.

* :class:`Population` -- a named group of Loihi CUBA LIF compartments with per-compartment
  registers (``du, dv, vth, bias_mant, bias_exp``, ranges in :mod:`chipemu.neuron`);
* :class:`InputGroup` -- a named group of input spike sources with explicit spike events;
* :class:`Projection` -- synapses with signed even integer weights in [-256, 254] and
  delays 0..62 steps;

and the checks they share: names, integer register arrays (:func:`_int_array`), group
sizes and shapes within :data:`MAX_GROUP_SIZE` and the memory budget, reset registers
(:func:`check_reset`) and weights (:func:`check_weights`).  Each error names the part,
the parameter, the bad value and the allowed range.  :mod:`chipemu.network` re-exports
every name here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Union

import numpy as np

from . import bounded, neuron
from .errors import NetworkError
from .shared_weights import check_shape

__all__ = ["InputGroup", "Population", "Projection", "check_reset", "check_weights", "MAX_GROUP_SIZE",
           "MAX_GROUPS", "MAX_PROJECTIONS", "ValueSpec"]


ValueSpec = Union[int, Iterable[int], np.ndarray, Callable[[int], np.ndarray]]


def _check_name(kind: str, name: str) -> str:
    if not isinstance(name, str) or not name or any(c in name for c in "\n\r\t"):
        raise NetworkError(f"{kind} name {name!r} must be a non-empty single-line string")
    return name


def _int_array(owner: str, param: str, value, n: int, lo: int, hi: int) -> np.ndarray:
    """``value`` (scalar or length-n array of integers) as an int64 array, range-checked."""
    if isinstance(value, int) and not isinstance(value, bool) and not lo <= value <= hi:
        raise NetworkError(f"{owner}: parameter '{param}' = {bounded.show(value)} out of range {lo}..{hi}")
    arr = np.asarray(value)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        if np.issubdtype(arr.dtype, np.floating) and arr.size and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            pass  # whole numbers: range-checked below, before the cast
        else:
            raise NetworkError(f"{owner}: parameter '{param}' must be integer, got {bounded.show(value, 60)}")
    if arr.ndim != 0 and arr.shape != (n,):
        raise NetworkError(f"{owner}: parameter '{param}' has shape {arr.shape}, expected a scalar or ({n},)")
    bad = bounded.array_out_of_range(arr, lo, hi)  # in the given dtype: no wrapped value
    if bad is not None:
        i, v = bad
        at = "" if arr.ndim == 0 else f" (at index {i})"
        raise NetworkError(f"{owner}: parameter '{param}' = {bounded.show(v)}{at} out of range {lo}..{hi}")
    if arr.ndim == 0:
        return np.full(n, int(arr), dtype=np.int64)
    return arr.astype(np.int64, copy=False)


class _Contiguous:
    """A named group laid out at global indices ``start .. start + size - 1``."""

    name: str
    size: int
    start: int
    shape: tuple | None

    @property
    def dims(self) -> tuple[int, ...]:
        """The group's shape (C-order compartments), ``(size,)`` when it has none."""
        return self.shape if self.shape is not None else (self.size,)

    @property
    def stop(self) -> int:
        return self.start + self.size

    def __len__(self) -> int:
        return self.size


#: most compartments of a population / sources of an input group: indices are int32 in files
MAX_GROUP_SIZE = 2**31 - 1
#: bytes one compartment or input source holds while a network is built and run (registers,
#: state, flat arrays; an estimate for the memory check)
_BYTES_PER_NODE = 128
#: most populations plus input groups, and most projections, in one network
MAX_GROUPS = 100_000
MAX_PROJECTIONS = 1_000_000


def _check_size(owner: str, size) -> int:
    if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer, float, np.floating)) \
            or not np.isfinite(size) or int(size) != size or size < 1:
        raise NetworkError(f"{owner}: size = {bounded.show(size)} must be an integer >= 1")
    size = bounded.check_int(size, f"{owner}: size", 1, MAX_GROUP_SIZE, NetworkError)
    bounded.check_memory(size * _BYTES_PER_NODE, f"{owner} of {size:,}", NetworkError)
    return size


def _size_shape(owner: str, size, shape) -> tuple[int, tuple | None]:
    """``(size, shape)`` from a size (int or shape tuple) and an optional shape."""
    if isinstance(size, (tuple, list)):
        shape = check_shape(owner, size) if shape is None else shape
        size = int(np.prod(shape))
    size = _check_size(owner, size)
    return size, (None if shape is None else check_shape(owner, shape, size))


@dataclass(frozen=True, eq=False)
class Population(_Contiguous):
    """A group of ``size`` Loihi CUBA LIF compartments with their registers.

    Register arrays are int64 of shape ``(size,)``; ``start`` is the global index of the
    first compartment (set by :meth:`Network.add_population`).
    """

    name: str
    size: int
    du: np.ndarray = field(repr=False)
    dv: np.ndarray = field(repr=False)
    vth: np.ndarray = field(repr=False)
    bias_mant: np.ndarray = field(repr=False)
    bias_exp: np.ndarray = field(repr=False)
    start: int = 0
    reset_interval: np.ndarray | None = field(default=None, repr=False)
    reset_offset: np.ndarray | None = field(default=None, repr=False)

    model: str = "lif"
    model_regs: dict = field(default_factory=dict, repr=False)
    shape: tuple | None = None

    @classmethod
    def create(cls, name: str, size, *, du=None, dv=None, vth=None, bias_mant=None, bias_exp=None,
               start: int = 0, reset_interval=0, reset_offset=0, model: str = "lif", shape=None, **registers):
        """``reset_interval``/``reset_offset``: periodic reset (Lava ``LIFReset``): u and v
        are cleared at the start of every step t with ``t % reset_interval ==
        reset_offset`` (interval 0: never); scalars or arrays of length ``size``.

        ``model``: the neuron model (:mod:`chipemu.neurons`; default CUBA LIF);
        ``registers``: its registers beyond the LIF ones (e.g. ``bias``, ``spike_exp`` for
        ``sigma_delta``).  A register the model does not have is an error; one left out
        takes the model's default.  ``size`` may be a shape tuple, or ``shape`` given
        (C-order compartments).
        """
        from .neurons import LIF_REGISTERS, get_model
        _check_name("population", name)
        owner = f"population '{name}'"
        size, shape = _size_shape(owner, size, shape)
        m = get_model(model, owner)
        given = {"du": du, "dv": dv, "vth": vth, "bias_mant": bias_mant, "bias_exp": bias_exp, **registers}
        for key, value in given.items():
            if value is not None and key not in m.registers:
                known = ", ".join(m.registers) or "none"
                raise NetworkError(f"{owner}: neuron model '{m.name}' has no register '{key}' (its registers: {known})")
        regs, extra = {}, {}
        for param in LIF_REGISTERS:
            lo, hi = neuron.PARAM_RANGES[param]
            value = given[param]
            if value is None:
                value = m.registers[param].default if param in m.registers else 0
            regs[param] = _int_array(owner, param, value, size, lo, hi)
        for key, reg in m.registers.items():
            if key not in LIF_REGISTERS:
                value = given.get(key)
                extra[key] = _int_array(owner, key, reg.default if value is None else value, size, reg.lo, reg.hi)
        if m.check is not None:
            m.check(owner, {**regs, **extra})
        if m.name != "lif" and np.any(np.asarray(reset_interval) != 0):
            raise NetworkError(f"{owner}: the periodic reset (reset_interval) is a CUBA LIF feature; "
                               f"neuron model '{m.name}' has none")
        interval, offset = check_reset(owner, reset_interval, reset_offset, size)
        return cls(name=name, size=size, start=start, reset_interval=interval, reset_offset=offset, model=m.name,
                   model_regs=extra, shape=shape, **regs)

    @property
    def has_reset(self) -> bool:
        return self.reset_interval is not None


def check_reset(owner: str, reset_interval, reset_offset, n: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Validated periodic-reset registers as int64 arrays (n,), or (None, None) when no
    compartment resets.  ``reset_offset`` must be below its ``reset_interval`` (and 0 where
    the interval is 0)."""
    interval = _int_array(owner, "reset_interval", reset_interval, n, *neuron.RESET_INTERVAL_RANGE)
    offset = _int_array(owner, "reset_offset", reset_offset, n, *neuron.RESET_INTERVAL_RANGE)
    bad = (offset >= np.maximum(interval, 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise NetworkError(f"{owner}: parameter 'reset_offset' = {int(offset[i])} (at index {i}) must be in "
                           f"0..reset_interval-1 = 0..{max(int(interval[i]) - 1, 0)}")
    if not interval.any():
        return None, None
    return interval, offset


@dataclass(frozen=True, eq=False)
class InputGroup(_Contiguous):
    """``size`` input spike sources; source ``spike_idx[i]`` fires at step ``spike_t[i]``.

    Events are unique (a source fires at most once per step) and sorted by ``(t, idx)``.
    An input spike at step t over a synapse of delay d is integrated at step t + 1 + d.
    ``spike_val``: None for binary spikes, or each event's graded payload (non-zero
    integers of :data:`chipemu.neurons.PAYLOAD_BITS` bits, signed); a synapse then delivers
    weight x payload.
    """

    name: str
    size: int
    spike_idx: np.ndarray = field(repr=False)
    spike_t: np.ndarray = field(repr=False)
    start: int = 0
    spike_val: np.ndarray | None = field(default=None, repr=False)
    shape: tuple | None = None

    @classmethod
    def create(cls, name: str, size, spike_idx=(), spike_t=(), start: int = 0, spike_val=None, shape=None):
        _check_name("input group", name)
        owner = f"input group '{name}'"
        size, shape = _size_shape(owner, size, shape)
        idx = np.asarray(spike_idx)
        t = np.asarray(spike_t)
        if idx.ndim != 1 or t.shape != idx.shape:
            raise NetworkError(f"{owner}: spike_idx and spike_t must be 1-D of equal length, got {idx.shape} and {t.shape}")
        idx = _int_array(owner, "spike_idx", idx, idx.size, 0, size - 1)
        t = _int_array(owner, "spike_t", t, t.size, 0, 2**31 - 1)
        val = None
        if spike_val is not None:
            from .neurons import PAYLOAD_BITS
            half = 2 ** (PAYLOAD_BITS - 1)
            val = _int_array(owner, "spike_val", spike_val, idx.size, -half, half - 1)
            if (val == 0).any():
                i = int(np.flatnonzero(val == 0)[0])
                raise NetworkError(f"{owner}: parameter 'spike_val' = 0 (at index {i}): a payload of 0 is no spike; "
                                   f"leave the event out")
        order = np.lexsort((idx, t))
        idx, t = idx[order], t[order]
        if val is not None:
            val = val[order]
        if idx.size > 1:
            dup = (np.diff(t) == 0) & (np.diff(idx) == 0)
            if dup.any():
                i = int(np.flatnonzero(dup)[0])
                raise NetworkError(f"{owner}: source {int(idx[i])} fires twice at step {int(t[i])}; events must be unique")
        return cls(name=name, size=size, spike_idx=idx, spike_t=t, start=start, spike_val=val, shape=shape)


@dataclass(frozen=True, eq=False)
class Projection:
    """Synapses ``pre[src[i]] -> post[dst[i]]`` with ``weight[i]`` and ``delay[i]``.

    ``pre`` names a population or an input group (``pre_is_input`` tells which), ``post``
    a population.  Indices are local to pre/post.  ``weight``: even int in [-256, 254]
    (8-bit mixed sign; > 0 excitatory, < 0 inhibitory); ``delay``: int in [0, 62] steps.
    ``plasticity``: the projection's :class:`~chipemu.learning.LearningRule`, or None
    (static weights); see docs/learning.md.
    """

    name: str
    pre: str
    post: str
    pre_is_input: bool
    src: np.ndarray = field(repr=False)
    dst: np.ndarray = field(repr=False)
    weight: np.ndarray = field(repr=False)
    delay: np.ndarray = field(repr=False)
    plasticity: object = None

    def __len__(self) -> int:
        return int(self.src.size)


def check_weights(owner: str, weight: np.ndarray) -> None:
    """Raise :class:`NetworkError` unless every weight is even and in [-256, 254]."""
    if weight.size:
        lo, hi = neuron.WEIGHT_RANGE
        bad = (weight < lo) | (weight > hi) | (weight % 2 != 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            w = int(weight[i])
            why = "is odd" if lo <= w <= hi else f"is out of range {lo}..{hi}"
            raise NetworkError(f"{owner}: weight = {w} (synapse {i}) {why}; weights are even integers in "
                               f"{lo}..{hi} (8-bit mixed sign)")
