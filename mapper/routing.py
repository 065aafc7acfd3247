"""Routing: routes, routing tables, destination cores and hops per source.

The geometry (router ids, routes across chips, link ids) is :mod:`chipemu.hardware`; this
module applies it to the sources of a mapped network.  Direction codes of the routing
tables: ``0`` delivers to a core of the router itself (``local``), ``1 + d`` leaves on
direction ``d`` of :data:`chipemu.hardware.DIRECTIONS` (E, W, N, S, U, D).  Routes are
dimension order (X, then Y, then Z on the system's global grid; XY on one chip).

Modes:

``unicast`` (Loihi)
    A spike of a source becomes one packet per distinct destination core other than the
    source's own core; each packet travels its own route.  Hops of a source = the sum
    over its destination cores of the hops of the route between the routers.
``multicast``
    One packet is replicated along the union of the routes from the source to its
    destination cores (a tree); hops = the number of links of that tree.  The routes of
    one source share their X leg on the source's row, their Y legs per destination
    column and their Z legs per destination column and row, so the tree has
    ``(max X - min X) + sum over destination columns (max Y - min Y) + sum over
    destination (X, Y) of (max Z - min Z)`` links, the source's own coordinates included
    in the extremes.  Multicast hops <= unicast hops.

Either way a destination core receives one packet per spike of the source.
"""

from __future__ import annotations

import numpy as np

from chipemu.arrays import distinct, sum_by_key
from chipemu.hardware import DIRECTIONS as _HW_DIRECTIONS, Hardware

from .graph import MapGraph
from .resources import source_cores

DIRECTIONS = ("local", *_HW_DIRECTIONS)
ROUTING_MODES = ("unicast", "multicast")


def xy_route(src: tuple[int, int], dst: tuple[int, int]) -> list[tuple[int, int]]:
    """Routers an XY-routed packet visits from router ``src`` to router ``dst`` (positions
    ``(X, Y)`` on one plane), both included."""
    (x, y), (x1, y1) = (int(src[0]), int(src[1])), (int(dst[0]), int(dst[1]))
    path = [(x, y)]
    while x != x1:
        x += 1 if x1 > x else -1
        path.append((x, y))
    while y != y1:
        y += 1 if y1 > y else -1
        path.append((x, y))
    return path


def routing_tables(hw: Hardware, core_router) -> np.ndarray:
    """(n_routers, K) int8 table: at every router, the direction code towards each logical
    core (0 ``local`` when the core is on that router, else 1 + the direction of the
    first link of the route)."""
    core_router = np.asarray(core_router, dtype=np.int64)
    R, K = hw.n_routers, core_router.size
    src = np.repeat(np.arange(R, dtype=np.int64), K)
    dst = np.tile(core_router, R)
    links, n = hw.routes(src, dst)
    first = links[:, 0] if links.shape[1] else np.full(src.size, -1)
    code = np.where(n > 0, first % hw.n_dirs + 1, 0)
    return code.reshape(R, K).astype(np.int8)


def routing_table_dict(hw: Hardware, core_router) -> dict[int, dict[int, str]]:
    """The routing tables as ``{router: {logical core: "E"|"W"|...|"local"}}`` (small systems)."""
    tab = routing_tables(hw, core_router)
    return {r: {k: DIRECTIONS[int(c)] for k, c in enumerate(row)} for r, row in enumerate(tab)}


