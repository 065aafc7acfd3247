"""Shared-weight projections (convolution, pooling, reshape): geometry, files, runners."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chipemu import reference
from chipemu.errors import FileFormatError, NetworkError
from chipemu.flatfile import network_to_arrays
from chipemu.network import Network
from chipemu.shared_weights import SharedProjection


def naive_conv(x, k, stride, pad, dil, groups):
    """PyTorch conv2d on a (C, H, W) array, written out with slices (the test's oracle)."""
    _c, h, w = x.shape
    o_ch, icg, kh, kw = k.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, pad, dil
    xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw)))
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((o_ch, oh, ow), dtype=np.int64)
    per = o_ch // groups
    for o in range(o_ch):
        for cc in range(icg):
            ch = (o // per) * icg + cc
            for i in range(kh):
                for j in range(kw):
                    out[o] += k[o, cc, i, j] * xp[ch, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                                                  j * dw:j * dw + sw * (ow - 1) + 1:sw]
    return out


def dense_of(proj: SharedProjection, n_pre: int, n_post: int) -> np.ndarray:
    m = np.zeros((n_post, n_pre), dtype=np.int64)
    s, d, w = proj.synapses()
    np.add.at(m, (d, s), w.astype(np.int64))
    return m


@st.composite
def conv_geometry(draw, one_d=False):
    groups = draw(st.integers(1, 3))
    c = groups * draw(st.integers(1, 2))
    o = groups * draw(st.integers(1, 2))
    h = 1 if one_d else draw(st.integers(1, 7))
    w = draw(st.integers(1, 7))
    kh = 1 if one_d else draw(st.integers(1, 3))
    kw = draw(st.integers(1, 3))
    sh, sw = (1 if one_d else draw(st.integers(1, 3))), draw(st.integers(1, 3))
    ph, pw = (0 if one_d else draw(st.integers(0, 2))), draw(st.integers(0, 2))
    dh, dw = (1 if one_d else draw(st.integers(1, 2))), draw(st.integers(1, 2))
    if h + 2 * ph < dh * (kh - 1) + 1 or w + 2 * pw < dw * (kw - 1) + 1:
        kh = kw = 1
    seed = draw(st.integers(0, 2**16))
    k = np.random.default_rng(seed).integers(-128, 128, (o, c // groups, kh, kw)) * 2
    return {"c": c, "h": h, "w": w, "k": k, "stride": (sh, sw), "pad": (ph, pw), "dil": (dh, dw), "groups": groups, "seed": seed}


def build(g, one_d=False):
    """A net with a conv from an input group and from a population."""
    k, (sh, sw), (ph, pw), (dh, dw) = g["k"], g["stride"], g["pad"], g["dil"]
    oh = (g["h"] + 2 * ph - dh * (k.shape[2] - 1) - 1) // sh + 1
    ow = (g["w"] + 2 * pw - dw * (k.shape[3] - 1) - 1) // sw + 1
    net = Network("conv", steps=12)
    in_shape = (g["c"], g["w"]) if one_d else (g["c"], g["h"], g["w"])
    out_shape = (k.shape[0], ow) if one_d else (k.shape[0], oh, ow)
    n_in = int(np.prod(in_shape))
    rng = np.random.default_rng(g["seed"])
    t, i = np.nonzero(rng.random((10, n_in)) < 0.3)
    net.add_input("x", in_shape, i, t)
    net.add_population("a", in_shape, du=500, dv=300, vth=rng.integers(1, 400), bias_mant=rng.integers(0, 60),
                       bias_exp=6)
    net.add_population("b", out_shape, du=400, dv=200, vth=300)
    kk = k[:, :, 0, :] if one_d else k
    net.connect("x", "a", "one_to_one", weight=200)
    geo = {"stride": (sw if one_d else (sh, sw)), "padding": (pw if one_d else (ph, pw)),
               "dilation": (dw if one_d else (dh, dw)), "groups": g["groups"]}
    net.connect_conv("x", "b", kk, delay=1, **geo)
    net.connect_conv("a", "b", kk, delay=0, **geo)
    return net


def explicit_copy(net: Network) -> Network:
    """The same network with every shared projection written as explicit synapses."""
    out = Network(net.name, steps=net.steps)
    for p in net.populations:
        out.add_population(p.name, p.size, du=p.du, dv=p.dv, vth=p.vth, bias_mant=p.bias_mant, bias_exp=p.bias_exp)
    for g in net.inputs:
        out.add_input(g.name, g.size, g.spike_idx, g.spike_t)
    for pr in net.projections:
        out.connect(pr.pre, pr.post, "explicit", src=pr.src, dst=pr.dst, weight=pr.weight, delay=pr.delay,
                    name=pr.name)
    return out


@settings(max_examples=60, deadline=None)
@given(conv_geometry())
def test_conv_matches_pytorch_conv2d(g):
    x = np.zeros((g["c"], g["h"], g["w"]))
    net = build(g)
    proj = net.projections[1]
    m = dense_of(proj, net.n_inputs, net.population("b").size)
    for e in range(x.size):  # the conv's matrix, column by column
        x.reshape(-1)[:] = 0
        x.reshape(-1)[e] = 1
        want = naive_conv(x.astype(np.int64), g["k"], g["stride"], g["pad"], g["dil"], g["groups"])
        assert np.array_equal(m[:, e], want.reshape(-1))
    assert len(proj) == proj.src.size == int(np.count_nonzero(np.ones_like(proj.src)))


@settings(max_examples=25, deadline=None)
@given(conv_geometry(one_d=True))
def test_conv1d_is_conv2d_with_unit_height(g):
    net = build(g, one_d=True)
    x = np.zeros((g["c"], 1, g["w"]), dtype=np.int64)
    proj = net.projections[1]
    m = dense_of(proj, net.n_inputs, net.population("b").size)
    for e in range(x.size):
        x.reshape(-1)[:] = 0
        x.reshape(-1)[e] = 1
        want = naive_conv(x, g["k"], g["stride"], g["pad"], g["dil"], g["groups"])
        assert np.array_equal(m[:, e], want.reshape(-1))


@settings(max_examples=30, deadline=None)
@given(conv_geometry())
def test_spikes_identical_to_explicit_synapses(g):
    net = build(g)
    a = reference.run(net)
    b = reference.run(explicit_copy(net))
    assert a.spikes == b.spikes
    assert a.synaptic_events == b.synaptic_events
    # the flat file keeps the kernel, never the expansion, and reads back the same network
    arrays = network_to_arrays(net)
    assert arrays["src"].size == 0 and arrays["in_src"].size == net.population("a").size
    again = Network.from_arrays(arrays)
    assert again.sha256() == net.sha256()
    assert reference.run(again).spikes == a.spikes


def test_pooling_sum_and_avg():
    net = Network("pool", steps=5)
    net.add_input("x", (2, 4, 6), [0], [0])
    net.add_population("s", (2, 2, 3))
    net.add_population("a", (2, 2, 3))
    s = net.connect_pool("x", "s", 2, weight=6, mode="sum")
    a = net.connect_pool("x", "a", 2, weight=16, mode="avg")
    x = np.arange(48).reshape(2, 4, 6)
    want = x.reshape(2, 2, 2, 3, 2).sum(axis=(2, 4))
    assert np.array_equal(dense_of(s, 48, 12) @ x.reshape(-1), 6 * want.reshape(-1))
    assert np.array_equal(dense_of(a, 48, 12) @ x.reshape(-1), 4 * want.reshape(-1))
    assert s.kind == "sum_pool" and a.kind == "avg_pool" and s.kernel.shape == (2, 1, 2, 2)
    with pytest.raises(NetworkError, match="even integer"):
        net.connect_pool("x", "a", 2, weight=6, mode="avg")


def test_reshape_and_flatten():
    net = Network("r", steps=4)
    net.add_input("x", (2, 3), [0, 5], [0, 1])
    net.add_population("flat", 6, vth=1)
    r = net.connect_reshape("x", "flat", weight=100)
    assert np.array_equal(r.src, np.arange(6)) and np.array_equal(r.dst, np.arange(6)) and len(r) == 6
    assert reference.run(net).spikes == reference.run(explicit_copy(net)).spikes
    with pytest.raises(NetworkError, match="equal size"):
        net.add_population("other", 5)
        net.connect_reshape("x", "other", weight=2)


def test_geometry_errors_name_the_problem():
    net = Network("e", steps=2)
    net.add_input("x", (3, 5, 5))
    net.add_population("y", (4, 3, 3))
    k = np.zeros((4, 3, 3, 3), dtype=int)
    net.connect_conv("x", "y", k)
    with pytest.raises(NetworkError, match="output shape must be"):
        net.connect_conv("x", "y", k, padding=1)
    with pytest.raises(NetworkError, match="groups"):
        net.connect_conv("x", "y", np.zeros((4, 1, 3, 3), dtype=int), groups=2)
    with pytest.raises(NetworkError, match="even integer"):
        net.connect_conv("x", "y", k + 1)
    with pytest.raises(NetworkError, match="one integer"):
        net.connect_conv("x", "y", k, delay=[1, 2])
    with pytest.raises(NetworkError, match="kernel shape"):
        net.connect_conv("x", "y", np.zeros((4, 3, 3), dtype=int))
    with pytest.raises(NetworkError, match="shape"):
        net.add_population("z", 10, shape=(3, 3))
    with pytest.raises(NetworkError, match="fixed"):
        net.with_weights({"x->y": np.zeros(len(net.projections[0]), int)})


def test_graph_view_is_compact():
    net = Network("g", steps=2)
    net.add_input("x", (1, 28, 28))
    net.add_population("y", (8, 26, 26))
    k = np.full((8, 1, 3, 3), 4)
    net.connect_conv("x", "y", k)
    g = net.graph()
    e = g.edges["x", "y", "x->y"]
    assert e["synapses"] == 8 * 26 * 26 * 9
    assert e["shared"]["kind"] == "conv" and e["shared"]["kernel_shape"] == [8, 1, 3, 3]
    assert e["kernel"].shape == (8, 1, 3, 3)
    assert g.nodes["y"]["shape"] == (8, 26, 26)
    assert net.flat().src.size == 0 and net.flat().m_in == 8 * 26 * 26 * 9


def test_reference_table_is_at_most_8_bytes_per_synapse():
    net = Network("m", steps=2)
    net.add_input("x", (2, 40, 40))
    net.add_population("y", (16, 38, 38))
    net.connect_conv("x", "y", np.full((16, 2, 3, 3), 2))
    table = reference.FanoutTable.build(net.flat())
    m = net.flat().n_synapses
    assert table.offset.size == m
    assert (table.offset.nbytes + table.weight.nbytes) / m <= 8


def test_file_rejects_bad_shared_keys(tmp_path):
    net = Network("f", steps=2)
    net.add_input("x", (1, 4, 4))
    net.add_population("y", (2, 2, 2))
    net.connect_conv("x", "y", np.full((2, 1, 3, 3), 2))
    good = network_to_arrays(net)
    assert str(good["format"]) == "chipemu-flat-2"
    for key, value, msg in (
            ("shared_geom", good["shared_geom"] + 1, "shared_geom"),
            ("shared_kernel", good["shared_kernel"][:-1], "shared_kernel"),
            ("shared_kernel", good["shared_kernel"] + 1, "odd|even"),
            ("shared_slot", np.array([3]), "shared_slot"),
            ("format", np.array("chipemu-flat-1"), "need"),
            ("pop_shape", np.zeros((1, 3), int), "pop_shape")):
        bad = dict(good)
        bad[key] = value
        path = tmp_path / "bad.npz"
        np.savez(path, **bad)
        with pytest.raises(FileFormatError, match=msg):
            Network.load(path)
    bad = dict(good)
    del bad["shared_kind"]
    np.savez(tmp_path / "bad.npz", **bad)
    with pytest.raises(FileFormatError, match="shared_kind"):
        Network.load(tmp_path / "bad.npz")


def test_projection_order_round_trips():
    net = Network("o", steps=3)
    net.add_input("x", (1, 3, 3), [4], [0])
    net.add_population("a", (1, 3, 3))
    net.add_population("b", (1, 1, 1))
    net.connect("x", "a", "one_to_one", weight=254)
    net.connect_pool("a", "b", 3, weight=2)
    net.connect("a", "a", "one_to_one", weight=2)
    net.connect_conv("x", "b", np.full((1, 1, 3, 3), 4))
    again = Network.from_arrays(network_to_arrays(net))
    for is_input in (False, True):  # the file keeps the order within each kind (the canonical order)
        assert ([p.name for p in again.projections if p.pre_is_input == is_input]
                == [p.name for p in net.projections if p.pre_is_input == is_input])
    assert again.sha256() == net.sha256()
    assert reference.run(again).spikes == reference.run(net).spikes


@settings(max_examples=8, deadline=None)
@given(conv_geometry(), st.sampled_from(["analytic", "simpy"]))
def test_chip_spikes_identical_to_explicit(g, noc):
    from chipemu.chip import emulate
    from mapper import map_network
    net = build(g)
    exp = explicit_copy(net)
    a = emulate(net, map_network(net, "loihi1", seed=0), noc=noc)
    b = emulate(exp, map_network(exp, "loihi1", seed=0), noc=noc)
    assert a.spikes == b.spikes == reference.run(net).spikes
    ca, cb = dict(a.counters), dict(b.counters)
    split = ("synaptic_ops_conv", "synaptic_ops_dense")
    conv_ops, dense_ops = ca["synaptic_ops_conv"], ca["synaptic_ops_dense"]
    assert cb["synaptic_ops_conv"] == 0
    # the same work; only the encoding of the synapses differs (explicit copies may be dense)
    assert {k: v for k, v in ca.items() if k not in split} == {k: v for k, v in cb.items() if k not in split}
    explicit_ops = _ops_of(a, "x->a")
    assert conv_ops == ca["synaptic_ops"] - explicit_ops
    one = net.population("a").size == 1  # one_to_one over one compartment is also all-to-all: dense
    assert dense_ops == (explicit_ops if one else 0)
    assert a.mapping.encoding["projections"] == {"x->a": "dense" if one else "sparse", "x->b": "conv",
                                                 "a->b": "conv"}


def _ops_of(run, proj_name):
    """Synaptic ops of one explicit input projection: its synapses times its sources' events."""
    net = run.network
    p = next(q for q in net.projections if q.name == proj_name)
    g = net.input_group(p.pre)
    events = np.bincount(g.spike_idx[g.spike_t < run.steps], minlength=g.size)
    return int(events[p.src].sum())
