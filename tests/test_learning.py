"""On-chip learning (chipemu.learning): exact trace/weight arithmetic by hand, agreement with a
float STDP reference within the quantisation bound, mapping independence of spikes and learned
weights (reference == chip under every mapper and preset), validation, flat-file round trip,
saturation, and the learning cost in counters, energy and time."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chipemu import FileFormatError, FitError, Network, NetworkError
from chipemu.chip import emulate
from chipemu.chips import load_chip
from chipemu.core import COUNTERS
from chipemu.energy import energy_report
from chipemu.flatfile import network_to_arrays
from chipemu.learning import (EPOCH_RANGE, Factor, LearningEngine, LearningError, LearningRule, Term, Trace,
                              coefficient, decay_for_tau, format_terms, parse_terms, reward_stdp, stdp)
from chipemu.reference import run as reference_run
from mapper import MAPPERS, map_network


# ============================================================== (a) by hand
def _hand_net(epoch: int, rounding: str = "floor") -> Network:
    """pre: one input source firing at 2, 5, 6.  post: one compartment that forgets in one step
    (du = dv = 4095) with threshold 300 (x 64): the plastic synapse alone (w <= 254) never fires
    it; a static pair of 254 synapses from a 'force' source spiking at 3 and 7 makes it fire at
    4 and 8.  Rule: dw = 2^-2*x1*y0 - 2^-3*y1*x0, traces x1 (impulse 40, decay 1024: keeps 3/4),
    y1 (impulse 60, decay 2048: keeps 1/2), floor trace rounding."""
    net = Network("hand", steps=10)
    pre = net.add_spike_times("pre", [[2, 5, 6]])
    force = net.add_spike_times("force", [[3, 7]])
    post = net.add_population("post", 1, du=4095, dv=4095, vth=300)
    rule = LearningRule(dw="2^-2*x1*y0 - 2^-3*y1*x0", epoch=epoch, x1=Trace(40, 1024), y1=Trace(60, 2048),
                        rounding=rounding, trace_rounding="floor", sign="mixed")
    net.connect(pre, post, weight=100, name="plastic", plasticity=rule)
    net.connect(force, post, "explicit", src=[0, 0], dst=[0, 0], weight=254, name="force")
    return net


# traces by hand, x(t) = floor(x(t-1) * keep / 4096) (+ impulse at a spike), t = 0..9
X1 = [0, 0, 40, 30, 22, 16 + 40, 42 + 40, 61, 45, 33]     # pre spikes at 2, 5, 6; x 3/4
Y1 = [0, 0, 0, 0, 60, 30, 15, 7, 3 + 60, 31]               # post spikes at 4, 8; x 1/2


def _drive(net, steps, pre_spikes, post_spikes):
    """Feed an engine explicit spike trains; return per-step traces and weights."""
    eng = LearningEngine(net)
    out = []
    for t in range(steps):
        eng.step(t, np.asarray(post_spikes.get(t, []), np.int64), np.asarray(pre_spikes.get(t, []), np.int64))
        tr = eng.traces()["plastic"]
        out.append((int(tr.get("x1", [0])[0]), int(tr.get("y1", [0])[0]), int(eng.weights()["plastic"][0])))
    return out, eng


def test_hand_traces_and_weights_epoch_1():
    """Epoch 1: the rule runs at the end of every step with x0/y0 = spiked at that step.
    S = sum mant * prod << (exp - e), e = -3; dw = 2 * floor(S / 2**4):
      t=2 pre:  -2^-3 * y1(2)=0              -> 0                      w 100
      t=4 post: S = 22 << 1 = 44, 44 >> 4 = 2 -> +4                     w 104
      t=5 pre:  S = -30, -30 >> 4 = -2         -> -4                    w 100
      t=6 pre:  S = -15, -15 >> 4 = -1         -> -2                    w 98
      t=8 post: S = 45 << 1 = 90, 90 >> 4 = 5  -> +10                   w 108
    """
    net = _hand_net(epoch=1)
    got, eng = _drive(net, 10, {2: [0], 5: [0], 6: [0], 3: [1], 7: [1]}, {4: [0], 8: [0]})
    assert [g[0] for g in got] == X1
    assert [g[1] for g in got] == Y1
    assert [g[2] for g in got] == [100, 100, 100, 100, 104, 100, 98, 98, 108, 108]
    assert eng.updates == 5   # synapse processed at t = 2, 4, 5, 6, 8 (pre or post spiked)


def test_hand_epoch_2_and_weight_timing_in_both_runners():
    """Epoch 2: rule at t = 1, 3, 5, 7, 9 with x0/y0 over the two steps of the epoch:
      t=3: x0 (2), y0 0: -2^-3 * y1(3) = 0                              w 100
      t=5: x0 (5), y0 (4): S = 56 << 1 - 30 = 82, 82 >> 4 = 5 -> +10    w 110
      t=7: x0 (6), y0 0: S = -7, -7 >> 4 = -1 -> -2                     w 108
      t=9: y0 (8): S = 33 << 1 = 66, 66 >> 4 = 4 -> +8                  w 116
    In a real run the post compartment records the weight each pre spike was *sent* with:
    v(t) = trunc0(v(t-1) / 4096) + 64 * w_sent; pre spikes at 2 (w 100), 5 (w 100: the rule of
    the epoch ending at 5 runs after the spike is sent), 6 (w 110)."""
    net = _hand_net(epoch=2)
    got, eng = _drive(net, 10, {2: [0], 5: [0], 6: [0], 3: [1], 7: [1]}, {4: [0], 8: [0]})
    assert [g[2] for g in got] == [100, 100, 100, 100, 100, 110, 110, 108, 108, 116]
    assert eng.updates == 4
    post = net.population("post").start
    ref = reference_run(net, record=[post])
    assert ref.spikes.t.tolist() == [4, 8]
    v = ref.v_trace[:, 0].tolist()
    assert v[3] == 6400                     # pre spike at 2 with w 100
    assert v[6] == 6400                     # pre spike at 5 with w 100 (v(5) = 0 after the spike at 4)
    assert v[7] == 1 + 110 * 64             # pre spike at 6 with w 110; trunc0(6400 / 4096) = 1
    assert ref.weights == {"plastic": np.array([116], np.int16)}
    assert ref.learning_updates == 4
    chip = emulate(net, map_network(net, load_chip("tiny"), mapper="sequential", seed=0), noc="analytic")
    assert chip.spikes == ref.spikes and np.array_equal(chip.weights["plastic"], [116])
    assert chip.counters["learning_updates"] == 4


def test_hand_epoch_1_run_end_to_end():
    net = _hand_net(epoch=1)
    ref = reference_run(net, record=[0])
    assert ref.spikes.t.tolist() == [4, 8]
    v = ref.v_trace[:, 0].tolist()
    assert v[6] == 104 * 64                 # pre spike at 5 sent after the update at 4 (w 104)
    assert v[7] == 1 + 100 * 64             # pre spike at 6 sent after the update at 5 (w 100)
    assert ref.weights["plastic"].tolist() == [108]


def test_hand_nearest_rounding():
    """'nearest' adds 2**(s-1) = 8 before the shift: t=4: (44+8)>>4 = 3 -> +6; t=5: (-30+8)>>4 = -2 -> -4;
    t=6: (-15+8)>>4 = -1 -> -2; t=8: (90+8)>>4 = 6 -> +12:  100, 106, 102, 100, 112."""
    got, _ = _drive(_hand_net(epoch=1, rounding="nearest"), 10, {2: [0], 5: [0], 6: [0]}, {4: [0], 8: [0]})
    assert [g[2] for g in got] == [100, 100, 100, 100, 106, 102, 100, 100, 112, 112]


def test_trace_saturates_at_127_and_decay_modes():
    net = Network("sat", steps=5)
    pre = net.add_spike_times("pre", [[0, 1, 2]])
    post = net.add_population("post", 1, vth=131071)
    net.connect(pre, post, weight=0, name="plastic", plasticity=LearningRule(
        dw="2^-4*x1*y0", x1=Trace(100, 0), trace_rounding="floor"))
    got, _ = _drive(net, 4, {0: [0], 1: [0], 2: [0]}, {})
    assert [g[0] for g in got] == [100, 127, 127, 127]      # no decay: saturates, stays
    # one decay step of x = 100 by each rounding: keep = 4096 - 1000
    from chipemu.learning import _decay
    x = np.array([100], np.int64)
    assert _decay(x, 3096, "floor", None)[0] == (100 * 3096) // 4096 == 75
    assert _decay(x, 3096, "nearest", None)[0] == (100 * 3096 + 2048) // 4096 == 76
    rng = np.random.default_rng(0)
    draws = np.array([_decay(np.full(1, 100, np.int64), 3096, "stochastic", rng)[0] for _ in range(4000)])
    assert set(draws.tolist()) <= {75, 76}
    assert abs(draws.mean() - 100 * 3096 / 4096) < 0.03      # unbiased (75.586)


# ============================================================== (b) float reference
def _float_vs_int(rng, n_pre, n_post, steps, p_pre, p_post, mode):
    a_plus, a_minus = 2 ** -3, 3 * 2 ** -5
    dx, dy = decay_for_tau(10.0), decay_for_tau(20.0)
    rule = LearningRule(dw=[Term(1, -3, ("x1", "y0")), Term(-3, -5, ("y1", "x0"))], x1=Trace(50, dx),
                        y1=Trace(50, dy), sign="mixed", trace_rounding="floor" if mode == "det" else "stochastic",
                        rounding="nearest" if mode == "det" else "stochastic", seed=int(rng.integers(1000)))
    net = Network("fl", steps=steps)
    pre = net.add_input("pre", n_pre)
    post = net.add_population("post", n_post)
    proj = net.connect(pre, post, weight=0, name="plastic", plasticity=rule)
    eng = LearningEngine(net)
    s_pre = rng.random((steps, n_pre)) < p_pre
    s_post = rng.random((steps, n_post)) < p_post
    kx, ky = (4096 - dx) / 4096, (4096 - dy) / 4096
    xf, yf = np.zeros(n_pre), np.zeros(n_post)
    wf = np.zeros(len(proj))
    bound = np.zeros(len(proj))
    ex, ey = 4096 / dx, 4096 / dy       # floor decay: 0 <= x_float - x_int < 1 / (1 - k)
    worst_trace = 0.0
    for t in range(steps):
        eng.step(t, np.flatnonzero(s_post[t]) + post.start, np.flatnonzero(s_pre[t]))
        xf = np.minimum(kx * xf + 50 * s_pre[t], 127)
        yf = np.minimum(ky * yf + 50 * s_post[t], 127)
        x0, y0 = s_pre[t][proj.src], s_post[t][proj.dst]
        wf = np.clip(wf + a_plus * xf[proj.src] * y0 - a_minus * yf[proj.dst] * x0, -256, 254)
        bound += (x0 | y0) * 1.0 + a_plus * ex * y0 + a_minus * ey * x0
        tr = eng.traces()["plastic"]
        if mode == "det":
            dxt, dyt = xf - tr["x1"], yf - tr["y1"]
            assert dxt.min() >= -1e-9 and dxt.max() < ex and dyt.min() >= -1e-9 and dyt.max() < ey
        worst_trace = max(worst_trace, np.abs(xf - tr["x1"]).max())
    return eng.weights()["plastic"].astype(float), wf, bound, worst_trace


def test_float_reference_deterministic_bound():
    """Floor traces + nearest weight rounding: every step 0 <= x_float - x_int < 4096/decay
    (= 1/(1-k)), and per synapse |w_int - w_float| <= sum over processed epochs of
    (1 + A+ * 4096/decay_x * y0 + A- * 4096/decay_y * x0)  (rounding <= 1 weight unit,
    the trace error times the coefficient; clip is 1-Lipschitz)."""
    rng = np.random.default_rng(1)
    for _ in range(3):
        wi, wf, bound, _ = _float_vs_int(rng, 12, 5, 400, 0.05, 0.04, "det")
        assert np.all(np.abs(wi - wf) <= bound + 1e-9)
        assert np.abs(wf).max() > 10          # the run did learn something
        # in practice far inside the worst case: the RMS error is a few weight units
        assert np.sqrt(np.mean((wi - wf) ** 2)) < 0.25 * np.sqrt(np.mean(bound ** 2)) + 2


def test_float_reference_stochastic_is_unbiased():
    """Stochastic rounding of traces and weights: no systematic drift.  Over 600 synapses the
    mean of w_int - w_float is within 1.5 weight units (it is a sum of zero-mean rounding
    errors; the saturation at 127 of the integer traces adds a small, bounded bias)."""
    rng = np.random.default_rng(7)
    wi, wf, bound, worst = _float_vs_int(rng, 30, 20, 400, 0.05, 0.04, "sto")
    err = wi - wf
    assert abs(err.mean()) < 1.5
    assert np.sqrt(np.mean(err ** 2)) < 8
    assert worst < 10


# ============================================================== (c) mapping independence
def _plastic_net(seed, sizes, p, in_n, epoch, steps, with_reward):
    rng = np.random.default_rng(seed)
    net = Network(f"pl{seed}", steps=steps)
    pops = [net.add_population(f"p{i}", s, du=rng.integers(200, 4096, s), dv=rng.integers(100, 4096, s),
                               vth=rng.integers(20, 200, s), bias_mant=rng.integers(-50, 200, s),
                               bias_exp=rng.integers(0, 3, s)) for i, s in enumerate(sizes)]
    stim = net.add_bernoulli_input("stim", in_n, p=0.25, seed=seed)
    if with_reward:
        net.add_bernoulli_input("reward", 1, p=0.1, seed=seed + 1)
    for i, a in enumerate(pops):
        net.connect(stim, a, "fixed_probability", p=0.5, seed=seed + i, weight=lambda m: 2 * rng.integers(10, 100, m),
                    delay=lambda m: rng.integers(0, 4, m),
                    plasticity=stdp(6, 5, 8, 12, epoch=epoch, seed=seed + i))
        for j, b in enumerate(pops):
            rule = (reward_stdp(8, 6, 8, 12, reward="reward", epoch=max(1, epoch // 2), sign="mixed", seed=seed)
                    if with_reward and i != j else
                    LearningRule(dw="2^-4*(x1-10)*y0 - 2^-5*y1*x0 - 2^-6*w*x0", epoch=epoch, x1=(60, 500),
                                 y1=(50, 300), sign="mixed", seed=seed * 3 + j))
            net.connect(a, b, "fixed_probability", p=p, seed=seed * 7 + i * 3 + j,
                        weight=lambda m: 2 * rng.integers(-60, 100, m), delay=lambda m: rng.integers(0, 10, m),
                        plasticity=rule)
    return net


CHIPS = ["loihi1", "loihi1-silicon", "loihi2", "tiny"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), sizes=st.lists(st.integers(1, 40), min_size=1, max_size=3),
       p=st.floats(0.05, 0.4), in_n=st.integers(1, 8), epoch=st.integers(1, 5), reward=st.booleans(),
       mapper=st.sampled_from(sorted(MAPPERS)), chip=st.sampled_from(CHIPS),
       max_per_core=st.sampled_from([None, 1, 3, 7]))
def test_property_learned_weights_and_spikes_do_not_depend_on_mapping(seed, sizes, p, in_n, epoch, reward, mapper,
                                                                      chip, max_per_core):
    net = _plastic_net(seed, sizes, p, in_n, epoch, steps=40, with_reward=reward)
    ref = reference_run(net)
    spec = load_chip(chip)
    try:
        mapping = map_network(net, spec, mapper=mapper, seed=seed, max_per_core=max_per_core)
    except FitError:   # too few cores for so few compartments per core: the default packing
        mapping = map_network(net, spec, mapper=mapper, seed=seed)
    run = emulate(net, mapping, noc="analytic")
    assert run.spikes == ref.spikes
    assert run.weights.keys() == ref.weights.keys() == {p.name for p in net.plastic_projections}
    for k in ref.weights:
        assert np.array_equal(run.weights[k], ref.weights[k]), k
    assert run.counters["learning_updates"] == ref.learning_updates
    assert run.counters["synaptic_ops"] == ref.synaptic_events


def test_mapping_independence_several_mappers_and_learning_matters():
    net = _plastic_net(3, [30, 25], 0.3, 6, 2, steps=80, with_reward=True)
    ref = reference_run(net)
    changed = sum(int((ref.weights[p.name] != p.weight).sum()) for p in net.plastic_projections)
    assert changed > 20          # learning did change weights
    spec = load_chip("loihi1")
    for k, (mapper, mpc) in enumerate((("sequential", 1), ("sequential", 5), ("traffic", None), ("traffic", 4),
                                       ("sequential-anneal", 2), ("traffic-rowmajor", 9))):
        run = emulate(net, map_network(net, spec, mapper=mapper, seed=1, max_per_core=mpc),
                      noc="simpy" if k == 0 else "analytic", steps=80)
        assert run.spikes == ref.spikes
        for k in ref.weights:
            assert np.array_equal(run.weights[k], ref.weights[k])
        assert run.counters["learning_updates"] == ref.learning_updates
    # without plasticity the same network spikes differently (learning is not a no-op)
    plain = _strip_plasticity(net)
    assert reference_run(plain).spikes != ref.spikes


def _strip_plasticity(net):
    d = network_to_arrays(net)
    d.pop("learn_proj"), d.pop("learn_rule")
    return Network.from_arrays(d)


def test_deterministic_and_seed_matters():
    net = _plastic_net(5, [20], 0.3, 5, 1, steps=60, with_reward=False)
    a, b = reference_run(net), reference_run(net)
    assert a.spikes == b.spikes and all(np.array_equal(a.weights[k], b.weights[k]) for k in a.weights)
    other = _plastic_net(5, [20], 0.3, 5, 1, steps=60, with_reward=False)
    projs = [p.name for p in other.plastic_projections]
    import dataclasses
    other.projections = [
        dataclasses.replace(p, plasticity=dataclasses.replace(p.plasticity, seed=p.plasticity.seed + 1))
        if p.plasticity is not None else p for p in other.projections]
    c = reference_run(other)
    assert any(not np.array_equal(a.weights[k], c.weights[k]) for k in projs)


# ============================================================== weights: bounds, read-back
@pytest.mark.parametrize("sign,rule,want", [
    ("excitatory", "2^3*x1*y0", 254), ("excitatory", "-2^3*y1*x0", 0),
    ("mixed", "-2^3*y1*x0", -256), ("inhibitory", "-2^3*y1*x0", -256), ("inhibitory", "2^3*x1*y0", 0)])
def test_weights_saturate_at_the_bounds(sign, rule, want):
    net = Network("sat", steps=200)
    pre = net.add_bernoulli_input("pre", 5, p=0.3, seed=1)
    force = net.add_bernoulli_input("force", 1, p=0.3, seed=2)
    post = net.add_population("post", 1, du=4095, dv=4095, vth=100)
    net.connect(force, post, weight=254, name="force")
    net.connect(pre, post, weight=-100 if sign == "inhibitory" else 100, name="plastic",
                plasticity=LearningRule(dw=rule, x1=(60, 400), y1=(60, 400), sign=sign))
    w = reference_run(net).weights["plastic"]
    assert np.all(w == want)
    assert w.dtype == np.int16 and np.all(w % 2 == 0)


def test_with_weights_round_trip(tmp_path):
    net = _plastic_net(2, [15, 10], 0.3, 4, 3, steps=50, with_reward=True)
    ref = reference_run(net)
    learned = net.with_weights(ref.weights)
    assert learned is not net and [p.name for p in learned.projections] == [p.name for p in net.projections]
    for p in learned.projections:
        if p.plasticity is not None:
            assert np.array_equal(p.weight, ref.weights[p.name])
            assert p.plasticity == net.projections[[q.name for q in net.projections].index(p.name)].plasticity
    assert net.flat().weight is not learned.flat().weight
    learned.save(tmp_path / "learned.npz")
    again = Network.load(tmp_path / "learned.npz")
    assert again.sha256() == learned.sha256()
    assert {p.name: p.plasticity for p in again.projections} == {p.name: p.plasticity for p in learned.projections}
    with pytest.raises(NetworkError, match="no projection named"):
        net.with_weights({"nope": [0]})
    name = net.plastic_projections[0].name
    with pytest.raises(NetworkError, match="weight"):
        net.with_weights({name: np.full(len(net.plastic_projections[0]), 3)})


# ============================================================== validation
@pytest.mark.parametrize("kwargs,match", [
    (dict(dw="2^-2*x1*y0", x1=(10, 10), epoch=0), "epoch = 0 out of range 1..63"),
    (dict(dw="2^-2*x1*y0", x1=(10, 10), epoch=64), "epoch = 64 out of range 1..63"),
    (dict(dw="2^-2*z1*y0"), "unknown factor 'z1'"),
    (dict(dw="2^-20*x1*y0", x1=(10, 10)), "exponent = -20 out of range"),
    (dict(dw="255*x1*y0", x1=(10, 10)), "mantissa = 255 out of range"),
    (dict(dw="x1*y0*x0*y1", x1=(10, 10), y1=(1, 1)), "4 factors"),
    (dict(dw="2^-2*x1*y0"), "trace x1 has impulse 0"),
    (dict(dw="2^-2*x1*y0", x1=(200, 10)), "impulse = 200 out of range 0..127"),
    (dict(dw="2^-2*x1*y0", x1=(10, 5000)), "decay = 5000 out of range 0..4096"),
    (dict(dw="2^-2*r*y0", r=(10, 10)), "need a reward input group"),
    (dict(dw="2^-2*t*y0"), "no tag rule dt"),
    (dict(dw="2^-2*x1*y0", x1=(10, 10), dt="x0"), "dt has no effect"),
    (dict(dw="2^-2*x1*y0", x1=(10, 10), sign="positive"), "sign = 'positive'"),
    (dict(dw="2^-2*x1*y0", x1=(10, 10), rounding="up"), "rounding = 'up'"),
    (dict(dw="(x1-200)*y0", x1=(10, 10)), "constant of factor x1 = -200"),
    (dict(dw="x1 y0", x1=(10, 10)), "expected \\+ or -"),
    (dict(dw="x1*y0 +", x1=(10, 10)), "expected a number"),
    (dict(dw="x1*y0 & 3", x1=(10, 10)), "cannot parse"),
    (dict(dw=""), "dw has no terms"),
])
def test_rule_validation_errors(kwargs, match):
    with pytest.raises(LearningError, match=match):
        LearningRule(**kwargs)


def test_epoch_range_and_constants():
    assert EPOCH_RANGE == (1, 63)
    for e in (1, 63):
        assert LearningRule(dw="x1*y0", x1=(1, 0), epoch=e).epoch == e
    assert decay_for_tau(float("inf")) == 0 and decay_for_tau(1e-3) == 4096
    assert coefficient(0.25) == (1, -2) and coefficient(-3.5) == (-7, -1)
    with pytest.raises(LearningError):
        coefficient(1e6)


def test_parser_and_dict_round_trip():
    text = "2^-2*x1*y0 - 3*2^-5*y1*x0 + (y2-64)*sgn(w)*r0 - 2^3*w"
    terms = parse_terms(text)
    assert terms[0] == Term(1, -2, (Factor("x1"), Factor("y0")))
    assert terms[1] == Term(-3, -5, (Factor("y1"), Factor("x0")))
    assert terms[2] == Term(1, 0, (Factor("y2", -64), Factor("sgnw"), Factor("r0")))
    assert terms[3] == Term(-1, 3, (Factor("w"),))
    assert parse_terms(format_terms(terms)) == terms
    assert parse_terms("256*2^-10*x1") == (Term(64, -8, (Factor("x1"),)),)    # even mantissa brought in range
    assert parse_terms("-x1*y0 + r")[1] == Term(1, 0, (Factor("r1"),))
    rule = reward_stdp(8, 6, 10, 20, reward="rew", epoch=4, seed=9)
    assert LearningRule.from_dict(rule.to_dict()) == rule
    assert LearningRule.from_json(rule.to_json()) == rule
    assert LearningRule.from_dict(json.loads(json.dumps(stdp(4, 4, 10, 10, a_post=-2).to_dict()))) == \
        stdp(4, 4, 10, 10, a_post=-2)
    assert LearningRule.from_dict({"dw": "2^-2*x1*y0", "traces": {"x1": [10, 10]}}) == \
        LearningRule(dw="2^-2*x1*y0", x1=Trace(10, 10))
    with pytest.raises(LearningError, match="unknown key 'foo'"):
        LearningRule.from_dict({"dw": "x1", "foo": 1})
    with pytest.raises(LearningError, match="not valid JSON"):
        LearningRule.from_json("{dw:")
    s = stdp(8, 9, 16.8, 33.7)
    assert str(s) == "dw = 2^-3*x1*y0 - 9*2^-6*y1*x0 (epoch 1)"


def test_connect_validates_plasticity():
    net = Network("v", steps=10)
    a = net.add_population("a", 3)
    inp = net.add_input("in", 2)
    with pytest.raises(LearningError, match="needs weights in 0..254"):
        net.connect(inp, a, weight=-10, plasticity=stdp(4, 4, 10, 10))
    with pytest.raises(LearningError, match="reward = 'nope' is not an input group"):
        net.connect(inp, a, weight=10, plasticity=reward_stdp(4, 4, 10, 10, reward="nope"))
    with pytest.raises(NetworkError, match="plasticity must be"):
        net.connect(inp, a, weight=10, plasticity="stdp")
    p = net.connect(inp, a, weight=10, plasticity=stdp(4, 4, 10, 10).to_dict())
    assert isinstance(p.plasticity, LearningRule)
    assert "plastic" in net.summary()


# ============================================================== flat file
def test_flat_file_round_trip_of_plastic_projections(tmp_path):
    net = _plastic_net(4, [10, 12], 0.3, 3, 3, steps=30, with_reward=True)
    net.save(tmp_path / "n.npz")
    again = Network.load(tmp_path / "n.npz")
    assert again.sha256() == net.sha256()
    rules = {p.name: p.plasticity for p in again.projections}
    assert rules == {p.name: p.plasticity for p in net.projections}
    a, b = reference_run(net), reference_run(again)
    assert a.spikes == b.spikes and all(np.array_equal(a.weights[k], b.weights[k]) for k in a.weights)
    # a network without plasticity writes no learn_* keys (files and hashes unchanged)
    assert "learn_proj" not in network_to_arrays(_strip_plasticity(net))


@pytest.mark.parametrize("edit,key,match", [
    (lambda d: d.update(learn_rule=np.array(["{not json"] + list(d["learn_rule"][1:]))), "learn_rule",
     "not valid JSON"),
    (lambda d: d.update(learn_rule=np.array([d["learn_rule"][0].replace('"x1"', '"q7"')] + list(d["learn_rule"][1:]))),
     "learn_rule", "unknown"),
    (lambda d: d.update(learn_rule=np.array([d["learn_rule"][0].replace('"epoch": 3', '"epoch": 99')]
                                            + list(d["learn_rule"][1:]))), "learn_rule", "epoch = 99"),
    (lambda d: d.update(learn_proj=np.array(["ghost"] + list(d["learn_proj"][1:]))), "learn_proj", "ghost"),
    (lambda d: d.pop("learn_rule"), "learn_rule", "missing"),
    (lambda d: d.update(learn_rule=d["learn_rule"][:1]), "learn_rule", "entries"),
    (lambda d: d.update(learn_rule=np.arange(len(d["learn_proj"]))), "learn_rule", "strings"),
    (lambda d: d.update(learn_proj=np.array([d["learn_proj"][0]] * len(d["learn_proj"]))), "learn_proj", "twice"),
    (lambda d: d.update(weight=-np.abs(d["weight"]) - 2 * (d["weight"] == 0)), "learn_rule", "needs weights in"),
])
def test_flat_file_learning_keys_are_validated(edit, key, match):
    net2 = Network("f", steps=20)
    a = net2.add_population("a", 5, vth=10)
    inp = net2.add_bernoulli_input("in", 4, p=0.2, seed=0)
    net2.connect(inp, a, weight=20, plasticity=stdp(4, 4, 10, 10, epoch=3))
    net2.connect(a, a, "fixed_probability", p=0.5, seed=1, weight=20, plasticity=stdp(4, 4, 10, 10, epoch=3))
    d = {k: np.asarray(v) for k, v in network_to_arrays(net2).items()}
    edit(d)
    with pytest.raises(FileFormatError, match=f"key '{key}'.*{match}"):
        Network.from_arrays(d, "x.npz")


# ============================================================== cost: counters, energy, time
def _cost_net(plastic: bool) -> Network:
    """Weights can never change (|dw| < 2**-6 weight units, floor rounding toward the
    weight grid), so spikes are identical with and without the rule; only the cost differs."""
    net = Network("cost", steps=100)
    inp = net.add_bernoulli_input("in", 20, p=0.2, seed=3)
    a = net.add_population("a", 30, du=500, dv=300, vth=200)
    rule = LearningRule(dw="2^-16*x1*y0", x1=(1, 0), rounding="floor", epoch=2) if plastic else None
    net.connect(inp, a, "fixed_probability", p=0.5, seed=4, weight=60, plasticity=rule)
    return net


def test_learning_updates_counted_and_charged():
    assert "learning_updates" in COUNTERS
    spec = load_chip("loihi1")
    runs = {}
    for plastic in (False, True):
        net = _cost_net(plastic)
        m = map_network(net, spec, mapper="sequential", seed=0, max_per_core=8)
        runs[plastic] = emulate(net, m, noc="analytic")
    off, on = runs[False], runs[True]
    assert on.spikes == off.spikes and len(on.spikes) > 0
    n = on.counters["learning_updates"]
    assert n > 0 and off.counters["learning_updates"] == 0
    assert {k: v for k, v in on.counters.items() if k != "learning_updates"} == \
        {k: v for k, v in off.counters.items() if k != "learning_updates"}
    # processed = synapses whose post compartment spiked in the epoch (the only term is gated by y0)
    ref = reference_run(_cost_net(True))
    assert ref.learning_updates == n
    e_on, e_off = energy_report(on), energy_report(off)
    assert e_on["breakdown"]["learning"] == pytest.approx(n * spec.energy.learning_update)
    assert e_on["dynamic_j"] - e_off["dynamic_j"] == pytest.approx(n * spec.energy.learning_update, rel=1e-9)
    assert on.chip_time_s > off.chip_time_s
    # the compute phase of each step charges learning_updates * t_learning_update on each core
    i = COUNTERS.index("learning_updates")
    steps_with = np.flatnonzero(on.step_counts[:, i])
    assert steps_with.size and np.all((steps_with + 1) % 2 == 0)      # epoch ends only
    assert np.all(on.step_time[:, 0] >= off.step_time[:, 0] - 1e-18)
    assert on.step_time[steps_with, 0].sum() > off.step_time[steps_with, 0].sum()
    assert e_on["total_j"] > e_off["total_j"]


def test_learning_updates_go_to_the_core_holding_the_synapse():
    """Two post compartments on two cores: each core counts its own synapses' updates."""
    net = Network("two", steps=6)
    pre = net.add_spike_times("pre", [[1], [1]])
    post = net.add_population("post", 2, du=4095, dv=4095, vth=131071)
    net.connect(pre, post, "explicit", src=[0, 1, 0], dst=[0, 1, 1], weight=10, name="p",
                plasticity=LearningRule(dw="-2^-2*y1*x0 + 2^-2*x1*y0", x1=(10, 0), y1=(10, 0), sign="mixed"))
    m = map_network(net, load_chip("tiny"), mapper="sequential", seed=0, max_per_core=1)
    run = emulate(net, m, noc="analytic")
    i = COUNTERS.index("learning_updates")
    per_core = run.core_counts[:, i]
    core_of_post = m.neuron_core[[0, 1]]
    assert per_core[core_of_post[0]] == 1 and per_core[core_of_post[1]] == 2   # x0 at step 1 only


