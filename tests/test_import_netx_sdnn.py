"""lava-dl netx SDNN files: tinynet_sdnn.net imported and run against a Lava run of it.

The data (``tests/data/lava-dl-sdnn``, see its README.md) is lava-dl's SDNN test network as
one ``.net`` file, its input and a Lava 0.10 CPU (``fixed_pt``) run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("h5py")

from chipemu import reference
from chipemu.chip import emulate
from chipemu.importers.netx import NetxImportError, from_netx
from mapper import map_network

DATA = Path(__file__).parent / "data" / "lava-dl-sdnn"
NET = DATA / "tinynet_sdnn.net"
STEPS = 15


@pytest.fixture(scope="module")
def imported():
    x = np.load(DATA / "tinynet_sdnn_input.npy")
    net, info = from_netx(NET, input_values=x)
    with np.load(DATA / "tinynet_sdnn_lava.npz") as z:
        lava = {k: z[k] for k in z.files}
    return net, info, lava


def _payloads(net, spikes, name):
    pop = net.population(name)
    s = spikes.select(pop.start, pop.stop)
    out = np.zeros((STEPS, pop.size), dtype=np.int64)
    out[s.t, s.neuron] = s.payload
    return out


def test_models_and_registers_are_netx(imported):
    net, info, _ = imported
    assert [p.model for p in net.populations] == ["delta", "sigma_delta", "sigma"]
    l1 = net.population("layer1")
    assert int(l1.vth[0]) == 20 and int(l1.model_regs["spike_exp"][0]) == 6 and int(l1.model_regs["state_exp"][0]) == 6
    assert net.steps == STEPS and info.input_mode == "values"


def test_import_matches_lava_every_payload_on_both_runners(imported):
    net, _, lava = imported
    ref = reference.run(net)
    for layer in ("layer0", "layer1", "layer3"):
        np.testing.assert_array_equal(_payloads(net, ref.spikes, layer), lava[f"{layer}/out"], err_msg=layer)
    m = map_network(net, "loihi2", "traffic", max_per_core=256)
    run = emulate(net, m, noc="analytic")
    assert run.spikes == ref.spikes
    assert run.counters["payload_bytes_out"] > 0


def test_input_values_in_lava_layout_give_the_same_network(imported):
    net, _, _ = imported
    x = np.load(DATA / "tinynet_sdnn_input.npy")
    lava_layout = x.reshape(STEPS, 3, 16, 16).transpose(0, 3, 2, 1)  # (t, x, y, c)
    again, _ = from_netx(NET, input_values=lava_layout)
    assert again.sha256() == net.sha256()


def test_sdnn_input_errors():
    x = np.load(DATA / "tinynet_sdnn_input.npy").astype(np.int64)
    bad = x.copy()
    bad[0, 5] = 3
    with pytest.raises(NetxImportError, match="step 0 must be all 0"):
        from_netx(NET, input_values=bad)
    with pytest.raises(NetxImportError, match="shape"):
        from_netx(NET, input_values=x[:, :10])
    with pytest.raises(NetxImportError, match="not both"):
        from_netx(NET, input_values=x, input_bias=np.zeros(768))
