"""The SimPy NoC model with its bookkeeping compiled: SimPy's events, the kernel's rules.

:class:`~chipemu.noc.simpy_model.SimpyNoc` runs one of two executions of the same model
(``docs/noc.md``): its pure-Python bookkeeping (``simpy_model._StepSim``), or this one,
where the channel and chunk rules of ``simpy_model`` run in a small C extension
(``chipemu/noc/_simpy_kernel.c``, module ``_chipemu_noc_kernel``, built by ``pip
install``).  Both give bit-identical results (``tests/test_noc_equivalence.py`` checks
both against the first SimPy model, step by step).

**Events.**  SimPy is the engine: its calendar holds one event per *NoC cycle* in which
something happens.  The cycle is the on-chip link period ``W = 1 / noc.link_bandwidth_pps``
(6.5 ns on Loihi 1), the time a link takes to forward one packet.  At each SimPy event
(time ``t``, the earliest pending instant) the kernel processes every instant before
``t + W`` in time order, including instants that processing creates inside the cycle, and,
within an instant, items in scheduling order; then the next SimPy event is scheduled at the
next pending instant, so idle cycles cost nothing.  The kernel keeps the model's time order
whatever the cycle, so ``W`` changes the cost, never the results (``W = 0`` would give one
SimPy event per instant, as in the pure-Python execution; a test checks both agree).

Per step the trains' stages are built with numpy (routes of router pairs kept across
steps in a :class:`~chipemu.noc.routetable.RouteTable`) and handed to the kernel as flat
arrays: cost grows with the step's trains, chunks and their hops, never with core pairs.
"""

from __future__ import annotations

import numpy as np
import simpy
from simpy.events import Timeout

from chipemu.noc.base import TrafficCounts, step_result, zero_load
from chipemu.noc.result import NocStepResult
from chipemu.noc.routetable import RouteTable
from chipemu.noc.traffic import Traffic

__all__ = ["CompiledStep"]


class CompiledStep:
    """Runs the steps of one :class:`~chipemu.noc.simpy_model.SimpyNoc` with the kernel.

    Channel numbering (the kernel's): injection port of core ``k`` -> ``k``; link ``l`` ->
    ``K + l``; ejection port of core ``k`` -> ``K + L + k`` (K cores, L links).

    Args:
        noc: the model (timing, topology, cores, chunk size).
        kernel_type: ``_chipemu_noc_kernel.StepKernel``.
    """

    def __init__(self, noc, kernel_type):
        t, topo = noc.timing, noc.topology
        K, L = noc.n_cores, topo.n_links
        self.noc, self.n_cores, self.n_links = noc, K, L
        self.inject_s, self.eject_s = t.inject_s, t.eject_s
        periods = np.concatenate([np.full(K, t.inject_s), t.link_periods_s(topo), np.full(K, t.eject_s)])
        depths = np.concatenate([np.full(K + L, t.buffer_depth, dtype=np.int64), np.full(K, -1, dtype=np.int64)])
        #: routes of the router pairs that carry traffic, kept across steps
        self.routes = RouteTable(topo, t, noc.core_router)
        self.kernel = kernel_type(periods, depths, t.inject_s, not t.eject_s > 0, L, K)
        #: the NoC cycle (s): one SimPy event covers the instants of one cycle
        self.window_s = t.link_period_s
        #: SimPy events and instants (distinct event times) of the last step
        self.events = self.instants = 0

    def stages(self, tr: Traffic) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The stages of every train, flat: ``(train_off, channel, latency s, link id or
        -1)``; train ``t``'s are entries ``train_off[t] .. train_off[t+1]-1``: its
        injection port, the links of its route, its ejection port if modelled."""
        K, L, table = self.n_cores, self.n_links, self.routes
        rows = table.rows(tr.src_router, tr.dst_router)
        hops = table.n_hops[rows]
        eject = 1 if self.eject_s > 0 else 0
        train_off = np.zeros(rows.size + 1, dtype=np.int64)
        np.cumsum(1 + hops + eject, out=train_off[1:])
        first = train_off[:-1]
        size = int(train_off[-1])
        chan = np.empty(size, dtype=np.int64)
        lat = np.zeros(size)
        link = np.full(size, -1, dtype=np.int64)
        chan[first] = tr.src
        n_hops = int(hops.sum())
        if n_hops:
            j = np.arange(n_hops) - np.repeat(np.cumsum(hops) - hops, hops)  # hop index in its route
            route_links = table.link[np.repeat(table.ptr[rows], hops) + j].astype(np.int64)
            at = np.repeat(first + 1, hops) + j
            chan[at] = K + route_links
            link[at] = route_links
            lat[at] = table.link_latency[route_links]
        if eject:
            at = first + 1 + hops
            chan[at] = K + L + tr.dst
            lat[at] = self.eject_s
        return train_off, chan, lat, link

    def chunks(self, tr: Traffic) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The chunks in canonical order: ``(train, first packet, packets)`` arrays."""
        size, count = self.noc.chunk_packets, tr.count
        per_train = (count + size - 1) // size
        train = np.repeat(np.arange(count.size, dtype=np.int64), per_train)
        starts = np.cumsum(per_train) - per_train
        first = (np.arange(train.size, dtype=np.int64) - starts[train]) * size
        return train, first, np.minimum(size, count[train] - first)

    def run(self, tr: Traffic, counts: TrafficCounts) -> NocStepResult:
        """Simulate one step's NoC phase; the step's result (packets per link and core
        are added to ``counts``)."""
        kernel, window = self.kernel, self.window_s
        first_s, period_s = zero_load(tr, self.noc.timing)
        train_off, chan, lat, link = self.stages(tr)
        train, i0, n = self.chunks(tr)
        kernel.start(n, train, i0, train_off, chan, lat, link,
                     np.ascontiguousarray(tr.src), np.ascontiguousarray(tr.dst),  # (caller's arrays)
                     np.ascontiguousarray(first_s, dtype=np.float64),
                     np.ascontiguousarray(period_s, dtype=np.float64),
                     self.inject_s * tr.packets_before())
        env = simpy.Environment()
        state = [0.0, 0]  # the time of the current window's first instant (s); SimPy events

        def on_window(event: Timeout) -> None:
            state[1] += 1
            nxt = kernel.advance(window)
            if nxt >= 0.0:
                Timeout(env, nxt - state[0]).callbacks.append(on_window)
                state[0] = nxt

        Timeout(env, 0.0).callbacks.append(on_window)
        env.run()
        self.events = state[1]
        drain_s, stalls, injected, delivered, queue_delay_s, latency_sum_s, max_latency_s, blocked, \
            self.instants = kernel.finish(counts.link, counts.out, counts.into)
        if not (injected == delivered == tr.packets):
            raise RuntimeError(  # a bug, not bad input: the network lost or made packets
                f"NoC conservation violated: {tr.packets} packets offered, {injected} "
                f"injected, {delivered} delivered, {blocked} chunks blocked")
        noc = self.noc
        return step_result(tr, counts, noc.topology.link_is_ns, noc.link_is_chip, drain_s=drain_s,
                           stalls=stalls, queue_delay_s=queue_delay_s, max_latency_s=max_latency_s,
                           latency_sum_s=latency_sum_s, chunks=int(train.size), injected=injected,
                           delivered=delivered)
