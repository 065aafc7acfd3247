"""Connectivity rules (chipemu.connectors): exact structure, statistics, determinism, errors."""

from __future__ import annotations

import numpy as np
import pytest

from chipemu import connectors as C
from chipemu.connectors import (AllToAll, Explicit, FixedFanout, FixedProbability, OneToOne,
                                make_connector)
from chipemu.errors import NetworkError


def pairs(src, dst, n_post):
    return np.asarray(src, dtype=np.int64) * n_post + np.asarray(dst, dtype=np.int64)


def assert_well_formed(src, dst, n_pre, n_post):
    assert src.dtype == np.int64 and dst.dtype == np.int64
    assert src.shape == dst.shape and src.ndim == 1
    if src.size:
        assert 0 <= src.min() and src.max() < n_pre
        assert 0 <= dst.min() and dst.max() < n_post


# ------------------------------------------------------------------ all_to_all
def test_all_to_all_every_pair_once():
    src, dst = AllToAll().build(3, 4, False)
    assert_well_formed(src, dst, 3, 4)
    assert sorted(zip(src.tolist(), dst.tolist())) == [(i, j) for i in range(3) for j in range(4)]


def test_all_to_all_no_self_same_population():
    src, dst = AllToAll(allow_self=False).build(5, 5, True)
    assert src.size == 5 * 4
    assert not np.any(src == dst)
    assert len(set(pairs(src, dst, 5).tolist())) == 20


def test_all_to_all_allow_self_false_keeps_diagonal_between_different_populations():
    # i -> i between two *different* populations is not a self connection
    src, dst = AllToAll(allow_self=False).build(4, 4, False)
    assert src.size == 16
    assert np.sum(src == dst) == 4


def test_all_to_all_allow_self_true_same_population_keeps_self():
    src, dst = AllToAll().build(3, 3, True)
    assert src.size == 9 and np.sum(src == dst) == 3


# ------------------------------------------------------------------ one_to_one
def test_one_to_one():
    src, dst = OneToOne().build(6, 6, False)
    assert_well_formed(src, dst, 6, 6)
    assert src.tolist() == list(range(6)) and dst.tolist() == list(range(6))


def test_one_to_one_size_mismatch():
    with pytest.raises(NetworkError, match=r"one_to_one.*5.*7"):
        OneToOne().build(5, 7, False)


# ------------------------------------------------------------ fixed_probability
def _binomial_ok(count, n, p, z=5.0):
    mean, sd = n * p, np.sqrt(n * p * (1 - p))
    return abs(count - mean) <= z * sd


def test_fixed_probability_dense_path_statistics():
    n_pre, n_post, p = 150, 120, 0.2
    assert n_pre * n_post <= C._DENSE_LIMIT
    src, dst = FixedProbability(p, seed=3).build(n_pre, n_post, False)
    assert_well_formed(src, dst, n_pre, n_post)
    assert _binomial_ok(src.size, n_pre * n_post, p), src.size
    assert np.unique(pairs(src, dst, n_post)).size == src.size  # no duplicate pair


