"""The flat-file fast path (chipemu.flatload): same arrays and same errors as loading a Network."""

from __future__ import annotations

import numpy as np
import pytest

from chipemu.errors import FileFormatError
from chipemu.flatfile import network_to_arrays
from chipemu.flatload import read_flat
from chipemu.network import FlatNetwork, Network
from chipemu.reference import run

from conftest import DATA, GOLDEN
from test_flatfile import CONTRACT_KEYS, OUT_OF_BOUNDS, OUT_OF_RANGE, _with, required_only, rich_net, write_npz


#: per-synapse arrays: the fast path keeps them in compact dtypes (same values)
COMPACT = {"src": "int32", "dst": "int32", "weight": "int16", "delay": "int8",
           "in_src": "int32", "in_dst": "int32", "in_weight": "int16", "in_delay": "int8"}


def assert_same_flat(a: FlatNetwork, b: FlatNetwork) -> None:
    """``a`` (a fast-path FlatNetwork) holds ``b``'s values; its per-synapse arrays in
    :data:`COMPACT` dtypes, every other array in ``b``'s dtype."""
    for key in FlatNetwork.__dataclass_fields__:
        x, y = getattr(a, key), getattr(b, key)
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            assert x is not None and y is not None, key
            assert x.dtype == COMPACT.get(key, y.dtype) and np.array_equal(x, y), key
        else:
            assert x == y, key


def both(path):
    """(fast FlatFile, Network) of one file."""
    fast = read_flat(path)
    assert fast is not None
    return fast, Network.load(path)


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_files_give_the_networks_flat_arrays(name):
    fast, net = both(DATA / f"{name}.net.npz")
    assert_same_flat(fast.flat, net.flat())
    assert (fast.name, fast.n_compartments, fast.n_synapses) == (net.name, net.n_compartments, net.n_synapses)


def test_rich_network_with_names_and_empty_projection(tmp_path):
    net = rich_net()
    net.save(tmp_path / "rich.npz")
    fast, loaded = both(tmp_path / "rich.npz")
    assert_same_flat(fast.flat, loaded.flat())
    assert_same_flat(fast.flat, net.flat())


def test_required_keys_only_group_by_pre_post_like_the_network(tmp_path):
    """Without projection names the synapses are regrouped per (pre, post) pair, as a Network does."""
    full = network_to_arrays(rich_net())
    arrs = {**required_only(rich_net()), **{k: full[k] for k in ("pop_name", "pop_start", "in_name", "in_start")}}
    path = write_npz(tmp_path / "plain.npz", arrs)
    fast, net = both(path)
    assert_same_flat(fast.flat, net.flat())
    assert not np.array_equal(fast.flat.src, arrs["src"])  # the interleaved file order was regrouped


def test_periodic_reset_kept_and_all_zero_reset_dropped(tmp_path):
    net = Network("r", steps=30)
    net.add_population("a", 5, du=10, dv=10, vth=5, bias_mant=3, bias_exp=6, reset_interval=[0, 4, 4, 7, 0],
                       reset_offset=[0, 1, 3, 6, 0])
    net.add_population("b", 3, du=10, dv=10, vth=5, bias_mant=3, bias_exp=6)
    net.connect("a", "b", "all_to_all", weight=4, delay=2)
    net.save(tmp_path / "r.npz")
    fast, loaded = both(tmp_path / "r.npz")
    assert fast.flat.reset_interval is not None
    assert_same_flat(fast.flat, loaded.flat())
    arrs = network_to_arrays(loaded)
    arrs["reset_interval"] = np.zeros_like(arrs["reset_interval"])
    arrs["reset_offset"] = np.zeros_like(arrs["reset_offset"])
    fast, loaded = both(write_npz(tmp_path / "z.npz", arrs))
    assert fast.flat.reset_interval is None
    assert_same_flat(fast.flat, loaded.flat())


def test_same_spikes_from_the_fast_path(tmp_path):
    fast, net = both(DATA / "ei_1k.net.npz")
    assert run(fast.flat).spikes == run(net).spikes


def test_plastic_files_need_the_network(tmp_path):
    from chipemu.learning import stdp

    net = Network("p", steps=10)
    net.add_population("a", 3, du=10, dv=10, vth=5, bias_mant=3, bias_exp=6)
    net.add_bernoulli_input("in", 3, p=0.5, seed=1)
    net.connect("in", "a", "one_to_one", weight=20, delay=0, plasticity=stdp(0.5, 0.5, 4, 4))
    net.save(tmp_path / "p.npz")
    assert read_flat(tmp_path / "p.npz") is None


