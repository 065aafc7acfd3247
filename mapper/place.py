"""Placers: logical cores -> physical cores (chip, router position ``[x, y]`` and port).

Physical core ids are those of :mod:`chipemu.hardware` (``slot = router * cores_per_router
+ port``; on one chip ``router = y * columns + x``).  Cores on the same router talk without
a mesh hop; otherwise a packet crosses the Manhattan distance ``|dx| + |dy|`` of
router-to-router links (dimension-order XY routing).

On a system of chips placement is two-level (:func:`place_system`): a *chip-level
partition* first assigns every logical core a chip, then the placer below puts each
chip's cores on that chip's mesh.  ``sequential`` mappers fill the chips in order
(:func:`chips_in_order`); the others use :func:`chips_by_traffic`.  Both only ever work
on the sparse core-to-core traffic (:func:`core_traffic`) and on dense matrices of one
chip's cores, never on all core pairs of the system.

``rowmajor`` (baseline)
    Logical core k goes to the k-th free slot: routers in row-major order, ports in order.
``anneal``
    Simulated annealing on the placement cost ``sum over core pairs T[a, b] * hops(a, b)``
    where ``T[a, b]`` is the expected packets per timestep from core a to core b (the
    unicast traffic).  Moves: move a core to a random free slot or swap two cores; the
    change of cost is read from a (cores x routers) cost table in O(1) (an accepted move
    updates the table in O(K R)).  Starts from ``rowmajor``, cools geometrically
    from a temperature set by sampled move costs, keeps the best placement seen (so it is
    never worse than ``rowmajor``), and is deterministic for a seed.  Multicast routing
    uses the same (unicast) cost as a proxy.

Pinned cores (``fixed``: logical -> physical) stay where they are pinned in both placers.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from chipemu.arrays import distinct, sum_by_key
from chipemu.chips import ChipSpec
from chipemu.hardware import Hardware

from . import kernel
from .graph import MapGraph
from .resources import source_cores

Placer = Callable[..., np.ndarray]

#: fewest annealing moves per chip (when most of a chip's traffic leaves it)
MIN_MOVES = 5_000


def router_distance(chip: ChipSpec) -> np.ndarray:
    """(R, R) hop count between the routers of one chip (its own mesh)."""
    hw = Hardware.of(chip.chip)
    ew, ns, _ = hw.hop_counts(*np.meshgrid(np.arange(hw.n_routers), np.arange(hw.n_routers), indexing="ij"))
    return (ew + ns).astype(np.int64)


def core_traffic(graph: MapGraph, neuron_core: np.ndarray, input_core: np.ndarray,
                 n_cores: int, rates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse core-to-core traffic ``(a, b, w)``: ``w[i]`` expected packets per timestep
    from core ``a[i]`` to core ``b[i] != a[i]`` (unicast), each pair once, sorted.

    A source on core a (an input: on its injecting core) sends one packet to each distinct
    other core holding one of its targets, ``rates[s]`` times per step.
    """
    K = int(n_cores)
    empty = np.zeros(0, dtype=np.int64)
    if K == 0 or graph.n_pins == 0:
        return empty, empty, np.zeros(0)
    nc = np.asarray(neuron_core, np.int64)
    score = source_cores(nc, input_core)
    if kernel.in_use():  # the same pairs and sums, by a counting sort of the sources by core
        return kernel.core_traffic(graph, nc, score, K, rates)
    keys = np.repeat(np.arange(graph.n_src, dtype=np.int64) * K, np.diff(graph.out_ptr))
    keys += nc[graph.out_dst.astype(np.int64)]
    if graph.n_src * K <= 2**32:  # sort the (source, core) keys as 32-bit ints: about twice as fast
        keys = keys.astype(np.uint32)
    keys = distinct(keys).astype(np.int64)
    s = keys // K
    b = keys - s * K
    a = score[s]
    keep = (a != b) & (a >= 0)
    pk, pw = a[keep] * K + b[keep], rates[s[keep]]
    if K * K <= 2**32:  # the pair keys sort as 32-bit ints: about twice as fast
        pair, w = sum_by_key(pk.astype(np.uint32), pw)
        pair = pair.astype(np.int64)
    else:
        pair, w = sum_by_key(pk, pw)
    return pair // K, pair % K, w


