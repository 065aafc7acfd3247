"""Probes: u and v of chosen populations every step, identical from both runners, in the
Python API and in DIR/probes.npz (--probe POP)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DATA

from chipemu import Network
from chipemu.chip import emulate
from chipemu.cli import main
from chipemu.errors import ChipemuError
from chipemu.reference import run as reference_run
from mapper import map_network


def _net():
    net = Network("probed", steps=60)
    stim = net.add_bernoulli_input("stim", 16, p=0.2, seed=2)
    a = net.add_population("a", 24, du=300, dv=200, vth=200, bias_mant=3, bias_exp=6, reset_interval=9, reset_offset=4)
    b = net.add_population("b", 11, du=4095, dv=100, vth=150)
    net.connect(stim, a, "fixed_probability", p=0.4, seed=3, weight=80, delay=1)
    net.connect(a, b, "fixed_probability", p=0.5, seed=4, weight=lambda m: 2 * np.arange(m) % 120 - 40)
    return net


def test_probes_equal_the_traces_of_the_reference_runner():
    net = _net()
    b = net.population("b")
    ref = reference_run(net, probes=["b", "a"], record=np.arange(b.start, b.stop))
    assert set(ref.probes) == {"a/u", "a/v", "b/u", "b/v"}
    assert ref.probes["b/u"].shape == (60, 11) and ref.probes["a/v"].shape == (60, 24)
    assert np.array_equal(ref.probes["b/u"], ref.u_trace) and np.array_equal(ref.probes["b/v"], ref.v_trace)
    assert np.abs(ref.probes["a/v"]).max() > 0


@pytest.mark.parametrize("mapper, per_core", [("traffic", 5), ("sequential", 13)])
def test_probes_identical_on_the_chip(mapper, per_core):
    net = _net()
    ref = reference_run(net, probes=["a", "b"])
    run = emulate(net, map_network(net, "loihi1", mapper=mapper, seed=1, max_per_core=per_core),
                  noc="analytic", probes=["a", "b"])
    assert run.probes.keys() == ref.probes.keys()
    for key in ref.probes:
        assert np.array_equal(run.probes[key], ref.probes[key]), key


def test_no_probe_no_probes():
    assert reference_run(_net()).probes == {}


@pytest.mark.parametrize("probes, match", [(["zz"], "no population named 'zz'"), (["a", "a"], "probed twice"),
                                           (["stim"], "no population named 'stim'")])
def test_bad_probe_names(probes, match):
    with pytest.raises(ChipemuError, match=match):
        reference_run(_net(), probes=probes)


def test_cli_run_and_simulate_write_probes(tmp_path):
    net = _net()
    net.save(tmp_path / "n.npz")
    assert main(["run", str(tmp_path / "n.npz"), "--probe", "a", "--probe", "b", "--noc", "analytic",
                 "--out", str(tmp_path / "r")]) == 0
    assert main(["simulate", str(tmp_path / "n.npz"), "--probe", "b", "--out", str(tmp_path / "s")]) == 0
    ref = reference_run(net, probes=["a", "b"]).probes
    with np.load(tmp_path / "r" / "probes.npz") as run_p, np.load(tmp_path / "s" / "probes.npz") as sim_p:
        assert sorted(run_p.files) == ["a/u", "a/v", "b/u", "b/v"]
        assert sorted(sim_p.files) == ["b/u", "b/v"]
        for key in run_p.files:
            assert np.array_equal(run_p[key], ref[key])
        assert np.array_equal(sim_p["b/v"], ref["b/v"])
    # a later run without probes removes the stale file
    assert main(["run", str(tmp_path / "n.npz"), "--noc", "analytic", "--out", str(tmp_path / "r")]) == 0
    assert not (tmp_path / "r" / "probes.npz").exists()


def test_cli_bad_probe_is_one_line(tmp_path, capsys):
    assert main(["run", str(DATA / "chain.net.npz"), "--probe", "nope", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: probe: no population named 'nope'") and err.count("\n") == 1
