"""Connectivity rules: which presynaptic index connects to which postsynaptic index.

A connector is a small frozen dataclass, validated on construction, whose
:meth:`Connector.build` returns ``(src, dst)`` local index arrays (int64, equal length).
Random connectors take a ``seed`` and are deterministic: same seed, same synapses.
No connector materialises an ``n_pre x n_post`` matrix unless it is small, so networks
with millions of synapses build in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import NetworkError

_DENSE_LIMIT = 4_000_000  # n_pre * n_post below which a dense draw is cheaper
#: bytes one synapse holds while a network is built and run (index, weight and delay arrays,
#: their flat and CSR copies; an estimate for the memory check)
BYTES_PER_SYNAPSE = 64


def check_synapse_count(kind: str, count: float) -> None:
    """Refuse a connector that would create ``count`` synapses when they cannot fit in memory."""
    from .bounded import check_memory
    check_memory(int(min(count, 2**62)) * BYTES_PER_SYNAPSE, f"{kind} connector ({int(min(count, 2**62)):,} synapses)",
                 NetworkError)


class Connector:
    """Base class: ``build(n_pre, n_post, same_population) -> (src, dst)``."""

    def build(self, n_pre: int, n_post: int, same_population: bool) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def to_dict(self) -> dict:
        d = {"kind": type(self).__name__}
        for k, v in self.__dict__.items():
            d[k] = v.tolist() if isinstance(v, np.ndarray) else v
        return d


@dataclass(frozen=True)
class AllToAll(Connector):
    """Every presynaptic index to every postsynaptic index (``n_pre * n_post`` synapses).

    ``allow_self=False`` drops i -> i when pre and post are the same population.
    """

    allow_self: bool = True

    def build(self, n_pre, n_post, same_population):
        check_synapse_count("all_to_all", n_pre * n_post)
        src = np.repeat(np.arange(n_pre, dtype=np.int64), n_post)
        dst = np.tile(np.arange(n_post, dtype=np.int64), n_pre)
        if same_population and not self.allow_self:
            keep = src != dst
            src, dst = src[keep], dst[keep]
        return src, dst


@dataclass(frozen=True)
class OneToOne(Connector):
    """i -> i; pre and post must have the same size."""

    def build(self, n_pre, n_post, same_population):
        if n_pre != n_post:
            raise NetworkError(f"one_to_one connector needs equal sizes, got {n_pre} -> {n_post}")
        idx = np.arange(n_pre, dtype=np.int64)
        return idx, idx.copy()


@dataclass(frozen=True)
class FixedProbability(Connector):
    """Each (i, j) pair is connected independently with probability ``p`` (seeded).

    Drawn by geometric skipping over the flattened pair index, so the cost is
    proportional to the number of synapses, not to ``n_pre * n_post``.
    """

    p: float
    seed: int = 0
    allow_self: bool = True

    def __post_init__(self):
        if not (0.0 <= float(self.p) <= 1.0):
            raise NetworkError(f"fixed_probability connector: p = {self.p} out of range 0..1")

    def build(self, n_pre, n_post, same_population):
        rng = np.random.default_rng(self.seed)
        total = n_pre * n_post
        p = float(self.p)
        check_synapse_count("fixed_probability", total * p)
        if p == 0.0 or total == 0:
            pos = np.zeros(0, dtype=np.int64)
        elif p == 1.0:
            pos = np.arange(total, dtype=np.int64)
        elif total <= _DENSE_LIMIT:
            pos = np.flatnonzero(rng.random(total) < p).astype(np.int64)
        else:
            chunks = []
            last = -1
            expected = int(total * p * 1.05) + 1024
            while True:
                gaps = rng.geometric(p, size=expected)
                cand = last + np.cumsum(gaps, dtype=np.int64)
                done = cand[-1] >= total
                cand = cand[cand < total]
                chunks.append(cand)
                if done:
                    break
                last = int(cand[-1]) if len(cand) else last
                expected = int((total - last) * p * 1.05) + 1024
            pos = np.concatenate(chunks)
        src, dst = pos // n_post, pos % n_post
        if same_population and not self.allow_self:
            keep = src != dst
            src, dst = src[keep], dst[keep]
        return src, dst


@dataclass(frozen=True)
class FixedFanout(Connector):
    """Each presynaptic index connects to ``fanout`` distinct postsynaptic indices (seeded).

    With ``allow_self=False`` (same population) index i never targets itself.
    """

    fanout: int
    seed: int = 0
    allow_self: bool = True

    def __post_init__(self):
        if int(self.fanout) != self.fanout or self.fanout < 0:
            raise NetworkError(f"fixed_fanout connector: fanout = {self.fanout} must be an integer >= 0")

    def build(self, n_pre, n_post, same_population):
        k = int(self.fanout)
        exclude_self = same_population and not self.allow_self
        pool = n_post - 1 if exclude_self else n_post
        if k > pool:
            raise NetworkError(
                f"fixed_fanout connector: fanout = {k} exceeds the {pool} available targets")
        check_synapse_count("fixed_fanout", n_pre * (pool if 2 * k > pool else k))
        rng = np.random.default_rng(self.seed)
        if k == 0 or n_pre == 0:
            z = np.zeros(0, dtype=np.int64)
            return z, z.copy()
        if 2 * k > pool or n_pre * pool <= _DENSE_LIMIT // 4:
            base = np.broadcast_to(np.arange(pool, dtype=np.int64), (n_pre, pool))
            dst = rng.permuted(base, axis=1)[:, :k]
        else:
            dst = rng.integers(0, pool, size=(n_pre, k), dtype=np.int64)
            while True:  # redraw duplicates within a row until every row is distinct
                dst.sort(axis=1)
                dup = np.zeros_like(dst, dtype=bool)
                dup[:, 1:] = dst[:, 1:] == dst[:, :-1]
                n_dup = int(dup.sum())
                if n_dup == 0:
                    break
                dst[dup] = rng.integers(0, pool, size=n_dup, dtype=np.int64)
        src = np.repeat(np.arange(n_pre, dtype=np.int64), k)
        dst = np.ascontiguousarray(dst).reshape(-1)
        if exclude_self:
            dst = dst + (dst >= src)
        return src, dst


@dataclass(frozen=True)
class Explicit(Connector):
    """Synapses given as local index arrays ``src[i] -> dst[i]`` (duplicates allowed)."""

    src: np.ndarray = field(repr=False)
    dst: np.ndarray = field(repr=False)

    def __post_init__(self):
        src = np.asarray(self.src)
        dst = np.asarray(self.dst)
        if src.ndim != 1 or dst.ndim != 1 or src.shape != dst.shape:
            raise NetworkError(
                f"explicit connector: src and dst must be 1-D of equal length, got shapes {src.shape} and {dst.shape}")
        for name, arr in (("src", src), ("dst", dst)):
            if arr.size and not np.issubdtype(arr.dtype, np.integer):
                raise NetworkError(f"explicit connector: {name} must hold integers, got dtype {arr.dtype}")
        object.__setattr__(self, "src", src.astype(np.int64))
        object.__setattr__(self, "dst", dst.astype(np.int64))

    def build(self, n_pre, n_post, same_population):
        for name, arr, n in (("src", self.src, n_pre), ("dst", self.dst, n_post)):
            if arr.size and (arr.min() < 0 or arr.max() >= n):
                bad = int(arr[(arr < 0) | (arr >= n)][0])
                raise NetworkError(f"explicit connector: {name} index {bad} out of range 0..{n - 1}")
        return self.src.copy(), self.dst.copy()


CONNECTORS = {
    "all_to_all": AllToAll,
    "one_to_one": OneToOne,
    "fixed_probability": FixedProbability,
    "fixed_fanout": FixedFanout,
    "explicit": Explicit,
}


def make_connector(kind: str | Connector, **kwargs) -> Connector:
    """A connector from its name (``"fixed_fanout"``, ...) and keyword arguments."""
    if isinstance(kind, Connector):
        if kwargs:
            raise NetworkError(f"connector arguments {sorted(kwargs)} given with a connector object")
        return kind
    try:
        cls = CONNECTORS[kind]
    except KeyError:
        raise NetworkError(f"unknown connector '{kind}' (allowed: {', '.join(CONNECTORS)})") from None
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise NetworkError(f"connector '{kind}': {exc}") from None
