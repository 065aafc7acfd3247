"""The chip energy model, checked against operation counts derived by hand."""

import json
from dataclasses import dataclass, field

import numpy as np
import pytest

from chipemu import Network
from chipemu.chip import emulate
from chipemu.chips import load_chip
from chipemu.energy import COMPONENTS, energy_report


@dataclass
class ExplicitMapping:
    """A hand-written placement (what emulate and build_report read from a mapping)."""

    chip: object
    neuron_core: np.ndarray
    neuron_slot: np.ndarray
    input_core: np.ndarray
    core_xy: np.ndarray
    strategy: str = "explicit"
    usage: dict = field(default_factory=dict)
    capacity: dict = field(default_factory=dict)

    @property
    def n_cores(self) -> int:
        return int(self.core_xy.shape[0])

    def quality(self, net) -> dict:
        return {"cut_synapses": 1, "total_hops": 2}


def tiny_network() -> Network:
    """Three compartments, one input source, two synapses, 4 steps.

    * input ``i0`` fires at step 0 -> a0 (weight 254, delay 0): integrated at step 1;
    * ``a0`` (du = dv = 4095, vth = 1) crosses threshold with that one input: spikes at step 1;
    * ``a0`` -> ``b0`` (weight 254, delay 0): ``b0`` spikes at step 2;
    * ``a1`` has a bias of 1 and a high threshold: active every step, never spikes.
    """
    net = Network("tiny3", steps=4)
    a = net.add_population("a", 2, du=4095, dv=4095, vth=[1, 1000], bias_mant=[0, 1])
    b = net.add_population("b", 1, du=4095, dv=4095, vth=1)
    i = net.add_spike_times("i", [[0]])
    net.connect(i, a, "explicit", src=[0], dst=[0], weight=254, delay=0)
    net.connect(a, b, "explicit", src=[0], dst=[0], weight=254, delay=0)
    return net


def tiny_mapping(net, chip, xy_b=(1, 1)) -> ExplicitMapping:
    """a0, a1 on core 0 at router (0, 0); b0 on core 1 at router ``xy_b``; input on core 0."""
    return ExplicitMapping(
        chip=chip,
        neuron_core=np.array([0, 0, 1]), neuron_slot=np.array([0, 1, 0]), input_core=np.array([0]),
        core_xy=np.array([[0, 0], list(xy_b)]),
        usage={"compartments": np.array([2, 1]), "synapses": np.array([1, 1])},
        capacity={"compartments": chip.core.compartments},
    )


def tiny_run(chip="tiny", noc="analytic"):
    spec = load_chip(chip)
    net = tiny_network()
    return emulate(net, tiny_mapping(net, spec), noc=noc)


# counts by hand (see tiny_network):
#   step 0: i0 fires -> 1 synaptic op on core 0; a1 active (bias); a0, b0 inactive
#   step 1: a0 active (input) and spikes -> 1 synaptic op on core 1, 1 packet (0,0)->(1,1):
#           1 east-west + 1 north-south hop; a1 active; b0 inactive
#   step 2: a0 active (u != 0 from step 1), a1 active, b0 active (input) and spikes
#   step 3: a0 inactive, a1 active, b0 active (u != 0)
HAND = {"synaptic_ops": 2, "neuron_active": 8, "neuron_inactive": 4, "spikes": 2, "packets_out": 1,
        "packets_in": 1, "input_spikes": 1, "hops_ew": 1, "hops_ns": 1}
HAND_CORE0 = {"synaptic_ops": 1, "neuron_active": 6, "neuron_inactive": 2, "spikes": 1, "packets_out": 1}
HAND_CORE1 = {"synaptic_ops": 1, "neuron_active": 2, "neuron_inactive": 2, "spikes": 1, "packets_in": 1}


def test_tiny_network_counts_match_hand_count():
    run = tiny_run()
    c = run.counters
    for k in ("synaptic_ops", "neuron_active", "neuron_inactive", "spikes", "packets_out", "packets_in",
              "input_spikes"):
        assert c[k] == HAND[k], k
    assert run.noc["hops_ew"] == HAND["hops_ew"] and run.noc["hops_ns"] == HAND["hops_ns"]
    assert run.spikes.t.tolist() == [1, 2] and run.spikes.neuron.tolist() == [0, 2]


