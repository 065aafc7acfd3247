"""Partitioners: compartments -> logical cores ``0..K-1``, and input sources -> injecting cores.

Two partitioners share one exact core filler (:class:`~mapper.fill.CoreFiller`), so every
core they produce respects the compartment, synaptic-memory and fan-in limits by
construction; fan-out is checked (and repaired for inputs) once the partition is complete.

``sequential`` (the baseline)
    Walks the compartments in global index order and fills core 0, then core 1, ... each
    up to the first limit that would be exceeded.

``traffic``
    Minimises the expected inter-core spike traffic, the connectivity (lambda - 1) metric
    of the hypergraph whose nets are a source and its targets::

        traffic = sum over sources s of rate(s) * |{cores of targets of s} - {core of s}|

    (one packet per spike per distinct destination core other than the source's own).
    Three phases, all vectorised except loops over clusters and cores:

    1. *Size-constrained label propagation* (:mod:`mapper.cluster`) groups strongly
       connected compartments into clusters of at most 1/4 core.
    2. *Greedy growth packing* (:mod:`mapper.cluster`) builds cores from clusters, each
       core grown with the clusters of highest affinity to it, keeping the number of cores
       at (or near) the lower bound: fewer cores never cost traffic.  When the clusters
       hold under 1 % of the edge weight (:func:`~mapper.cluster.clusters_found`: no
       locality to use, e.g. a uniformly random network), the ``sequential`` fill is the
       starting point instead.
    3. *Refinement* (:mod:`mapper.refine`): rounds of moves and pairwise swaps with exact
       gains of the objective, under every per-core limit.

    Should the packing need more cores than the chip has (fan-in can make clusters pack
    badly), refinement starts from the ``sequential`` partition instead when that one needs
    fewer cores: the traffic partitioner never fails where the baseline fits.

Input sources use no compartment: each is injected by the core holding most of its targets
(:func:`assign_inputs`), which uses that core's fan-out budget.

Pinning (``pin={"pop": [core ids]}``): ids are *physical* chip cores
(``router * cores_per_router + port``, ``router = y * columns + x``).  A pinned
population fills its cores in the order given; pinned cores are reserved for pinned
populations (several may share one); everything else goes to other cores.  Pinned cores
become logical cores ``0..P-1`` and the placers keep them where they were pinned.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from chipemu.arrays import distinct_counts
from chipemu.errors import ChipemuError, FitError

from .cluster import clusters_found, grow_pack, label_propagation, pin_edges
from .fill import CoreFiller
from .graph import MapGraph, segment_ids, source_rates
from .refine import DENSE_LIMIT, refine
from .resources import ResourceModel


@dataclass(frozen=True, eq=False)
class Partition:
    """A partition: ``neuron_core`` (n,) logical core per compartment, ``n_cores`` K,
    ``fixed`` logical core -> physical core id for pinned cores, ``limited_by`` the
    resource that closed most cores (for messages)."""

    neuron_core: np.ndarray
    n_cores: int
    fixed: dict[int, int] = field(default_factory=dict)
    limited_by: str = "compartments"


Partitioner = Callable[..., Partition]


# ------------------------------------------------------------------------------- pins
def parse_pins(graph: MapGraph, model: ResourceModel, pin: Mapping[str, Sequence[int]] | None
               ) -> list[tuple[str, int, int, list[int]]]:
    """Validate ``pin`` -> ``[(population, start, stop, [physical core ids])]``."""
    if not pin:
        return []
    if not isinstance(pin, Mapping):
        raise ChipemuError(f"pin: expected a dict population -> list of core ids, got {type(pin).__name__}")
    n_cores = model.chip.n_cores
    out, seen_pop = [], set()
    for name, cores in pin.items():
        start, stop = graph.population_range(name)
        if name in seen_pop:
            raise ChipemuError(f"pin: population '{name}' given twice")
        seen_pop.add(name)
        if isinstance(cores, (int, np.integer)) and not isinstance(cores, bool):
            cores = [cores]
        ids = []
        for c in cores:
            if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or not 0 <= c < n_cores:
                raise ChipemuError(
                    f"pin: population '{name}' pinned to core {c!r}, which does not exist on "
                    f"{model.chip_words()} (allowed: core ids 0..{n_cores - 1})")
            if int(c) in ids:
                raise ChipemuError(f"pin: population '{name}' lists core {int(c)} twice")
            ids.append(int(c))
        if not ids:
            raise ChipemuError(f"pin: population '{name}' has an empty core list")
        out.append((name, start, stop, ids))
    return out


def place_pins(graph: MapGraph, model: ResourceModel, pins) -> tuple[np.ndarray, dict[int, int]]:
    """Fill pinned populations into their cores; -1 marks compartments left to partition."""
    nc = np.full(graph.n, -1, dtype=np.int64)
    fixed: dict[int, int] = {}
    logical: dict[int, int] = {}
    filler = CoreFiller(graph, model)
    for name, start, stop, ids in pins:
        for phys in ids:
            if phys not in logical:
                logical[phys] = len(logical)
                fixed[logical[phys]] = phys
        todo = np.arange(start, stop, dtype=np.int64)
        last = None
        for phys in ids:
            lc = logical[phys]
            filler.load(np.flatnonzero(nc == lc))
            last = (phys, filler.fit(todo))
            nc[filler.add_fitted()] = lc
            todo = todo[last[1].k:]
            if todo.size == 0:
                break
        if todo.size:
            phys, res = last
            cap = model.capacity()[res.reason]
            if res.reason == "compartments":
                detail = (f"compartments needed {stop - start} > capacity {len(ids) * model.compartments} "
                          f"({len(ids)} core{'s' if len(ids) > 1 else ''} x {model.compartments}, "
                          f"shared with other pinned populations)")
            else:
                word = {"synapse_bits": "synaptic memory bits", "fanin_axons": "fan-in axons"}[res.reason]
                detail = f"{word} needed {res.needed} > capacity {cap} on core {phys}"
            raise FitError(
                f"population '{name}' pinned to cores {ids}: {detail}, {todo.size} of its "
                f"{stop - start} compartments left over; remedy: pin it to more cores, raise "
                f"max_per_core, or leave it unpinned")
    return nc, fixed


# ------------------------------------------------------------------------- sequential
def partition_sequential(graph: MapGraph, model: ResourceModel, *, seed: int = 0,
                         pin=None, rates=None, max_cores: int | None = None) -> Partition:
    """Fill cores in compartment index order (see the module docstring).  Deterministic."""
    nc, fixed = place_pins(graph, model, parse_pins(graph, model, pin))
    free = np.flatnonzero(nc < 0)
    core = len(fixed)
    reasons: Counter = Counter()
    filler = CoreFiller(graph, model)
    pos = 0
    window = 8  # candidates offered to the next core; fit's cost grows with their fan-in
    while pos < free.size:
        filler.reset()
        # the longest prefix of free[pos:pos + compartments] that fits: offered in windows
        # that double while all of a window fits (same result as offering all at once, at
        # the cost of what fits rather than of a full core's worth of candidates)
        while True:
            res = filler.fit(free[pos:pos + window])
            if res.k < window or window >= model.compartments or pos + window >= free.size:
                break
            window = min(model.compartments, 2 * window)
        window = max(8, min(model.compartments, 2 * res.k))
        if res.k == 0:  # check_network rules this out; kept as a guard
            raise FitError(f"{graph.describe_compartment(int(free[pos]))}: does not fit an empty core "
                           f"({res.reason} needed {res.needed}); remedy: a chip with bigger cores")
        nc[filler.add_fitted()] = core
        reasons[res.reason or "compartments"] += 1
        pos += res.k
        core += 1
    return Partition(nc, core, fixed, _dominant(reasons))


def _dominant(reasons: Counter) -> str:
    return reasons.most_common(1)[0][0] if reasons else "compartments"


# ---------------------------------------------------------------------- traffic-aware
def partition_traffic(graph: MapGraph, model: ResourceModel, *, seed: int = 0,
                      pin=None, rates=None, max_cores: int | None = None) -> Partition:
    """Traffic-aware partition (see the module docstring).  Deterministic for a seed.

    ``max_cores`` (default: the chip's cores) bounds the room the packing may leave
    unused; should the packing still need more cores than that, the index-order partition
    is refined instead when it needs fewer.
    """
    rng = np.random.default_rng(seed)
    r = source_rates(graph, rates)
    max_cores = model.chip.n_cores if max_cores is None else max_cores
    nc, fixed = place_pins(graph, model, parse_pins(graph, model, pin))
    first = len(fixed)
    free = nc < 0
    if not free.any():
        return Partition(nc, first, fixed)
    edges = pin_edges(graph, r, free)
    labels = label_propagation(graph, model, edges, free, rng)
    packed = clusters_found(edges, labels)
    if packed:
        nc, n_cores, reasons = grow_pack(graph, model, labels, edges, nc, first, max_cores)
    del edges, labels
    # no cluster structure for growth packing to use, or a packing over the chip: refine
    # the index-order fill instead (in the second case only when it needs fewer cores)
    if not packed or n_cores > max_cores:
        seq = partition_sequential(graph, model, pin=pin)
        if not packed or seq.n_cores < n_cores:
            nc, n_cores, reasons = seq.neuron_core, seq.n_cores, Counter({seq.limited_by: 1})
    nc = refine(graph, model, nc, n_cores, r, movable=free, first_free=first, rng=rng)
    nc, n_cores = _drop_empty(nc, n_cores, first)
    return Partition(nc, n_cores, fixed, _dominant(reasons))


def _drop_empty(nc: np.ndarray, n_cores: int, first: int) -> tuple[np.ndarray, int]:
    """Renumber cores ``first..`` so that none is empty (pinned cores keep their numbers)."""
    used = np.bincount(nc, minlength=n_cores) > 0
    used[:first] = True
    if used.all():
        return nc, n_cores
    new = np.cumsum(used) - 1
    return new[nc], int(used.sum())


# ----------------------------------------------------------------------------- inputs
def assign_inputs(graph: MapGraph, neuron_core: np.ndarray, n_cores: int) -> np.ndarray:
    """Injecting core of every input source: the core holding most of its targets.

    Ties go to the lowest core; an input without targets is injected by core 0 (it sends
    nothing).  -1 only when there are no cores at all.
    """
    in_n, n, K = graph.in_n, graph.n, int(n_cores)
    if in_n == 0:
        return np.zeros(0, dtype=np.int64)
    if K == 0:
        return np.full(in_n, -1, dtype=np.int64)
    lo = graph.out_ptr[n]
    j = segment_ids(graph.out_ptr[n:] - lo)
    cores = np.asarray(neuron_core, np.int64)[graph.out_dst[lo:]]
    if in_n * K <= DENSE_LIMIT:
        counts = np.bincount(j * K + cores, minlength=in_n * K).reshape(in_n, K)
        return np.argmax(counts, axis=1).astype(np.int64)
    keys, cnt = distinct_counts(j * K + cores)
    jj = keys // K
    out = np.zeros(in_n, dtype=np.int64)
    if keys.size:
        first = np.empty(jj.size, dtype=bool)
        first[0] = True
        np.not_equal(jj[1:], jj[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        gid = np.cumsum(first) - 1
        mx = np.maximum.reduceat(cnt, starts)
        cand = np.flatnonzero(cnt == mx[gid])
        firstc = np.ones(cand.size, dtype=bool)
        firstc[1:] = jj[cand[1:]] != jj[cand[:-1]]
        out[jj[cand[firstc]]] = keys[cand[firstc]] % K
    return out


def repair_input_fanout(graph: MapGraph, model: ResourceModel, neuron_core: np.ndarray,
                        input_core: np.ndarray, n_cores: int) -> np.ndarray:
    """Move inputs off cores whose fan-out is exceeded, onto another of their target cores.

    Only runs when some core's fan-out is over its limit (a loop over the inputs of those
    cores); returns the (possibly) changed ``input_core``.
    """
    K, n = int(n_cores), graph.n
    if graph.in_n == 0 or model.fanout >= K:
        return input_core
    input_core = input_core.copy()
    nc = np.asarray(neuron_core, np.int64)
    score = np.concatenate([nc, input_core])
    o_s = segment_ids(graph.out_ptr)
    dcore = nc[graph.out_dst]
    dests = np.zeros((K, K), dtype=bool)
    dests[score[o_s], dcore] = True
    fan = dests.sum(axis=1)
    if not (fan > model.fanout).any():
        return input_core
    comp_dests = np.zeros((K, K), dtype=bool)
    cm = o_s < n
    comp_dests[score[o_s[cm]], dcore[cm]] = True
    in_dest = [np.unique(dcore[graph.out_ptr[n + j]:graph.out_ptr[n + j + 1]]) for j in range(graph.in_n)]
    # rebuild from the compartments, then add inputs one by one (heaviest first)
    dests = comp_dests.copy()
    order = np.argsort([-d.size for d in in_dest], kind="stable")
    for j in order.tolist():
        d = in_dest[j]
        if d.size == 0:
            continue
        prefer = [int(input_core[j])] + [int(c) for c in d if c != input_core[j]]
        for c in prefer:
            if int((dests[c] | np.isin(np.arange(K), d)).sum()) <= model.fanout:
                input_core[j] = c
                break
        dests[input_core[j], d] = True
    return input_core
