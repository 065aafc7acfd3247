"""Mesh NoC: XY routing, the SimPy reference model and the analytic model."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chipemu.chips import load_chip
from chipemu.errors import ChipemuError
from chipemu.noc import (AnalyticNoc, MeshTopology, NocModel, NocStepResult, SimpyNoc,
                         make_noc)
from chipemu.noc.analytic import fifo_waits

KINDS = ["simpy", "analytic"]
E, W, N, S = 0, 1, 2, 3


@pytest.fixture(scope="module")
def loihi():
    return load_chip("loihi1")


def placement(chip):
    """Logical core k on router k // cores_per_router (every physical core used)."""
    return np.repeat(np.arange(chip.n_routers), chip.mesh.cores_per_router)


def core_at(chip, x, y, slot=0):
    """A core id on router (x, y) under :func:`placement`."""
    return (y * chip.mesh.columns + x) * chip.mesh.cores_per_router + slot


def slow_link_chip(**extra):
    """loihi1 with a link period (10 ns) above every hop latency: streaming is exact."""
    return load_chip("loihi1").with_overrides({"noc.link_bandwidth_pps": 1e8, **extra})


def uniform_traffic(chip, fanout, spikes, seed=0):
    """Every core sends ``spikes`` packets to each of ``fanout`` random other cores."""
    rng = np.random.default_rng(seed)
    k = chip.n_cores
    src = np.repeat(np.arange(k), fanout)
    dst = np.concatenate([rng.choice(np.delete(np.arange(k), i), fanout, replace=False)
                          for i in range(k)])
    return src, dst, np.full(src.size, spikes)


def run(kind, chip, src, dst, count, **options):
    noc = make_noc(kind, chip, placement(chip), **options)
    return noc, noc.step(np.asarray(src), np.asarray(dst), np.asarray(count))


# ---- topology -------------------------------------------------------------------------


def test_mesh_links_and_endpoints():
    m = MeshTopology(8, 4)
    assert m.n_routers == 32 and m.n_links == 128
    assert int(m.link_exists.sum()) == 2 * 7 * 4 + 2 * 8 * 3
    assert m.link_endpoints(0 * 4 + E) == (0, 1)
    assert m.link_endpoints(9 * 4 + W) == (9, 8)
    assert m.link_endpoints(9 * 4 + N) == (9, 17)
    assert m.link_endpoints(9 * 4 + S) == (9, 1)
    assert m.link_direction(9 * 4 + S) == S
    for bad in (0 * 4 + W, 0 * 4 + S, 31 * 4 + E, 31 * 4 + N, 128, -1):
        with pytest.raises(ChipemuError, match="does not exist"):
            m.link_endpoints(bad)


def test_xy_routes_by_hand():
    m = MeshTopology(8, 4)
    # (0,0) -> (7,3): 7 hops east along y=0, then 3 north in column 7
    assert m.route(0, 31).tolist() == [r * 4 + E for r in range(7)] + [7 * 4 + N, 15 * 4 + N,
                                                                       23 * 4 + N]
    assert m.hop_counts(0, 31) == (7, 3, 0)
    # (7,3) -> (0,0): 7 hops west along y=3, then 3 south in column 0
    assert m.route(31, 0).tolist() == [r * 4 + W for r in range(31, 24, -1)] + [
        24 * 4 + S, 16 * 4 + S, 8 * 4 + S]
    # (2,1) -> (2,3): north only; (5,2) -> (3,2): west only; same router: no hops
    assert m.route(10, 26).tolist() == [10 * 4 + N, 18 * 4 + N]
    assert m.route(21, 19).tolist() == [21 * 4 + W, 20 * 4 + W]
    assert m.route(12, 12).tolist() == [] and m.hop_counts(12, 12) == (0, 0, 0)
    ew, ns, _ = m.hop_counts(np.array([0, 31, 10]), np.array([31, 0, 26]))
    assert ew.tolist() == [7, 7, 0] and ns.tolist() == [3, 3, 2]