def traffic_matrix(graph: MapGraph, neuron_core: np.ndarray, input_core: np.ndarray,
                   n_cores: int, rates: np.ndarray) -> np.ndarray:
    """(K, K) dense :func:`core_traffic` (for the cores of one chip)."""
    K = int(n_cores)
    a, b, w = core_traffic(graph, neuron_core, input_core, K, rates)
    T = np.zeros(K * K)
    T[a * K + b] = w
    return T.reshape(K, K)


def _dense(a: np.ndarray, b: np.ndarray, w: np.ndarray, members: np.ndarray) -> np.ndarray:
    """The dense traffic matrix among ``members`` (logical core ids) of sparse traffic."""
    local = np.full(int(max(a.max(initial=-1), b.max(initial=-1), members.max(initial=-1))) + 1, -1)
    local[members] = np.arange(members.size)
    la, lb = local[a], local[b]
    keep = (la >= 0) & (lb >= 0)
    k = members.size
    T = np.zeros(k * k)
    np.add.at(T, la[keep] * k + lb[keep], w[keep])
    return T.reshape(k, k)


# ------------------------------------------------------------------ chip-level partition
def chips_in_order(n_cores: int, hw: Hardware, fixed: dict[int, int]) -> np.ndarray:
    """Chip of every logical core: pinned cores on their pinned chip, the others fill the
    chips in order (chip 0 first) up to ``cores_per_chip`` each."""
    room = np.full(hw.n_chips, hw.cores_per_chip, dtype=np.int64)
    chip = np.full(n_cores, -1, dtype=np.int64)
    for lc, phys in fixed.items():
        chip[lc] = phys // hw.cores_per_chip
        room[chip[lc]] -= 1
    free = np.flatnonzero(chip < 0)
    slots = np.repeat(np.arange(hw.n_chips), np.maximum(room, 0))
    chip[free] = slots[:free.size]
    return chip


def chip_distances(hw: Hardware) -> np.ndarray:
    """(chips, chips) chip-to-chip links between every two chips of a system."""
    ids = np.arange(hw.n_chips)
    return hw.chip_distance(ids[:, None], ids[None, :]).astype(np.float64)


def interchip_cost(a: np.ndarray, b: np.ndarray, w: np.ndarray, chip: np.ndarray, hw: Hardware) -> float:
    """Expected chip-to-chip link crossings per timestep: ``sum w * chip_distance``."""
    if a.size == 0:
        return 0.0
    if kernel.in_use():  # the same distances, gathered without index arrays
        return float(w @ kernel.chip_pair_values(a, b, chip, chip_distances(hw)))
    return float(w @ chip_distances(hw)[chip[a], chip[b]])


def _by_row(keys: np.ndarray, n_rows: int) -> np.ndarray:
    """Stable order of ``keys`` (ints in ``0..n_rows-1``): a radix sort when they fit 16 bits."""
    small = np.uint16 if n_rows <= 2**16 else np.int64
    return np.argsort(keys.astype(small, copy=False), kind="stable")


def chips_by_traffic(n_cores: int, hw: Hardware, fixed: dict[int, int], a: np.ndarray, b: np.ndarray,
                     w: np.ndarray) -> np.ndarray:
    """Traffic-aware chip of every logical core (never worse than :func:`chips_in_order`).

    1. *Growth*: chips are filled one after another; a chip starts from the unassigned
       core with the most traffic and then takes, while it has room, the unassigned core
       that exchanges the most packets with the cores already on it (ties: lowest id).
       Pinned cores stay on their chip.  O(K * cores_per_chip + traffic pairs).
    2. *Chip placement*: the groups of cores are then put on the chips of the grid by
       greedy pairwise swaps that lower ``sum w * chip distance`` (groups holding pinned
       cores stay).
    The result with the lower :func:`interchip_cost` of this and the in-order fill wins.
    """
    order_chip = chips_in_order(n_cores, hw, fixed)
    if hw.n_chips == 1 or a.size == 0:
        return order_chip
    cpc = hw.cores_per_chip
    chip = np.full(n_cores, -1, dtype=np.int64)
    room = np.full(hw.n_chips, cpc, dtype=np.int64)
    for lc, phys in fixed.items():
        chip[lc] = phys // cpc
        room[chip[lc]] -= 1
    if kernel.in_use():  # the growth below, compiled
        kernel.chip_growth(a, b, w, chip, room)
    else:
        _grow_chips(chip, room, a, b, w)
    chip = _place_groups(chip, hw, fixed, a, b, w)
    if interchip_cost(a, b, w, chip, hw) <= interchip_cost(a, b, w, order_chip, hw):
        return chip
    return order_chip


