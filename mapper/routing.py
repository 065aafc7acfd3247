"""Routing on the mesh: dimension-order XY routes, routing tables, packets per source.

Directions: ``E`` is +x (towards higher column index), ``W`` is -x, ``N`` is +y (towards
higher row index), ``S`` is -y; ``local`` delivers to a core of the router itself.  A route
goes along x first, then along y (deadlock-free dimension-order routing, as on Loihi).

Modes:

``unicast`` (Loihi)
    A spike of a source becomes one packet per distinct destination core other than the
    source's own core; each packet travels its own XY route.  Hops of a source = the sum
    over its destination cores of the Manhattan distance between the routers.
``multicast``
    One packet is replicated along the union of the XY routes from the source to its
    destination cores (a tree); hops = the number of links of that tree.  The XY routes
    of one source share their first (horizontal) leg on the source's row and their
    vertical legs per destination column, so the tree has
    ``(max x - min x) + sum over destination columns X of (max y - min y)`` links, the
    source's own x and y included in the extremes.  Multicast hops <= unicast hops.

Either way a destination core receives one packet per spike of the source.
"""

from __future__ import annotations

import numpy as np

from .graph import MapGraph, sorted_unique
from .resources import source_cores

DIRECTIONS = ("local", "E", "W", "N", "S")
ROUTING_MODES = ("unicast", "multicast")


def xy_route(src: tuple[int, int], dst: tuple[int, int]) -> list[tuple[int, int]]:
    """Routers an XY-routed packet visits from router ``src`` to router ``dst``, both included."""
    (x, y), (x1, y1) = (int(src[0]), int(src[1])), (int(dst[0]), int(dst[1]))
    path = [(x, y)]
    while x != x1:
        x += 1 if x1 > x else -1
        path.append((x, y))
    while y != y1:
        y += 1 if y1 > y else -1
        path.append((x, y))
    return path


def next_direction(router_xy: np.ndarray, dest_xy: np.ndarray) -> np.ndarray:
    """Output direction code (index into :data:`DIRECTIONS`) at routers towards destinations.

    Broadcasts: ``router_xy`` (..., 2) and ``dest_xy`` (..., 2).
    """
    rx, ry = router_xy[..., 0], router_xy[..., 1]
    dx, dy = dest_xy[..., 0], dest_xy[..., 1]
    return np.select([dx > rx, dx < rx, dy > ry, dy < ry], [1, 2, 3, 4], 0).astype(np.int8)


