"""Flat network file chipemu-flat-1 (docs/formats.md): round trip, defaults, rejection."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chipemu import neuron
from chipemu.errors import FileFormatError
from chipemu.flatfile import REQUIRED, network_to_arrays, save_network
from chipemu.network import Network

from conftest import DATA, GOLDEN

CONTRACT_KEYS = ("format", "du", "dv", "vth", "bias_mant", "bias_exp", "src", "dst", "weight", "delay",
                 "in_n", "in_src", "in_dst", "in_weight", "in_delay", "in_spike_idx", "in_spike_t", "steps")


def rich_net() -> Network:
    """Several populations and input groups, interleaved projections, an empty projection."""
    net = Network("rich", steps=77)
    net.add_population("exc", 4, du=[0, 1, 2, 4095], dv=7, vth=[0, 10, 131071, 3],
                       bias_mant=[-4096, 4095, 0, -1], bias_exp=[0, 7, 3, 1])
    net.add_input("stim", 3, spike_idx=[0, 2, 1], spike_t=[0, 0, 9])
    net.add_population("inh", 2, du=100, dv=200, vth=50, bias_mant=5, bias_exp=6)
    net.add_spike_times("cue", [[1, 4], [], [2]])
    net.connect("exc", "inh", "all_to_all", weight=lambda m: np.arange(m) * 2 - 8, delay=lambda m: np.arange(m) % 63)
    net.connect("stim", "exc", "explicit", src=[2, 0, 2], dst=[1, 1, 1], weight=[-256, 254, 6], delay=[62, 0, 1])
    net.connect("inh", "exc", "fixed_fanout", fanout=2, seed=3, weight=-20, delay=2, name="inhibit")
    net.connect("exc", "exc", "fixed_probability", p=0.0, weight=2, name="empty")
    net.connect("cue", "inh", "all_to_all", weight=12, delay=4)
    net.connect("exc", "inh", "explicit", src=[3, 3], dst=[0, 0], weight=[2, 2])
    return net


def assert_arrays_equal(a: dict, b: dict):
    assert set(a) == set(b)
    for k in a:
        x, y = np.asarray(a[k]), np.asarray(b[k])
        assert x.dtype == y.dtype, k
        assert x.shape == y.shape and np.array_equal(x, y), k


def projections_by_name(net):
    return {p.name: p for p in net.projections}


# ------------------------------------------------------------------ round trip
def test_round_trip_keeps_structure(tmp_path):
    net = rich_net()
    path = tmp_path / "rich.net.npz"
    net.save(path)
    back = Network.load(path)
    assert back.name == "rich" and back.steps == 77
    assert [(p.name, p.start, p.size) for p in back.populations] == [("exc", 0, 4), ("inh", 4, 2)]
    for p, q in zip(net.populations, back.populations):
        for k in ("du", "dv", "vth", "bias_mant", "bias_exp"):
            assert np.array_equal(getattr(p, k), getattr(q, k)), (p.name, k)
    assert [(g.name, g.start, g.size) for g in back.inputs] == [("stim", 0, 3), ("cue", 3, 3)]
    for g, h in zip(net.inputs, back.inputs):
        assert np.array_equal(g.spike_idx, h.spike_idx) and np.array_equal(g.spike_t, h.spike_t)
    a, b = projections_by_name(net), projections_by_name(back)
    assert set(a) == set(b) == {"exc->inh", "stim->exc", "inhibit", "empty", "cue->inh", "exc->inh#2"}
    for name, p in a.items():
        q = b[name]
        assert (q.pre, q.post, q.pre_is_input) == (p.pre, p.post, p.pre_is_input), name
        for k in ("src", "dst", "weight", "delay"):
            assert np.array_equal(getattr(p, k), getattr(q, k)), (name, k)
    assert len(b["empty"]) == 0
    assert_arrays_equal(network_to_arrays(net), network_to_arrays(back))
    assert back.sha256() == net.sha256()


def test_file_holds_contract_keys(tmp_path):
    net = rich_net()
    save_network(net, tmp_path / "x.npz")
    with np.load(tmp_path / "x.npz", allow_pickle=False) as z:
        keys = set(z.files)
        assert set(CONTRACT_KEYS) <= keys and {"pop_name", "pop_start"} <= keys
        assert str(z["format"]) == "chipemu-flat-1" and z["format"].shape == ()
        assert z["pop_name"].tolist() == ["exc", "inh"] and z["pop_start"].tolist() == [0, 4]
        f = net.flat()
        assert int(z["in_n"]) == 6 and z["in_n"].shape == () and int(z["steps"]) == 77
        for k in ("du", "vth", "src", "dst", "weight", "delay", "in_src", "in_spike_idx", "in_spike_t"):
            assert np.issubdtype(z[k].dtype, np.integer) and np.array_equal(z[k], getattr(f, k)), k
    assert set(REQUIRED) == set(CONTRACT_KEYS)


def test_save_string_path_and_creates_folder(tmp_path):
    target = tmp_path / "sub" / "dir" / "n.npz"
    rich_net().save(str(target))
    assert target.is_file()
    assert Network.load(str(target)).n_synapses == rich_net().n_synapses


def test_save_overwrites(tmp_path):
    path = tmp_path / "n.npz"
    rich_net().save(path)
    Network("tiny", steps=3).save(path)
    back = Network.load(path)
    assert back.name == "tiny" and back.n_compartments == 0 and back.steps == 3


# ------------------------------------------------------------ atomic save
def _boom_after_first(monkeypatch):
    """Make the npz writer fail with 'disk full' on its second member (the first is written)."""
    real, calls = np.lib.format.write_array, []

    def boom(fh, arr, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise OSError("disk full")
        return real(fh, arr, **kwargs)
    monkeypatch.setattr(np.lib.format, "write_array", boom)


def test_save_is_atomic_new_file(tmp_path, monkeypatch):
    _boom_after_first(monkeypatch)
    target = tmp_path / "n.net.npz"
    with pytest.raises(OSError, match="disk full"):
        rich_net().save(target)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_save_is_atomic_keeps_old_file(tmp_path, monkeypatch):
    target = tmp_path / "n.net.npz"
    Network("old", steps=5).save(target)
    before = target.read_bytes()
    _boom_after_first(monkeypatch)
    with pytest.raises(OSError):
        rich_net().save(target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["n.net.npz"]
    monkeypatch.undo()
    assert Network.load(target).name == "old"


# ------------------------------------------------------------ defaults (required keys only)
def required_only(net: Network) -> dict:
    arrs = network_to_arrays(net)
    return {k: arrs[k] for k in REQUIRED}


def write_npz(path: Path, arrays: dict) -> Path:
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def test_required_keys_only_defaults(tmp_path):
    net = rich_net()
    path = write_npz(tmp_path / "plain.net.npz", required_only(net))
    back = Network.load(path)
    assert back.name == "plain"  # from the file name, without the .net.npz suffix
    assert [(p.name, p.start, p.size) for p in back.populations] == [("pop", 0, 6)]
    assert [(g.name, g.start, g.size) for g in back.inputs] == [("input", 0, 6)]
    assert [p.name for p in back.projections] == ["pop->pop", "input->pop"]
    rec, inp = back.projections
    assert (rec.pre, rec.post, rec.pre_is_input) == ("pop", "pop", False)
    assert (inp.pre, inp.post, inp.pre_is_input) == ("input", "pop", True)
    f, g = net.flat(), back.flat()
    for k in ("du", "dv", "vth", "bias_mant", "bias_exp", "src", "dst", "weight", "delay", "in_src", "in_dst",
              "in_weight", "in_delay", "in_spike_idx", "in_spike_t"):
        assert np.array_equal(getattr(f, k), getattr(g, k)), k
    assert (g.in_n, g.steps) == (6, 77)


def test_defaults_group_projections_by_pre_post_with_pop_names(tmp_path):
    # populations given, projections not: one projection per (pre, post), order kept within each
    net = rich_net()
    arrs = required_only(net)
    arrs["pop_name"] = np.array(["exc", "inh"])
    arrs["pop_start"] = np.array([0, 4])
    back = Network.load(write_npz(tmp_path / "n.npz", arrs))
    by = projections_by_name(back)
    assert set(by) == {"exc->inh", "inh->exc", "input->exc", "input->inh"}
    orig = net.flat()
    sel = (orig.src < 4) & (orig.dst >= 4)
    p = by["exc->inh"]
    assert p.src.tolist() == orig.src[sel].tolist() and (p.dst + 4).tolist() == orig.dst[sel].tolist()
    assert p.weight.tolist() == orig.weight[sel].tolist()
    assert np.array_equal(back.flat().du, orig.du)


def test_empty_network_round_trip(tmp_path):
    net = Network("void", steps=0)
    net.save(tmp_path / "v.npz")
    back = Network.load(tmp_path / "v.npz")
    assert back.n_compartments == 0 and back.n_inputs == 0 and back.steps == 0 and back.name == "void"
    write_npz(tmp_path / "v2.npz", required_only(net))
    assert Network.load(tmp_path / "v2.npz").populations == []


# ------------------------------------------------------------ rejection
@pytest.fixture(scope="module")
def base_arrays():
    """Required keys of a network where every array is non-empty."""
    arrs = required_only(rich_net())
    for k in CONTRACT_KEYS:
        if k not in ("format", "in_n", "steps"):
            assert arrs[k].size > 0, k
    return arrs


def load_mutated(tmp_path, base, key, value=None, drop=False):
    arrs = dict(base)
    if drop:
        del arrs[key]
    else:
        arrs[key] = value
    return Network.load(write_npz(tmp_path / "bad.npz", arrs))


def expect_key_error(tmp_path, base, key, value=None, drop=False, bad_key=None):
    with pytest.raises(FileFormatError) as exc:
        load_mutated(tmp_path, base, key, value, drop)
    msg = str(exc.value)
    assert f"'{bad_key or key}'" in msg, msg
    assert "bad.npz" in msg and "\n" not in msg
    return msg


def test_base_arrays_load(tmp_path, base_arrays):
    assert Network.load(write_npz(tmp_path / "ok.npz", base_arrays)).n_compartments == 6


@pytest.mark.parametrize("key", CONTRACT_KEYS)
def test_missing_key(tmp_path, base_arrays, key):
    msg = expect_key_error(tmp_path, base_arrays, key, drop=True)
    assert "missing" in msg


SCALARS = ("format", "in_n", "steps")


@pytest.mark.parametrize("key", CONTRACT_KEYS)
def test_wrong_shape_2d(tmp_path, base_arrays, key):
    a = base_arrays[key]
    bad = np.array([a, a]) if key in SCALARS else a.reshape(1, -1)
    expect_key_error(tmp_path, base_arrays, key, bad)


@pytest.mark.parametrize("key", ["dv", "vth", "bias_mant", "bias_exp", "dst", "weight", "delay",
                                 "in_dst", "in_weight", "in_delay", "in_spike_t"])
def test_wrong_length(tmp_path, base_arrays, key):
    a = base_arrays[key]
    msg = expect_key_error(tmp_path, base_arrays, key, np.append(a, a[:1]).astype(a.dtype))
    assert "shape" in msg


@pytest.mark.parametrize("key", CONTRACT_KEYS)
def test_wrong_dtype_float(tmp_path, base_arrays, key):
    a = base_arrays[key]
    bad = np.array(1.0) if key == "format" else a.astype(np.float64)
    msg = expect_key_error(tmp_path, base_arrays, key, bad)
    assert "float64" in msg


@pytest.mark.parametrize("key", ["du", "src", "in_spike_t", "steps"])
def test_wrong_dtype_bool_and_str(tmp_path, base_arrays, key):
    a = base_arrays[key]
    expect_key_error(tmp_path, base_arrays, key, a.astype(bool))
    expect_key_error(tmp_path, base_arrays, key, a.astype(str))


def _with(a, index, value):
    a = np.array(a, dtype=np.int64)
    if a.ndim == 0:
        return np.array(value, dtype=np.int64)
    a[index] = value
    return a


# (key, index, bad value); n = 6 compartments, in_n = 6 input sources
OUT_OF_RANGE = [
    ("du", 0, -1), ("du", 2, 4096), ("dv", 1, 4096), ("dv", 0, -1), ("vth", 3, 2**17), ("vth", 0, -1),
    ("bias_mant", 0, 4096), ("bias_mant", 1, -4097), ("bias_exp", 2, 8), ("bias_exp", 0, -1),
    ("weight", 0, 256), ("weight", 1, -258), ("weight", 2, 3), ("delay", 0, 63), ("delay", 1, -1),
    ("in_weight", 0, 255), ("in_weight", 1, -7), ("in_delay", 0, 63), ("in_delay", 2, -1),
    ("in_n", None, -1), ("in_spike_t", 0, -1), ("steps", None, -5),
]
OUT_OF_BOUNDS = [("src", 0, 6), ("src", 1, -1), ("dst", 0, 6), ("dst", 2, -1), ("in_src", 0, 6),
                 ("in_src", 1, -1), ("in_dst", 0, 6), ("in_dst", 1, -1), ("in_spike_idx", 0, 6),
                 ("in_spike_idx", 1, -1)]


@pytest.mark.parametrize("key,index,bad", OUT_OF_RANGE + OUT_OF_BOUNDS)
def test_out_of_range_value(tmp_path, base_arrays, key, index, bad):
    msg = expect_key_error(tmp_path, base_arrays, key, _with(base_arrays[key], index, bad))
    assert str(bad) in msg


def test_in_n_too_small_for_input_synapses(tmp_path, base_arrays):
    # shrinking in_n leaves input synapses / events pointing past the last source
    msg = expect_key_error(tmp_path, base_arrays, "in_n", np.array(2), bad_key="in_src")
    assert "out of range 0..1" in msg


def test_duplicate_input_event(tmp_path, base_arrays):
    arrs = dict(base_arrays)
    arrs["in_spike_idx"] = np.append(arrs["in_spike_idx"], arrs["in_spike_idx"][0])
    arrs["in_spike_t"] = np.append(arrs["in_spike_t"], arrs["in_spike_t"][0])
    with pytest.raises(FileFormatError, match="'in_spike_idx'.*fires twice"):
        Network.load(write_npz(tmp_path / "bad.npz", arrs))


@pytest.mark.parametrize("fmt", ["chipemu-flat-2", "", "CHIPEMU-FLAT-1"])
def test_wrong_format_string(tmp_path, base_arrays, fmt):
    msg = expect_key_error(tmp_path, base_arrays, "format", np.array(fmt))
    assert "chipemu-flat-1" in msg


def test_optional_key_errors(tmp_path, base_arrays):
    arrs = dict(base_arrays)
    arrs["pop_name"] = np.array(["a", "b"])
    with pytest.raises(FileFormatError, match="'pop_start'.*missing"):
        Network.load(write_npz(tmp_path / "bad.npz", arrs))
    arrs["pop_start"] = np.array([0, 9])
    with pytest.raises(FileFormatError, match="'pop_start'.*out of range"):
        Network.load(write_npz(tmp_path / "bad.npz", arrs))
    arrs["pop_start"] = np.array([2, 4])
    with pytest.raises(FileFormatError, match="'pop_start'"):
        Network.load(write_npz(tmp_path / "bad.npz", arrs))
    arrs["pop_start"] = np.array([0, 4])
    arrs["pop_name"] = np.array(["a", "a"])
    with pytest.raises(FileFormatError, match="'a' is already used"):
        Network.load(write_npz(tmp_path / "bad.npz", arrs))


def test_projection_key_errors(tmp_path):
    full = network_to_arrays(rich_net())
    bad = dict(full)
    bad["proj_pre"] = np.array(["exc", "nobody", "exc", "exc"])
    with pytest.raises(FileFormatError, match="'proj_pre'.*'nobody'"):
        Network.from_arrays(bad, "x.npz")
    bad = dict(full)
    bad["proj_post"] = bad["proj_post"][:-1]
    with pytest.raises(FileFormatError, match="'proj_post'"):
        Network.from_arrays(bad, "x.npz")
    bad = dict(full)
    bad["proj_pre"] = bad["proj_pre"][::-1].copy()  # synapses no longer inside the named groups
    with pytest.raises(FileFormatError, match="'proj_start'"):
        Network.from_arrays(bad, "x.npz")


def test_not_an_npz_garbage(tmp_path):
    p = tmp_path / "junk.npz"
    p.write_bytes(os.urandom(300) + b"not a zip")
    with pytest.raises(FileFormatError, match="junk.npz"):
        Network.load(p)
    p.write_text("format = chipemu-flat-1\n")
    with pytest.raises(FileFormatError, match="junk.npz"):
        Network.load(p)


def test_not_an_npz_single_npy_array(tmp_path):
    p = tmp_path / "arr.npz"
    with open(p, "wb") as fh:
        np.save(fh, np.arange(5))
    with pytest.raises(FileFormatError, match="arr.npz"):
        Network.load(p)


def test_truncated_npz(tmp_path):
    good = tmp_path / "good.npz"
    rich_net().save(good)
    data = good.read_bytes()
    p = tmp_path / "trunc.npz"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match="trunc.npz"):
        Network.load(p)


def test_nonexistent_path(tmp_path):
    with pytest.raises(FileFormatError, match="no such file"):
        Network.load(tmp_path / "missing.npz")


def test_directory_path(tmp_path):
    with pytest.raises(FileFormatError):
        Network.load(tmp_path)


# ------------------------------------------------------------ golden files
@pytest.mark.parametrize("name", GOLDEN)
def test_golden_files_load(name):
    path = DATA / f"{name}.net.npz"
    net = Network.load(path)
    assert net.name == name
    with np.load(path, allow_pickle=False) as z:
        assert set(CONTRACT_KEYS) <= set(z.files)
        f = net.flat()
        assert f.n == z["du"].size > 0 and f.in_n == int(z["in_n"]) and f.steps == int(z["steps"])
        for k in CONTRACT_KEYS[1:]:
            if k in ("in_n", "steps"):
                continue
            assert np.array_equal(getattr(f, k), z[k]), (name, k)
    assert net.n_synapses == f.m + f.in_src.size > 0


# ------------------------------------------------------------ property: save -> load -> save
NAMES = st.text(alphabet="abcdefghij_-+. XYZ0123", min_size=1, max_size=6)


@st.composite
def networks(draw):
    net = Network(draw(NAMES), steps=draw(st.integers(0, 1000)))
    names = draw(st.lists(NAMES, min_size=1, max_size=5, unique=True))
    n_pops = draw(st.integers(1, min(3, len(names))))
    n_ins = draw(st.integers(0, min(2, len(names) - n_pops)))
    for name in names[:n_pops]:
        size = draw(st.integers(1, 20))
        regs = {}
        for param, (lo, hi) in neuron.PARAM_RANGES.items():
            if draw(st.booleans()):
                regs[param] = draw(st.integers(lo, hi))
            else:
                regs[param] = draw(st.lists(st.integers(lo, hi), min_size=size, max_size=size))
        net.add_population(name, size, **regs)
    for name in names[n_pops:n_pops + n_ins]:
        size = draw(st.integers(1, 10))
        ev = draw(st.lists(st.tuples(st.integers(0, size - 1), st.integers(0, 60)), max_size=25, unique=True))
        net.add_input(name, size, [i for i, _ in ev], [t for _, t in ev])
    sources = net.populations + net.inputs
    for _ in range(draw(st.integers(0, 4))):
        pre = draw(st.sampled_from(sources))
        post = draw(st.sampled_from(net.populations))
        m = draw(st.integers(0, 30))
        src = draw(st.lists(st.integers(0, pre.size - 1), min_size=m, max_size=m))
        dst = draw(st.lists(st.integers(0, post.size - 1), min_size=m, max_size=m))
        w = draw(st.lists(st.integers(-128, 127).map(lambda x: 2 * x), min_size=m, max_size=m))
        d = draw(st.lists(st.integers(0, 62), min_size=m, max_size=m))
        pname = draw(st.one_of(st.none(), NAMES))
        net.connect(pre, post, "explicit", src=np.array(src, dtype=np.int64), dst=np.array(dst, dtype=np.int64),
                    weight=np.array(w, dtype=np.int64), delay=np.array(d, dtype=np.int64), name=pname)
    return net


def read_npz(path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=networks())
def test_property_save_load_save(net):
    with tempfile.TemporaryDirectory() as tmp:
        p1, p2 = Path(tmp) / "a.npz", Path(tmp) / "b.npz"
        net.save(p1)
        back = Network.load(p1)
        back.save(p2)
        a0 = network_to_arrays(net)
        assert_arrays_equal(a0, network_to_arrays(back))
        assert_arrays_equal(read_npz(p1), read_npz(p2))
        assert_arrays_equal(read_npz(p1), a0)
    assert back.name == net.name and back.steps == net.steps
    assert [(p.name, p.start, p.size) for p in back.populations] == [(p.name, p.start, p.size) for p in net.populations]
    assert [(g.name, g.start, g.size) for g in back.inputs] == [(g.name, g.start, g.size) for g in net.inputs]
    a, b = projections_by_name(net), projections_by_name(back)
    assert set(a) == set(b)
    for name, p in a.items():
        q = b[name]
        assert (q.pre, q.post, q.pre_is_input) == (p.pre, p.post, p.pre_is_input)
        for k in ("src", "dst", "weight", "delay"):
            assert np.array_equal(getattr(p, k), getattr(q, k)), (name, k)
    assert back.sha256() == net.sha256()