def _grow_chips(chip: np.ndarray, room: np.ndarray, a: np.ndarray, b: np.ndarray, w: np.ndarray) -> None:
    """:func:`chips_by_traffic`'s growth: fills ``chip`` (-1: not yet on a chip) in place."""
    n_cores = chip.size
    sym_a, sym_b, sym_w = np.r_[a, b], np.r_[b, a], np.r_[w, w]
    order = _by_row(sym_a, n_cores)
    nb_ptr = np.zeros(n_cores + 1, dtype=np.int64)
    np.cumsum(np.bincount(sym_a, minlength=n_cores), out=nb_ptr[1:])
    nb, nw = sym_b[order], sym_w[order]
    strength = np.bincount(sym_a, weights=sym_w, minlength=n_cores)
    unassigned = chip < 0
    for c in range(room.size):
        if not unassigned.any():
            break
        gain = np.zeros(n_cores)
        members = np.flatnonzero(chip == c)
        for m in members.tolist():
            gain[nb[nb_ptr[m]:nb_ptr[m + 1]]] += nw[nb_ptr[m]:nb_ptr[m + 1]]
        for _ in range(int(room[c])):
            if not unassigned.any():
                break
            cand = np.where(unassigned, gain, -np.inf)
            best = int(np.argmax(cand))
            if gain[best] <= 0:  # nothing connected: start from the strongest free core
                best = int(np.argmax(np.where(unassigned, strength, -np.inf)))
            chip[best] = c
            unassigned[best] = False
            gain[nb[nb_ptr[best]:nb_ptr[best + 1]]] += nw[nb_ptr[best]:nb_ptr[best + 1]]


