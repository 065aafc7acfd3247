"""Probes: the state u and v of chosen populations, recorded after every step.

A probe on population ``P`` records, after the update of every step t, the compartment
current ``u`` and voltage ``v`` (the 24-bit registers of :mod:`chipemu.neuron`, after the
spike reset) of all of P's compartments, in P's local order.  Both runners record through
:class:`ProbeRecorder`, so their probes are identical (the state never depends on the
mapping).  The result is a dict ``{"P/u": (steps, n) int32, "P/v": (steps, n) int32}``,
written by ``chipemu run/simulate --probe P`` to ``DIR/probes.npz`` (docs/formats.md).
"""

from __future__ import annotations


import numpy as np

from .errors import ChipemuError

#: the most probe memory a run may allocate (bytes), a project assumption that keeps a
#: mistyped probe on a huge population from exhausting the machine
MAX_PROBE_BYTES = 2 * 2**30


class ProbeRecorder:
    """Records u and v of the probed populations into preallocated (steps, n) arrays.

    ``network``: the :class:`~chipemu.network.Network`; ``populations``: names to probe
    (each at most once); ``steps``: run length.  ``position``: where global compartment i
    is held in the runner's state arrays (the chip's core order), or None (identity).
    """

    def __init__(self, network, populations, steps: int, position: np.ndarray | None = None):
        names = list(populations or [])
        seen = set()
        self.names, self.index = [], []
        for name in names:
            if name in seen:
                raise ChipemuError(f"probe: population '{name}' is probed twice")
            seen.add(name)
            try:
                pop = network.population(name)
            except ChipemuError:
                known = ", ".join(p.name for p in network.populations[:10]) or "none"
                raise ChipemuError(f"probe: no population named {name!r} in network '{network.name}' "
                                   f"(populations: {known}{', ...' if len(network.populations) > 10 else ''})") from None
            ids = np.arange(pop.start, pop.stop, dtype=np.int64)
            self.names.append(name)
            self.index.append(ids if position is None else np.asarray(position)[ids])
        total = sum(i.size for i in self.index) * 2 * 4 * max(int(steps), 1)
        if total > MAX_PROBE_BYTES:
            raise ChipemuError(f"probe: recording {', '.join(self.names)} for {steps} steps needs "
                               f"{total / 2**30:.1f} GiB (limit {MAX_PROBE_BYTES / 2**30:.0f} GiB); "
                               "probe fewer or smaller populations or run fewer steps")
        self.u = [np.zeros((steps, i.size), dtype=np.int32) for i in self.index]
        self.v = [np.zeros((steps, i.size), dtype=np.int32) for i in self.index]

    def __bool__(self) -> bool:
        return bool(self.names)

    def record(self, t: int, u: np.ndarray, v: np.ndarray) -> None:
        """Store the state after step t (``u``, ``v``: the runner's state arrays)."""
        for k, ids in enumerate(self.index):
            self.u[k][t] = u[ids]
            self.v[k][t] = v[ids]

    def result(self) -> dict[str, np.ndarray]:
        out = {}
        for k, name in enumerate(self.names):
            out[f"{name}/u"] = self.u[k]
            out[f"{name}/v"] = self.v[k]
        return out


def save_probes(probes: dict[str, np.ndarray], path) -> None:
    """Write probes to ``path`` (``.npz``, one member per ``POP/u`` and ``POP/v``)."""
    from .files import write_npz
    write_npz(path, probes)


def load_probes(path) -> dict[str, np.ndarray]:
    """Read a ``probes.npz`` written by :func:`save_probes`."""
    from .flatfile import read_npz
    return read_npz(path, "probe file")
