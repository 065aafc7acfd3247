"""The NoC model interface and the bookkeeping both models share."""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol, runtime_checkable

import numpy as np

from chipemu.chips import ChipSpec, SystemSpec
from chipemu.errors import ChipemuError
from chipemu.hardware import CHIP_TO_CHIP, Hardware
from chipemu.noc.result import NocStepResult, NocTotals
from chipemu.noc.traffic import NocTiming, Traffic, check_core_router, make_traffic

__all__ = ["NocModel", "NocBase", "TrafficCounts", "step_result", "zero_load"]


@runtime_checkable
class NocModel(Protocol):
    """What the chip runner needs from a NoC model.

    ``step`` is called once per timestep with that step's message trains (all available
    at time 0 of the NoC phase) and returns when the last packet is delivered.
    """

    name: str
    chip: ChipSpec | SystemSpec
    topology: Hardware
    core_router: np.ndarray
    link_packets: np.ndarray      # (n_links,) cumulative packets per link
    core_packets_out: np.ndarray  # (K,) cumulative packets injected per core
    core_packets_in: np.ndarray   # (K,) cumulative packets delivered per core
    totals: NocTotals

    def step(self, src_core, dst_core, count) -> NocStepResult: ...


class TrafficCounts:
    """Traffic counters of one step, filled in by a model (packets)."""

    def __init__(self, n_links: int, n_cores: int):
        self.link = np.zeros(n_links, dtype=np.int64)
        self.out = np.zeros(n_cores, dtype=np.int64)
        self.into = np.zeros(n_cores, dtype=np.int64)


def zero_load(tr: Traffic, timing: NocTiming) -> tuple[np.ndarray, np.ndarray]:
    """Zero-load figures of every train, ``(first_latency_s, period_s)``.

    ``first_latency_s`` = inject_s + hops_ew * hop_ew_s + hops_ns * hop_ns_s + hops_chip *
    chip_hop_s + eject_s is the latency of a packet alone on the network; ``period_s`` is the train's bottleneck
    period (see :meth:`NocTiming.period`).  Packet ``i`` (0-based) of an isolated train,
    ready at ``t0 + i * inject_s``, is delivered at ``t0 + first_latency_s + i * period_s``.
    """
    hop_s = tr.hops_ew * timing.hop_ew_s + tr.hops_ns * timing.hop_ns_s + tr.hops_chip * timing.chip_hop_s
    first = timing.inject_s + hop_s + timing.eject_s
    return first, timing.period((tr.hops_ew + tr.hops_ns) > 0, tr.hops_chip > 0)


def step_result(tr: Traffic, c: TrafficCounts, is_ns: np.ndarray, is_chip: np.ndarray,
                **sums) -> NocStepResult:
    """The step's result from its counters ``c`` (packets per link and core) and the
    simulation's ``sums`` (drain_s, stalls, queue_delay_s, max_latency_s, latency_sum_s,
    chunks, injected, delivered)."""
    hops_ns = int(c.link[is_ns].sum())
    hops_chip = int(c.link[is_chip].sum())
    hops = int(c.link.sum())
    return NocStepResult(
        packets=tr.packets, hops=hops, hops_ew=hops - hops_ns - hops_chip, hops_ns=hops_ns,
        hops_interchip=hops_chip, interchip_packets=int(tr.count[tr.hops_chip > 0].sum()),
        trains=tr.n_trains, max_link_packets=int(c.link.max()), **sums)


class NocBase:
    """Shared part of both models: input checks, cumulative counters, totals.

    Subclasses implement :meth:`_run` for a non-empty :class:`Traffic`.

    Args:
        chip: the chip or system of chips (mesh, NoC timing, ``time.message_out`` /
            ``time.message_in``, chip-to-chip ``link``).
        core_router: ``core_router[k]`` = global router id (:mod:`chipemu.hardware`) of
            logical core ``k``.
        chunk_packets: packets per train fragment (chunk), ``1 .. noc.buffer_depth``;
            default ``noc.buffer_depth``.  1 makes the SimPy model packet-level (exact,
            slower); the analytic model uses it only to count chunks.
    """

    name = "base"

    def __init__(self, chip: ChipSpec | SystemSpec, core_router, *, chunk_packets: int | None = None):
        if not isinstance(chip, (ChipSpec, SystemSpec)):
            raise ChipemuError(f"NoC: chip must be a ChipSpec or SystemSpec (got {type(chip).__name__})")
        depth = chip.noc.buffer_depth
        if chunk_packets is None:
            chunk_packets = depth
        if (isinstance(chunk_packets, bool) or not isinstance(chunk_packets, (int, np.integer))
                or not 1 <= chunk_packets <= depth):
            raise ChipemuError(f"NoC on chip {chip.name}: chunk_packets = {chunk_packets!r} "
                               f"is invalid (allowed: int 1..noc.buffer_depth = {depth})")
        self.chunk_packets = int(chunk_packets)
        self.chip = chip
        self.topology = Hardware.of(chip)
        self.timing = NocTiming.from_chip(chip)
        self.core_router = check_core_router(chip, self.topology, core_router)
        #: chip of every logical core
        self.core_chip = self.topology.router_chip[self.core_router]
        #: links between chips (bool per link id)
        self.link_is_chip = self.topology.link_kind == CHIP_TO_CHIP
        self.n_cores = int(self.core_router.size)
        self.link_packets = np.zeros(self.topology.n_links, dtype=np.int64)
        self.core_packets_out = np.zeros(self.n_cores, dtype=np.int64)
        self.core_packets_in = np.zeros(self.n_cores, dtype=np.int64)
        self.totals = NocTotals()

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(chip={self.chip.name!r}, cores={self.n_cores}, "
                f"steps={self.totals.steps})")

    def step(self, src_core, dst_core, count) -> NocStepResult:
        """Carry one step's trains (core ids and packets per train); see the module doc.

        Raises :class:`~chipemu.errors.ChipemuError` on bad input.
        """
        tr = make_traffic(self.topology, self.core_router, src_core, dst_core, count)
        counts = TrafficCounts(self.topology.n_links, self.n_cores)
        if tr.n_trains:
            result = self._run(tr, counts)
        else:
            result = NocStepResult()
        if tr.self_packets:
            result = replace(result, self_packets=tr.self_packets)
        self.link_packets += counts.link
        self.core_packets_out += counts.out
        self.core_packets_in += counts.into
        self.totals.add(result)
        return result

    def _run(self, tr: Traffic, counts: TrafficCounts) -> NocStepResult:
        raise NotImplementedError

    def reset(self) -> None:
        """Zero the cumulative counters and totals."""
        self.link_packets[:] = 0
        self.core_packets_out[:] = 0
        self.core_packets_in[:] = 0
        self.totals = NocTotals()