def routing_tables(core_xy: np.ndarray, columns: int, rows: int) -> np.ndarray:
    """(n_routers, K) int8 table: at router ``y * columns + x``, the direction code towards
    each logical core (0 ``local`` when the core is on that router)."""
    r = np.arange(columns * rows)
    rxy = np.stack([r % columns, r // columns], axis=1)
    return next_direction(rxy[:, None, :], np.asarray(core_xy)[None, :, :])


def routing_table_dict(core_xy: np.ndarray, columns: int, rows: int) -> dict[tuple[int, int], dict[int, str]]:
    """The routing tables as ``{(x, y): {logical core: "E"|"W"|"N"|"S"|"local"}}`` (small chips)."""
    tab = routing_tables(core_xy, columns, rows)
    return {(i % columns, i // columns): {k: DIRECTIONS[int(c)] for k, c in enumerate(row)}
            for i, row in enumerate(tab)}


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
        keys, _ = sorted_unique(o_s * K + dcore)
    s = keys // max(K, 1)
    indptr = np.zeros(n_src + 1, dtype=np.int64)
    np.cumsum(np.bincount(s, minlength=n_src), out=indptr[1:])
    return indptr, (keys - s * K).astype(np.int64)


def source_hops(indptr: np.ndarray, cores: np.ndarray, src_core: np.ndarray,
                core_xy: np.ndarray, mode: str = "unicast") -> np.ndarray:
    """Router-to-router link traversals per spike of every source (see the module docstring)."""
    n_src = indptr.size - 1
    if cores.size == 0:
        return np.zeros(n_src, dtype=np.int64)
    core_xy = np.asarray(core_xy, np.int64)
    s = np.repeat(np.arange(n_src, dtype=np.int64), np.diff(indptr))
    x0, y0 = core_xy[src_core[s], 0], core_xy[src_core[s], 1]
    x1, y1 = core_xy[cores, 0], core_xy[cores, 1]
    if mode == "unicast":
        return np.bincount(s, weights=np.abs(x1 - x0) + np.abs(y1 - y0), minlength=n_src).astype(np.int64)
    _check_mode(mode)
    xs, ys = core_xy[src_core[np.arange(n_src)], 0], core_xy[src_core[np.arange(n_src)], 1]
    has = np.diff(indptr) > 0
    starts = indptr[:-1][has]
    horiz = np.zeros(n_src, dtype=np.int64)
    horiz[has] = (np.maximum(np.maximum.reduceat(x1, starts), xs[has])
                  - np.minimum(np.minimum.reduceat(x1, starts), xs[has]))
    # vertical legs per (source, destination column)
    gmin, gmax, gs, _ = _column_groups(s, x1, y1)
    vert = np.maximum(gmax, ys[gs]) - np.minimum(gmin, ys[gs])
    return horiz + np.bincount(gs, weights=vert, minlength=n_src).astype(np.int64)


def _column_groups(s: np.ndarray, x1: np.ndarray, y1: np.ndarray):
    """Per distinct (source, column): min y, max y, source, column."""
    big = int(max(x1.max(), y1.max())) + 1
    key = (s * big + x1) * big + y1
    key.sort()
    g = key // big
    first = np.empty(key.size, dtype=bool)
    first[0] = True
    np.not_equal(g[1:], g[:-1], out=first[1:])
    last = np.empty(key.size, dtype=bool)
    last[-1] = True
    last[:-1] = first[1:]
    ymin = key[first] - g[first] * big
    ymax = key[last] - g[last] * big
    gg = g[first]
    return ymin, ymax, gg // big, gg % big


def _check_mode(mode: str) -> None:
    if mode not in ROUTING_MODES:
        from chipemu.errors import ChipemuError
        raise ChipemuError(f"routing mode {mode!r} unknown (allowed: {', '.join(ROUTING_MODES)})")


def link_loads(indptr: np.ndarray, cores: np.ndarray, src_core: np.ndarray, core_xy: np.ndarray,
               weights: np.ndarray, columns: int, rows: int, mode: str = "unicast") -> dict[str, np.ndarray]:
    """Expected packets per timestep on every directed mesh link.

    Returns ``{"E": (rows, columns), "W": ..., "N": ..., "S": ...}``: entry ``[y, x]`` of
    ``"E"`` is the load of the link from router (x, y) to (x+1, y), and so on; ``weights``
    is the spike rate of every source (spikes per timestep).
    """
    _check_mode(mode)
    out = {d: np.zeros((rows + 1, columns + 1)) for d in "EWNS"}
    n_src = indptr.size - 1
    if cores.size:
        core_xy = np.asarray(core_xy, np.int64)
        s = np.repeat(np.arange(n_src, dtype=np.int64), np.diff(indptr))
        w = np.asarray(weights, np.float64)
        if mode == "unicast":
            # aggregate packets per (source router, destination router) first
            R = columns * rows
            r0 = core_xy[src_core[s], 1] * columns + core_xy[src_core[s], 0]
            r1 = core_xy[cores, 1] * columns + core_xy[cores, 0]
            pair = np.bincount(r0 * R + r1, weights=w[s], minlength=R * R)
            nz = np.flatnonzero(pair)
            a, b = nz // R, nz % R
            x0, y0, x1, y1 = a % columns, a // columns, b % columns, b // columns
            _horizontal(out, y0, x0, x1, pair[nz])
            _vertical(out, x1, y0, y1, pair[nz])
        else:
            has = np.diff(indptr) > 0
            src = np.flatnonzero(has)
            starts = indptr[:-1][has]
            x1, y1 = core_xy[cores, 0], core_xy[cores, 1]
            xs, ys = core_xy[src_core[src], 0], core_xy[src_core[src], 1]
            _horizontal(out, ys, xs, np.maximum(np.maximum.reduceat(x1, starts), xs), w[src])  # east leg
            _horizontal(out, ys, xs, np.minimum(np.minimum.reduceat(x1, starts), xs), w[src])  # west leg
            gmin, gmax, gs, gx = _column_groups(s, x1, y1)
            y0 = core_xy[src_core[gs], 1]
            _vertical(out, gx, y0, np.maximum(gmax, y0), w[gs])
            _vertical(out, gx, y0, np.minimum(gmin, y0), w[gs])
    for d in "EW":
        out[d] = np.cumsum(out[d], axis=1)[:rows, :columns]
    for d in "NS":
        out[d] = np.cumsum(out[d], axis=0)[:rows, :columns]
    return out


def _add(arr: np.ndarray, i: np.ndarray, j: np.ndarray, w: np.ndarray) -> None:
    """``arr[i, j] += w`` with repeated indices summed (one bincount)."""
    if i.size:
        arr += np.bincount(i * arr.shape[1] + j, weights=w, minlength=arr.size).reshape(arr.shape)


def _horizontal(out, y, x0, x1, w) -> None:
    """Add ``w`` to the E (x1 > x0) or W (x1 < x0) links between x0 and x1 on row y (as differences)."""
    e = x1 > x0
    _add(out["E"], y[e], x0[e], w[e])
    _add(out["E"], y[e], x1[e], -w[e])
    west = x1 < x0
    _add(out["W"], y[west], x1[west] + 1, w[west])
    _add(out["W"], y[west], x0[west] + 1, -w[west])


def _vertical(out, x, y0, y1, w) -> None:
    """Add ``w`` to the N (y1 > y0) or S (y1 < y0) links between y0 and y1 in column x."""
    nn = y1 > y0
    _add(out["N"], y0[nn], x[nn], w[nn])
    _add(out["N"], y1[nn], x[nn], -w[nn])
    ss = y1 < y0
    _add(out["S"], y1[ss] + 1, x[ss], w[ss])
    _add(out["S"], y0[ss] + 1, x[ss], -w[ss])
