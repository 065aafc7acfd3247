"""Placers: logical cores -> physical cores (router position ``[x, y]`` and port) on the mesh.

Physical core ids: ``slot = router * cores_per_router + port`` with ``router = y * columns + x``.
Cores on the same router talk without a mesh hop; otherwise a packet crosses the Manhattan
distance ``|dx| + |dy|`` of router-to-router links (dimension-order XY routing).

``rowmajor`` (baseline)
    Logical core k goes to the k-th free slot: routers in row-major order, ports in order.
``anneal``
    Simulated annealing on the placement cost ``sum over core pairs T[a, b] * hops(a, b)``
    where ``T[a, b]`` is the expected packets per timestep from core a to core b (the
    unicast traffic).  Moves: move a core to a random free slot or swap two cores; the
    change of cost is computed in O(K).  Starts from ``rowmajor``, cools geometrically
    from a temperature set by sampled move costs, keeps the best placement seen (so it is
    never worse than ``rowmajor``), and is deterministic for a seed.  Multicast routing
    uses the same (unicast) cost as a proxy.

Pinned cores (``fixed``: logical -> physical) stay where they are pinned in both placers.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from chipemu.chips import ChipSpec

from .graph import MapGraph, sorted_unique
from .resources import source_cores

Placer = Callable[..., np.ndarray]


def slot_xy_port(chip: ChipSpec, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``core_xy`` (K, 2) and ``core_port`` (K,) of physical slots."""
    slots = np.asarray(slots, dtype=np.int64)
    cpr, cols = chip.mesh.cores_per_router, chip.mesh.columns
    router = slots // cpr
    xy = np.stack([router % cols, router // cols], axis=1) if slots.size else np.zeros((0, 2), np.int64)
    return xy.astype(np.int64), (slots % cpr).astype(np.int64)


def router_distance(chip: ChipSpec) -> np.ndarray:
    """(R, R) Manhattan hop count between routers."""
    R, cols = chip.n_routers, chip.mesh.columns
    r = np.arange(R)
    x, y = r % cols, r // cols
    return (np.abs(x[:, None] - x[None, :]) + np.abs(y[:, None] - y[None, :])).astype(np.int64)


def traffic_matrix(graph: MapGraph, neuron_core: np.ndarray, input_core: np.ndarray,
                   n_cores: int, rates: np.ndarray) -> np.ndarray:
    """(K, K) expected packets per timestep from core a to core b != a (unicast).

    A source on core a (an input: on its injecting core) sends one packet to each distinct
    other core holding one of its targets, ``rates[s]`` times per step.
    """
    K = int(n_cores)
    if K == 0 or graph.n_pins == 0:
        return np.zeros((K, K))
    nc = np.asarray(neuron_core, np.int64)
    score = source_cores(nc, input_core)
    o_s = np.repeat(np.arange(graph.n_src, dtype=np.int64), np.diff(graph.out_ptr))
    keys, _ = sorted_unique(o_s * K + nc[graph.out_dst])
    s = keys // K
    b = keys - s * K
    a = score[s]
    keep = (a != b) & (a >= 0)
    T = np.bincount(a[keep] * K + b[keep], weights=rates[s[keep]], minlength=K * K).astype(np.float64)
    return T.reshape(K, K)


def _free_slots(chip: ChipSpec, fixed: dict[int, int]) -> np.ndarray:
    taken = np.zeros(chip.n_cores, dtype=bool)
    taken[list(fixed.values())] = True
    return np.flatnonzero(~taken)


def place_rowmajor(T: np.ndarray, chip: ChipSpec, *, seed: int = 0,
                   fixed: dict[int, int] | None = None) -> np.ndarray:
    """Physical slot of every logical core, in row-major order (see the module docstring)."""
    fixed = fixed or {}
    K = T.shape[0]
    slots = np.full(K, -1, dtype=np.int64)
    for lc, phys in fixed.items():
        slots[lc] = phys
    free = _free_slots(chip, fixed)
    todo = np.flatnonzero(slots < 0)
    slots[todo] = free[:todo.size]
    return slots


def placement_cost(T: np.ndarray, chip: ChipSpec, slots: np.ndarray) -> float:
    """Expected packet-hops per timestep of a placement: ``sum T[a, b] * hops(a, b)``."""
    if T.size == 0:
        return 0.0
    rc = np.asarray(slots) // chip.mesh.cores_per_router
    D = router_distance(chip)
    return float((T * D[np.ix_(rc, rc)]).sum())


def place_anneal(T: np.ndarray, chip: ChipSpec, *, seed: int = 0,
                 fixed: dict[int, int] | None = None, moves: int | None = None) -> np.ndarray:
    """Simulated-annealing placement (see the module docstring).  Deterministic for a seed."""
    fixed = fixed or {}
    slots = place_rowmajor(T, chip, seed=seed, fixed=fixed)
    K = T.shape[0]
    movable = np.array([k for k in range(K) if k not in fixed], dtype=np.int64)
    if movable.size == 0 or K < 2 or not T.any() or chip.n_routers == 1:
        return slots
    cpr = chip.mesh.cores_per_router
    D = router_distance(chip).astype(np.float64)
    W = T + T.T
    np.fill_diagonal(W, 0.0)
    cand = _free_slots(chip, fixed)  # slots a movable core may go to
    occ = np.full(chip.n_cores, -1, dtype=np.int64)
    occ[slots] = np.arange(K)
    rc = slots // cpr
    rng = np.random.default_rng(seed)
    n_moves = moves if moves is not None else int(min(150_000, max(20_000, 400 * movable.size)))
    pa = movable[rng.integers(0, movable.size, n_moves)]
    pp = cand[rng.integers(0, cand.size, n_moves)]
    u = rng.random(n_moves)

    def delta(a: int, p: int) -> tuple[float, int, int]:
        b = int(occ[p])
        ra, rp = int(rc[a]), int(p // cpr)
        if ra == rp:
            return 0.0, b, rp
        d = float(W[a] @ (D[rp, rc] - D[ra, rc]))
        if b >= 0:
            d += float(W[b] @ (D[ra, rc] - D[rp, rc])) + 2.0 * W[a, b] * D[ra, rp]
        return d, b, rp

    # initial temperature: mean uphill change of a sample of moves
    sample = [delta(int(a), int(p))[0] for a, p in zip(pa[:200], pp[:200])]
    up = [d for d in sample if d > 0]
    t0 = (sum(up) / len(up)) if up else 1.0
    t_end = t0 * 1e-3
    alpha = (t_end / t0) ** (1.0 / n_moves)
    temp = t0
    cost = best_cost = placement_cost(T, chip, slots)
    best = slots.copy()
    for i in range(n_moves):
        a, p = int(pa[i]), int(pp[i])
        temp *= alpha
        if slots[a] == p:
            continue
        d, b, rp = delta(a, p)
        if d > 0 and u[i] >= math.exp(-d / temp):
            continue
        pa_slot = int(slots[a])
        slots[a] = p
        occ[p] = a
        occ[pa_slot] = b
        ra = rc[a]
        rc[a] = rp
        if b >= 0:
            slots[b] = pa_slot
            rc[b] = ra
        cost += d
        if cost < best_cost - 1e-9:
            best_cost = cost
            best = slots.copy()
    return best
