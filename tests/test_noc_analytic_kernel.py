"""The analytic NoC model's two executions of its contention pass: the compiled kernel
(``chipemu/noc/_analytic_kernel.c``) and numpy (``AnalyticNoc._contention``).

They must give bit-identical results: every field of every step's result (floats compared
by their bits), the cumulative counters and the totals, through ``run_steps`` and ``step``.
The cases cover what changes the order of a link's jobs or their arithmetic: ties
(dyadic timing, equal arrival times), one-packet and many-packet trains (two work rules),
ejection ports, several steps per pass, chip-to-chip links, and the recorded steps of
README's main job.  The test fails if the kernel is not installed (``pip install``
builds it; in a source tree: ``python setup.py build_ext --inplace``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chipemu.chips import load_chip, load_hardware
from chipemu.errors import ChipemuError
from chipemu.hardware import Hardware
from chipemu.noc import analytic
from chipemu.noc.analytic import AnalyticNoc, step_results

DATA = Path(__file__).parent / "data"

_DYADIC = {"time.message_out": 0.0, "time.message_in": 2 * 2.0 ** -30,
           "noc.link_bandwidth_pps": 2.0 ** 29, "noc.hop_time_ew_s": 2.0 ** -30,
           "noc.hop_time_ns_s": 3 * 2.0 ** -30}


def test_kernel_installed():
    assert analytic.KERNEL_AVAILABLE, ("the compiled analytic NoC kernel (_chipemu_analytic_kernel) is not built: "
                                       "pip install . (or python setup.py build_ext --inplace)")
    assert AnalyticNoc(load_chip("tiny"), np.zeros(1, dtype=np.int64)).compiled


def _bits(x):
    a = np.asarray(x)
    return a.view(np.int64) if a.dtype == np.float64 else a


def assert_same(spec, core_router, st_, s, d, c, n_steps, also_step=True):
    """Both executions on the same traffic, through run_steps (twice: warm caches) and,
    if ``also_step``, step by step; everything bit-identical."""
    models = [AnalyticNoc(spec, core_router, compiled=flag) for flag in (True, False)]
    assert [m.compiled for m in models] == [True, False]
    for _ in range(2):
        got = [m.run_steps(st_, s, d, c, n_steps=n_steps) for m in models]
        for k in got[1]:
            assert np.array_equal(_bits(got[0][k]), _bits(got[1][k])), k
    for k in ("link_packets", "core_packets_out", "core_packets_in"):
        assert np.array_equal(getattr(models[0], k), getattr(models[1], k))
    assert repr(models[0].totals) == repr(models[1].totals)
    if also_step:
        one = [AnalyticNoc(spec, core_router, compiled=flag) for flag in (True, False)]
        for t in range(n_steps):
            a, b = (m.step(s[st_ == t], d[st_ == t], c[st_ == t]) for m in one)
            assert repr(a) == repr(b), t
    return step_results(got[1])


def placement(spec):
    hw = Hardware.of(spec)
    return np.repeat(np.arange(hw.n_routers), hw.cores_per_router)


def random_traffic(rng, n_cores, n_steps, per_step, max_count, p_single=0.8):
    st_ = np.repeat(np.arange(n_steps), rng.integers(0, per_step + 1, n_steps))
    s, d = rng.integers(0, n_cores, st_.size), rng.integers(0, n_cores, st_.size)
    c = np.where(rng.random(st_.size) < p_single, 1, rng.integers(0, max_count + 1, st_.size))
    return st_, s, d, c


@pytest.mark.parametrize("name", ["loihi1", "loihi1-silicon", "loihi2", "tiny"])
@pytest.mark.parametrize("max_count", [1, 30])
def test_random_traffic(name, max_count):
    """One-packet trains only (the work is the link's period) and mixed trains; the
    silicon preset has an ejection stage."""
    chip = load_chip(name)
    rng = np.random.default_rng(max_count)
    cr = placement(chip)
    per = assert_same(chip, cr, *random_traffic(rng, cr.size, 7, 600, max_count), n_steps=7)
    assert sum(r.queue_delay_s for r in per) > 0  # trains met: the recursion mattered


def test_ties():
    """Dyadic timing and no injection time: many heads reach a link at the same instant
    (ties broken by train order) and hotspots queue long."""
    chip = load_chip("tiny").with_overrides(_DYADIC)
    cr = placement(chip)
    rng = np.random.default_rng(3)
    st_, s, d, c = random_traffic(rng, cr.size, 5, 80, 9)
    k = cr.size
    st_ = np.r_[st_, np.full(k, 5)]  # a sixth step: every core to core 0
    s, d, c = np.r_[s, np.arange(k)], np.r_[d, np.zeros(k, dtype=int)], np.r_[c, np.full(k, 5)]
    assert_same(chip, cr, st_, s, d, c, n_steps=6)


@pytest.mark.parametrize("name", ["kapoho-bay", "nahuku32"])
def test_systems_of_chips(name):
    system = load_hardware(name)
    rng = np.random.default_rng(11)
    cr = rng.permutation(placement(system))[:400]
    per = assert_same(system, cr, *random_traffic(rng, cr.size, 4, 3000, 6), n_steps=4, also_step=False)
    assert sum(r.hops_interchip for r in per) > 0


def test_recorded_main_job_steps():
    """Six steps of README's main job (programs/brunel.py on loihi1), recorded by chipemu."""
    d = np.load(DATA / "noc_brunel_steps.npz")
    steps = np.unique(d["step"], return_inverse=True)[1].reshape(-1)
    assert_same(load_chip("loihi1"), d["core_router"], steps, d["src"], d["dst"], d["count"],
                n_steps=int(steps.max()) + 1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2 ** 16), per_step=st.integers(0, 80), max_count=st.integers(1, 12),
       n_steps=st.integers(1, 4), dyadic=st.booleans(), eject=st.booleans(), p_single=st.sampled_from([0.0, 0.5, 1.0]))