def test_d18_energy_by_hand():
    run = tiny_run()
    e = energy_report(run)
    # D18 Table 2 (tiny chip = Loihi 1 costs): 23.6 pJ synaptic op, 81/52 pJ active/inactive,
    # 0 spike generation, 1.7 pJ per packet out, 0 in, 3.0 / 4.0 pJ per EW / NS hop
    want = {
        "synaptic_ops": 2 * 23.6e-12, "neuron_active": 8 * 81e-12, "neuron_inactive": 4 * 52e-12,
        "spike_generation": 0.0, "messages_out": 1 * 1.7e-12, "messages_in": 0.0,
        "hops_ew": 1 * 3.0e-12, "hops_ns": 1 * 4.0e-12, "barrier": 0.0, "learning": 0.0,
    }
    for k, v in want.items():
        assert e["breakdown"][k] == pytest.approx(v, rel=1e-15, abs=0), k
    dyn = 47.2e-12 + 648e-12 + 208e-12 + 1.7e-12 + 3e-12 + 4e-12  # 911.9 pJ
    assert e["dynamic_j"] == pytest.approx(911.9e-12, rel=1e-15)
    assert e["dynamic_j"] == pytest.approx(dyn, rel=1e-15)
    # static: 6.5 mW (tiny.toml) x chip time
    assert e["static_j"] == pytest.approx(0.0065 * run.chip_time_s, rel=1e-15)
    assert e["total_j"] == pytest.approx(dyn + 0.0065 * run.chip_time_s, rel=1e-15)
    # per core: counter terms on each core's own counts (hops are not per core)
    assert e["per_core_j"][0] == pytest.approx(23.6e-12 + 6 * 81e-12 + 2 * 52e-12 + 1.7e-12, rel=1e-15)
    assert e["per_core_j"][1] == pytest.approx(23.6e-12 + 2 * 81e-12 + 2 * 52e-12, rel=1e-15)
    assert sum(e["per_core_j"]) + e["breakdown"]["hops_ew"] + e["breakdown"]["hops_ns"] == \
        pytest.approx(e["dynamic_j"], rel=1e-14)
    assert e["energy_per_synaptic_op_j"] == pytest.approx(e["total_j"] / 2, rel=1e-15)
    assert e["per_step_mean_j"] == pytest.approx(e["total_j"] / 4, rel=1e-15)
    assert e["profile"] == "D18" and "Davies" in e["source"]


def test_chip_time_by_hand():
    """Compute phase: slowest core's serial ops; barrier: D18 linear table at 2 tiles."""
    run = tiny_run()
    t_act, t_inact, t_syn = 8.4e-9, 5.3e-9, 3.5e-9
    compute = [
        max(t_act + t_inact + t_syn, t_inact),   # step 0: core 0 a1 act, a0 inact, input syn op; core 1 b0 inact
        max(2 * t_act, t_inact + t_syn),         # step 1: core 0 a0, a1 act; core 1 b0 inact + syn op
        max(2 * t_act, t_act),                   # step 2
        max(t_act + t_inact, t_act),             # step 3
    ]
    np.testing.assert_allclose(run.step_time[:, 0], compute, rtol=1e-12)
    barrier = 113e-9 + (465e-9 - 113e-9) * (2 - 1) / (32 - 1)
    np.testing.assert_allclose(run.step_time[:, 2], barrier, rtol=1e-12)
    assert run.step_time[0, 1] == 0 and run.step_time[1, 1] > 0  # only step 1 has traffic


def test_breakdown_sums_exactly_to_total_also_after_json():
    e = energy_report(tiny_run())
    assert list(e["breakdown"]) == list(COMPONENTS)
    assert sum(e["breakdown"].values()) == e["total_j"]
    assert e["dynamic_j"] + e["static_j"] == e["total_j"]
    back = json.loads(json.dumps(e))
    assert sum(back["breakdown"].values()) == back["total_j"]


def test_loihi1_profiles_differ_on_the_same_run():
    d18 = tiny_run("loihi1")
    sil = tiny_run("loihi1-silicon")
    assert d18.counters == sil.counters
    e1, e2 = energy_report(d18), energy_report(sil)
    assert e1["profile"] == "D18" and e2["profile"] == "SANA-FE silicon-calibrated"
    assert e1["dynamic_j"] == pytest.approx(911.9e-12, rel=1e-15)
    # SANA-FE: 33.6 synapse, 72.8 / 51.2 active / inactive, 69.3 spike, 111 out, 0 in, 3.0 / 4.2 hops (pJ)
    sil_dyn = 2 * 33.6e-12 + 8 * 72.8e-12 + 4 * 51.2e-12 + 2 * 69.3e-12 + 111e-12 + 3.0e-12 + 4.2e-12
    assert e2["dynamic_j"] == pytest.approx(sil_dyn, rel=1e-15)
    assert e1["total_j"] != e2["total_j"]
    assert e1["static_j"] == pytest.approx(0.104 * d18.chip_time_s, rel=1e-15)


def test_learning_updates_counter_is_optional():
    run = tiny_run()

    class WithLearning:
        def __init__(self, r):
            self._r = r

        def __getattr__(self, k):
            return getattr(self._r, k)

        @property
        def counters(self):
            return {**self._r.counters, "learning_updates": 5}

    e0, e = energy_report(run), energy_report(WithLearning(run))
    assert e0["breakdown"]["learning"] == 0.0
    assert e["breakdown"]["learning"] == pytest.approx(5 * 120e-12, rel=1e-15)
    assert e["total_j"] == sum(e["breakdown"].values())


def test_zero_steps_has_no_division_by_zero():
    spec = load_chip("tiny")
    net = tiny_network()
    run = emulate(net, tiny_mapping(net, spec), steps=0, noc="analytic")
    e = energy_report(run)
    assert e["total_j"] == 0.0 and e["per_step_mean_j"] is None and e["energy_per_synaptic_op_j"] is None
