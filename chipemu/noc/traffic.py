"""Inputs shared by both NoC models: validated message trains and the timing constants.

A *train* is every packet of one step that goes from one source core to one destination
core (the chip runner aggregates per ``(source, destination)``).  :func:`make_traffic`
checks the runner's arrays and puts the trains in the canonical order both models use:
by source core, then destination core.  That order is also the order in which a source
core injects its trains.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chipemu.errors import ChipemuError
from chipemu.hardware import Hardware

__all__ = ["NocTiming", "Traffic", "make_traffic", "check_core_router"]


@dataclass(frozen=True)
class NocTiming:
    """Timing of the NoC stages, read from a :class:`ChipSpec` (all in seconds).

    A packet passes through *stages*: the injection port of its source core, the links of
    its route, and (if ``eject_s > 0``) the ejection port of its destination core.  Every
    stage has a *period* (seconds one packet occupies it; the stage's throughput is
    1/period) and a *latency* (seconds from a packet starting the stage to the packet
    reaching the next one).

    Attributes:
        inject_s: injection period = latency, ``time.message_out`` (s/packet).
        eject_s: ejection period = latency, ``time.message_in`` (s/packet); 0 means the
            ejection stage is not modelled.
        link_period_s: ``1 / noc.link_bandwidth_pps`` (s/packet on one link).
        hop_ew_s, hop_ns_s: hop latency east-west / north-south (s).
        buffer_depth: packets one router input buffer holds (packets).
        chip_period_s: ``1 / link.bandwidth_pps`` of a chip-to-chip link (s/packet).
        chip_hop_s: latency of one chip-to-chip crossing (s).

    A chip has no chip-to-chip links; its ``chip_*`` figures are never used.
    """

    inject_s: float
    eject_s: float
    link_period_s: float
    hop_ew_s: float
    hop_ns_s: float
    buffer_depth: int
    chip_period_s: float = 0.0
    chip_hop_s: float = 0.0

    @classmethod
    def from_chip(cls, spec) -> "NocTiming":
        """The timing of a chip or of a system of chips (its ``link`` figures)."""
        chip, link = spec.chip, getattr(spec, "link", None)
        return cls(inject_s=chip.time.message_out, eject_s=chip.time.message_in,
                   link_period_s=1.0 / chip.noc.link_bandwidth_pps,
                   hop_ew_s=chip.noc.hop_time_ew_s, hop_ns_s=chip.noc.hop_time_ns_s,
                   buffer_depth=chip.noc.buffer_depth,
                   chip_period_s=1.0 / link.bandwidth_pps if link is not None else 0.0,
                   chip_hop_s=link.hop_time_s if link is not None else 0.0)

    def link_latency_s(self, hw: Hardware) -> np.ndarray:
        """``(n_links,)`` latency of every link by its kind (s)."""
        return np.array([self.hop_ew_s, self.hop_ns_s, self.chip_hop_s])[hw.link_kind]

    def link_periods_s(self, hw: Hardware) -> np.ndarray:
        """``(n_links,)`` period of every link by its kind (s/packet)."""
        return np.array([self.link_period_s, self.link_period_s, self.chip_period_s])[hw.link_kind]

    def period(self, has_hops, has_chip_hops=False):
        """Bottleneck period of an isolated train (s/packet): the slowest of its stages.

        ``max(inject_s, eject_s, link_period_s if the train crosses an on-chip link,
        chip_period_s if it crosses a chip-to-chip link)``; works on scalars and bool
        arrays.
        """
        link = np.where(has_hops, self.link_period_s, 0.0)
        link = np.maximum(link, np.where(has_chip_hops, self.chip_period_s, 0.0))
        return np.maximum(np.maximum(self.inject_s, self.eject_s), link)


@dataclass(frozen=True)
class Traffic:
    """Validated trains of one step, canonical order (source core, then destination core).

    Only trains between *different* cores with a positive count are kept.

    Attributes:
        src, dst: ``(T,)`` source and destination core ids.
        count: ``(T,)`` packets per train (> 0).
        src_router, dst_router: ``(T,)`` router of each end.
        hops_ew, hops_ns: ``(T,)`` on-chip hops of the route by direction.
        hops_chip: ``(T,)`` chip-to-chip crossings of the route.
        self_packets: packets a core addressed to itself (not network traffic, dropped).
    """

    src: np.ndarray
    dst: np.ndarray
    count: np.ndarray
    src_router: np.ndarray
    dst_router: np.ndarray
    hops_ew: np.ndarray
    hops_ns: np.ndarray
    hops_chip: np.ndarray
    self_packets: int

    @property
    def n_trains(self) -> int:
        return int(self.src.size)

    @property
    def packets(self) -> int:
        return int(self.count.sum())

    def packets_before(self) -> np.ndarray:
        """``(T,)`` packets the source core of each train injects before that train
        (trains of a core are injected in canonical order)."""
        before = np.cumsum(self.count) - self.count
        starts = np.flatnonzero(np.r_[True, self.src[1:] != self.src[:-1]])
        return before - np.repeat(before[starts], np.diff(np.r_[starts, self.src.size]))


def check_core_router(spec, hw: Hardware, core_router) -> np.ndarray:
    """Validate ``core_router[k]`` (global router of logical core k); returns an int64 copy.

    A router hosts at most ``mesh.cores_per_router`` cores.
    """
    a = np.asarray(core_router)
    if a.ndim != 1 or a.size == 0 or a.dtype.kind not in "iu":
        raise ChipemuError(f"NoC on chip {spec.name}: core_router must be a non-empty 1-D "
                           f"integer array (got shape {a.shape}, dtype {a.dtype})")
    a = a.astype(np.int64)
    bad = (a < 0) | (a >= hw.n_routers)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ChipemuError(f"NoC on chip {spec.name}: core_router[{k}] = {a[k]} out of range "
                           f"(allowed: router 0..{hw.n_routers - 1})")
    per_router = np.bincount(a)
    if per_router.max() > hw.cores_per_router:
        r = int(per_router.argmax())
        raise ChipemuError(f"NoC on chip {spec.name}: router {r} hosts {per_router[r]} cores "
                           f"(allowed: at most mesh.cores_per_router = "
                           f"{hw.cores_per_router})")
    return a


def _int_array(name: str, v) -> np.ndarray:
    a = np.asarray(v)
    if a.ndim != 1:
        raise ChipemuError(f"NoC step: {name} must be a 1-D array (got shape {a.shape})")
    if a.size == 0:
        return np.zeros(0, dtype=np.int64)
    if a.dtype.kind not in "iu":
        raise ChipemuError(f"NoC step: {name} must hold integers (got dtype {a.dtype})")
    return a.astype(np.int64, copy=False)  # read only: the caller's int64 array itself


def make_traffic(topo: Hardware, core_router: np.ndarray, src_core, dst_core,
                 count) -> Traffic:
    """Check one step's trains and return them in canonical order.

    Raises :class:`ChipemuError` for arrays that are not 1-D integer, of different
    lengths, with a core id outside ``0..K-1`` or a negative count.  Trains that repeat a
    ``(source, destination)`` pair are merged; self-addressed trains are dropped and
    counted in :attr:`Traffic.self_packets`.
    """
    src, dst, cnt = (_int_array(n, v) for n, v in
                     (("src_core", src_core), ("dst_core", dst_core), ("count", count)))
    if not (src.size == dst.size == cnt.size):
        raise ChipemuError(f"NoC step: src_core, dst_core and count have lengths {src.size}, "
                           f"{dst.size}, {cnt.size} (allowed: the same length)")
    n_cores = core_router.size
    for name, a in (("src_core", src), ("dst_core", dst)):
        bad = (a < 0) | (a >= n_cores)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ChipemuError(f"NoC step: {name}[{i}] = {a[i]} out of range "
                               f"(allowed: core id 0..{n_cores - 1})")
    if (cnt < 0).any():
        i = int(np.flatnonzero(cnt < 0)[0])
        raise ChipemuError(f"NoC step: count[{i}] = {cnt[i]} is negative "
                           f"(allowed: packets >= 0)")
    own = src == dst
    self_packets = int(cnt[own].sum()) if own.any() else 0
    keep = ~own & (cnt > 0)
    if not keep.all():
        src, dst, cnt = src[keep], dst[keep], cnt[keep]
    key = src * n_cores + dst
    if key.size > 1 and not (key[1:] > key[:-1]).all():  # (the chip runner's trains are in order)
        key, inverse = np.unique(key, return_inverse=True)  # sorted: src, dst
        cnt = np.bincount(inverse.reshape(-1), weights=cnt, minlength=key.size).astype(np.int64)
        src, dst = key // n_cores, key % n_cores
    sr, dr = core_router[src], core_router[dst]
    ew, ns, chip = topo.hop_counts(sr, dr)
    return Traffic(src=src, dst=dst, count=cnt, src_router=sr, dst_router=dr,
                   hops_ew=np.asarray(ew, dtype=np.int64), hops_ns=np.asarray(ns, dtype=np.int64),
                   hops_chip=np.asarray(chip, dtype=np.int64), self_packets=self_packets)
