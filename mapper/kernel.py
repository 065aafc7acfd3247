"""The mapper's compiled hot loops (optional C extension ``_chipemu_mapper_kernel``).

``mapper/_mapper_kernel.c`` is built by ``pip install`` (setup.py) when a C compiler is
there.  When it is installed and :data:`enabled`, the mapper runs label propagation's
iterations in it; otherwise it runs the numpy code of :mod:`mapper.cluster`.  Both give the
same labels, bit for bit (integer arithmetic only, the same tie rules; checked by
``tests/test_mapper_kernel.py``), so mappings never depend on whether it is installed.

Cost: an iteration walks the pins of the active vertices once (an adjacency list of the
pin graph built once per label propagation: ``4 * (2 * pins) + 16 * vertices`` bytes),
where the numpy code sorts ``(vertex, label)`` keys of those pins; memory grows with pins
and vertices only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

try:  # the compiled loops (mapper/_mapper_kernel.c, built by ``pip install``)
    import _chipemu_mapper_kernel as _kernel
except ImportError:  # no compiler at install time: the numpy code
    _kernel = None
if getattr(_kernel, "VERSION", None) != 1:
    _kernel = None

#: whether the compiled loops are installed
AVAILABLE = _kernel is not None
#: use them when installed (False: always the numpy code; see :func:`numpy_only`)
enabled = True

__all__ = ["AVAILABLE", "LabelSteps", "enabled", "in_use", "numpy_only"]


def in_use() -> bool:
    """Whether the mapper runs the compiled loops now."""
    return AVAILABLE and enabled


@contextmanager
def numpy_only() -> Iterator[None]:
    """Run the mapper's numpy code inside the ``with`` block (same results, slower)."""
    global enabled
    before, enabled = enabled, False
    try:
        yield
    finally:
        enabled = before


def _i64(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.int64)


class LabelSteps:
    """Label propagation's iterations on the pin graph of pins ``s[i] -> t[i]``.

    Args:
        t, s: target and source id of every pin (``< n_src``).
        q: quantised weight of every source (a pin weighs its source's ``q``).
        n_src: vertices (compartments and input sources).
    """

    def __init__(self, t: np.ndarray, s: np.ndarray, q: np.ndarray, n_src: int):
        if _kernel is None:
            raise RuntimeError("the compiled mapper kernel (_chipemu_mapper_kernel) is not installed")
        if n_src >= 2**31 - 1:
            raise ValueError(f"LabelSteps: {n_src} vertices do not fit 32-bit ids")
        self.n = int(n_src)
        self.ptr = np.empty(self.n + 1, dtype=np.int64)
        self.mid = np.empty(self.n, dtype=np.int64)
        self.nbr = np.empty(2 * int(t.size), dtype=np.int32)
        self.q = _i64(q)

        def ids(x: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(x, dtype=x.dtype if x.dtype in (np.int32, np.int64) else np.int64)

        _kernel.lp_adjacency(ids(t), ids(s), self.ptr, self.mid, self.nbr)

    def step(self, active: np.ndarray, labels: np.ndarray, prio: np.ndarray, vw: np.ndarray,
             vs: np.ndarray, size: np.ndarray, syn: np.ndarray, u_size: int, u_syn: int,
             tries: int) -> int:
        """One iteration: ``labels``, ``size``, ``syn`` (contiguous int64) are updated in place.

        Returns the vertices moved, or -1 when no pin has exactly one ``active`` end.
        """
        for name, x in (("labels", labels), ("size", size), ("syn", syn)):
            if x.dtype != np.int64 or not x.flags.c_contiguous or x.size != self.n:
                raise ValueError(f"LabelSteps.step: {name} must be a contiguous int64 array of {self.n}")
        return int(_kernel.lp_step(self.ptr, self.mid, self.nbr, self.q,
                                   np.ascontiguousarray(active, dtype=bool), labels, _i64(prio),
                                   _i64(vw), _i64(vs), size, syn, int(u_size), int(u_syn), int(tries)))
