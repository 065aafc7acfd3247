"""Routes of the router pairs that carry traffic, kept across steps (for the analytic NoC).

The analytic model (:mod:`chipemu.noc.analytic`) needs, for every train, its route (the
link ids, in travel order) and for every hop of it a few timing figures.  All of them
depend only on the train's *router pair* (source router, destination router), so a
:class:`RouteTable` computes them once per pair, the first time a pair carries a train,
and keeps them: later steps only look rows up.  Its size grows with the router pairs
that carried traffic (at most ``used routers ** 2``, and in practice with the distinct
destinations each router sends to), never with core pairs, and it is bounded by
:data:`MAX_CACHED_ENTRIES` route hops (it starts afresh when full).

Per pair (row ``r``):

* ``n_hops[r]``: links on the route; ``crosses_chip[r]``: whether it crosses a chip
  boundary;
* ``first_s[r]``, ``period_s[r]``: zero-load latency of one packet and the bottleneck
  period of a train (:func:`~chipemu.noc.base.zero_load`);
* its hops: entries ``ptr[r] .. ptr[r] + n_hops[r] - 1`` of ``link`` (link id) and
  ``cls`` (hop class).

A *hop class* is one distinct tuple ``(done_s, hop_s, link_period_s, up_period_s)``:
``hop_s`` the hop's latency, ``done_s`` the running sum of the hop latencies along the
route up to and including this hop (``np.cumsum`` in route order, so the floats are those
of a per-route evaluation), ``link_period_s`` the link's period (s/packet) and
``up_period_s = max`` of the link periods of the route up to and including this hop.
Routes share few classes (thousands on a 64 x 16 mesh), so per-hop arithmetic can be done
per class.

``used_links`` are the links on the cached routes, in increasing id order, and
``used_rank[link]`` each link's index among them: the model's per-step link arrays are
over these, so they grow with the links that carry traffic, not with the system.
"""

from __future__ import annotations

import numpy as np

from chipemu.arrays import distinct
from chipemu.hardware import Hardware
from chipemu.noc.base import zero_load
from chipemu.noc.traffic import NocTiming, Traffic

__all__ = ["RouteTable", "MAX_CACHED_ENTRIES"]

#: route hops kept at most (beyond it the table starts afresh); 8 bytes per hop
MAX_CACHED_ENTRIES = 1 << 26
#: up to this many (used router)^2 cells the row of a pair is found in a dense index
_DENSE_INDEX_CELLS = 1 << 22
#: new pairs routed per pass (the routes are (pairs, longest route) arrays)
_NEW_PAIRS_CHUNK = 1 << 13


class _Column:
    """A growable 1-D array: ``.a[:n]`` holds the values.  Its capacity doubles, but never
    past :data:`MAX_CACHED_ENTRIES` values unless one extend needs more."""

    def __init__(self, dtype):
        self.a = np.zeros(0, dtype=dtype)
        self.n = 0

    def extend(self, values: np.ndarray) -> None:
        end = self.n + values.size
        if end > self.a.size:
            grown = np.zeros(max(end, min(max(2 * self.a.size, 1024), MAX_CACHED_ENTRIES)),
                             dtype=self.a.dtype)
            grown[:self.n] = self.a[:self.n]
            self.a = grown
        self.a[self.n:end] = values
        self.n = end


