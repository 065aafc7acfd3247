"""The mapper's compiled loops (mapper/kernel.py, ``_chipemu_mapper_kernel``) against its
numpy code: every mapping must be identical, array for array, whichever runs.

The kernel is built by ``pip install '.[test]'`` (setup.py); these tests fail when it is
missing, so that a silently skipped build cannot pass.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chipemu import Network
from chipemu.chips import load_chip
from mapper import build_graph, kernel, map_network
from mapper.cluster import label_propagation, pin_edges
from mapper.graph import source_rates
from mapper.resources import ResourceModel

from test_mapper import grid, modular_net, small_case, small_system


def test_kernel_is_built():
    assert kernel.AVAILABLE, ("the compiled mapper kernel (_chipemu_mapper_kernel) is not built: "
                              "pip install . (or python setup.py build_ext --inplace)")
    assert kernel.in_use()
    with kernel.numpy_only():
        assert not kernel.in_use()
    assert kernel.in_use()


def both(net, chip, **kw):
    """The mapping with the kernel and with the numpy code (traffic mapper)."""
    assert kernel.in_use()
    fast = map_network(net, chip, mapper="traffic", **kw)
    with kernel.numpy_only():
        slow = map_network(net, chip, mapper="traffic", **kw)
    return fast, slow


def assert_same_mapping(a, b):
    assert np.array_equal(a.neuron_core, b.neuron_core)
    assert np.array_equal(a.input_core, b.input_core)
    assert np.array_equal(a.core_xy, b.core_xy)
    assert a.usage.keys() == b.usage.keys()
    for k in a.usage:
        assert np.array_equal(a.usage[k], b.usage[k]), k


def assert_same_graph(net):
    """build_graph with the kernel's counting sorts and with numpy's key sorts: same arrays."""
    fast = build_graph(net)
    with kernel.numpy_only():
        slow = build_graph(net)
    for k in ("in_ptr", "in_src", "out_ptr", "out_dst", "insyn", "insyn_enc", "in_delay_max", "kernel_share"):
        a, b = getattr(fast, k), getattr(slow, k)
        assert a.dtype == b.dtype and np.array_equal(a, b), k


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 40), st.integers(0, 6), st.integers(0, 300), st.integers(0, 2**31))
def test_pin_graph_identical(n, n_in, m, seed):
    """Random synapses with many duplicates (pins shared), inputs, compartments without any."""
    rng = np.random.default_rng(seed)
    net = Network("pins", steps=5)
    pop = net.add_population("p", n, vth=100)
    if m:
        net.connect(pop, pop, "explicit", src=rng.integers(0, n, m), dst=rng.integers(0, n, m), weight=2,
                    delay=rng.integers(0, 3, m))
    if n_in:
        inp = net.add_bernoulli_input("i", n_in, p=0.1, seed=1)
        k = int(rng.integers(1, 4 * n_in + 1))
        net.connect(inp, pop, "explicit", src=rng.integers(0, n_in, k), dst=rng.integers(0, n, k), weight=2)
    assert_same_graph(net)


def random_pins_net(name: str, n: int, n_in: int, n_pins: int, rng) -> Network:
    """One population of n with n_pins random recurrent synapses and, if n_in, an input
    group of n_in sources with up to 4 n_in random synapses (drawn from rng in that order)."""
    net = Network(name, steps=5)
    pop = net.add_population("p", n, vth=100)
    net.connect(pop, pop, "explicit", src=rng.integers(0, n, n_pins), dst=rng.integers(0, n, n_pins), weight=2)
    if n_in:
        inp = net.add_bernoulli_input("i", n_in, p=0.1, seed=1)
        k = int(rng.integers(1, 4 * n_in + 1))
        net.connect(inp, pop, "explicit", src=rng.integers(0, n_in, k), dst=rng.integers(0, n, k), weight=2)
    return net


def conv_net(side: int = 24, seed: int = 0) -> Network:
    """Input (2 x side x side) -> conv 5x5 stride 2, 8 channels -> conv 3x3 stride 2, 8 channels."""
    rng = np.random.default_rng(seed)
    net = Network("conv", steps=20)

    def conv(in_c, h, c_out, k, stride):
        o = (h - k) // stride + 1
        oc, oy, ox, ic, ky, kx = np.meshgrid(*(np.arange(x) for x in (c_out, o, o, in_c, k, k)), indexing="ij")
        dst = ((oc * o + oy) * o + ox).ravel()
        src = ((ic * h + oy * stride + ky) * h + ox * stride + kx).ravel()
        return src, dst, 2 * rng.integers(-20, 40, src.size), o

    inp = net.add_bernoulli_input("in", 2 * side * side, p=0.1, seed=seed)
    s1, d1, w1, o1 = conv(2, side, 8, 5, 2)
    c1 = net.add_population("c1", 8 * o1 * o1, vth=400)
    net.connect(inp, c1, "explicit", src=s1, dst=d1, weight=w1)
    s2, d2, w2, o2 = conv(8, o1, 8, 3, 2)
    c2 = net.add_population("c2", 8 * o2 * o2, vth=800)
    net.connect(c1, c2, "explicit", src=s2, dst=d2, weight=w2)
    return net


CASES = {
    "modular": lambda: (modular_net(n_clusters=24, size=40, fanout=12), load_chip("loihi1"),
                        {"max_per_core": 64}),
    "modular_float_rates": lambda: (modular_net(n_clusters=16, size=30, fanout=10, seed=2), load_chip("loihi1"),
                                    {"max_per_core": 48, "rates": np.random.default_rng(7).random(480) * 0.2}),
    "modular_whole_rates": lambda: (modular_net(n_clusters=16, size=30, fanout=10, seed=3), load_chip("loihi1"),
                                    {"max_per_core": 48,
                                     "rates": np.random.default_rng(8).integers(0, 4, 480).astype(float)}),
    "modular_pinned": lambda: (modular_net(n_clusters=12, size=24, fanout=8, seed=4), grid(4, 3),
                               {"max_per_core": 16, "pin": {"all": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
                                                                    14, 15, 16, 17, 18, 19, 20, 21, 22, 23]}}),
    "random": lambda: (modular_net(n_clusters=10, size=50, fanout=20, p_in=0.0, seed=5), load_chip("loihi1"),
                       {"max_per_core": 40}),
    "conv": lambda: (conv_net(), load_chip("loihi2"), {"max_per_core": 64}),
    "conv_system": lambda: (conv_net(16, seed=1), small_system(grid(2, 2), (3, 3, 1)), {"max_per_core": 16}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_mappings_identical_with_and_without_kernel(name):
    net, chip, kw = CASES[name]()
    assert_same_graph(net)
    fast, slow = both(net, chip, seed=3, **kw)
    assert_same_mapping(fast, slow)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_case())
def test_small_random_networks_identical(case):
    net, chip, _mapper, seed, mpc, routing, pin = case
    assert_same_graph(net)
    try:
        fast = map_network(net, chip, mapper="traffic", seed=seed, max_per_core=mpc, routing=routing, pin=pin)
    except Exception as exc:  # noqa: BLE001  (the numpy code must fail the same way)
        with kernel.numpy_only(), pytest.raises(type(exc)) as info:
            map_network(net, chip, mapper="traffic", seed=seed, max_per_core=mpc, routing=routing, pin=pin)
        assert str(info.value) == str(exc)
        return
    with kernel.numpy_only():
        slow = map_network(net, chip, mapper="traffic", seed=seed, max_per_core=mpc, routing=routing, pin=pin)
    assert_same_mapping(fast, slow)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 60), st.integers(0, 12), st.integers(1, 400), st.integers(1, 6), st.integers(0, 2**31),
       st.sampled_from(["none", "float", "whole", "zeros"]), st.integers(1, 4))
def test_label_propagation_identical(n, n_in, n_pins, cap, seed, rates, tries):
    """Label propagation alone on random graphs with tight cluster limits (so that
    clusters fill up and late-comers take their next choice), pinned compartments and
    sources without pins."""
    rng = np.random.default_rng(seed)
    net = random_pins_net("lp", n, n_in, n_pins, rng)
    g = build_graph(net)
    model = ResourceModel.for_chip(load_chip("loihi1"), max_per_core=4 * cap).for_graph(g)
    r = {"none": None, "float": rng.random(g.n_src), "whole": rng.integers(0, 3, g.n_src).astype(float),
         "zeros": np.where(rng.random(g.n_src) < 0.5, 0.0, 0.3)}[rates]
    free = rng.random(g.n) < 0.8
    e = pin_edges(g, source_rates(g, r), free)
    with kernel.numpy_only():
        e_numpy = pin_edges(g, source_rates(g, r), free)
    for name in ("t", "s", "wq", "q"):
        x, y = getattr(e, name), getattr(e_numpy, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
    assert e.wb == e_numpy.wb
    fast = label_propagation(g, model, e, free, np.random.default_rng(seed), tries=tries)
    with kernel.numpy_only():
        slow = label_propagation(g, model, e, free, np.random.default_rng(seed), tries=tries)
    assert np.array_equal(fast, slow)


def test_kernel_checks_its_arrays():
    """Wrong dtypes, strided arrays and out-of-range ids are refused, never read."""
    t = np.array([1, 2, 0], dtype=np.int64)
    s = np.array([0, 1, 2], dtype=np.int64)
    q = np.ones(3, dtype=np.int32)
    steps = kernel.LabelSteps(t, s, q, 3)
    assert steps.ptr.tolist() == [0, 2, 4, 6]
    # strided and non-int ids are copied by the wrapper; the kernel itself refuses them
    k = kernel._kernel
    with pytest.raises((ValueError, BufferError)):
        k.lp_adjacency(np.arange(6, dtype=np.int64)[::2], s, steps.ptr, steps.mid, steps.nbr)
    with pytest.raises(ValueError):
        k.lp_adjacency(t.astype(np.float64), s, steps.ptr, steps.mid, steps.nbr)
    with pytest.raises(ValueError, match="out of range"):
        k.lp_adjacency(np.array([1, 3, 0]), s, steps.ptr, steps.mid, steps.nbr)
    assert kernel.LabelSteps((np.arange(6) % 3)[::2], s.astype(np.int32), q, 3).nbr.size == 6  # strided: copied
    labels = np.arange(3, dtype=np.int64)
    ones = np.ones(3, dtype=np.int64)
    size, syn = ones.copy(), ones.copy()
    active = np.array([True, False, False])
    with pytest.raises(ValueError):
        steps.step(active, labels.astype(np.int32), np.arange(3), ones, ones, size, syn, 4, 4, 3)
    with pytest.raises(ValueError):
        steps.step(active, np.arange(6, dtype=np.int64)[::2], np.arange(3), ones, ones, size, syn, 4, 4, 3)
    bad = labels.copy()
    bad[1] = 7
    with pytest.raises(ValueError, match="out of range"):
        steps.step(active, bad, np.arange(3), ones, ones, size, syn, 4, 4, 3)
    # vertex 0 (active) joins its inactive neighbours' label 1 or 2 (equal weight: lower prio)
    assert steps.step(active, labels, np.array([0, 2, 1]), ones, ones, size, syn, 4, 4, 3) == 1
    assert labels.tolist() == [2, 1, 2] and size.tolist() == [0, 1, 2]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 50), st.integers(0, 8), st.integers(1, 300), st.integers(2, 7), st.integers(0, 2**31),
       st.sampled_from(["none", "float", "whole"]))
def test_refinement_steps_identical(n, n_in, n_pins, K, seed, rates):
    """Refinement's pin loops (partners per core, gains, table updates) against the numpy
    code on random graphs (self pins, inputs, random cores and moves)."""
    from mapper.refine import _Connections, _gains, _Tables

    rng = np.random.default_rng(seed)
    net = random_pins_net("rf", n, n_in, n_pins, rng)
    g = build_graph(net)
    r = {"none": np.ones(g.n_src), "float": rng.random(g.n_src),
         "whole": rng.integers(0, 4, g.n_src).astype(float)}[rates]
    nc = rng.integers(0, K, g.n)
    ps, pt = g.pin_arrays()
    ps = ps.astype(np.int64)
    has_self = np.zeros(g.n, dtype=np.int64)
    has_self[ps[ps == pt]] = 1
    mv = rng.permutation(g.n)[:int(rng.integers(1, g.n + 1))]
    to = (nc[mv] + rng.integers(1, K, mv.size)) % K
    uniform = rates == "none"
    tables, conns, gains = [], [], []
    for compiled in (True, False):
        kernel.enabled = compiled
        try:
            tab = _Tables(g, ps, pt, has_self, r, nc, K)
            conn = _Connections(g, r, nc, K, uniform=uniform, exact=rates != "float")
            if rates != "float":
                conn.move(mv, nc[mv], to)
                conns.append(conn.table.copy())
            if compiled:
                gains.append(kernel.refine_gains(g.in_ptr, g.in_src, mv, nc[mv], to, tab.phi, tab.psi, r))
            else:
                gains.append(_gains(g, tab, r, mv, nc[mv], to, bool(has_self.any()), rates == "none", rates != "float"))
            tab.apply(mv, nc[mv], to)
            tables.append((tab.psi.copy(), tab.phi.copy(), tab.lam.copy(), tab.fanin.copy(), tab.obj))
        finally:
            kernel.enabled = True
    assert np.array_equal(gains[0][0], gains[1][0]) and np.array_equal(gains[0][1], gains[1][1])
    for a, b in zip(*tables):
        assert np.array_equal(a, b)
    if conns:
        assert np.array_equal(conns[0], conns[1])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 80), st.integers(0, 8), st.integers(1, 400), st.integers(0, 2**31),
       st.sampled_from([2, 8, 32]), st.sampled_from([4, 16, 64]), st.sampled_from([512, 2048, 16384]))
def test_core_filling_identical(n, n_in, n_pins, seed, comp, fanin, memory):
    """CoreFiller (fit, add_fitted, fits_each) and clusters_found with and without the
    kernel, step by step on the same random core fills."""
    from mapper.cluster import clusters_found
    from mapper.fill import CoreFiller

    rng = np.random.default_rng(seed)
    net = random_pins_net("fill", n, n_in, n_pins, rng)
    g = build_graph(net)
    chip = load_chip("tiny").with_overrides({"core.compartments": comp, "core.fanin_axons": fanin,
                                             "core.synapse_memory_bits": memory})
    model = ResourceModel.for_chip(chip).for_graph(g)
    fast, slow = CoreFiller(g, model), CoreFiller(g, model)
    for _ in range(12):
        if rng.random() < 0.3:
            fast.reset()
            slow.reset()
        cand = rng.permutation(g.n)[:int(rng.integers(0, 2 * comp + 2))]
        groups = [rng.choice(g.n, int(rng.integers(1, min(g.n, 12) + 1)), replace=False)
                  for _ in range(int(rng.integers(0, 5)))]
        res = [fast.fit(cand)]
        with kernel.numpy_only():
            res.append(slow.fit(cand))
        assert res[0] == res[1]
        keep = rng.random() < 0.7
        got = [fast.add_fitted() if keep else fast.discard(), None]
        with kernel.numpy_only():
            got[1] = slow.add_fitted() if keep else slow.discard()
            each = slow.fits_each(groups)
        assert (got[0] is None and got[1] is None) or np.array_equal(got[0], got[1])
        assert np.array_equal(fast.fits_each(groups), each)
        assert (fast.count, fast.syn, fast.fanin) == (slow.count, slow.syn, slow.fanin)
        assert np.array_equal(fast.present, slow.present)
    free = np.ones(g.n, dtype=bool)
    e = pin_edges(g, source_rates(g, rng.random(g.n_src)), free)
    for labels in (rng.integers(0, 3, g.n_src), np.arange(g.n_src), np.zeros(g.n_src, dtype=np.int64)):
        with kernel.numpy_only():
            want = clusters_found(e, labels)
        assert clusters_found(e, labels) == want
        inside = int(e.wq[labels[e.t] == labels[e.s]].sum())
        assert kernel.same_label_weight(e.t, e.s, e.wq, labels) == (inside, int(e.wq.sum()))


def test_pin_kernel_checks_its_arrays():
    k = kernel._kernel
    ptr, srcs, ok, free = np.array([0, 2, 3]), np.array([0, 1, 0]), np.array([True, True]), np.array([True, True])
    s_out, t_out = np.empty(2, np.int32), np.empty(2, np.int32)
    assert k.pin_keep(ptr, srcs, ok, free, None, None) == 2  # the self pin 0 -> 0 is dropped
    assert k.pin_keep(ptr, srcs, ok, free, s_out, t_out) == 2 and s_out.tolist() == [1, 0] and t_out.tolist() == [0, 1]
    with pytest.raises(ValueError, match="out of range"):
        k.pin_keep(ptr, np.array([0, 2, 0]), ok, free, None, None)
    with pytest.raises(ValueError, match="same dtype"):
        k.pin_keep(ptr, srcs, ok, free, s_out, t_out.astype(np.int64))
    with pytest.raises(ValueError):
        k.pin_keep(ptr, srcs, ok, free, s_out[:1], t_out[:1])
    src, dst = np.array([0, 2, 2, 1]), np.array([1, 0, 0, 1])
    in_ptr, out_ptr = np.empty(3, np.int64), np.empty(4, np.int64)
    in_src, out_dst = np.empty(4, np.int32), np.empty(4, np.int32)
    assert k.pins_build(src, dst, in_ptr, in_src, out_ptr, out_dst) == 3  # (2, 0) twice: one pin
    assert in_ptr.tolist() == [0, 1, 3] and in_src[:3].tolist() == [2, 0, 1]
    assert out_ptr.tolist() == [0, 1, 2, 3] and out_dst[:3].tolist() == [1, 1, 0]
    with pytest.raises(ValueError, match="out of range"):
        k.pins_build(np.array([0, 3, 2, 1]), dst, in_ptr, in_src, out_ptr, out_dst)
    with pytest.raises(ValueError):
        k.pins_build(src, dst, in_ptr, in_src[:3], out_ptr, out_dst)
    with pytest.raises((ValueError, BufferError)):
        k.pins_build((np.arange(8) % 3)[::2], dst, in_ptr, in_src, out_ptr, out_dst)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 60), st.integers(0, 8), st.integers(0, 500), st.integers(1, 200), st.integers(0, 2**31),
       st.sampled_from(["float", "whole", "zeros"]))
def test_core_traffic_identical(n, n_in, n_pins, K, seed, rates):
    """The core-to-core traffic pairs and sums (random cores, inputs without a core, many
    or few target cores per core): the same arrays, the same floats."""
    from mapper.place import core_traffic

    rng = np.random.default_rng(seed)
    net = random_pins_net("ct", n, n_in, n_pins, rng)
    g = build_graph(net)
    nc = rng.integers(0, K, g.n)
    ic = np.where(rng.random(g.n_src - g.n) < 0.2, -1, rng.integers(0, K, g.n_src - g.n))
    r = {"float": rng.random(g.n_src), "whole": rng.integers(0, 3, g.n_src).astype(float),
         "zeros": np.where(rng.random(g.n_src) < 0.5, 0.0, 0.3)}[rates]
    fast = core_traffic(g, nc, ic, K, r)
    with kernel.numpy_only():
        slow = core_traffic(g, nc, ic, K, r)
    for x, y in zip(fast, slow):
        assert x.dtype == y.dtype and np.array_equal(x, y)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 128), st.floats(0.0, 1.0), st.integers(0, 6), st.integers(0, 2**31))
def test_annealer_identical(k, density, n_fixed, seed):
    """The placement annealer's moves (random traffic, pinned cores): the same placement."""
    from mapper.place import place_anneal

    rng = np.random.default_rng(seed)
    chip = load_chip("loihi1")
    T = np.where(rng.random((k, k)) < density, rng.random((k, k)), 0.0)
    pinned = rng.choice(k, min(n_fixed, k), replace=False)
    fixed = {int(c): int(p) for c, p in zip(pinned, rng.choice(chip.n_cores, pinned.size, replace=False))}
    fast = place_anneal(T, chip, seed=seed % 1000, fixed=fixed, moves=3000)
    with kernel.numpy_only():
        slow = place_anneal(T, chip, seed=seed % 1000, fixed=fixed, moves=3000)
    assert np.array_equal(fast, slow)


