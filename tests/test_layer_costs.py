"""Per-population costs (report.json ``populations``) and the conv program on the chip."""

import numpy as np
import pytest

from chipemu import Network
from chipemu.pipeline import run_network
from chipemu.report import write_html


def conv_net() -> Network:
    rng = np.random.default_rng(3)
    net = Network("layers", steps=30)
    t, i = np.nonzero(rng.random((30, 2 * 10 * 10)) < 0.2)
    net.add_input("x", (2, 10, 10), i, t)
    net.add_population("c1", (4, 8, 8), du=500, dv=300, vth=300)
    net.add_population("p1", (4, 4, 4), du=500, dv=300, vth=100)
    net.add_population("out", 5, du=500, dv=300, vth=200)
    net.connect_conv("x", "c1", rng.integers(0, 60, (4, 2, 3, 3)) * 2)
    net.connect_pool("c1", "p1", 2, weight=40, mode="sum")
    net.connect("p1", "out", "all_to_all", weight=rng.integers(-10, 60, 64 * 5) * 2)
    net.connect("out", "out", "fixed_probability", p=0.5, seed=1, weight=-20)
    return net


@pytest.fixture(scope="module")
def conv_run():
    return run_network(conv_net(), chip="loihi1-silicon", noc="analytic", measure_baseline=False, max_per_core=100)


def test_population_costs_add_up(conv_run):
    r = conv_run.report
    pops = {p["name"]: p for p in r["populations"]}
    net = conv_run.network
    assert list(pops) == [p.name for p in net.populations]
    assert sum(p["synaptic_ops"] for p in pops.values()) == r["ops"]["synaptic_ops"]
    assert sum(p["spikes"] for p in pops.values()) == r["spikes"]["total"]
    assert sum(p["synapses"] for p in pops.values()) == net.n_synapses
    assert [p["compartments"] for p in pops.values()] == [p.size for p in net.populations]
    assert pops["c1"]["encoding"] == "conv" and pops["p1"]["encoding"] == "conv"
    assert pops["out"]["encoding"] == "sparse+dense"
    assert pops["c1"]["shape"] == [4, 8, 8]
    # conv synaptic ops: charged the conv energy
    e = r["energy"]["synaptic_ops_by_encoding"]
    conv_ops = pops["c1"]["synaptic_ops"] + pops["p1"]["synaptic_ops"]
    assert e["conv"]["ops"] == conv_ops == r["ops"]["synaptic_ops_conv"]
    assert e["conv"]["unit_j"] == pytest.approx(24.0e-12) and e["sparse"]["unit_j"] == pytest.approx(33.6e-12)
    assert e["dense"]["ops"] == r["ops"]["synaptic_ops_dense"] > 0
    assert sum(v["energy_j"] for v in e.values()) == pytest.approx(r["energy"]["breakdown"]["synaptic_ops"])
    # shares: everything but hops and barrier is attributed
    b = r["energy"]["breakdown"]
    attributed = 1 - (b["hops_ew"] + b["hops_ns"] + b["barrier"]) / r["energy"]["dynamic_j"]
    assert sum(p["energy_share"] for p in pops.values()) == pytest.approx(attributed, rel=1e-9)
    # memory: the kernel rows of c1 and p1 are charged once per core and channel
    usage = r["mapping"]["usage"]
    assert sum(usage["kernel_bits"]) > 0
    assert pops["c1"]["cores"] >= 2 and all(p["synapse_bits"] > 0 for p in pops.values())
    assert r["mapping"]["encoding"]["projections"]["x->c1"] == "conv"


def test_population_table_in_html(conv_run, tmp_path):
    page = write_html(conv_run.report, conv_run.spikes, tmp_path).read_text()
    assert "Per-population costs" in page and "c1" in page and "conv" in page


def test_conv_program_on_chip_uses_conv_encoding():
    from chipemu.loading import load_program
    mod = load_program("conv_digits")
    net = mod.build(images=10, window=40)
    run = run_network(net, chip="loihi1-silicon", noc="analytic", measure_baseline=False)
    ok, detail = mod.check(run)
    assert ok, detail
    enc = run.report["mapping"]["encoding"]["projections"]
    assert enc["pixels->conv"] == "conv" and enc["conv->pool"] == "conv" and enc["pool->out"] == "sparse"
    assert "conv" in detail and "energy/inference" in detail
    assert run.report["ops"]["synaptic_ops_conv"] > 0
