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

**Evaluation cost.**  Routes and per-hop figures come from a
:class:`~chipemu.noc.routetable.RouteTable` (built once per router pair that carries
traffic, kept across steps).  Per step the work is a few passes over the route hops of
its trains (the *entries*): the head arrival time at an entry is a function of its hop
class and of the packets its source core injected before the train, so arrival times are
ranked once per distinct (class, packets-before) combination, not per entry; the
first-come-first-served order of all entries is then one sort of packed 64-bit integers
``(step, link, arrival rank, entry index)``.  Memory and time grow with route hops,
trains and used routers, not with core pairs.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from chipemu.arrays import run_lengths, run_starts
from chipemu.cpus import usable_cpus
from chipemu.errors import ChipemuError
from chipemu.noc.base import NocBase, TrafficCounts
from chipemu.noc.result import _MAX_FIELDS, NocStepResult
from chipemu.noc.routetable import RouteTable
from chipemu.noc.traffic import Traffic, _int_array

try:  # the compiled contention pass (chipemu/noc/_analytic_kernel.c, built by ``pip install``)
    from _chipemu_analytic_kernel import VERSION as _KERNEL_VERSION
    from _chipemu_analytic_kernel import train_waits as _train_waits
except ImportError:  # no C compiler at install time: numpy does the same work
    _train_waits, _KERNEL_VERSION = None, None
if _KERNEL_VERSION != 1:  # a kernel built from other sources than these
    _train_waits = None

#: whether the compiled contention pass is installed (:attr:`AnalyticNoc.compiled` tells per model)
KERNEL_AVAILABLE = _train_waits is not None

__all__ = ["AnalyticNoc", "KERNEL_AVAILABLE", "fifo_waits", "step_results"]

#: NocStepResult fields that are floats (seconds); all others are integer counts
_FLOAT_FIELDS = tuple(f.name for f in fields(NocStepResult) if f.type in (float, "float"))

#: steps x links cells of the per-step link loads evaluated in one pass (memory bound)
_MAX_STEP_LINK_CELLS = 1 << 22
#: trains + route hops evaluated in one pass (see AnalyticNoc._blocks)
_BLOCK_ENTRIES = 1 << 19
#: default cap of AnalyticNoc.threads
MAX_THREADS = 8
#: passes of fewer trains run in one thread (a thread costs tens of microseconds to start)
_MIN_THREADED_TRAINS = 4096
#: largest grid of (hop class, packets before) arrival times kept or built (cells; 12-20 bytes each)
_MAX_ARRIVAL_GRID = 1 << 23


