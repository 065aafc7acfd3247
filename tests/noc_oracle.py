"""Frozen copy of the SimPy NoC model as it was before its own event loop replaced SimPy's
(chipemu.noc.simpy_model, main at b9466b3): one SimPy timeout per chunk and stage, carrier
processes, SimPy's event order.  The tests use it as the oracle: the current model must
give bit-identical step results and counters on any traffic.  Do not change it.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections import deque

import numpy as np
import simpy

from chipemu.noc.base import NocBase, TrafficCounts, zero_load
from chipemu.noc.result import NocStepResult
from chipemu.noc.traffic import Traffic

__all__ = ["OracleSimpyNoc"]

_NEVER = float("-inf")

# Note: ``b if b > a else a`` below is ``max(a, b)`` bit for bit (max keeps the first of
# equal arguments), without the cost of a call.


class _Channel:
    """One stage, first come first served, and the buffer it feeds.

    A *grant* is a tuple ``(head, tail, stalled)``: when the chunk's head and tail start
    the stage (s), and whether the chunk had to wait for room downstream.

    The buffer is booked packet by packet: ``unknown`` packets whose chunk has not been
    granted its next stage yet, and the sorted ``leaving`` times (s) of the others.  The
    ``n`` packets of a chunk granted its next stage from ``first`` to ``last`` leave at
    ``first + i * (last - first) / (n - 1)``, ``i = 0 .. n-1``.  A packet is in the buffer
    until its leave time and ``last`` have passed.  (Rounding can put the computed time
    of the last packets one ulp after ``last``; those are also kept in ``late``.)

    Args:
        env: the step's SimPy environment.
        period: seconds one packet occupies the stage.
        depth: packets the downstream buffer holds; ``None`` for a core (no limit).
    """

    __slots__ = ("env", "period", "depth", "free_at", "unknown", "leaving", "late", "queue")

    def __init__(self, env: simpy.Environment, period: float, depth: int | None):
        self.env = env
        self.period = period
        self.depth = depth
        self.free_at = _NEVER           # when the stage can take the next head (s)
        self.unknown = 0                # packets in the buffer with unknown leave times
        self.leaving: list[float] = []  # sorted leave times of the other packets (s)
        self.late: list[tuple[float, float]] = []  # (last, time) with time > last
        self.queue: deque = deque()     # (waiter, arrival, n, tail) waiting for room

    def request(self, now: float, arrival: float, n: int, tail: float, waiter=None):
        """Ask at time ``now`` for the stage for ``n`` packets whose head arrives at
        ``arrival`` and whose tail arrives at ``tail`` (s).  Returns a grant; else queues
        and returns ``waiter`` (default: a new SimPy event), whose ``succeed`` is called
        with the grant as soon as the buffer room can be known."""
        if not self.queue:
            grant = self._try(now, arrival, n, tail)
            if grant is not None:
                return grant
        if waiter is None:
            waiter = self.env.event()
        self.queue.append((waiter, arrival, n, tail))
        return waiter

    def release(self, now: float, n: int, first: float, last: float) -> None:
        """At time ``now``, ``n`` packets in this stage's buffer are granted their next
        stage: they leave from ``first`` to ``last`` (s).  Chunks waiting for that room
        are served."""
        self.unknown -= n
        leaving = self.leaving
        if n == 1:
            if leaving and last < leaving[-1]:
                insort(leaving, last)
            else:
                leaving.append(last)
        else:
            step = (last - first) / (n - 1)
            times = [first]  # = first + 0 * step
            for i in range(1, n):
                times.append(first + i * step)
            if times[-1] > last:  # rounding: these packets leave once ``last`` has passed
                self.late += [(last, t) for t in times if t > last]
            if leaving and first < leaving[-1]:
                leaving += times
                leaving.sort()
            else:
                leaving += times
        queue, depth = self.queue, self.depth
        while queue:
            waiter, arrival, n, tail = queue[0]
            if self.unknown + n > depth:
                break  # room depends on chunks not granted their next stage (_try: None)
            grant = self._try(now, arrival, n, tail)
            queue.popleft()
            waiter.succeed(grant)

    def _try(self, now: float, arrival: float, n: int, tail: float) -> tuple | None:
        """Grant the stage if the buffer room is known: the head needs one free place,
        the tail needs ``n``.  Never starts before now (a chunk woken late)."""
        room_head = room_tail = _NEVER  # when the buffer has room for the head, the tail
        depth = self.depth
        if depth is not None:
            unknown, leaving = self.unknown, self.leaving
            if unknown + len(leaving) + n > depth:  # perhaps no room for all n right now
                if unknown + n > depth:
                    return None  # depends on chunks not granted their next stage yet
                gone = bisect_right(leaving, now)  # packets that have left by now
                if gone:
                    del leaving[:gone]
                if self.late:
                    self._drop_late(now)
                excess = unknown + len(leaving) - depth  # places to free before one fits
                if excess >= 0:
                    room_head = leaving[excess]
                if excess + n > 0:
                    room_tail = leaving[excess + n - 1]
            self.unknown = unknown + n
        free_at = self.free_at
        ready = free_at if free_at > arrival else arrival
        head = room_head if room_head > ready else ready
        if now > head:
            head = now
        stream = head + (n - 1) * self.period
        if tail > stream:
            stream = tail
        tail_start = room_tail if room_tail > stream else stream
        self.free_at = tail_start + self.period
        return head, tail_start, room_head > ready or room_tail > stream

    def _drop_late(self, now: float) -> None:
        """Forget the ``late`` packets of chunks whose ``last`` has passed."""
        keep = []
        for last, t in self.late:
            if t <= now:
                continue  # already dropped from ``leaving``
            if last <= now:
                self.leaving.remove(t)
            else:
                keep.append((last, t))
        self.late = keep


class _Waiting:
    """A chunk waiting in its port's queue before any carrier has it.  When the port
    grants it the stage, ``succeed`` hands it to a carrier (:meth:`_StepSim.hand_over`)."""

    __slots__ = ("sim", "chunk")

    def __init__(self, sim: "_StepSim", chunk: tuple):
        self.sim, self.chunk = sim, chunk

    def succeed(self, grant: tuple) -> None:
        self.sim.hand_over(self.chunk, grant)


class _StepSim:
    """One NoC phase: the SimPy environment, its channels and its counters."""

    def __init__(self, noc: "OracleSimpyNoc", tr: Traffic, counts: TrafficCounts):
        self.env = env = simpy.Environment()
        self.t = t = noc.timing
        self.chunk_packets = noc.chunk_packets
        self.tr = tr
        self.counts = counts
        self.is_ns = noc.topology.link_is_ns
        self.is_chip = noc.link_is_chip
        self.first_s, self.period_s = (a.tolist() for a in zero_load(tr, t))
        self.nominal_s = (t.inject_s * tr.packets_before()).tolist()
        self.src = tr.src.tolist()
        self.dst = tr.dst.tolist()
        # the channels: injection ports, links (as stages), ejection ports, per train
        ports = {k: _Channel(env, t.inject_s, t.buffer_depth) for k in set(self.src)}
        self.port = [ports[k] for k in self.src]
        # the links of every train, as (channel, latency, link) stages
        n_routers = noc.topology.n_routers
        pairs, pair_of = np.unique(tr.src_router * n_routers + tr.dst_router,
                                   return_inverse=True)
        stage: list = [None] * noc.topology.n_links
        hops = []
        for pair in pairs.tolist():
            route = noc.route(pair // n_routers, pair % n_routers)
            for link in route:
                if stage[link] is None:
                    stage[link] = (_Channel(env, noc.link_period[link], t.buffer_depth),
                                   noc.link_latency[link], link)
            hops.append([stage[link] for link in route])
        ejects = {}
        if t.eject_s > 0:
            ejects = {k: _Channel(env, t.eject_s, None) for k in set(self.dst)}
        self.eject = [ejects.get(k) for k in self.dst]
        # every train's stages after injection: its links, then its ejection port if any
        # (``link`` None: an ejection stage, which counts no link traversal)
        self.stages = [hops[i] + ([(ej, t.eject_s, None)] if ej is not None else [])
                       for i, ej in zip(pair_of.reshape(-1).tolist(), self.eject)]
        self._channels = list(ports.values()) + [s[0] for s in stage if s is not None]
        # packet counters as Python lists (cheap increments), copied to ``counts`` at the end
        self.link_packets = [0] * noc.topology.n_links
        self.out_packets = [0] * noc.n_cores
        self.in_packets = [0] * noc.n_cores
        self.stalls = self.chunks = self.injected = self.delivered = 0
        self.drain_s = self.queue_delay_s = self.latency_sum_s = self.max_latency_s = 0.0
        self.unstarted: deque = deque()  # chunks not started yet, canonical order
        self.idle: list[simpy.Event] = []  # wake-up events of idle carriers

    # ---- the carrier processes ------------------------------------------------------

    def carrier(self, wake: simpy.Event | None):
        """A SimPy process that carries one chunk at a time, through all its stages.

        Chunk ``(t, i0, n)`` is packets ``i0 .. i0+n-1`` of train ``t``: it is injected at
        its source core's port, crosses every link of its route, and is ejected.  At every
        stage the carrier sleeps until the chunk's head arrives, asks the channel for the
        stage (and waits for the grant if the channel cannot give one yet), counts a stall
        if the grant waited for room downstream, and leaves the upstream buffer.

        The first carrier starts the chunks at time 0, in canonical order: each asks its
        port for the injection stage (:meth:`start_next`).  A chunk the port cannot take
        yet waits in the port's queue without a carrier; the first one the port takes is
        carried on, and as soon as its carrier has to wait, a new carrier starts the next
        chunks (:meth:`pass_on_starting`).  When a port later grants a waiting chunk, it
        goes to an idle carrier or to a new one (:meth:`hand_over`).  ``wake`` is None
        for a starting carrier, else the event that brings its first chunk and grant.
        """
        env, inject_s = self.env, self.t.inject_s
        link_packets, out_packets = self.link_packets, self.out_packets
        starting = wake is None
        while True:
            if starting:
                started = self.start_next()
                if started is None:  # every chunk has been started
                    starting = False
                    continue
                (t, i0, n), (head, tail, stalled) = started
            else:
                if wake is None:  # idle until a port grants a waiting chunk
                    wake = env.event()
                    self.idle.append(wake)
                (t, i0, n), (head, tail, stalled) = yield wake
                wake = None
            now = env.now
            # the injection stage is granted: the head and tail start at the port
            if stalled:
                self.stalls += 1
            self.injected += n
            out_packets[self.src[t]] += n
            head, tail, upstream = head + inject_s, tail + inject_s, self.port[t]
            for channel, latency, link in self.stages[t]:
                delay = head - now
                if delay > 0:
                    if starting:
                        starting = self.pass_on_starting()
                    yield env.timeout(delay)
                    now = env.now
                g = channel.request(now, head, n, tail)
                if g.__class__ is not tuple:
                    if starting:
                        starting = self.pass_on_starting()
                    g = yield g
                    now = env.now
                head, tail, stalled = g
                if stalled:
                    self.stalls += 1
                upstream.release(now, n, head, tail)  # we leave the upstream buffer
                if link is not None:
                    link_packets[link] += n
                head, tail, upstream = head + latency, tail + latency, channel
            if self.eject[t] is None:
                upstream.release(now, n, head, tail)  # the core takes packets as they arrive
            self.deliver(t, i0, n, head, tail)

    def start_next(self) -> tuple | None:
        """Start chunks in canonical order (at time 0) until a port takes one: returns
        ``(chunk, grant)``, or None once every chunk has been started.  The chunks a port
        cannot take yet wait in its queue (see :class:`_Waiting`)."""
        unstarted = self.unstarted
        while unstarted:
            chunk = unstarted.popleft()
            t, _, n = chunk
            grant = self.port[t].request(self.env.now, 0.0, n, 0.0, _Waiting(self, chunk))
            if grant.__class__ is tuple:
                return chunk, grant
        return None

    def pass_on_starting(self) -> bool:
        """A starting carrier is about to wait: a new carrier starts the next chunks (its
        SimPy start event is urgent, so it runs before anything else at time 0)."""
        if self.unstarted:
            self.env.process(self.carrier(None))
        return False

    def hand_over(self, chunk: tuple, grant: tuple) -> None:
        """A port grants a chunk that waited in its queue: the SimPy event that gives it
        to an idle carrier, or to a new one, is scheduled now (as the chunk's own process
        would have been woken).  A new carrier's start event is urgent, so it is waiting
        for that event before the event comes up."""
        if self.idle:
            self.idle.pop().succeed((chunk, grant))
        else:
            wake = self.env.event()
            wake.succeed((chunk, grant))
            self.env.process(self.carrier(wake))

    def deliver(self, t: int, i0: int, n: int, head_done: float, tail_done: float) -> None:
        """Count a delivered chunk.  A packet's latency runs from its nominal injection
        start (``message_out`` x packets its core injects before it) to its delivery;
        inside a chunk it is interpolated linearly from head to tail."""
        self.delivered += n
        self.in_packets[self.dst[t]] += n
        self.chunks += 1
        first, period, inject_s = self.first_s[t], self.period_s[t], self.t.inject_s
        ready = self.nominal_s[t] + i0 * inject_s
        head_lat = head_done - ready
        tail_lat = tail_done - (ready + (n - 1) * inject_s)
        head_zero = first + i0 * (period - inject_s)
        tail_zero = first + (i0 + n - 1) * (period - inject_s)
        self.latency_sum_s += n * (head_lat + tail_lat) / 2
        excess = (head_lat - head_zero + tail_lat - tail_zero) / 2
        self.queue_delay_s += n * (excess if excess > 0.0 else 0.0)
        worst = self.max_latency_s
        if head_lat > worst:
            worst = head_lat
        if tail_lat > worst:
            worst = tail_lat
        self.max_latency_s = worst
        if tail_done > self.drain_s:
            self.drain_s = tail_done

    # ---- driver ---------------------------------------------------------------------

    def run(self) -> NocStepResult:
        size = self.chunk_packets
        unstarted = self.unstarted
        for t, c in enumerate(self.tr.count.tolist()):  # canonical order = injection order
            if c <= size:
                unstarted.append((t, 0, c))
            else:
                for i0 in range(0, c, size):
                    unstarted.append((t, i0, min(size, c - i0)))
        self.env.process(self.carrier(None))
        self.env.run()
        for wake in self.idle:  # let the idle carriers go (no references to them remain)
            wake.callbacks = None
        packets = self.tr.packets
        if not (self.injected == self.delivered == packets):
            blocked = sum(len(ch.queue) for ch in self._channels)
            raise RuntimeError(  # a bug, not bad input: the network lost or made packets
                f"NoC conservation violated: {packets} packets offered, {self.injected} "
                f"injected, {self.delivered} delivered, {blocked} chunks blocked")
        c = self.counts
        c.link += np.array(self.link_packets, dtype=np.int64)
        c.out += np.array(self.out_packets, dtype=np.int64)
        c.into += np.array(self.in_packets, dtype=np.int64)
        hops_ns = int(c.link[self.is_ns].sum())
        hops_chip = int(c.link[self.is_chip].sum())
        hops = int(c.link.sum())
        return NocStepResult(
            drain_s=self.drain_s, packets=packets, hops=hops, hops_ew=hops - hops_ns - hops_chip,
            hops_ns=hops_ns, hops_interchip=hops_chip,
            interchip_packets=int(self.tr.count[self.tr.hops_chip > 0].sum()), stalls=self.stalls,
            queue_delay_s=self.queue_delay_s,
            max_latency_s=self.max_latency_s, latency_sum_s=self.latency_sum_s,
            trains=self.tr.n_trains, chunks=self.chunks, injected=self.injected,
            delivered=self.delivered, max_link_packets=int(c.link.max()))


class OracleSimpyNoc(NocBase):
    """The SimPy NoC model before its own event loop (see the module doc).

    Args:
        chip: the chip or system (mesh, NoC timing, injection/ejection time per packet,
            chip-to-chip links).
        core_router: ``core_router[k]`` = global router id of logical core ``k``.
        chunk_packets: packets per chunk, ``1 .. noc.buffer_depth`` (default: the
            buffer depth); 1 gives a packet-level simulation.
    """

    name = "simpy-oracle"

    def __init__(self, chip, core_router, *, chunk_packets: int | None = None):
        super().__init__(chip, core_router, chunk_packets=chunk_packets)
        t, topo = self.timing, self.topology
        self.link_latency = t.link_latency_s(topo).tolist()
        self.link_period = t.link_periods_s(topo).tolist()
        self._routes: dict[tuple[int, int], list[int]] = {}

    def route(self, src_router: int, dst_router: int) -> list[int]:
        """The links of the route between two routers (cached)."""
        key = (src_router, dst_router)
        route = self._routes.get(key)
        if route is None:
            route = self._routes[key] = self.topology.route(src_router, dst_router).tolist()
        return route

    def _run(self, tr: Traffic, counts: TrafficCounts) -> NocStepResult:
        return _StepSim(self, tr, counts).run()
