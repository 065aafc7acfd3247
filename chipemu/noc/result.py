"""Per-step results and cumulative totals of a NoC model."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

__all__ = ["NocStepResult", "NocTotals"]


@dataclass(frozen=True)
class NocStepResult:
    """What one NoC phase (one timestep) did.

    Attributes:
        drain_s: seconds from the start of the NoC phase until the last packet is
            delivered (0 if there was no traffic).
        packets: packets between different cores (same-router ones included; they take
            0 hops).
        hops, hops_ew, hops_ns: link traversals summed over packets, all / on-chip
            east-west / on-chip north-south.
        hops_interchip: chip-to-chip link crossings summed over packets
            (``hops = hops_ew + hops_ns + hops_interchip``).
        interchip_packets: packets whose route crosses at least one chip boundary.
        stalls: times a chunk of packets had to wait for buffer space downstream
            (back-pressure), injection buffer included.  Always 0 in the analytic model.
        queue_delay_s: packet-seconds of contention: the sum over packets of (latency -
            zero-load latency), i.e. time spent queueing for busy links/ports and
            waiting under back-pressure.
        max_latency_s: largest packet latency (s), from the moment its source core was
            ready to inject it to its delivery at the destination core.
        latency_sum_s: packet latencies summed (packet-seconds); see :attr:`mean_latency_s`.
        trains: ``(source, destination)`` trains carried.
        chunks: train fragments moved (trains split into <= ``noc.buffer_depth`` packets).
        injected, delivered: packets that entered / left the network (equal to
            ``packets``; conservation is checked).
        self_packets: packets a core addressed to itself (not sent on the NoC).
        max_link_packets: packets on the most loaded link this step.
    """

    drain_s: float = 0.0
    packets: int = 0
    hops: int = 0
    hops_ew: int = 0
    hops_ns: int = 0
    hops_interchip: int = 0
    interchip_packets: int = 0
    stalls: int = 0
    queue_delay_s: float = 0.0
    max_latency_s: float = 0.0
    latency_sum_s: float = 0.0
    trains: int = 0
    chunks: int = 0
    injected: int = 0
    delivered: int = 0
    self_packets: int = 0
    max_link_packets: int = 0

    @property
    def mean_latency_s(self) -> float:
        """Mean packet latency (s); 0 without traffic."""
        return self.latency_sum_s / self.packets if self.packets else 0.0

    def to_dict(self) -> dict:
        return asdict(self)


_MAX_FIELDS = ("max_latency_s", "max_link_packets")


@dataclass
class NocTotals:
    """Cumulative sums over all steps of a model (``max_*`` fields: the maximum).

    ``drain_s`` is the total NoC time summed over steps (s).
    """

    steps: int = 0
    drain_s: float = 0.0
    packets: int = 0
    hops: int = 0
    hops_ew: int = 0
    hops_ns: int = 0
    hops_interchip: int = 0
    interchip_packets: int = 0
    stalls: int = 0
    queue_delay_s: float = 0.0
    max_latency_s: float = 0.0
    latency_sum_s: float = 0.0
    trains: int = 0
    chunks: int = 0
    injected: int = 0
    delivered: int = 0
    self_packets: int = 0
    max_link_packets: int = 0

    def add(self, r: NocStepResult) -> None:
        """Fold one step's result in."""
        self.steps += 1
        for f in fields(NocStepResult):
            a, b = getattr(self, f.name), getattr(r, f.name)
            setattr(self, f.name, max(a, b) if f.name in _MAX_FIELDS else a + b)

    @property
    def mean_latency_s(self) -> float:
        return self.latency_sum_s / self.packets if self.packets else 0.0

    def to_dict(self) -> dict:
        return asdict(self)