def _dense_rank(values: np.ndarray, kind: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(rank, distinct)``: rank of every value among the distinct values (equal values,
    equal ranks) and the distinct values in increasing order (``distinct[rank] == values``)."""
    by_value = np.argsort(values, kind=kind)  # ties in any order: they get one rank anyway
    ordered = values[by_value]
    new = np.r_[True, ordered[1:] != ordered[:-1]] if values.size else np.zeros(0, dtype=bool)
    rank = np.empty(values.size, dtype=np.int64)
    rank[by_value] = np.cumsum(new) - 1
    return rank, ordered[new]


def _fifo_order(server: np.ndarray, rank: np.ndarray, n_rank: int,
                tie: np.ndarray | None = None, n_tie: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(tie[order], server[order], rank[order])`` with ``order = np.lexsort((tie, rank,
    server))``: by server, then rank, then ``tie`` (``0 <= tie < n_tie``; default: the
    input index, so ``tie[order]`` is ``order`` itself).  ``(server, rank, tie)`` must be
    distinct.

    The permutation comes from one sort of the packed integers ``server << (r + i) | rank
    << i | tie`` (``r``, ``i``: bits of the largest rank and tie; numpy sorts int64
    several times faster than it argsorts); lexsort if they need more than 63 bits.
    """
    n = server.size
    if tie is None:
        tie, n_tie = np.arange(n, dtype=np.int64), n
    lo = int(server.min())
    bits_i, bits_r = max(n_tie - 1, 1).bit_length(), max(n_rank - 1, 1).bit_length()
    if (int(server.max()) - lo).bit_length() + bits_r + bits_i > 63:
        order = np.lexsort((tie, rank, server))
        return tie[order], server[order], rank[order]
    key = (server - lo) << (bits_r + bits_i)
    key |= np.left_shift(rank, bits_i, dtype=np.int64)
    key |= tie
    key.sort()
    sorted_tie = key & ((1 << bits_i) - 1)
    key >>= bits_i
    sorted_rank = key & ((1 << bits_r) - 1)
    key >>= bits_r
    key += lo
    return sorted_tie, key, sorted_rank


def _lindley(srv: np.ndarray, a: np.ndarray, w: np.ndarray, segment_servers: int | None) -> np.ndarray:
    """Waits (s, possibly negative = no wait) of jobs already in FIFO order, grouped by server.

    Per server, in order: ``start_k = max(arrival_k, start_{k-1} + work_{k-1})``, solved in
    closed form as ``start_k = W_k + max_{j<=k}(arrival_j - W_j)`` with ``W_k`` the work of
    the earlier jobs of the server; returns ``start - arrival`` (see :func:`fifo_waits`).
    """
    starts = run_starts(srv)  # first job of each server
    lengths = run_lengths(starts, srv.size)
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
    before -= np.repeat(before[starts], lengths)
    # running maximum of x = a - before inside each server, exactly and in one pass: numpy
    # compares complex numbers lexicographically (real part first), and the server id
    # (the real part) grows along the jobs, so the running maximum of server + i*x is
    # server + i*(max of x over the server's jobs so far).  Server ids are exact in
    # float64 (< 2**53) and x is carried unchanged in the imaginary part.
    z = np.empty(srv.size, dtype=np.complex128)
    z.real = srv
    np.subtract(a, before, out=z.imag)
    best = np.maximum.accumulate(z).imag
    nan = np.isnan(z.imag)
    if nan.any():  # a NaN (work overflowing to inf: inf - inf) is carried into every later
        # server by the complex maximum: from its server on, the running maximum per server
        first = int(np.searchsorted(starts, np.flatnonzero(nan)[0], side="right")) - 1
        for lo, n in zip(starts[first:].tolist(), lengths[first:].tolist()):
            np.maximum.accumulate(z.imag[lo:lo + n], out=best[lo:lo + n])
    best += before
    best -= a
    return best


def fifo_waits(server: np.ndarray, arrival: np.ndarray, work: np.ndarray, *,
               segment_servers: int | None = None) -> np.ndarray:
    """Waiting time (s) of jobs at first-come-first-served servers (Lindley recursion).

    Job ``k`` arrives at ``server[k]`` at ``arrival[k]`` (s) and needs ``work[k]`` (s) of
    it.  Per server, in arrival order (ties: in input order): ``start_k = max(arrival_k,
    start_{k-1} + work_{k-1})``, solved in closed form as ``start_k = W_k +
    max_{j<=k}(arrival_j - W_j)`` with ``W_k`` the work of the earlier jobs.  Returns
    ``start - arrival``.

    ``segment_servers`` evaluates several independent batches in one call, bit for bit
    as separate calls: server ids are ``segment * segment_servers + s`` (``0 <= s <
    segment_servers``).  ``W_k`` is a difference of running sums of the work over the
    batch, so the running sum restarts at every segment.
    """
    if server.size == 0:
        return np.zeros(0)
    server = np.asarray(server, dtype=np.int64)
    rank, distinct = _dense_rank(arrival)
    order, srv, _ = _fifo_order(server, rank, distinct.size)
    waits = np.empty(server.size)
    waits[order] = _lindley(srv, arrival[order], work[order], segment_servers)
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
    plus :meth:`run_steps` for many steps at once.

    Args:
        chip, core_router, chunk_packets: as :class:`~chipemu.noc.base.NocBase`.
        compiled: run the contention pass (every route hop's first-come-first-served
            wait) in the compiled kernel (``chipemu/noc/_analytic_kernel.c``): ``None``
            (default) if it is installed, ``True`` (an error if it is not), ``False``
            (numpy).  Both give bit-identical results; the kernel is several times faster
            and needs no per-hop arrays.
        threads: threads the kernel shares a pass's steps among (steps are independent in
            this model: the results are the same, bit for bit, whatever the number); None
            (default): the CPUs this process may use, at most :data:`MAX_THREADS`.
    """

    name = "analytic"

    def __init__(self, chip, core_router, *, chunk_packets: int | None = None, compiled: bool | None = None,
                 threads: int | None = None):
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, (int, np.integer))
                                    or threads < 1):
            raise ChipemuError(f"NoC on chip {chip.name}: threads = {threads!r} is invalid (allowed: int >= 1, "
                               "or None)")
        if compiled not in (None, True, False):
            raise ChipemuError(f"NoC on chip {chip.name}: compiled = {compiled!r} is invalid "
                               "(allowed: None, True, False)")
        if compiled and _train_waits is None:
            raise ChipemuError("NoC: compiled = True, but the compiled analytic NoC kernel "
                               "(_chipemu_analytic_kernel) is not installed (reinstall chipemu with a C "
                               "compiler, or use compiled = None)")
        super().__init__(chip, core_router, chunk_packets=chunk_packets)
        #: the compiled contention pass, or None (numpy)
        self._kernel = _train_waits if compiled is not False else None
        #: threads of the compiled contention pass
        self.threads = int(threads) if threads is not None else min(usable_cpus(), MAX_THREADS)
        #: routes and per-hop figures of the router pairs that carried traffic
        self.routes = RouteTable(self.topology, self.timing, self.core_router)
        self._grid = None  # ranked arrival times of all (class, P) (see _arrival_ranks)

    # ------------------------------------------------------------------ interface
    def _run(self, tr: Traffic, counts: TrafficCounts) -> NocStepResult:
        """One step (called by :meth:`step`): the one-step case of :meth:`_evaluate`."""
        step = np.zeros(tr.n_trains, dtype=np.int64)
        per_step = _zero_steps(1)
        pair = self.routes.rows(tr.src_router, tr.dst_router)
        counts.link[self.routes.used_links] += self._evaluate(step, tr.src, tr.dst, tr.count, pair, per_step)[0]
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
        pair = self.routes.rows(self.core_router[src], self.core_router[dst])
        for lo_step, hi_step in self._blocks(step, self.routes.n_hops[pair], n_steps):
            lo, hi = np.searchsorted(step, [lo_step, hi_step]).tolist()  # the block's trains
            block = {k: v[lo_step:hi_step] for k, v in per_step.items()}  # views, filled in
            link = self._evaluate(step[lo:hi] - lo_step, src[lo:hi], dst[lo:hi], cnt[lo:hi], pair[lo:hi], block)
            self.link_packets[self.routes.used_links] += link.sum(axis=0)
        self.core_packets_out += self._core_packets(src, cnt)
        self.core_packets_in += self._core_packets(dst, cnt)
        per_step["self_packets"] = self_packets
        self._add_totals(per_step)
        return per_step

    @property
    def compiled(self) -> bool:
        """Whether this model runs its contention pass in the compiled kernel."""
        return self._kernel is not None

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

    def _blocks(self, step: np.ndarray, n_hops: np.ndarray, n_steps: int) -> list:
        """``[(first step, end step), ...]``: the steps with trains, cut into blocks of about
        :data:`_BLOCK_ENTRIES` trains + route hops and at most :data:`_MAX_STEP_LINK_CELLS`
        steps x links (``n_hops``: route hops of every train).

        Blocks bound the temporary arrays of :meth:`_evaluate` (a few dozen bytes per
        entry) and amortise numpy's per-call overhead over many entries.
        """
        if step.size == 0:
            return []
        cost = np.bincount(step, weights=n_hops + 1, minlength=n_steps)  # trains + hops per step
        max_steps = max(1, _MAX_STEP_LINK_CELLS // max(1, self.routes.used_links.size))
        # block of each step = (cost of the earlier steps // _BLOCK_ENTRIES, step // max_steps):
        # both parts are non-decreasing, so a block starts wherever one of them changes
        by_cost = (np.cumsum(cost) - cost) // _BLOCK_ENTRIES
        by_steps = np.arange(n_steps) // max_steps
        new = np.r_[True, (by_cost[1:] != by_cost[:-1]) | (by_steps[1:] != by_steps[:-1])]
        bounds = np.r_[np.flatnonzero(new), n_steps].tolist()
        return [(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:]) if cost[lo:hi].any()]

    def _evaluate(self, step: np.ndarray, src: np.ndarray, dst: np.ndarray, c: np.ndarray, pair: np.ndarray,
                  per_step: dict):
        """The model on canonical trains of ``n_steps`` steps: train i goes from core
        ``src[i]`` to ``dst[i]`` (router pair ``pair[i]``, a row of :attr:`routes`) with
        ``c[i]`` packets in step ``step[i]``, the trains ordered by step, then source,
        then destination.

        Fills ``per_step`` (``{field: (n_steps,) array}`` of the :class:`NocStepResult`
        fields, zeros on entry) and returns the packets per step and used link ``(n_steps,
        n_used)`` (the links of :attr:`RouteTable.used_links`, in that order: per-step
        arrays grow with the links that carry traffic, not with the system).  Every float
        is the one of a one-step evaluation: the arithmetic is elementwise per train or
        route hop, running sums restart at every step and per-step sums are taken per step.
        """
        t, rt = self.timing, self.routes
        n_steps = per_step["drain_s"].size
        used = rt.used_links  # the links on cached routes, increasing: servers keep the link order
        n_trains, n_links, n_cores = c.size, used.size, self.n_cores
        first, period = rt.first_s[pair], rt.period_s[pair]

        # I: nominal injection start (s) = inject_s x packets the source core injects
        # before the train in the same step (trains are in canonical order)
        before = np.cumsum(c) - c
        starts = run_starts(step * n_cores + src)
        packets_before = before - np.repeat(before[starts], run_lengths(starts, n_trains))
        ready = t.inject_s * packets_before
        own = ready + first + (c - 1) * period    # zero-load delivery of the tail, s

        # one FIFO server per (step, link): the head of a train reaches the link of each
        # route hop at its free-flow time and holds it for the hop's work (its packets
        # stream through); waits are >= 0, so a train's largest wait over its route is
        # the maximum over its hops, and 0 without hops.  Also the packets per (step, link).
        single = n_trains == 0 or int(c.max()) == 1  # every train one packet (sparse firing)
        if self._kernel is not None:
            wait = np.zeros(n_trains)
            link = np.zeros((n_steps, n_links), dtype=np.int64)
            if n_trains:
                as64 = np.ascontiguousarray
                self._kernel(as64(step, dtype=np.int64), as64(pair, dtype=np.int64),
                             None if single else as64(c, dtype=np.int64), as64(packets_before, dtype=np.int64),
                             n_steps, n_links, rt.ptr, rt.n_hops, rt.link, rt.cls, rt.used_rank, rt.link_period,
                             rt.classes, float(t.inject_s), wait, link,
                             self.threads if n_trains >= _MIN_THREADED_TRAINS else 1)
        else:
            link, wait = self._contention(step, pair, c, packets_before, n_steps, single)
        if t.eject_s > 0:
            eject_arrive = ready + first - t.eject_s
            eject_work = (c - 1) * period + t.eject_s
            wait = np.maximum(wait, fifo_waits(step * n_cores + dst, eject_arrive, eject_work,
                                               segment_servers=n_cores))

        # every packet of a train is delayed by its wait at its most contended stage
        done = own + wait
        head_lat = first + wait
        tail_lat = done - (ready + (c - 1) * t.inject_s)

        # per-step figures: maxima and integer sums by segment; float sums with np.sum
        # over each step's slice (the pairwise summation of a one-step evaluation)
        seg = run_starts(step)
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
        per_step["trains"][at] = run_lengths(seg, n_trains)
        per_step["chunks"][at] = np.add.reduceat(-(-c // self.chunk_packets), seg)
        per_step["hops"][:] = link.sum(axis=1)
        per_step["hops_ns"][:] = link[:, self.topology.link_is_ns[used]].sum(axis=1)
        per_step["hops_interchip"][:] = link[:, self.link_is_chip[used]].sum(axis=1)
        per_step["hops_ew"][:] = per_step["hops"] - per_step["hops_ns"] - per_step["hops_interchip"]
        per_step["interchip_packets"][at] = np.add.reduceat(np.where(rt.crosses_chip[pair], c, 0), seg)
        per_step["max_link_packets"][:] = link.max(axis=1) if n_links else 0
        return link

    def _contention(self, step: np.ndarray, pair: np.ndarray, c: np.ndarray, packets_before: np.ndarray,
                    n_steps: int, single: bool) -> tuple[np.ndarray, np.ndarray]:
        """The contention pass of :meth:`_evaluate` in numpy (the compiled kernel,
        ``chipemu/noc/_analytic_kernel.c``, does the same, bit for bit): ``(packets per
        step and used link (n_steps, n_used) int64, wait of every train (s))``.

        ``single``: every train has one packet (so the work of an entry is its link's
        period).  Per-entry arrays: a few dozen bytes per route hop of the pass's trains.
        """
        t, rt = self.timing, self.routes
        used = rt.used_links
        n_trains, n_links = c.size, used.size
        n_hops = rt.n_hops[pair]
        # every (train, hop) -- an *entry* -- train by train, in route order: entry k of
        # train i is hop ptr[pair[i]] + k of the route table
        hop_end = np.cumsum(n_hops)
        n_entries = int(hop_end[-1]) if n_trains else 0
        hop = np.repeat(rt.ptr[pair] - (hop_end - n_hops), n_hops) + np.arange(n_entries)
        cls = rt.cls[hop]  # hop class of each entry
        server = np.repeat(step * n_links, n_hops) + rt.used_rank[rt.link[hop]]  # (step, used link) of each entry
        del hop
        c_entry = None if single else np.repeat(c, n_hops)

        # packets per (step, link) (float weights: exact for counts below 2**53)
        link = np.bincount(server, weights=c_entry, minlength=n_steps * n_links)
        link = link.astype(np.int64, copy=False).reshape(n_steps, n_links)

        wait = np.zeros(n_trains)
        if n_entries:
            rank, arrival_of_rank = self._arrival_ranks(np.repeat(packets_before, n_hops), cls)
            train = np.repeat(np.arange(n_trains), n_hops)  # train of each entry
            if single:
                # a route never uses a link twice, so at one server the entries' input
                # order is their trains' order: the sort key needs the train, not the entry
                train, srv, rank = _fifo_order(server, rank, arrival_of_rank.size, train, n_trains)
                work = rt.link_period[used][srv % n_links]  # (1 - 1) * upstream period + link period, exactly
            else:
                order, srv, rank = _fifo_order(server, rank, arrival_of_rank.size)
                up = np.maximum(t.inject_s, rt.class_up_period_s)  # upstream period, by class
                work = ((c_entry - 1) * up[cls] + rt.class_link_period_s[cls])[order]
                train = train[order]
            del server
            waits = _lindley(srv, arrival_of_rank[rank], work, n_links)
            np.maximum.at(wait, train, waits)
        return link, wait

    def _arrival_ranks(self, packets_before: np.ndarray, cls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Free-flow arrival time of the head of a train at route entries, as ``(rank,
        arrival_of_rank)``: the entry's time is ``arrival_of_rank[rank]`` (s), and ranks
        order the times (equal times, equal ranks).

        ``arrival = inject_s * P + inject_s + done_s - hop_s`` (left to right) with ``P``
        the packets the source core injects before the train and ``(done_s, hop_s)`` of
        the entry's hop class: ready + injection + the latency of the hops before this
        one.  It is a function of ``(class, P)``, with far fewer distinct combinations
        than entries, so the times are computed and ranked per combination, not per
        entry: on a grid of all classes x ``P = 0 .. n_p - 1`` kept across passes
        (rebuilt when ``P`` outgrows it or the classes grew by a quarter; a pass with
        classes newer than the grid, or a grid too large, ranks the combinations of the
        pass, found with a presence grid of its classes x ``P``, no sort of entries), else
        per entry.  The same floats and ranks each way.
        """
        t, rt = self.timing, self.routes
        n_p = int(packets_before.max()) + 1
        grid = self._grid  # (route table generation, classes, room for P, rank, distinct)
        if (grid is None or grid[0] != rt.generation or grid[2] < n_p
                or rt.n_classes > grid[1] + grid[1] // 4):  # rebuilt when classes grew by 25 %
            room = 1024 * (1 + (n_p + n_p // 4) // 1024)  # >= n_p, with room to grow
            self._grid = grid = None
            if rt.n_classes * room <= _MAX_ARRIVAL_GRID:
                p = np.arange(room)
                value = (t.inject_s * p + t.inject_s + rt.class_done_s[:, None] - rt.class_hop_s[:, None])
                # each class's row grows with P: a stable sort merges these sorted runs
                rank, distinct = _dense_rank(value.reshape(-1), kind="stable")
                self._grid = grid = (rt.generation, rt.n_classes, room, rank.astype(np.int32), distinct)
        if grid is not None and int(cls.max()) < grid[1]:  # the grid covers this pass's classes
            _, _, room, rank, distinct = grid
            at = cls * room
            at += packets_before
            return rank[at], distinct
        present = np.zeros(rt.n_classes, dtype=bool)
        present[cls] = True
        classes = np.flatnonzero(present)
        if classes.size * n_p > _MAX_ARRIVAL_GRID:
            arrival = t.inject_s * packets_before + t.inject_s + rt.class_done_s[cls] - rt.class_hop_s[cls]
            return _dense_rank(arrival)
        local = np.cumsum(present) - 1  # class -> its index among the pass's classes
        combo = local[cls] * n_p + packets_before
        used = np.zeros(classes.size * n_p, dtype=bool)
        used[combo] = True
        combos = np.flatnonzero(used)
        of_class, p = classes[combos // n_p], combos % n_p
        value = t.inject_s * p + t.inject_s + rt.class_done_s[of_class] - rt.class_hop_s[of_class]
        rank, distinct = _dense_rank(value, kind="stable")
        rank_of = np.empty(used.size, dtype=np.int64)
        rank_of[combos] = rank
        return rank_of[combo], distinct

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
