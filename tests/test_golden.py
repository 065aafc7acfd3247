"""The reference runner reproduces Intel Lava's bit-accurate rasters event for event."""

import numpy as np
import pytest

from chipemu import Network, SpikeRaster
from chipemu.reference import run

from conftest import DATA, GOLDEN


@pytest.mark.parametrize("name", GOLDEN)
def test_reference_matches_lava(name):
    net = Network.load(DATA / f"{name}.net.npz")
    golden = SpikeRaster.load(DATA / f"{name}.spikes.npz")
    result = run(net)
    assert len(result.spikes) == len(golden)
    assert np.array_equal(result.spikes.t, golden.t)
    assert np.array_equal(result.spikes.neuron, golden.neuron)


def test_golden_edge_mix_detects_a_wrong_rule(monkeypatch):
    """The edge_mix raster is sensitive: flooring instead of truncating changes it."""
    import chipemu.neuron as neuron
    monkeypatch.setattr(neuron, "trunc_shift12", lambda p, out=None: np.right_shift(p, 12, out=out))
    net = Network.load(DATA / "edge_mix.net.npz")
    assert run(net).spikes != SpikeRaster.load(DATA / "edge_mix.spikes.npz")