def test_any_small_traffic(seed, per_step, max_count, n_steps, dyadic, eject, p_single):
    chip = load_chip("tiny").with_overrides(
        {**(_DYADIC if dyadic else {}), "time.message_in": (2 * 2.0 ** -30 if dyadic else 1e-9) if eject else 0.0})
    cr = placement(chip)
    rng = np.random.default_rng(seed)
    assert_same(chip, cr, *random_traffic(rng, cr.size, n_steps, per_step, max_count, p_single), n_steps=n_steps)


def test_compiled_option():
    chip = load_chip("tiny")
    with pytest.raises(ChipemuError, match="compiled = 'yes' is invalid"):
        AnalyticNoc(chip, np.zeros(1, dtype=np.int64), compiled="yes")
    assert not AnalyticNoc(chip, np.zeros(1, dtype=np.int64), compiled=False).compiled


def test_kernel_rejects_bad_arrays():
    """The kernel checks what it is given (dtypes, lengths, indices) and raises; it never
    reads out of bounds."""
    from _chipemu_analytic_kernel import train_waits

    z64, one = np.zeros(1, dtype=np.int64), np.ones(1, dtype=np.int64)
    table = dict(ptr=z64, n_hops=one, link=np.zeros(1, dtype=np.int32), cls=np.zeros(1, dtype=np.int32),
                 used_rank=z64, link_period=np.ones(1), classes=np.ones(4))

    def call(step=z64, pair=z64, count=None, before=z64, n_steps=1, n_links=1, **over):
        t = {**table, **over}
        return train_waits(step, pair, count, before, n_steps, n_links, t["ptr"], t["n_hops"], t["link"], t["cls"],
                           t["used_rank"], t["link_period"], t["classes"], 1e-9, np.zeros(step.size),
                           np.zeros(n_steps * n_links, dtype=np.int64))

    assert call() == 1
    for bad in (dict(pair=one), dict(step=one), dict(before=-one), dict(count=np.zeros(1, dtype=np.int64)),
                dict(n_hops=np.full(1, 2, dtype=np.int64)), dict(link=np.ones(1, dtype=np.int32)),
                dict(cls=np.ones(1, dtype=np.int32)), dict(used_rank=one), dict(link=np.zeros(1, dtype=np.int64)),
                dict(step=np.zeros(1, dtype=np.int32)), dict(classes=np.ones(3))):
        kw = {k: v for k, v in bad.items() if k in ("step", "pair", "count", "before")}
        with pytest.raises(ValueError):
            call(**kw, **{k: v for k, v in bad.items() if k not in kw})
    with pytest.raises(ValueError):  # a strided array is refused, not misread
        call(step=np.zeros(6, dtype=np.int64)[::2], pair=np.zeros(3, dtype=np.int64), before=np.zeros(3, dtype=np.int64))
    assert call(step=np.zeros(3, dtype=np.int64), pair=np.zeros(3, dtype=np.int64),
                before=np.zeros(3, dtype=np.int64)) == 3


