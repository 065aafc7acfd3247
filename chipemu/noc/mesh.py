"""2-D mesh topology and dimension-order (XY) routing.

Routers sit on a ``columns x rows`` grid; router index ``r = y * columns + x``.  Every
router has up to four outgoing links, one per direction; a link is identified by

    link = router * 4 + direction,   direction E=0 (x+1), W=1 (x-1), N=2 (y+1), S=3 (y-1)

where ``router`` is the router the link *leaves*.  Links that would leave the mesh do not
exist (:attr:`MeshTopology.link_exists` is False for them) and never appear on a route.

Routing is dimension-order XY: a packet first travels along x (east or west) in the
source router's row until it reaches the destination column, then along y (north or
south) in that column.  On a mesh this order is deadlock-free.
"""

from __future__ import annotations

import numpy as np

from chipemu.errors import ChipemuError

__all__ = ["MeshTopology", "E", "W", "N", "S", "DIRECTIONS"]

E, W, N, S = 0, 1, 2, 3
DIRECTIONS = ("E", "W", "N", "S")
_N_DIR = len(DIRECTIONS)
_STEP = {E: (1, 0), W: (-1, 0), N: (0, 1), S: (0, -1)}  # (dx, dy) per direction


def _is_int(v: object) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


class MeshTopology:
    """A ``columns x rows`` router mesh with XY routing.

    Attributes:
        columns, rows: mesh size (routers).
        n_routers: ``columns * rows``.
        n_links: ``4 * n_routers`` link ids (some do not exist; see :attr:`link_exists`).
        link_exists: ``(n_links,)`` bool, True for links inside the mesh.
        link_is_ns: ``(n_links,)`` bool, True for north-south links.
    """

    def __init__(self, columns: int, rows: int):
        for name, v in (("columns", columns), ("rows", rows)):
            if not _is_int(v) or v < 1:
                raise ChipemuError(f"mesh topology: {name} = {v!r} is invalid (allowed: int >= 1)")
        self.columns = int(columns)
        self.rows = int(rows)
        self.n_routers = self.columns * self.rows
        self.n_links = _N_DIR * self.n_routers
        r = np.arange(self.n_routers)
        x, y = r % self.columns, r // self.columns
        exists = np.zeros((self.n_routers, _N_DIR), dtype=bool)
        exists[:, E] = x < self.columns - 1
        exists[:, W] = x > 0
        exists[:, N] = y < self.rows - 1
        exists[:, S] = y > 0
        self.link_exists = exists.reshape(-1)
        self.link_is_ns = np.tile(np.array([False, False, True, True]), self.n_routers)

    def __repr__(self) -> str:
        return f"MeshTopology(columns={self.columns}, rows={self.rows})"

    # ---- coordinates ----------------------------------------------------------------

    def _check_routers(self, what: str, r: np.ndarray) -> None:
        if r.size and (r.min() < 0 or r.max() >= self.n_routers):
            bad = r[(r < 0) | (r >= self.n_routers)][0]
            raise ChipemuError(f"mesh {self.columns}x{self.rows}: {what} router index {bad} "
                               f"out of range (allowed: 0..{self.n_routers - 1})")

    def _routers(self, what: str, r) -> np.ndarray:
        a = np.asarray(r)
        if a.dtype.kind not in "iu":
            raise ChipemuError(f"mesh {self.columns}x{self.rows}: {what} router index {r!r} "
                               f"is not an integer (allowed: int 0..{self.n_routers - 1})")
        a = a.astype(np.int64)
        self._check_routers(what, a)
        return a

    def xy(self, router):
        """Coordinates ``(x, y)`` of a router index (or of an array of them)."""
        r = self._routers("the", router)
        return r % self.columns, r // self.columns

    # ---- routing --------------------------------------------------------------------

    def hops(self, src_router, dst_router):
        """``(east-west hops, north-south hops)`` of the XY route; ints or int arrays."""
        s, d = self._routers("source", src_router), self._routers("destination", dst_router)
        ew = np.abs(d % self.columns - s % self.columns)
        ns = np.abs(d // self.columns - s // self.columns)
        if ew.ndim == 0 and ns.ndim == 0:
            return int(ew), int(ns)
        return ew, ns

    def route(self, src_router: int, dst_router: int) -> np.ndarray:
        """Link ids of the XY route from ``src_router`` to ``dst_router`` in travel order."""
        links, n = self.routes(np.atleast_1d(src_router), np.atleast_1d(dst_router))
        return links[0, : n[0]].copy()

    def routes(self, src_router, dst_router) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised routes for arrays of router pairs.

        Returns ``(links, n_hops)``: ``links`` is ``(T, max_hops)`` int64 with the link ids
        of route ``t`` in ``links[t, :n_hops[t]]`` and ``-1`` after it.
        """
        s = self._routers("source", src_router).reshape(-1)
        d = self._routers("destination", dst_router).reshape(-1)
        if s.shape != d.shape:
            raise ChipemuError(f"mesh routes: {s.size} source routers but {d.size} "
                               f"destination routers (allowed: the same number)")
        xs, ys = s % self.columns, s // self.columns
        xd, yd = d % self.columns, d // self.columns
        ew, ns = np.abs(xd - xs), np.abs(yd - ys)
        n = ew + ns
        width = int(n.max()) if n.size else 0
        k = np.arange(width)[None, :]
        ew_, xs_, ys_, xd_ = ew[:, None], xs[:, None], ys[:, None], xd[:, None]
        sx = np.sign(xd - xs)[:, None]
        sy = np.sign(yd - ys)[:, None]
        along_x = k < ew_
        x = np.where(along_x, xs_ + k * sx, xd_)
        y = np.where(along_x, ys_, ys_ + (k - ew_) * sy)
        direction = np.where(along_x, np.where(sx > 0, E, W), np.where(sy > 0, N, S))
        links = (y * self.columns + x) * _N_DIR + direction
        links = np.where(k < n[:, None], links, -1).astype(np.int64)
        return links, n

    # ---- links ----------------------------------------------------------------------

    def _check_link(self, link) -> int:
        if not _is_int(link) or not (0 <= link < self.n_links) or not self.link_exists[link]:
            raise ChipemuError(
                f"mesh {self.columns}x{self.rows}: link {link!r} does not exist (allowed: "
                f"router * 4 + direction for a link inside the mesh, 0..{self.n_links - 1})")
        return int(link)

    def link_direction(self, link: int) -> int:
        """Direction of a link: E=0, W=1, N=2, S=3."""
        return self._check_link(link) % _N_DIR

    def link_endpoints(self, link: int) -> tuple[int, int]:
        """``(router_from, router_to)`` of an existing link."""
        link = self._check_link(link)
        r, d = divmod(link, _N_DIR)
        dx, dy = _STEP[d]
        return r, r + dy * self.columns + dx
