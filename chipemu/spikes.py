"""Spike rasters and the spike file (docs/formats.md).

``spikes.npz`` holds ``t`` and ``neuron``: int arrays of equal length, one entry per
compartment spike, sorted by ``(t, neuron)``; networks with graded spikes
(:mod:`chipemu.neurons`) add ``payload``, the value each spike carried (int, same length).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import FileFormatError


@dataclass(frozen=True, eq=False)
class SpikeRaster:
    """Compartment spikes: ``neuron[i]`` fired at step ``t[i]``, sorted by (t, neuron).

    ``payload``: None for binary spikes, else the graded payload of each spike (int64).
    """

    t: np.ndarray
    neuron: np.ndarray
    payload: np.ndarray | None = None

    def __post_init__(self):
        t = np.asarray(self.t, dtype=np.int64).reshape(-1)
        n = np.asarray(self.neuron, dtype=np.int64).reshape(-1)
        if t.shape != n.shape:
            raise FileFormatError(f"spike raster: t and neuron lengths differ ({t.size} vs {n.size})")
        order = np.lexsort((n, t))
        object.__setattr__(self, "t", t[order])
        object.__setattr__(self, "neuron", n[order])
        if self.payload is not None:
            pl = np.asarray(self.payload, dtype=np.int64).reshape(-1)
            if pl.shape != t.shape:
                raise FileFormatError(f"spike raster: payload and t lengths differ ({pl.size} vs {t.size})")
            object.__setattr__(self, "payload", pl[order])

    def __len__(self) -> int:
        return int(self.t.size)

    def __eq__(self, other) -> bool:
        if not (isinstance(other, SpikeRaster) and np.array_equal(self.t, other.t)
                and np.array_equal(self.neuron, other.neuron)):
            return False
        if self.payload is None or other.payload is None:
            return self.payload is None and other.payload is None
        return np.array_equal(self.payload, other.payload)

    def counts(self, n: int) -> np.ndarray:
        """Spikes per compartment (length ``n``)."""
        return np.bincount(self.neuron, minlength=n)

    def per_step(self, steps: int) -> np.ndarray:
        """Spikes per step (length ``steps``)."""
        return np.bincount(self.t, minlength=steps)[:steps]

    def first_spike(self, n: int) -> np.ndarray:
        """Step of each compartment's first spike, -1 if it never fired."""
        first = np.full(n, -1, dtype=np.int64)
        # sorted by t: the first occurrence of each neuron is its earliest spike
        uniq, pos = np.unique(self.neuron, return_index=True)
        first[uniq] = self.t[pos]
        return first

    def select(self, lo: int, hi: int) -> "SpikeRaster":
        """Spikes of compartments lo..hi-1, renumbered from 0."""
        keep = (self.neuron >= lo) & (self.neuron < hi)
        return SpikeRaster(self.t[keep], self.neuron[keep] - lo,
                           None if self.payload is None else self.payload[keep])

    def save(self, path) -> None:
        from .files import write_npz

        extra = {} if self.payload is None else {"payload": self.payload}
        write_npz(path, {"t": self.t, "neuron": self.neuron, **extra})

    @classmethod
    def load(cls, path) -> "SpikeRaster":
        from .files import read_npz
        data = read_npz(path, "spike file")
        for key in ("t", "neuron"):
            if key not in data:
                raise FileFormatError(f"spike file {path}: key '{key}' is missing")
            if data[key].ndim != 1 or not np.issubdtype(data[key].dtype, np.integer):
                raise FileFormatError(f"spike file {path}: key '{key}' must be a 1-D integer array")
            if data[key].size and data[key].min() < 0:
                raise FileFormatError(f"spike file {path}: key '{key}' holds a negative value ({int(data[key].min())})")
        if data["t"].shape != data["neuron"].shape:
            raise FileFormatError(f"spike file {path}: keys 't' and 'neuron' differ in length")
        payload = data.get("payload")
        if payload is not None and (payload.shape != data["t"].shape or not np.issubdtype(payload.dtype, np.integer)):
            raise FileFormatError(f"spike file {path}: key 'payload' must be a 1-D integer array as long as 't'")
        return cls(data["t"], data["neuron"], payload)