@settings(max_examples=60, deadline=None)
@given(cols=st.integers(1, 6), rows=st.integers(1, 6), data=st.data())
def test_xy_route_is_a_path_x_first(cols, rows, data):
    m = MeshTopology(cols, rows)
    s = data.draw(st.integers(0, m.n_routers - 1))
    d = data.draw(st.integers(0, m.n_routers - 1))
    route = m.route(s, d)
    assert len(route) == sum(m.hop_counts(s, d))
    at, dirs = s, []
    for link in route.tolist():
        a, b = m.link_endpoints(link)
        assert a == at
        at = b
        dirs.append(m.link_direction(link))
    assert at == d
    assert dirs == sorted(dirs, key=lambda x: x >= N)  # all E/W hops before N/S hops


def test_mesh_rejects_bad_arguments():
    with pytest.raises(ChipemuError, match="columns"):
        MeshTopology(0, 4)
    with pytest.raises(ChipemuError, match="router index 32 out of range"):
        MeshTopology(8, 4).route(0, 32)


# ---- zero-load timing -----------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("message_in", [0.0, 16e-9])
def test_single_packet_latency_exact(kind, message_in):
    chip = load_chip("loihi1").with_overrides({"time.message_in": message_in})
    src, dst = core_at(chip, 1, 0), core_at(chip, 6, 3, 2)  # 5 E-W hops, 3 N-S hops
    noc, r = run(kind, chip, [src], [dst], [1])
    expected = (chip.time.message_out + 5 * chip.noc.hop_time_ew_s
                + 3 * chip.noc.hop_time_ns_s + message_in)
    assert r.drain_s == pytest.approx(expected, rel=1e-12)
    assert r.max_latency_s == pytest.approx(expected, rel=1e-12)
    assert r.mean_latency_s == pytest.approx(expected, rel=1e-12)
    assert (r.packets, r.hops, r.hops_ew, r.hops_ns, r.stalls) == (1, 8, 5, 3, 0)
    assert r.queue_delay_s == pytest.approx(0, abs=1e-18)


