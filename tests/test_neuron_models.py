"""Neuron models beside CUBA LIF (chipemu.neurons): recorded Lava cases, both runners, files.

``tests/data/lava_neurons.npz`` holds traces of Lava's own process models, recorded by
``tests/data/record_lava_neurons.py`` (see its docstring for how).  Every case is replayed
on chipemu's kernel and must match every output and state value at every step.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from chipemu import reference
from chipemu.chip import emulate
from chipemu.errors import FileFormatError, NetworkError
from chipemu.network import Network
from chipemu.neurons import MODELS, rf_registers
from mapper import map_network

DATA = Path(__file__).parent / "data" / "lava_neurons.npz"


def _cases():
    with np.load(DATA) as z:
        names = sorted({k.split("/")[0] for k in z.files})
        return {name: {k.split("/", 1)[1]: z[k] for k in z.files if k.startswith(name + "/")} for name in names}


CASES = _cases()


def _registers(model, meta_regs, n):
    regs = {}
    for name in model.registers:
        regs[name] = np.broadcast_to(np.asarray(meta_regs[name], dtype=np.int64), (n,)).copy()
    return regs


@pytest.mark.parametrize("name", sorted(CASES))
def test_kernel_matches_lava_recording(name):
    case = CASES[name]
    meta = json.loads(str(case["meta"]))
    model = MODELS[meta["model"]]
    a_in = case["a_in"]
    steps, n = a_in.shape
    regs = _registers(model, meta["regs"], n)
    p = model.prepare(regs)
    state = model.initial_state(regs, n)
    float_scale = 64 if model.name == "lif_refractory" else 1  # Lava's float LIFRefractory: v, u unscaled
    for t in range(steps):
        out = model.kernel(state, np.asarray(a_in[t], dtype=np.int64), p, t)
        np.testing.assert_array_equal(out, np.asarray(case["s_out"][t]).astype(np.int64), err_msg=f"{name} s_out t={t}")
        for word in model.state:
            if word in case:
                lava = np.asarray(case[word][t])
                np.testing.assert_array_equal(state[word], (lava * float_scale).astype(np.int64),
                                              err_msg=f"{name} {word} t={t}")


def test_recordings_exercise_every_model():
    models = {json.loads(str(c["meta"]))["model"] for c in CASES.values()}
    assert models == set(MODELS) - {"lif"}
    for name, c in CASES.items():
        assert np.count_nonzero(c["s_out"]) >= 10, name  # every case spikes


def test_rf_registers_follow_lava_process():
    case = CASES["rf_0"]
    meta = json.loads(str(case["meta"]))["regs"]
    regs = rf_registers(**meta["lava"])
    assert regs == {k: meta[k] for k in ("sin_decay", "cos_decay", "decay_bits", "state_exp", "vth")}


def _mixed_network(steps=40, seed=3):
    rng = np.random.default_rng(seed)
    net = Network("mixed", steps=steps)
    idx = np.repeat(np.arange(6), steps)
    t = np.tile(np.arange(steps), 6)
    val = rng.integers(1, 60, idx.size) * rng.choice([-1, 1], idx.size)
    x = net.add_input("x", 6, idx, t, spike_val=val)
    b = net.add_bernoulli_input("b", 5, p=0.3, seed=seed)
    enc = net.add_population("enc", 6, model="delta", vth=3, spike_exp=3, state_exp=3)
    hid = net.add_population("hid", 16, model="sigma_delta", vth=8, bias=1, spike_exp=3, state_exp=3)
    out = net.add_population("out", 4, model="sigma")
    lif = net.add_population("lif", 6, du=200, dv=100, vth=12)
    rf = net.add_population("rf", 4, model="rf", **rf_registers(9, 0.05, state_exp=3, decay_bits=8, vth=1))
    rfiz = net.add_population("rfiz", 4, model="rf_iz", **rf_registers(6, 0.1, state_exp=3, decay_bits=8, vth=2))
    atr = net.add_population("atr", 4, model="atrlif", d_i=400, d_v=100, theta_0=30, theta_step=6, bias_mant=2,
                             bias_exp=6)
    ref = net.add_population("ref", 4, model="lif_refractory", du=4095, vth=5, refractory_period=3, bias_mant=1,
                             bias_exp=6)
    w = lambda m: rng.integers(-30, 31, m) * 2  # noqa: E731
    net.connect(x, enc, "one_to_one", weight=2)
    net.connect(enc, hid, "all_to_all", weight=w)
    net.connect(hid, out, "all_to_all", weight=w)
    net.connect(hid, lif, "fixed_probability", p=0.5, seed=1, weight=2)
    net.connect(b, lif, "all_to_all", weight=60, delay=2)
    net.connect(b, rf, "fixed_probability", p=0.3, seed=2, weight=30)
    for pop in (rfiz, atr, ref):
        net.connect(lif, pop, "all_to_all", weight=20)
    net.connect(atr, lif, "all_to_all", weight=-10, delay=1)
    return net


def test_mixed_models_same_spikes_and_payloads_on_both_runners():
    net = _mixed_network()
    ref = reference.run(net)
    assert ref.spikes.payload is not None and np.any(np.abs(ref.spikes.payload) > 1)
    fired = {p.name: len(ref.spikes.select(p.start, p.stop)) for p in net.populations}
    assert all(v > 0 for v in fired.values()), fired
    for chip, kw in (("loihi2", {"max_per_core": 5}), ("loihi1", {"max_per_core": 9})):
        m = map_network(net, chip, "traffic", **kw)
        run = emulate(net, m, noc="analytic")
        assert run.spikes == ref.spikes
        c = run.counters
        assert 0 < c["graded_synaptic_ops"] < c["synaptic_ops"]
        assert c["payload_bytes_out"] >= c["packets_out"] * 0  # counted
        assert c["payload_bytes_out"] > 0


def test_graded_delivery_is_weight_times_payload():
    net = Network("g", steps=4)
    x = net.add_input("x", 2, [0, 1, 0], [0, 0, 1], spike_val=[5, -3, 1000])
    s = net.add_population("s", 1, model="sigma")
    net.connect(x, s, "all_to_all", weight=[4, 6], delay=0)
    res = reference.run(net, record=[0])
    # step 1: 4*5 + 6*(-3) = 2; step 2: + 4*1000
    np.testing.assert_array_equal(res.u_trace[:, 0], [0, 2, 4002, 4002])
    np.testing.assert_array_equal(res.spikes.payload, [2, 4002, 4002])


def test_binary_lif_networks_carry_no_payload():
    net = Network("b", steps=20)
    x = net.add_bernoulli_input("x", 4, p=0.5, seed=1)
    p = net.add_population("p", 3, du=100, dv=100, vth=5)
    net.connect(x, p, weight=100)
    res = reference.run(net)
    assert len(res.spikes) > 0 and res.spikes.payload is None
    assert net.flat().model is None and not net.flat().graded


def test_flat_file_round_trip_and_validation(tmp_path):
    net = _mixed_network(steps=10)
    path = tmp_path / "m.npz"
    net.save(path)
    back = Network.load(path)
    assert [p.model for p in back.populations] == [p.model for p in net.populations]
    assert back.sha256() == net.sha256()
    assert reference.run(back).spikes == reference.run(net).spikes
    d = dict(np.load(path))
    bad = dict(d, neuron_format=np.array("chipemu-neurons-9"))
    with pytest.raises(FileFormatError, match="neuron_format"):
        _load(tmp_path, bad)
    bad = dict(d)
    bad.pop("model_spike_exp")
    with pytest.raises(FileFormatError, match="model_spike_exp"):
        _load(tmp_path, bad)
    bad = dict(d, pop_model=np.array(["lif"] + [str(s) for s in d["pop_model"][1:]]))
    with pytest.raises(FileFormatError, match="enc"):  # delta registers left in a LIF population
        _load(tmp_path, bad)
    bad = dict(d, pop_model=np.array(["nope"] + [str(s) for s in d["pop_model"][1:]]))
    with pytest.raises(FileFormatError, match="unknown neuron model"):
        _load(tmp_path, bad)
    bad = dict(d, model_state_exp=np.full_like(d["model_state_exp"], 9))
    with pytest.raises(FileFormatError, match="state_exp"):
        _load(tmp_path, bad)
    bad = dict(d)
    bad.pop("neuron_format")
    with pytest.raises(FileFormatError, match="neuron_format"):
        _load(tmp_path, bad)
    bad = dict(d, in_spike_val=np.zeros_like(d["in_spike_val"]))
    with pytest.raises(FileFormatError, match="spike_val"):
        _load(tmp_path, bad)


def _load(tmp_path, arrays):
    p = tmp_path / "bad.npz"
    np.savez(p, **arrays)
    return Network.load(p)


def test_population_model_validation():
    net = Network("v")
    with pytest.raises(NetworkError, match="unknown neuron model 'izh'"):
        net.add_population("a", 2, model="izh")
    with pytest.raises(NetworkError, match="has no register 'du'"):
        net.add_population("a", 2, model="sigma_delta", du=3)
    with pytest.raises(NetworkError, match="spike_exp"):
        net.add_population("a", 2, model="sigma_delta", spike_exp=8)
    with pytest.raises(NetworkError, match="periodic reset"):
        net.add_population("a", 2, model="sigma", reset_interval=4)
    with pytest.raises(NetworkError, match="payload of 0"):
        net.add_input("x", 2, [0], [0], spike_val=[0])


def test_graph_views_know_the_model():
    net = _mixed_network(steps=5)
    g = net.graph()
    assert g.nodes["hid"]["model"] == "sigma_delta" and g.nodes["hid"]["graded"]
    assert g.nodes["hid"]["state_words"] == 4 and g.nodes["lif"]["state_words"] == 2
    assert g.nodes["x"]["graded"] and not g.nodes["b"]["graded"]
    ng = net.neuron_graph()
    assert ng.nodes[("n", net.population("rf").start)]["model"] == "rf"


def test_graded_costs_charged_by_the_energy_model():
    from chipemu.energy import energy_report
    net = _mixed_network(steps=20)
    m = map_network(net, "loihi2", "traffic", max_per_core=5)
    run = emulate(net, m, noc="analytic")
    e = energy_report(run)
    chip = m.chip
    c = run.counters
    assert e["breakdown"]["graded_synaptic_ops"] == c["graded_synaptic_ops"] * chip.energy.graded_synapse_op > 0
    assert e["breakdown"]["payload"] == c["payload_bytes_out"] * chip.energy.payload_byte > 0
    assert sum(e["breakdown"].values()) == e["total_j"]


def test_state_words_limit_compartments_per_core():
    net = Network("w", steps=2)
    net.add_population("h", 100, model="sigma_delta", vth=1)
    m = map_network(net, "tiny", "sequential")
    cap = m.capacity["state_words"]
    per_core = m.usage["compartments"]
    assert max(m.usage["state_words"]) <= cap
    assert max(per_core) == cap // 4  # four state words per sigma_delta compartment
    lif = Network("l", steps=2)
    lif.add_population("h", 100)
    assert max(map_network(lif, "tiny", "sequential").usage["compartments"]) == cap // 2


def test_graded_chip_keys_are_optional_and_validated(tmp_path):
    from chipemu.chips import load_chip
    from chipemu.errors import ChipSpecError
    old = load_chip("loihi1")  # written before graded spikes: the keys default to 0
    assert old.energy.graded_synapse_op == 0.0 and old.time.payload_byte == 0.0
    text = (Path(__file__).resolve().parent.parent / "chipemu" / "chips" / "loihi2.toml").read_text()
    assert load_chip("loihi2").energy.payload_byte > 0
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("payload_byte = 0.425e-12", "payload_byte = -1.0"))
    with pytest.raises(ChipSpecError, match="payload_byte"):
        load_chip(str(bad))