def _place_groups(chip: np.ndarray, hw: Hardware, fixed: dict[int, int], a, b, w) -> np.ndarray:
    """Permute whole groups of cores over the chip positions: greedy pairwise swaps that
    lower ``sum over group pairs T[g, h] * chip_distance(pos g, pos h)`` (deterministic).

    Swapping the positions of groups g and h changes the cost by
    ``sum_k (T[g,k] - T[h,k]) (A[h,k] - A[g,k]) + 2 T[g,h] A[g,h]`` with ``A[i, k]`` the
    distance between the positions of groups i and k; only groups with traffic (``U``)
    enter the sums, so one group's candidates cost O(G * |U|).
    """
    G = hw.n_chips
    if kernel.in_use():  # the same sums (in pair order), compiled
        T = kernel.traffic_by_chip(a, b, w, chip, G)[0]
    else:
        T = np.zeros((G, G))
        np.add.at(T, (chip[a], chip[b]), w)
    T = T + T.T
    np.fill_diagonal(T, 0.0)
    pinned = np.zeros(G, dtype=bool)
    for phys in fixed.values():
        pinned[phys // hw.cores_per_chip] = True
    U = np.flatnonzero(T.sum(axis=1) > 0)
    pos = np.arange(G)  # chip position of each group
    TU = T[:, U]  # (G, |U|)
    for _ in range(4):  # passes
        improved = False
        for g in U.tolist():
            if pinned[g]:
                continue
            A_U = hw.chip_distance(pos[:, None], pos[U][None, :]).astype(np.float64)  # (G, |U|)
            own = (TU * A_U).sum(axis=1)  # sum_k T[h,k] A[h,k] for every h
            delta = A_U @ TU[g] - own[g] - own + TU @ A_U[g]
            delta += 2 * T[g] * hw.chip_distance(pos[g], pos)
            delta[pinned] = np.inf
            delta[g] = np.inf
            h = int(np.argmin(delta))
            if delta[h] < -1e-9 * max(1.0, float(T[g].sum())):
                pos[g], pos[h] = pos[h], pos[g]
                improved = True
        if not improved:
            break
    return pos[chip]


def _free_slots(chip: ChipSpec, fixed: dict[int, int]) -> np.ndarray:
    taken = np.zeros(chip.n_cores, dtype=bool)
    taken[list(fixed.values())] = True
    return np.flatnonzero(~taken)


def place_rowmajor(T: np.ndarray, chip: ChipSpec, *, seed: int = 0,
                   fixed: dict[int, int] | None = None, effort: float = 1.0) -> np.ndarray:
    """Physical slot of every logical core, in row-major order (see the module docstring).

    ``seed`` and ``effort`` are accepted for the placer interface and not used.
    """
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
                 fixed: dict[int, int] | None = None, moves: int | None = None,
                 effort: float = 1.0) -> np.ndarray:
    """Simulated-annealing placement (see the module docstring).  Deterministic for a seed.

    The cost of putting core ``a`` on router ``r``, ``C[a, r] = sum_b W[a, b] D[r, rc[b]]``
    (packets per timestep times hops; ``W = T + T.T``, ``D`` the router distance, ``rc`` the
    routers of the current placement), is kept as a (K, R) table, so judging a move costs a
    few table lookups, and an accepted move updates the table with one (K, R) outer product::

        move a: ra -> rp (swapping with b, if the slot holds one)
        delta = C[a, rp] - C[a, ra] + C[b, ra] - C[b, rp] + 2 W[a, b] D[ra, rp]
        C    += (W[:, a] - W[:, b]) (D[:, rp] - D[:, ra])^T

    Judging a move is O(1) and an accepted move O(K R), instead of O(K) numpy work for every
    move: the same moves and decisions (up to float rounding) at ~2.5 us a move.
    ``moves`` defaults to ``effort * clamp(400 K, 20,000, 150,000)``, at least
    :data:`MIN_MOVES`; :func:`place_system` sets ``effort`` to the share of a chip's traffic
    that stays on the chip (1 on a single chip).
    """
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
    C = np.ascontiguousarray(W @ D[:, rc].T)  # (K, R)
    rng = np.random.default_rng(seed)
    if moves is None:
        moves = max(MIN_MOVES, int(effort * min(150_000, max(20_000, 400 * movable.size))))
    n_moves = moves
    pa = movable[rng.integers(0, movable.size, n_moves)]
    pp = cand[rng.integers(0, cand.size, n_moves)]
    u = rng.random(n_moves)
    slot_l, occ_l, rc_l = slots.tolist(), occ.tolist(), rc.tolist()
    Dl = D.tolist()
    R = C.shape[1]
    c_at, w_at = C.reshape(-1).item, W.item  # C.reshape(-1) is a view: it follows C += ...

    def delta(a: int, p: int) -> tuple[float, int, int, int]:
        b = occ_l[p]
        ra, rp = rc_l[a], p // cpr
        if ra == rp:
            return 0.0, b, ra, rp
        d = c_at(a * R + rp) - c_at(a * R + ra)
        if b >= 0:
            d += c_at(b * R + ra) - c_at(b * R + rp) + 2.0 * w_at(a, b) * Dl[ra][rp]
        return d, b, ra, rp

    # initial temperature: mean uphill change of a sample of moves
    sample = [delta(int(a), int(p))[0] for a, p in zip(pa[:200], pp[:200])]
    up = [d for d in sample if d > 0]
    t0 = (sum(up) / len(up)) if up else 1.0
    t_end = t0 * 1e-3
    alpha = (t_end / t0) ** (1.0 / n_moves)
    temp = t0
    cost = best_cost = placement_cost(T, chip, slots)
    if kernel.in_use():  # the loop below, compiled
        return kernel.anneal_moves(C, W, D, pa, pp, u, slots.copy(), occ, rc.copy(), cpr, t0, alpha, cost)
    best = slots.copy()
    exp = math.exp
    for a, p, ui in zip(pa.tolist(), pp.tolist(), u.tolist()):
        temp *= alpha
        if slot_l[a] == p:
            continue
        d, b, ra, rp = delta(a, p)
        if d > 0 and ui >= exp(-d / temp):
            continue
        if ra != rp:
            if b >= 0:
                C += np.outer(W[:, a] - W[:, b], D[:, rp] - D[:, ra])
            else:
                C += np.outer(W[:, a], D[:, rp] - D[:, ra])
        pa_slot = slot_l[a]
        slot_l[a] = p
        occ_l[p] = a
        occ_l[pa_slot] = b
        rc_l[a] = rp
        if b >= 0:
            slot_l[b] = pa_slot
            rc_l[b] = ra
        cost += d
        if cost < best_cost - 1e-9 * max(1.0, abs(best_cost)):
            best_cost = cost
            best = np.array(slot_l, dtype=np.int64)
    return best


