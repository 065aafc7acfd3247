"""The hardware model: numbering, coordinates, routes and links of a system of chips.

This module is the one place that knows the geometry.  The mapper, both NoC models, the
energy model and the report all use it; nothing else computes a router id, a route or a
link id.

**Chips.**  A system is a ``chips_x x chips_y x chips_z`` grid of identical chips (one
chip is the 1 x 1 x 1 case).  Chip ``c = (cz * chips_y + cy) * chips_x + cx``.

**Routers.**  Every chip has a ``columns x rows`` router mesh; router ``(x, y)`` of chip
``c`` has the *global router id* ::

    router = c * routers_per_chip + y * columns + x          (routers_per_chip = columns * rows)

so on a single chip ``router = y * columns + x``.  In the system the chips tile one
global grid, as Loihi's chips extend the mesh on their four planar sides (Davies et al.,
IEEE Micro 2018): router ``(x, y)`` of chip ``(cx, cy, cz)`` sits at global position
``(X, Y, Z) = (cx * columns + x, cy * rows + y, cz)``.  Layers ``Z`` are chips stacked
on their Up/Down ports (Loihi 2 has six chip-to-chip ports).

**Cores.**  Router ``r`` hosts ``cores_per_router`` cores, *physical core id*
``r * cores_per_router + port``; on one chip that is ``(y * columns + x) * cpr + port``.

**Links.**  Every router has one outgoing link per direction ``E`` (+X), ``W`` (-X),
``N`` (+Y), ``S`` (-Y), and in a system with several layers also ``U`` (+Z) and ``D``
(-Z)::

    link = router * n_dirs + direction      (n_dirs = 4 without layers, 6 with them)

where ``router`` is the router the link *leaves*.  A link that would leave the global
grid does not exist.  A link whose two routers are on different chips is a *chip-to-chip
link* (every U/D link is one).  :attr:`Hardware.link_kind` classifies each link:
``ON_CHIP_EW``, ``ON_CHIP_NS`` or ``CHIP_TO_CHIP``; the NoC models and the energy model
read their per-link latency, bandwidth and energy by that kind.

**Routes.**  Dimension order on the global grid: X first (along the source's row), then
Y (in the destination's column), then Z (in the destination's column and row).  Inside
one chip this is Loihi's XY routing; across chips a packet leaves its chip through the
boundary routers on its way, as on a mesh of chips.  Dimension-order routing on a mesh is
deadlock-free.
"""

from __future__ import annotations

import functools

import numpy as np

from chipemu.errors import ChipemuError

__all__ = ["Hardware", "E", "W", "N", "S", "U", "D", "DIRECTIONS", "ON_CHIP_EW", "ON_CHIP_NS",
           "CHIP_TO_CHIP", "LINK_KINDS"]

E, W, N, S, U, D = 0, 1, 2, 3, 4, 5
DIRECTIONS = ("E", "W", "N", "S", "U", "D")
#: (dX, dY, dZ) of one hop in each direction
_STEP = ((1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1))
ON_CHIP_EW, ON_CHIP_NS, CHIP_TO_CHIP = 0, 1, 2
LINK_KINDS = ("on_chip_ew", "on_chip_ns", "chip_to_chip")


def _is_int(v: object) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


