"""lava-dl netx import: Lava's ground truth bit for bit (tiny.net), netx's dense weight
arithmetic, the MNIST tutorial network against an independent model, refusals, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

from conftest import DATA  # noqa: E402

from chipemu.chip import emulate  # noqa: E402
from chipemu.cli import main  # noqa: E402
from chipemu.errors import ChipemuError  # noqa: E402
from chipemu.importers.netx import from_netx, lava_dense_weights, read_netx  # noqa: E402
from chipemu.reference import run as reference_run  # noqa: E402
from chipemu.spikes import SpikeRaster  # noqa: E402
from mapper import map_network  # noqa: E402

LAVA = DATA / "lava-dl"
GT = LAVA / "gts" / "tinynet"


def _raster(net, spikes: SpikeRaster, pop: str, steps: int) -> np.ndarray:
    p = net.population(pop)
    out = np.zeros((steps, p.size), np.int8)
    sel = (spikes.neuron >= p.start) & (spikes.neuron < p.stop)
    out[spikes.t[sel], spikes.neuron[sel] - p.start] = 1
    return out


def _gt(name: str) -> np.ndarray:
    a = np.load(GT / f"{name}.npy")            # SLAYER (1, C, H, W, T)
    return a.reshape(-1, a.shape[-1]).T         # (T, C*H*W): C order, as chipemu's populations


@pytest.fixture(scope="module")
def tiny():
    net, info = from_netx(LAVA / "tiny.net", input_bias=np.load(GT / "input_bias.npy"), reset_interval=16, steps=17)
    return net, info, reference_run(net)


def test_tiny_net_structure(tiny):
    net, info, _ = tiny
    assert [p.name for p in net.populations] == ["layer0", "layer1", "layer2"]
    assert [p.size for p in net.populations] == [768, 864, 36]
    l1 = net.population("layer1")
    assert int(l1.du[0]) == 4095 and int(l1.dv[0]) == 1024 and int(l1.vth[0]) == 25 and int(l1.bias_exp[0]) == 6
    assert [int(p.reset_offset[0]) for p in net.populations] == [0, 1, 2]
    assert [s.block for s in info.layers] == [0, 1, 2] and info.input_mode == "bias"


def test_tiny_net_is_lava_bit_exact(tiny):
    net, _, ref = tiny
    out, l1, l0 = (_raster(net, ref.spikes, p, 17) for p in ("layer2", "layer1", "layer0"))
    gt_out, gt_l1, gt_in = _gt("output"), _gt("layer1"), _gt("input")
    assert gt_out.sum() > 0 and gt_l1.sum() > 0 and gt_in.sum() > 0
    for j in range(1, 16):   # alignment: lava-dl's README of these files (tests/data/lava-dl)
        assert np.array_equal(out[j + 1], gt_out[j]), j
        assert np.array_equal(l1[j], gt_l1[j]), j
        assert np.array_equal(l0[j - 1], gt_in[j]), j


def test_tiny_net_on_the_chip_same_spikes(tiny):
    net, _, ref = tiny
    run = emulate(net, map_network(net, "loihi1", mapper="traffic", seed=0), noc="analytic")
    assert run.spikes == ref.spikes


def test_input_spikes_replace_the_input_layer(tiny):
    """Lava's input-layer spikes fed as --input give Lava's layer 1 (same resets)."""
    net0, _, ref0 = tiny
    spikes = _raster(net0, ref0.spikes, "layer0", 17)
    net, info = from_netx(LAVA / "tiny.net", input_spikes=spikes, reset_interval=16)
    assert info.input_mode == "spikes" and net.inputs[0].name == "layer0" and net.steps == 17
    ref = reference_run(net)
    for pop in ("layer1", "layer2"):
        assert np.array_equal(_raster(net, ref.spikes, pop, 17), _raster(net0, ref0.spikes, pop, 17)), pop


@pytest.mark.parametrize("w", [
    np.array([[2, -4, 100], [254, -256, 0]]),        # mixed
    np.array([[0, 6, 254], [12, 2, 30]]),            # excitatory
    np.array([[-2, -6, -100], [-30, -12, -4]]),      # inhibitory, min not a power of two
])
def test_lava_dense_weights_are_the_stored_integers(w):
    assert np.array_equal(lava_dense_weights(w), w)


def test_lava_dense_weights_inhibitory_clip():
    """An all-negative matrix whose minimum m makes -256/m a power of two loses 2**n at m."""
    assert np.array_equal(lava_dense_weights(np.array([[-128, -6, -2]])), np.array([[-126, -6, -2]]))
    assert np.array_equal(lava_dense_weights(np.array([[-128, -8, -4]])), np.array([[-124, -8, -4]]))
    assert np.array_equal(lava_dense_weights(np.array([[-2, -2]])), np.array([[0, 0]]))


def _cuba_model(weights, du, dv, vth, spikes_in, steps):
    """An independent model of netx's dense CUBA chain in Lava (one-step synapses)."""
    layers = len(weights)
    u = [np.zeros(w.shape[0], np.int64) for w in weights]
    v = [np.zeros(w.shape[0], np.int64) for w in weights]
    prev = [np.zeros(w.shape[0], np.int64) for w in weights]   # outputs of step t - 1
    out = [np.zeros((steps, w.shape[0]), np.int8) for w in weights]
    for t in range(steps):
        inputs = [spikes_in[t - 1] if t >= 1 else np.zeros(weights[0].shape[1])] + [prev[k] for k in range(layers - 1)]
        for k in range(layers):
            a = weights[k] @ inputs[k].astype(np.int64)
            uu = u[k] * (4096 - du)
            u[k] = np.sign(uu) * (np.abs(uu) >> 12) + (a << 6)
            u[k] = np.where(u[k] > 2**23, u[k] - 2**24, np.where(u[k] <= -2**23, u[k] + 2**24, u[k]))
            vv = v[k] * (4096 - dv)
            v[k] = np.clip(np.sign(vv) * (np.abs(vv) >> 12) + u[k], -(2**23 - 1), 2**23 - 1)
            s = v[k] > (vth << 6)
            v[k][s] = 0
            out[k][t] = s
        prev = [o[t].astype(np.int64) for o in out]
    return out


