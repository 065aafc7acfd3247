"""Mesh network-on-chip (and between chips): routes from :mod:`chipemu.hardware`, a SimPy reference model, an analytic model.

The chip runner calls ``model.step(src_core, dst_core, count)`` once per timestep with
that step's message trains (one train = every packet from one core to another core) and
gets a :class:`NocStepResult` back; cumulative counters live on the model.  See
``docs/noc.md``.
"""

from __future__ import annotations

from chipemu.chips.spec import ChipSpec  # noqa: F401  (named in the docstrings; part of the API)
from chipemu.errors import ChipemuError
from chipemu.hardware import DIRECTIONS, E, N, S, W, Hardware
from chipemu.noc.analytic import AnalyticNoc
from chipemu.noc.base import NocModel
from chipemu.noc.result import NocStepResult, NocTotals
from chipemu.noc.simpy_model import SimpyNoc
from chipemu.noc.traffic import NocTiming

#: the mesh topology of the NoC models is the hardware model (:mod:`chipemu.hardware`)
MeshTopology = Hardware

__all__ = [
    "Hardware", "MeshTopology", "NocStepResult", "NocTotals", "NocModel", "NocTiming", "SimpyNoc",
    "AnalyticNoc", "make_noc", "NOC_KINDS", "DIRECTIONS", "E", "W", "N", "S",
]

NOC_KINDS = {"simpy": SimpyNoc, "analytic": AnalyticNoc}


def make_noc(kind: str, chip, core_router, **options) -> NocModel:
    """Build a NoC model: ``kind`` is ``"simpy"`` (reference) or ``"analytic"``.

    ``chip`` is a :class:`ChipSpec` or a system of chips; ``core_router[k]`` is the global
    router id (:mod:`chipemu.hardware`) of logical core ``k``.

    ``options`` go to the model (``chunk_packets``).
    """
    cls = NOC_KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ChipemuError(f"NoC model {kind!r} is unknown (allowed: "
                           f"{', '.join(repr(k) for k in NOC_KINDS)})")
    return cls(chip, core_router, **options)
