"""Refinement of a partition: single moves and pairwise swaps that lower the traffic objective.

Objective (the connectivity metric of the hypergraph whose nets are a source and its
targets; input sources have no pin of their own since their core is chosen afterwards)::

    traffic = sum over sources s of rate(s) * (lambda(s) - 1),
    lambda(s) = number of cores holding s (a compartment) or one of its targets

Each round, a random half of the movable compartments (seeded) picks the core it is most
connected to (summed rate of its synapse partners there) and computes the *exact* change
of the objective for moving there, from the pin counts ``phi[s, core]``::

    gain(v: A -> B) = sum over nets N containing v of rate(N) * ([phi_A(N) == 1] - [phi_B(N) == 0])

Moves with a positive gain are admitted per destination core, best first, while the
destination keeps room for compartments, synaptic memory and fan-in axons (new fan-in is
counted conservatively: the mover's sources not yet on the destination, departures not
credited).  Movers that found no room are paired with movers going the opposite way
between the same two cores (best with best) and swapped when the pair's summed gain is
positive and both cores stay within their synaptic-memory and fan-in limits; swaps keep the
compartment counts.  Because moves interact, the objective is re-evaluated after every
round (incrementally: the pin-count tables are updated for the movers' pins only) and a
round that does not lower it is undone; so is a round that breaks a core's fan-out limit.
At most ``rounds`` (10) rounds; it stops early below 0.1 % improvement or after two
fruitless rounds in a row.

Pin-count tables are dense ``(n + in_n) x K`` arrays; refinement is skipped when that
exceeds :data:`DENSE_LIMIT` entries.  The loops over pins (candidate gains, the
partners-per-core table, table updates) run in the compiled kernel (:mod:`mapper.kernel`)
when it is installed, else in numpy; both give the same numbers.
"""

from __future__ import annotations

import numpy as np

from . import kernel
from .graph import INT64_IDS_BYTES, MapGraph, gather_rows, row_positions, segment_ids
from .resources import ResourceModel, distinct_pair_counts

#: largest (sources x cores) table refinement keeps in memory (entries)
DENSE_LIMIT = 40_000_000


