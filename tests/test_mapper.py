"""The mapper: resource limits, partitioners, placers, routing, Mapping files, diagnostics."""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from chipemu import FileFormatError, FitError, Network
from chipemu.chips import BarrierSpec, GridSpec, LinkSpec, SystemSpec, load_chip
from chipemu.hardware import Hardware
from chipemu.errors import ChipemuError
from mapper import MAPPERS, Mapping, build_graph, kernel, map_network
from mapper.graph import source_rates
from mapper.refine import _Tables
from mapper.resources import AXON_HEADER_BITS, representable
from mapper.routing import (link_loads, routing_table_dict, routing_tables, source_hops,
                            xy_route)

from conftest import DATA

TINY = load_chip("tiny")


def grid(columns: int, rows: int = 2):
    """The tiny chip on a bigger mesh (fan-out raised to match its core count)."""
    return TINY.with_overrides({"mesh.columns": columns, "mesh.rows": rows, "core.fanout_axons": 64})


# ----------------------------------------------------------------------------- helpers
def modular_net(n_clusters=16, size=24, fanout=8, p_in=0.9, seed=0, n_inputs=8) -> Network:
    """Clusters of ``size`` compartments, ``p_in`` of synapses inside, indices shuffled."""
    rng = np.random.default_rng(seed)
    n = n_clusters * size
    src = np.repeat(np.arange(n), fanout)
    inside = rng.random(src.size) < p_in
    tc = np.where(inside, src // size, rng.integers(0, n_clusters, src.size))
    dst = tc * size + rng.integers(0, size, src.size)
    perm = rng.permutation(n)
    net = Network("modular", steps=50)
    pop = net.add_population("all", n, vth=100)
    net.connect(pop, pop, "explicit", src=perm[src], dst=perm[dst], weight=2)
    if n_inputs:
        inp = net.add_bernoulli_input("stim", n_inputs, p=0.1, seed=1)
        isrc = np.repeat(np.arange(n_inputs), size // 2)
        idst = (isrc % n_clusters) * size + np.tile(np.arange(size // 2), n_inputs)
        net.connect(inp, pop, "explicit", src=isrc, dst=perm[idst], weight=4, delay=1)
    return net


def two_pop_net(n_a=30, n_b=20, fanout=5, seed=0, delay=0, weight=2) -> Network:
    net = Network("two", steps=20)
    a = net.add_population("a", n_a, vth=50)
    b = net.add_population("b", n_b, vth=50)
    net.connect(a, b, "fixed_fanout", fanout=fanout, seed=seed, weight=weight, delay=delay)
    net.connect(b, a, "fixed_fanout", fanout=fanout, seed=seed + 1, weight=-weight, delay=delay)
    return net


def expected_usage(net: Network, m: Mapping) -> dict[str, list[int]]:
    """Per-core usage recomputed with plain Python sets, independently of mapper.resources."""
    f = net.flat()
    n, K = f.n, m.n_cores
    chip = m.chip.core
    nc, ic = m.neuron_core.tolist(), m.input_core.tolist()
    comp, syn, mdel = Counter(nc), Counter(), defaultdict(lambda: -1)
    fanin, fanout = defaultdict(set), defaultdict(set)
    for s, d, dl in zip(f.src.tolist(), f.dst.tolist(), f.delay.tolist()):
        c = nc[d]
        syn[c] += 1
        fanin[c].add(s)
        fanout[nc[s]].add(c)
        mdel[c] = max(mdel[c], dl)
    for j, d, dl in zip(f.in_src.tolist(), f.in_dst.tolist(), f.in_delay.tolist()):
        c = nc[d]
        syn[c] += 1
        fanin[c].add(n + j)
        fanout[ic[j]].add(c)
        mdel[c] = max(mdel[c], dl)
    idx_bits = math.ceil(math.log2(chip.compartments)) if chip.compartments > 1 else 0
    per_syn = chip.weight_bits + chip.delay_bits + idx_bits
    # a projection joining every source to every target is stored dense: no target index
    dense = Counter()
    for pr in net.projections:
        pre = next(g for g in list(net.populations) + list(net.inputs) if g.name == pr.pre)
        post = net.population(pr.post)
        pairs = set(zip(pr.src.tolist(), pr.dst.tolist()))
        if len(pr) and len(pr) == pre.size * post.size == len(pairs):
            for d in pr.dst.tolist():
                dense[nc[post.start + d]] += 1
    return {
        "compartments": [comp[c] for c in range(K)],
        "synapses": [syn[c] for c in range(K)],
        "fanin_axons": [len(fanin[c]) for c in range(K)],
        "fanout_axons": [len(fanout[c]) for c in range(K)],
        "synapse_bits": [(syn[c] - dense[c]) * per_syn + dense[c] * (per_syn - idx_bits)
                         + len(fanin[c]) * AXON_HEADER_BITS for c in range(K)],
        "max_delay": [mdel[c] for c in range(K)],
    }


def assert_respects_limits(net: Network, m: Mapping, max_per_core=None) -> None:
    f = net.flat()
    chip = m.chip
    c = chip.core
    assert m.neuron_core.shape == (f.n,) and m.input_core.shape == (f.in_n,)
    K = m.n_cores
    assert K <= chip.n_cores
    if f.n:
        assert m.neuron_core.min() >= 0 and m.neuron_core.max() < K
    if f.in_n:
        assert m.input_core.min() >= (0 if K else -1) and m.input_core.max() < K
    exp = expected_usage(net, m)
    for res, values in exp.items():
        assert m.usage[res].tolist() == values, res
    cap = min(c.compartments, max_per_core or c.compartments)
    assert max(exp["compartments"], default=0) <= cap
    assert max(exp["synapse_bits"], default=0) <= c.synapse_memory_bits
    assert max(exp["fanin_axons"], default=0) <= c.fanin_axons
    assert max(exp["fanout_axons"], default=0) <= c.fanout_axons
    assert max(exp["max_delay"], default=0) <= min(c.max_delay, 2 ** c.delay_bits - 1)
    assert representable(np.concatenate([f.weight, f.in_weight]), c.weight_bits).all()
    # placement: distinct physical cores inside the mesh; slots = ascending index per core
    assert len(set(m.core_id.tolist())) == K
    assert (m.core_xy[:, 0] < chip.mesh.columns).all() and (m.core_xy[:, 1] < chip.mesh.rows).all()
    assert (m.core_port < chip.mesh.cores_per_router).all()
    for k in range(K):
        members = np.flatnonzero(m.neuron_core == k)
        assert m.neuron_slot[members].tolist() == list(range(members.size))


def packet_hops(net, m) -> float:
    return m.quality(net)["packet_hops_per_spike"]


# ------------------------------------------------------------------------ property test
@st.composite
def small_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    net = Network("rand", steps=10)
    pops = [net.add_population(f"p{i}", draw(st.integers(1, 30)), vth=10) for i in range(draw(st.integers(1, 3)))]
    groups = [net.add_input(f"in{i}", draw(st.integers(1, 6))) for i in range(draw(st.integers(0, 2)))]
    wchoice = draw(st.sampled_from(["even", "coarse"]))
    for _ in range(draw(st.integers(1, 5))):
        pre = pops[rng.integers(len(pops))] if not groups or rng.random() < 0.7 else groups[rng.integers(len(groups))]
        post = pops[rng.integers(len(pops))]
        k = int(rng.integers(1, 3 * (pre.size + post.size)))
        w = rng.integers(-128, 127, k) * 2 if wchoice == "even" else rng.integers(-2, 2, k) * 128
        net.connect(pre, post, "explicit", src=rng.integers(0, pre.size, k), dst=rng.integers(0, post.size, k),
                    weight=w, delay=rng.integers(0, draw(st.sampled_from([1, 1, 4, 63])), k))
    over = {
        "mesh.columns": draw(st.integers(1, 4)), "mesh.rows": draw(st.integers(1, 4)),
        "mesh.cores_per_router": draw(st.integers(1, 3)),
        "core.compartments": draw(st.sampled_from([1, 4, 16, 16, 64])),
        "core.fanin_axons": draw(st.sampled_from([4, 16, 64, 256, 256])),
        "core.fanout_axons": draw(st.sampled_from([1, 3, 8, 64, 64])),
        "core.synapse_memory_bits": draw(st.sampled_from([256, 2048, 16384, 16384])),
        "core.weight_bits": draw(st.sampled_from([2, 8, 8, 9])),
        "core.delay_bits": draw(st.sampled_from([3, 6, 6, 6])),
        "core.max_delay": draw(st.sampled_from([5, 62, 62, 62])),
    }
    # a chip's delay field must hold its largest delay (ChipSpec rejects anything else)
    over["core.max_delay"] = min(over["core.max_delay"], 2 ** over["core.delay_bits"] - 1)
    chip = TINY.with_overrides(over)
    mapper = draw(st.sampled_from(sorted(MAPPERS)))
    mpc = draw(st.one_of(st.none(), st.integers(1, chip.core.compartments)))
    routing = draw(st.sampled_from(["unicast", "multicast"]))
    pin = None
    if draw(st.booleans()):
        ids = draw(st.lists(st.integers(0, chip.n_cores - 1), min_size=1, max_size=2, unique=True))
        pin = {pops[0].name: ids}
    return net, chip, mapper, draw(st.integers(0, 5)), mpc, routing, pin


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_case())
def test_every_mapping_respects_every_limit_or_fit_error(case):
    net, chip, mapper, seed, mpc, routing, pin = case
    try:
        m = map_network(net, chip, mapper=mapper, seed=seed, max_per_core=mpc, routing=routing, pin=pin)
    except FitError as exc:
        msg = str(exc)
        assert "\n" not in msg and "need" in msg and "capacity" in msg and "remedy" in msg, msg
        return
    assert_respects_limits(net, m, mpc)
    if pin:
        (name, ids), = pin.items()
        p = net.population(name)
        assert set(m.core_id[m.neuron_core[p.start:p.stop]].tolist()) <= set(ids)
        others = np.ones(net.n_compartments, dtype=bool)
        others[p.start:p.stop] = False
        assert not set(m.core_id[m.neuron_core[others]].tolist()) & set(ids)
    # the mapping's destination CSR agrees with a brute-force count
    g = build_graph(net)
    indptr, cores = m.destinations(g)
    f = net.flat()
    want = defaultdict(set)
    for s, d in zip(f.src.tolist(), f.dst.tolist()):
        if m.neuron_core[d] != m.neuron_core[s]:
            want[s].add(int(m.neuron_core[d]))
    for j, d in zip(f.in_src.tolist(), f.in_dst.tolist()):
        if m.neuron_core[d] != m.input_core[j]:
            want[f.n + j].add(int(m.neuron_core[d]))
    for s in range(g.n_src):
        assert cores[indptr[s]:indptr[s + 1]].tolist() == sorted(want[s])


# --------------------------------------------------------------------- basic behaviour
@pytest.mark.parametrize("mapper", sorted(MAPPERS))
def test_all_compartments_and_inputs_assigned(mapper):
    net = modular_net()
    m = map_network(net, "loihi1", mapper=mapper, seed=1)
    assert_respects_limits(net, m)
    assert m.strategy == mapper and m.chip.name == "loihi1"
    assert int(m.usage["compartments"].sum()) == net.n_compartments


def test_network_or_flat_network_give_the_same_mapping():
    net = modular_net()
    a = map_network(net, grid(4), seed=2)
    b = map_network(net.flat(), grid(4), seed=2)
    assert np.array_equal(a.neuron_core, b.neuron_core) and np.array_equal(a.core_xy, b.core_xy)


@pytest.mark.parametrize("mapper", sorted(MAPPERS))
def test_deterministic_for_a_seed(mapper):
    net = modular_net(seed=3)
    chip = grid(4, 3)
    a = map_network(net, chip, mapper=mapper, seed=7).to_dict()
    b = map_network(net, chip, mapper=mapper, seed=7).to_dict()
    assert a == b


def test_sequential_fills_cores_in_index_order():
    net = two_pop_net(30, 20)
    m = map_network(net, TINY, mapper="sequential", max_per_core=16)
    assert m.neuron_core.tolist() == sorted(m.neuron_core.tolist())
    assert m.usage["compartments"].tolist() == [16, 16, 16, 2]
    assert m.core_id.tolist() == [0, 1, 2, 3]  # row-major placement


def test_max_per_core_honoured():
    net = modular_net()
    for mapper in MAPPERS:
        m = map_network(net, "loihi1", mapper=mapper, max_per_core=50)
        assert m.usage["compartments"].max() <= 50
        assert m.capacity["compartments"] == 50 and m.max_per_core == 50


def test_population_larger_than_a_core_is_split():
    net = Network("big")
    net.add_population("big", 200, vth=5)
    m = map_network(net, TINY, mapper="traffic")
    assert m.n_cores == 4 and m.usage["compartments"].max() <= 64


def test_pinning_physical_cores():
    net = two_pop_net(30, 20)
    chip = grid(3)  # 12 cores
    m = map_network(net, chip, mapper="traffic", pin={"b": [11, 5]}, max_per_core=16)
    b_cores = set(m.core_id[m.neuron_core[30:]].tolist())
    assert b_cores == {11, 5}
    assert sorted(m.usage["compartments"][m.neuron_core[30:]].tolist())[0] >= 4
    # first listed core filled first, in index order
    assert m.core_id[m.neuron_core[30]] == 11 and m.core_id[m.neuron_core[45]] == 11
    assert m.core_id[m.neuron_core[46]] == 5
    # pinned cores are reserved: no compartment of 'a' there
    assert not (set(m.core_id[m.neuron_core[:30]].tolist()) & {11, 5})
    for mapper in ("sequential", "sequential-anneal"):
        m2 = map_network(net, chip, mapper=mapper, pin={"b": [11, 5]}, max_per_core=16)
        assert set(m2.core_id[m2.neuron_core[30:]].tolist()) == {11, 5}
    assert Mapping.from_dict(json.loads(json.dumps(m.to_dict()))).pin == {"b": [11, 5]}


def test_input_core_is_the_core_with_most_targets():
    net = Network("in")
    a = net.add_population("a", 40, vth=5)
    stim = net.add_input("stim", 2)
    net.connect(stim, a, "explicit", src=[0, 0, 0, 1], dst=[1, 2, 35, 39], weight=2)
    m = map_network(net, TINY, mapper="sequential", max_per_core=20)
    assert m.input_core.tolist() == [0, 1]


# -------------------------------------------------------------------------- routing
def test_xy_route_hand_example():
    assert xy_route((0, 0), (2, 1)) == [(0, 0), (1, 0), (2, 0), (2, 1)]
    assert xy_route((3, 2), (1, 0)) == [(3, 2), (2, 2), (1, 2), (1, 1), (1, 0)]
    assert xy_route((1, 1), (1, 1)) == [(1, 1)]


def test_routing_tables_hand_example():
    # three logical cores: at routers (0,0), (2,1), (0,0) on a 3x2 mesh
    hw = Hardware(3, 2)
    core_router = hw.core_router([0, 0, 0], np.array([[0, 0], [2, 1], [0, 0]]))
    tab = routing_table_dict(hw, core_router)
    assert tab[0] == {0: "local", 1: "E", 2: "local"}
    assert tab[2] == {0: "W", 1: "N", 2: "W"}
    assert tab[5][1] == "local" and tab[4][1] == "E" and tab[5][0] == "W"
    assert routing_tables(hw, core_router).shape == (6, 3)


def small_system(chip, chips=(2, 2, 1)):
    """``chip`` as a grid of chips with made-up link figures (for geometry tests)."""
    return SystemSpec("grid-of-" + chip.name, "test system", chip, GridSpec(*chips),
                      LinkSpec(hop_time_s=1e-7, hop_energy_j=1e-10, bandwidth_pps=1e7),
                      BarrierSpec(chips=(1, 8), time_s=(1e-6, 2e-6), mode="linear"))


@pytest.mark.parametrize("chips", [(1, 1, 1), (2, 2, 1), (3, 1, 2)])
def test_hops_and_link_loads_match_brute_force(chips):
    net = modular_net(n_clusters=12, size=20, fanout=6)
    chip = grid(4, 3) if chips == (1, 1, 1) else small_system(grid(2, 2), chips)
    g = build_graph(net)
    for mode in ("unicast", "multicast"):
        m = map_network(net, chip, mapper="sequential", routing=mode, max_per_core=12)
        hw = m.hardware
        pos = np.stack([hw.router_gx, hw.router_gy, hw.router_gz], axis=1)
        indptr, cores = m.destinations(g)
        sc = m.source_core
        loads = link_loads(indptr, cores, sc, hw, m.core_router, np.ones(g.n_src), mode)
        brute, hops = Counter(), []
        for s in range(g.n_src):
            links = []
            for c in cores[indptr[s]:indptr[s + 1]]:
                a, b = pos[m.core_router[sc[s]]], pos[m.core_router[c]]
                p = [(x, y, a[2]) for x, y in xy_route(a[:2], b[:2])]
                p += [(b[0], b[1], z) for z in range(a[2], b[2], 1 if b[2] > a[2] else -1)][1:] + [tuple(b)]
                p = [tuple(int(v) for v in q) for q in p]
                p = [q for i, q in enumerate(p) if i == 0 or q != p[i - 1]]
                links += list(zip(p[:-1], p[1:]))
            if mode == "multicast":
                links = set(links)
            hops.append(len(links))
            brute.update(links)
        assert source_hops(indptr, cores, sc, hw, m.core_router, mode).tolist() == hops
        frm, to = hw.link_ends()
        mine = Counter({(tuple(int(v) for v in pos[frm[k]]), tuple(int(v) for v in pos[to[k]])): int(loads[k])
                        for k in np.flatnonzero(loads)})
        assert mine == brute
        assert m.quality(net)["max_link_load"] == max(brute.values())


def test_multicast_hops_never_exceed_unicast():
    net = modular_net(n_clusters=20, size=16, fanout=10, p_in=0.3)
    chip = grid(4, 4)
    for mapper in ("sequential", "traffic"):
        mu = map_network(net, chip, mapper=mapper, routing="unicast", max_per_core=12)
        mm = map_network(net, chip, mapper=mapper, routing="multicast", max_per_core=12)
        hu, hm = mu.hops(net), mm.hops(net)
        assert (hm <= hu).all() and hm.sum() < hu.sum()


# -------------------------------------------------------------------------- quality
def test_traffic_mapper_beats_sequential_on_shuffled_modular_network():
    net = modular_net(n_clusters=16, size=32, fanout=12)
    chip = grid(4, 4)
    seq = map_network(net, chip, mapper="sequential")
    tra = map_network(net, chip, mapper="traffic")
    qs, qt = seq.quality(net), tra.quality(net)
    assert qt["packet_hops_per_spike"] < 0.7 * qs["packet_hops_per_spike"]
    assert qt["inter_core_packets_per_spike"] < qs["inter_core_packets_per_spike"]
    assert qt["cut_synapses"] < qs["cut_synapses"]


@pytest.mark.parametrize("fanin, mpc", [(1024, 17), (128, 17), (256, 40)])
def test_traffic_fits_wherever_sequential_fits(fanin, mpc):
    net = modular_net(n_clusters=30, size=40, fanout=12, p_in=0.6, seed=4)
    spec = {"core.fanin_axons": fanin, "core.fanout_axons": 4096, "mesh.rows": 1, "mesh.cores_per_router": 1}
    k_seq = map_network(net, TINY.with_overrides({**spec, "mesh.columns": 200}), "sequential",
                        max_per_core=mpc).n_cores
    exact = TINY.with_overrides({**spec, "mesh.columns": k_seq})  # exactly as many cores as sequential uses
    m = map_network(net, exact, "traffic", max_per_core=mpc)
    assert m.n_cores <= k_seq
    assert_respects_limits(net, m, mpc)


def test_annealing_placer_never_worse_than_rowmajor():
    net = modular_net(n_clusters=16, size=32, fanout=12)
    chip = grid(4, 4)
    for part in ("sequential", "traffic"):
        rm = map_network(net, chip, mapper="traffic-rowmajor" if part == "traffic" else "sequential")
        an = map_network(net, chip, mapper="traffic" if part == "traffic" else "sequential-anneal")
        assert np.array_equal(rm.neuron_core, an.neuron_core)
        assert packet_hops(net, an) <= packet_hops(net, rm)


def test_quality_keys_and_rates():
    net = modular_net()
    m = map_network(net, grid(4))
    q = m.quality(net)
    for key in ("inter_core_packets_per_spike", "packet_hops_per_spike", "cut_synapses", "cores_used",
                "max_link_load", "routers_used", "packets", "packet_hops"):
        assert key in q
    zero = np.zeros(net.n_compartments)
    q0 = m.quality(net, rates=zero)  # only inputs fire (rates from their events)
    assert q0["packets"] <= q["packets"]
    with pytest.raises(ChipemuError, match="rates"):
        m.quality(net, rates=np.ones(3))


def test_refinement_tables_update_incrementally():
    net = modular_net(n_clusters=8, size=20, fanout=6)
    g = build_graph(net)
    rng = np.random.default_rng(0)
    K = 5
    part = rng.integers(0, K, g.n)
    ps, pt = g.pin_arrays()
    ps = ps.astype(np.int64)
    has_self = np.zeros(g.n, np.int64)
    has_self[ps[ps == pt]] = 1
    r = source_rates(g, rng.random(g.n))
    t = _Tables(g, ps, pt, has_self, r, part, K)
    mv = rng.choice(g.n, 40, replace=False)
    to = rng.integers(0, K, 40)
    p2 = part.copy()
    p2[mv] = to
    t.apply(mv, part[mv], to)
    fresh = _Tables(g, ps, pt, has_self, r, p2, K)
    assert np.array_equal(t.psi, fresh.psi) and np.array_equal(t.phi, fresh.phi)
    assert np.array_equal(t.fanin, fresh.fanin) and t.obj == pytest.approx(fresh.obj)


# ------------------------------------------------------------------------- files
def test_json_round_trip(tmp_path):
    net = modular_net()
    m = map_network(net, grid(4), routing="multicast", seed=4)
    path = tmp_path / "mapping.json"
    m.save(path)
    d = json.loads(path.read_text())
    for key in ("chip", "neuron_core", "input_core", "core_xy"):  # the keys docs/mapping.md marks (contract)
        assert key in d
    assert d["chip"] == m.chip.name and len(d["neuron_core"]) == net.n_compartments
    back = Mapping.load(path)
    assert back.to_dict() == m.to_dict()
    assert back.quality(net) == m.quality(net)
    assert Mapping.load(path, chip=m.chip).chip == m.chip


def test_load_preset_by_name_without_chip_spec(tmp_path):
    m = map_network(two_pop_net(), "tiny")
    d = m.to_dict()
    del d["chip_spec"], d["core_port"], d["neuron_slot"]
    p = tmp_path / "m.json"
    p.write_text(json.dumps(d))
    back = Mapping.load(p)
    assert np.array_equal(back.core_port, m.core_port) and np.array_equal(back.neuron_slot, m.neuron_slot)


@pytest.mark.parametrize("edit, fragment", [
    (lambda d: d.pop("core_xy"), "missing key 'core_xy'"),
    (lambda d: d.pop("input_core"), "missing key 'input_core'"),
    (lambda d: d.update(neuron_core=d["neuron_core"][:-1] + [99]), "'neuron_core'"),
    (lambda d: d.update(core_xy=[[0, 0, 0]] * len(d["core_xy"])), "'core_xy'"),
    (lambda d: d.update(core_xy=[[5, 0]] * len(d["core_xy"])), "'core_xy'"),
    (lambda d: d.update(neuron_slot=[0] * len(d["neuron_slot"])), "'neuron_slot'"),
    (lambda d: d.update(input_core=["a"]), "'input_core'"),
    (lambda d: d.update(routing="broadcast"), "'routing'"),
    (lambda d: d.update(usage={"compartments": [1]}), "usage.compartments"),
    (lambda d: d.update(chip=7), "'chip'"),
])
def test_load_rejects_bad_files_naming_the_key(tmp_path, edit, fragment):
    m = map_network(two_pop_net(), "tiny", max_per_core=20)
    d = m.to_dict()
    edit(d)
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(d))
    with pytest.raises(FileFormatError, match=fragment.replace("[", r"\[")):
        Mapping.load(p)


def test_load_not_json_or_missing(tmp_path):
    p = tmp_path / "x.json"
    p.write_text("{nope")
    with pytest.raises(FileFormatError, match="not valid JSON"):
        Mapping.load(p)
    with pytest.raises(FileFormatError, match="no such file"):
        Mapping.load(tmp_path / "missing.json")


# ----------------------------------------------------------------------- diagnostics
def one_line(exc) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_too_many_cores():
    net = Network("big")
    net.add_population("exc", 600, vth=5)
    with pytest.raises(FitError) as e:
        map_network(net, "tiny")
    msg = one_line(e)
    for piece in ("network needs at least 10 cores > 8 (capacity of chip 'tiny': 2x2 mesh x 2 cores", "remedy",
                  "mesh.columns = 3"):
        assert piece in msg, msg


def test_too_many_cores_after_partitioning_names_the_mapper():
    # fan-in limits each core to a few target compartments: beyond the compartment lower bound
    rng = np.random.default_rng(0)
    net = Network("fanin")
    src = net.add_population("s", 100, vth=5)
    tgt = net.add_population("t", 40, vth=5)
    pre = np.concatenate([rng.choice(100, 10, replace=False) for _ in range(40)])
    net.connect(src, tgt, "explicit", src=pre, dst=np.repeat(np.arange(40), 10), weight=2)
    chip = TINY.with_overrides({"core.fanin_axons": 16})
    with pytest.raises(FitError) as e:
        map_network(net, chip, mapper="sequential")
    msg = one_line(e)
    assert "with mapper 'sequential' > 8 (capacity of chip" in msg and "fan-in" in msg and "remedy" in msg, msg
    assert "try mapper 'traffic'" in msg


def test_single_compartment_fanin_too_large():
    net = Network("fan")
    exc = net.add_population("exc", 10, vth=5)
    src = net.add_population("src", 300, vth=5)
    net.connect(src, exc, "explicit", src=np.arange(300), dst=np.full(300, 7), weight=2)
    with pytest.raises(FitError) as e:
        map_network(net, "tiny")
    msg = one_line(e)
    for piece in ("population 'exc' (compartment 7)", "fan-in axons needed 300", "capacity 256", "remedy"):
        assert piece in msg, msg


def test_single_compartment_synaptic_memory_too_large():
    net = Network("mem")
    exc = net.add_population("exc", 4, vth=5)
    src = net.add_population("src", 200, vth=5)
    net.connect(src, exc, "explicit", src=np.tile(np.arange(200), 4), dst=np.full(800, 2), weight=2)
    with pytest.raises(FitError) as e:
        map_network(net, "tiny")
    msg = one_line(e)
    for piece in ("population 'exc' (compartment 2)", "synaptic memory needed", "800 synapses x 20 bits",
                  "capacity 16384 bits", "remedy"):
        assert piece in msg, msg


def test_delay_beyond_chip():
    net = two_pop_net(delay=40)
    with pytest.raises(FitError) as e:
        map_network(net, TINY.with_overrides({"core.max_delay": 30}))
    msg = one_line(e)
    for piece in ("projection 'a->b'", "synaptic delay needed 40 steps", "capacity 30 steps", "remedy"):
        assert piece in msg, msg
    with pytest.raises(FitError, match="capacity 15 steps"):
        map_network(net, TINY.with_overrides({"core.delay_bits": 4, "core.max_delay": 15}))


def test_weight_not_representable():
    net = two_pop_net(weight=6)
    with pytest.raises(FitError) as e:
        map_network(net, TINY.with_overrides({"core.weight_bits": 4}))
    msg = one_line(e)
    for piece in ("projection 'a->b'", "weight precision needed 8 bits", "capacity 4 bits",
                  "multiples of 32", "core.weight_bits >= 8", "remedy"):
        assert piece in msg, msg


def test_fanout_exceeded_names_the_core():
    net = Network("fan")
    a, b, c = (net.add_population(x, 4, vth=5) for x in "abc")
    net.connect(a, b, "one_to_one", weight=2)
    net.connect(a, c, "one_to_one", weight=2)
    with pytest.raises(FitError) as e:
        map_network(net, TINY.with_overrides({"core.fanout_axons": 1}), mapper="sequential", max_per_core=4)
    msg = one_line(e)
    for piece in ("core 0 (population 'a')", "fan-out axons needed 2", "capacity 1", "remedy"):
        assert piece in msg, msg


def test_source_fanout_lower_bound():
    net = Network("wide")
    a = net.add_population("a", 40, vth=5)
    net.connect(a, a, "explicit", src=np.zeros(40, int), dst=np.arange(40), weight=2)
    with pytest.raises(FitError) as e:
        map_network(net, TINY.with_overrides({"core.fanout_axons": 2}), max_per_core=10)
    msg = one_line(e)
    assert "population 'a' (compartment 0): fan-out axons needed at least 4" in msg and "capacity 2" in msg


def test_pin_errors():
    net = two_pop_net(30, 20)
    with pytest.raises(ChipemuError) as e:
        map_network(net, TINY, pin={"b": [8]})
    assert "core 8, which does not exist" in one_line(e) and "0..7" in str(e.value)
    with pytest.raises(FitError) as e:
        map_network(net, TINY, pin={"a": [0]}, max_per_core=16)
    msg = one_line(e)
    for piece in ("population 'a' pinned to cores [0]", "compartments needed 30 > capacity 16", "remedy"):
        assert piece in msg, msg
    with pytest.raises(ChipemuError, match="no population named 'zz'"):
        map_network(net, TINY, pin={"zz": [0]})


def test_bad_arguments():
    net = two_pop_net()
    with pytest.raises(ChipemuError) as e:
        map_network(net, TINY, mapper="magic")
    msg = one_line(e)
    assert "unknown mapper 'magic'" in msg and all(name in msg for name in MAPPERS)
    for bad in (0, 65, -3):
        with pytest.raises(ChipemuError, match=r"max_per_core = .* out of range \(allowed: int 1..64"):
            map_network(net, TINY, max_per_core=bad)
    with pytest.raises(ChipemuError, match="routing mode"):
        map_network(net, TINY, routing="broadcast")


def test_module_docstring_example_runs():
    import doctest

    import mapper
    assert doctest.testmod(mapper).failed == 0


def test_too_many_cores_because_of_the_cap_suggests_raising_it():
    net = two_pop_net()
    with pytest.raises(FitError) as e:
        map_network(net, TINY, max_per_core=1)
    msg = one_line(e)
    assert "raise max_per_core (now 1, chip limit 64)" in msg, msg


def test_traffic_mapper_falls_back_where_sequential_fits():
    """A network (found by review) whose traffic-aware partition broke the fan-out limit
    while the index-order one fits: the traffic mapper must fit it too."""
    net = Network.load(DATA / "traffic_fallback.net.npz")
    chip = TINY.with_overrides({"core.fanin_axons": 64, "core.fanout_axons": 8,
                                "core.synapse_memory_bits": 8192, "mesh.columns": 3})
    seq = map_network(net, chip, mapper="sequential", seed=1)
    for mapper in ("traffic", "traffic-rowmajor"):
        m = map_network(net, chip, mapper=mapper, seed=1)
        assert m.n_cores <= chip.n_cores
        for res, cap in m.capacity.items():
            assert (m.usage[res] <= cap).all(), res
    assert seq.n_cores <= chip.n_cores


def test_plastic_projection_needs_full_weight_precision():
    from chipemu.learning import stdp
    net = Network("plastic", steps=10)
    a = net.add_input("in", 4, [0], [1])
    b = net.add_population("b", 4, vth=10)
    net.connect(a, b, weight=64, plasticity=stdp(a_plus=8, a_minus=6, tau_plus=10, tau_minus=20))
    with pytest.raises(FitError) as e:
        map_network(net, TINY.with_overrides({"core.weight_bits": 4}))
    msg = one_line(e)
    for piece in ("projection 'in->b' (plastic)", "weight precision needed 8 bits", "capacity 4 bits", "remedy"):
        assert piece in msg, msg
    map_network(net, TINY)  # 8-bit weights hold every learned value


def test_pins_accept_arrays():
    net = two_pop_net()
    m = map_network(net, TINY, pin={"a": np.array([0, 1])})
    assert m.pin == {"a": [0, 1]}


def test_fits_each_agrees_with_fit(monkeypatch):
    """CoreFiller.fits_each (all groups in one pass, plus a second pass over the pins of the
    groups whose head could not decide them) = one fit per group, on a partly filled core."""
    from mapper.fill import CoreFiller
    from mapper.resources import ResourceModel

    shared = Network("shared")  # every compartment has the same 4 sources: heads fit, memory decides
    pop = shared.add_population("p", 200, vth=10)
    stim = shared.add_input("stim", 4)
    shared.connect(stim, pop, "all_to_all", weight=2)
    cases = [(modular_net(n_clusters=8, size=20, fanout=6), {"core.fanin_axons": 40}),
             (shared, {"core.fanin_axons": 8, "core.compartments": 64})]
    second = []
    orig = CoreFiller._within
    monkeypatch.setattr(CoreFiller, "_within", lambda self, *a: second.append(1) or orig(self, *a))
    seen, calls = set(), 0
    for net, over in cases:
        g = build_graph(net)
        model = ResourceModel.for_chip(TINY.with_overrides({**over, "core.synapse_memory_bits": 4096})).for_graph(g)
        rng = np.random.default_rng(3)
        filler = CoreFiller(g, model)
        for _ in range(20):
            filler.reset()
            filler.fit(rng.permutation(g.n)[:int(rng.integers(0, 6))])
            filler.add_fitted()
            groups = [rng.choice(g.n, int(rng.integers(1, 40)), replace=False) for _ in range(6)]
            expect = []
            for grp in groups:
                expect.append(filler.fit(grp).k == grp.size)
                filler.discard()
            with kernel.numpy_only():  # the numpy passes (the compiled loop: tests/test_mapper_kernel.py)
                assert [filler.fit(grp).k == grp.size for grp in groups] == expect
                filler.discard()
                assert filler.fits_each(groups).tolist() == expect
            assert filler.fits_each(groups).tolist() == expect
            calls += 1
            seen.update(expect)
    assert seen == {True, False}  # both answers occur
    assert len(second) > calls  # and some groups needed the second pass


@pytest.mark.parametrize("n_keys", [1000, 2**40])  # 32-bit and 64-bit sort of the keys alone
def test_grouped_sums_with_uniform_weights_equal_the_packed_sort(n_keys):
    from mapper.cluster import _grouped, _grouped_weights

    rng = np.random.default_rng(5)
    hi = rng.integers(0, min(n_keys, 500), 3000) * (n_keys // 1000)
    wq = np.full(hi.size, 7, dtype=np.int32)
    a = _grouped(hi, wq, 4, n_keys, uniform=True)
    b = _grouped_weights(hi, wq, 4)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_top_by_affinity_breaks_ties_by_lowest_id_whatever_the_partial_sort_does():
    from mapper.cluster import top_by_affinity

    rng = np.random.default_rng(5)
    for _ in range(300):
        n = int(rng.integers(1, 60))
        ids = rng.permutation(1000)[:n]
        aff = rng.integers(0, 3, n).astype(np.float64)  # few values: many ties at the cut
        want = ids[np.lexsort((ids, -aff))][:8]
        assert np.array_equal(top_by_affinity(ids, aff, 8), want)
    # 40 clusters tied below one stronger cluster: the strongest, then the 7 lowest ids
    ids = np.arange(40, 0, -1)
    aff = np.ones(40)
    aff[10] = 2.0
    assert top_by_affinity(ids, aff, 8).tolist() == [30, 1, 2, 3, 4, 5, 6, 7]


def test_core_traffic_equals_brute_force_pair_sums():
    from mapper.place import core_traffic

    net = Network()
    a = net.add_population("a", 30)
    b = net.add_population("b", 20)
    inp = net.add_input("in", 5)
    rng = np.random.default_rng(2)
    net.connect(a, b, "explicit", src=rng.integers(0, 30, 200), dst=rng.integers(0, 20, 200), weight=2)
    net.connect(b, a, "explicit", src=rng.integers(0, 20, 100), dst=rng.integers(0, 30, 100), weight=2)
    net.connect(inp, a, "explicit", src=rng.integers(0, 5, 40), dst=rng.integers(0, 30, 40), weight=2)
    g = build_graph(net)
    K = 6
    neuron_core = rng.integers(0, K, g.n)
    input_core = rng.integers(0, K, g.in_n)
    rates = rng.random(g.n_src)
    src_core = np.concatenate([neuron_core, input_core])
    want: dict[tuple[int, int], float] = defaultdict(float)
    for s in range(g.n_src):  # one packet per distinct other core holding a target
        dst = {int(neuron_core[t]) for t in g.out_dst[g.out_ptr[s]:g.out_ptr[s + 1]]}
        for d in sorted(dst - {int(src_core[s])}):
            want[(int(src_core[s]), d)] += rates[s]
    a_, b_, w_ = core_traffic(g, neuron_core, input_core, K, rates)
    assert list(zip(a_.tolist(), b_.tolist())) == sorted(want)
    np.testing.assert_allclose(w_, [want[k] for k in sorted(want)], rtol=1e-12)


def test_link_loads_dense_and_sorted_pair_sums_are_the_same_floats(monkeypatch):
    import mapper.routing as routing

    net = modular_net(n_clusters=12, size=20, fanout=6)
    chip = small_system(grid(2, 2), (2, 2, 1))
    g = build_graph(net)
    m = map_network(net, chip, mapper="traffic", max_per_core=12)
    indptr, cores = m.destinations(g)
    rates = np.random.default_rng(3).random(g.n_src) * 0.37  # sums whose order matters
    dense = link_loads(indptr, cores, m.source_core, m.hardware, m.core_router, rates)
    monkeypatch.setattr(routing, "DENSE_ROUTER_PAIRS", 0)
    by_sort = link_loads(indptr, cores, m.source_core, m.hardware, m.core_router, rates)
    assert dense.sum() > 0 and np.array_equal(dense, by_sort)


@pytest.mark.parametrize("p_in, found", [(0.9, True), (0.0, False)])
def test_label_propagation_tells_clustered_from_uniformly_random_networks(p_in, found):
    from mapper.cluster import clusters_found, label_propagation, pin_edges
    from mapper.resources import ResourceModel

    net = modular_net(n_clusters=50, size=40, fanout=200, p_in=p_in)  # p_in 0: uniformly random
    g = build_graph(net)
    model = ResourceModel.for_chip(load_chip("loihi1"), max_per_core=32).for_graph(g)
    free = np.ones(g.n, dtype=bool)
    edges = pin_edges(g, source_rates(g, None), free)
    labels = label_propagation(g, model, edges, free, np.random.default_rng(0))
    assert clusters_found(edges, labels) is found
    # the traffic mapper packs the clusters it found; without any it refines the index-order fill
    m = map_network(net, "loihi1", mapper="traffic", max_per_core=32)
    seq = map_network(net, "loihi1", mapper="sequential", max_per_core=32)
    assert m.quality(g)["packets"] <= seq.quality(g)["packets"] * (0.5 if found else 1.0)
