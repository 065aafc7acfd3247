"""The chip runner: spikes identical to the reference runner under any mapping, chip and
NoC model; packets conserved; counters exact; time and traffic depend on the mapping."""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from chipemu import Network
from chipemu.chip import emulate
from chipemu.chips import load_chip
from chipemu.core import COUNTERS
from chipemu.errors import FitError
from chipemu.reference import run as reference_run
from mapper import MAPPERS, map_network

from conftest import DATA, GOLDEN

CHIPS = ["loihi1", "loihi1-silicon", "loihi2", "tiny"]


def _fits(net, chip):
    return net.n_compartments <= chip.n_cores * chip.core.compartments


@pytest.mark.parametrize("name", GOLDEN)
@pytest.mark.parametrize("mapper", sorted(MAPPERS))
def test_golden_on_chip_every_mapper(name, mapper):
    net = Network.load(DATA / f"{name}.net.npz")
    chip = load_chip("loihi1")
    run = emulate(net, map_network(net, chip, mapper=mapper, seed=0), noc="analytic")
    ref = reference_run(net)
    assert run.spikes == ref.spikes
    assert run.counters["synaptic_ops"] == ref.synaptic_events


@pytest.mark.parametrize("chip_name", CHIPS)
def test_every_preset_same_spikes_simpy(chip_name):
    chip = load_chip(chip_name)
    net = Network.load(DATA / "ei_1k.net.npz")
    if not _fits(net, chip):  # tiny: 512 compartments; use the edge case net instead
        net = Network.load(DATA / "edge_mix.net.npz")
    run = emulate(net, map_network(net, chip, mapper="traffic", seed=1), steps=60, noc="simpy")
    assert run.spikes == reference_run(net, 60).spikes


def _random_net(seed, n_pops, sizes, p, in_n, steps):
    rng = np.random.default_rng(seed)
    net = Network(f"rnd{seed}", steps=steps)
    pops = []
    for i in range(n_pops):
        s = sizes[i]
        pops.append(net.add_population(f"p{i}", s, du=rng.integers(0, 4096, s), dv=rng.integers(0, 4096, s),
                                       vth=rng.integers(0, 300, s), bias_mant=rng.integers(-200, 400, s),
                                       bias_exp=rng.integers(0, 4, s)))
    stim = net.add_bernoulli_input("stim", in_n, p=0.2, seed=seed)
    for i, a in enumerate(pops):
        net.connect(stim, a, "fixed_probability", p=0.3, seed=seed + i, weight=lambda m: 2 * rng.integers(-20, 100, m),
                    delay=lambda m: rng.integers(0, 6, m))
        for j, b in enumerate(pops):
            net.connect(a, b, "fixed_probability", p=p, seed=seed * 7 + i * 3 + j,
                        weight=lambda m: 2 * rng.integers(-128, 128, m), delay=lambda m: rng.integers(0, 63, m))
    return net


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_pops=st.integers(1, 3), sizes=st.lists(st.integers(1, 70), min_size=3, max_size=3),
       p=st.floats(0.0, 0.3), in_n=st.integers(1, 10), mapper=st.sampled_from(sorted(MAPPERS)),
       chip=st.sampled_from(CHIPS), noc=st.sampled_from(["simpy", "analytic"]))
def test_property_chip_equals_reference(seed, n_pops, sizes, p, in_n, mapper, chip, noc):
    net = _random_net(seed, n_pops, sizes, p, in_n, steps=30)
    spec = load_chip(chip)
    try:
        mapping = map_network(net, spec, mapper=mapper, seed=seed)
    except FitError:  # a draw too big for the chip (tiny: 8 cores) says nothing about spikes
        assume(False)
    run = emulate(net, mapping, noc=noc)
    ref = reference_run(net)
    assert run.spikes == ref.spikes
    c = run.counters
    assert c["synaptic_ops"] == ref.synaptic_events
    assert c["packets_out"] == c["packets_in"] == run.noc["packets"]  # conservation
    assert c["spikes"] == len(ref.spikes)
    assert c["neuron_active"] + c["neuron_inactive"] == net.n_compartments * 30


