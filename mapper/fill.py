"""Exact, incremental packing of compartments into one core (:class:`CoreFiller`).

Both partitioners build cores with it: given the compartments already on a core and an
ordered list of candidates, :meth:`CoreFiller.fit` returns the longest prefix of the list
that still fits under the compartment, synaptic-memory and fan-in limits (vectorised over
the candidates' pins: the cost is proportional to their fan-in, not to the core's).
Delays and weights are per-synapse limits checked once for the whole network; fan-out
depends on where the *targets* go and is checked once the partition is complete.  The
fits run in the compiled kernel (:mod:`mapper.kernel`, one pass over the candidates' pins
with a mark per source) when it is installed, else in numpy; both give the same answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chipemu.arrays import distinct

from . import kernel
from .graph import MapGraph, gather_rows, row_positions
from .refine import group_cumsum
from .resources import ResourceModel


@dataclass
class FitResult:
    """Outcome of :meth:`CoreFiller.fit`.

    ``k``: candidates that fit (a prefix); ``reason``: the resource that stopped the next
    one (None if all fit); ``needed``: that resource's amount with the next one added.
    """

    k: int
    reason: str | None = None
    needed: int = 0


class CoreFiller:
    """The resources of one core being filled (compartments, synapses, fan-in sources)."""

    def __init__(self, graph: MapGraph, model: ResourceModel):
        self.g = graph
        self.model = model
        self.bits = model.compartment_bits(graph)  # (n,) synaptic-memory bits of each compartment
        self.present = np.zeros(graph.n_src, dtype=bool)
        self._touched: list[np.ndarray] = []
        self.count = 0
        self.syn = 0
        self.fanin = 0
        self._cache: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def reset(self) -> None:
        """Empty the core."""
        for t in self._touched:
            self.present[t] = False
        self._touched.clear()
        self.count = self.syn = self.fanin = 0
        self._cache = None

    def load(self, members: np.ndarray) -> None:
        """Empty the core, then put ``members`` on it (no limit check)."""
        self.reset()
        members = np.asarray(members, dtype=np.int64)
        if members.size:
            srcs, _ = gather_rows(self.g.in_ptr, self.g.in_src, members)
            self.present[srcs] = True
            self._touched.append(srcs)
            self.count = int(members.size)
            self.syn = int(self.bits[members].sum())
            self.fanin = int(distinct(srcs).size)

    #: candidates examined in the first block of :meth:`fit` (blocks then double)
    FIRST_BLOCK = 64

    def fit(self, cand: np.ndarray) -> FitResult:
        """Longest prefix of ``cand`` (compartment ids, in order) that fits the core.

        The candidates are examined in blocks of doubling size (64, 128, ...), stopping at
        the block where one no longer fits: the cost is proportional to the fan-in of the
        candidates that fit (at most twice over), not to the whole list.  Counts are
        cumulative over the list, so the answer is the same as examining it at once.
        """
        m = self.model
        room = m.compartments - self.count
        L = min(int(cand.size), room)
        if L <= 0:
            self._cache = None
            return FitResult(0, "compartments", self.count + 1) if cand.size else FitResult(0)
        if L == 1:
            return self._fit_one(int(cand[0]), int(cand.size))
        c_all = np.asarray(cand[:L], dtype=np.int64)
        if kernel.in_use():  # the compiled loop (mapper/kernel.py): same answer
            k, why, needed, syn, fanin = kernel.fill_fit(self.g, c_all, self.present, self.bits, self.syn,
                                                         self.fanin, m)
            self._cache = (c_all[:k], None, np.array([syn, fanin]))  # sources gathered when added
            if why:
                return FitResult(k, ("fanin_axons", "synapse_bits")[why - 1], needed)
            if L < cand.size:
                return FitResult(k, "compartments", self.count + L + 1)
            return FitResult(k)
        present = self.present
        syn0, fanin0 = self.syn, self.fanin
        kept: list[np.ndarray] = []     # sources of the candidates that fit
        marked: list[np.ndarray] = []   # sources marked present during this call (undone below)
        pos, block, k, fail = 0, self.FIRST_BLOCK, L, None
        try:
            while pos < L:
                c = c_all[pos:pos + block]
                b = c.size
                srcs, owner = gather_rows(self.g.in_ptr, self.g.in_src, c)
                fresh = ~present[srcs]
                fs, fo = srcs[fresh].astype(np.int64), owner[fresh]
                if fs.size:
                    key = fs * b + fo
                    if b * self.g.n_src <= 2**32:  # a 32-bit sort where the keys fit
                        key = key.astype(np.uint32)
                    key.sort()
                    first = np.empty(key.size, dtype=bool)
                    first[0] = True
                    ks = key // b
                    np.not_equal(ks[1:], ks[:-1], out=first[1:])
                    new = np.bincount(key[first] - ks[first] * b, minlength=b)
                else:
                    new = np.zeros(b, dtype=np.int64)
                fanin = fanin0 + np.cumsum(new)
                syn = syn0 + np.cumsum(self.bits[c])
                bits = m.memory(syn, fanin)
                ok = (fanin <= m.fanin) & (bits <= m.memory_bits)
                if not ok.all():
                    j = int(np.argmin(ok))
                    k = pos + j
                    kept.append(srcs[owner < j])
                    if j:
                        syn0, fanin0 = syn[j - 1], fanin[j - 1]
                    fail = ("fanin_axons", int(fanin[j])) if fanin[j] > m.fanin else ("synapse_bits", int(bits[j]))
                    break
                kept.append(srcs)
                fresh_srcs = fs
                present[fresh_srcs] = True
                marked.append(fresh_srcs)
                syn0, fanin0 = syn[-1], fanin[-1]
                pos += b
                block *= 2
        finally:
            for arr in marked:
                present[arr] = False
        self._cache = (c_all[:k], np.concatenate(kept) if kept else c_all[:0], np.array([syn0, fanin0]))
        if fail is not None:
            return FitResult(k, *fail)
        if L < cand.size:
            return FitResult(k, "compartments", self.count + L + 1)
        return FitResult(k)

    def _fit_one(self, v: int, n_cand: int) -> FitResult:
        """:meth:`fit` for a single candidate (its pins are distinct sources already)."""
        m = self.model
        srcs = self.g.in_src[self.g.in_ptr[v]:self.g.in_ptr[v + 1]]
        fanin = self.fanin + int(np.count_nonzero(~self.present[srcs]))
        syn = self.syn + int(self.bits[v])
        if fanin > m.fanin:
            self._cache = (np.zeros(0, np.int64), srcs[:0], np.array([self.syn, self.fanin]))
            return FitResult(0, "fanin_axons", fanin)
        bits = int(m.memory(syn, fanin))
        if bits > m.memory_bits:
            self._cache = (np.zeros(0, np.int64), srcs[:0], np.array([self.syn, self.fanin]))
            return FitResult(0, "synapse_bits", bits)
        self._cache = (np.array([v], dtype=np.int64), srcs, np.array([syn, fanin]))
        if n_cand > 1:
            return FitResult(1, "compartments", self.count + 2)
        return FitResult(1)

    def fits_each(self, groups: list[np.ndarray]) -> np.ndarray:
        """Whether each group of compartments, added on its own, would fit the core whole.

        The same answer as ``fit(group).k == group.size`` for each group, from vectorised
        passes over the groups' pins instead of one :meth:`fit` per group: a group fits iff
        the core's compartments, fan-in (its sources not yet on the core, each counted once)
        and synaptic memory stay within their limits with all of it added.  The first pass
        reads only a head of each group, its members up to a few times the core's free
        fan-in in pins (a head over a limit rules its group out); only groups it cannot
        decide get a second pass over all their pins.
        """
        m = self.model
        sizes = np.array([g.size for g in groups], dtype=np.int64)
        if sizes.size == 0:
            return np.zeros(0, dtype=bool)
        members = np.concatenate(groups).astype(np.int64, copy=False)
        if kernel.in_use():  # the compiled loop (mapper/kernel.py): same answer
            return kernel.fill_fits_each(self.g, members, sizes, self.present, self.bits, self.count, self.syn,
                                         self.fanin, m)
        gid = np.repeat(np.arange(sizes.size, dtype=np.int64), sizes)
        deg = self.g.in_ptr[members + 1] - self.g.in_ptr[members]
        head = group_cumsum(gid, deg) - deg < 4 * (m.fanin - self.fanin + 1)  # >= each first member
        ok = (self.count + sizes <= m.compartments) & self._within(members[head], gid[head], sizes.size)
        again = np.flatnonzero(ok & (np.bincount(gid[head], minlength=sizes.size) < sizes))
        if again.size:
            rest = np.isin(gid, again)
            ok[again] = self._within(members[rest], gid[rest], sizes.size)[again]
        return ok

    def _within(self, members: np.ndarray, gid: np.ndarray, n_groups: int) -> np.ndarray:
        """Per group ``gid``: fan-in and synaptic memory within the limits with ``members`` added."""
        m = self.model
        at, owner = row_positions(self.g.in_ptr, members)
        srcs = self.g.in_src[at].astype(np.int64)
        fresh = ~self.present[srcs]
        key = gid[owner[fresh]] * self.g.n_src + srcs[fresh]
        if n_groups * self.g.n_src <= 2**32:  # a 32-bit sort where the keys fit
            key = key.astype(np.uint32)
        new = distinct(key) // self.g.n_src
        fanin = self.fanin + np.bincount(new, minlength=n_groups)
        syn = self.syn + np.bincount(gid, weights=self.bits[members], minlength=n_groups).astype(np.int64)
        return (fanin <= m.fanin) & (m.memory(syn, fanin) <= m.memory_bits)

    def discard(self) -> None:
        """Forget the last :meth:`fit` (nothing is added)."""
        self._cache = None

    def add_fitted(self) -> np.ndarray:
        """Put the prefix found by the last :meth:`fit` on the core; returns it."""
        if self._cache is None:
            return np.zeros(0, dtype=np.int64)
        c, srcs, (syn, fanin) = self._cache
        self._cache = None
        if c.size:
            if srcs is None:
                srcs = gather_rows(self.g.in_ptr, self.g.in_src, c)[0]
            self.present[srcs] = True
            self._touched.append(srcs)
            self.count += int(c.size)
            self.syn, self.fanin = int(syn), int(fanin)
        return c