def test_no_plasticity_no_engine():
    net = Network.load(__import__("conftest").DATA / "chain.net.npz")
    res = reference_run(net)
    assert res.weights == {} and res.learning_updates == 0
    assert LearningEngine.build(net) is None and LearningEngine.build(net.flat()) is None
    assert not net.is_plastic


def test_is_plastic_decides_the_engine():
    """Network.is_plastic is the one test of "any projection learns": the engine is built
    exactly when it holds (with a plastic projection among static ones)."""
    net = Network("mixed", steps=5)
    pre = net.add_spike_times("pre", [[1], [2]])
    post = net.add_population("post", 2)
    net.connect(pre, post, "one_to_one", weight=2, name="static")
    assert not net.is_plastic and LearningEngine.build(net) is None
    net.connect(pre, post, "one_to_one", weight=2, name="plastic", plasticity=stdp(6, 5, 8, 12))
    assert net.is_plastic and isinstance(LearningEngine.build(net), LearningEngine)


# ============================================================== reward
def test_reward_gates_weight_change():
    """dw = lr * r1 * t: without reward spikes the weights never move (the tag does)."""
    def build(reward_times):
        net = Network("rw", steps=120)
        pre = net.add_bernoulli_input("pre", 6, p=0.2, seed=1)
        rew = net.add_spike_times("rew", [reward_times])
        post = net.add_population("post", 3, du=600, dv=600, vth=60)
        net.connect(pre, post, weight=80, name="p",
                    plasticity=reward_stdp(16, 8, 10, 20, reward="rew", learning_rate=2 ** -6, sign="mixed"))
        del rew
        return net
    quiet = reference_run(build([]))
    assert np.all(quiet.weights["p"] == 80) and quiet.learning_updates > 0
    rewarded = reference_run(build([30, 60, 90]))
    assert np.any(rewarded.weights["p"] != 80)


# ============================================================== (d) the pattern-finding program
def test_stdp_pattern_becomes_selective_and_control_does_not():
    """programs/stdp_pattern.py at 10,000 steps: fires in >= 80 % of the pattern presentations
    of the last quarter and >= 10x more inside pattern windows than in noise; the pattern
    afferents end with larger weights than the noise ones.  Static weights: not selective."""
    from programs import stdp_pattern
    from programs._common import ProgramResult
    net = stdp_pattern.build(steps=10000)
    res = reference_run(net)
    ok, detail = stdp_pattern.check(ProgramResult(network=net, spikes=res.spikes, steps=res.steps))
    assert ok, detail
    w = res.weights["afferents->neuron"].astype(float)
    n_pat = net.program_meta["pattern_afferents"]
    assert w[:n_pat].mean() > 3 * w[n_pat:].mean()
    ctrl = stdp_pattern.build(steps=10000, plastic=False)
    ok_c, detail_c = stdp_pattern.check(ProgramResult(network=ctrl, spikes=reference_run(ctrl).spikes, steps=10000))
    assert not ok_c and "not selective" in detail_c