def test_placement_kernel_checks_its_arrays():
    k = kernel._kernel
    g = build_graph(modular_net(n_clusters=2, size=8, seed=0))
    nc = np.zeros(g.n, dtype=np.int64)
    score = np.zeros(g.n_src, dtype=np.int64)
    r = np.ones(g.n_src)
    counts, b, w = k.core_traffic(g.out_ptr, g.out_dst, nc, score, r, 2)
    assert np.frombuffer(counts, np.int64).sum() == 0 and len(b) == len(w) == 0  # all on core 0
    with pytest.raises(ValueError, match="core"):
        k.core_traffic(g.out_ptr, g.out_dst, nc + 2, score, r, 2)
    with pytest.raises(ValueError):
        k.core_traffic(g.out_ptr, g.out_dst, nc, score, r.astype(np.float32), 2)
    with pytest.raises(ValueError):
        k.core_traffic(g.out_ptr, g.out_dst, nc, score[:-1], r, 2)
    # annealing: 2 cores on 2 routers of 2 slots; the tables must agree
    C, W, D = np.zeros(4), np.zeros(4), np.array([0.0, 1.0, 1.0, 0.0])
    slots, occ, rc = np.array([0, 1]), np.array([0, 1, -1, -1]), np.array([0, 0])
    best = np.empty(2, np.int64)
    args = (np.array([0]), np.array([2]), np.array([0.5]))
    k.anneal_moves(C, W, D, *args, slots.copy(), occ.copy(), rc.copy(), best, 2, 1.0, 0.5, 0.0)
    with pytest.raises(ValueError, match="agree"):
        k.anneal_moves(C, W, D, *args, slots.copy(), np.array([1, 0, -1, -1]), rc.copy(), best, 2, 1.0, 0.5, 0.0)
    with pytest.raises(ValueError, match="out of range"):
        k.anneal_moves(C, W, D, np.array([2]), *args[1:], slots.copy(), occ.copy(), rc.copy(), best, 2, 1.0, 0.5, 0.0)
    with pytest.raises(ValueError):
        k.anneal_moves(C[:3], W, D, *args, slots.copy(), occ.copy(), rc.copy(), best, 2, 1.0, 0.5, 0.0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([(2, 2, 1), (3, 1, 2), (4, 2, 1)]), st.floats(0.05, 1.0), st.integers(0, 5),
       st.booleans(), st.integers(0, 2**31))