# ---------------------------------------------------------------- errors: word for word the Network loader's


def same_error(path):
    with pytest.raises(FileFormatError) as slow:
        Network.load(path)
    with pytest.raises(FileFormatError) as fast:
        read_flat(path)
    assert str(fast.value) == str(slow.value)


@pytest.fixture(scope="module")
def full_arrays():
    return network_to_arrays(rich_net())


@pytest.mark.parametrize("key", CONTRACT_KEYS)
def test_missing_and_2d_keys(tmp_path, full_arrays, key):
    arrs = dict(full_arrays)
    del arrs[key]
    same_error(write_npz(tmp_path / "bad.npz", arrs))
    a = full_arrays[key]
    arrs[key] = np.array([a, a]) if a.ndim == 0 else a.reshape(1, -1)
    same_error(write_npz(tmp_path / "bad.npz", arrs))


@pytest.mark.parametrize("key", [k for k in CONTRACT_KEYS if k != "format"])
def test_float_keys(tmp_path, full_arrays, key):
    same_error(write_npz(tmp_path / "bad.npz", {**full_arrays, key: full_arrays[key].astype(np.float64)}))


@pytest.mark.parametrize("key,index,bad", OUT_OF_RANGE + OUT_OF_BOUNDS)
def test_out_of_range(tmp_path, full_arrays, key, index, bad):
    same_error(write_npz(tmp_path / "bad.npz", {**full_arrays, key: _with(full_arrays[key], index, bad)}))


@pytest.mark.parametrize("change", [
    {"pop_name": np.array(["exc", "exc"])},                      # a name used twice
    {"pop_name": np.array(["exc", "stim"])},                     # a population named like an input group
    {"pop_start": np.array([0, 9])},
    {"pop_start": np.array([2, 4])},
    {"in_name": np.array(["stim", ""])},
    {"name": np.array("two\nlines")},
    {"proj_pre": np.array(["exc", "nobody", "exc", "exc"])},
    {"proj_post": np.array(["inh", "exc", "exc"])},
    {"in_proj_pre": np.array(["exc", "cue"])},                   # a population as an input projection's source
    {"proj_name": np.array(["a", "", "c", "d"])},
    {"in_spike_idx": None},                                      # a duplicate input event
])
def test_structure_errors(tmp_path, full_arrays, change):
    arrs = {**full_arrays, **change}
    if "in_spike_idx" in change:
        arrs["in_spike_idx"] = np.append(full_arrays["in_spike_idx"], full_arrays["in_spike_idx"][0])
        arrs["in_spike_t"] = np.append(full_arrays["in_spike_t"], full_arrays["in_spike_t"][0])
    same_error(write_npz(tmp_path / "bad.npz", arrs))


def test_synapses_outside_their_projection(tmp_path, full_arrays):
    arrs = dict(full_arrays)
    arrs["proj_pre"] = arrs["proj_pre"][::-1].copy()
    same_error(write_npz(tmp_path / "bad.npz", arrs))
    arrs = dict(full_arrays)
    dst = arrs["dst"].copy()
    dst[-1] = 0  # the last projection exc -> inh now reaches exc
    arrs["dst"] = dst
    same_error(write_npz(tmp_path / "bad.npz", arrs))


def test_cli_simulate_flat_file_same_raster(tmp_path):
    from chipemu.cli import main
    from chipemu.spikes import SpikeRaster

    path = DATA / "ei_1k.net.npz"
    assert main(["simulate", str(path), "--out", str(tmp_path)]) == 0
    assert SpikeRaster.load(tmp_path / "spikes.npz") == run(Network.load(path)).spikes


@pytest.mark.parametrize("name", GOLDEN)
def test_fanout_table_same_from_compact_and_wide_arrays(name):
    """The reference runner's table from the fast path's compact arrays equals the one
    from the Network's int64 arrays, for source-sorted and for shuffled synapses."""
    import dataclasses

    from chipemu.reference import FanoutTable

    fast, net = both(DATA / f"{name}.net.npz")
    wide = net.flat()
    perm = np.random.default_rng(0).permutation(wide.src.size)
    cases = [(fast.flat, wide)]
    cases.append(tuple(dataclasses.replace(f, **{k: getattr(f, k)[perm] for k in ("src", "dst", "weight", "delay")})
                       for f in (fast.flat, wide)))
    for compact, full in cases:
        a, b = FanoutTable.build(compact), FanoutTable.build(full)
        for key in ("indptr", "offset", "weight"):
            assert np.array_equal(getattr(a, key), getattr(b, key)), key
        assert np.array_equal(FanoutTable.storage_order(compact), FanoutTable.storage_order(full))
