"""Mesh network-on-chip: topology, XY routing, a SimPy reference model, an analytic model.

The chip runner calls ``model.step(src_core, dst_core, count)`` once per timestep with
that step's message trains (one train = every packet from one core to another core) and
gets a :class:`NocStepResult` back; cumulative counters live on the model.  See
``docs/noc.md``.
"""

from __future__ import annotations

from chipemu.chips.spec import ChipSpec
from chipemu.errors import ChipemuError
from chipemu.noc.analytic import AnalyticNoc
from chipemu.noc.base import NocModel
from chipemu.noc.mesh import DIRECTIONS, E, N, S, W, MeshTopology
from chipemu.noc.result import NocStepResult, NocTotals
from chipemu.noc.simpy_model import SimpyNoc
from chipemu.noc.traffic import NocTiming

__all__ = [
    "MeshTopology", "NocStepResult", "NocTotals", "NocModel", "NocTiming", "SimpyNoc",
    "AnalyticNoc", "make_noc", "NOC_KINDS", "DIRECTIONS", "E", "W", "N", "S",
]

NOC_KINDS = {"simpy": SimpyNoc, "analytic": AnalyticNoc}


def make_noc(kind: str, chip: ChipSpec, core_router, **options) -> NocModel:
    """Build a NoC model: ``kind`` is ``"simpy"`` (reference) or ``"analytic"``.

    ``options`` go to the model (``chunk_packets``).
    """
    cls = NOC_KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ChipemuError(f"NoC model {kind!r} is unknown (allowed: "
                           f"{', '.join(repr(k) for k in NOC_KINDS)})")
    return cls(chip, core_router, **options)
