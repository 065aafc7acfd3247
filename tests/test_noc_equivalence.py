"""The SimPy NoC model against its frozen first implementation (tests/noc_oracle.py).

Every speed-up of the reference NoC model must leave its results bit-identical, in both of
its executions (the compiled kernel and the pure-Python bookkeeping): every
field of every step's :class:`NocStepResult` (floats compared exactly), the cumulative
per-link and per-core counters and the totals, step after step on the same model.  The
cases cover what changes the event order: ties (dyadic timing), back-pressure (buffers of
1-2 packets, hotspots), trains split into many chunks, packet-level chunks, ejection
ports, zero injection time, and chip-to-chip links of a system of chips.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chipemu.chips import BarrierSpec, GridSpec, LinkSpec, SystemSpec, load_chip
from chipemu.hardware import Hardware
from chipemu.noc import SimpyNoc
from noc_oracle import OracleSimpyNoc

DATA = Path(__file__).parent / "data"

# tiny with dyadic timing: many packets meet at exactly the same instant (ties)
_DYADIC = {"time.message_out": 0.0, "time.message_in": 2 * 2.0 ** -30,
           "noc.link_bandwidth_pps": 2.0 ** 29, "noc.hop_time_ew_s": 2.0 ** -30,
           "noc.hop_time_ns_s": 3 * 2.0 ** -30}


def placement(chip):
    """Logical core k on router k // cores_per_router (every physical core used)."""
    hw = Hardware.of(chip)
    return np.repeat(np.arange(hw.n_routers), hw.cores_per_router)


def assert_same(spec, core_router, steps, **options):
    """Run ``steps`` (src, dst, count) through the oracle and both executions of the
    current model (compiled kernel, pure Python); everything must be equal.  Returns the
    pure-Python model."""
    old = OracleSimpyNoc(spec, core_router, **options)
    compiled = SimpyNoc(spec, core_router, compiled=True, **options)
    python = SimpyNoc(spec, core_router, compiled=False, **options)
    for i, step in enumerate(steps):
        b = repr(old.step(*step))
        assert repr(compiled.step(*step)) == b, f"step {i} (compiled)"
        assert repr(python.step(*step)) == b, f"step {i} (python)"
    for new in (compiled, python):
        assert np.array_equal(new.link_packets, old.link_packets)
        assert np.array_equal(new.core_packets_out, old.core_packets_out)
        assert np.array_equal(new.core_packets_in, old.core_packets_in)
        assert repr(new.totals) == repr(old.totals)
    return python


def random_steps(n_cores, n_steps, trains, max_count, seed):
    rng = np.random.default_rng(seed)
    return [(rng.integers(0, n_cores, trains), rng.integers(0, n_cores, trains),
             rng.integers(0, max_count + 1, trains)) for _ in range(n_steps)]


def test_brunel_steps_recorded():
    """Six steps of README's main job (programs/brunel.py on loihi1, traffic mapper, seed 0;
    recorded by chipemu): 1,000-1,640 trains a step, up to 47k packets, thousands of stalls."""
    d = np.load(DATA / "noc_brunel_steps.npz")
    bounds = np.flatnonzero(np.r_[True, d["step"][1:] != d["step"][:-1], True])
    steps = [(d["src"][lo:hi], d["dst"][lo:hi], d["count"][lo:hi]) for lo, hi in zip(bounds[:-1], bounds[1:])]
    noc = assert_same(load_chip("loihi1"), d["core_router"], steps)
    assert noc.totals.stalls > 1000 and noc.totals.chunks > noc.totals.trains


@pytest.mark.parametrize("name", ["loihi1", "loihi1-silicon"])
@pytest.mark.parametrize("depth", [1, 2, 8])
def test_random_trains(name, depth):
    """Mixed train lengths (many chunks per train), several steps on one model; the
    silicon preset has an ejection stage."""
    chip = load_chip(name).with_overrides({"noc.buffer_depth": depth})
    assert_same(chip, placement(chip), random_steps(chip.n_cores, 3, 300, 3 * depth + 2, seed=depth))


@pytest.mark.parametrize("chunk_packets", [None, 1, 2])
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_ties_and_zero_injection_time(chunk_packets, depth):
    """Dyadic timing and no injection time: chunks pass zero-delay stages at once."""
    if chunk_packets is not None and chunk_packets > depth:
        pytest.skip("chunk_packets above the buffer depth")
    chip = load_chip("tiny").with_overrides({**_DYADIC, "noc.buffer_depth": depth})
    k = chip.n_cores
    hotspot = (np.arange(k), np.zeros(k, dtype=int), np.full(k, 5))
    steps = random_steps(k, 3, 40, 9, seed=depth) + [hotspot]
    assert_same(chip, placement(chip), steps, chunk_packets=chunk_packets)