def destination_cores(graph: MapGraph, neuron_core: np.ndarray, input_core: np.ndarray,
                      n_cores: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Distinct destination cores of every source other than its own, as CSR.

    Sources are compartments ``0..n-1`` then input sources ``n..n+in_n-1``.  Returns
    ``indptr`` (n + in_n + 1,) and ``cores`` (logical core ids, ascending per source):
    a spike of source s becomes one packet to each of ``cores[indptr[s]:indptr[s+1]]``.
    """
    nc = np.asarray(neuron_core, np.int64)
    K = int(n_cores if n_cores is not None else (nc.max() + 1 if nc.size else 0))
    score = source_cores(nc, input_core)
    n_src = graph.n_src
    o_s = np.repeat(np.arange(n_src, dtype=np.int64), np.diff(graph.out_ptr))
    dcore = nc[graph.out_dst]
    keep = dcore != score[o_s]
    o_s, dcore = o_s[keep], dcore[keep]
    if n_src * K <= 60_000_000:
        seen = np.zeros(n_src * K, dtype=bool)
        seen[o_s * K + dcore] = True
        keys = np.flatnonzero(seen)
    else:
        keys = distinct(o_s * K + dcore)
    s = keys // max(K, 1)
    indptr = np.zeros(n_src + 1, dtype=np.int64)
    np.cumsum(np.bincount(s, minlength=n_src), out=indptr[1:])
    return indptr, (keys - s * K).astype(np.int64)


def _positions(hw: Hardware, routers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return hw.router_gx[routers], hw.router_gy[routers], hw.router_gz[routers]


def _pairs(indptr, cores, src_core, core_router):
    """Source id, source router and destination router of every (source, destination core)."""
    n_src = indptr.size - 1
    s = np.repeat(np.arange(n_src, dtype=np.int64), np.diff(indptr))
    return s, core_router[src_core[s]], core_router[cores]


def source_hops(indptr: np.ndarray, cores: np.ndarray, src_core: np.ndarray, hw: Hardware,
                core_router: np.ndarray, mode: str = "unicast") -> np.ndarray:
    """Link traversals per spike of every source (see the module docstring)."""
    _check_mode(mode)
    n_src = indptr.size - 1
    if cores.size == 0:
        return np.zeros(n_src, dtype=np.int64)
    core_router = np.asarray(core_router, np.int64)
    s, r0, r1 = _pairs(indptr, cores, src_core, core_router)
    if mode == "unicast":
        ew, ns, chip = hw.hop_counts(r0, r1)
        return np.bincount(s, weights=ew + ns + chip, minlength=n_src).astype(np.int64)
    hops = np.zeros(n_src, dtype=np.int64)
    for leg in _multicast_legs(hw, indptr, s, r0, r1):
        axis, a, b, p, q, src = leg
        np.add.at(hops, src, np.abs(b - a))
    return hops


def _multicast_legs(hw: Hardware, indptr, s, r0, r1):
    """The legs of every source's multicast tree: ``(axis, a, b, p, q, source)`` arrays,
    each leg from ``a`` to ``b`` along ``axis`` (0 X, 1 Y, 2 Z) at the other coordinates
    ``(p, q)`` (see :meth:`chipemu.hardware.Hardware.add_leg`)."""
    x0, y0, z0 = _positions(hw, r0)
    x1, y1, z1 = _positions(hw, r1)
    legs = []
    # X: one leg east and one west on the source's row, to the extremes of the destinations
    has = np.diff(indptr) > 0
    src = np.flatnonzero(has)
    starts = indptr[:-1][has]
    first = starts  # pair index of each source's first destination: its own coordinates
    xs, ys, zs = x0[first], y0[first], z0[first]
    hi = np.maximum(np.maximum.reduceat(x1, starts), xs)
    lo = np.minimum(np.minimum.reduceat(x1, starts), xs)
    legs += [(0, xs, hi, ys, zs, src), (0, xs, lo, ys, zs, src)]
    # Y: per (source, destination column), in the source's layer
    for axis, key_cols, at, _, _ in ((1, (x1,), y1, None, None), (2, (x1, y1), z1, None, None)):
        big = int(max(hw.grid)) + 1
        key = s.copy()
        for col in key_cols:
            key = key * big + col
        order = np.lexsort((at, key))
        k_sorted, at_sorted = key[order], at[order]
        new = np.r_[True, k_sorted[1:] != k_sorted[:-1]]
        g_start = np.flatnonzero(new)
        g_end = np.r_[g_start[1:], k_sorted.size] - 1
        pair = order[g_start]  # a pair of each group: its source and column
        own = y0[pair] if axis == 1 else z0[pair]
        top = np.maximum(at_sorted[g_end], own)
        bottom = np.minimum(at_sorted[g_start], own)
        if axis == 1:
            p, q = x1[pair], z0[pair]
        else:
            p, q = x1[pair], y1[pair]
        legs += [(axis, own, top, p, q, s[pair]), (axis, own, bottom, p, q, s[pair])]
    return legs


def _check_mode(mode: str) -> None:
    if mode not in ROUTING_MODES:
        from chipemu.errors import ChipemuError
        raise ChipemuError(f"routing mode {mode!r} unknown (allowed: {', '.join(ROUTING_MODES)})")


#: router pairs (R * R) up to which :func:`link_loads` sums per pair in a dense table
#: (32 MiB of float64 sums and as many counts; one chip, or a few dozen chips of Loihi 1)
DENSE_ROUTER_PAIRS = 1 << 22


def link_loads(indptr: np.ndarray, cores: np.ndarray, src_core: np.ndarray, hw: Hardware,
               core_router: np.ndarray, weights: np.ndarray, mode: str = "unicast") -> np.ndarray:
    """Expected packets per timestep on every link, ``(n_links,)`` by link id
    (:mod:`chipemu.hardware`); ``weights`` is the spike rate of every source (spikes per
    timestep).  With the spikes a run actually fired as weights, the unicast loads are
    the NoC models' ``link_packets``."""
    _check_mode(mode)
    if cores.size == 0:
        return np.zeros(hw.n_links)
    core_router = np.asarray(core_router, np.int64)
    w = np.asarray(weights, np.float64)
    s, r0, r1 = _pairs(indptr, cores, src_core, core_router)
    if mode == "unicast":
        # aggregate packets per (source router, destination router) first; the sums of
        # one pair run in input order either way, so both paths give the same floats
        key = r0 * hw.n_routers + r1
        if hw.n_routers ** 2 <= DENSE_ROUTER_PAIRS:
            pair = np.bincount(key, weights=w[s], minlength=hw.n_routers ** 2)
            key = np.flatnonzero(np.bincount(key, minlength=hw.n_routers ** 2))
            pair = pair[key]
        else:
            key, pair = sum_by_key(key, w[s])
        return hw.link_loads(key // hw.n_routers, key % hw.n_routers, pair)
    diff = hw._diff_grids()
    for axis, a, b, p, q, src in _multicast_legs(hw, indptr, s, r0, r1):
        hw.add_leg(diff, axis, a, b, p, q, w[src])
    return hw.sum_legs(diff)
