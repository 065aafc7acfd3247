"""The reference NoC model: a discrete-event simulation at chunk granularity.

What is simulated (equations in ``docs/noc.md``):

* **Stages.**  A packet passes the injection port of its source core, the links of its
  XY route, and the ejection port of its destination core (only if
  ``time.message_in > 0``).  Every stage serves one packet at a time, first come first
  served, with a *period* ``p`` (seconds a packet occupies it) and a *latency* ``l``
  (seconds until the packet reaches the next stage): injection ``p = l =
  time.message_out``; on-chip link ``p = 1 / noc.link_bandwidth_pps``, ``l =
  noc.hop_time_ew_s`` or ``noc.hop_time_ns_s``; chip-to-chip link (a system of chips)
  ``p = 1 / link.bandwidth_pps``, ``l = link.hop_time_s``; ejection ``p = l = time.message_in``.
* **Buffers.**  Every router input (one per incoming link, one per local core's port)
  holds ``noc.buffer_depth`` packets.  Packets wait, never drop.
* **Chunks.**  A train of ``c`` packets moves as ``ceil(c / chunk_packets)`` chunks
  (``chunk_packets`` defaults to ``noc.buffer_depth``; 1 is an exact packet-level
  simulation).  A chunk is tracked by its head and its tail, and its packets are taken
  to be evenly spaced in between.
* **Streaming (cut-through).**  At a stage with period ``p`` and latency ``l`` the head
  starts at ``S = max(head arrival, stage free, 1 place free downstream)`` and reaches
  the next router at ``S + l``, before the tail has arrived.  The tail starts at
  ``max(S + (n-1) p, tail arrival, n places free downstream)``; the stage is free again
  at ``tail start + p``.  The chunk's packets leave the upstream buffer evenly from
  ``S`` to ``tail start``.
* **Back-pressure.**  (Also at a chip boundary: a slow chip-to-chip link fills the
  buffer in front of it, and the chunks behind wait.)  While the downstream buffer has no
  room the chunk waits and keeps the stage (head-of-line blocking); every wait for room
  is one ``stall``.  Routing is XY, so the stage-to-buffer dependencies are acyclic and
  the network cannot deadlock.

Stages are *reservation channels* (:class:`_Channel`): a stage keeps the time it is next
free and the leave times of the packets in the buffer it feeds, so a chunk that can see
when it will be served computes its start times at once; its next event is its head
reaching the next stage.  A chunk whose room depends on chunks that have not moved on
yet waits in the channel's queue; the channel grants it when they do.

**Events** (:class:`_StepSim`).  SimPy is the engine.  The model was first written with
one SimPy process per chunk (a timeout per stage, an event per grant; kept in
``tests/noc_oracle.py``); SimPy orders events by time, then by the order they were
scheduled.  Now SimPy holds one event per *instant* (a time at which something happens):
a timeout whose callback (:meth:`_StepSim.on_instant`) processes that instant's items in
the order they were scheduled, items added while it runs included.  An item is a chunk's
head reaching a stage (the chunk asks the stage's channel and, if granted, is carried on:
:meth:`_StepSim.carry`) or a channel granting a queued chunk its stage (added to the
current instant by the release that made room).  At time 0 every chunk asks its
injection port, in canonical order (source core, then destination core, then chunk),
before any instant is processed (the first model's processes started urgently, in that
order).  So every channel sees the same requests and releases in the same order and the
float sums run in the same order: the results are bit-identical to the first model
(``tests/test_noc_equivalence.py``), with 1.67 SimPy events per chunk instead of 3.68
on ``programs/brunel.py``.  Work scales with chunks x hops, not packets.

Ties are broken by the scheduling order and FIFO queues, so equal inputs give identical
results.

**Two executions.**  :class:`SimpyNoc` runs this module's bookkeeping in Python, or the same
rules compiled (:mod:`chipemu.noc.simpy_compiled`, the C extension ``_chipemu_noc_kernel``),
where SimPy holds one event per NoC cycle (link period) instead of one per instant.  Both are
bit-identical to the first model; the compiled one is used when it is installed.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections import deque

import numpy as np
import simpy
from simpy.events import Timeout

from chipemu.errors import ChipemuError
from chipemu.noc.base import NocBase, TrafficCounts, step_result, zero_load
from chipemu.noc.result import NocStepResult
from chipemu.noc.simpy_compiled import CompiledStep
from chipemu.noc.traffic import Traffic

try:  # the compiled bookkeeping (chipemu/noc/_simpy_kernel.c, built by ``pip install``)
    from _chipemu_noc_kernel import VERSION as _KERNEL_VERSION
    from _chipemu_noc_kernel import StepKernel
except ImportError:  # no compiler at install time: the pure-Python bookkeeping below
    StepKernel, _KERNEL_VERSION = None, None
if _KERNEL_VERSION != 1:
    StepKernel = None

#: whether the compiled bookkeeping is installed (:attr:`SimpyNoc.compiled` tells per model)
KERNEL_AVAILABLE = StepKernel is not None

__all__ = ["SimpyNoc", "KERNEL_AVAILABLE"]

_NEVER = float("-inf")
_TRAINS_CACHED = 1 << 16  # (source, destination) core pairs whose stages are kept
_ROUTES_CACHED = 1 << 16  # (source, destination) router pairs whose routes are kept

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
        period: seconds one packet occupies the stage.
        depth: packets the downstream buffer holds; ``None`` for a core (no limit).
    """

    __slots__ = ("period", "depth", "free_at", "unknown", "leaving", "late", "queue")

    def __init__(self, period: float, depth: int | None):
        self.period = period
        self.depth = depth
        self.free_at = _NEVER           # when the stage can take the next head (s)
        self.unknown = 0                # packets in the buffer with unknown leave times
        self.leaving: list[float] = []  # sorted leave times of the other packets (s)
        self.late: list[tuple[float, float]] = []  # (last, time) with time > last
        self.queue: deque = deque()     # (chunk, stage, arrival, n, tail) waiting for room

    def reset(self) -> None:
        """Empty the stage and its buffer (a new NoC phase starts)."""
        self.free_at = _NEVER
        self.unknown = 0
        self.leaving = []
        self.late = []
        self.queue.clear()

    def request(self, now: float, arrival: float, n: int, tail: float, chunk: int,
                stage: int) -> tuple | None:
        """Ask at time ``now`` for the stage for ``n`` packets of ``chunk`` whose head
        arrives at ``arrival`` and whose tail arrives at ``tail`` (s).  Returns a grant,
        or None after queueing the chunk: :meth:`release` grants it as soon as the buffer
        room can be known."""
        if not self.queue:
            grant = self._try(now, arrival, n, tail)
            if grant is not None:
                return grant
        self.queue.append((chunk, stage, arrival, n, tail))
        return None

    def release(self, now: float, n: int, first: float, last: float, ready: list) -> None:
        """At time ``now``, ``n`` packets in this stage's buffer are granted their next
        stage: they leave from ``first`` to ``last`` (s).  Queued chunks that can now be
        served are granted the stage and appended to ``ready`` as ``(chunk, stage, *grant)``,
        in queue order."""
        self.unknown -= n
        leaving = self.leaving
        if n == 1:
            if leaving and last < leaving[-1]:
                insort(leaving, last)
            else:
                leaving.append(last)
        else:
            step = (last - first) / (n - 1)
            if n == 2:
                times = [first, first + step]  # = first + i * step, i = 0, 1
            else:
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
        queue = self.queue
        if queue:
            depth = self.depth
            while queue:
                chunk, stage, arrival, m, tail = queue[0]
                if self.unknown + m > depth:
                    break  # room depends on chunks not granted their next stage (_try: None)
                grant = self._try(now, arrival, m, tail)
                queue.popleft()
                ready.append((chunk, stage) + grant)

    def _try(self, now: float, arrival: float, n: int, tail: float) -> tuple | None:
        """Grant the stage if the buffer room is known: the head needs one free place,
        the tail needs ``n``.  Never starts before now (a chunk granted late)."""
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


