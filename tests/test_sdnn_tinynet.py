"""lava-dl's SDNN test network (tinynet_sdnn) against a Lava run of it, payload for payload.

``tests/data/lava-dl-sdnn/`` (see its README.md) holds the network file, its input and a
Lava 0.10 CPU (``fixed_pt``) run: the payloads of the Delta input layer, the SigmaDelta
conv layer and the Sigma output layer at every step.  The network is built here with the
registers netx gives Lava: Delta ``vth = vThMant``, SigmaDelta ``vth = vThMant``, bias per
channel, ReLU, ``spike_exp = state_exp = 6``; Sigma for the ``sigma_output`` layer; conv as
a correlation of the stored weights; dense weights as stored.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chipemu import reference
from chipemu.chip import emulate
from chipemu.network import Network
from mapper import map_network

DATA = Path(__file__).parent / "data" / "lava-dl-sdnn"
STEPS = 15


def tinynet_sdnn(path, x: np.ndarray) -> Network:
    """The network netx builds from ``path``; ``x[t]`` is the value its input layer gets at
    step t (sent at t - 1 by a graded input group: x[0] must be 0)."""
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "r") as f:
        vth0 = int(f["layer/0/neuron/vThMant"][()])
        vth1 = int(f["layer/1/neuron/vThMant"][()])
        w1 = f["layer/1/weight"][()].astype(np.int64)      # (out, in, kH, kW)
        b1 = f["layer/1/bias"][()].astype(np.int64)
        w3 = f["layer/3/weight"][()].astype(np.int64)      # (100, 864), flatten order c*36 + y*6 + x
        assert bool(f["layer/3/neuron/sigma_output"][()])
    assert not x[0].any()
    C, H, W = 3, 16, 16
    O, OH, OW = 24, 6, 6
    net = Network("tinynet_sdnn", steps=x.shape[0])
    t, i = np.nonzero(x[1:])
    src = net.add_input("input", C * H * W, i, t, spike_val=x[1:][t, i])
    # Delta(vth, spike_exp 6) fed by weight 1 == Delta(2 vth, spike_exp 5) fed by weight 2
    l0 = net.add_population("layer0", C * H * W, model="delta", vth=2 * vth0, spike_exp=5, state_exp=6)
    l1 = net.add_population("layer1", O * OH * OW, model="sigma_delta", vth=vth1, bias=np.repeat(b1, OH * OW),
                            spike_exp=6, state_exp=6, act_mode=1)
    l3 = net.add_population("layer3", w3.shape[0], model="sigma")
    net.connect(src, l0, "one_to_one", weight=2)
    o, oy, ox, c, ky, kx = np.meshgrid(np.arange(O), np.arange(OH), np.arange(OW), np.arange(C), np.arange(5),
                                       np.arange(5), indexing="ij")
    wt = w1[o, c, ky, kx]
    keep = wt != 0
    pre = ((c * H + 2 * oy + ky) * W + 2 * ox + kx)[keep]
    post = ((o * OH + oy) * OW + ox)[keep]
    net.connect(l0, l1, "explicit", src=pre, dst=post, weight=wt[keep])
    net.connect(l1, l3, "all_to_all", weight=w3.T.reshape(-1))
    return net


def _payloads(net, spikes, name):
    pop = net.population(name)
    s = spikes.select(pop.start, pop.stop)
    out = np.zeros((STEPS, pop.size), dtype=np.int64)
    out[s.t, s.neuron] = s.payload
    return out


@pytest.fixture(scope="module")
def tinynet():
    x = np.load(DATA / "tinynet_sdnn_input.npy").astype(np.int64)
    with np.load(DATA / "tinynet_sdnn_lava.npz") as z:
        lava = {k: z[k] for k in z.files}
    return tinynet_sdnn(DATA / "tinynet_sdnn.net", x), lava


def test_reference_matches_lava_every_payload(tinynet):
    net, lava = tinynet
    res = reference.run(net, steps=STEPS)
    for layer in ("layer0", "layer1", "layer3"):
        np.testing.assert_array_equal(_payloads(net, res.spikes, layer), lava[f"{layer}/out"], err_msg=layer)
    assert [np.count_nonzero(lava[f"{k}/out"]) for k in ("layer0", "layer1", "layer3")] == [1373, 385, 1400]


def test_chip_matches_reference_and_charges_payloads(tinynet):
    net, _ = tinynet
    ref = reference.run(net, steps=STEPS)
    m = map_network(net, "loihi2", "sequential", max_per_core=256)
    run = emulate(net, m, STEPS, noc="analytic")
    assert run.spikes == ref.spikes
    c = run.counters
    assert c["payload_bytes_out"] >= c["packets_out"] > 0 and c["graded_synaptic_ops"] > 0