def test_fixed_probability_geometric_path_statistics():
    n_pre, n_post, p = 2500, 2000, 0.01  # 5M pairs: geometric skipping
    total = n_pre * n_post
    assert total > C._DENSE_LIMIT
    src, dst = FixedProbability(p, seed=11).build(n_pre, n_post, False)
    assert_well_formed(src, dst, n_pre, n_post)
    assert _binomial_ok(src.size, total, p), src.size
    pos = pairs(src, dst, n_post)
    assert np.unique(pos).size == pos.size
    # spread uniformly over the pair space: each quarter gets ~1/4 of the synapses,
    # rows and columns alike (a biased skip or a truncated tail would show here)
    m = pos.size
    for key, n in ((pos, total), (src, n_pre), (dst, n_post)):
        counts = np.bincount(key * 4 // n, minlength=4)
        assert counts.size == 4
        for c in counts:
            assert _binomial_ok(c, m, 0.25), counts
    # the tail of the pair space is reached
    assert pos.max() > total - 10 / p
    # gaps between chosen pairs are geometric(p): a gap of exactly 1 has probability p
    gaps = np.diff(np.sort(pos))
    assert _binomial_ok(int(np.sum(gaps == 1)), gaps.size, p), np.sum(gaps == 1)
    assert _binomial_ok(int(np.sum(gaps == 2)), gaps.size, p * (1 - p))


@pytest.mark.parametrize("p", [0.3, 0.9])
def test_fixed_probability_geometric_path_high_p(p):
    n_pre, n_post = 2050, 2050
    assert n_pre * n_post > C._DENSE_LIMIT
    src, dst = FixedProbability(p, seed=2).build(n_pre, n_post, False)
    assert _binomial_ok(src.size, n_pre * n_post, p), src.size
    pos = pairs(src, dst, n_post)
    # pair 0 is reachable (the first gap counts from -1): with p = 0.3/0.9 it is chosen for this
    # seed; a skip counted from 0 could never choose it
    assert pos[0] == 0
    assert np.all(np.diff(pos) > 0)


def test_fixed_probability_geometric_path_no_self():
    n, p = 2100, 0.005
    assert n * n > C._DENSE_LIMIT
    src, dst = FixedProbability(p, seed=5, allow_self=False).build(n, n, True)
    assert not np.any(src == dst)
    assert _binomial_ok(src.size, n * n - n, p)
    # allow_self=True keeps the diagonal (about p*n of them)
    s2, d2 = FixedProbability(p, seed=5).build(n, n, True)
    assert np.sum(s2 == d2) > 0
    assert s2.size - np.sum(s2 == d2) == src.size  # same draw, diagonal dropped


def test_fixed_probability_dense_path_no_self():
    src, dst = FixedProbability(0.5, seed=1, allow_self=False).build(60, 60, True)
    assert src.size > 0 and not np.any(src == dst)
    s2, d2 = FixedProbability(0.5, seed=1, allow_self=False).build(60, 60, False)
    assert np.sum(s2 == d2) > 0  # different populations: i -> i allowed


@pytest.mark.parametrize("shape", [(40, 50), (2200, 2000)], ids=["dense", "geometric"])
def test_fixed_probability_deterministic_per_seed(shape):
    a = FixedProbability(0.02, seed=7).build(*shape, False)
    b = FixedProbability(0.02, seed=7).build(*shape, False)
    c = FixedProbability(0.02, seed=8).build(*shape, False)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not (a[0].size == c[0].size and np.array_equal(a[0], c[0]) and np.array_equal(a[1], c[1]))


def test_fixed_probability_extremes():
    s, d = FixedProbability(0.0, seed=1).build(30, 30, False)
    assert s.size == 0 and d.size == 0
    s, d = FixedProbability(1.0, seed=1).build(7, 9, False)
    assert s.size == 63 and np.unique(pairs(s, d, 9)).size == 63
    s, d = FixedProbability(1.0, allow_self=False).build(7, 7, True)
    assert s.size == 42 and not np.any(s == d)


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_fixed_probability_bad_p(p):
    with pytest.raises(NetworkError, match="p = "):
        FixedProbability(p)


# ----------------------------------------------------------------- fixed_fanout
def _check_fanout(src, dst, n_pre, n_post, k, no_self=False):
    assert_well_formed(src, dst, n_pre, n_post)
    assert src.size == n_pre * k
    assert np.array_equal(np.bincount(src, minlength=n_pre), np.full(n_pre, k))
    uniq = np.unique(pairs(src, dst, n_post))
    assert uniq.size == src.size, "a source has a repeated target"
    if no_self:
        assert not np.any(src == dst)


def _is_permutation_path(n_pre, pool, k):
    return 2 * k > pool or n_pre * pool <= C._DENSE_LIMIT // 4


@pytest.mark.parametrize("n_pre,n_post,k", [(30, 40, 7), (10, 12, 12), (50, 20, 15)])
def test_fixed_fanout_permutation_path(n_pre, n_post, k):
    assert _is_permutation_path(n_pre, n_post, k)
    src, dst = FixedFanout(k, seed=2).build(n_pre, n_post, False)
    _check_fanout(src, dst, n_pre, n_post, k)


@pytest.mark.parametrize("n_pre,n_post,k", [(500, 2200, 1100), (300, 5000, 40)])
def test_fixed_fanout_rejection_path(n_pre, n_post, k):
    assert not _is_permutation_path(n_pre, n_post, k)
    src, dst = FixedFanout(k, seed=4).build(n_pre, n_post, False)
    _check_fanout(src, dst, n_pre, n_post, k)
    # targets uniform: per-target counts ~ Binomial(n_pre, k/n_post), dispersion ~ 1
    q = k / n_post
    counts = np.bincount(dst, minlength=n_post)
    disp = np.sum((counts - n_pre * q) ** 2) / (n_pre * q * (1 - q)) / (n_post - 1)
    assert 0.8 < disp < 1.25, disp


@pytest.mark.parametrize("n,k", [(12, 11), (30, 5), (1100, 500)], ids=["full", "perm", "rejection"])
def test_fixed_fanout_no_self(n, k):
    src, dst = FixedFanout(k, seed=9, allow_self=False).build(n, n, True)
    _check_fanout(src, dst, n, n, k, no_self=True)
    if n == 12:  # k = n - 1: every other compartment exactly once
        for i in range(n):
            assert sorted(dst[src == i].tolist()) == [j for j in range(n) if j != i]


@pytest.mark.parametrize("n,k", [(200, 60), (1100, 500)], ids=["perm", "rejection"])
def test_fixed_fanout_no_self_targets_uniform(n, k):
    # skipping i must not starve or favour any target: each j is chosen by ~k sources
    src, dst = FixedFanout(k, seed=0, allow_self=False).build(n, n, True)
    counts = np.bincount(dst, minlength=n)
    q = k / (n - 1)
    sd = np.sqrt((n - 1) * q * (1 - q))
    assert counts.size == n and np.all(np.abs(counts - k) < 6 * sd), (counts.min(), counts.max())


def test_fixed_fanout_self_allowed_between_distinct_populations():
    src, dst = FixedFanout(5, seed=0, allow_self=False).build(5, 5, False)  # pool is 5
    _check_fanout(src, dst, 5, 5, 5)
    assert np.sum(src == dst) == 5


@pytest.mark.parametrize("shape,k", [((20, 30), 6), ((400, 3000), 30)], ids=["perm", "rejection"])
def test_fixed_fanout_deterministic_per_seed(shape, k):
    a = FixedFanout(k, seed=1).build(*shape, False)
    b = FixedFanout(k, seed=1).build(*shape, False)
    c = FixedFanout(k, seed=2).build(*shape, False)
    assert np.array_equal(a[1], b[1]) and np.array_equal(a[0], b[0])
    assert not np.array_equal(a[1], c[1])


def test_fixed_fanout_k_exceeds_pool():
    with pytest.raises(NetworkError, match=r"fanout = 6 exceeds the 5"):
        FixedFanout(6).build(3, 5, False)
    with pytest.raises(NetworkError, match=r"fanout = 5 exceeds the 4"):
        FixedFanout(5, allow_self=False).build(5, 5, True)


def test_fixed_fanout_zero():
    src, dst = FixedFanout(0).build(10, 10, False)
    assert src.size == 0 and dst.size == 0


@pytest.mark.parametrize("k", [-1, 2.5])
def test_fixed_fanout_bad_k(k):
    with pytest.raises(NetworkError, match="fanout"):
        FixedFanout(k)


# --------------------------------------------------------------------- explicit
def test_explicit_keeps_order_and_duplicates():
    src, dst = Explicit(src=[2, 0, 2], dst=[1, 1, 1]).build(3, 2, False)
    assert src.tolist() == [2, 0, 2] and dst.tolist() == [1, 1, 1]
    assert src.dtype == np.int64


@pytest.mark.parametrize("src,dst,which,bad", [
    ([0, 3], [0, 0], "src", 3), ([0, -1], [0, 0], "src", -1),
    ([0, 1], [0, 4], "dst", 4), ([0, 1], [-2, 0], "dst", -2),
])
def test_explicit_out_of_range_names_side(src, dst, which, bad):
    with pytest.raises(NetworkError) as exc:
        Explicit(src=src, dst=dst).build(3, 4, False)
    msg = str(exc.value)
    assert f"{which} index {bad}" in msg
    n = 3 if which == "src" else 4
    assert f"0..{n - 1}" in msg


def test_explicit_shape_and_dtype_errors():
    with pytest.raises(NetworkError, match="equal length"):
        Explicit(src=[0, 1], dst=[0])
    with pytest.raises(NetworkError, match="integers"):
        Explicit(src=[0.5], dst=[0])


# ------------------------------------------------------------------ make_connector
def test_make_connector_by_name_and_object():
    c = make_connector("fixed_fanout", fanout=3, seed=1)
    assert isinstance(c, FixedFanout) and c.fanout == 3 and c.seed == 1
    obj = OneToOne()
    assert make_connector(obj) is obj
    assert set(C.CONNECTORS) == {"all_to_all", "one_to_one", "fixed_probability", "fixed_fanout", "explicit"}


def test_make_connector_unknown_name():
    with pytest.raises(NetworkError) as exc:
        make_connector("random_graph")
    assert "random_graph" in str(exc.value) and "all_to_all" in str(exc.value)


def test_make_connector_bad_arguments():
    with pytest.raises(NetworkError, match="fixed_fanout"):
        make_connector("fixed_fanout", fanout=2, probability=0.1)
    with pytest.raises(NetworkError, match="connector object"):
        make_connector(AllToAll(), allow_self=False)
