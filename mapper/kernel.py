"""The mapper's compiled hot loops (optional C extension ``_chipemu_mapper_kernel``).

``mapper/_mapper_kernel.c``, ``_mapper_kernel_cores.c``, ``_mapper_kernel_place.c`` and
``_mapper_kernel_chips.c`` are built by ``pip install`` (setup.py) when a C compiler is
there.  When the extension is installed and :data:`enabled`, the mapper runs these loops
in it, else the numpy code they replace: the pin graph's sorts (:func:`pins_build`) and
kept pins (:func:`pin_keep`), label propagation's iterations
(:class:`LabelSteps`) and cluster check (:func:`same_label_weight`), refinement's gains,
partners-per-core table and pin-count updates (``refine_*``), the core filler's fits
(``fill_*``), distinct partners per core (:func:`row_distinct_counts`), the core-to-core
traffic (:func:`core_traffic`), the chip-level partition's growth (:func:`chip_growth`) and
sums by chip (:func:`traffic_by_chip`, :func:`chip_pair_values`) and the placement
annealer's moves (:func:`anneal_moves`).  Both give the same numbers, bit for bit (integer
arithmetic where the numpy code uses integers, float sums in the same order, the same tie
rules; checked by ``tests/test_mapper_kernel.py``), so mappings never depend on whether it is installed.

Cost: proportional to the pins, vertices and core pairs with traffic touched, as the numpy
code's; label propagation keeps an adjacency list of the pin graph (``4 * (2 * pins) + 16 *
vertices`` bytes) and walks the active vertices' pins once an iteration where the numpy code
sorts ``(vertex, label)`` keys.  Arrays are checked at the C boundary (dtype, length,
C-contiguity, ids in range); the wrappers here pass contiguous arrays of the right dtype
(copies where needed) and refuse arrays to be updated in place that are not.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

try:  # the compiled loops (mapper/_mapper_kernel.c, built by ``pip install``)
    import _chipemu_mapper_kernel as _kernel
except ImportError:  # no compiler at install time: the numpy code
    _kernel = None
#: the kernel's interface this module calls (a build of another version is not used)
KERNEL_VERSION = 5
if getattr(_kernel, "VERSION", None) != KERNEL_VERSION:
    _kernel = None

#: whether the compiled loops are installed
AVAILABLE = _kernel is not None
#: use them when installed (False: always the numpy code; see :func:`numpy_only`)
enabled = True

__all__ = ["AVAILABLE", "LabelSteps", "anneal_moves", "chip_growth", "chip_pair_values", "core_traffic", "enabled",
           "fill_fit", "fill_fits_each", "in_use", "numpy_only", "pin_keep", "pins_build", "refine_apply", "refine_connections",
           "refine_gains", "row_distinct_counts", "same_label_weight", "traffic_by_chip"]


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

        _kernel.lp_adjacency(_ids(t), _ids(s), self.ptr, self.mid, self.nbr)

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


def _ids(x: np.ndarray) -> np.ndarray:
    """int32/int64 ids as they are (contiguous), anything else as int64."""
    return np.ascontiguousarray(x, dtype=x.dtype if x.dtype in (np.int32, np.int64) else np.int64)


def _writable(x: np.ndarray, name: str, dtypes) -> np.ndarray:
    if x.dtype not in dtypes or not x.flags.c_contiguous or not x.flags.writeable:
        raise ValueError(f"mapper kernel: {name} must be a contiguous writable {' or '.join(map(str, dtypes))} array")
    return x


def refine_gains(in_ptr: np.ndarray, in_src: np.ndarray, cand: np.ndarray, A: np.ndarray, B: np.ndarray,
                 phi: np.ndarray, psi: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Refinement's exact gain (float64) and conservative new fan-in (int64) of each move
    ``cand[i]: A[i] -> B[i]`` from the pin-count tables ``phi``/``psi`` (int32, ``core *
    len(r) + source``): the numbers of the numpy code in :func:`mapper.refine.refine`, the
    gain summed over the candidate's in-pins in pin order."""
    gain = np.empty(cand.size, dtype=np.float64)
    newf = np.empty(cand.size, dtype=np.int64)
    _kernel.refine_gains(_i64(in_ptr), _ids(in_src), _i64(cand), _i64(A), _i64(B),
                         np.ascontiguousarray(phi, dtype=np.int32), np.ascontiguousarray(psi, dtype=np.int32),
                         np.ascontiguousarray(r, dtype=np.float64), gain, newf)
    return gain, newf