def test_chip_partition_identical(chips, density, n_fixed, whole, seed):
    """The chip-level partition (growth, group placement, costs) and the traffic split by
    chip on random core-to-core traffic (pairs both ways, cores without traffic, pinned
    cores, whole-number ties): the same chips, sums and groups."""
    from chipemu.hardware import Hardware
    from mapper.place import chips_by_traffic, interchip_cost, place_system, place_rowmajor

    rng = np.random.default_rng(seed)
    spec = small_system(grid(2, 2), chips)
    hw = Hardware.of(spec)
    K = int(rng.integers(2, hw.n_cores + 1))
    T = np.where(rng.random((K, K)) < density, rng.integers(0, 4, (K, K)) if whole else rng.random((K, K)), 0.0)
    np.fill_diagonal(T, 0.0)
    a, b = np.nonzero(T)
    w = T[a, b].astype(float)
    pinned = rng.choice(K, min(n_fixed, K), replace=False)
    fixed = {int(c): int(p) for c, p in zip(pinned, rng.choice(hw.n_cores, pinned.size, replace=False))}
    fast = chips_by_traffic(K, hw, fixed, a, b, w)
    fast_cost = interchip_cost(a, b, w, fast, hw)
    fast_slots = place_system(a, b, w, K, spec, place_rowmajor, by_traffic=True, fixed=fixed)
    with kernel.numpy_only():
        slow = chips_by_traffic(K, hw, fixed, a, b, w)
        slow_cost = interchip_cost(a, b, w, slow, hw)
        slow_slots = place_system(a, b, w, K, spec, place_rowmajor, by_traffic=True, fixed=fixed)
    assert np.array_equal(fast, slow) and fast_cost == slow_cost and np.array_equal(fast_slots, slow_slots)
    mix = rng.permutation(a.size)  # pairs in any order (the growth's rows are built, not read off)
    got = chips_by_traffic(K, hw, fixed, a[mix], b[mix], w[mix])
    with kernel.numpy_only():
        assert np.array_equal(got, chips_by_traffic(K, hw, fixed, a[mix], b[mix], w[mix]))
    G = hw.n_chips
    Tc, inside, leaving, arriving, ptr, idx = kernel.traffic_by_chip(a, b, w, fast, G)
    want = np.zeros((G, G))
    np.add.at(want, (fast[a], fast[b]), w)
    same = fast[a] == fast[b]
    assert np.array_equal(Tc, want)
    assert np.array_equal(inside, np.bincount(fast[a[same]], weights=w[same], minlength=G))
    assert np.array_equal(leaving, np.bincount(fast[a[~same]], weights=w[~same], minlength=G))
    assert np.array_equal(arriving, np.bincount(fast[b[~same]], weights=w[~same], minlength=G))
    assert np.array_equal(idx, np.flatnonzero(same)[np.argsort(fast[a[same]], kind="stable")])
    assert np.array_equal(ptr, np.searchsorted(fast[a[idx]], np.arange(G + 1)))


