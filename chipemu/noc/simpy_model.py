"""The reference NoC model: a discrete-event SimPy simulation at chunk granularity.

What is simulated (equations in ``docs/noc.md``):

* **Stages.**  A packet passes the injection port of its source core, the links of its
  XY route, and the ejection port of its destination core (only if
  ``time.message_in > 0``).  Every stage serves one packet at a time, first come first
  served, with a *period* ``p`` (seconds a packet occupies it) and a *latency* ``l``
  (seconds until the packet reaches the next stage): injection ``p = l =
  time.message_out``; link ``p = 1 / noc.link_bandwidth_pps``, ``l = noc.hop_time_ew_s``
  or ``noc.hop_time_ns_s``; ejection ``p = l = time.message_in``.
* **Buffers.**  Every router input (one per incoming link, one per local core's port)
  holds ``noc.buffer_depth`` packets.  Packets wait, never drop.
* **Chunks.**  A train of ``c`` packets moves as ``ceil(c / chunk_packets)`` chunks
  (``chunk_packets`` defaults to ``noc.buffer_depth``; 1 is an exact packet-level
  simulation); every chunk is one SimPy process.  A chunk is tracked by its head and its
  tail, and its packets are taken to be evenly spaced in between.
* **Streaming (cut-through).**  At a stage with period ``p`` and latency ``l`` the head
  starts at ``S = max(head arrival, stage free, 1 place free downstream)`` and reaches
  the next router at ``S + l``, before the tail has arrived.  The tail starts at
  ``max(S + (n-1) p, tail arrival, n places free downstream)``; the stage is free again
  at ``tail start + p``.  The chunk's packets leave the upstream buffer evenly from
  ``S`` to ``tail start``.
* **Back-pressure.**  While the downstream buffer has no room the chunk waits and keeps
  the stage (head-of-line blocking); every wait for room is one ``stall``.  Routing is
  XY, so the stage-to-buffer dependencies are acyclic and the network cannot deadlock.

Stages are *reservation channels* (:class:`_Channel`): a stage keeps the time it is next
free and the release times of the chunks in the buffer it feeds, so a chunk that can
see when it will be served computes its start time at once and sleeps until its head
reaches the next router: one SimPy timeout per (chunk, stage).  A chunk whose room
depends on chunks that have not moved on yet waits on a SimPy event that the channel
triggers when they do.  SimPy work therefore scales with chunks x hops, not packets.
Ties are broken by SimPy's deterministic event order and FIFO queues, so equal inputs
give identical results.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import simpy

from chipemu.noc.base import NocBase, StepCounts, zero_load
from chipemu.noc.result import NocStepResult
from chipemu.noc.traffic import Traffic

__all__ = ["SimpyNoc"]

_NEVER = float("-inf")


class _Slot:
    """A chunk's ``n`` packets in a buffer.  They leave it one by one, evenly spaced from
    ``first`` to ``last`` (s); both are None until the chunk has been granted its next
    stage."""

    __slots__ = ("n", "first", "last")

    def __init__(self, n: int):
        self.n = n
        self.first: float | None = None
        self.last: float | None = None

    def leave_times(self) -> list[float]:
        if self.n == 1:
            return [self.last]
        step = (self.last - self.first) / (self.n - 1)
        return [self.first + i * step for i in range(self.n)]


class _Grant:
    """A stage granted to a chunk: when its head and its tail start (s), its room in the
    buffer downstream, and whether it waited for that room (back-pressure)."""

    __slots__ = ("head", "tail", "slot", "stalled")

    def __init__(self, head: float, tail: float, slot: _Slot | None, stalled: bool):
        self.head, self.tail, self.slot, self.stalled = head, tail, slot, stalled


class _Channel:
    """One stage, first come first served, and the buffer it feeds.

    Args:
        env: the step's SimPy environment.
        period: seconds one packet occupies the stage.
        depth: packets the downstream buffer holds; ``None`` for a core (no limit).
    """

    __slots__ = ("env", "period", "depth", "free_at", "held", "occupied", "queue")

    def __init__(self, env: simpy.Environment, period: float, depth: int | None):
        self.env = env
        self.period = period
        self.depth = depth
        self.free_at = _NEVER        # when the stage can take the next head (s)
        self.held: list[_Slot] = []  # chunks that crossed and may still be in the buffer
        self.occupied = 0            # packets in ``held``
        self.queue: deque = deque()  # chunks waiting for room, in arrival order

    def request(self, arrival: float, n: int, tail: float):
        """Ask for the stage for ``n`` packets whose head arrives at ``arrival`` and whose
        tail arrives at ``tail`` (s).  Returns a :class:`_Grant`, or a SimPy event that
        succeeds with one as soon as the buffer room can be known."""
        if not self.queue:
            grant = self._try(arrival, n, tail)
            if grant is not None:
                return grant
        event = self.env.event()
        self.queue.append((event, arrival, n, tail))
        return event

    def release(self, slot: _Slot, first: float, last: float) -> None:
        """A chunk in this stage's buffer moves on: its packets leave from ``first`` to
        ``last`` (s).  Chunks waiting for that room are served."""
        slot.first, slot.last = first, last
        while self.queue:
            event, arrival, n, tail = self.queue[0]
            grant = self._try(arrival, n, tail)
            if grant is None:
                break
            self.queue.popleft()
            event.succeed(grant)

    def _try(self, arrival: float, n: int, tail: float) -> _Grant | None:
        """Grant the stage if the buffer room is known: the head needs one free place,
        the tail needs ``n``.  Never starts before now (a chunk woken late)."""
        rooms = self._room(n)
        if rooms is None:
            return None
        room_head, room_tail = rooms
        ready = max(arrival, self.free_at)
        head = max(ready, room_head, self.env.now)
        stream = max(head + (n - 1) * self.period, tail)
        tail_start = max(stream, room_tail)
        self.free_at = tail_start + self.period
        slot = None
        if self.depth is not None:
            slot = _Slot(n)
            self.held.append(slot)
            self.occupied += n
        return _Grant(head, tail_start, slot, room_head > ready or room_tail > stream)

    def _room(self, n: int) -> tuple[float, float] | None:
        """Earliest times (s) the buffer has room for 1 and for ``n`` more packets; None
        while that depends on chunks that have not been granted their next stage."""
        if self.depth is None or self.occupied + n <= self.depth:
            return _NEVER, _NEVER
        now = self.env.now
        self.held = [s for s in self.held if s.last is None or s.last > now]
        self.occupied = sum(s.n for s in self.held)
        if self.occupied + n <= self.depth:
            return _NEVER, _NEVER
        leaving, unknown = [], 0
        for s in self.held:
            if s.last is None:
                unknown += s.n
            else:
                leaving += [t for t in s.leave_times() if t > now]
        excess = unknown + len(leaving) - self.depth  # places to free before one fits
        if excess + n > len(leaving):
            return None
        leaving.sort()
        head = leaving[excess] if excess >= 0 else _NEVER
        tail = leaving[excess + n - 1] if excess + n > 0 else _NEVER
        return head, tail


class _StepSim:
    """One NoC phase: the SimPy environment, its channels and its counters."""

    def __init__(self, noc: "SimpyNoc", tr: Traffic, counts: StepCounts):
        self.env = simpy.Environment()
        self.t = noc.timing
        self.chunk_packets = noc.chunk_packets
        self.tr = tr
        self.counts = counts
        links, n_hops = noc.topology.routes(tr.src_router, tr.dst_router)
        self.routes = [row[:n] for row, n in zip(links.tolist(), n_hops.tolist())]
        self.is_ns = noc.topology.link_is_ns
        self.link_latency = np.where(self.is_ns, self.t.hop_ns_s, self.t.hop_ew_s).tolist()
        self.first_s, self.period_s = (a.tolist() for a in zero_load(tr, self.t))
        self.nominal_s = (self.t.inject_s * tr.packets_before()).tolist()
        self.src = tr.src.tolist()
        self.dst = tr.dst.tolist()
        # packet counters as Python lists (cheap increments), copied to ``counts`` at the end
        self.link_packets = [0] * noc.topology.n_links
        self.out_packets = [0] * noc.n_cores
        self.in_packets = [0] * noc.n_cores
        self._ports: dict[int, _Channel] = {}
        self._links: dict[int, _Channel] = {}
        self._ejects: dict[int, _Channel] = {}
        self.stalls = self.chunks = self.injected = self.delivered = 0
        self.drain_s = self.queue_delay_s = self.latency_sum_s = self.max_latency_s = 0.0

    # ---- channels, created on first use ---------------------------------------------

    def _channel(self, table: dict, key: int, period: float, depth: int | None) -> _Channel:
        ch = table.get(key)
        if ch is None:
            ch = table[key] = _Channel(self.env, period, depth)
        return ch

    def port(self, core: int) -> _Channel:
        """Injection port of a core, feeding its input buffer at the local router."""
        return self._channel(self._ports, core, self.t.inject_s, self.t.buffer_depth)

    def link(self, link: int) -> _Channel:
        """A link, feeding the input buffer of the router it leads to."""
        return self._channel(self._links, link, self.t.link_period_s, self.t.buffer_depth)

    def eject_port(self, core: int) -> _Channel:
        """Ejection port of a core (the core itself has no buffer limit)."""
        return self._channel(self._ejects, core, self.t.eject_s, None)

    # ---- the chunk process ----------------------------------------------------------

    def stage(self, channel: _Channel, arrival: float, n: int, tail: float):
        """Wait until ``arrival`` (s), then for ``channel``; returns its :class:`_Grant`."""
        delay = arrival - self.env.now
        if delay > 0:
            yield self.env.timeout(delay)
        grant = channel.request(arrival, n, tail)
        if not isinstance(grant, _Grant):
            grant = yield grant
        if grant.stalled:
            self.stalls += 1
        return grant

    def chunk(self, t: int, i0: int, n: int):
        """Packets ``i0 .. i0+n-1`` of train ``t``: inject, cross every link, eject."""
        src, inject_s, eject_s = self.src[t], self.t.inject_s, self.t.eject_s
        upstream = self.port(src)
        g = yield from self.stage(upstream, 0.0, n, 0.0)
        self.injected += n
        self.out_packets[src] += n
        head, tail, slot = g.head + inject_s, g.tail + inject_s, g.slot
        for link in self.routes[t]:
            channel = self.link(link)
            g = yield from self.stage(channel, head, n, tail)
            upstream.release(slot, g.head, g.tail)  # we leave the upstream buffer
            self.link_packets[link] += n
            latency = self.link_latency[link]
            head, tail, slot, upstream = g.head + latency, g.tail + latency, g.slot, channel
        if eject_s > 0:
            g = yield from self.stage(self.eject_port(self.dst[t]), head, n, tail)
            upstream.release(slot, g.head, g.tail)
            head, tail = g.head + eject_s, g.tail + eject_s
        else:
            upstream.release(slot, head, tail)  # the core takes packets as they arrive
        self.deliver(t, i0, n, head, tail)

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
        self.queue_delay_s += n * max(0.0, (head_lat - head_zero + tail_lat - tail_zero) / 2)
        self.max_latency_s = max(self.max_latency_s, head_lat, tail_lat)
        self.drain_s = max(self.drain_s, tail_done)

    # ---- driver ---------------------------------------------------------------------

    def run(self) -> NocStepResult:
        size = self.chunk_packets
        for t, c in enumerate(self.tr.count.tolist()):  # canonical order = injection order
            for i0 in range(0, c, size):
                self.env.process(self.chunk(t, i0, min(size, c - i0)))
        self.env.run()
        packets = self.tr.packets
        if not (self.injected == self.delivered == packets):
            blocked = sum(len(ch.queue) for d in (self._ports, self._links)
                          for ch in d.values())
            raise RuntimeError(  # a bug, not bad input: the network lost or made packets
                f"NoC conservation violated: {packets} packets offered, {self.injected} "
                f"injected, {self.delivered} delivered, {blocked} chunks blocked")
        c = self.counts
        c.link += np.array(self.link_packets, dtype=np.int64)
        c.out += np.array(self.out_packets, dtype=np.int64)
        c.into += np.array(self.in_packets, dtype=np.int64)
        hops_ns = int(c.link[self.is_ns].sum())
        hops = int(c.link.sum())
        return NocStepResult(
            drain_s=self.drain_s, packets=packets, hops=hops, hops_ew=hops - hops_ns,
            hops_ns=hops_ns, stalls=self.stalls, queue_delay_s=self.queue_delay_s,
            max_latency_s=self.max_latency_s, latency_sum_s=self.latency_sum_s,
            trains=self.tr.n_trains, chunks=self.chunks, injected=self.injected,
            delivered=self.delivered, max_link_packets=int(c.link.max()))


class SimpyNoc(NocBase):
    """Reference NoC model: SimPy discrete-event simulation (see the module doc).

    Args:
        chip: the chip (mesh size, NoC timing, injection/ejection time per packet).
        core_router: ``core_router[k]`` = router index of logical core ``k``.
        chunk_packets: packets per chunk, ``1 .. noc.buffer_depth`` (default: the
            buffer depth); 1 gives a packet-level simulation.
    """

    name = "simpy"

    def _run(self, tr: Traffic, counts: StepCounts) -> NocStepResult:
        return _StepSim(self, tr, counts).run()