class _StepSim:
    """One NoC phase: the step's trains, their stages and the counters.

    Per train ``t``: ``stages[t] = (chans, lats, links)``: its stages' channels (injection
    port, the links of its route, the ejection port if modelled), and the latency (s) and
    link id (None for the ejection port) of every stage ``j >= 1``.
    """

    def __init__(self, noc: "SimpyNoc", tr: Traffic, counts: TrafficCounts):
        self.env = simpy.Environment()
        #: what happens at every pending time (s): items in the order they were scheduled
        self.instants: dict[float, list] = {}
        self.current: list = []  # the items of the instant being processed
        self.t = t = noc.timing
        self.inject_s = t.inject_s
        self.chunk_packets = noc.chunk_packets
        self.tr = tr
        self.counts = counts
        self.is_ns = noc.topology.link_is_ns
        self.is_chip = noc.link_is_chip
        self.n_links, self.n_cores = noc.topology.n_links, noc.n_cores
        self.release_last = not t.eject_s > 0  # no ejection stage: the core takes packets at once
        self.src, self.dst = tr.src.tolist(), tr.dst.tolist()
        self.stages = [noc.train_stages(k, d) for k, d in zip(self.src, self.dst)]
        self._channels = noc.fresh_channels(tr)

    def chunks(self) -> tuple[list[int], list[int], list[int]]:
        """The chunks in canonical order: ``(train, first packet, packets)`` lists."""
        size = self.chunk_packets
        count = self.tr.count
        if int(count.max()) <= size:
            n = count.size
            return list(range(n)), [0] * n, count.tolist()
        train, first, packets = [], [], []
        for t, c in enumerate(count.tolist()):
            for i0 in range(0, c, size):
                train.append(t)
                first.append(i0)
                packets.append(min(size, c - i0))
        return train, first, packets

    def run(self) -> NocStepResult:
        """Simulate the NoC phase until every chunk is delivered; the step's result (and
        the per-link and per-core packets added to ``counts``)."""
        tr, t = self.tr, self.t
        self.first_s, self.period_s = (a.tolist() for a in zero_load(tr, t))
        self.nominal_s = (t.inject_s * tr.packets_before()).tolist()
        self.link_packets, self.out_packets = [0] * self.n_links, [0] * self.n_cores
        self.in_packets = [0] * self.n_cores
        self.stalls = self.injected = self.delivered = 0
        self.drain_s = self.queue_delay_s = self.latency_sum_s = self.max_latency_s = 0.0
        # every chunk: (packets, stage channels, latencies, link ids, train, first packet)
        self.chunk = [(n, *self.stages[t], t, i0) for t, i0, n in zip(*self.chunks())]
        # time 0: every chunk arrives at its injection port, in canonical order, before
        # any event is processed (a SimPy process per chunk would start urgently); what
        # they cause at time 0 happens in the first instant event
        self.current = self.instant_at(0.0, 0.0)
        for c in range(len(self.chunk)):
            self.arrive(c, 0, 0.0, 0.0, 0.0)
        self.env.run()
        injected, delivered, packets = self.injected, self.delivered, tr.packets
        if not (injected == delivered == packets):
            blocked = sum(len(ch.queue) for ch in self._channels)
            raise RuntimeError(  # a bug, not bad input: the network lost or made packets
                f"NoC conservation violated: {packets} packets offered, {injected} "
                f"injected, {delivered} delivered, {blocked} chunks blocked")
        c = self.counts
        c.link += np.array(self.link_packets, dtype=np.int64)
        c.out += np.array(self.out_packets, dtype=np.int64)
        c.into += np.array(self.in_packets, dtype=np.int64)
        return step_result(tr, c, self.is_ns, self.is_chip, drain_s=self.drain_s, stalls=self.stalls,
                           queue_delay_s=self.queue_delay_s, max_latency_s=self.max_latency_s,
                           latency_sum_s=self.latency_sum_s, chunks=len(self.chunk), injected=injected,
                           delivered=delivered)

    # ---- events -----------------------------------------------------------------------

    def instant_at(self, at: float, delay: float) -> list:
        """A new instant: the list of what happens at time ``at`` = now + ``delay`` (s),
        and the SimPy timeout that processes it (:meth:`on_instant`)."""
        items = self.instants[at] = []
        Timeout(self.env, delay).callbacks.append(self.on_instant)
        return items

    def on_instant(self, event: simpy.Timeout) -> None:
        """Process an instant: its items in the order they were scheduled, including those
        added while it runs.  An item ``(chunk, stage, head, tail, None)`` is the chunk's
        head reaching the stage; ``(chunk, stage, head, tail, stalled)`` is the stage's
        channel granting it the stage (it had queued)."""
        now = self.env.now
        items = self.current = self.instants[now]
        chunk, carry = self.chunk, self.carry
        i = 0
        while i < len(items):
            c, s, head, tail, stalled = items[i]
            i += 1
            if stalled is None:  # (= self.arrive, inlined: it runs once per chunk and stage)
                n, stages = chunk[c][:2]
                channel = stages[s]
                if channel.queue:
                    channel.queue.append((c, s, head, n, tail))
                    continue
                grant = channel._try(now, head, n, tail)
                if grant is None:
                    channel.queue.append((c, s, head, n, tail))
                    continue
                head, tail, stalled = grant
            carry(c, s, now, head, tail, stalled)
        del self.instants[now]

    def arrive(self, c: int, s: int, now: float, head: float, tail: float) -> None:
        """At ``now`` the head of chunk ``c`` reaches stage ``s`` (the tail at ``tail``):
        ask the stage; carry the chunk on if granted (else the channel queues it)."""
        n, stages = self.chunk[c][:2]
        channel = stages[s]
        if not channel.queue:  # (= channel.request, inlined)
            grant = channel._try(now, head, n, tail)
            if grant is not None:
                self.carry(c, s, now, *grant)
                return
        channel.queue.append((c, s, head, n, tail))

    def carry(self, c: int, s: int, now: float, head: float, tail: float, stalled: bool) -> None:
        """Chunk ``c`` is granted stage ``s`` at ``now``: its head starts at ``head``, its
        tail at ``tail`` (s).  It leaves the upstream buffer (stage ``s - 1``'s channel
        releases its packets from ``head`` to ``tail``), its head reaches stage ``s + 1``
        at ``head + l_s`` (tail ``tail + l_s``), and so on, until it must wait for an
        event or is delivered.

        The arrival at the next stage is an item of the instant at ``now + delay``,
        ``delay = head + l_s - now`` (the time SimPy gives a timeout of ``delay``; a new
        instant is a new SimPy timeout), unless that delay is not positive (then the
        chunk asks the stage at once).  After the last stage the chunk is
        delivered: without an ejection stage the destination core takes its packets as
        they arrive (the last buffer is released at once).
        """
        n, stages, lats, links, tc, i0 = self.chunk[c]
        last, ready = len(stages) - 1, self.current
        while True:
            if stalled:
                self.stalls += 1
            if s == 0:  # injected
                self.injected += n
                self.out_packets[self.src[tc]] += n
                head, tail = head + self.inject_s, tail + self.inject_s
            else:
                stages[s - 1].release(now, n, head, tail, ready)
                link = links[s]
                if link is not None:
                    self.link_packets[link] += n
                latency = lats[s]
                head, tail = head + latency, tail + latency
            if s == last:
                break
            s += 1
            delay = head - now
            if delay > 0:
                at = now + delay  # the time SimPy gives a timeout of ``delay``
                items = ready if at == now else self.instants.get(at)
                if items is None:
                    items = self.instant_at(at, delay)
                items.append((c, s, head, tail, None))
                return
            grant = stages[s].request(now, head, n, tail, c, s)
            if grant is None:
                return
            head, tail, stalled = grant
        if self.release_last:
            stages[last].release(now, n, head, tail, ready)
        self.deliver(tc, i0, n, head, tail)

    def deliver(self, t: int, i0: int, n: int, head_done: float, tail_done: float) -> None:
        """Count a delivered chunk: packets ``i0 .. i0+n-1`` of train ``t``, head and tail
        delivered at ``head_done`` / ``tail_done`` (s).

        A packet's latency runs from its nominal injection start (``ready = nominal_s[t]
        + i0 * inject_s`` for the head, ``+ (n-1) inject_s`` for the tail) to its
        delivery; in between it is interpolated linearly, so the chunk adds ``n (head +
        tail) / 2`` to the latency sum and ``n * max(0, excess)`` to the queueing delay,
        ``excess`` = the mean over head and tail of (latency - zero-load latency
        ``first_s[t] + i (period_s[t] - inject_s)``).  The sums run in event order.
        """
        self.delivered += n
        self.in_packets[self.dst[t]] += n
        first, period, inject_s = self.first_s[t], self.period_s[t], self.inject_s
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