def test_chip_kernels_check_their_arrays():
    k = kernel._kernel
    a, b, w = np.array([0, 1]), np.array([1, 2]), np.array([1.0, 2.0])
    chip = np.array([0, -1, -1])
    k.chip_growth(a, b, w, chip, np.array([1, 2]))
    assert chip.tolist() == [0, 0, 1]  # chip 0 has room for one more: 1 (gain 1); 2 goes to chip 1
    chip = np.array([0, -1, -1])
    k.chip_growth(a, b, w, chip, np.array([0, 2]))
    assert chip.tolist() == [0, 1, 1]  # chip 0 full: chip 1 starts from the strongest core, 1
    with pytest.raises(ValueError, match="out of range"):
        k.chip_growth(np.array([0, 3]), b, w, np.array([0, -1, -1]), np.array([1, 2]))
    with pytest.raises(ValueError, match="out of range"):
        k.chip_growth(a, b, w, np.array([0, 2, -1]), np.array([1, 2]))
    with pytest.raises(ValueError):
        k.chip_growth(a, b, w[:1], np.array([0, -1, -1]), np.array([1, 2]))
    out = np.empty(2)
    k.chip_pair_values(a, b, chip, np.array([0.0, 1.0, 1.0, 0.0]), out)
    assert out.tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match="square"):
        k.chip_pair_values(a, b, chip, np.zeros(3), out)
    with pytest.raises(ValueError, match="out of range"):
        k.chip_pair_values(a, b, chip + 1, np.zeros(4), out)
    T, g = np.empty(4), np.empty(2)
    with pytest.raises(ValueError, match="out of range"):
        k.traffic_by_chip(a, b, w, chip + 1, T, g, g.copy(), g.copy(), np.empty(3, np.int64))
    with pytest.raises(ValueError):
        k.traffic_by_chip(a, b, w, chip, T[:3], g, g.copy(), g.copy(), np.empty(3, np.int64))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 60), st.integers(0, 8), st.integers(0, 400), st.integers(1, 80), st.integers(0, 2**31))