def refine_connections(graph, table: np.ndarray, rate: np.ndarray | None, core: np.ndarray | None = None,
                       rows: np.ndarray | None = None, A: np.ndarray | None = None,
                       B: np.ndarray | None = None) -> None:
    """The ``(n, K)`` partners-per-core table of :class:`mapper.refine._Connections` (flat,
    int32 or int64, updated in place): built (``core`` given: every compartment's core) or
    updated for compartments ``rows`` moving from cores ``A`` to ``B``.  ``rate``: int64
    weight of every source, None to count partners."""
    _writable(table, "table", (np.int32, np.int64))
    none = np.zeros(0, dtype=np.int64)
    _kernel.refine_connections(_i64(graph.in_ptr), _ids(graph.in_src), _i64(graph.out_ptr), _ids(graph.out_dst),
                               none if rows is None else _i64(rows), none if A is None else _i64(A),
                               none if B is None else _i64(B),
                               np.zeros(graph.n, dtype=np.int64) if core is None else _i64(core),
                               none if rate is None else _i64(rate), table)


def refine_apply(in_ptr: np.ndarray, in_src: np.ndarray, mv: np.ndarray, A: np.ndarray, B: np.ndarray,
                 psi: np.ndarray, phi: np.ndarray, fanin: np.ndarray, lam: np.ndarray) -> None:
    """:meth:`mapper.refine._Tables.apply` in place: compartments ``mv`` move from cores
    ``A`` to ``B``; ``psi``, ``phi`` (int32), ``fanin`` and ``lam`` (int64) are updated."""
    for name, x, dt in (("psi", psi, np.int32), ("phi", phi, np.int32), ("fanin", fanin, np.int64),
                        ("lam", lam, np.int64)):
        _writable(x, name, (dt,))
    _kernel.refine_apply(_i64(in_ptr), _ids(in_src), _i64(mv), _i64(A), _i64(B), psi, phi, fanin, lam)


def fill_fit(graph, cand: np.ndarray, present: np.ndarray, bits: np.ndarray, syn: int, fanin: int,
             model) -> tuple[int, int, int, int, int]:
    """:meth:`mapper.fill.CoreFiller.fit` for ``cand`` (already cut to the core's free
    compartments): ``(k, reason, needed, syn, fanin)``, reason 0 (all fit), 1 (fan-in) or
    2 (synaptic memory).  ``present`` (bool per source) is left as it was."""
    _writable(present, "present", (np.bool_,))
    return _kernel.fill_fit(_i64(graph.in_ptr), _ids(graph.in_src), _i64(cand), present, _i64(bits), int(syn),
                            int(fanin), int(model.fanin), int(model.memory_bits), int(model.header_bits))


def fill_fits_each(graph, members: np.ndarray, sizes: np.ndarray, present: np.ndarray, bits: np.ndarray,
                   count: int, syn: int, fanin: int, model) -> np.ndarray:
    """:meth:`mapper.fill.CoreFiller.fits_each` for groups of ``sizes`` compartments
    (``members``, concatenated): whether each fits the core whole on its own (bool)."""
    _writable(present, "present", (np.bool_,))
    ok = np.empty(sizes.size, dtype=bool)
    _kernel.fill_fits_each(_i64(graph.in_ptr), _ids(graph.in_src), _i64(members), _i64(sizes), present, _i64(bits),
                           int(count), int(syn), int(fanin), int(model.compartments), int(model.fanin),
                           int(model.memory_bits), int(model.header_bits), ok)
    return ok


