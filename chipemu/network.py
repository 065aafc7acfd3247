"""The SNN description: populations, input spike sources and projections.

A :class:`Network` is built from

* :class:`Population` -- a named group of Loihi CUBA LIF compartments whose registers
  (``du, dv, vth, bias_mant, bias_exp``, see :mod:`chipemu.neuron`) are scalars or
  per-compartment arrays;
* :class:`InputGroup` -- a named group of input spike sources with explicit spike events
  (generators in :mod:`chipemu.inputs` produce them from a seed);
* :class:`Projection` -- synapses from a population or input group to a population, with
  signed even integer weights in [-256, 254] (sign = EPSP/IPSP) and delays 0..62 steps.

Everything is validated when it is added; an error names the population or projection,
the parameter, the bad value and the allowed range.  Populations and input groups are laid
out contiguously in the order they were added: a compartment's *global index* is its
population's ``start`` plus its local index.  :meth:`Network.flat` gives the flat arrays
of the flat file (docs/formats.md), the representation both runners and the mapper consume.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Callable, Iterable, Union

import numpy as np

from . import bounded, neuron
from .connectors import Connector, make_connector
from .errors import NetworkError
from .flat import FlatNetwork, flatten
from .shared_weights import SharedProjection, SharedWeightBuilders, check_shape

__all__ = ["FlatNetwork", "InputGroup", "Network", "Population", "Projection", "SharedProjection", "check_weights"]

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


class Network(SharedWeightBuilders):
    """A spiking network: populations, input groups and projections, validated as added.

    >>> net = Network("demo", steps=50)
    >>> exc = net.add_population("exc", 80, du=400, dv=200, vth=100, bias_mant=20, bias_exp=6)
    >>> stim = net.add_bernoulli_input("stim", 10, p=0.1, seed=1)
    >>> _ = net.connect(stim, exc, "fixed_probability", p=0.3, seed=2, weight=100, delay=1)
    >>> net.n_compartments, net.n_inputs
    (80, 10)
    """

    def __init__(self, name: str = "network", steps: int = 100):
        self.name = _check_name("network", name)
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer, float, np.floating)) \
                or not np.isfinite(steps) or int(steps) != steps or steps < 0:
            raise NetworkError(f"network '{name}': steps = {bounded.show(steps)} must be an integer >= 0")
        self.steps = bounded.check_int(steps, f"network '{name}': steps", 0, bounded.MAX_STEPS, NetworkError)
        self.populations: list[Population] = []
        self.inputs: list[InputGroup] = []
        self.projections: list[Projection] = []
        self._flat: FlatNetwork | None = None

    # ---------------------------------------------------------------- building
    def _names(self) -> tuple[set, set]:
        """(names of populations and input groups, names of projections), cached while the
        lists only grow through the ``add_*`` / ``connect`` methods (O(1) per addition)."""
        key = (id(self.populations), len(self.populations), id(self.inputs), len(self.inputs),
               id(self.projections), len(self.projections))
        cache = self.__dict__.get("_name_cache")
        if cache is None or cache[0] != key:
            groups = {p.name for p in self.populations} | {g.name for g in self.inputs}
            cache = (key, groups, {p.name for p in self.projections})
            self.__dict__["_name_cache"] = cache
        return cache[1], cache[2]

    def _added(self, kind: str, name: str) -> None:
        """Record a name just appended by an ``add_*`` / ``connect`` method in the cache."""
        _, groups, projs = self.__dict__["_name_cache"]
        (projs if kind == "projection" else groups).add(name)
        self.__dict__["_name_cache"] = ((id(self.populations), len(self.populations), id(self.inputs),
                                         len(self.inputs), id(self.projections), len(self.projections)),
                                        groups, projs)

    def _check_new_name(self, kind: str, name: str) -> None:
        groups, projs = self._names()
        if name in (projs if kind == "projection" else groups):
            raise NetworkError(f"{kind} name '{name}' is already used in network '{self.name}'")
        if kind == "projection":
            if len(self.projections) >= MAX_PROJECTIONS:
                raise NetworkError(f"network '{self.name}': too many projections (at most {MAX_PROJECTIONS:,})")
        elif len(self.populations) + len(self.inputs) >= MAX_GROUPS:
            raise NetworkError(f"network '{self.name}': too many populations and input groups "
                               f"(at most {MAX_GROUPS:,})")

    def add_population(self, name: str, size, *, du=None, dv=None, vth=None, bias_mant=None, bias_exp=None,
                       reset_interval=0, reset_offset=0, model: str = "lif", shape=None, **registers) -> Population:
        """Add ``size`` compartments; registers are scalars or arrays of length ``size``.

        ``reset_interval``/``reset_offset``: periodic reset of u and v at the start of every
        step t with ``t % reset_interval == reset_offset`` (0: never; :mod:`chipemu.neuron`).
        ``model``: the neuron model (``lif`` by default; see :mod:`chipemu.neurons`) and
        ``registers`` its registers beyond du, dv, vth, bias_mant, bias_exp; registers left
        out take the model's defaults (LIF: du = dv = bias = 0, vth = 1).  ``size`` may be a
        shape tuple (e.g. ``(C, H, W)``), or ``shape`` given: the compartments are then the
        shape's elements in C order.
        """
        self._check_new_name("population", name)
        size, shape = _size_shape(f"population '{name}'", size, shape)
        bounded.check_memory((self.n_compartments + self.n_inputs + size) * _BYTES_PER_NODE,
                             f"network '{self.name}' with population '{name}'", NetworkError)
        pop = Population.create(name, size, du=du, dv=dv, vth=vth, bias_mant=bias_mant,
                                bias_exp=bias_exp, start=self.n_compartments,
                                reset_interval=reset_interval, reset_offset=reset_offset, model=model, shape=shape,
                                **registers)
        self.populations.append(pop)
        self._added("population", name)
        self._flat = None
        return pop

    def add_input(self, name: str, size, spike_idx=(), spike_t=(), spike_val=None, *, shape=None) -> InputGroup:
        """Add ``size`` input sources with explicit events (source ``spike_idx[i]`` at ``spike_t[i]``).

        ``spike_val``: optional graded payload of each event (non-zero, 24-bit signed);
        None: binary spikes.  ``size`` may be a shape tuple, or ``shape`` given (C-order sources).
        """
        self._check_new_name("input group", name)
        grp = InputGroup.create(name, size, spike_idx, spike_t, start=self.n_inputs, spike_val=spike_val,
                                shape=shape)
        self.inputs.append(grp)
        self._added("input group", name)
        self._flat = None
        return grp

    def add_spike_times(self, name: str, times: list[Iterable[int]]) -> InputGroup:
        """Add one input source per entry of ``times`` (the steps at which it fires)."""
        times = [np.asarray(list(ts)) for ts in times]  # materialise once: iterators are consumed
        idx = np.concatenate([np.full(len(ts), i, dtype=np.int64) for i, ts in enumerate(times)] or [np.zeros(0, np.int64)])
        t = np.concatenate(times or [np.zeros(0, np.int64)])  # dtype kept: add_input rejects non-integers
        return self.add_input(name, len(times), idx, t)

    def add_bernoulli_input(self, name: str, size: int, p: float, *, seed: int = 0,
                            start: int = 0, stop: int | None = None) -> InputGroup:
        """Sources that each fire with probability ``p`` per step in [start, stop) (seeded)."""
        from .inputs import bernoulli_events
        stop = self.steps if stop is None else stop
        idx, t = bernoulli_events(f"input group '{name}'", size, p, start, stop, seed)
        return self.add_input(name, size, idx, t)

    def add_poisson_input(self, name: str, size: int, rate_hz: float, *, dt_s: float = 1e-3, seed: int = 0,
                          start: int = 0, stop: int | None = None) -> InputGroup:
        """Poisson sources of ``rate_hz`` sampled at one step per ``dt_s`` seconds (seeded).

        A source fires in a step when its Poisson process has at least one event in it:
        probability ``1 - exp(-rate_hz * dt_s)``; spikes are binary, as on the chip.
        """
        from .inputs import poisson_probability
        p = poisson_probability(f"input group '{name}'", rate_hz, dt_s)
        return self.add_bernoulli_input(name, size, p, seed=seed, start=start, stop=stop)

    def _resolve(self, ref, role: str):
        if isinstance(ref, (Population, InputGroup)):
            ref = ref.name
        for p in self.populations:
            if p.name == ref:
                return p
        for g in self.inputs:
            if g.name == ref:
                if role == "post":
                    raise NetworkError(f"input group '{ref}' cannot be a projection's target")
                return g
        raise NetworkError(f"no population or input group named {ref!r} in network '{self.name}'")

    def connect(self, pre, post, connector: str | Connector = "all_to_all", *, weight: ValueSpec,
                delay: ValueSpec = 0, name: str | None = None, plasticity=None, **connector_args) -> Projection:
        """Add synapses from ``pre`` (population or input group) to ``post`` (population).

        ``connector`` is a :class:`~chipemu.connectors.Connector` or its name
        (``all_to_all``, ``one_to_one``, ``fixed_probability``, ``fixed_fanout``,
        ``explicit``) with ``connector_args``.  ``weight`` and ``delay`` are an int, an
        array with one entry per synapse, or a function ``f(n_synapses) -> array``.
        ``plasticity``: a :class:`~chipemu.learning.LearningRule` (e.g.
        :func:`chipemu.learning.stdp`) or its dict form; the runners then learn the
        weights (``RunResult.weights``).
        """
        pre_g = self._resolve(pre, "pre")
        post_g = self._resolve(post, "post")
        name = self._projection_name(name, pre_g, post_g)
        owner = f"projection '{name}'"
        conn = make_connector(connector, **connector_args)
        try:
            src, dst = conn.build(pre_g.size, post_g.size, pre_g is post_g)
        except NetworkError as exc:
            raise NetworkError(f"{owner}: {exc}") from None
        m = src.size
        w = weight(m) if callable(weight) else weight
        d = delay(m) if callable(delay) else delay
        w = _int_array(owner, "weight", w, m, *neuron.WEIGHT_RANGE)
        check_weights(owner, w)
        d = _int_array(owner, "delay", d, m, *neuron.DELAY_RANGE)
        rule = self._check_plasticity(owner, plasticity, w)
        proj = Projection(name=name, pre=pre_g.name, post=post_g.name,
                          pre_is_input=isinstance(pre_g, InputGroup),
                          src=src.astype(np.int64), dst=dst.astype(np.int64),
                          weight=w.astype(np.int16), delay=d.astype(np.int8), plasticity=rule)
        self.projections.append(proj)
        self._added("projection", name)
        self._flat = None
        return proj

    def _projection_name(self, name, pre_g, post_g) -> str:
        """``name``, or ``pre->post``, made unique with a ``#k`` suffix."""
        name = name if name is not None else f"{pre_g.name}->{post_g.name}"
        _check_name("projection", name)
        taken = self._names()[1]
        if name in taken:
            k = 2
            while f"{name}#{k}" in taken:
                k += 1
            name = f"{name}#{k}"
        self._check_new_name("projection", name)
        return name

    def _check_plasticity(self, owner: str, plasticity, weight: np.ndarray):
        if plasticity is None:
            return None
        from .learning import LearningError, LearningRule
        if isinstance(plasticity, dict):
            try:
                plasticity = LearningRule.from_dict(plasticity)
            except LearningError as exc:
                raise LearningError(f"{owner}: {exc}") from None
        if not isinstance(plasticity, LearningRule):
            raise NetworkError(f"{owner}: plasticity must be a chipemu.learning.LearningRule (e.g. stdp(...)), "
                               f"got {type(plasticity).__name__}")
        plasticity.check_projection(owner, self, np.asarray(weight))
        return plasticity

    def with_weights(self, weights: dict) -> "Network":
        """A copy of the network with projections' weights replaced (plasticity kept).

        ``weights``: {projection name: int array in the projection's synapse order}, e.g.
        ``RunResult.weights`` / ``ChipRun.weights`` after a learning run.  Weights are
        validated (even, in [-256, 254], within the rule's sign bounds).  Populations and
        input groups are shared with this network (they are immutable).
        """
        import copy
        import dataclasses
        byname = {p.name: p for p in self.projections}
        for key in weights:
            if key not in byname:
                raise NetworkError(f"with_weights: no projection named {key!r} in network '{self.name}'")
            if isinstance(byname[key], SharedProjection):
                raise NetworkError(f"with_weights: projection {key!r} is a shared-weight projection; "
                                   f"its kernel is fixed")
        projections = []
        for p in self.projections:
            if p.name in weights:
                owner = f"projection '{p.name}'"
                w = _int_array(owner, "weight", np.asarray(weights[p.name]), len(p), *neuron.WEIGHT_RANGE)
                check_weights(owner, w)
                if p.plasticity is not None:
                    p.plasticity.check_projection(owner, self, w)
                p = dataclasses.replace(p, weight=w.astype(np.int16))
            projections.append(p)
        new = copy.copy(self)
        new.populations = list(self.populations)
        new.inputs = list(self.inputs)
        new.projections = projections
        new._flat = None
        return new

    @property
    def plastic_projections(self) -> list[Projection]:
        """The projections that carry a learning rule."""
        return [p for p in self.projections if p.plasticity is not None]

    # ---------------------------------------------------------------- queries
    @property
    def n_compartments(self) -> int:
        return self.populations[-1].stop if self.populations else 0  # contiguous, in order

    @property
    def n_inputs(self) -> int:
        return self.inputs[-1].stop if self.inputs else 0  # contiguous, in order

    @property
    def n_synapses(self) -> int:
        return sum(len(p) for p in self.projections)

    def population(self, name: str) -> Population:
        for p in self.populations:
            if p.name == name:
                return p
        raise NetworkError(f"no population named {name!r} in network '{self.name}'")

    def input_group(self, name: str) -> InputGroup:
        for g in self.inputs:
            if g.name == name:
                return g
        raise NetworkError(f"no input group named {name!r} in network '{self.name}'")

    def population_of(self, index: np.ndarray | int) -> np.ndarray:
        """Population position (in ``self.populations``) of global compartment indices."""
        starts = np.array([p.start for p in self.populations], dtype=np.int64)
        return np.searchsorted(starts, np.asarray(index), side="right") - 1

    def flat(self) -> FlatNetwork:
        """The flat arrays (cached until the network changes)."""
        if self._flat is None:
            self._flat = flatten(self)
        return self._flat

    def sha256(self) -> str:
        """A hash of everything that determines the network's behaviour (and its names)."""
        from .flatfile import network_to_arrays
        h = hashlib.sha256()
        for key, arr in sorted(network_to_arrays(self).items()):
            a = np.asarray(arr)
            h.update(key.encode())
            h.update(str(a.dtype.kind).encode())
            h.update(a.astype(np.int64).tobytes() if a.dtype.kind in "iub" else str(a.tolist()).encode())
        return h.hexdigest()

    def summary(self) -> str:
        lines = [f"network '{self.name}': {self.n_compartments} compartments, {self.n_inputs} inputs, "
                 f"{self.n_synapses} synapses, {self.steps} steps"]
        for p in self.populations:
            model = "" if p.model == "lif" else f", model {p.model}"
            lines.append(f"  population {p.name}: {p.size} compartments [{p.start}, {p.stop}){model}")
        for g in self.inputs:
            lines.append(f"  input {g.name}: {g.size} sources, {g.spike_idx.size} events")
        for pr in self.projections:
            lines.append(f"  projection {pr.name}: {pr.pre} -> {pr.post}, {len(pr)} synapses"
                         + (f", plastic: {pr.plasticity}" if pr.plasticity is not None else ""))
        return "\n".join(lines)

    # ---------------------------------------------------------------- graphs
    def graph(self):
        """Population graph (networkx ``MultiDiGraph``); see :func:`chipemu.netgraph.population_graph`."""
        from .netgraph import population_graph
        return population_graph(self)

    def neuron_graph(self, max_nodes: int = 20_000):
        """Compartment-level graph (networkx ``DiGraph``); see :func:`chipemu.netgraph.neuron_graph`."""
        from .netgraph import neuron_graph
        return neuron_graph(self, max_nodes)

    # ---------------------------------------------------------------- files
    def save(self, path) -> None:
        """Write the flat file (docs/formats.md, with population and projection names)."""
        from .flatfile import save_network
        save_network(self, path)

    @classmethod
    def load(cls, path) -> "Network":
        """Read and validate a flat file; see :func:`chipemu.flatfile.load_network`."""
        from .flatfile import load_network
        return load_network(path, cls)

    @classmethod
    def from_arrays(cls, arrays: dict, path: str = "<arrays>") -> "Network":
        """Validate the flat file's arrays (its keys, docs/formats.md) and build the network;
        ``path`` names the source in errors."""
        from .flatfile import network_from_arrays
        return network_from_arrays(arrays, path, cls)

    def __repr__(self) -> str:
        return (f"Network({self.name!r}, compartments={self.n_compartments}, inputs={self.n_inputs}, "
                f"synapses={self.n_synapses}, steps={self.steps})")