def test_mnist_dense_network_against_an_independent_model():
    rng = np.random.default_rng(5)
    steps = 40
    spikes = (rng.random((steps, 784)) < 0.15).astype(np.int8)
    spikes[-1] = 0
    net, info = from_netx(LAVA / "trained_mnist_network.net", input_spikes=spikes)
    assert [p.name for p in net.populations] == ["layer0", "layer1", "layer2"]
    assert net.inputs[0].name == "input" and info.input_mode == "spikes"
    ref = reference_run(net)
    with h5py.File(LAVA / "trained_mnist_network.net") as fh:
        weights = [lava_dense_weights(fh[f"layer/{i}/weight"][()].astype(np.int64)) for i in range(3)]
    # the input group fires at step t; netx's first synapse delivers at t + 1 (model: spikes_in[t - 1])
    model = _cuba_model(weights, 409, 410, 64, spikes, steps)
    for k in range(3):
        got = _raster(net, ref.spikes, f"layer{k}", steps)
        assert np.array_equal(got, model[k]), k
    assert sum(m.sum() for m in model) > 100


def _write_net(path, layers):
    with h5py.File(path, "w") as fh:
        for i, layer in enumerate(layers):
            g = fh.create_group(f"layer/{i}")
            for k, v in layer.items():
                if k == "neuron":
                    for nk, nv in v.items():
                        g.create_dataset(f"neuron/{nk}", data=nv)
                elif k == "type":
                    g.create_dataset("type", (1,), "S10", [v.encode()])
                else:
                    g.create_dataset(k, data=v)
    return path


CUBA = {"type": "CUBA", "iDecay": 1024, "vDecay": 128, "vThMant": 80}


def test_unsupported_neuron_type_names_layer_and_type(tmp_path):
    path = _write_net(tmp_path / "s.net", [
        {"type": "input", "shape": np.array([4]), "neuron": CUBA},
        {"type": "dense", "shape": np.array([3]), "weight": np.full((3, 4), 2.0),
         "neuron": {**CUBA, "type": "RF"}}])
    with pytest.raises(ChipemuError, match=r"layer 1 \(dense\): neuron type 'RF' is not supported"):
        from_netx(path, input_bias=np.zeros(4))
    assert [layer.type for layer in read_netx(path)] == ["input", "dense"]


