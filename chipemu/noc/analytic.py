"""Closed-form NoC model for large sweeps: numpy only, no event simulation.

Traffic counters (packets, hops by direction, packets per link, per core in/out, trains,
chunks) are computed exactly and equal the SimPy model's.  Timing (``docs/noc.md``):

* zero load: train ``t`` (``c`` packets) is ready to inject at ``I`` = ``message_out`` x
  packets its source core injects before it; its tail is delivered at
  ``own = I + L1 + (c - 1) * period`` (``L1`` = latency of one packet alone,
  ``period`` = its slowest stage);
* contention: every link (and every ejection port, if ``time.message_in > 0``) is a
  first-come-first-served server.  A train reaches it at its free-flow time (no delay
  upstream) and holds it for ``(c - 1) * max(message_out, 1/bandwidth) + 1/bandwidth``
  seconds; its wait ``w`` there follows from the Lindley recursion
  (:func:`fifo_waits`).  The train is delayed by its largest wait over its route:
  delivery of the tail ``= own + max w``, and every packet of the train waits ``max w``.

No back-pressure, no propagation of delays to later links: exact for trains that do not
meet, close at low load, and low at high load (see ``docs/noc.md`` for measured
numbers).  ``stalls`` is always 0.
"""

from __future__ import annotations

import numpy as np

from chipemu.noc.base import NocBase, StepCounts, zero_load
from chipemu.noc.result import NocStepResult
from chipemu.noc.traffic import Traffic

__all__ = ["AnalyticNoc", "fifo_waits"]


def fifo_waits(server: np.ndarray, arrival: np.ndarray, work: np.ndarray) -> np.ndarray:
    """Waiting time (s) of jobs at first-come-first-served servers (Lindley recursion).

    Job ``k`` arrives at ``server[k]`` at ``arrival[k]`` (s) and needs ``work[k]`` (s) of
    it.  Per server, in arrival order: ``start_k = max(arrival_k, start_{k-1} +
    work_{k-1})``, solved in closed form as ``start_k = W_k + max_{j<=k}(arrival_j -
    W_j)`` with ``W_k`` the work of the earlier jobs.  Returns ``start - arrival``.
    """
    if server.size == 0:
        return np.zeros(0)
    order = np.lexsort((arrival, server))  # ties: by input order (lexsort is stable)
    srv, a, w = server[order], arrival[order], work[order]
    new = np.r_[True, srv[1:] != srv[:-1]]
    group = np.cumsum(new) - 1
    before = np.cumsum(w) - w
    before = before - before[new][group]  # work of the earlier jobs at the same server
    x = a - before
    # running maximum of x inside each server, exactly: on integer ranks of x, offset
    # per server so that the maximum never reaches back into the previous server
    by_value = np.argsort(x, kind="stable")
    rank = np.empty(x.size, dtype=np.int64)
    rank[by_value] = np.arange(x.size)
    offset = group * x.size
    best = x[by_value[np.maximum.accumulate(rank + offset) - offset]]
    waits = np.empty_like(a)
    waits[order] = before + best - a
    return np.maximum(waits, 0.0)


class AnalyticNoc(NocBase):
    """Closed-form NoC model (see the module doc); same interface as :class:`SimpyNoc`."""

    name = "analytic"

    def _run(self, tr: Traffic, counts: StepCounts) -> NocStepResult:
        t = self.timing
        c = tr.count
        n_links, n_cores = self.topology.n_links, self.n_cores
        links, _ = self.topology.routes(tr.src_router, tr.dst_router)
        on_route = links >= 0
        row = np.broadcast_to(np.arange(c.size)[:, None], links.shape)[on_route]
        route_links = links[on_route]  # every (train, hop), train by train
        counts.link += np.bincount(route_links, weights=c[row],
                                   minlength=n_links).astype(np.int64)
        counts.out += np.bincount(tr.src, weights=c, minlength=n_cores).astype(np.int64)
        counts.into += np.bincount(tr.dst, weights=c, minlength=n_cores).astype(np.int64)

        first, period = zero_load(tr, t)
        ready = t.inject_s * tr.packets_before()  # I: nominal injection start, s
        own = ready + first + (c - 1) * period    # zero-load delivery of the tail, s

        # free-flow arrival of each train's head at each link of its route, s
        hop_s = np.where(self.topology.link_is_ns[route_links], t.hop_ns_s, t.hop_ew_s)
        hop_cum = np.zeros(links.shape)
        hop_cum[on_route] = hop_s
        arrive = ready[:, None] + t.inject_s + np.cumsum(hop_cum, axis=1) - hop_cum
        # seconds a train holds a link / the ejection port (its packets stream through)
        upstream_period = max(t.inject_s, t.link_period_s)
        link_work = (c - 1) * upstream_period + t.link_period_s
        eject_work = (c - 1) * period + t.eject_s
        wait_link = np.zeros(links.shape)
        wait_link[on_route] = fifo_waits(route_links, arrive[on_route], link_work[row])
        wait = wait_link.max(axis=1) if links.shape[1] else np.zeros(c.size)
        if t.eject_s > 0:
            eject_arrive = ready + first - t.eject_s
            wait = np.maximum(wait, fifo_waits(tr.dst, eject_arrive, eject_work))

        # every packet of a train is delayed by its wait at its most contended stage
        done = own + wait
        head_lat = first + wait
        tail_lat = done - (ready + (c - 1) * t.inject_s)
        hops_ns = int(counts.link[self.topology.link_is_ns].sum())
        hops = int(counts.link.sum())
        packets = tr.packets
        return NocStepResult(
            drain_s=float(done.max()), packets=packets, hops=hops, hops_ew=hops - hops_ns,
            hops_ns=hops_ns, stalls=0, queue_delay_s=float((c * wait).sum()),
            max_latency_s=float(max(head_lat.max(), tail_lat.max())),
            latency_sum_s=float((c * (head_lat + tail_lat)).sum() / 2),
            trains=tr.n_trains, chunks=int((-(-c // self.chunk_packets)).sum()),
            injected=packets, delivered=packets, max_link_packets=int(counts.link.max()))
