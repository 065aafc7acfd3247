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

The part records and their checks live in :mod:`chipemu.network_parts` (re-exported here).
"""

from __future__ import annotations

import hashlib
from typing import Iterable

import numpy as np

from . import bounded, neuron
from .connectors import Connector, make_connector
from .errors import NetworkError
from .flat import FlatNetwork, flatten
from .network_parts import (_BYTES_PER_NODE, MAX_GROUP_SIZE, MAX_GROUPS, MAX_PROJECTIONS,  # noqa: F401
                            InputGroup, Population, Projection, ValueSpec, _check_name, _check_size,
                            _Contiguous, _int_array, _size_shape, check_reset, check_weights)
from .shared_weights import SharedProjection, SharedWeightBuilders

__all__ = ["FlatNetwork", "InputGroup", "Network", "Population", "Projection", "SharedProjection", "check_weights"]


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

    @property
    def is_plastic(self) -> bool:
        """Whether any projection carries a learning rule (the runners then learn)."""
        return any(p.plasticity is not None for p in self.projections)

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
            if a.dtype.kind in "iub":  # the bytes of the int64 array in C order, without copying them
                h.update(np.ascontiguousarray(a, dtype=np.int64).reshape(-1).view(np.uint8))
            else:
                h.update(str(a.tolist()).encode())
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