class RouteTable:
    """Routes and per-hop timing of router pairs, built on first use (see the module doc).

    Args:
        hw: the hardware model (routes, hop counts).
        timing: the NoC timing (latencies, periods).
        routers: the routers that may send or receive (those hosting a core).
    """

    def __init__(self, hw: Hardware, timing: NocTiming, routers: np.ndarray):
        self.hw, self.timing = hw, timing
        self.link_latency = timing.link_latency_s(hw)
        self.link_period = timing.link_periods_s(hw)
        self.routers = np.unique(np.asarray(routers, dtype=np.int64))
        self.index_of_router = np.full(hw.n_routers, -1, dtype=np.int64)
        self.index_of_router[self.routers] = np.arange(self.routers.size)
        #: incremented whenever the table starts afresh (class ids change meaning)
        self.generation = -1
        self._clear()

    # ------------------------------------------------------------------ lookup
    def rows(self, src_router: np.ndarray, dst_router: np.ndarray) -> np.ndarray:
        """Row of every pair ``(src_router[i], dst_router[i])`` (int64), routing new pairs.

        Rows stay valid until the next call (a full table starts afresh)."""
        u = self.routers.size
        key = self.index_of_router[src_router] * u + self.index_of_router[dst_router]
        row = self._lookup(key)
        missing = row < 0
        if missing.any():
            new = distinct(key[missing])
            hops = self.hw.hop_counts(*self._pair_routers(new))  # (east-west, north-south, chip)
            if self.n_entries + int(sum(h.sum() for h in hops)) > MAX_CACHED_ENTRIES:
                self._clear()
                new = distinct(key)
                hops = self.hw.hop_counts(*self._pair_routers(new))
            self._add(new, *hops)
            row = self._lookup(key)
        return row

    @property
    def n_pairs(self) -> int:
        return self._n_hops.n

    @property
    def n_entries(self) -> int:
        return self._link.n

    @property
    def n_classes(self) -> int:
        return len(self._class_id)

    # the columns (views of the filled part)
    n_hops = property(lambda self: self._n_hops.a[:self._n_hops.n])
    ptr = property(lambda self: self._ptr.a[:self._ptr.n])
    first_s = property(lambda self: self._first.a[:self._first.n])
    period_s = property(lambda self: self._period.a[:self._period.n])
    crosses_chip = property(lambda self: self._crosses.a[:self._crosses.n])
    link = property(lambda self: self._link.a[:self._link.n])
    cls = property(lambda self: self._cls.a[:self._cls.n])
    #: per class: (done_s, hop_s, link_period_s, up_period_s)
    class_done_s = property(lambda self: self._classes.a[0:4 * self.n_classes:4])
    class_hop_s = property(lambda self: self._classes.a[1:4 * self.n_classes:4])
    class_link_period_s = property(lambda self: self._classes.a[2:4 * self.n_classes:4])
    class_up_period_s = property(lambda self: self._classes.a[3:4 * self.n_classes:4])
    #: the four floats of every class, packed: ``classes[4 * c : 4 * c + 4]`` (contiguous)
    classes = property(lambda self: self._classes.a[:4 * self.n_classes])

    # ------------------------------------------------------------------ building
    def _clear(self) -> None:
        self.generation += 1
        u = self.routers.size
        self._dense = u * u <= _DENSE_INDEX_CELLS
        if self._dense:
            self._row_of = np.full(u * u, -1, dtype=np.int64)
        else:  # sorted keys of the pairs and their rows
            self._keys = np.zeros(0, dtype=np.int64)
            self._key_rows = np.zeros(0, dtype=np.int64)
        self._n_hops, self._ptr = _Column(np.int64), _Column(np.int64)
        self._first, self._period, self._crosses = _Column(np.float64), _Column(np.float64), _Column(bool)
        self._link, self._cls = _Column(np.int32), _Column(np.int32)
        self._classes = _Column(np.float64)  # 4 floats per class
        self._class_id: dict[bytes, int] = {}
        #: the links on the cached routes (increasing), and each link's index among them (-1: none)
        self.used_links = np.zeros(0, dtype=np.int64)
        self.used_rank = np.full(self.hw.n_links, -1, dtype=np.int64)

    def _lookup(self, key: np.ndarray) -> np.ndarray:
        if self._dense:
            return self._row_of[key]
        pos = np.minimum(np.searchsorted(self._keys, key), max(self._keys.size - 1, 0))
        if self._keys.size == 0:
            return np.full(key.size, -1, dtype=np.int64)
        return np.where(self._keys[pos] == key, self._key_rows[pos], -1)

    def _pair_routers(self, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u = self.routers.size
        return self.routers[key // u], self.routers[key % u]

    def _add(self, keys: np.ndarray, ew: np.ndarray, ns: np.ndarray, chip: np.ndarray) -> None:
        """Route the pairs ``keys`` (distinct, not in the table; ``ew, ns, chip``: their hop
        counts, :meth:`Hardware.hop_counts`) and append their rows.

        Pairs are routed in chunks of similar route length (the routes of a chunk are a
        ``(pairs, longest route)`` array)."""
        hw, first_row, first_entry = self.hw, self.n_pairs, self.n_entries
        by_length = np.argsort(ew + ns + chip, kind="stable")
        keys, ew, ns, chip = keys[by_length], ew[by_length], ns[by_length], chip[by_length]
        latency = np.array([self.timing.hop_ew_s, self.timing.hop_ns_s, self.timing.chip_hop_s])
        period = np.array([self.timing.link_period_s, self.timing.link_period_s, self.timing.chip_period_s])
        # the periods of the link kinds, by rank: the running maximum of a rank is the rank
        # of the running maximum
        period_values, period_rank = np.unique(period, return_inverse=True)
        for lo in range(0, keys.size, _NEW_PAIRS_CHUNK):
            part = slice(lo, lo + _NEW_PAIRS_CHUNK)
            sr, dr = self._pair_routers(keys[part])
            pairs = Traffic(src=sr, dst=dr, count=np.ones(sr.size, dtype=np.int64), src_router=sr, dst_router=dr,
                            hops_ew=ew[part], hops_ns=ns[part], hops_chip=chip[part], self_packets=0)
            first, train_period = zero_load(pairs, self.timing)
            links, n_hops = hw.routes(sr, dr)
            on_route = links >= 0
            kind = hw.link_kind[np.where(on_route, links, 0)]
            hop = np.where(on_route, latency[kind], 0.0)
            done = np.cumsum(hop, axis=1)[on_route]  # in route order, as a per-route evaluation
            up = np.maximum.accumulate(np.where(on_route, period_rank[kind], 0), axis=1)[on_route]
            kind = kind[on_route]
            self._ptr.extend(self.n_entries + np.cumsum(n_hops) - n_hops)
            self._n_hops.extend(n_hops)
            self._first.extend(np.broadcast_to(first, sr.shape))
            self._period.extend(np.broadcast_to(train_period, sr.shape))
            self._crosses.extend(chip[part] > 0)
            self._link.extend(links[on_route].astype(np.int32))
            self._cls.extend(self._class_ids(done, kind, up, latency, period, period_values))
        new_links = self.link[first_entry:]
        new_links = new_links[self.used_rank[new_links] < 0]
        if new_links.size:
            self.used_links = distinct(np.concatenate([self.used_links, new_links]))
            self.used_rank[self.used_links] = np.arange(self.used_links.size)
        rows = np.empty(keys.size, dtype=np.int64)
        rows[:] = np.arange(first_row, self.n_pairs)
        if self._dense:
            self._row_of[keys] = rows
        else:
            keys = np.concatenate([self._keys, keys])
            order = np.argsort(keys, kind="stable")
            self._keys, self._key_rows = keys[order], np.concatenate([self._key_rows, rows])[order]

    def _class_ids(self, done: np.ndarray, kind: np.ndarray, up: np.ndarray, latency: np.ndarray,
                   period: np.ndarray, period_values: np.ndarray) -> np.ndarray:
        """Class id of every hop, adding new classes: its ``done_s``, its link's kind (hence
        ``hop_s`` and ``link_period_s``) and the rank of ``up_period_s``.

        A hop's class is found from the rank of its ``done_s`` among the distinct ones (a
        sort of the few distinct values and a binary search), no sort of hops."""
        if done.size == 0:
            return np.zeros(0, dtype=np.int32)
        done_values = distinct(done)
        n_kinds, n_up = latency.size, period_values.size
        code = (np.searchsorted(done_values, done) * n_kinds + kind) * n_up + up
        codes = distinct(code)
        local = np.searchsorted(codes, code)
        ids = np.empty(codes.size, dtype=np.int32)
        for i, c in enumerate(codes.tolist()):
            rest, u = divmod(c, n_up)
            d, k = divmod(rest, n_kinds)
            value = np.array([done_values[d], latency[k], period[k], period_values[u]])
            cid = self._class_id.get(value.tobytes())
            if cid is None:
                cid = self._class_id[value.tobytes()] = len(self._class_id)
                self._classes.extend(value)
            ids[i] = cid
        return ids[local]