def test_threads_give_identical_results(monkeypatch):
    """Steps are shared among threads; any number of them gives the same results."""
    monkeypatch.setattr(analytic, "_MIN_THREADED_TRAINS", 1)
    chip = load_chip("loihi1")
    cr = placement(chip)
    rng = np.random.default_rng(5)
    traffic = random_traffic(rng, cr.size, 23, 400, 12, p_single=0.7)
    runs = []
    for threads in (1, 2, 3, 7, 64):
        noc = AnalyticNoc(chip, cr, compiled=True, threads=threads)
        runs.append((noc.run_steps(*traffic, n_steps=23), noc.link_packets.copy(), repr(noc.totals)))
    for per, link, totals in runs[1:]:
        for k in runs[0][0]:
            assert np.array_equal(_bits(per[k]), _bits(runs[0][0][k])), k
        assert np.array_equal(link, runs[0][1]) and totals == runs[0][2]


@pytest.mark.parametrize("threads", [0, -1, 1.5, True, "2"])
def test_bad_thread_counts(threads):
    with pytest.raises(ChipemuError, match="threads = .* is invalid"):
        AnalyticNoc(load_chip("tiny"), np.zeros(1, dtype=np.int64), threads=threads)


def test_kernel_refuses_outputs_sharing_memory_with_inputs():
    """wait and link_packets are written while the inputs are read (after they were
    checked): an output that shares memory with an input, or with the other output, is
    refused (else it could turn a checked route row into one out of bounds)."""
    from _chipemu_analytic_kernel import train_waits

    z64, one = np.zeros(1, dtype=np.int64), np.ones(1, dtype=np.int64)

    def call(period=None, ptr=z64, wait=None, packets=None):
        period = np.ones(1) if period is None else period
        return train_waits(z64, z64, None, z64, 1, 1, ptr, one, np.zeros(1, dtype=np.int32),
                           np.zeros(1, dtype=np.int32), z64.copy(), period, np.ones(4), 1e-9,
                           np.zeros(1) if wait is None else wait,
                           np.zeros(1, dtype=np.int64) if packets is None else packets)

    assert call() == 1
    period, ptr, shared = np.ones(1), np.zeros(1, dtype=np.int64), np.zeros(2, dtype=np.int64)
    for kw in (dict(period=period, wait=period), dict(ptr=ptr, packets=ptr),
               dict(wait=shared.view(np.float64)[:1], packets=shared[:1])):
        with pytest.raises(ValueError, match="share memory"):
            call(**kw)


def test_overflowing_work_gives_numpy_s_nan():
    """Many-packet trains on links so slow that their work overflows to inf: the running
    sums give inf - inf = NaN, which numpy's maxima carry into the waits (the kernel once
    dropped it: drain inf instead of NaN)."""
    chip = load_chip("tiny").with_overrides({"noc.link_bandwidth_pps": 1e-300})
    cr = placement(chip)
    rng = np.random.default_rng(2)
    st_, s, d, _ = random_traffic(rng, cr.size, 2, 60, 1)
    c = rng.integers(2 ** 28, 2 ** 30, st_.size)
    with np.errstate(all="ignore"):
        per = assert_same(chip, cr, st_, s, d, c, n_steps=2)
    assert any(np.isnan(r.drain_s) for r in per)


def test_nan_of_one_step_stays_in_its_step():
    """A NaN wait (overflowing work) in one step leaves the next step's results alone: the
    run of many steps gives every step's one-step results, both executions (numpy's running
    maximum over complex numbers carried a NaN into every later server)."""
    chip = load_chip("tiny").with_overrides({"noc.link_bandwidth_pps": 1e-300})
    cr = placement(chip)
    k = cr.size
    rng = np.random.default_rng(4)
    s0 = rng.integers(0, k, 200)
    st_ = np.r_[np.zeros(200, dtype=int), np.ones(2, dtype=int)]
    s, d = np.r_[s0, 0, k - 1], np.r_[np.zeros(200, dtype=int), k - 1, 0]
    c = np.r_[rng.integers(2 ** 28, 2 ** 30, 200), 1, 1]
    with np.errstate(all="ignore"):
        per = assert_same(chip, cr, st_, s, d, c, n_steps=2)
        one = AnalyticNoc(chip, cr, compiled=False).step(s[200:], d[200:], c[200:])
    assert np.isnan(per[0].drain_s) and repr(per[1]) == repr(one)