class Hardware:
    """Geometry of a grid of identical chips (see the module docstring).

    Args:
        columns, rows: routers per chip in x and y (>= 1).
        cores_per_router: cores attached to each router (>= 1).
        chips: ``(chips_x, chips_y, chips_z)`` chips in the system (each >= 1).

    Attributes:
        n_chips, routers_per_chip, cores_per_chip, n_routers, n_cores: counts.
        n_dirs: link directions per router (4, or 6 with several layers).
        n_links: ``n_routers * n_dirs`` link ids (some do not exist).
        link_exists: ``(n_links,)`` bool.
        link_kind: ``(n_links,)`` int8, :data:`ON_CHIP_EW`, :data:`ON_CHIP_NS` or
            :data:`CHIP_TO_CHIP` (meaningless where the link does not exist).
        link_is_ns: ``(n_links,)`` bool, True for on-chip north-south links.
        router_chip: ``(n_routers,)`` chip of every router.
        router_gx, router_gy, router_gz: ``(n_routers,)`` global position of every router.
        router_cx, router_cy: ``(n_routers,)`` grid position (column, row) of every
            router's chip.
    """

    def __init__(self, columns: int, rows: int, cores_per_router: int = 1,
                 chips: tuple[int, int, int] = (1, 1, 1)):
        chips = tuple(chips)
        if len(chips) != 3:
            raise ChipemuError(f"hardware: chips = {chips!r} must be (chips_x, chips_y, chips_z)")
        for name, v in (("columns", columns), ("rows", rows), ("cores_per_router", cores_per_router),
                        ("chips_x", chips[0]), ("chips_y", chips[1]), ("chips_z", chips[2])):
            if not _is_int(v) or v < 1:
                raise ChipemuError(f"hardware: {name} = {v!r} is invalid (allowed: int >= 1)")
        self.columns, self.rows, self.cores_per_router = int(columns), int(rows), int(cores_per_router)
        self.chips_x, self.chips_y, self.chips_z = (int(c) for c in chips)
        self.n_chips = self.chips_x * self.chips_y * self.chips_z
        self.routers_per_chip = self.columns * self.rows
        self.cores_per_chip = self.routers_per_chip * self.cores_per_router
        self.n_routers = self.n_chips * self.routers_per_chip
        self.n_cores = self.n_routers * self.cores_per_router
        self.n_dirs = 6 if self.chips_z > 1 else 4
        self.n_links = self.n_routers * self.n_dirs
        #: global grid size (routers) in X, Y, Z
        self.grid = (self.chips_x * self.columns, self.chips_y * self.rows, self.chips_z)
        r = np.arange(self.n_routers, dtype=np.int64)
        self.router_chip = r // self.routers_per_chip
        local = r - self.router_chip * self.routers_per_chip
        cx, cy, cz = self.chip_xyz(self.router_chip)
        self.router_gx = cx * self.columns + local % self.columns
        self.router_gy = cy * self.rows + local // self.columns
        self.router_gz = cz
        #: chip column and row of every router (its chip's position in the grid)
        self.router_cx, self.router_cy = cx, cy
        gx, gy, gz = self.grid
        #: router id at global position [Z, Y, X]
        self.grid_router = np.empty((gz, gy, gx), dtype=np.int64)
        self.grid_router[self.router_gz, self.router_gy, self.router_gx] = r
        exists = np.zeros((self.n_routers, self.n_dirs), dtype=bool)
        kind = np.zeros((self.n_routers, self.n_dirs), dtype=np.int8)
        for d in range(self.n_dirs):
            nx, ny, nz = (self.router_gx + _STEP[d][0], self.router_gy + _STEP[d][1],
                          self.router_gz + _STEP[d][2])
            ok = (nx >= 0) & (nx < gx) & (ny >= 0) & (ny < gy) & (nz >= 0) & (nz < gz)
            exists[:, d] = ok
            other = np.full(self.n_routers, -1, dtype=np.int64)
            other[ok] = self.grid_router[nz[ok], ny[ok], nx[ok]]
            crosses = ok & (self.router_chip[np.maximum(other, 0)] != self.router_chip)
            kind[:, d] = np.where(crosses, CHIP_TO_CHIP, ON_CHIP_NS if d in (N, S) else ON_CHIP_EW)
        self.link_exists = exists.reshape(-1)
        self.link_kind = kind.reshape(-1)
        self.link_is_ns = self.link_kind == ON_CHIP_NS
        self.link_router = np.repeat(r, self.n_dirs)
        self.link_dir = np.tile(np.arange(self.n_dirs, dtype=np.int64), self.n_routers)

    @classmethod
    def of(cls, spec) -> "Hardware":
        """The hardware of a chip spec (one chip) or of a system spec (a grid of chips).

        Anything with ``mesh.columns``, ``mesh.rows``, ``mesh.cores_per_router`` and, for a
        system, ``chips`` = (chips_x, chips_y, chips_z).  Cached on the spec.
        """
        hw = getattr(spec, "_hardware", None)
        if hw is None:
            m = spec.mesh
            hw = cls(m.columns, m.rows, m.cores_per_router, tuple(getattr(spec, "chips", (1, 1, 1))))
            try:
                object.__setattr__(spec, "_hardware", hw)
            except (AttributeError, TypeError):
                pass
        return hw

    def __repr__(self) -> str:
        return (f"Hardware(columns={self.columns}, rows={self.rows}, cores_per_router="
                f"{self.cores_per_router}, chips=({self.chips_x}, {self.chips_y}, {self.chips_z}))")

    def __eq__(self, other) -> bool:
        return isinstance(other, Hardware) and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))

    @property
    def chips(self) -> tuple[int, int, int]:
        return (self.chips_x, self.chips_y, self.chips_z)

    def _where(self) -> str:
        mesh = f"mesh {self.columns}x{self.rows}"
        if self.n_chips == 1:
            return mesh
        return f"system of {self.chips_x}x{self.chips_y}x{self.chips_z} chips ({mesh} each)"

    # ---- chips ----------------------------------------------------------------------

    def chip_xyz(self, chip):
        """``(cx, cy, cz)`` of a chip index (or an array of them)."""
        c = np.asarray(chip, dtype=np.int64)
        return c % self.chips_x, (c // self.chips_x) % self.chips_y, c // (self.chips_x * self.chips_y)

    def chip_distance(self, a, b):
        """Chip-to-chip links a packet crosses from chip ``a`` to chip ``b`` (Manhattan)."""
        ax, ay, az = self.chip_xyz(a)
        bx, by, bz = self.chip_xyz(b)
        return np.abs(ax - bx) + np.abs(ay - by) + np.abs(az - bz)

    # ---- routers and cores ----------------------------------------------------------

    def routers(self, what: str, r) -> np.ndarray:
        """Validate router ids (int array, each in ``0 .. n_routers-1``)."""
        a = np.asarray(r)
        if a.dtype.kind not in "iu":
            raise ChipemuError(f"{self._where()}: {what} router index {r!r} is not an integer "
                               f"(allowed: int 0..{self.n_routers - 1})")
        a = a.astype(np.int64, copy=False)
        if a.size and (a.min() < 0 or a.max() >= self.n_routers):
            bad = a[(a < 0) | (a >= self.n_routers)].reshape(-1)[0]
            raise ChipemuError(f"{self._where()}: {what} router index {bad} out of range "
                               f"(allowed: 0..{self.n_routers - 1})")
        return a

    def router_id(self, chip, x, y):
        """Global router id of router ``(x, y)`` of ``chip`` (ints or int arrays)."""
        return (np.asarray(chip, dtype=np.int64) * self.routers_per_chip
                + np.asarray(y, dtype=np.int64) * self.columns + np.asarray(x, dtype=np.int64))

    def xy(self, router):
        """Coordinates ``(x, y)`` of a router on its own chip (ints or int arrays)."""
        r = self.routers("the", router)
        local = r % self.routers_per_chip
        return local % self.columns, local // self.columns

    def core_router(self, core_chip, core_xy) -> np.ndarray:
        """``(K,)`` global router id of cores given their chip and ``[x, y]`` on it."""
        xy = np.asarray(core_xy, dtype=np.int64).reshape(-1, 2)
        return self.router_id(np.asarray(core_chip, dtype=np.int64).reshape(-1), xy[:, 0], xy[:, 1])

    def core_place(self, physical) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(chip, xy (K, 2), port)`` of physical core ids."""
        p = np.asarray(physical, dtype=np.int64).reshape(-1)
        router, port = np.divmod(p, self.cores_per_router)
        x, y = self.xy(router) if p.size else (np.zeros(0, np.int64), np.zeros(0, np.int64))
        return router // self.routers_per_chip, np.stack([x, y], axis=1).astype(np.int64), port

    def physical_core(self, core_chip, core_xy, core_port) -> np.ndarray:
        """``(K,)`` physical core id ``router * cores_per_router + port``."""
        return self.core_router(core_chip, core_xy) * self.cores_per_router + np.asarray(core_port, np.int64)

    # ---- routing --------------------------------------------------------------------

    @functools.cached_property
    def _positions32(self) -> tuple[np.ndarray, ...]:
        """``(gx, gy, gz, cx, cy)`` of every router in int32, for the per-pair arithmetic
        of :meth:`hop_counts` (built on first use)."""
        return tuple(a.astype(np.int32) for a in (self.router_gx, self.router_gy, self.router_gz,
                                                  self.router_cx, self.router_cy))

    def hop_counts(self, src_router, dst_router):
        """``(on-chip east-west, on-chip north-south, chip-to-chip)`` hops of the routes.

        Ints for int arguments, else int64 arrays.
        """
        s, d = self.routers("source", src_router), self.routers("destination", dst_router)
        scalar = np.ndim(s) == 0 and np.ndim(d) == 0
        # chip boundaries crossed along X and Y: differences of the chips' grid positions
        # (looked up per router: integer division per pair is several times slower); in
        # int32 (coordinates are below 2**31), in place: the work is memory traffic
        gx, gy, gz, cx, cy = self._positions32
        s, d = np.broadcast_arrays(np.atleast_1d(s), np.atleast_1d(d))  # arrays: the arithmetic is in place

        def distance(pos):
            out = pos[d]
            out -= pos[s]
            return np.abs(out, out=out)

        cross_x, cross_y = distance(cx), distance(cy)
        ew, ns, chip = distance(gx), distance(gy), distance(gz)
        ew -= cross_x
        ns -= cross_y
        chip += cross_x
        chip += cross_y
        if scalar:
            return int(ew[0]), int(ns[0]), int(chip[0])
        return ew.astype(np.int64), ns.astype(np.int64), chip.astype(np.int64)

    def route(self, src_router: int, dst_router: int) -> np.ndarray:
        """Link ids of the route from ``src_router`` to ``dst_router`` in travel order."""
        links, n = self.routes(np.atleast_1d(src_router), np.atleast_1d(dst_router))
        return links[0, : n[0]].copy()

    def routes(self, src_router, dst_router) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised routes for arrays of router pairs.

        Returns ``(links, n_hops)``: ``links`` is ``(T, max_hops)`` int64 with the link ids
        of route ``t`` in ``links[t, :n_hops[t]]`` and ``-1`` after it.
        """
        s = self.routers("source", src_router).reshape(-1)
        d = self.routers("destination", dst_router).reshape(-1)
        if s.shape != d.shape:
            raise ChipemuError(f"routes: {s.size} source routers but {d.size} destination routers "
                               f"(allowed: the same number)")
        # (pairs, longest route) arrays in int32 (coordinates are small): half the memory
        # traffic of int64
        gx_, gy_, gz_ = self._positions32[:3]
        x0, y0, z0 = (a[s][:, None] for a in (gx_, gy_, gz_))
        x1, y1, z1 = (a[d][:, None] for a in (gx_, gy_, gz_))
        nx, ny, nz = np.abs(x1 - x0), np.abs(y1 - y0), np.abs(z1 - z0)
        n = (nx + ny + nz).reshape(-1).astype(np.int64)
        width = int(n.max()) if n.size else 0
        k = np.arange(width, dtype=np.int32)[None, :]
        sx, sy, sz = np.sign(x1 - x0), np.sign(y1 - y0), np.sign(z1 - z0)
        in_x = k < nx
        in_y = ~in_x & (k < nx + ny)
        x = np.where(in_x, x0 + k * sx, x1)  # always on the grid
        y = np.where(in_x, y0, np.where(in_y, y0 + (k - nx) * sy, y1))  # always on the grid
        z = np.where(in_x | in_y, z0, z0 + (k - nx - ny) * sz)  # off the grid past the route's end
        direction = np.where(in_x, np.where(sx > 0, E, W),
                             np.where(in_y, np.where(sy > 0, N, S), np.where(sz > 0, U, D)))
        valid = k < n[:, None]
        gx, gy, gz = self.grid
        np.clip(z, 0, gz - 1, out=z)
        cell = z.astype(np.int64) * gy if gx * gy * gz >= 2**31 else z * gy
        cell += y
        cell *= gx
        cell += x  # the position's index in grid_router (Z, Y, X), flattened
        router = self.grid_router.reshape(-1)[cell]
        router *= self.n_dirs
        router += direction
        links = np.where(valid, router, -1).astype(np.int64, copy=False)
        return links, n

    def link_loads(self, src_router, dst_router, weight) -> np.ndarray:
        """``(n_links,)`` load of every link when ``weight[i]`` packets go from
        ``src_router[i]`` to ``dst_router[i]`` on their routes.

        Linear in pairs + routers: each leg of a route is a run of links along one axis,
        added as a difference (+w at its first link, -w after its last) and summed up
        along that axis.
        """
        s = self.routers("source", src_router).reshape(-1)
        d = self.routers("destination", dst_router).reshape(-1)
        w = np.asarray(weight, dtype=np.float64).reshape(-1)
        x0, y0, z0 = self.router_gx[s], self.router_gy[s], self.router_gz[s]
        x1, y1, z1 = self.router_gx[d], self.router_gy[d], self.router_gz[d]
        diff = self._diff_grids()
        self.add_leg(diff, 0, x0, x1, y0, z0, w)
        self.add_leg(diff, 1, y0, y1, x1, z0, w)
        self.add_leg(diff, 2, z0, z1, x1, y1, w)
        return self.sum_legs(diff)

    # ---- legs of routes (used by link_loads and by the mapper's multicast trees) ----

    def _diff_grids(self) -> np.ndarray:
        """Zeroed difference grids ``(n_dirs, Z+1, Y+1, X+1)`` for :meth:`add_leg`."""
        gx, gy, gz = self.grid
        return np.zeros((self.n_dirs, gz + 1, gy + 1, gx + 1))

    def add_leg(self, diff: np.ndarray, axis: int, a, b, p, q, w) -> None:
        """Add ``w`` to the links of straight legs from ``a`` to ``b`` along ``axis`` (0 X,
        1 Y, 2 Z); ``(p, q)`` are the leg's other two coordinates in axis order (X, Y, Z
        without ``axis``).  Legs with ``a == b`` add nothing."""
        a, b, p, q = (np.asarray(v, dtype=np.int64).reshape(-1) for v in (a, b, p, q))
        w = np.broadcast_to(np.asarray(w, dtype=np.float64), a.shape)
        plus, minus = (E, W) if axis == 0 else (N, S) if axis == 1 else (U, D)
        for direction, sel, lo, hi in ((plus, b > a, a, b), (minus, b < a, b + 1, a + 1)):
            if direction >= self.n_dirs or not sel.any():
                continue
            for pos, sign in ((lo, 1.0), (hi, -1.0)):
                coords = [None, None, None]
                coords[axis] = pos[sel]
                rest = [i for i in range(3) if i != axis]
                coords[rest[0]], coords[rest[1]] = p[sel], q[sel]
                np.add.at(diff[direction], (coords[2], coords[1], coords[0]), sign * w[sel])

    def sum_legs(self, diff: np.ndarray) -> np.ndarray:
        """The link loads ``(n_links,)`` of difference grids filled by :meth:`add_leg`."""
        gx, gy, gz = self.grid
        out = np.zeros((self.n_routers, self.n_dirs))
        axis_of = {E: 2, W: 2, N: 1, S: 1, U: 0, D: 0}  # array axis of (Z, Y, X)
        for d in range(self.n_dirs):
            load = np.cumsum(diff[d], axis=axis_of[d])[:gz, :gy, :gx]
            out[self.grid_router.reshape(-1), d] = load.reshape(-1)
        loads = out.reshape(-1)
        loads[~self.link_exists] = 0.0
        return loads

    # ---- links ----------------------------------------------------------------------

    def _check_link(self, link) -> int:
        if not _is_int(link) or not (0 <= link < self.n_links) or not self.link_exists[link]:
            raise ChipemuError(
                f"{self._where()}: link {link!r} does not exist (allowed: router * {self.n_dirs} + "
                f"direction for a link inside the grid, 0..{self.n_links - 1})")
        return int(link)

    def link_direction(self, link: int) -> int:
        """Direction of a link: E=0, W=1, N=2, S=3, U=4, D=5."""
        return self._check_link(link) % self.n_dirs

    def link_endpoints(self, link: int) -> tuple[int, int]:
        """``(router_from, router_to)`` of an existing link."""
        link = self._check_link(link)
        r, d = divmod(link, self.n_dirs)
        dx, dy, dz = _STEP[d]
        to = self.grid_router[self.router_gz[r] + dz, self.router_gy[r] + dy, self.router_gx[r] + dx]
        return r, int(to)

    def link_ends(self) -> tuple[np.ndarray, np.ndarray]:
        """``(router_from, router_to)`` of every link id (``-1`` where it does not exist)."""
        to = np.full(self.n_links, -1, dtype=np.int64)
        ok = self.link_exists
        r, d = self.link_router[ok], self.link_dir[ok]
        step = np.asarray(_STEP)[d]
        to[ok] = self.grid_router[self.router_gz[r] + step[:, 2], self.router_gy[r] + step[:, 1],
                                  self.router_gx[r] + step[:, 0]]
        return self.link_router.copy(), to
