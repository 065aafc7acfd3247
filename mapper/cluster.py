"""Clustering for the traffic-aware partitioner: label propagation, then growth packing.

Both work on the *pin graph*: every pin (source s -> target t, s != t) is an undirected
edge of weight ``rate(s)``; input sources are vertices of size 0 (they pull their targets
together but take no room).  The edge list holds every pin once (:class:`_Edges`).

:func:`label_propagation` -- size-constrained label propagation
    Every vertex starts in its own cluster.  Each iteration, a random half of the vertices
    (seeded) looks at the clusters of its neighbours in the *other* half -- which hold
    still this iteration, so no chains of simultaneous moves -- and joins the cluster it
    has the most edge weight to, if that beats its own and the cluster has room: a cluster
    holds at most ``1/CLUSTER_FRACTION`` of a core's compartments and of the synapses a
    core's memory holds.  A cluster that fills up turns its late-comers to their next
    choice (a few passes).  Ties go to a seeded random priority.  Each iteration runs in
    the compiled kernel (:mod:`mapper.kernel`: each active vertex walks its pins once and
    sums weight per neighbour cluster) when it is installed, else in numpy: one sort of
    packed ``(vertex, cluster, weight)`` keys (of ``(vertex, cluster)`` alone, as 32-bit
    ints where they fit, when every weight is the same); same labels.  Stops after 12
    iterations, when fewer than 0.1 % of the vertices move, or after the second iteration
    when the clusters hold less than :data:`LP_MIN_INSIDE` (1 %) of the edge weight: the
    network has no cluster structure to find (a uniformly random network: the clusters
    then hold ~0.6 % and gain ~0.1 % an iteration, while structured networks hold 3-7 %
    after two iterations and go on to 13-90 %).

:func:`grow_pack` -- greedy growth packing
    A core is seeded with the largest unplaced cluster (or the rest of a cluster split at
    the previous core) and grown with the unplaced cluster of highest affinity (summed edge
    weight between the cluster and the core so far) that fits entirely (exact check by
    :class:`~mapper.fill.CoreFiller`); up to 8 candidates are tried (the first with a
    fit, the other 7 at once with :meth:`~mapper.fill.CoreFiller.fits_each`); one that
    did not fit is tried again only once its affinity has grown.  With no connected
    candidate left, isolated clusters and then unrelated clusters fill the room.  A core
    may be closed with room left -- rather than splitting a cluster over two cores -- while
    the cores so far plus a lower bound for what is left stay within 3 % (at least one
    core) of the lower bound for the whole network, and within the chip; otherwise the best
    candidate is split and its rest seeds the next core.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from chipemu.arrays import run_lengths, run_starts
from chipemu.errors import FitError

from .fill import CoreFiller
from . import kernel
from .graph import INT64_IDS_BYTES, MapGraph
from .refine import group_cumsum as _group_cumsum
from .resources import ResourceModel

#: a cluster holds at most 1/CLUSTER_FRACTION of a core (compartments and synapses)
CLUSTER_FRACTION = 4
#: label propagation stops after its second iteration when its clusters hold less than
#: this fraction of the edge weight (no cluster structure to find)
LP_MIN_INSIDE = 0.01


@dataclass(frozen=True, eq=False)
class _Edges:
    """Undirected pin edges between LP vertices (compartments and inputs), each pin once, in
    (target, source) order.

    ``t``/``s``: target and source id of every pin (int64 up to
    :data:`~mapper.graph.INT64_IDS_BYTES` for both, else int32 when the ids fit);
    ``wq``: its quantised weight, to go in the ``wb`` low bits of packed keys;
    ``q``: the quantised weight of every source id (int32, 0 for sources without pins):
    ``wq == q[s]``.
    """

    t: np.ndarray
    s: np.ndarray
    wq: np.ndarray
    wb: int
    q: np.ndarray

    @property
    def size(self) -> int:
        return int(self.t.size)


def pin_edges(graph: MapGraph, r: np.ndarray, free: np.ndarray) -> _Edges:
    """The pin graph among free compartments and input sources (self pins and silent sources
    dropped), weights quantised to ``wb`` bits relative to the largest rate."""
    n_src = graph.n_src
    src_ok = np.concatenate([free, np.ones(graph.in_n, dtype=bool)]) & (r > 0)
    if kernel.in_use():  # the same pins in one pass, without the (source, target) arrays
        kept = kernel.pin_keep(graph, src_ok, free, np.int64 if n_src >= 2**31 else np.int32)
        narrow = n_src < 2**31 and 2 * 8 * kept[0].size > INT64_IDS_BYTES
        s, t = kept if narrow else (kept[0].astype(np.int64), kept[1].astype(np.int64))
    else:
        pin_s, pin_t = graph.pin_arrays()
        keep = (pin_s != pin_t) & src_ok[pin_s] & free[pin_t]
        narrow = n_src < 2**31 and 2 * 8 * int(np.count_nonzero(keep)) > INT64_IDS_BYTES
        idx = np.int32 if narrow else np.int64
        s = pin_s[keep].astype(idx)
        t = pin_t[keep].astype(idx, copy=False)
    hi_bits = max(1, int(np.ceil(np.log2(max(n_src, 2)))) * 2)
    wb = max(1, min(16, 62 - hi_bits))
    used = np.zeros(n_src, dtype=bool)
    used[s] = True
    ru = r[used]
    wmax = float(ru.max()) if ru.size else 1.0
    # quantised per source, then read per pin (a pin's weight is its source's rate)
    q = np.zeros(n_src, dtype=np.int32)
    q[used] = np.maximum(1, np.rint(ru / wmax * (2 ** wb - 1)))  # wb <= 16 bits
    wq = q[s]
    return _Edges(t=t, s=s, wq=wq, wb=wb, q=q)


def _grouped_weights(hi: np.ndarray, wq: np.ndarray, wb: int):
    """Sum ``wq`` per distinct ``hi`` with one sort of packed keys -> (distinct hi, sums)."""
    key = (hi << wb) | wq
    key.sort()
    h = key >> wb
    starts = run_starts(h)
    sums = np.add.reduceat(key & ((1 << wb) - 1), starts)
    return h[starts], sums


def _grouped(hi: np.ndarray, wq: np.ndarray, wb: int, n_keys: int, uniform: bool):
    """Sum ``wq`` per distinct ``hi`` (keys ``< n_keys``) -> (distinct hi, sums), sorted.

    ``uniform`` (every weight the same, e.g. no rates given): the sums are run lengths times
    that weight, so the keys alone are sorted, as 32-bit ints when ``n_keys`` allows (about
    twice as fast as the packed 64-bit keys of :func:`_grouped_weights`); same numbers.
    """
    if not uniform or hi.size == 0:
        return _grouped_weights(hi, wq, wb)
    key = hi.astype(np.uint32) if n_keys <= 2**32 else hi.copy()
    key.sort()
    starts = run_starts(key)
    return key[starts].astype(np.int64), run_lengths(starts, key.size) * int(wq[0])


def _coarse_edges(a: np.ndarray, b: np.ndarray, wq: np.ndarray, wb: int, q: int, small: bool,
                  uniform: bool = False):
    """The symmetric cluster graph of edges ``a - b`` (cluster ids < q, weights ``wq``):
    ``(a * q + b, summed weight)`` for both directions of every pair, sorted.

    ``small`` (clusters average several vertices, so there are far fewer cluster pairs than
    edges): sum each direction's pairs first and symmetrise the short result; otherwise
    sort both directions of every edge at once (one sort instead of two of similar size).
    The sums are of integers, so both ways give the same numbers.
    """
    if not small:
        return _grouped(np.concatenate([a * q + b, b * q + a]), np.concatenate([wq, wq]), wb, q * q, uniform)
    hi, w = _grouped(a * q + b, wq, wb, q * q, uniform)
    a, b = hi // q, hi % q
    both = np.concatenate([hi, b * q + a])
    order = np.argsort(both, kind="stable")
    both, ws = both[order], np.concatenate([w, w])[order]
    first = np.ones(both.size, dtype=bool)
    first[1:] = both[1:] != both[:-1]
    starts = np.flatnonzero(first)
    return both[starts], np.add.reduceat(ws, starts)


def _pick_ends(x: np.ndarray, y: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """``concatenate([x[i], y[j]])`` gathered straight into one array (indices in range)."""
    out = np.empty(i.size + j.size, dtype=x.dtype)
    x.take(i, out=out[:i.size], mode="clip")  # "clip": no buffered copy of out
    y.take(j, out=out[i.size:], mode="clip")
    return out


def label_propagation(graph: MapGraph, model: ResourceModel, e: _Edges, free: np.ndarray,
                      rng: np.random.Generator, iterations: int = 12, tries: int = 3) -> np.ndarray:
    """Size-constrained label propagation -> a cluster label per source id (-1: pinned).

    Each iteration, a random half of the vertices looks at the labels of its neighbours in
    the other half (which hold still) and moves to the label it has the most edge weight
    to, among labels with room for it; a label that fills up turns its late-comers to their
    next choice (``tries`` passes).
    """
    n_src = graph.n_src
    vfree = np.concatenate([free, np.ones(graph.in_n, dtype=bool)])
    labels = np.where(vfree, np.arange(n_src, dtype=np.int64), -1)
    vw = np.concatenate([free.astype(np.int64), np.zeros(graph.in_n, np.int64)])  # vertex sizes
    vs = np.concatenate([np.where(free, model.compartment_bits(graph), 0), np.zeros(graph.in_n, np.int64)])  # vertex bits
    size, syn = vw.copy(), vs.copy()  # per label
    u_size = max(1, model.compartments // CLUSTER_FRACTION)
    u_syn = max(1, model.memory_bits // CLUSTER_FRACTION)
    prio = rng.permutation(n_src)
    if e.size == 0:
        return labels
    if kernel.in_use() and n_src < 2**31 - 1:  # the compiled iterations (mapper/kernel.py): same labels
        steps = kernel.LabelSteps(e.t, e.s, e.q, n_src)
        for it in range(iterations):
            moved = steps.step(rng.random(n_src) < 0.5, labels, prio, vw, vs, size, syn, u_size, u_syn, tries)
            if moved < 0:  # no pin with exactly one active end
                continue
            if moved < max(1, n_src // 1000):
                break
            if it == 1 and not clusters_found(e, labels):
                break
        return labels
    ends_a, ends_b, wq = e.t, e.s, e.wq  # pin targets, sources, weights
    uniform = bool(wq.min() == wq.max())  # e.g. no rates given: sums of weights are counts
    # pins listed by target (as pin_edges lists them): a vertex's flag is repeated over its
    # run of pins instead of gathered pin by pin
    a_runs = np.bincount(ends_a, minlength=n_src) if bool(np.all(ends_a[1:] >= ends_a[:-1])) else None
    for it in range(iterations):
        active = rng.random(n_src) < 0.5
        act_a = active[ends_a] if a_runs is None else np.repeat(active, a_runs)
        act_b = active[ends_b]
        i_a = np.flatnonzero(act_a > act_b)  # pins whose a end looks at its b end
        i_b = np.flatnonzero(act_b > act_a)
        del act_a, act_b
        if i_a.size + i_b.size == 0:
            continue
        v = _pick_ends(ends_a, ends_b, i_a, i_b).astype(np.int64, copy=False)
        v *= n_src
        v += labels[_pick_ends(ends_b, ends_a, i_a, i_b)]
        wsel = wq[:1] if uniform else _pick_ends(wq, wq, i_a, i_b)
        hi, w = _grouped(v, wsel, e.wb, n_src * n_src, uniform)
        del v, i_a, i_b
        rv = hi // n_src
        rl = hi - rv * n_src
        own = rl == labels[rv]
        own_w = np.zeros(n_src, dtype=np.int64)
        own_w[rv[own]] = w[own]
        keep = ~own & (w > own_w[rv])  # only labels that beat staying
        rv, rl, w = rv[keep], rl[keep], w[keep]
        moved_total = 0
        for _t in range(tries):
            room = (size[rl] + vw[rv] <= u_size) & (syn[rl] + vs[rv] <= u_syn)
            cv, cl, cw = rv[room], rl[room], w[room]
            if cv.size == 0:
                break
            gfirst = np.empty(cv.size, dtype=bool)
            gfirst[0] = True
            np.not_equal(cv[1:], cv[:-1], out=gfirst[1:])
            gstart = np.flatnonzero(gfirst)
            glen = run_lengths(gstart, cv.size)
            ismax = cw == np.repeat(np.maximum.reduceat(cw, gstart), glen)
            pr = np.where(ismax, prio[cl], n_src)
            pick = ismax & (pr == np.repeat(np.minimum.reduceat(pr, gstart), glen))
            mv, ml = cv[pick], cl[pick]
            gain = cw[pick] - own_w[mv]
            order = np.lexsort((-gain, ml))
            mv, ml = mv[order], ml[order]
            cs = _group_cumsum(ml, vw[mv])
            cy = _group_cumsum(ml, vs[mv])
            adm = (size[ml] + cs <= u_size) & (syn[ml] + cy <= u_syn)
            mv, ml = mv[adm], ml[adm]
            if mv.size == 0:
                break
            np.subtract.at(size, labels[mv], vw[mv])
            np.subtract.at(syn, labels[mv], vs[mv])
            np.add.at(size, ml, vw[mv])
            np.add.at(syn, ml, vs[mv])
            labels[mv] = ml
            moved_total += mv.size
            left = np.ones(n_src, dtype=bool)
            left[mv] = False
            still = left[rv]
            rv, rl, w = rv[still], rl[still], w[still]
        if moved_total < max(1, n_src // 1000):
            break
        if it == 1 and not clusters_found(e, labels):
            break
    return labels


def clusters_found(e: _Edges, labels: np.ndarray) -> bool:
    """Whether the clusters ``labels`` hold at least :data:`LP_MIN_INSIDE` of the edge weight.

    False for a network without cluster structure (a uniformly random one), where
    clustering and growth packing find no locality to exploit.
    """
    if e.size == 0:
        return False
    if kernel.in_use():  # the same integer sums in one pass (mapper/kernel.py)
        inside, total = kernel.same_label_weight(e.t, e.s, e.wq, labels)
        return float(inside) >= LP_MIN_INSIDE * float(total)
    return float(e.wq[labels[e.t] == labels[e.s]].sum()) >= LP_MIN_INSIDE * float(e.wq.sum())


def top_by_affinity(ids: np.ndarray, affinity: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` distinct ``ids`` of highest ``affinity``, highest first, ties by lowest id.

    Exactly the first ``k`` of ``ids`` sorted by ``(-affinity, id)``, in O(n) for the
    selection: every id tied with the k-th highest affinity is kept before the final sort,
    so the result never depends on the order in which a partial sort leaves ties.
    """
    if ids.size > k:
        keep = affinity >= -np.partition(-affinity, k - 1)[k - 1]
        ids, affinity = ids[keep], affinity[keep]
    return ids[np.lexsort((ids, -affinity))][:k]


