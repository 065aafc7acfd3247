"""Scale tests (slow; run with `pytest -m slow`): the invariants at benchmark size."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from networks import random_ei  # noqa: E402

from chipemu.chip import emulate  # noqa: E402
from chipemu.chips import load_chip  # noqa: E402
from chipemu.reference import run as reference_run  # noqa: E402
from mapper import map_network  # noqa: E402

pytestmark = pytest.mark.slow


def test_chip_equals_reference_on_a_chip_sized_network():
    """~20k compartments, 2M synapses over ~115 of loihi1's 128 cores, analytic NoC."""
    net = random_ei(20_000, steps=100, window=1000)
    mapping = map_network(net, load_chip("loihi1"), mapper="traffic", seed=0)
    run = emulate(net, mapping, noc="analytic")
    ref = reference_run(net)
    assert run.spikes == ref.spikes
    assert run.counters["synaptic_ops"] == ref.synaptic_events
    assert run.counters["packets_out"] == run.noc["packets"]


def test_reference_at_100k_compartments():
    """The reference runner's memory stays within 8 bytes per synapse at 10M synapses."""
    net = random_ei(100_000, steps=20)
    res = reference_run(net)
    assert res.info.synapse_table_bytes / res.info.synapses <= 8
    assert len(res.spikes) > 0