def test_core_usage_identical(n, n_in, n_pins, K, seed):
    """Every core's usage (fan-in and fan-out axons: distinct partners per core) on random
    graphs and cores: the same arrays."""
    from mapper.resources import core_usage

    rng = np.random.default_rng(seed)
    net = random_pins_net("cu", n, n_in, n_pins, rng)
    g = build_graph(net)
    model = ResourceModel.for_chip(load_chip("loihi1")).for_graph(g)
    nc = rng.integers(0, K, g.n)
    ic = rng.integers(0, K, g.n_src - g.n)
    fast = core_usage(g, model, nc, ic, K)
    with kernel.numpy_only():
        slow = core_usage(g, model, nc, ic, K)
    assert fast.keys() == slow.keys()
    for key in fast:
        assert fast[key].dtype == slow[key].dtype and np.array_equal(fast[key], slow[key]), key
    counts = np.empty(2, np.int64)
    with pytest.raises(ValueError, match="out of range"):
        kernel._kernel.row_distinct_counts(np.array([0, 2]), np.array([0, 1, 2]), np.array([0, 1]),
                                           np.zeros(0, np.int64), 2, counts)
    with pytest.raises(ValueError, match="out of range"):
        kernel._kernel.row_distinct_counts(np.array([0, 1]), np.array([0, 1, 2]), np.array([0, 2]),
                                           np.zeros(0, np.int64), 2, counts)


