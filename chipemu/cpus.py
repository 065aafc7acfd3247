"""How many CPUs this process may run on (standard library only).

Used where chipemu spreads work over CPUs: ``chipemu run``'s helper process
(:mod:`chipemu.sidecar`) and the analytic NoC's compiled contention pass
(:class:`chipemu.noc.analytic.AnalyticNoc`, ``threads``).
"""

from __future__ import annotations

import os

__all__ = ["usable_cpus"]


def usable_cpus() -> int:
    """The CPUs this process may be scheduled on (its affinity mask where the OS has one,
    else the machine's CPU count; at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1