@pytest.mark.parametrize("bandwidth_pps", [2e7, 1e6])
def test_system_of_chips(bandwidth_pps):
    """Two chips side by side (kapoho-bay's layout) with chip-to-chip links slow enough
    to fill the buffers in front of them."""
    tiny = load_chip("tiny").with_overrides({"core.fanout_axons": 256, "noc.buffer_depth": 2})
    system = SystemSpec("test-2x1x1", "test system", tiny, GridSpec(2, 1, 1),
                        LinkSpec(hop_time_s=5e-8, hop_energy_j=1e-10, bandwidth_pps=bandwidth_pps),
                        BarrierSpec(chips=(1, 32), time_s=(4.65e-7, 2e-6), mode="linear"))
    core_router = placement(system)
    noc = assert_same(system, core_router, random_steps(core_router.size, 3, 60, 7, seed=3))
    assert noc.totals.hops_interchip > 0 and noc.totals.stalls > 0


def test_kapoho_bay_preset():
    """The kapoho-bay preset (2 x loihi1), cores spread over both chips."""
    from chipemu.chips import load_hardware

    system = load_hardware("kapoho-bay")
    core_router = np.arange(0, Hardware.of(system).n_routers, 2)  # one core on every other router
    steps = random_steps(core_router.size, 2, 200, 12, seed=4)
    noc = assert_same(system, core_router, steps)
    assert noc.totals.hops_interchip > 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(depth=st.integers(1, 4), chunk=st.integers(1, 4), seed=st.integers(0, 2 ** 16),
       trains=st.integers(1, 60), max_count=st.integers(1, 12), dyadic=st.booleans(),
       eject=st.booleans())
def test_any_small_traffic(depth, chunk, seed, trains, max_count, dyadic, eject):
    chip = load_chip("tiny").with_overrides(
        {**(_DYADIC if dyadic else {}), "noc.buffer_depth": depth,
         "time.message_in": (2 * 2.0 ** -30 if dyadic else 1e-9) if eject else 0.0})
    steps = random_steps(chip.n_cores, 2, trains, max_count, seed)
    assert_same(chip, placement(chip), steps, chunk_packets=min(chunk, depth))


def test_small_caches_cleared_mid_step(monkeypatch):
    """The route and train-stage caches start afresh when full, mid-step included:
    results stay bit-identical to the oracle's."""
    import chipemu.noc.simpy_model as simpy_model

    monkeypatch.setattr(simpy_model, "_TRAINS_CACHED", 16)
    monkeypatch.setattr(simpy_model, "_ROUTES_CACHED", 8)
    chip = load_chip("loihi1")
    noc = assert_same(chip, placement(chip), random_steps(chip.n_cores, 3, 500, 5, seed=0))
    assert 0 < len(noc._routes) <= 8 and 0 < len(noc._train_stages) <= 16


def test_compiled_option():
    """The kernel is installed with chipemu (a missing kernel fails here: the SimPy NoC
    would run several times slower); ``compiled`` picks the execution and is checked."""
    from chipemu.errors import ChipemuError
    from chipemu.noc.simpy_model import KERNEL_AVAILABLE
    chip = load_chip("loihi1")
    assert KERNEL_AVAILABLE, "the compiled SimPy NoC kernel (_chipemu_noc_kernel) is not installed"
    assert SimpyNoc(chip, placement(chip)).compiled
    assert not SimpyNoc(chip, placement(chip), compiled=False).compiled
    with pytest.raises(ChipemuError, match="compiled = 'yes' is invalid"):
        SimpyNoc(chip, placement(chip), compiled="yes")


def test_noc_cycle_events():
    """The compiled execution's SimPy events each cover one NoC cycle (the link period):
    fewer events than instants on a busy step, and the same results as one SimPy event per
    instant (a window of 0)."""
    chip = load_chip("loihi1")
    noc = SimpyNoc(chip, placement(chip), compiled=True)
    assert noc._compiled.window_s == 1.0 / chip.noc.link_bandwidth_pps
    d = np.load(DATA / "noc_brunel_steps.npz")
    per_instant = SimpyNoc(chip, d["core_router"], compiled=True)
    per_instant._compiled.window_s = 0.0
    cycles = SimpyNoc(chip, d["core_router"], compiled=True)
    for step in np.unique(d["step"])[:3]:
        at = d["step"] == step
        trains = d["src"][at], d["dst"][at], d["count"][at]
        r = cycles.step(*trains)
        assert repr(per_instant.step(*trains)) == repr(r)
        assert per_instant._compiled.events == per_instant._compiled.instants
        assert r.chunks > 1000 and 0 < cycles._compiled.events < cycles._compiled.instants / 2


def test_strided_input_arrays():
    """Trains given as columns of one table (strided views) give the same results in both
    executions."""
    chip = load_chip("tiny")
    table = np.array([[0, 3, 4], [1, 4, 4], [2, 5, 4], [2, 7, 9]], dtype=np.int64)
    a = SimpyNoc(chip, placement(chip), compiled=True).step(table[:, 0], table[:, 1], table[:, 2])
    b = SimpyNoc(chip, placement(chip), compiled=False).step(*(table[:, j].copy() for j in range(3)))
    assert repr(a) == repr(b) and a.packets == 21