def test_new_kernels_refuse_aliased_outputs():
    """An output sharing memory with another argument is refused before anything is written."""
    k = kernel._kernel
    a, b, w = np.array([0, 1]), np.array([1, 0]), np.array([1.0, 2.0])
    with pytest.raises(ValueError, match="shares memory"):
        k.chip_growth(a, b, w, a, np.array([1, 1]))  # chip is a
    out = np.zeros(4)
    with pytest.raises(ValueError, match="shares memory"):
        k.chip_pair_values(a, b, np.array([0, 0]), out, out[:2])  # out inside the table
    g = np.empty(2)
    with pytest.raises(ValueError, match="shares memory"):
        k.traffic_by_chip(a, b, w, np.array([0, 1]), np.empty(4), g, g, np.empty(2), np.empty(3, np.int64))
    counts = np.array([0, 1, 2])
    with pytest.raises(ValueError, match="shares memory"):
        k.row_distinct_counts(counts[:2], np.array([0, 1, 2]), np.array([0, 1]), np.zeros(0, np.int64), 2, counts[1:])
    ptr, srcs = np.array([0, 1, 2]), np.array([1, 0], dtype=np.int32)
    with pytest.raises(ValueError, match="shares memory"):
        k.pin_keep(ptr, srcs, np.ones(2, bool), np.ones(2, bool), srcs, np.empty(2, np.int32))
    C, W, D = np.zeros(4), np.zeros(4), np.array([0.0, 1.0, 1.0, 0.0])
    slots, occ = np.array([0, 1]), np.array([0, 1, -1, -1])
    with pytest.raises(ValueError, match="shares memory"):
        k.anneal_moves(C, W, D, np.array([0]), np.array([2]), np.array([0.5]), slots, occ, np.array([0, 0]), slots,
                       2, 1.0, 0.5, 0.0)
