"""What a run returns: one interface for the host reference runner, the chip runner and programs.

:class:`RunOutcome` holds what every run produced and what a program's
``check(result) -> (passed, detail)`` reads:

==========  ==========================================================================
network     the network that ran (a :class:`~chipemu.network.Network`, or a bare
            :class:`~chipemu.network.FlatNetwork` on the host runner)
spikes      the spike raster (:class:`~chipemu.spikes.SpikeRaster`)
steps       timesteps run
wall_s      host wall time of the run, seconds
weights     learned weights of the plastic projections, {projection name: int16 array
            in the projection's synapse order}; empty without plasticity
probes      ``{"POP/u": (steps, n) int32, "POP/v": ...}`` of the probed populations
report      the report.json dict of a chip run (:mod:`chipemu.report`); None on the host
==========  ==========================================================================

:class:`chipemu.reference.RunResult` (host) and :class:`chipemu.chip.ChipRun` (chip)
extend it with what only they know; a program's check accepts any of the three.
Their ``info`` records (:class:`ReferenceRunInfo`, :class:`ChipRunInfo`) are typed too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import ChipemuError
from .records import ItemAccess
from .spikes import SpikeRaster


@dataclass(kw_only=True)
class RunOutcome:
    """What every run produced (see the module docstring)."""

    network: Any
    spikes: SpikeRaster
    steps: int
    wall_s: float = 0.0
    weights: dict = field(default_factory=dict)
    probes: dict = field(default_factory=dict)
    report: Any = None


def _count(owner: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ChipemuError(f"{owner}: {name} = {value!r} must be an integer >= 0")
    return int(value)


def _seconds(owner: str, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not value >= 0:
        raise ChipemuError(f"{owner}: {name} = {value!r} must be a number of seconds >= 0")
    return float(value)


@dataclass(frozen=True)
class ReferenceRunInfo(ItemAccess):
    """How the host reference runner spent its memory and time.

    ``synapse_table_bytes``: bytes of the fan-out table; ``synapses``: synapses in it;
    ``build_s``: seconds to build the tables; ``loop_s``: seconds of the step loop.
    """

    synapse_table_bytes: int
    synapses: int
    build_s: float
    loop_s: float

    def __post_init__(self):
        for name in ("synapse_table_bytes", "synapses"):
            object.__setattr__(self, name, _count("ReferenceRunInfo", name, getattr(self, name)))
        for name in ("build_s", "loop_s"):
            object.__setattr__(self, name, _seconds("ReferenceRunInfo", name, getattr(self, name)))

    def to_dict(self) -> dict[str, Any]:
        return {"synapse_table_bytes": self.synapse_table_bytes, "synapses": self.synapses,
                "build_s": self.build_s, "loop_s": self.loop_s}

    @classmethod
    def from_dict(cls, d: dict) -> "ReferenceRunInfo":
        return cls(**{k: d[k] for k in ("synapse_table_bytes", "synapses", "build_s", "loop_s")})


@dataclass(frozen=True, eq=False)
class ChipRunInfo(ItemAccess):
    """Per-core figures of a chip run besides the operation counters.

    ``core_memory_bytes``: bytes the emulated cores' state and synapse tables take on the
    host; ``core_packets_out`` / ``core_packets_in`` (K,): NoC packets each logical core
    sent / received over the run.
    """

    core_memory_bytes: int
    core_packets_out: np.ndarray
    core_packets_in: np.ndarray

    def __post_init__(self):
        object.__setattr__(self, "core_memory_bytes",
                           _count("ChipRunInfo", "core_memory_bytes", self.core_memory_bytes))
        for name in ("core_packets_out", "core_packets_in"):
            a = np.asarray(getattr(self, name))
            if a.ndim != 1 or (a.size and (a.dtype.kind not in "iu" or a.min() < 0)):
                raise ChipemuError(f"ChipRunInfo: {name} must be a 1-D array of packet counts >= 0")
            object.__setattr__(self, name, a)
        if self.core_packets_out.shape != self.core_packets_in.shape:
            raise ChipemuError("ChipRunInfo: core_packets_out and core_packets_in differ in length")

    def to_dict(self) -> dict[str, Any]:
        return {"core_memory_bytes": self.core_memory_bytes, "core_packets_out": self.core_packets_out.tolist(),
                "core_packets_in": self.core_packets_in.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "ChipRunInfo":
        return cls(core_memory_bytes=d["core_memory_bytes"],
                   core_packets_out=np.asarray(d["core_packets_out"], dtype=np.int64),
                   core_packets_in=np.asarray(d["core_packets_in"], dtype=np.int64))


__all__ = ["RunOutcome", "ReferenceRunInfo", "ChipRunInfo"]