@pytest.mark.parametrize("kind", KINDS)
def test_same_router_train_costs_only_injection(kind, loihi):
    noc, r = run(kind, loihi, [core_at(loihi, 3, 2, 0)], [core_at(loihi, 3, 2, 1)], [5])
    assert r.hops == 0 and r.packets == 5
    assert r.drain_s == pytest.approx(5 * loihi.time.message_out, rel=1e-12)
    assert noc.link_packets.sum() == 0


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("count", [1, 7, 8, 9, 37])
@pytest.mark.parametrize("overrides", [
    {},                                                   # link is the bottleneck
    {"time.message_out": 20e-9},                          # injection is the bottleneck
    {"time.message_out": 0.0},                            # bandwidth only
    {"time.message_out": 3e-9, "time.message_in": 12e-9},  # ejection is the bottleneck
])
def test_pipelined_train_latency(kind, count, overrides):
    """c packets over h hops: first-packet latency + (c - 1) x slowest stage period."""
    chip = slow_link_chip(**overrides)
    src, dst = core_at(chip, 0, 0), core_at(chip, 4, 2)  # 4 E-W + 2 N-S hops
    noc, r = run(kind, chip, [src], [dst], [count])
    t_out, t_in = chip.time.message_out, chip.time.message_in
    first = t_out + 4 * chip.noc.hop_time_ew_s + 2 * chip.noc.hop_time_ns_s + t_in
    period = max(t_out, t_in, 1 / chip.noc.link_bandwidth_pps)
    assert r.drain_s == pytest.approx(first + (count - 1) * period, rel=1e-12)
    assert r.max_latency_s == pytest.approx(first + (count - 1) * (period - t_out), rel=1e-12)
    assert r.queue_delay_s == pytest.approx(0, abs=1e-18)
    assert r.chunks == -(-count // chip.noc.buffer_depth)


@pytest.mark.parametrize("kind", KINDS)
def test_bandwidth_serialises_a_shared_link(kind):
    """Two trains over the same single link: the link passes one packet per period."""
    chip = load_chip("loihi1").with_overrides({"time.message_out": 0.0})
    a, b, d = core_at(chip, 2, 1, 0), core_at(chip, 2, 1, 1), core_at(chip, 3, 1)
    noc, r = run(kind, chip, [a, b], [d, d], [13, 11])
    period = 1 / chip.noc.link_bandwidth_pps
    assert r.drain_s == pytest.approx(chip.noc.hop_time_ew_s + (13 + 11 - 1) * period,
                                      rel=1e-12)
    assert noc.link_packets[(1 * 8 + 2) * 4 + E] == 24
    _, alone = run(kind, chip, [a], [d], [13])
    assert r.drain_s > alone.drain_s


# ---- back-pressure, saturation, conservation ------------------------------------------


def test_backpressure_depth_one_stalls_but_delivers_everything():
    chip = load_chip("tiny").with_overrides({"noc.buffer_depth": 1,
                                             "time.message_in": 40e-9})
    k = chip.n_cores
    src, dst = np.arange(1, k), np.zeros(k - 1, dtype=int)  # everybody -> core 0
    noc, r = run("simpy", chip, src, dst, np.full(k - 1, 6))
    assert r.stalls > 0 and r.queue_delay_s > 0
    assert r.injected == r.delivered == r.packets == 6 * (k - 1)
    assert noc.core_packets_in[0] == r.packets
    assert (noc.core_packets_out[1:] == 6).all()
    # the ejection port is the bottleneck: one packet per message_in
    assert r.drain_s >= r.packets * chip.time.message_in


@pytest.mark.parametrize("depth", [1, 2, 8])
@pytest.mark.parametrize("pattern", ["hotspot", "transpose"])
def test_saturating_patterns_terminate_without_loss(loihi, depth, pattern):
    chip = loihi.with_overrides({"noc.buffer_depth": depth})
    k = chip.n_cores
    if pattern == "hotspot":
        src, dst = np.arange(1, k), np.zeros(k - 1, dtype=int)
    else:  # core (x, y, slot) -> mirrored core: every packet crosses the bisection
        src = np.arange(k)
        dst = k - 1 - src
    count = np.full(src.size, 20)
    noc, r = run("simpy", chip, src, dst, count)
    assert r.injected == r.delivered == r.packets == int(count.sum())
    assert r.stalls > 0
    assert np.array_equal(noc.core_packets_in, np.bincount(dst, count, k).astype(int))
    ana, ra = run("analytic", chip, src, dst, count)
    assert np.array_equal(noc.link_packets, ana.link_packets)
    assert r.drain_s >= ra.drain_s * (1 - 1e-9)  # the analytic model has no back-pressure


@pytest.mark.parametrize("kind", KINDS)
def test_latency_rises_with_offered_load(kind, loihi):
    drains, means = [], []
    for spikes in (1, 2, 4, 8, 16):
        _, r = run(kind, loihi, *uniform_traffic(loihi, 6, spikes))
        drains.append(r.drain_s)
        means.append(r.mean_latency_s)
    assert all(a < b for a, b in zip(drains, drains[1:]))
    assert all(a < b for a, b in zip(means, means[1:]))


# ---- the two models agree -------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_counters_identical_simpy_vs_analytic(seed, loihi):
    rng = np.random.default_rng(seed)
    models = [make_noc(kind, loihi, placement(loihi)) for kind in KINDS]
    for _ in range(3):  # a few steps: cumulative counters too
        t = int(rng.integers(1, 400))
        src, dst = rng.integers(0, loihi.n_cores, t), rng.integers(0, loihi.n_cores, t)
        count = rng.integers(0, 12, t)
        rs, ra = (m.step(src, dst, count) for m in models)
        for f in ("packets", "hops", "hops_ew", "hops_ns", "trains", "chunks", "injected",
                  "delivered", "self_packets", "max_link_packets"):
            assert getattr(rs, f) == getattr(ra, f), f
    s, a = models
    assert np.array_equal(s.link_packets, a.link_packets)
    assert np.array_equal(s.core_packets_out, a.core_packets_out)
    assert np.array_equal(s.core_packets_in, a.core_packets_in)
    assert not s.link_packets[~s.topology.link_exists].any()
    for f in ("packets", "hops", "hops_ew", "hops_ns", "steps"):
        assert getattr(s.totals, f) == getattr(a.totals, f)
    assert s.totals.hops == s.link_packets.sum()


@pytest.mark.parametrize("seed", range(5))
def test_low_load_latency_agrees(seed, loihi):
    """A few dozen short trains on 128 cores: the models agree within 2 %."""
    rng = np.random.default_rng(seed)
    t = 24
    src, dst = rng.integers(0, loihi.n_cores, t), rng.integers(0, loihi.n_cores, t)
    count = rng.integers(1, 5, t)
    _, rs = run("simpy", loihi, src, dst, count)
    _, ra = run("analytic", loihi, src, dst, count)
    assert ra.drain_s == pytest.approx(rs.drain_s, rel=0.02)
    assert ra.mean_latency_s == pytest.approx(rs.mean_latency_s, rel=0.02)
    assert ra.max_latency_s == pytest.approx(rs.max_latency_s, rel=0.02)


def test_moderate_load_agreement(loihi):
    """1,024 trains (8 packets per core): still within 10 %; the analytic model is lower."""
    traffic = uniform_traffic(loihi, 8, 1)
    _, rs = run("simpy", loihi, *traffic)
    _, ra = run("analytic", loihi, *traffic)
    assert ra.drain_s == pytest.approx(rs.drain_s, rel=0.10)
    assert ra.mean_latency_s == pytest.approx(rs.mean_latency_s, rel=0.10)


def test_packet_level_chunks_match_train_level_at_low_load(loihi):
    traffic = uniform_traffic(loihi, 4, 3, seed=7)
    _, r8 = run("simpy", loihi, *traffic)
    _, r1 = run("simpy", loihi, *traffic, chunk_packets=1)
    assert r1.chunks == r1.packets and r8.chunks < r1.chunks
    assert r8.drain_s == pytest.approx(r1.drain_s, rel=0.05)


def test_fifo_waits_lindley():
    # one server: jobs at t=0 (3 s), t=1 (2 s), t=10 (1 s); another server idle
    waits = fifo_waits(np.array([5, 5, 5, 2]), np.array([0.0, 1.0, 10.0, 0.0]),
                       np.array([3.0, 2.0, 1.0, 4.0]))
    assert waits.tolist() == [0.0, 2.0, 0.0, 0.0]


# ---- determinism, bookkeeping, interface ----------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_deterministic(kind, loihi):
    traffic = uniform_traffic(loihi, 10, 5, seed=3)
    (n1, r1), (n2, r2) = run(kind, loihi, *traffic), run(kind, loihi, *traffic)
    assert r1 == r2
    assert np.array_equal(n1.link_packets, n2.link_packets)
    # input order does not matter: trains are put in canonical order
    perm = np.random.default_rng(0).permutation(traffic[0].size)
    _, r3 = run(kind, loihi, *(a[perm] for a in traffic))
    assert r3 == r1


# Exact SimPy results, computed with the first version of the model (one SimPy process per
# chunk): (drain_s, stalls, queue_delay_s, max_latency_s, latency_sum_s as float.hex, chunks).
# The dyadic timing below makes many packets meet at exactly the same instant, so these
# numbers also pin how ties are broken (SimPy's event order).  A change of the model's
# event scheduling that is meant to be a pure speed-up must leave them unchanged.
_DYADIC = {"time.message_out": 0.0, "time.message_in": 2 * 2.0 ** -30,
           "noc.link_bandwidth_pps": 2.0 ** 29, "noc.hop_time_ew_s": 2.0 ** -30,
           "noc.hop_time_ns_s": 3 * 2.0 ** -30, "noc.buffer_depth": 2}
_PINNED_TINY = {  # chunk_packets -> one result per step
    None: [("0x1.a800000000000p-25", 46, "0x1.31c0000000000p-20", "0x1.a800000000000p-25",
            "0x1.00c0000000000p-19", 52),
           ("0x1.1c00000000000p-24", 23, "0x1.e680000000000p-21", "0x1.1c00000000000p-24",
            "0x1.3bc0000000000p-20", 21)],
    1: [("0x1.a000000000000p-25", 77, "0x1.2d40000000000p-20", "0x1.a000000000000p-25",
         "0x1.fd00000000000p-20", 94),
        ("0x1.1800000000000p-24", 32, "0x1.e500000000000p-21", "0x1.1800000000000p-24",
         "0x1.3b00000000000p-20", 35)],
}
_PINNED_UNIFORM = {
    "loihi1": ("0x1.112739b6f5150p-19", 553, "0x1.2f0c3f2e3e5ecp-9", "0x1.0aaba66bf4d3ap-19",
               "0x1.3a7c8ed529fb4p-9", 768),
    "loihi1-silicon": ("0x1.18af592d9cc1dp-19", 592, "0x1.2e7e04d28ea06p-9",
                       "0x1.08f0f3777790cp-19", "0x1.45955ec788c44p-9", 768),
}


def _pinned(r):
    return (r.drain_s.hex(), r.stalls, r.queue_delay_s.hex(), r.max_latency_s.hex(),
            r.latency_sum_s.hex(), r.chunks)


@pytest.mark.parametrize("chunk_packets", [None, 1])
def test_simpy_results_pinned_with_ties(chunk_packets):
    """Random trains, then a hotspot, on tiny with 2-packet buffers and no injection time:
    chunks are granted their port at time 0 and later (idle and new carriers), stall, and
    meet at equal times."""
    chip = load_chip("tiny").with_overrides(_DYADIC)
    k = chip.n_cores
    rng = np.random.default_rng(5)
    steps = [(rng.integers(0, k, 24), rng.integers(0, k, 24), rng.integers(0, 9, 24)),
             (np.arange(k), np.zeros(k, dtype=int), np.full(k, 5))]
    noc = make_noc("simpy", chip, placement(chip), chunk_packets=chunk_packets)
    results = [noc.step(*step) for step in steps]
    assert [_pinned(r) for r in results] == _PINNED_TINY[chunk_packets]
    assert all(r.injected == r.delivered == r.packets for r in results)


@pytest.mark.parametrize("name", sorted(_PINNED_UNIFORM))
def test_simpy_results_pinned_uniform(name):
    """768 trains of 4 packets on the 128-core mesh: the float sums run in event order."""
    chip = load_chip(name)
    _, r = run("simpy", chip, *uniform_traffic(chip, 6, 4, seed=2))
    assert _pinned(r) == _PINNED_UNIFORM[name]


def test_simpy_buffer_forgets_a_chunk_once_its_last_packet_left():
    """Rounding can put the computed leave time of a chunk's last packet one ulp after the
    chunk's last leave time; the buffer still counts that packet as gone from then on."""
    from chipemu.noc.simpy_model import _Channel

    first, last, n = 5e-09, 3.4e-08, 8
    assert first + (n - 1) * ((last - first) / (n - 1)) > last  # the rounding case
    ch = _Channel(period=0.0, depth=n)
    assert ch.request(0.0, 0.0, n, 0.0, 0, 1) == (0.0, 0.0, False)  # a chunk fills the buffer
    woken = []
    ch.release(0.0, n, first, last, woken)  # and is granted its next stage: leaves first..last
    assert woken == []
    # at ``last`` the buffer is empty: a full chunk gets room at once, without a stall
    assert ch.request(last, last, n, last, 1, 1) == (last, last, False)


@pytest.mark.parametrize("kind", KINDS)
def test_self_duplicate_and_empty_trains(kind, loihi):
    noc = make_noc(kind, loihi, placement(loihi))
    r = noc.step(np.array([3, 3, 3, 4]), np.array([3, 9, 9, 9]), np.array([5, 2, 1, 0]))
    assert (r.self_packets, r.packets, r.trains) == (5, 3, 1)  # 3->9 merged, 4->9 empty
    empty = noc.step(np.array([], dtype=int), np.array([], dtype=int), np.array([], dtype=int))
    assert empty == NocStepResult()
    assert noc.totals.steps == 2 and noc.totals.packets == 3
    assert noc.core_packets_out[3] == 3 and noc.core_packets_in[9] == 3
    noc.reset()
    assert noc.totals.steps == 0 and noc.link_packets.sum() == 0


@pytest.mark.parametrize("kind", KINDS)
def test_totals_accumulate(kind, loihi):
    noc = make_noc(kind, loihi, placement(loihi))
    results = [noc.step(*uniform_traffic(loihi, 3, s, seed=s)) for s in (1, 2, 3)]
    assert noc.totals.steps == 3
    assert noc.totals.packets == sum(r.packets for r in results)
    assert noc.totals.drain_s == pytest.approx(sum(r.drain_s for r in results))
    assert noc.totals.max_latency_s == max(r.max_latency_s for r in results)
    assert noc.core_packets_out.sum() == noc.totals.packets


def test_make_noc_and_protocol(loihi):
    assert isinstance(make_noc("simpy", loihi, placement(loihi)), SimpyNoc)
    assert isinstance(make_noc("analytic", loihi, placement(loihi)), AnalyticNoc)
    for kind in KINDS:
        noc = make_noc(kind, loihi, placement(loihi))
        assert isinstance(noc, NocModel) and noc.name == kind
    with pytest.raises(ChipemuError, match="NoC model 'booksim' is unknown"):
        make_noc("booksim", loihi, placement(loihi))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("args, message", [
    (([0, 128], [1, 2], [1, 1]), r"src_core\[1\] = 128 out of range \(allowed: core id 0..127\)"),
    (([0, 1], [1, -1], [1, 1]), r"dst_core\[1\] = -1 out of range"),
    (([0, 1], [1, 2], [1, -3]), r"count\[1\] = -3 is negative"),
    (([0, 1], [1, 2], [1]), r"lengths 2, 2, 1 \(allowed: the same length\)"),
    (([0.5], [1], [1]), r"src_core must hold integers"),
    (([[0]], [[1]], [[1]]), r"src_core must be a 1-D array"),
])
def test_step_rejects_bad_input(kind, loihi, args, message):
    noc = make_noc(kind, loihi, placement(loihi))
    with pytest.raises(ChipemuError, match=message):
        noc.step(*(np.asarray(a) for a in args))
    assert noc.totals.steps == 0


@pytest.mark.parametrize("core_router, message", [
    ([0, 32], r"core_router\[1\] = 32 out of range \(allowed: router 0..31\)"),
    ([0] * 5, r"router 0 hosts 5 cores \(allowed: at most mesh.cores_per_router = 4\)"),
    ([], r"non-empty 1-D integer array"),
    ([0.0, 1.0], r"non-empty 1-D integer array"),
])
def test_constructor_rejects_bad_placement(loihi, core_router, message):
    with pytest.raises(ChipemuError, match=message):
        SimpyNoc(loihi, np.asarray(core_router))


def test_chunk_packets_option_is_checked(loihi):
    with pytest.raises(ChipemuError, match=r"chunk_packets = 9 is invalid \(allowed: int 1..noc"):
        make_noc("simpy", loihi, placement(loihi), chunk_packets=9)


@pytest.mark.parametrize("chip_name", ["loihi1", "loihi1-silicon", "tiny"])
@pytest.mark.parametrize("per_step, max_count", [(5, 3), (300, 40)])
def test_analytic_run_steps_equals_step_by_step(chip_name, per_step, max_count):
    """The chip runner evaluates the analytic model for whole blocks of steps at once
    (``run_steps``); it must give bit-identical per-step results and counters to calling
    ``step()`` once per step (duplicates, self-addressed and zero-count trains included)."""
    from dataclasses import fields

    from chipemu.noc.analytic import step_results

    rng = np.random.default_rng(per_step)
    chip = load_chip(chip_name)
    K = min(12, chip.n_cores)
    core_router = rng.permutation(np.repeat(np.arange(chip.n_routers), chip.mesh.cores_per_router))[:K]
    n_steps = 17
    m = rng.integers(0, per_step + 1, n_steps)
    st = np.repeat(np.arange(n_steps), m)
    s, d = rng.integers(0, K, st.size), rng.integers(0, K, st.size)
    c = rng.integers(0, max_count + 1, st.size)
    perm = rng.permutation(st.size)
    st, s, d, c = st[perm], s[perm], d[perm], c[perm]
    block = AnalyticNoc(chip, core_router)
    per = step_results(block.run_steps(st, s, d, c, n_steps=n_steps))
    single = AnalyticNoc(chip, core_router)
    for t in range(n_steps):
        ref = single.step(s[st == t], d[st == t], c[st == t])
        for f in fields(ref):
            assert repr(getattr(per[t], f.name)) == repr(getattr(ref, f.name)), (t, f.name)
    for k in ("link_packets", "core_packets_out", "core_packets_in"):
        assert np.array_equal(getattr(block, k), getattr(single, k))
    assert block.totals == single.totals


def test_route_table_columns_grow_at_most_to_the_bound(monkeypatch):
    """A route-table column doubles its capacity, but never past MAX_CACHED_ENTRIES
    values unless one extend needs more."""
    import chipemu.noc.routetable as routetable

    monkeypatch.setattr(routetable, "MAX_CACHED_ENTRIES", 3000)
    col = routetable._Column(np.int64)
    col.extend(np.arange(1000))
    assert col.a.size == 1024
    col.extend(np.arange(1000, 1100))
    assert col.a.size == 2048
    col.extend(np.arange(1100, 2500))
    assert col.a.size == 3000 and col.n == 2500 and np.array_equal(col.a[:col.n], np.arange(2500))
    col.extend(np.arange(2500, 4000))
    assert col.a.size == 4000 and np.array_equal(col.a[:col.n], np.arange(4000))


_EVALUATION_LIMITS = [
    {"routetable._DENSE_INDEX_CELLS": 0},                   # pairs found in sorted keys, not a dense index
    {"routetable.MAX_CACHED_ENTRIES": 64},                  # the route table starts afresh when full
    {"analytic._MAX_ARRIVAL_GRID": 1 << 15},                # arrival times ranked per pass, not on a kept grid
    {"analytic._MAX_ARRIVAL_GRID": 1},                      # ... and per entry
    {"analytic._BLOCK_ENTRIES": 64},                        # many small passes
]


# the compiled contention pass keeps no arrival-time grid: its limits apply to numpy only
@pytest.mark.parametrize("limits, compiled", [(lim, False) for lim in _EVALUATION_LIMITS]
                         + [(lim, True) for lim in _EVALUATION_LIMITS if "analytic._MAX_ARRIVAL_GRID" not in lim])
def test_analytic_evaluation_paths_give_identical_results(limits, compiled, monkeypatch):
    """The analytic model's bounded caches and fallbacks (route table index and size,
    arrival-time grid, pass size) change how it computes, never what: every per-step
    result and counter is bit-identical to the default evaluation, trains of many
    packets and self-addressed ones included, on a system of chips; with the contention
    pass in numpy and in the compiled kernel (which has no arrival-time grid)."""
    import chipemu.noc.analytic as analytic
    import chipemu.noc.routetable as routetable
    from chipemu.chips import load_hardware

    rng = np.random.default_rng(7)
    system = load_hardware("kapoho-bay")
    K = 60
    core_router = rng.permutation(np.repeat(np.arange(system.n_routers), system.mesh.cores_per_router))[:K]
    n_steps = 9
    st = np.repeat(np.arange(n_steps), rng.integers(0, 400, n_steps))
    s, d = rng.integers(0, K, st.size), rng.integers(0, K, st.size)
    c = np.where(rng.random(st.size) < 0.8, 1, rng.integers(0, 30, st.size))

    def run():
        noc = AnalyticNoc(system, core_router, compiled=compiled)
        first = noc.run_steps(st, s, d, c, n_steps=n_steps)
        second = noc.run_steps(st, s, d, c, n_steps=n_steps)  # warm route table and grid
        return first, second, noc

    expected = run()
    for name, value in limits.items():
        module, attr = name.split(".")
        monkeypatch.setattr({"analytic": analytic, "routetable": routetable}[module], attr, value)
    got = run()
    taken = {"routetable._DENSE_INDEX_CELLS": not got[2].routes._dense,
             "routetable.MAX_CACHED_ENTRIES": got[2].routes.generation > 0,
             "analytic._MAX_ARRIVAL_GRID": got[2]._grid is None, "analytic._BLOCK_ENTRIES": True}
    assert all(taken[name] for name in limits)  # the path under test was taken
    for want, have in zip(expected[:2], got[:2]):
        for k in want:
            assert want[k].tobytes() == have[k].tobytes(), k
    for k in ("link_packets", "core_packets_out", "core_packets_in"):
        assert np.array_equal(getattr(expected[2], k), getattr(got[2], k))
    assert repr(expected[2].totals) == repr(got[2].totals)