def group_cumsum(group: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Inclusive cumulative sum of ``x`` within runs of equal ``group`` (sorted)."""
    c = np.cumsum(x)
    if c.size == 0:
        return c
    first = np.empty(group.size, dtype=bool)
    first[0] = True
    np.not_equal(group[1:], group[:-1], out=first[1:])
    base = (c - x)[first]
    return c - base[np.cumsum(first) - 1]


def _partners(graph: MapGraph, r: np.ndarray | None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Synapse partners of every compartment among the compartments, as a CSR ``(ptr,
    partner, weight)``: row ``v`` lists v's sources (``s < n``, ``s != v``, in ``in_src``
    order, weight ``r[s]``), then v's targets (``t != v``, in ``out_dst`` order, weight
    ``r[v]``): the pins that pull v towards a core.  Built once per refinement, so that a
    round gathers one row per active compartment instead of filtering both pin lists.
    ``r`` None: no weights (None).  Partners are int64 up to
    :data:`~mapper.graph.INT64_IDS_BYTES`, else int32 when the ids fit.
    """
    n = graph.n
    t_in = segment_ids(graph.in_ptr)
    s_in = graph.in_src
    keep = (s_in < n) & (s_in != t_in)
    t_in, s_in = t_in[keep], s_in[keep]
    hi = int(graph.out_ptr[n])
    s_out = segment_ids(graph.out_ptr[:n + 1])
    t_out = graph.out_dst[:hi]
    keep = t_out != s_out
    s_out, t_out = s_out[keep], t_out[keep]
    del keep
    n_in = np.bincount(t_in, minlength=n)
    n_out = np.bincount(s_out, minlength=n)
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(n_in + n_out, out=ptr[1:])
    # row v: its n_in[v] sources at ptr[v].., then its n_out[v] targets
    in_before = np.cumsum(n_in) - n_in     # sources of rows < v
    out_before = np.cumsum(n_out) - n_out  # targets of rows < v
    at_in = np.arange(t_in.size, dtype=np.int64) + out_before[t_in]
    at_out = np.arange(s_out.size, dtype=np.int64) + (in_before + n_in)[s_out]
    narrow = n < 2**31 and 8 * int(ptr[-1]) > INT64_IDS_BYTES
    partner = np.empty(int(ptr[-1]), dtype=np.int32 if narrow else np.int64)
    partner[at_in], partner[at_out] = s_in, t_out
    if r is None:
        return ptr, partner, None
    weight = np.empty(int(ptr[-1]), dtype=np.float64)
    weight[at_in], weight[at_out] = r[s_in], r[s_out]
    return ptr, partner, weight


def _partner_pins(graph: MapGraph, us: np.ndarray, contiguous: bool = False
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pins between compartments ``us`` and their synapse partners (:func:`_partners`,
    in no particular order): ``(i, v, ws)`` per pin, ``us[i]``'s partner ``v`` and the
    source whose rate weighs the pin (``v`` for a source of ``us[i]``, ``us[i]`` itself
    for a target).  ``contiguous``: ``us`` is a range of ids (rows read as slices)."""
    n = graph.n

    def rows(ptr: np.ndarray, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if contiguous and us.size:
            lo, hi = int(us[0]), int(us[-1]) + 1
            owner = np.repeat(np.arange(us.size, dtype=np.int64), np.diff(ptr[lo:hi + 1]))
            return owner, data[ptr[lo]:ptr[hi]].astype(np.int64)
        at, owner = row_positions(ptr, us)
        return owner, data[at].astype(np.int64)

    i_in, v_in = rows(graph.in_ptr, graph.in_src)
    keep = (v_in < n) & (v_in != us[i_in])
    i_in, v_in = i_in[keep], v_in[keep]
    i_out, v_out = rows(graph.out_ptr, graph.out_dst)
    keep = v_out != us[i_out]
    i_out, v_out = i_out[keep], v_out[keep]
    return (np.concatenate([i_in, i_out]), np.concatenate([v_in, v_out]),
            np.concatenate([v_in, us[i_out]]))


class _Connections:
    """Summed rate of each compartment's synapse partners (:func:`_partners`) on each core.

    Exact case (every rate the same: partners counted; or whole-number rates): an
    ``(n, K)`` integer table built once from the graph's pins and updated as compartments
    move (a move touches the rows of the mover's partners only), when it takes at most
    :data:`~mapper.graph.INT64_IDS_BYTES`.  Otherwise each round sums the active
    compartments' partner rows (:func:`_partners`) afresh, as float sums in partner order.
    Both give the same numbers.
    """

    def __init__(self, graph: MapGraph, r: np.ndarray, nc: np.ndarray, K: int, uniform: bool,
                 exact: bool):
        self.g, self.K = graph, K
        n = graph.n
        dtype = np.int32 if uniform else np.int64
        self.rate = None if uniform else (r.astype(np.int64) if exact else r)  # None: counts
        self.table = None
        if exact and n * K * np.dtype(dtype).itemsize <= INT64_IDS_BYTES:
            self.table = np.zeros(n * K, dtype=dtype)
            if kernel.in_use():  # the compiled loop (mapper/kernel.py): same table
                kernel.refine_connections(graph, self.table, self.rate, core=nc)
                return
            # rows in blocks of ~4M pins, so the keys stay small next to the table
            pins = int(graph.in_ptr[n]) + int(graph.out_ptr[n])
            step = max(1, n * 2**22 // max(pins, 1))
            for lo in range(0, n, step):
                hi = min(n, lo + step)
                i, v, ws = _partner_pins(graph, np.arange(lo, hi, dtype=np.int64), contiguous=True)
                keys = i * K + nc[v]
                w = None if self.rate is None else self.rate[ws]
                self.table[lo * K:hi * K] = np.bincount(keys, weights=w, minlength=(hi - lo) * K)
        else:
            self.ptr, self.partner, self.weight = _partners(graph, None if uniform else r)

    def of(self, act: np.ndarray, nc: np.ndarray) -> np.ndarray:
        """``(act.size, K)``: row i is compartment ``act[i]``'s summed partners per core."""
        K = self.K
        if self.table is not None:
            return self.table.reshape(-1, K)[act]
        at, owner = row_positions(self.ptr, act)
        keys = nc[self.partner[at].astype(np.int64, copy=False)]
        keys += owner * K
        w = None if self.weight is None else self.weight[at]
        return np.bincount(keys, weights=w, minlength=act.size * K).reshape(act.size, K)

    def move(self, mv: np.ndarray, A: np.ndarray, B: np.ndarray) -> None:
        """Compartments ``mv`` moved from cores ``A`` to ``B`` (``move(mv, B, A)`` undoes it)."""
        if self.table is None or mv.size == 0:
            return
        if kernel.in_use():
            kernel.refine_connections(self.g, self.table, self.rate, rows=mv, A=A, B=B)
            return
        # a mover's partners v list it with the same weight as it lists them
        i, v, ws = _partner_pins(self.g, mv)
        row = v * self.K
        w = 1 if self.rate is None else self.rate[ws]
        np.subtract.at(self.table, row + A[i], w)
        np.add.at(self.table, row + B[i], w)


def _row_sums(x: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Sums of ``x`` over the runs ``bounds[i]:bounds[i + 1]`` (int64; float64 for float
    ``x``).  The additions within a run are not in order: exact for integers, and for
    floats holding integers whose partial sums stay below 2**53."""
    starts = bounds[:-1]
    out = np.zeros(starts.size, dtype=np.float64 if x.dtype.kind == "f" else np.int64)
    full = bounds[1:] > starts  # each non-empty run ends where the next one starts
    if full.any():
        out[full] = np.add.reduceat(x, starts[full], dtype=out.dtype)
    return out


def _run_rank(key: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within runs of equal (sorted) ``key``."""
    if key.size == 0:
        return key.copy()
    first = np.empty(key.size, dtype=bool)
    first[0] = True
    np.not_equal(key[1:], key[:-1], out=first[1:])
    idx = np.arange(key.size)
    return idx - idx[first][np.cumsum(first) - 1]


class _Tables:
    """Pin counts of a partition, flat ``(K * n_src,)`` int32 arrays indexed
    ``core * n_src + s`` (core-major: a compartment's sources, often neighbouring ids, read
    neighbouring entries).

    ``psi``: targets of source s on the core (all pins; its non-zeros are the cores'
    fan-in); ``phi``: the same without self-synapse pins, plus the source's own pin (its
    non-zeros per row are lambda).  ``lam`` (n_src,), ``obj`` (the objective) and
    ``fanin`` (K,) are kept in step.
    """

    def __init__(self, graph: MapGraph, ps: np.ndarray, pt: np.ndarray, has_self: np.ndarray,
                 r: np.ndarray, part: np.ndarray, K: int):
        n, n_src = graph.n, graph.n_src
        self.g, self.r, self.K, self.ns = graph, r, K, n_src
        psi = np.bincount(part[pt] * n_src + ps, minlength=n_src * K).astype(np.int32)
        phi = psi.copy()
        phi[part * n_src + np.arange(n, dtype=np.int64)] += (1 - has_self).astype(np.int32)
        self.psi, self.phi = psi, phi
        self.lam = np.count_nonzero(phi.reshape(K, n_src), axis=0).astype(np.int64)
        self.obj = self._objective()
        self.fanin = np.count_nonzero(psi.reshape(K, n_src), axis=1).astype(np.int64)

    def apply(self, mv: np.ndarray, A: np.ndarray, B: np.ndarray) -> None:
        """Update in place for compartments ``mv`` moving from cores ``A`` to ``B``.

        Cost proportional to the movers' pins; ``apply(mv, B, A)`` undoes it exactly.
        """
        ns = self.ns
        if kernel.in_use():  # the compiled loop (mapper/kernel.py): same tables
            kernel.refine_apply(self.g.in_ptr, self.g.in_src, mv, A, B, self.psi, self.phi, self.fanin, self.lam)
            self.obj = self._objective()
            return
        srcs, owner = gather_rows(self.g.in_ptr, self.g.in_src, mv)
        s = srcs.astype(np.int64)
        kA, kB = A[owner] * ns + s, B[owner] * ns + s
        self.fanin += _scatter(self.psi, kA, kB, ns, per_source=False)
        traffic = s != mv[owner]
        dl = _scatter(self.phi, np.concatenate([kA[traffic], A * ns + mv]),
                      np.concatenate([kB[traffic], B * ns + mv]), ns, per_source=True)
        self.lam += dl
        self.obj = self._objective()

    def _objective(self) -> float:
        # numpy's own sum (not BLAS's dot): its rounding does not depend on the host's threads
        return float((self.r * np.maximum(self.lam - 1, 0)).sum())


def _scatter(table: np.ndarray, minus: np.ndarray, plus: np.ndarray, n_src: int, per_source: bool
             ) -> np.ndarray:
    """``table[minus] -= 1; table[plus] += 1`` (repeats summed) on a :class:`_Tables` table;
    returns the change in the number of non-zero entries per source (``per_source``, length
    n_src) or per core (length K)."""
    packed = np.concatenate([minus << 1, (plus << 1) | 1])  # low bit: +1 (1) or -1 (0)
    packed.sort()
    keys = packed >> 1
    first = np.empty(keys.size, dtype=bool)
    if keys.size:
        first[0] = True
        np.not_equal(keys[1:], keys[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    u = keys[starts]
    runs = np.diff(np.append(starts, keys.size))
    net = 2 * np.add.reduceat(packed & 1, starts) - runs if starts.size else packed[:0]
    before = table[u] > 0
    table[u] += net.astype(table.dtype)
    d = (table[u] > 0).astype(np.int64) - before
    if per_source:
        return np.bincount(u % n_src, weights=d, minlength=n_src).astype(np.int64)
    return np.bincount(u // n_src, weights=d, minlength=table.size // n_src).astype(np.int64)


def refine(graph: MapGraph, model: ResourceModel, nc: np.ndarray, n_cores: int, r: np.ndarray,
           movable: np.ndarray, first_free: int, rng: np.random.Generator, rounds: int = 10,
           debug: bool = False) -> np.ndarray:
    """Improve partition ``nc`` (cores ``first_free..K-1`` may change); returns a new array."""
    n, n_src, K = graph.n, graph.n_src, int(n_cores)
    if K - first_free < 2 or n_src * K > DENSE_LIMIT or n == 0:
        return nc
    nc = np.asarray(nc, dtype=np.int64).copy()
    pin_s, pin_t = graph.pin_arrays()
    ps = pin_s.astype(np.int64)
    selfpin = ps == pin_t
    has_self = np.zeros(n, dtype=np.int64)
    has_self[ps[selfpin]] = 1
    del selfpin
    dest_ok = np.zeros(K, dtype=bool)
    dest_ok[first_free:] = True
    any_self = bool(has_self.any())
    insyn = model.compartment_bits(graph)  # synaptic-memory bits per compartment
    tab = _Tables(graph, ps, pin_t, has_self, r, nc, K)
    del ps, pin_s, pin_t
    # every rate the same and positive (e.g. none given): the most-connected core is the
    # one with the most partners (equal counts give equal sums, more partners a larger
    # sum), so partners are counted instead of their rates summed: same choice, no weights
    uniform = bool(r.min() == r.max() > 0)
    # whole-number rates (e.g. none given: all 1): every partial sum of gains is an exact
    # integer, so a candidate's gain is summed over its pins in any order (one cumulative
    # sum) with the same result as the rate-weighted count (np.bincount) of the general case
    unit = uniform and r[0] == 1.0
    whole = bool(np.all(r == np.rint(r))) and float(r.max()) * max(graph.n_pins, 1) < 2.0**53
    conns = _Connections(graph, r, nc, K, uniform, exact=uniform or whole)
    failures = 0
    for _ in range(rounds):
        count = np.bincount(nc, minlength=K).astype(np.int64)
        syn = np.bincount(nc, weights=insyn, minlength=K).astype(np.int64)
        fanin = tab.fanin.copy()
        act = np.flatnonzero(movable & (rng.random(n) < 0.5))
        na = act.size
        if na == 0:
            break
        # most-connected other core of each (its synapse partners' cores, weighted by rate)
        conn = conns.of(act, nc)
        conn[np.arange(na), nc[act]] = -1
        conn[:, ~dest_ok] = -1
        bcol = np.argmax(conn, axis=1)
        ok = conn[np.arange(na), bcol] > 0
        del conn
        cand, B = act[ok], bcol[ok]
        if cand.size == 0:
            break
        A = nc[cand]
        # exact gain of each candidate move A -> B, over its in-pins (sources' nets, self pins
        # excepted: they count as its own net) and its own net; conservative new fan-in on
        # the destination: sources not yet there
        if kernel.in_use():  # the compiled loop (mapper/kernel.py): same numbers
            gain, newf = kernel.refine_gains(graph.in_ptr, graph.in_src, cand, A, B, tab.phi, tab.psi, r)
        else:
            gain, newf = _gains(graph, tab, r, cand, A, B, any_self, unit, whole)
        moved_v, moved_to = [], []
        # 1. single moves into cores with room, best first
        pos = np.flatnonzero(gain > 1e-12)
        order = pos[np.lexsort((-gain[pos], B[pos]))]
        dst = B[order]
        c1 = group_cumsum(dst, np.ones(order.size, dtype=np.int64))
        cs = group_cumsum(dst, insyn[cand[order]])
        cf = group_cumsum(dst, newf[order])
        adm = ((count[dst] + c1 <= model.compartments) & (fanin[dst] + cf <= model.fanin)
               & (model.memory(syn[dst] + cs, fanin[dst] + cf) <= model.memory_bits))
        single = order[adm]
        if single.size:
            moved_v.append(cand[single])
            moved_to.append(B[single])
            np.add.at(count, B[single], 1)
            np.add.at(syn, B[single], insyn[cand[single]])
            np.add.at(fanin, B[single], newf[single])
        # 2. swaps between movers going opposite ways between the same two cores
        rest = np.ones(cand.size, dtype=bool)
        rest[single] = False
        rest = np.flatnonzero(rest)
        sw = _pair_swaps(rest, A, B, gain, K)
        i0, i1 = sw[:, 0], sw[:, 1]
        while i0.size:  # drop swaps touching a core over its limits until none is
            inc = np.concatenate([i0, i1])  # index into cand of each swapped mover
            dsyn = (np.bincount(B[inc], weights=insyn[cand[inc]], minlength=K)
                    - np.bincount(A[inc], weights=insyn[cand[inc]], minlength=K)).astype(np.int64)
            dfan = np.bincount(B[inc], weights=newf[inc], minlength=K).astype(np.int64)
            bad = ((fanin + dfan > model.fanin)
                   | (model.memory(syn + np.maximum(dsyn, 0), fanin + dfan) > model.memory_bits))
            if not bad.any():
                moved_v += [cand[i0], cand[i1]]
                moved_to += [B[i0], B[i1]]
                break
            keep = ~(bad[A[i0]] | bad[B[i0]])
            i0, i1 = i0[keep], i1[keep]
        if not moved_v:
            failures += 1
            if failures >= 2:
                break
            continue
        mv, to = np.concatenate(moved_v), np.concatenate(moved_to)
        trial = nc.copy()
        trial[mv] = to
        if model.fanout < K and _fanout_exceeded(graph, model, trial, K):
            failures += 1
            if failures >= 2:
                break
            continue
        old_obj = tab.obj
        tab.apply(mv, nc[mv], to)
        conns.move(mv, nc[mv], to)
        if debug:
            print(f"refine: {single.size} moves + {(mv.size - single.size) // 2} swaps, "
                  f"objective {old_obj:.0f} -> {tab.obj:.0f}")
        if tab.obj < old_obj - 1e-9 * max(1.0, abs(old_obj)):
            improvement = (old_obj - tab.obj) / max(old_obj, 1e-12)
            nc = trial
            failures = 0
            if improvement < 1e-3:
                break
        else:
            tab.apply(mv, to, nc[mv])
            conns.move(mv, to, nc[mv])
            failures += 1
            if failures >= 2:
                break
    return nc


def _gains(graph: MapGraph, tab: _Tables, r: np.ndarray, cand: np.ndarray, A: np.ndarray, B: np.ndarray,
           any_self: bool, unit: bool, whole: bool) -> tuple[np.ndarray, np.ndarray]:
    """Exact gain (float64) and conservative new fan-in (int64) of each move ``cand: A -> B``
    (see :func:`refine`), summed over the candidates' in-pins with numpy."""
    n_src = graph.n_src
    at, oc = row_positions(graph.in_ptr, cand)
    sc = graph.in_src[at].astype(np.int64)
    del at
    deg = graph.in_ptr[cand + 1] - graph.in_ptr[cand]
    bounds = np.zeros(cand.size + 1, dtype=np.int64)
    np.cumsum(deg, out=bounds[1:])
    at_a = np.repeat(A * n_src, deg)
    at_a += sc
    at_b = np.repeat(B * n_src, deg)
    at_b += sc
    d = (tab.phi[at_a] == 1).view(np.int8) - (tab.phi[at_b] == 0).view(np.int8)
    del at_a
    if any_self:
        d[sc == cand[oc]] = 0
    if unit:
        gain = _row_sums(d, bounds).astype(np.float64)
    elif whole:
        gain = _row_sums(r[sc] * d, bounds)
    else:
        gain = np.bincount(oc, weights=r[sc] * d, minlength=cand.size).astype(np.float64, copy=False)
    gain += r[cand] * ((tab.phi[A * n_src + cand] == 1).astype(np.float64) - (tab.phi[B * n_src + cand] == 0))
    del d
    # conservative new fan-in on the destination: sources not yet there
    newf = _row_sums((tab.psi[at_b] == 0).view(np.int8), bounds)
    return gain, newf


def _pair_swaps(idx: np.ndarray, A: np.ndarray, B: np.ndarray, gain: np.ndarray, K: int) -> np.ndarray:
    """Pairs (i, j) of movers i: a -> b and j: b -> a, best with best, summed gain > 0."""
    if idx.size < 2:
        return np.zeros((0, 2), dtype=np.int64)
    a, b, g = A[idx], B[idx], gain[idx]
    grp = np.minimum(a, b) * K + np.maximum(a, b)
    d = (a > b).astype(np.int64)
    order = np.lexsort((-g, d, grp))
    idx, grp, d, g = idx[order], grp[order], d[order], g[order]
    rank = _run_rank(grp * 2 + d)
    key = grp * (idx.size + 1) + rank
    k0, k1 = key[d == 0], key[d == 1]
    i0, i1 = idx[d == 0], idx[d == 1]
    g0, g1 = g[d == 0], g[d == 1]
    if k0.size == 0 or k1.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    pos = np.searchsorted(k1, k0)
    pos_c = np.minimum(pos, k1.size - 1)
    match = (pos < k1.size) & (k1[pos_c] == k0)
    j0 = np.flatnonzero(match)
    j1 = pos_c[match]
    good = g0[j0] + g1[j1] > 1e-12
    return np.stack([i0[j0[good]], i1[j1[good]]], axis=1)


def _fanout_exceeded(graph: MapGraph, model: ResourceModel, nc: np.ndarray, K: int) -> bool:
    """Whether some core's compartments send to more cores than its fan-out allows."""
    n = graph.n
    o_s = segment_ids(graph.out_ptr[:n + 1])
    dst = graph.out_dst[:o_s.size]
    fan = distinct_pair_counts(nc[o_s], nc[dst], K, K)
    return bool((fan > model.fanout).any())
