"""Periodic reset (Lava's LIFReset): u and v cleared at the start of every step t with
t % reset_interval == reset_offset, in the shared kernel, both runners and the flat file."""

from __future__ import annotations

import numpy as np
import pytest

from chipemu import Network, neuron
from chipemu.chip import emulate
from chipemu.errors import FileFormatError, NetworkError
from chipemu.flatfile import network_to_arrays
from chipemu.reference import run as reference_run
from mapper import map_network


def _reset_net(steps=40):
    net = Network("reset", steps=steps)
    rng = np.random.default_rng(3)
    stim = net.add_bernoulli_input("stim", 20, p=0.3, seed=4)
    a = net.add_population("a", 30, du=rng.integers(0, 4096, 30), dv=rng.integers(0, 600, 30), vth=400,
                           bias_mant=rng.integers(0, 40, 30), bias_exp=6, reset_interval=7, reset_offset=3)
    b = net.add_population("b", 10, du=100, dv=50, vth=300, reset_interval=5,
                           reset_offset=np.arange(10) % 5)
    c = net.add_population("c", 5, du=100, dv=50, vth=300)
    net.connect(stim, a, "fixed_probability", p=0.5, seed=1, weight=lambda m: 2 * rng.integers(-10, 100, m))
    net.connect(a, b, "all_to_all", weight=40, delay=2)
    net.connect(b, c, "all_to_all", weight=60)
    return net


def _numpy_model(u, v, a, du, dv, vth, bias, interval, offset, t):
    """An independent per-step model of the kernel (Lava LIFReset semantics)."""
    if interval and t % interval == offset:
        u, v = 0, 0
    p = u * (4095 - du)
    u = (abs(p) >> 12) * (1 if p >= 0 else -1) + (a << 6)
    if u > 2**23:
        u -= 2**24
    elif u <= -2**23:
        u += 2**24
    q = v * (4096 - dv)
    v = (abs(q) >> 12) * (1 if q >= 0 else -1) + u + bias
    v = max(-(2**23 - 1), min(2**23 - 1, v))
    spike = v > (vth << 6)
    return u, (0 if spike else v), spike


def test_kernel_clears_state_at_the_start_of_due_steps():
    rng = np.random.default_rng(0)
    n, steps = 12, 50
    du, dv = rng.integers(0, 4096, n), rng.integers(0, 4096, n)
    vth, bias = rng.integers(0, 200, n), rng.integers(-50, 400, n)
    interval = np.array([0, 1, 2, 3, 5, 7, 7, 16, 16, 50, 4, 0])
    offset = np.array([0, 0, 1, 2, 0, 6, 3, 15, 0, 49, 1, 0])
    p = neuron.CompartmentParams.from_registers(du, dv, vth, bias, 0, interval, offset)
    u, v = np.zeros(n, np.int64), np.zeros(n, np.int64)
    ref = [(0, 0)] * n
    for t in range(steps):
        a = rng.integers(-100, 200, n)
        spk = neuron.lif_step(u, v, a, p, t)
        for i in range(n):
            uu, vv, s = _numpy_model(*ref[i], int(a[i]), int(du[i]), int(dv[i]), int(vth[i]), int(bias[i]),
                                     int(interval[i]), int(offset[i]), t)
            ref[i] = (uu, vv)
            assert (u[i], v[i], spk[i]) == (uu, vv, s), (t, i)


def test_reset_in_core_order_is_the_same():
    interval = np.array([3, 0, 3, 4])
    offset = np.array([1, 0, 2, 1])
    z = np.zeros(4, np.int64)
    p = neuron.CompartmentParams.from_registers(z, z, z + 1000, z + 10, z + 6, interval, offset)
    perm = np.array([2, 0, 3, 1])
    q = p.take(perm)
    u, v = np.zeros(4, np.int64), np.zeros(4, np.int64)
    uq, vq = np.zeros(4, np.int64), np.zeros(4, np.int64)
    for t in range(20):
        a = np.arange(4, dtype=np.int64) * t
        neuron.lif_step(u, v, a, p, t)
        neuron.lif_step(uq, vq, a[perm], q, t)
        assert np.array_equal(u[perm], uq) and np.array_equal(v[perm], vq)


def test_reference_and_chip_agree_with_reset():
    net = _reset_net()
    ref = reference_run(net)
    assert ref.spikes.t.size > 0
    for mapper in ("traffic", "sequential"):
        run = emulate(net, map_network(net, "loihi1", mapper=mapper, seed=0, max_per_core=7), noc="analytic")
        assert run.spikes == ref.spikes
    # the same network without the reset differs (the reset does something)
    arrs = network_to_arrays(net)
    del arrs["reset_interval"], arrs["reset_offset"]

    assert reference_run(Network.from_arrays(arrs)).spikes != ref.spikes


def test_flat_file_round_trip(tmp_path):
    net = _reset_net()
    net.save(tmp_path / "r.npz")
    back = Network.load(tmp_path / "r.npz")
    assert back.sha256() == net.sha256()
    assert list(back.population("b").reset_offset) == list(np.arange(10) % 5)
    assert back.population("c").reset_interval is None
    assert reference_run(back).spikes == reference_run(net).spikes


def test_networks_without_reset_write_no_reset_keys():
    net = Network("plain", steps=5)
    net.add_population("p", 3)
    assert "reset_interval" not in network_to_arrays(net)


@pytest.mark.parametrize("interval, offset, match", [
    (-1, 0, "reset_interval"), (5, 5, "reset_offset"), (0, 1, "reset_offset"), (4, -1, "reset_offset"),
    (2.5, 0, "reset_interval")])
def test_population_rejects_bad_reset(interval, offset, match):
    with pytest.raises(NetworkError, match=match):
        Network("x").add_population("p", 3, reset_interval=interval, reset_offset=offset)


def test_flat_file_rejects_bad_reset(tmp_path):
    arrs = network_to_arrays(_reset_net())
    for key, value, match in (("reset_offset", None, "'reset_offset'.*missing"),
                              ("reset_offset", np.full(45, 9), "'reset_offset'.*below"),
                              ("reset_interval", np.full(45, -2), "'reset_interval'.*out of range"),
                              ("reset_interval", np.zeros(3, np.int32), "'reset_interval'.*shape")):
        bad = dict(arrs)
        if value is None:
            del bad[key]
        else:
            bad[key] = value
        np.savez(tmp_path / "bad.npz", **bad)
        with pytest.raises(FileFormatError, match=match):
            Network.load(tmp_path / "bad.npz")
