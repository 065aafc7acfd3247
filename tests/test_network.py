"""Network building, validation, flattening, inputs and graphs (chipemu.network, chipemu.inputs)."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from chipemu import neuron
from chipemu.errors import ChipemuError, NetworkError
from chipemu.inputs import bernoulli_events, poisson_probability, regular_events
from chipemu.network import Network

PARAMS = ["du", "dv", "vth", "bias_mant", "bias_exp"]


def small_net() -> Network:
    """Two populations, two input groups, recurrent and input projections."""
    net = Network("small", steps=20)
    net.add_population("a", 3, du=10, dv=20, vth=30, bias_mant=-5, bias_exp=2)
    net.add_input("i1", 2, spike_idx=[1, 0], spike_t=[4, 4])
    net.add_population("b", 4, du=[1, 2, 3, 4], vth=[5, 6, 7, 8])
    net.add_input("i2", 3, spike_idx=[2, 0], spike_t=[1, 4])
    net.connect("a", "b", "explicit", src=[0, 2], dst=[3, 1], weight=[10, -20], delay=[0, 5])
    net.connect("i2", "a", "explicit", src=[2, 1], dst=[0, 2], weight=[4, 6], delay=[1, 2])
    net.connect("b", "a", "explicit", src=[3], dst=[0], weight=-256, delay=62)
    net.connect("i1", "b", "explicit", src=[0], dst=[3], weight=254)
    return net


# ---------------------------------------------------------------- populations
def test_add_population_scalar_params_broadcast():
    net = Network()
    p = net.add_population("p", 5, du=4095, dv=0, vth=2**17 - 1, bias_mant=-4096, bias_exp=7)
    assert p.size == 5 and len(p) == 5 and p.start == 0 and p.stop == 5
    expect = {"du": 4095, "dv": 0, "vth": 2**17 - 1, "bias_mant": -4096, "bias_exp": 7}
    for k, v in expect.items():
        arr = getattr(p, k)
        assert arr.shape == (5,) and arr.dtype == np.int64 and np.all(arr == v), k


def test_add_population_defaults():
    p = Network().add_population("p", 2)
    assert p.du.tolist() == [0, 0] and p.dv.tolist() == [0, 0] and p.vth.tolist() == [1, 1]
    assert p.bias_mant.tolist() == [0, 0] and p.bias_exp.tolist() == [0, 0]


def test_add_population_per_compartment_params():
    net = Network()
    p = net.add_population("p", 3, du=[0, 1, 4095], dv=np.array([5, 6, 7]), vth=[0, 100, 131071],
                           bias_mant=[-4096, 0, 4095], bias_exp=[0, 3, 7])
    assert p.du.tolist() == [0, 1, 4095]
    assert p.dv.tolist() == [5, 6, 7]
    assert p.vth.tolist() == [0, 100, 131071]
    assert p.bias_mant.tolist() == [-4096, 0, 4095]
    assert p.bias_exp.tolist() == [0, 3, 7]


def test_add_population_integral_floats_accepted_fractional_rejected():
    net = Network()
    assert net.add_population("p", 2, vth=[3.0, 4.0]).vth.tolist() == [3, 4]
    with pytest.raises(NetworkError, match="'vth' must be integer"):
        net.add_population("q", 2, vth=[3.5, 4.0])
    with pytest.raises(NetworkError, match="'du' must be integer"):
        net.add_population("r", 2, du=True)


OUT_OF_RANGE = [(p, v) for p in PARAMS for v in (neuron.PARAM_RANGES[p][0] - 1, neuron.PARAM_RANGES[p][1] + 1)]


@pytest.mark.parametrize("param,bad", OUT_OF_RANGE)
@pytest.mark.parametrize("as_array", [False, True], ids=["scalar", "array"])
def test_param_out_of_range_message(param, bad, as_array):
    net = Network()
    lo, hi = neuron.PARAM_RANGES[param]
    value = [lo, hi, bad, lo] if as_array else bad
    with pytest.raises(NetworkError) as exc:
        net.add_population("exc_pop", 4, **{param: value})
    msg = str(exc.value)
    assert "exc_pop" in msg and f"'{param}'" in msg and str(bad) in msg and f"{lo}..{hi}" in msg
    if as_array:
        assert "index 2" in msg
    assert "\n" not in msg
    assert net.populations == []  # nothing half-added


@pytest.mark.parametrize("param", PARAMS)
def test_param_range_ends_accepted(param):
    lo, hi = neuron.PARAM_RANGES[param]
    p = Network().add_population("p", 2, **{param: [lo, hi]})
    assert getattr(p, param).tolist() == [lo, hi]


@pytest.mark.parametrize("value", [[1, 2], [1, 2, 3, 4], [[1, 2, 3]]])
def test_param_wrong_shape(value):
    with pytest.raises(NetworkError) as exc:
        Network().add_population("pp", 3, dv=value)
    assert "pp" in str(exc.value) and "'dv'" in str(exc.value) and "shape" in str(exc.value)


@pytest.mark.parametrize("size", [0, -3, 2.5, True])
def test_population_bad_size(size):
    with pytest.raises(NetworkError, match="size"):
        Network().add_population("p", size)


@pytest.mark.parametrize("name", ["", "a\nb", 5])
def test_population_bad_name(name):
    with pytest.raises(NetworkError):
        Network().add_population(name, 1)


def test_duplicate_names_rejected():
    net = Network("n")
    net.add_population("x", 2)
    net.add_input("s", 2)
    with pytest.raises(NetworkError, match="'x' is already used"):
        net.add_population("x", 3)
    with pytest.raises(NetworkError, match="'x' is already used"):
        net.add_input("x", 3)
    with pytest.raises(NetworkError, match="'s' is already used"):
        net.add_population("s", 3)
    assert [p.name for p in net.populations] == ["x"] and [g.name for g in net.inputs] == ["s"]


@pytest.mark.parametrize("steps", [-1, 2.5, True])
def test_network_bad_steps(steps):
    with pytest.raises(NetworkError, match="steps"):
        Network("n", steps=steps)


def test_errors_are_value_errors():
    assert issubclass(NetworkError, ChipemuError) and issubclass(NetworkError, ValueError)


# ---------------------------------------------------------------- layout
def test_global_starts_and_population_of():
    net = small_net()
    assert [(p.name, p.start, p.stop) for p in net.populations] == [("a", 0, 3), ("b", 3, 7)]
    assert [(g.name, g.start, g.stop) for g in net.inputs] == [("i1", 0, 2), ("i2", 2, 5)]
    assert net.n_compartments == 7 and net.n_inputs == 5 and net.n_synapses == 6
    assert net.population_of(np.array([0, 2, 3, 6])).tolist() == [0, 0, 1, 1]
    assert net.population("b").start == 3 and net.input_group("i2").start == 2
    with pytest.raises(NetworkError, match="'zz'"):
        net.population("zz")
    with pytest.raises(NetworkError, match="'a'"):
        net.input_group("a")


# ---------------------------------------------------------------- connect
def connect_net():
    net = Network("c")
    net.add_population("a", 3)
    net.add_population("b", 4)
    net.add_input("inp", 2)
    return net


@pytest.mark.parametrize("weight,bad", [(3, 3), (255, 255), (-258, -258), (256, 256), ([2, 4, 7], 7)])
def test_connect_bad_weight(weight, bad):
    net = connect_net()
    with pytest.raises(NetworkError) as exc:
        net.connect("a", "b", "explicit", src=[0, 1, 2], dst=[0, 1, 2], weight=weight, name="pj")
    msg = str(exc.value)
    assert "'pj'" in msg and "weight" in msg and str(bad) in msg
    assert net.projections == []


@pytest.mark.parametrize("delay", [63, -1, [0, 70, 1]])
def test_connect_bad_delay(delay):
    net = connect_net()
    with pytest.raises(NetworkError) as exc:
        net.connect("a", "b", "explicit", src=[0, 1, 2], dst=[0, 1, 2],
                    weight=2, delay=delay)
    msg = str(exc.value)
    assert "'delay'" in msg and "0..62" in msg and "a->b" in msg


def test_connect_range_ends_accepted():
    net = connect_net()
    pr = net.connect("a", "b", "explicit", src=[0, 1], dst=[0, 1], weight=[-256, 254], delay=[0, 62])
    assert pr.weight.tolist() == [-256, 254] and pr.delay.tolist() == [0, 62]


def test_connect_weight_array_wrong_length():
    net = connect_net()
    with pytest.raises(NetworkError, match=r"'weight' has shape \(2,\), expected a scalar or \(12,\)"):
        net.connect("a", "b", weight=[2, 4])


def test_connect_callable_weight_and_delay():
    net = connect_net()
    seen = []

    def w(m):
        seen.append(m)
        return np.arange(m) * 2

    pr = net.connect("a", "b", "all_to_all", weight=w, delay=lambda m: np.full(m, 3))
    assert seen == [12]
    assert pr.weight.tolist() == list(range(0, 24, 2)) and np.all(pr.delay == 3)
    with pytest.raises(NetworkError, match="weight"):
        net.connect("a", "b", "all_to_all", weight=lambda m: np.full(m, 1))


def test_connect_input_group_as_post_rejected():
    net = connect_net()
    with pytest.raises(NetworkError, match="input group 'inp' cannot be a projection's target"):
        net.connect("a", "inp", weight=2)
    with pytest.raises(NetworkError, match="'inp'"):
        net.connect(net.population("a"), net.input_group("inp"), weight=2)


@pytest.mark.parametrize("pre,post", [("nope", "b"), ("a", "nope")])
def test_connect_unknown_population(pre, post):
    net = connect_net()
    with pytest.raises(NetworkError, match="'nope'"):
        net.connect(pre, post, weight=2)


def test_connect_connector_errors_name_projection():
    net = connect_net()
    with pytest.raises(NetworkError, match=r"projection 'a->b'.*one_to_one"):
        net.connect("a", "b", "one_to_one", weight=2)
    with pytest.raises(NetworkError, match=r"projection 'x'.*dst index 4"):
        net.connect("a", "b", "explicit", src=[0], dst=[4], weight=2, name="x")
    with pytest.raises(NetworkError, match="unknown connector"):
        net.connect("a", "b", "sparse", weight=2)


def test_connect_objects_names_and_default_names():
    net = connect_net()
    a, b, inp = net.population("a"), net.population("b"), net.input_group("inp")
    p1 = net.connect(a, b, weight=2)
    p2 = net.connect("a", "b", weight=2)
    p3 = net.connect(inp, a, "all_to_all", weight=2)
    assert (p1.name, p2.name, p3.name) == ("a->b", "a->b#2", "inp->a")
    assert not p1.pre_is_input and p3.pre_is_input
    assert (p3.pre, p3.post) == ("inp", "a")


def test_connect_self_population_allow_self_false():
    net = connect_net()
    pr = net.connect("b", "b", "all_to_all", allow_self=False, weight=2)
    assert len(pr) == 12 and not np.any(pr.src == pr.dst)


# ---------------------------------------------------------------- flat
def test_flat_global_offsets_and_sorted_events():
    f = small_net().flat()
    assert f.n == 7 and f.m == 3 and f.in_n == 5 and f.steps == 20
    assert f.du.tolist() == [10, 10, 10, 1, 2, 3, 4]
    assert f.dv.tolist() == [20, 20, 20, 0, 0, 0, 0]
    assert f.vth.tolist() == [30, 30, 30, 5, 6, 7, 8]
    assert f.bias_mant.tolist() == [-5] * 3 + [0] * 4 and f.bias_exp.tolist() == [2] * 3 + [0] * 4
    # a->b: (0->3+3, 2->1+3) then b->a: (3+3 -> 0)
    assert f.src.tolist() == [0, 2, 6] and f.dst.tolist() == [6, 4, 0]
    assert f.weight.tolist() == [10, -20, -256] and f.delay.tolist() == [0, 5, 62]
    # i2->a (i2 starts at input 2), then i1->b
    assert f.in_src.tolist() == [4, 3, 0] and f.in_dst.tolist() == [0, 2, 6]
    assert f.in_weight.tolist() == [4, 6, 254] and f.in_delay.tolist() == [1, 2, 0]
    # events of both groups, global source index, sorted by (t, idx)
    assert list(zip(f.in_spike_t.tolist(), f.in_spike_idx.tolist())) == [(1, 4), (4, 0), (4, 1), (4, 2)]
    for arr in (f.du, f.src, f.in_src, f.in_spike_idx, f.in_spike_t, f.weight):
        assert arr.dtype == np.int64
    assert f.max_delay == 62


def test_flat_empty_network():
    f = Network("e").flat()
    assert f.n == 0 and f.m == 0 and f.in_n == 0 and f.in_spike_t.size == 0 and f.max_delay == 0


def test_flat_cache_invalidated_on_change():
    net = small_net()
    f1 = net.flat()
    assert net.flat() is f1
    net.add_population("c", 2)
    assert net.flat().n == 9
    net.connect("c", "c", "one_to_one", weight=2)
    assert net.flat().m == 5 and net.flat().src[-2:].tolist() == [7, 8]
    net.add_input("i3", 1, [0], [0])
    assert net.flat().in_n == 6 and net.flat().in_spike_idx[0] == 5


# ---------------------------------------------------------------- inputs
def test_add_input_sorts_events():
    g = Network().add_input("g", 3, spike_idx=[2, 0, 1, 0], spike_t=[5, 5, 1, 0])
    assert list(zip(g.spike_t.tolist(), g.spike_idx.tolist())) == [(0, 0), (1, 1), (5, 0), (5, 2)]


def test_duplicate_input_event_rejected():
    with pytest.raises(NetworkError, match=r"'g'.*source 1 fires twice at step 3"):
        Network().add_input("g", 3, spike_idx=[1, 0, 1], spike_t=[3, 3, 3])


@pytest.mark.parametrize("idx,t,what", [([3], [0], "spike_idx"), ([-1], [0], "spike_idx"), ([0], [-2], "spike_t"),
                                       ([0, 1], [0], "equal length"), ([0.5], [1], "spike_idx")])
def test_bad_input_events(idx, t, what):
    with pytest.raises(NetworkError, match=what):
        Network().add_input("g", 3, spike_idx=idx, spike_t=t)


def test_bernoulli_input_deterministic_and_window():
    def build(seed):
        net = Network("n", steps=100)
        return net.add_bernoulli_input("s", 30, p=0.2, seed=seed, start=10, stop=60)
    a, b, c = build(4), build(4), build(5)
    assert np.array_equal(a.spike_idx, b.spike_idx) and np.array_equal(a.spike_t, b.spike_t)
    assert not (a.spike_idx.size == c.spike_idx.size and np.array_equal(a.spike_t, c.spike_t)
                and np.array_equal(a.spike_idx, c.spike_idx))
    assert a.spike_t.min() >= 10 and a.spike_t.max() < 60
    assert a.spike_idx.min() >= 0 and a.spike_idx.max() < 30


def test_bernoulli_input_rate_and_default_stop():
    net = Network("n", steps=400)
    g = net.add_bernoulli_input("s", 100, p=0.05, seed=1)
    n_trials = 400 * 100
    mean, sd = 0.05 * n_trials, math.sqrt(n_trials * 0.05 * 0.95)
    assert abs(g.spike_idx.size - mean) < 5 * sd
    assert g.spike_t.max() < 400 and g.spike_t.min() >= 0
    # each source fires at its own rate, roughly
    per = np.bincount(g.spike_idx, minlength=100) / 400
    assert per.min() > 0.005 and per.max() < 0.12
    # unique events, sorted by (t, idx)
    key = g.spike_t * 100 + g.spike_idx
    assert np.all(np.diff(key) > 0)


@pytest.mark.parametrize("kwargs,match", [({"p": 1.2}, "p = 1.2"), ({"p": -0.1}, "p = -0.1"),
                                          ({"p": 0.1, "start": 5, "stop": 2}, "step window"),
                                          ({"p": 0.1, "start": -1}, "step window")])
def test_bernoulli_input_errors(kwargs, match):
    with pytest.raises(NetworkError, match=match):
        Network("n", steps=10).add_bernoulli_input("s", 4, **kwargs)


def test_bernoulli_extremes():
    idx, t = bernoulli_events("o", 3, 1.0, 2, 4, 0)
    assert t.tolist() == [2, 2, 2, 3, 3, 3] and idx.tolist() == [0, 1, 2, 0, 1, 2]
    idx, t = bernoulli_events("o", 3, 0.0, 0, 50, 0)
    assert idx.size == 0


def test_poisson_probability():
    assert poisson_probability("o", 50.0, 1e-3) == pytest.approx(1 - math.exp(-0.05), rel=1e-12)
    assert poisson_probability("o", 0.0, 1e-3) == 0.0
    assert poisson_probability("o", 1e6, 1e-3) == pytest.approx(1.0)
    for rate, dt in ((-1.0, 1e-3), (float("nan"), 1e-3), (float("inf"), 1e-3), (10.0, 0.0), (10.0, -1e-3)):
        with pytest.raises(NetworkError):
            poisson_probability("o", rate, dt)


def test_poisson_input_is_bernoulli_with_poisson_probability():
    n1, n2 = Network("a", steps=200), Network("b", steps=200)
    g1 = n1.add_poisson_input("s", 40, rate_hz=100.0, dt_s=1e-3, seed=3)
    g2 = n2.add_bernoulli_input("s", 40, p=1 - math.exp(-0.1), seed=3)
    assert np.array_equal(g1.spike_idx, g2.spike_idx) and np.array_equal(g1.spike_t, g2.spike_t)
    with pytest.raises(NetworkError, match="rate_hz"):
        n1.add_poisson_input("t", 4, rate_hz=-5.0)


def test_regular_events():
    idx, t = regular_events("o", 2, period=3, phase=1, start=0, stop=10)
    assert t.tolist() == [1, 1, 4, 4, 7, 7] and idx.tolist() == [0, 1] * 3
    with pytest.raises(NetworkError, match="period"):
        regular_events("o", 2, period=0)


def test_add_spike_times():
    net = Network()
    g = net.add_spike_times("st", [[5, 1], [], [1]])
    assert g.size == 3
    assert list(zip(g.spike_t.tolist(), g.spike_idx.tolist())) == [(1, 0), (1, 2), (5, 0)]


def test_add_spike_times_accepts_one_shot_iterables():
    g = Network().add_spike_times("st", [iter([3, 0]), (t for t in [2]), range(0, 6, 5)])
    assert sorted(zip(g.spike_idx.tolist(), g.spike_t.tolist())) == [(0, 0), (0, 3), (1, 2), (2, 0), (2, 5)]


def test_add_spike_times_rejects_fractional_and_duplicate_times():
    with pytest.raises(NetworkError, match="spike_t"):
        Network().add_spike_times("st", [[1.5]])
    with pytest.raises(NetworkError, match="fires twice"):
        Network().add_spike_times("st", [[2, 2]])


# ---------------------------------------------------------------- graphs
def test_population_graph():
    net = small_net()
    net.connect("a", "b", "all_to_all", weight=2, delay=7, name="a2b_dense")
    g = net.graph()
    assert isinstance(g, nx.MultiDiGraph)
    assert dict(g.nodes(data="kind")) == {"a": "population", "b": "population", "i1": "input", "i2": "input"}
    assert dict(g.nodes(data="size")) == {"a": 3, "b": 4, "i1": 2, "i2": 3}
    assert g.number_of_edges() == 5
    e = g.get_edge_data("a", "b")
    assert set(e) == {"a->b", "a2b_dense"}
    assert (e["a->b"]["synapses"], e["a->b"]["excitatory"], e["a->b"]["inhibitory"], e["a->b"]["max_delay"]) == (2, 1, 1, 5)
    assert e["a2b_dense"]["synapses"] == 12 and e["a2b_dense"]["excitatory"] == 12 and e["a2b_dense"]["max_delay"] == 7
    assert g.edges["b", "a", "b->a"]["inhibitory"] == 1 and g.edges["b", "a", "b->a"]["max_delay"] == 62
    assert g.edges["i2", "a", "i2->a"]["synapses"] == 2
    assert g.edges["i1", "b", "i1->b"]["excitatory"] == 1


def test_population_graph_empty_projection():
    net = connect_net()
    net.connect("a", "b", "fixed_probability", p=0.0, weight=2)
    e = net.graph().edges["a", "b", "a->b"]
    assert e["synapses"] == 0 and e["max_delay"] == 0


def test_neuron_graph_counts_duplicates_and_sums_weights():
    net = Network("ng")
    net.add_population("p", 3)
    net.add_input("s", 2)
    net.connect("p", "p", "explicit", src=[0, 0, 1], dst=[1, 1, 2], weight=[10, -4, 8])
    net.connect("s", "p", "explicit", src=[1, 1, 0], dst=[2, 2, 0], weight=[2, 2, 6])
    g = net.neuron_graph()
    assert isinstance(g, nx.DiGraph) and not g.is_multigraph()
    assert g.number_of_nodes() == 5
    assert g.nodes["n", 2]["kind"] == "compartment" and g.nodes["in", 1]["kind"] == "input"
    assert g.edges[("n", 0), ("n", 1)] == {"synapses": 2, "weight": 6}
    assert g.edges[("n", 1), ("n", 2)] == {"synapses": 1, "weight": 8}
    assert g.edges[("in", 1), ("n", 2)] == {"synapses": 2, "weight": 4}
    assert g.edges[("in", 0), ("n", 0)] == {"synapses": 1, "weight": 6}
    assert g.number_of_edges() == 4


def test_neuron_graph_max_nodes():
    net = Network("big")
    net.add_population("p", 8)
    net.add_input("s", 3)
    assert net.neuron_graph(max_nodes=11).number_of_nodes() == 11
    with pytest.raises(NetworkError, match=r"'big' has 11 nodes.*max_nodes=10"):
        net.neuron_graph(max_nodes=10)


# ---------------------------------------------------------------- hash & summary
def test_sha256_stable_and_sensitive():
    h = small_net().sha256()
    assert h == small_net().sha256() and len(h) == 64
    net = small_net()
    net.connect("a", "a", "explicit", src=[0], dst=[1], weight=2)
    h_extra = net.sha256()
    net2 = small_net()
    net2.connect("a", "a", "explicit", src=[0], dst=[1], weight=4)
    assert len({h, h_extra, net2.sha256()}) == 3
    net3 = small_net()
    net3.connect("a", "a", "explicit", src=[0], dst=[1], weight=2, delay=1)
    assert net3.sha256() not in {h, h_extra}
    assert Network("other", steps=20).sha256() != Network("other", steps=21).sha256()


def test_summary_and_repr():
    net = small_net()
    s = net.summary()
    assert "7 compartments" in s and "5 inputs" in s and "6 synapses" in s
    assert "population b: 4 compartments [3, 7)" in s
    assert "Network('small'" in repr(net)