def test_counters_by_hand():
    """2 neurons on 2 cores; one input spike -> a fires -> b gets one synaptic op."""
    net = Network("hand", steps=6)
    a = net.add_population("a", 1, du=4095, dv=4095, vth=0)
    b = net.add_population("b", 1, du=4095, dv=4095, vth=131071)
    stim = net.add_spike_times("stim", [[1]])
    net.connect(stim, a, weight=2)
    net.connect(a, b, weight=2, delay=2)
    chip = load_chip("tiny")
    m = map_network(net, chip, mapper="sequential", seed=0, max_per_core=1)
    assert m.n_cores == 2
    run = emulate(net, m, noc="simpy")
    c = run.counters
    assert c["synaptic_ops"] == 2 and c["spikes"] == 1 and c["input_spikes"] == 1
    # a is active at step 2 (input) and 3 (u = 128 left from step 2, decays fully);
    # b at step 5 (a's spike at step 2 over delay 2); 2 compartments x 6 steps in all
    assert c["neuron_active"] == 3 and c["neuron_inactive"] == 9
    assert c["packets_out"] == run.noc["packets"] == 1 + (m.input_core[0] != m.neuron_core[0])


def test_time_and_traffic_depend_on_mapping_spikes_do_not():
    net = Network.load(DATA / "ei_1k.net.npz")
    chip = load_chip("loihi1")
    runs = [emulate(net, map_network(net, chip, mapper="sequential", seed=0, max_per_core=m), steps=50, noc="simpy")
            for m in (1000, 64)]
    assert runs[0].spikes == runs[1].spikes
    assert runs[1].noc["packets"] > runs[0].noc["packets"]
    assert runs[0].step_time.shape == (50, 3) and (runs[0].step_time >= 0).all()


def test_deterministic():
    net = Network.load(DATA / "ei_1k.net.npz")
    chip = load_chip("loihi1")
    r1, r2 = (emulate(net, map_network(net, chip, mapper="traffic", seed=3), steps=40) for _ in range(2))
    assert r1.spikes == r2.spikes
    assert np.array_equal(r1.step_time, r2.step_time)
    assert np.array_equal(r1.core_counts, r2.core_counts)
    assert r1.noc == r2.noc


def test_core_views_are_exact():
    net = Network.load(DATA / "edge_mix.net.npz")
    chip = load_chip("tiny")
    m = map_network(net, chip, mapper="sequential", seed=0)
    from chipemu.core import CoreArray
    f = net.flat()
    cores = CoreArray(f, m.neuron_core, m.neuron_slot, m.input_core, m.n_cores)
    total_syn = 0
    for c in range(m.n_cores):
        v = cores.view(c)
        assert np.all(m.neuron_core[v.compartments] == c)
        assert np.array_equal(np.sort(m.neuron_slot[v.compartments]), np.arange(v.compartments.size))
        total_syn += sum(s[0].size for s in v.axon_synapses)
        for local, _, _ in v.axon_synapses:
            assert np.all(local < v.compartments.size)
    assert total_syn == f.m + f.in_src.size
    assert np.array_equal(cores.fanin_axons(), m.usage["fanin_axons"])


def test_mismatched_mapping_rejected():
    a = Network.load(DATA / "chain.net.npz")
    b = Network.load(DATA / "edge_mix.net.npz")
    chip = load_chip("loihi1")
    with pytest.raises(Exception, match="mapping does not match"):
        emulate(b, map_network(a, chip, mapper="sequential"))


def test_counter_names_stable():
    assert COUNTERS[:4] == ("synaptic_ops", "neuron_active", "neuron_inactive", "spikes")


@pytest.mark.parametrize("noc", ["analytic", "simpy"])
def test_block_ends_at_the_axon_bound_with_identical_results(noc, monkeypatch):
    """A block of steps also ends once its input-axon reads reach _BLOCK_AXONS: with a
    bound of 50 the run is evaluated in many more blocks, and every per-step time, counter,
    link count and spike is bit-identical to the default blocks, for both NoC models."""
    import chipemu.chip as chip_module

    net = Network.load(DATA / "ei_1k.net.npz")
    m = map_network(net, load_chip("loihi1"), mapper="sequential", seed=0)
    finish = chip_module._finish_block

    def run():
        blocks = []
        monkeypatch.setattr(chip_module, "_finish_block", lambda *a: blocks.append(1) or finish(*a))
        return emulate(net, m, 60, noc=noc), len(blocks)

    default, n_default = run()
    monkeypatch.setattr(chip_module, "_BLOCK_AXONS", 50)
    small, n_small = run()
    assert n_default == 1 and n_small > 10
    for k in ("step_time", "step_counts", "core_counts", "link_packets"):
        assert getattr(default, k).tobytes() == getattr(small, k).tobytes(), k
    assert default.spikes == small.spikes and repr(default.noc) == repr(small.noc)
