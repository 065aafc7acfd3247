"""Systems of chips: the hardware model, system files, mapping across chips, chip-to-chip
traffic in both NoC models, and spikes that do not depend on how many chips are used."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from chipemu import FitError, Network
from chipemu.chip import emulate
from chipemu.chips import (BarrierSpec, GridSpec, LinkSpec, SystemSpec, list_systems, load_chip,
                           load_hardware)
from chipemu.cli import main
from chipemu.errors import ChipSpecError
from chipemu.hardware import CHIP_TO_CHIP, ON_CHIP_EW, ON_CHIP_NS, Hardware
from chipemu.noc import make_noc
from chipemu.reference import run as reference_run
from mapper import MAPPERS, Mapping, map_network
from mapper.place import _place_groups, chips_by_traffic, chips_in_order, interchip_cost
from mapper.routing import destination_cores, link_loads

TINY = load_chip("tiny").with_overrides({"core.fanout_axons": 256})  # fan-out to every core of a system


def system_of(chip, chips, name=None, bandwidth_pps=2e7):
    """``chip`` in a grid of ``chips`` with made-up link figures (test systems only)."""
    return SystemSpec(name or f"test-{chips[0]}x{chips[1]}x{chips[2]}", "test system", chip, GridSpec(*chips),
                      LinkSpec(hop_time_s=5e-8, hop_energy_j=1e-10, bandwidth_pps=bandwidth_pps),
                      BarrierSpec(chips=(1, 32), time_s=(4.65e-7, 2e-6), mode="linear"))


def small_net(n=300, fanout=12, steps=25, seed=0) -> Network:
    rng = np.random.default_rng(seed)
    net = Network("small", steps=steps)
    a = net.add_population("a", n, du=rng.integers(800, 1200, n), dv=500, vth=180,
                           bias_mant=rng.integers(-50, 120, n), bias_exp=0)
    src = np.repeat(np.arange(n), fanout)
    dst = rng.integers(0, n, src.size)
    net.connect(a, a, "explicit", src=src, dst=dst, weight=2 * rng.integers(-15, 30, src.size),
                delay=rng.integers(0, 5, src.size))
    stim = net.add_bernoulli_input("stim", 20, p=0.2, seed=seed + 1)
    net.connect(stim, a, "fixed_probability", p=0.05, seed=seed + 2, weight=90)
    return net


# ----------------------------------------------------------------------- hardware model
def test_hardware_numbering_and_links_of_two_chips():
    hw = Hardware(2, 2, 2, (2, 1, 1))
    assert (hw.n_chips, hw.n_routers, hw.n_cores, hw.n_dirs) == (2, 8, 16, 4)
    # chip 1's router (0, 0) is global router 4, at global position X = 2
    assert hw.router_id(1, 0, 0) == 4 and hw.router_gx[4] == 2 and hw.router_gy[4] == 0
    # the east link of chip 0's router (1, 0) crosses to chip 1's router (0, 0)
    link = 1 * 4 + 0
    assert hw.link_endpoints(link) == (1, 4) and hw.link_kind[link] == CHIP_TO_CHIP
    assert hw.link_kind[0 * 4 + 0] == ON_CHIP_EW and hw.link_kind[0 * 4 + 2] == ON_CHIP_NS
    assert int((hw.link_exists & (hw.link_kind == CHIP_TO_CHIP)).sum()) == 4  # 2 rows x 2 directions
    assert hw.hop_counts(0, 7) == (2, 1, 1)  # (0,0) of chip 0 -> (1,1) of chip 1
    chip, xy, port = hw.core_place(hw.physical_core([1], [[1, 1]], [1]))
    assert chip.tolist() == [1] and xy.tolist() == [[1, 1]] and port.tolist() == [1]


def test_hardware_layers_route_x_then_y_then_z():
    hw = Hardware(2, 2, 1, (1, 1, 3))
    assert hw.n_dirs == 6
    src, dst = hw.router_id(0, 0, 0), hw.router_id(2, 1, 1)
    route = hw.route(src, dst)
    assert [hw.link_direction(int(k)) for k in route] == [0, 2, 4, 4]  # E, N, U, U
    assert sum(hw.hop_counts(src, dst)) == route.size == 4
    at = src
    for k in route.tolist():
        a, b = hw.link_endpoints(k)
        assert a == at
        at = b
    assert at == dst


def test_single_chip_numbering_is_unchanged():
    hw = Hardware.of(load_chip("loihi1"))
    assert hw.n_chips == 1 and hw.n_links == 4 * 32
    assert hw.router_id(0, 3, 2) == 2 * 8 + 3
    assert not (hw.link_kind[hw.link_exists] == CHIP_TO_CHIP).any()


# ----------------------------------------------------------------------- system files
def test_system_presets_load_and_are_listed(capsys):
    assert {"kapoho-bay", "nahuku32", "pohoiki-springs", "kapoho-point"} <= set(list_systems())
    nahuku = load_hardware("nahuku32")
    assert nahuku.n_chips == 32 and nahuku.n_cores == 32 * 128 and nahuku.chip.name == "loihi1"
    assert load_hardware("kapoho-bay").total_compartments == 2 * 128 * 1024
    assert load_hardware("pohoiki-springs").n_chips == 768
    assert load_hardware("kapoho-point").chip.name == "loihi2"
    # the barrier: the chip's own for one chip, the system table beyond
    assert nahuku.barrier_time_s(32, 1) == load_chip("loihi1").barrier_time(32)
    assert nahuku.barrier_time_s(32, 768) == pytest.approx(16.2e-6)
    assert main(["chips"]) == 0
    out = capsys.readouterr().out
    for name in ("kapoho-bay", "nahuku32", "pohoiki-springs", "kapoho-point", "loihi1"):
        assert name in out


def test_every_link_figure_has_a_source():
    from importlib import resources
    for name in list_systems():
        text = resources.files("chipemu.chips.systems").joinpath(f"{name}.toml").read_text()
        for line in text.splitlines():
            if "=" in line and not line.lstrip().startswith("#") and not line.startswith(("name", "description")):
                assert "#" in line, f"{name}: value without a source: {line}"


def test_system_file_with_relative_chip_and_bad_keys(tmp_path):
    from importlib import resources
    (tmp_path / "mychip.toml").write_bytes(resources.files("chipemu.chips").joinpath("tiny.toml").read_bytes())
    body = ('name = "two-tiny"\ndescription = "x"\nchip = "mychip.toml"\n[grid]\nchips_x = 2\nchips_y = 1\n'
            'chips_z = 1\n[link]\nhop_time_s = 1e-7\nhop_energy_j = 1e-10\nbandwidth_pps = 1e7\n'
            '[barrier]\nchips = [1, 2]\ntime_s = [1e-7, 2e-7]\nmode = "linear"\n')
    (tmp_path / "sys.toml").write_text(body)
    s = load_hardware(tmp_path / "sys.toml")
    assert isinstance(s, SystemSpec) and s.n_cores == 16 and s.chip.name == "tiny"
    for bad, fragment in ((body.replace("chips_x = 2", "chips_x = 0"), "grid.chips_x"),
                          (body.replace("[link]\n", "[link]\nspeed = 1\n"), "unknown key 'link.speed'"),
                          (body.replace('chip = "mychip.toml"', 'chip = "nochip"'), "key 'chip'"),
                          (body.replace("time_s = [1e-7, 2e-7]", "time_s = [1e-7]"), "same length")):
        (tmp_path / "bad.toml").write_text(bad)
        with pytest.raises(ChipSpecError) as e:
            load_hardware(tmp_path / "bad.toml")
        assert fragment in str(e.value) and "\n" not in str(e.value) and "bad.toml" in str(e.value)


# ----------------------------------------------------------------------- mapping
def test_fit_error_names_the_system():
    net = Network("big")
    net.add_population("a", 2000, vth=5)
    with pytest.raises(FitError) as e:
        map_network(net, system_of(TINY, (2, 1, 1), name="two-tiny"), mapper="sequential")
    msg = str(e.value)
    assert "system 'two-tiny'" in msg and "cores" in msg and "chips" in msg and "\n" not in msg


def test_sequential_fills_chips_in_order_and_mapping_json_has_chips(tmp_path):
    net = small_net()
    sysm = system_of(TINY, (2, 2, 1))
    m = map_network(net, sysm, mapper="sequential", max_per_core=20)
    assert m.n_cores == 15 and m.chips_used == 2
    assert m.core_chip.tolist() == [0] * 8 + [1] * 7  # chip 0 full first
    m.save(tmp_path / "mapping.json")
    d = json.loads((tmp_path / "mapping.json").read_text())
    assert d["core_chip"] == m.core_chip.tolist() and d["chip"] == sysm.name
    back = Mapping.load(tmp_path / "mapping.json")
    assert back.core_chip.tolist() == m.core_chip.tolist() and back.chip == sysm
    assert np.array_equal(back.core_id, m.core_id)


def test_traffic_chip_partition_is_never_worse_than_in_order():
    rng = np.random.default_rng(3)
    hw = Hardware(2, 2, 2, (3, 2, 1))
    K = 40
    # two dense groups of cores whose ids are interleaved
    group = rng.permutation(np.repeat([0, 1, 2, 3, 4], 8))
    a, b = np.nonzero((group[:, None] == group[None, :]) & ~np.eye(K, dtype=bool))
    w = rng.random(a.size) + 0.5
    seq = chips_in_order(K, hw, {})
    tr = chips_by_traffic(K, hw, {}, a, b, w)
    assert np.bincount(tr, minlength=hw.n_chips).max() <= hw.cores_per_chip
    assert interchip_cost(a, b, w, tr, hw) < interchip_cost(a, b, w, seq, hw)
    assert interchip_cost(a, b, w, tr, hw) == 0.0  # each group fits one chip


def test_group_swaps_match_brute_force_cost():
    rng = np.random.default_rng(1)
    hw = Hardware(1, 1, 4, (3, 3, 1))
    K = 36
    chip = np.repeat(np.arange(9), 4)
    a, b = rng.integers(0, K, 200), rng.integers(0, K, 200)
    keep = a != b
    a, b, w = a[keep], b[keep], rng.random(int(keep.sum()))
    placed = _place_groups(chip, hw, {}, a, b, w)
    assert sorted(np.bincount(placed).tolist()) == sorted(np.bincount(chip).tolist())
    assert interchip_cost(a, b, w, placed, hw) <= interchip_cost(a, b, w, chip, hw) + 1e-12


# ----------------------------------------------------------------------- NoC across chips
@pytest.mark.parametrize("kind", ["simpy", "analytic"])
def test_single_packet_across_a_chip_boundary(kind):
    sysm = system_of(TINY, (2, 1, 1))
    hw = Hardware.of(sysm)
    core_router = np.array([hw.router_id(0, 0, 0), hw.router_id(1, 1, 1)])
    noc = make_noc(kind, sysm, core_router)
    r = noc.step(np.array([0]), np.array([1]), np.array([1]))
    # global X 0 -> 3: one east hop on chip 0, the boundary, one east hop on chip 1; then one north
    t = TINY.time.message_out + 2 * TINY.noc.hop_time_ew_s + 1 * 5e-8 + 1 * TINY.noc.hop_time_ns_s + \
        TINY.time.message_in
    assert r.drain_s == pytest.approx(t, rel=1e-12)
    assert (r.hops, r.hops_ew, r.hops_ns, r.hops_interchip, r.interchip_packets) == (4, 2, 1, 1, 1)


@pytest.mark.parametrize("kind", ["simpy", "analytic"])
def test_chip_boundary_serialises_a_train(kind):
    """A train of n packets across a slow chip-to-chip link takes n link periods there."""
    sysm = system_of(TINY, (2, 1, 1), bandwidth_pps=1e6)
    hw = Hardware.of(sysm)
    core_router = np.array([hw.router_id(0, 1, 0), hw.router_id(1, 0, 0)])  # one boundary hop
    n = 40
    r = make_noc(kind, sysm, core_router).step(np.array([0]), np.array([1]), np.array([n]))
    assert r.drain_s >= (n - 1) * 1e-6
    # zero load: the first packet's latency, then one link period per further packet
    assert r.drain_s == pytest.approx(TINY.time.message_out + 5e-8 + TINY.time.message_in + (n - 1) * 1e-6,
                                      rel=1e-9)


def test_simpy_back_pressure_at_the_chip_boundary():
    sysm = system_of(TINY, (2, 1, 1), bandwidth_pps=1e6)
    hw = Hardware.of(sysm)
    core_router = np.array([hw.router_id(0, 0, 0), hw.router_id(0, 1, 0), hw.router_id(1, 0, 0)])
    r = make_noc("simpy", sysm, core_router, chunk_packets=1).step(
        np.array([0, 1]), np.array([2, 2]), np.array([30, 30]))
    assert r.stalls > 0  # buffers in front of the slow link fill up
    assert r.injected == r.delivered == r.packets == 60


def test_mapper_link_loads_equal_noc_link_counters():
    """The mapper's expected link loads, fed the spikes a run fired, are the NoC's counters."""
    net = small_net()
    sysm = system_of(TINY, (2, 2, 1))
    m = map_network(net, sysm, mapper="traffic", max_per_core=20)
    assert m.chips_used >= 2
    for kind in ("analytic", "simpy"):
        run = emulate(net, m, noc=kind)
        fired = np.bincount(run.spikes.neuron, minlength=net.flat().n)
        f = net.flat()
        from chipemu.reference import input_schedule
        _, in_src = input_schedule(f, run.steps)
        inputs = np.bincount(in_src - f.n, minlength=f.in_n)
        graph = __import__("mapper").build_graph(net)
        indptr, cores = destination_cores(graph, m.neuron_core, m.input_core, m.n_cores)
        loads = link_loads(indptr, cores, m.source_core, m.hardware, m.core_router, np.r_[fired, inputs])
        assert np.array_equal(loads.astype(np.int64), run.link_packets)
        assert run.noc["hops_interchip"] == int(run.link_packets[m.hardware.link_kind == CHIP_TO_CHIP].sum())


# ----------------------------------------------------------------------- invariance
_NET = small_net(n=240, fanout=10, steps=20, seed=5)
_REF = reference_run(_NET, 20).spikes


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(chips=st.sampled_from([(1, 1, 1), (2, 1, 1), (4, 2, 1), (8, 4, 1), (2, 2, 2)]),
       mapper=st.sampled_from(sorted(MAPPERS)), kind=st.sampled_from(["analytic", "simpy"]),
       per_core=st.sampled_from([4, 8, 30]))
def test_spikes_do_not_depend_on_the_number_of_chips(chips, mapper, kind, per_core):
    spec = TINY if chips == (1, 1, 1) else system_of(TINY, chips)
    try:
        m = map_network(_NET, spec, mapper=mapper, max_per_core=per_core)
    except FitError as e:  # too many cores for this grid: nothing to compare
        assert "cores >" in str(e) or "cores " in str(e)
        return
    run = emulate(_NET, m, noc=kind)
    assert run.spikes == _REF
    # packets are conserved across chip boundaries: every packet injected is delivered
    out, into = run.info["core_packets_out"], run.info["core_packets_in"]
    assert int(out.sum()) == int(into.sum()) == run.noc["packets"]
    assert run.noc["interchip_packets"] <= run.noc["packets"]
    assert run.noc["hops"] == run.noc["hops_ew"] + run.noc["hops_ns"] + run.noc["hops_interchip"]
    if m.chips_used == 1:
        assert run.noc["interchip_packets"] == 0


def test_run_on_a_system_preset_writes_chip_level_report(tmp_path):
    out = tmp_path / "o"
    assert main(["run", "programs/synfire.py", "--param", "groups=10", "--chip", "kapoho-bay", "--noc", "analytic",
                 "--max-per-core", "2", "--mapper", "sequential", "--out", str(out)]) == 0
    r = json.loads((out / "report.json").read_text())
    assert r["chip"]["name"] == "kapoho-bay" and r["chip"]["n_chips"] == 2
    assert r["mapping"]["chips_used"] == 2 and len(r["mapping"]["core_chip"]) == r["mapping"]["cores_used"]
    assert r["noc"]["interchip_packets"] > 0
    assert r["chips"]["links"] and sum(r["chips"]["packets_out"]) == r["noc"]["packets"]
    assert r["energy"]["breakdown"]["hops_interchip"] == pytest.approx(r["noc"]["hops_interchip"] * 9.6e-11)
    assert (out / "links.png").stat().st_size > 0