@pytest.mark.parametrize("layer, match", [
    ({"type": "concat", "shape": np.array([3])}, r"layer 1 \(concat\): layer type 'concat' is not supported"),
    ({"type": "dense", "shape": np.array([3]), "weight": np.full((3, 4), 3.0), "neuron": CUBA}, "is odd"),
    ({"type": "dense", "shape": np.array([3]), "weight": np.full((3, 5), 2.0), "neuron": CUBA}, "takes 5 inputs"),
    ({"type": "dense", "shape": np.array([3]), "weight": np.full((3, 4), 2.0),
      "neuron": {**CUBA, "iDecay": 0}}, "iDecay = 0"),
    ({"type": "dense", "shape": np.array([3]), "weight": np.full((3, 4), 2.0), "bias": np.full(3, 9000.0),
      "neuron": CUBA}, "bias_mant"),
])
def test_refusals_name_the_layer(tmp_path, layer, match):
    path = _write_net(tmp_path / "bad.net", [{"type": "input", "shape": np.array([4]), "neuron": CUBA}, layer])
    with pytest.raises(ChipemuError, match=match):
        from_netx(path, input_spikes=np.zeros((3, 4)))


def test_dense_rec_delays_and_pool(tmp_path):
    """dense_rec adds the recurrent matrix; delays per output row; pool is a per-channel sum."""
    rng = np.random.default_rng(1)
    w = 2 * rng.integers(-20, 60, (5, 8))
    path = _write_net(tmp_path / "r.net", [
        {"type": "input", "shape": np.array([2, 4, 4])},
        {"type": "pool", "shape": np.array([2, 2, 2]), "weight": np.full((1, 1, 2, 2, 1), 40.0),
         "kernelSize": np.array([2, 2]), "stride": np.array([2, 2]), "padding": np.array([0, 0]),
         "dilation": np.array([1, 1]), "neuron": CUBA},
        {"type": "flatten", "shape": np.array([8, 1, 1])},
        {"type": "dense_rec", "shape": np.array([5]), "weight": w.astype(float),
         "weight_rec": np.full((5, 5), -4.0), "delay": np.arange(5.0), "neuron": CUBA}])
    spikes = (rng.random((30, 32)) < 0.4).astype(np.int8)
    net, info = from_netx(path, input_spikes=spikes)
    assert [s.type for s in info.layers] == ["input", "pool", "flatten", "dense_rec"]
    recs = [p for p in net.projections if p.pre == p.post == "layer3"]
    assert len(recs) == 1 and len(recs[0]) == 25
    dense = next(p for p in net.projections if p.pre == "layer1")
    assert np.array_equal(np.asarray(dense.delay), np.asarray(dense.dst))
    ref = reference_run(net)
    run = emulate(net, map_network(net, "loihi1", seed=0), noc="analytic")
    assert run.spikes == ref.spikes and len(ref.spikes) > 0


def test_cli_run_netx(tmp_path, capsys):
    out = tmp_path / "o"
    np.save(tmp_path / "bias.npy", np.load(GT / "input_bias.npy"))
    assert main(["run", str(LAVA / "tiny.net"), "--input-bias", str(tmp_path / "bias.npy"), "--reset-interval", "16",
                 "--steps", "17", "--noc", "analytic", "--probe", "layer2", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["import"]["format"] == "lava-dl netx"
    assert [layer["population"] for layer in report["import"]["details"]["layers"]] == ["layer0", "layer1", "layer2"]
    net, _ = from_netx(LAVA / "tiny.net", input_bias=np.load(GT / "input_bias.npy"), reset_interval=16, steps=17)
    spikes = SpikeRaster.load(out / "spikes.npz")
    assert spikes == reference_run(net).spikes
    with np.load(out / "probes.npz") as pr:
        assert pr["layer2/v"].shape == (17, 36)
    assert "imported from" in (out / "report.html").read_text()


@pytest.mark.parametrize("args, match", [
    (["--dt", "1e-3"], "--dt does not apply"),
    (["--input-bias", "missing.npy"], "no such file"),
    (["--reset-interval", "0"], "must be >= 1"),
])
def test_cli_netx_bad_options(tmp_path, capsys, args, match):
    try:
        rc = main(["run", str(LAVA / "tiny.net"), *args, "--out", str(tmp_path / "o")])
    except SystemExit as exc:  # argparse's own usage errors
        rc = exc.code
    err = capsys.readouterr().err
    assert rc == 2 and match in err and err.startswith("error:")