def same_label_weight(t: np.ndarray, s: np.ndarray, wq: np.ndarray, labels: np.ndarray) -> tuple[int, int]:
    """Summed weight ``wq`` (int32) of the pins ``s -> t`` whose ends share a label, and of
    all pins (exact integer sums)."""
    return _kernel.same_label_weight(_ids(t), _ids(s), np.ascontiguousarray(wq, dtype=np.int32), _i64(labels))


def pins_build(src: np.ndarray, dst: np.ndarray, n: int, n_src: int, idx_dtype
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The pins of synapses ``src -> dst`` as :func:`mapper.graph.build_graph` makes them:
    ``(in_ptr, in_src, out_ptr, out_dst)``, each target's sources and each source's targets
    ascending and distinct; ids in ``idx_dtype`` (int32 or int64)."""
    m = int(src.size)
    in_ptr = np.empty(n + 1, dtype=np.int64)
    out_ptr = np.empty(n_src + 1, dtype=np.int64)
    in_src = np.empty(m, dtype=idx_dtype)
    out_dst = np.empty(m, dtype=idx_dtype)
    pins = _kernel.pins_build(_i64(src), _i64(dst), in_ptr, in_src, out_ptr, out_dst)
    if pins < m:  # duplicate synapses: keep only the pins (a copy when that frees much)
        in_src, out_dst = in_src[:pins], out_dst[:pins]
        if 8 * pins < 7 * m:
            in_src, out_dst = in_src.copy(), out_dst.copy()
    return in_ptr, in_src, out_ptr, out_dst


def core_traffic(graph, neuron_core: np.ndarray, score: np.ndarray, n_cores: int, rates: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`mapper.place.core_traffic`'s pairs ``(a, b, w)``, sorted by ``(a, b)``, from the
    source cores ``score`` (-1: none) and the compartments' cores: a counting sort of the
    sources by core, then each core's distinct target cores, summing ``rates`` (float64) in
    ascending source order (the numpy code's additions).  Memory O(K + sources + pairs)."""
    K = int(n_cores)
    counts, b, w = _kernel.core_traffic(_i64(graph.out_ptr), _ids(graph.out_dst), _i64(neuron_core), _i64(score),
                                        np.ascontiguousarray(rates, dtype=np.float64), K)
    a = np.repeat(np.arange(K, dtype=np.int64), np.frombuffer(counts, dtype=np.int64))
    return a, np.frombuffer(b, dtype=np.int64), np.frombuffer(w, dtype=np.float64)


def anneal_moves(C: np.ndarray, W: np.ndarray, D: np.ndarray, pa: np.ndarray, pp: np.ndarray, u: np.ndarray,
                 slots: np.ndarray, occ: np.ndarray, rc: np.ndarray, cores_per_router: int, temp: float,
                 alpha: float, cost: float) -> np.ndarray:
    """:func:`mapper.place.place_anneal`'s loop over its moves (core ``pa[i]`` to slot
    ``pp[i]``, accepted uphill when ``u[i] < exp(-d / temp)``, ``temp *= alpha`` a move):
    ``C`` (K, R), ``slots``, ``occ``, ``rc`` (int64) updated in place; returns the slots of
    the lowest cost seen (the initial ``slots`` if none is lower)."""
    _writable(C, "C", (np.float64,))
    for name, x in (("slots", slots), ("occ", occ), ("rc", rc)):
        _writable(x, name, (np.int64,))
    best = np.empty_like(slots)
    _kernel.anneal_moves(C, np.ascontiguousarray(W, dtype=np.float64), np.ascontiguousarray(D, dtype=np.float64),
                         _i64(pa), _i64(pp), np.ascontiguousarray(u, dtype=np.float64), slots, occ, rc, best,
                         int(cores_per_router), float(temp), float(alpha), float(cost))
    return best


def chip_growth(a: np.ndarray, b: np.ndarray, w: np.ndarray, chip: np.ndarray, room: np.ndarray) -> None:
    """:func:`mapper.place.chips_by_traffic`'s growth on the traffic pairs ``(a, b, w)``:
    ``chip`` (contiguous int64, -1 for a free core) is filled in place; ``room``: free
    cores of each chip."""
    _writable(chip, "chip", (np.int64,))
    _kernel.chip_growth(_i64(a), _i64(b), np.ascontiguousarray(w, dtype=np.float64), chip, _i64(room))


def traffic_by_chip(a: np.ndarray, b: np.ndarray, w: np.ndarray, chip: np.ndarray, n_chips: int):
    """The traffic pairs ``(a, b, w)`` summed by chip (``chip``: chip of every core):
    ``(T, inside, leaving, arriving, ptr, idx)``: ``T`` (G, G) chip-to-chip sums in pair
    order (``np.add.at``'s), each chip's traffic inside it, leaving it and arriving at it
    (bincount's sums), and the indices ``idx`` of the pairs inside a chip grouped by chip
    (chip g's are ``idx[ptr[g]:ptr[g + 1]]``, in pair order)."""
    G = int(n_chips)
    T = np.empty(G * G)
    inside, leaving, arriving = np.empty(G), np.empty(G), np.empty(G)
    ptr = np.empty(G + 1, dtype=np.int64)
    idx = _kernel.traffic_by_chip(_i64(a), _i64(b), np.ascontiguousarray(w, dtype=np.float64), _i64(chip),
                                  T, inside, leaving, arriving, ptr)
    return T.reshape(G, G), inside, leaving, arriving, ptr, np.frombuffer(idx, dtype=np.int64)


def chip_pair_values(a: np.ndarray, b: np.ndarray, chip: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``table[chip[a], chip[b]]`` (float64; ``table`` (G, G), ``chip`` the chip of every core)."""
    out = np.empty(a.size)
    _kernel.chip_pair_values(_i64(a), _i64(b), _i64(chip), np.ascontiguousarray(table, dtype=np.float64), out)
    return out


def row_distinct_counts(key: np.ndarray, ptr: np.ndarray, vals: np.ndarray, lookup: np.ndarray | None,
                        n_values: int, n_keys: int) -> np.ndarray:
    """For each ``a < n_keys``: how many distinct values the rows ``r`` with ``key[r] == a``
    hold (row r: ``vals[ptr[r]:ptr[r + 1]]``, each value mapped through ``lookup`` if given;
    values ``< n_values``), int64 -- :func:`mapper.resources.distinct_pair_counts` of the
    pins, by a counting sort of the rows and a stamp per value."""
    counts = np.empty(int(n_keys), dtype=np.int64)
    _kernel.row_distinct_counts(_i64(key), _i64(ptr), _ids(vals), np.zeros(0, np.int64) if lookup is None
                                else _i64(lookup), int(n_values), counts)
    return counts


def pin_keep(graph, src_ok: np.ndarray, free: np.ndarray, idx_dtype) -> tuple[np.ndarray, np.ndarray]:
    """Source and target (``idx_dtype``: int32 or int64) of the pins of ``graph`` kept by
    :func:`mapper.cluster.pin_edges` (source != target, ``src_ok[source]``, ``free[target]``),
    in pin order."""
    args = (_i64(graph.in_ptr), _ids(graph.in_src), np.ascontiguousarray(src_ok, dtype=bool),
            np.ascontiguousarray(free, dtype=bool))
    kept = _kernel.pin_keep(*args, None, None)
    s, t = np.empty(kept, dtype=idx_dtype), np.empty(kept, dtype=idx_dtype)
    _kernel.pin_keep(*args, s, t)
    return s, t