def place_system(a: np.ndarray, b: np.ndarray, w: np.ndarray, n_cores: int, spec, placer: Placer,
                 *, by_traffic: bool, seed: int = 0, fixed: dict[int, int] | None = None) -> np.ndarray:
    """Physical core id of every logical core on a chip or system of chips.

    One chip: ``placer`` on the dense traffic of all cores.  A system: the chip-level
    partition (:func:`chips_by_traffic` if ``by_traffic``, else :func:`chips_in_order`),
    then ``placer`` on each chip with the dense traffic of that chip's cores only, and
    ``effort`` = the share of that chip's traffic that stays on it (the annealer scales its
    moves by it: placement inside a chip cannot shorten the rest).
    ``(a, b, w)`` is the sparse traffic of :func:`core_traffic`; ``fixed`` maps pinned
    logical cores to physical core ids.
    """
    fixed = fixed or {}
    hw = Hardware.of(spec)
    K = int(n_cores)
    if hw.n_chips == 1:
        return placer(_dense(a, b, w, np.arange(K)), spec.chip, seed=seed, fixed=fixed)
    chip_of = (chips_by_traffic(K, hw, fixed, a, b, w) if by_traffic else chips_in_order(K, hw, fixed))
    cpc = hw.cores_per_chip
    # the traffic inside each chip, grouped by chip once (linear in the traffic pairs), and
    # the share of each chip's traffic that stays on it: all the placer on the chip can shorten
    if kernel.in_use():  # the same sums and groups, compiled
        _, inside, leaving, arriving, ptr, idx = kernel.traffic_by_chip(a, b, w, chip_of, hw.n_chips)
        touching = inside + leaving + arriving
        a, b, w = a[idx], b[idx], w[idx]
    else:
        same = chip_of[a] == chip_of[b]
        inside = np.bincount(chip_of[a[same]], weights=w[same], minlength=hw.n_chips)
        touching = (inside + np.bincount(chip_of[a[~same]], weights=w[~same], minlength=hw.n_chips)
                    + np.bincount(chip_of[b[~same]], weights=w[~same], minlength=hw.n_chips))
        a, b, w = a[same], b[same], w[same]
        order = _by_row(chip_of[a], hw.n_chips)
        a, b, w = a[order], b[order], w[order]
        ptr = np.searchsorted(chip_of[a], np.arange(hw.n_chips + 1))
    share = np.divide(inside, touching, out=np.ones(hw.n_chips), where=touching > 0)
    chips = np.unique(chip_of)
    local_id = np.zeros(K, dtype=np.int64)  # index of every core among its chip's cores
    slots = np.empty(K, dtype=np.int64)
    for c in chips.tolist():
        members = np.flatnonzero(chip_of == c)
        local_id[members] = np.arange(members.size)
        lo, hi = ptr[c], ptr[c + 1]
        k = members.size
        T = np.bincount(local_id[a[lo:hi]] * k + local_id[b[lo:hi]], weights=w[lo:hi], minlength=k * k)
        local_fixed = {j: fixed[m] % cpc for j, m in enumerate(members.tolist()) if m in fixed}
        local = placer(T.reshape(k, k), spec.chip, seed=seed, fixed=local_fixed, effort=float(share[c]))
        slots[members] = c * cpc + np.asarray(local, dtype=np.int64)
    return slots