def grow_pack(graph: MapGraph, model: ResourceModel, labels: np.ndarray, e: _Edges,
              nc: np.ndarray, first_core: int, max_cores: int | None = None
              ) -> tuple[np.ndarray, int, Counter]:
    """Greedy growth packing of clusters into cores (see the module docstring).

    Room is only left unused while the cores stay within ``max_cores`` (all cores,
    ``first_core`` included) as well as within 3 % of the lower bound.

    Returns the completed ``nc``, the number of cores and a tally of what closed them.
    """
    nc = nc.copy()
    free = np.flatnonzero(nc < 0)
    # compact cluster ids over the free compartments
    lab = labels[free]
    present = np.zeros(graph.n_src, dtype=bool)
    present[lab] = True
    remap = np.cumsum(present) - 1
    cl = remap[lab]
    q = int(present.sum())
    order = np.argsort(cl, kind="stable")
    members = free[order]
    cptr = np.zeros(q + 1, dtype=np.int64)
    np.cumsum(np.bincount(cl, minlength=q), out=cptr[1:])
    # coarse graph between clusters (inputs join the cluster of their label)
    vlab = np.full(graph.n_src, -1, dtype=np.int64)
    okl = labels >= 0
    vlab[okl] = np.where(present[labels[okl]], remap[labels[okl]], -1)
    cv, cu = vlab[e.t], vlab[e.s]
    keep = (cv >= 0) & (cu >= 0) & (cv != cu)
    if keep.any():
        hi, w = _coarse_edges(cv[keep], cu[keep], e.wq[keep], e.wb, q, small=4 * q < graph.n_src,
                              uniform=bool(e.wq.min() == e.wq.max()))
        a = hi // q
        nbr = hi - a * q
        wts = w.astype(np.float64)
    else:
        a = nbr = np.zeros(0, np.int64)
        wts = np.zeros(0)
    nptr = np.zeros(q + 1, dtype=np.int64)
    np.cumsum(np.bincount(a, minlength=q), out=nptr[1:])
    csize = np.diff(cptr)
    connected = np.diff(nptr) > 0
    by_size = np.lexsort((np.arange(q), -csize))
    conn_order = by_size[connected[by_size]]
    iso_seq = np.concatenate([members[cptr[c]:cptr[c + 1]] for c in by_size[~connected[by_size]]] or
                             [np.zeros(0, np.int64)])
    # a core may be closed with room left (rather than splitting a cluster over two cores)
    # while the cores so far plus a lower bound for the rest stay within k_allowed
    cbits = model.compartment_bits(graph)  # synaptic-memory bits per compartment
    syn_left = int(cbits[free].sum())
    comp_left = int(free.size)

    def cores_for(comp: int, syn: int) -> int:
        return max(-(-comp // model.compartments), -(-syn // model.memory_bits))

    k_lb = max(cores_for(comp_left, syn_left), 1)
    k_allowed = k_lb + max(1, int(0.03 * k_lb))
    if max_cores is not None:
        k_allowed = min(k_allowed, max_cores - first_core)

    done = np.zeros(q, dtype=bool)
    offset = np.zeros(q, dtype=np.int64)
    aff = np.zeros(q)            # affinity of every cluster to the core being grown
    failed_at = np.full(q, -1.0)  # affinity at which a cluster last failed to fit this core
    listed = np.zeros(q, dtype=bool)  # clusters in this core's candidate list
    filler = CoreFiller(graph, model)
    reasons: Counter = Counter()
    core = first_core
    sp = 0  # pointer into conn_order
    iso_pos = 0
    carry = -1
    left = [comp_left, syn_left]  # compartments and synaptic bits not yet on a core

    def rest(c: int) -> np.ndarray:
        return members[cptr[c] + offset[c]:cptr[c + 1]]

    def placed(added: np.ndarray) -> None:
        nc[added] = core
        left[0] -= int(added.size)
        left[1] -= int(cbits[added].sum())

    def try_add(c: int, partial: bool) -> bool:
        """Add cluster c if it fits entirely (or its fitting prefix if ``partial``)."""
        mem = rest(c)
        res = filler.fit(mem)
        if res.k < mem.size and not partial:
            filler.discard()
            return False
        added = filler.add_fitted()
        placed(added)
        offset[c] += added.size
        if offset[c] >= csize[c]:
            done[c] = True
        if res.k < mem.size:
            reasons[res.reason or "compartments"] += 1
            return False
        nb, wd = nbr[nptr[c]:nptr[c + 1]], wts[nptr[c]:nptr[c + 1]]
        keep = ~done[nb]
        nb = nb[keep]
        aff[nb] += wd[keep]  # a cluster's neighbours are distinct
        new = nb[~listed[nb]]
        listed[new] = True
        cands.append(new)
        return True

    def best_candidates() -> np.ndarray:
        """Up to 8 listed clusters not placed, by affinity (highest first, ties: lowest id),
        leaving out those that failed to fit at their current affinity."""
        if len(cands) > 1:
            cands[:] = [np.concatenate(cands)]
        c = cands[0] if cands else np.zeros(0, np.int64)
        c = c[~done[c] & (aff[c] != failed_at[c])]
        return top_by_affinity(c, aff[c], 8)

    def unrelated(room: int) -> np.ndarray:
        """Up to 8 unplaced connected clusters whose rest fits ``room``, largest first."""
        out, j, step = [], sp, 64
        while j < conn_order.size and sum(x.size for x in out) < 8:
            w = conn_order[j:j + step]
            out.append(w[~done[w] & (csize[w] - offset[w] <= room)])
            j += step
            step *= 2
        return np.concatenate(out)[:8] if out else np.zeros(0, np.int64)

    while True:
        filler.reset()
        cands: list[np.ndarray] = []
        if carry >= 0:
            seed, carry = carry, -1
        else:
            while sp < conn_order.size and done[conn_order[sp]]:
                sp += 1
            seed = int(conn_order[sp]) if sp < conn_order.size else -1
        if seed < 0:
            if iso_pos >= iso_seq.size:
                break
            res = filler.fit(iso_seq[iso_pos:])
            placed(filler.add_fitted())
            reasons[res.reason or "compartments"] += 1
            iso_pos += res.k
            core += 1
            continue
        if not try_add(seed, partial=True):
            if filler.count == 0:  # check_network rules this out; kept as a guard
                v = int(rest(seed)[0])
                raise FitError(f"{graph.describe_compartment(v)}: does not fit an empty core; "
                               f"remedy: a chip with bigger cores")
            carry = seed if not done[seed] else -1
            core += 1
            continue
        while True:
            best = best_candidates()
            if best.size and try_add(int(best[0]), partial=False):
                continue
            # the first failed: judge the others against the same core at once
            ok = filler.fits_each([rest(d) for d in best[1:].tolist()])
            stash = best[:1 + (int(np.argmax(ok)) if ok.any() else ok.size)].tolist()  # tried and failed
            failed_at[stash] = aff[stash]
            if ok.any():
                try_add(int(best[1 + np.argmax(ok)]), partial=False)
                continue
            room = model.compartments - filler.count
            if room > 0 and iso_pos < iso_seq.size and not stash:
                res = filler.fit(iso_seq[iso_pos:])
                placed(filler.add_fitted())
                iso_pos += res.k
                room = model.compartments - filler.count
            if room > 0 and not stash:  # unrelated clusters that fit entirely, largest first
                other = unrelated(room)
                if other.size and try_add(int(other[0]), partial=False):
                    continue
                ok = filler.fits_each([rest(d) for d in other[1:].tolist()])
                if ok.any():
                    try_add(int(other[1 + np.argmax(ok)]), partial=False)
                    continue
            if room > 0:
                if core - first_core + 1 + cores_for(*left) <= k_allowed:
                    reasons["compartments"] += 1
                else:
                    split = stash[0] if stash else -1
                    if split < 0:
                        while sp < conn_order.size and done[conn_order[sp]]:
                            sp += 1
                        split = int(conn_order[sp]) if sp < conn_order.size else -1
                    if split >= 0:
                        try_add(split, partial=True)
                        if not done[split]:
                            carry = split
            else:
                reasons["compartments"] += 1
            break
        if cands:
            t = np.concatenate(cands)
            aff[t] = 0.0
            failed_at[t] = -1.0
            listed[t] = False
        core += 1
    return nc, core, reasons
