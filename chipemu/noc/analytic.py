"""Closed-form NoC model for large sweeps: numpy only, no event simulation.

Traffic counters (packets, hops by direction, packets per link, per core in/out, trains,
chunks) are computed exactly and equal the SimPy model's.  Timing (``docs/noc.md``):

* zero load: train ``t`` (``c`` packets) is ready to inject at ``I`` = ``message_out`` x
  packets its source core injects before it; its tail is delivered at
  ``own = I + L1 + (c - 1) * period`` (``L1`` = latency of one packet alone,
  ``period`` = its slowest stage);
* contention: every link (and every ejection port, if ``time.message_in > 0``) is a
  first-come-first-served server.  A train reaches it at its free-flow time (no delay
  upstream) and holds it for ``(c - 1) * max(message_out, P_up) + P`` seconds (``P``
  = the link's period, ``1/bandwidth`` of an on-chip or a chip-to-chip link; ``P_up`` =
  the largest period of the route's links up to and including this one); its wait ``w`` there follows from the Lindley recursion
  (:func:`fifo_waits`).  The train is delayed by its largest wait over its route:
  delivery of the tail ``= own + max w``, and every packet of the train waits ``max w``.

No back-pressure, no propagation of delays to later links: exact for trains that do not
meet, close at low load, and low at high load (see ``docs/noc.md`` for measured
numbers).  ``stalls`` is always 0.

The model carries no state from one step to the next (only cumulative counters), so
:meth:`AnalyticNoc.run_steps` evaluates many steps in one vectorised pass; its results
are bit-identical to calling :meth:`~chipemu.noc.base.NocBase.step` once per step, and
``step`` itself is the one-step case of the same code.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from chipemu.errors import ChipemuError
from chipemu.noc.base import NocBase, TrafficCounts, zero_load
from chipemu.noc.result import _MAX_FIELDS, NocStepResult
from chipemu.noc.traffic import Traffic, _int_array

__all__ = ["AnalyticNoc", "fifo_waits", "step_results"]

#: NocStepResult fields that are floats (seconds); all others are integer counts
_FLOAT_FIELDS = tuple(f.name for f in fields(NocStepResult) if f.type in (float, "float"))

#: steps x links cells of the per-step link loads evaluated in one pass (memory bound)
_MAX_STEP_LINK_CELLS = 1 << 22
#: trains + route hops evaluated in one pass (see AnalyticNoc._blocks)
_BLOCK_ENTRIES = 16384
#: largest grid of head arrival times kept per route table (see AnalyticNoc._arrivals)
_MAX_ARRIVAL_GRID = 1 << 22
#: up to this many core pairs (K * K) the routes of all pairs are computed once per model
_MAX_PAIR_TABLE = 1 << 16


def _segment_starts(key: np.ndarray) -> np.ndarray:
    """Indices where a key array (grouped: equal keys adjacent) starts a new run."""
    new = np.empty(key.size, dtype=bool)
    new[:1] = True
    np.not_equal(key[1:], key[:-1], out=new[1:])
    return np.flatnonzero(new)


def _run_lengths(starts: np.ndarray, n: int) -> np.ndarray:
    """Lengths of the runs that start at ``starts`` in an array of length n."""
    return np.diff(np.append(starts, n))


def _dense_rank(values: np.ndarray, kind: str | None = None) -> np.ndarray:
    """Rank of every value among the distinct values (equal values, equal ranks)."""
    by_value = np.argsort(values, kind=kind)  # ties in any order: they get one rank anyway
    ordered = values[by_value]
    rank = np.empty(values.size, dtype=np.int64)
    rank[by_value] = np.cumsum(np.r_[False, ordered[1:] != ordered[:-1]])
    return rank


def _fifo_order(server: np.ndarray, arrival: np.ndarray,
                arrival_rank: np.ndarray | None = None) -> np.ndarray:
    """``np.lexsort((arrival, server))``: by server, then arrival, ties in input order.

    For large inputs the same permutation comes from one sort of a unique integer key
    ``(server, dense rank of arrival, input index)`` (numpy sorts int64 several times
    faster than lexsort's two stable passes).  Falls back to lexsort if the key would
    not fit in int64.
    """
    n = server.size
    if n < 4096:
        return np.lexsort((arrival, server))
    rank = _dense_rank(arrival) if arrival_rank is None else arrival_rank
    n_rank = int(rank.max()) + 1
    lo, hi = int(server.min()), int(server.max())
    if (hi - lo + 1) * n_rank * n >= 2**62:
        return np.lexsort((arrival, server))
    key = ((server - lo) * n_rank + rank) * n + np.arange(n, dtype=np.int64)
    return np.sort(key) % n  # the input index is the key's last digit


def fifo_waits(server: np.ndarray, arrival: np.ndarray, work: np.ndarray, *,
               segment_servers: int | None = None, arrival_rank: np.ndarray | None = None) -> np.ndarray:
    """Waiting time (s) of jobs at first-come-first-served servers (Lindley recursion).

    Job ``k`` arrives at ``server[k]`` at ``arrival[k]`` (s) and needs ``work[k]`` (s) of
    it.  Per server, in arrival order: ``start_k = max(arrival_k, start_{k-1} +
    work_{k-1})``, solved in closed form as ``start_k = W_k + max_{j<=k}(arrival_j -
    W_j)`` with ``W_k`` the work of the earlier jobs.  Returns ``start - arrival``.

    ``segment_servers`` evaluates several independent batches in one call, bit for bit
    as separate calls: server ids are ``segment * segment_servers + s`` (``0 <= s <
    segment_servers``).  ``W_k`` is a difference of running sums of the work over the
    batch, so the running sum restarts at every segment.  ``arrival_rank`` (optional):
    the dense rank of every arrival time among the distinct ones, if the caller has it.
    """
    if server.size == 0:
        return np.zeros(0)
    order = _fifo_order(server, arrival, arrival_rank)  # ties: by input order
    srv, a, w = server[order], arrival[order], work[order]
    starts = _segment_starts(srv)  # first job of each server
    group = np.repeat(np.arange(starts.size), _run_lengths(starts, srv.size))
    if segment_servers is None:
        running = np.cumsum(w)
    else:  # np.cumsum per segment (contiguous after the sort): the sums of separate calls
        running = np.empty_like(w)
        first, last = int(srv[0]) // segment_servers, int(srv[-1]) // segment_servers
        bounds = np.searchsorted(srv, np.arange(first, last + 2) * segment_servers).tolist()
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            if hi > lo:
                np.cumsum(w[lo:hi], out=running[lo:hi])
    before = running - w
    # work of the earlier jobs at the same server
    before = before - np.repeat(before[starts], _run_lengths(starts, srv.size))
    x = a - before
    # running maximum of x inside each server, exactly and in one pass: numpy compares
    # complex numbers lexicographically (real part first), and the group number (the real
    # part) grows along the sorted jobs, so the running maximum of group + i*x is
    # group + i*(max of x over the group's jobs so far).  Group numbers are exact in
    # float64 (< 2**53) and x is carried unchanged in the imaginary part.
    z = np.empty(x.size, dtype=np.complex128)
    z.real = group
    z.imag = x
    best = np.maximum.accumulate(z).imag
    waits = np.empty_like(a)
    waits[order] = before + best - a
    return np.maximum(waits, 0.0)


def _zero_steps(n_steps: int) -> dict:
    """``{field: zeros(n_steps)}`` for every :class:`NocStepResult` field (float or int64)."""
    return {f.name: np.zeros(n_steps, dtype=float if f.name in _FLOAT_FIELDS else np.int64)
            for f in fields(NocStepResult)}


def step_results(per_step: dict) -> list[NocStepResult]:
    """The :class:`NocStepResult` of every step from :meth:`AnalyticNoc.run_steps`'s arrays."""
    n = len(per_step["drain_s"])
    cols = {k: (list(map(float, v)) if k in _FLOAT_FIELDS else list(map(int, v)))
            for k, v in per_step.items()}
    return [NocStepResult(**{k: cols[k][i] for k in cols}) for i in range(n)]


class AnalyticNoc(NocBase):
    """Closed-form NoC model (see the module doc); same interface as :class:`SimpyNoc`,
    plus :meth:`run_steps` for many steps at once."""

    name = "analytic"

    def __init__(self, chip, core_router, *, chunk_packets: int | None = None):
        super().__init__(chip, core_router, chunk_packets=chunk_packets)
        self._pair_cache = None  # routes of all core pairs (small K), built on first use
        self.link_latency = self.timing.link_latency_s(self.topology)
        self.link_period = self.timing.link_periods_s(self.topology)

    # ------------------------------------------------------------------ interface
    def _run(self, tr: Traffic, counts: TrafficCounts) -> NocStepResult:
        """One step (called by :meth:`step`): the one-step case of :meth:`_evaluate`."""
        step = np.zeros(tr.n_trains, dtype=np.int64)
        per_step = _zero_steps(1)
        counts.link += self._evaluate(step, tr.src, tr.dst, tr.count, per_step)[0]
        counts.out += self._core_packets(tr.src, tr.count)
        counts.into += self._core_packets(tr.dst, tr.count)
        per_step.pop("self_packets")  # added by step()
        return step_results(per_step)[0]

    def run_steps(self, step, src_core, dst_core, count, n_steps: int | None = None) -> dict:
        """Carry the trains of ``n_steps`` steps at once; same results as :meth:`step` per step.

        Train ``i`` (``src_core[i]`` -> ``dst_core[i]``, ``count[i]`` packets) belongs to
        step ``step[i]`` in ``0 .. n_steps-1`` (default: ``max(step) + 1``).  Trains may
        come in any order; per step they are checked, merged and ordered as by
        :meth:`step`.  Returns ``{field: (n_steps,) array}`` for every
        :class:`NocStepResult` field (:func:`step_results` turns it into the per-step
        results); the cumulative counters (``link_packets``, ``core_packets_out/in``,
        ``totals``) end up exactly as after ``n_steps`` calls of :meth:`step` -- floats
        bit for bit, totals summed in step order.

        Raises :class:`~chipemu.errors.ChipemuError` on bad input.
        """
        step = _int_array("step", step)
        if n_steps is None:
            n_steps = int(step.max()) + 1 if step.size else 0
        if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 0:
            raise ChipemuError(f"NoC run_steps: n_steps = {n_steps!r} is invalid (allowed: int >= 0)")
        n_steps = int(n_steps)
        step, src, dst, cnt, self_packets = self._steps_traffic(step, src_core, dst_core, count, n_steps)
        per_step = _zero_steps(n_steps)
        for lo_step, hi_step in self._blocks(step, src, dst, n_steps):
            lo, hi = np.searchsorted(step, [lo_step, hi_step]).tolist()  # the block's trains
            block = {k: v[lo_step:hi_step] for k, v in per_step.items()}  # views, filled in
            link = self._evaluate(step[lo:hi] - lo_step, src[lo:hi], dst[lo:hi], cnt[lo:hi], block)
            self.link_packets += link.sum(axis=0)
        self.core_packets_out += self._core_packets(src, cnt)
        self.core_packets_in += self._core_packets(dst, cnt)
        per_step["self_packets"] = self_packets
        self._add_totals(per_step)
        return per_step

    # ------------------------------------------------------------------ helpers
    def _steps_traffic(self, step, src_core, dst_core, count, n_steps: int):
        """Check the trains of many steps, as :func:`~chipemu.noc.traffic.make_traffic`
        does for one, and order them by (step, source, destination).

        Returns ``(step, src, dst, count, self_packets)``: merged trains between different
        cores with count > 0, and the ``(n_steps,)`` self-addressed packets per step.
        """
        src, dst, cnt = (_int_array(n, v) for n, v in
                         (("src_core", src_core), ("dst_core", dst_core), ("count", count)))
        if not (step.size == src.size == dst.size == cnt.size):
            raise ChipemuError(f"NoC run_steps: step, src_core, dst_core and count have lengths {step.size}, "
                               f"{src.size}, {dst.size}, {cnt.size} (allowed: the same length)")
        K = self.n_cores
        for name, a, lo, hi in (("step", step, 0, n_steps - 1), ("src_core", src, 0, K - 1),
                                ("dst_core", dst, 0, K - 1), ("count", cnt, 0, None)):
            if a.size and (a.min() < lo or (hi is not None and a.max() > hi)):
                i = int(np.flatnonzero((a < lo) | (a > hi if hi is not None else False))[0])
                allowed = f"{lo}..{hi}" if hi is not None else f">= {lo}"
                raise ChipemuError(f"NoC run_steps: {name}[{i}] = {a[i]} out of range (allowed: {allowed})")
        own = src == dst
        self_packets = np.zeros(n_steps, dtype=np.int64)
        np.add.at(self_packets, step[own], cnt[own])
        keep = ~own & (cnt > 0)
        if not keep.all():
            step, src, dst, cnt = step[keep], src[keep], dst[keep], cnt[keep]
        key = (step * K + src) * K + dst
        if key.size and not (key[1:] > key[:-1]).all():  # not yet sorted and distinct: merge
            key, inverse = np.unique(key, return_inverse=True)
            merged = np.zeros(key.size, dtype=np.int64)
            np.add.at(merged, inverse.reshape(-1), cnt)
            cnt = merged
            step, pair = np.divmod(key, K * K)
            src, dst = np.divmod(pair, K)
        return step, src, dst, cnt, self_packets

    def _blocks(self, step: np.ndarray, src: np.ndarray, dst: np.ndarray, n_steps: int) -> list:
        """``[(first step, end step), ...]``: the steps with trains, cut into blocks of about
        :data:`_BLOCK_ENTRIES` trains + route hops and at most :data:`_MAX_STEP_LINK_CELLS`
        steps x links.

        Small blocks keep every temporary array of :meth:`_evaluate` small: they stay in
        cache and the allocator reuses their memory instead of mapping fresh pages.
        Measured on the 200-step benchmark (bench/chip.py, 480k entries): one block
        ~50 ms, blocks of 8k / 16k entries ~28 / ~25 ms, 64k and up ~40-50 ms.
        """
        if step.size == 0:
            return []
        table = self._all_pairs()
        if table is not None:
            hops = table["n_hops"][src * self.n_cores + dst]
        else:
            ew, ns, chip = self.topology.hop_counts(self.core_router[src], self.core_router[dst])
            hops = ew + ns + chip
        cost = np.bincount(step, weights=hops + 1, minlength=n_steps)  # trains + hops per step
        max_steps = max(1, _MAX_STEP_LINK_CELLS // self.topology.n_links)
        # block of each step = (cost of the earlier steps // _BLOCK_ENTRIES, step // max_steps):
        # both parts are non-decreasing, so a block starts wherever one of them changes
        by_cost = (np.cumsum(cost) - cost) // _BLOCK_ENTRIES
        by_steps = np.arange(n_steps) // max_steps
        new = np.r_[True, (by_cost[1:] != by_cost[:-1]) | (by_steps[1:] != by_steps[:-1])]
        bounds = np.r_[np.flatnonzero(new), n_steps].tolist()
        return [(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:]) if cost[lo:hi].any()]

    def _pair_table(self, src: np.ndarray, dst: np.ndarray, classes: bool = True) -> dict:
        """Everything the model needs of the core pairs ``(src[i], dst[i])``.

        Per pair: ``n_hops``, zero-load ``first`` latency and ``period`` (s, from
        :func:`~chipemu.noc.base.zero_load`), and its XY route as CSR: hop ``k`` is entry
        ``ptr[i] + k`` with its ``link`` and its class ``cls``: the index of its ``(done_s,
        hop_s)`` among the distinct ones (``cls_done_s``, ``cls_hop_s``), with ``hop_s``
        the hop's latency and ``done_s`` the running sum of the hop latencies up to and
        including it (np.cumsum along the route, as in a one-step evaluation, so the
        floats are identical).  Per entry also the link's period ``link_period`` and
        ``up_period``, the largest link period of the route up to and including it (s).
        ``chip_hops``: chip-to-chip crossings per pair.
        """
        t, topo = self.timing, self.topology
        sr, dr = self.core_router[src], self.core_router[dst]
        ew, ns, chip = topo.hop_counts(sr, dr)
        pairs = Traffic(src=src, dst=dst, count=np.ones(src.size, dtype=np.int64), src_router=sr,
                        dst_router=dr, hops_ew=ew, hops_ns=ns, hops_chip=chip, self_packets=0)
        first, period = zero_load(pairs, t)
        links, n_hops = topo.routes(sr, dr)
        on_route = links >= 0
        hop = np.zeros(links.shape)
        hop[on_route] = self.link_latency[links[on_route]]
        link_period = np.zeros(links.shape)
        link_period[on_route] = self.link_period[links[on_route]]
        ptr = np.zeros(src.size + 1, dtype=np.int64)
        np.cumsum(n_hops, out=ptr[1:])
        hop_s, done_s = hop[on_route], np.cumsum(hop, axis=1)[on_route]
        table = {"n_hops": n_hops, "first": first, "period": np.broadcast_to(period, src.shape),
                 "chip_hops": np.asarray(chip, dtype=np.int64).reshape(-1),
                 "link_period": link_period[on_route],
                 "up_period": np.maximum.accumulate(link_period, axis=1)[on_route],
                 "ptr": ptr, "link": links[on_route]}
        if not classes:  # one block's table: the arrival times are computed per entry (_arrivals)
            table["done_s"], table["hop_s"] = done_s, hop_s
            return table
        # the distinct (done_s, hop_s) of the route entries ("prefix classes"), found as
        # the distinct complex numbers done_s + i * hop_s (both parts compared exactly)
        pair_value = np.empty(done_s.size, dtype=np.complex128)
        pair_value.real, pair_value.imag = done_s, hop_s
        distinct, cls = np.unique(pair_value, return_inverse=True)
        table.update(cls=cls.reshape(-1), cls_done_s=distinct.real.copy(), cls_hop_s=distinct.imag.copy())
        return table

    def _all_pairs(self) -> dict | None:
        """The :meth:`_pair_table` of all K x K core pairs (pair ``src * K + dst``), built
        once per model; None if there are more than :data:`_MAX_PAIR_TABLE` pairs."""
        K = self.n_cores
        if self._pair_cache is None and K * K <= _MAX_PAIR_TABLE:
            every = np.arange(K * K)
            self._pair_cache = self._pair_table(every // K, every % K)
        return self._pair_cache

    def _pairs(self, src: np.ndarray, dst: np.ndarray) -> tuple[dict, np.ndarray]:
        """``(table, row)``: a :meth:`_pair_table` holding the pair of every train and the
        train's row in it: the table of all pairs if there are few cores, else a table of
        the distinct pairs of these trains."""
        K = self.n_cores
        pair = src * K + dst
        table = self._all_pairs()
        if table is not None:
            return table, pair
        distinct, row = np.unique(pair, return_inverse=True)
        return self._pair_table(distinct // K, distinct % K, classes=False), row.reshape(-1)

    def _evaluate(self, step: np.ndarray, src: np.ndarray, dst: np.ndarray, c: np.ndarray, per_step: dict):
        """The model on canonical trains of ``n_steps`` steps: train i goes from core
        ``src[i]`` to ``dst[i]`` with ``c[i]`` packets in step ``step[i]``, the trains
        ordered by step, then source, then destination.

        Fills ``per_step`` (``{field: (n_steps,) array}`` of the :class:`NocStepResult`
        fields, zeros on entry) and returns the packets per step and link ``(n_steps,
        n_links)``.  Every float is the one of a one-step evaluation: the arithmetic is
        elementwise per train or route hop, running sums restart at every step and
        per-step sums are taken per step.
        """
        t = self.timing
        n_steps = per_step["drain_s"].size
        n_trains, n_links, n_cores = c.size, self.topology.n_links, self.n_cores
        table, pair = self._pairs(src, dst)
        n_hops = table["n_hops"][pair]
        first, period = table["first"][pair], table["period"][pair]

        # every (train, hop), train by train, in route order: entry ptr[pair] + k of the table
        hop_start = np.cumsum(n_hops) - n_hops
        n_entries = int(hop_start[-1] + n_hops[-1]) if n_trains else 0
        entry = np.repeat(table["ptr"][pair] - hop_start, n_hops) + np.arange(n_entries)
        row = np.repeat(np.arange(n_trains), n_hops)  # train of each entry
        route_links = table["link"][entry]
        step_row = step[row]
        server = step_row * n_links + route_links  # (step, link) of each entry

        # packets per (step, link) (float weights: exact for counts below 2**53)
        link = np.bincount(server, weights=c[row], minlength=n_steps * n_links)
        link = link.astype(np.int64).reshape(n_steps, n_links)

        # I: nominal injection start (s) = inject_s x packets the source core injects
        # before the train in the same step (trains are in canonical order)
        before = np.cumsum(c) - c
        starts = _segment_starts(step * n_cores + src)
        packets_before = before - np.repeat(before[starts], _run_lengths(starts, n_trains))
        ready = t.inject_s * packets_before
        own = ready + first + (c - 1) * period    # zero-load delivery of the tail, s

        # free-flow arrival of each train's head at each link of its route (s):
        # ready + inject_s + the latency of the hops before this one
        arrive, arrive_rank = self._arrivals(packets_before[row], table, entry)
        # seconds a train holds a link / the ejection port (its packets stream through)
        upstream_period = np.maximum(t.inject_s, table["up_period"][entry])
        link_work = (c[row] - 1) * upstream_period + table["link_period"][entry]
        eject_work = (c - 1) * period + t.eject_s
        # one server per (step, link); waits are >= 0, so a train's largest wait over its
        # route is the maximum over its hops, and 0 without hops
        wait_hop = fifo_waits(server, arrive, link_work, segment_servers=n_links,
                              arrival_rank=arrive_rank)
        wait = np.zeros(n_trains)
        np.maximum.at(wait, row, wait_hop)
        if t.eject_s > 0:
            eject_arrive = ready + first - t.eject_s
            wait = np.maximum(wait, fifo_waits(step * n_cores + dst, eject_arrive, eject_work,
                                               segment_servers=n_cores))

        # every packet of a train is delayed by its wait at its most contended stage
        done = own + wait
        head_lat = first + wait
        tail_lat = done - (ready + (c - 1) * t.inject_s)

        # per-step figures: maxima and integer sums by segment; float sums with np.sum
        # over each step's slice (the pairwise summation of a one-step evaluation)
        seg = _segment_starts(step)
        at = step[seg]
        bounds = list(zip(seg.tolist(), seg[1:].tolist() + [n_trains]))
        queue = c * wait
        lat = c * (head_lat + tail_lat)
        per_step["drain_s"][at] = np.maximum.reduceat(done, seg)
        per_step["queue_delay_s"][at] = [queue[lo:hi].sum() for lo, hi in bounds]
        per_step["latency_sum_s"][at] = [lat[lo:hi].sum() / 2 for lo, hi in bounds]
        per_step["max_latency_s"][at] = np.maximum(np.maximum.reduceat(head_lat, seg),
                                                   np.maximum.reduceat(tail_lat, seg))
        packets = np.add.reduceat(c, seg)
        for name in ("packets", "injected", "delivered"):
            per_step[name][at] = packets
        per_step["trains"][at] = _run_lengths(seg, n_trains)
        per_step["chunks"][at] = np.add.reduceat(-(-c // self.chunk_packets), seg)
        per_step["hops"][:] = link.sum(axis=1)
        per_step["hops_ns"][:] = link[:, self.topology.link_is_ns].sum(axis=1)
        per_step["hops_interchip"][:] = link[:, self.link_is_chip].sum(axis=1)
        per_step["hops_ew"][:] = per_step["hops"] - per_step["hops_ns"] - per_step["hops_interchip"]
        crossing = table["chip_hops"][pair] > 0
        per_step["interchip_packets"][at] = np.add.reduceat(np.where(crossing, c, 0), seg)
        per_step["max_link_packets"][:] = link.max(axis=1) if n_links else 0
        return link

    def _arrivals(self, packets_before: np.ndarray, table: dict, entry: np.ndarray):
        """Head arrival time (s) at route entries, and its dense rank among the distinct ones.

        ``arrive = inject_s * P + inject_s + done_s - hop_s`` (left to right) with ``P``
        the packets the source core injects before the train and ``(done_s, hop_s)`` the
        entry's prefix class, so it is a function of ``(class, P)``.  The table keeps it
        on a grid of all classes x ``P = 0 .. n_p-1`` with the dense ranks of its values
        (each class's row is sorted in P, so the sort merges a few sorted runs); entries
        only look them up.  For a grid too large to keep, and for the table of one block's
        pairs (many cores: it has no classes), the times are computed directly per entry
        (the same expression, so the same floats) and the rank is None (fifo_waits then
        ranks them).
        """
        t = self.timing
        if "cls" not in table:  # one block's table (many cores): per entry, no grid worth building
            return t.inject_s * packets_before + t.inject_s + table["done_s"][entry] - table["hop_s"][entry], None
        cls = table["cls"][entry]
        max_p = int(packets_before.max()) if packets_before.size else 0
        grid = table.get("arrival_grid")
        if grid is None or grid[0] <= max_p:
            n_p = 1024 * (1 + (max_p + max_p // 4) // 1024)  # > max_p, with 25% room to grow
            cls_done, cls_hop = table["cls_done_s"], table["cls_hop_s"]
            if n_p * cls_done.size > _MAX_ARRIVAL_GRID:
                return t.inject_s * packets_before + t.inject_s + cls_done[cls] - cls_hop[cls], None
            p = np.arange(n_p)
            value = (t.inject_s * p + t.inject_s + cls_done[:, None] - cls_hop[:, None]).reshape(-1)
            grid = table["arrival_grid"] = (n_p, value, _dense_rank(value, kind="stable"))
        n_p, value, rank = grid
        at = cls * n_p + packets_before
        return value[at], rank[at]

    def _core_packets(self, core: np.ndarray, count: np.ndarray) -> np.ndarray:
        """Packets per core, ``(K,)`` int64 (float weights: exact below 2**53)."""
        return np.bincount(core, weights=count, minlength=self.n_cores).astype(np.int64)

    def _add_totals(self, per_step: dict) -> None:
        """Fold the per-step results into :attr:`totals`, as :meth:`NocTotals.add` per step
        (float sums accumulated in step order)."""
        tot = self.totals
        tot.steps += len(per_step["drain_s"])
        for name, v in per_step.items():
            if name in _MAX_FIELDS:
                setattr(tot, name, max([getattr(tot, name)] + v.tolist()))
            elif name in _FLOAT_FIELDS:
                acc = getattr(tot, name)
                for x in v.tolist():
                    acc += x
                setattr(tot, name, acc)
            else:
                setattr(tot, name, getattr(tot, name) + int(v.sum()))