class SimpyNoc(NocBase):
    """Reference NoC model: discrete-event simulation in SimPy's event order (see the
    module doc).

    Args:
        chip: the chip or system (mesh, NoC timing, injection/ejection time per packet,
            chip-to-chip links).
        core_router: ``core_router[k]`` = global router id of logical core ``k``.
        chunk_packets: packets per chunk, ``1 .. noc.buffer_depth`` (default: the
            buffer depth); 1 gives a packet-level simulation.
        compiled: run the bookkeeping in the compiled kernel
            (:mod:`chipemu.noc.simpy_compiled`): ``None`` (default) if it is installed,
            ``True`` requires it, ``False`` runs it in Python.  Results are identical.
    """

    name = "simpy"

    def __init__(self, chip, core_router, *, chunk_packets: int | None = None,
                 compiled: bool | None = None):
        super().__init__(chip, core_router, chunk_packets=chunk_packets)
        if compiled not in (None, True, False):
            raise ChipemuError(f"NoC on chip {chip.name}: compiled = {compiled!r} is invalid "
                               f"(allowed: None, True, False)")
        if compiled and StepKernel is None:
            raise ChipemuError("NoC: compiled = True, but the compiled SimPy NoC kernel "
                               "(_chipemu_noc_kernel) is not installed (reinstall chipemu with a C "
                               "compiler, or use compiled = None)")
        #: the compiled execution, or None (the pure-Python bookkeeping)
        self._compiled = (CompiledStep(self, StepKernel)
                          if StepKernel is not None and compiled is not False else None)
        t, topo = self.timing, self.topology
        self.link_latency = t.link_latency_s(topo).tolist()
        self.link_period = t.link_periods_s(topo).tolist()
        self._routes: dict[tuple[int, int], list[int]] = {}
        # the channels (made when first used, emptied for every step): injection port and
        # ejection port per core, one per link; the stages of every train seen so far
        self._port: list = [None] * self.n_cores
        self._eject: list = [None] * self.n_cores
        self._link: list = [None] * topo.n_links
        self._train_stages: dict[int, tuple[list, list, list]] = {}

    def route(self, src_router: int, dst_router: int) -> list[int]:
        """The links of the route between two routers (cached; the cache holds at most
        ``_ROUTES_CACHED`` pairs and starts afresh when full)."""
        key = (src_router, dst_router)
        route = self._routes.get(key)
        if route is None:
            if len(self._routes) >= _ROUTES_CACHED:
                self._routes.clear()
            route = self._routes[key] = self.topology.route(src_router, dst_router).tolist()
        return route

    def train_stages(self, src: int, dst: int) -> tuple[list, list, list]:
        """The stages of a train from core ``src`` to core ``dst`` (cached): ``(channels,
        latencies, link ids)``, one entry per stage: the injection port (latency and link
        unused), the links of the route, the ejection port if ``time.message_in > 0``
        (link None).  Channels are reused from step to step (:meth:`fresh_channels`)."""
        key = src * self.n_cores + dst
        stages = self._train_stages.get(key)
        if stages is None:
            if len(self._train_stages) >= _TRAINS_CACHED:
                self._train_stages.clear()  # bounded memory on big systems
            t, depth = self.timing, self.timing.buffer_depth
            if self._port[src] is None:
                self._port[src] = _Channel(t.inject_s, depth)
            route = self.route(int(self.core_router[src]), int(self.core_router[dst]))
            for link in route:
                if self._link[link] is None:
                    self._link[link] = _Channel(self.link_period[link], depth)
            chans = [self._port[src], *(self._link[link] for link in route)]
            lats = [None, *(self.link_latency[link] for link in route)]
            links = [None, *route]
            if t.eject_s > 0:
                if self._eject[dst] is None:
                    self._eject[dst] = _Channel(t.eject_s, None)
                chans.append(self._eject[dst])
                lats.append(t.eject_s)
                links.append(None)
            stages = self._train_stages[key] = (chans, lats, links)
        return stages

    def fresh_channels(self, tr: Traffic) -> list[_Channel]:
        """Empty the channels of a step's trains (all created by :meth:`train_stages`),
        which returns them; cost grows with the step's cores and routes."""
        n_routers = self.topology.n_routers
        channels = [self._port[k] for k in np.unique(tr.src).tolist()]
        if self.timing.eject_s > 0:
            channels += [self._eject[k] for k in np.unique(tr.dst).tolist()]
        links = set()
        for pair in np.unique(tr.src_router * n_routers + tr.dst_router).tolist():
            links.update(self.route(pair // n_routers, pair % n_routers))
        channels += [self._link[link] for link in sorted(links)]
        for channel in channels:
            channel.reset()
        return channels

    @property
    def compiled(self) -> bool:
        """Whether this model runs its bookkeeping in the compiled kernel."""
        return self._compiled is not None

    def _run(self, tr: Traffic, counts: TrafficCounts) -> NocStepResult:
        if self._compiled is not None:
            return self._compiled.run(tr, counts)
        return _StepSim(self, tr, counts).run()
