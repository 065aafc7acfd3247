"""chipemu.arrays: distinct values, counts and sums per key by one sort, against numpy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from chipemu.arrays import distinct, distinct_counts, stable_order, sum_by_key

keys_st = st.lists(st.integers(-5, 40), max_size=200)


@settings(max_examples=60, deadline=None)
@given(keys_st)
def test_distinct_and_counts_equal_np_unique(keys):
    a = np.asarray(keys, dtype=np.int64)
    want, want_counts = np.unique(a, return_counts=True)
    assert np.array_equal(distinct(a), want)
    got, counts = distinct_counts(a)
    assert np.array_equal(got, want) and np.array_equal(counts, want_counts)
    assert counts.dtype == np.int64


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.floats(-1e3, 1e3)), max_size=200))
def test_sum_by_key_equals_bincount_bit_for_bit(pairs):
    keys = np.asarray([k for k, _ in pairs], dtype=np.int64)
    w = np.asarray([x for _, x in pairs], dtype=np.float64)
    got_keys, sums = sum_by_key(keys, w)
    dense = np.bincount(keys, weights=w, minlength=31)
    assert np.array_equal(got_keys, np.unique(keys))
    assert np.array_equal(sums, dense[got_keys])  # same additions in the same order


@pytest.mark.parametrize("dtype", [np.int64, np.uint64, np.int32])
def test_long_arrays_sorted_narrow_give_the_same_values(dtype):
    """Long integer arrays within 32 bits are sorted as uint32: same values, same dtype."""
    rng = np.random.default_rng(1)
    for hi in (5, 2**31 - 1, 2**32 - 1):
        a = rng.integers(0, hi, 200_000, dtype=np.int64, endpoint=True).astype(dtype)
        want, want_counts = np.unique(a, return_counts=True)
        got = distinct(a)
        assert got.dtype == a.dtype and np.array_equal(got, want)
        got, counts = distinct_counts(a)
        assert got.dtype == a.dtype and np.array_equal(got, want) and np.array_equal(counts, want_counts)
    big = np.array([0, 2**32, 5] * 30_000, dtype=np.int64)  # beyond 32 bits: sorted as it is
    assert distinct(big).tolist() == [0, 5, 2**32]


def test_edge_cases():
    assert distinct([]).size == 0 and distinct_counts(np.zeros(0, np.int32))[1].dtype == np.int64
    assert distinct(np.array([[3, 1], [3, 2]])).tolist() == [1, 2, 3]  # flattened
    k, s = sum_by_key(np.zeros(0, np.uint32), np.zeros(0))
    assert k.size == 0 and s.size == 0
    with pytest.raises(ValueError, match="3 keys but 2 weights"):
        sum_by_key([1, 2, 3], [1.0, 2.0])


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([1, 7, 2**16, 2**16 + 1, 2**20, 2**32, 2**40]), st.lists(st.integers(0, 2**40), max_size=300),
       st.sampled_from([np.int64, np.int32, np.uint32]), st.booleans())
def test_stable_order_is_numpy_s_stable_argsort(key_range, raw, dtype, compiled):
    """Both ways (the compiled counting sort for small key ranges, numpy's sorts)."""
    import chipemu.arrays as arrays

    if compiled:
        assert arrays._counting_order is not None, "the arrays kernel is not built (python setup.py build_ext)"
        saved = None
    else:
        saved, arrays._counting_order = arrays._counting_order, None
    keys = (np.asarray(raw, dtype=np.int64) % key_range)
    try:
        if np.iinfo(dtype).max < key_range - 1:
            keys %= np.iinfo(dtype).max
        keys = keys.astype(dtype)
        assert np.array_equal(stable_order(keys, key_range), np.argsort(keys, kind="stable"))
        few = np.repeat(keys[:5], 7)  # many equal keys: their order must be kept
        assert np.array_equal(stable_order(few, key_range), np.argsort(few, kind="stable"))
    finally:
        if saved is not None:
            arrays._counting_order = saved


def test_counting_order_checks_its_input():
    from _chipemu_arrays_kernel import counting_order

    out = np.empty(3, dtype=np.int64)
    with pytest.raises(ValueError, match="out of 0 .. key_range - 1"):
        counting_order(np.array([0, 5, 1]), 5, out)
    with pytest.raises(ValueError, match="out of 0 .. key_range - 1"):
        counting_order(np.array([0, -1, 1]), 5, out)
    with pytest.raises(ValueError, match="int64"):
        counting_order(np.array([0, 1, 1], dtype=np.int32), 5, out)
    with pytest.raises(ValueError, match="as long as keys"):
        counting_order(np.array([0, 1]), 5, out)
    counting_order(np.array([2, 0, 2]), 3, out)
    assert out.tolist() == [1, 0, 2]


def test_counting_order_refuses_out_sharing_memory_with_keys():
    """out written while keys are read would change the keys under the sort (keys out of
    range, writes out of bounds): refused."""
    from _chipemu_arrays_kernel import counting_order

    buf = np.arange(128, dtype=np.int64)[::-1].copy()
    keys = buf[64:]
    for out in (keys, buf[32:96], np.frombuffer(keys.data, dtype=np.int64)):
        with pytest.raises(ValueError, match="share memory"):
            counting_order(keys, 64, out)
    both = np.zeros(8, dtype=np.int64)
    counting_order(both[:4], 1, both[4:])  # adjacent, not overlapping: fine
    assert both.tolist() == [0, 0, 0, 0, 0, 1, 2, 3]


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.uint16])
def test_stable_order_of_narrow_keys_with_a_wide_range(dtype):
    """Keys of a narrow integer dtype with a key range beyond it (a radix digit mask wider
    than the dtype raised OverflowError)."""
    keys = np.array([3, 1, 2, 1, 0, 3, 100], dtype=dtype)
    for key_range in (2**17, 2**33):
        assert np.array_equal(stable_order(keys, key_range), np.argsort(keys, kind="stable"))
