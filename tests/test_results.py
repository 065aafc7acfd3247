"""One result interface (chipemu.results.RunOutcome) for the host runner, the chip runner and programs."""

import dataclasses

import numpy as np
import pytest

from chipemu.errors import ChipemuError
from chipemu.loading import load_program
from chipemu.pipeline import run_network
from chipemu.reference import RunResult, run
from chipemu.results import ChipRunInfo, ReferenceRunInfo, RunOutcome
from programs._common import ProgramResult, run_reference

SHARED = [f.name for f in dataclasses.fields(RunOutcome)]


@pytest.fixture(scope="module")
def synfire():
    program = load_program("synfire")
    return program, program.build(groups=4)


def test_every_runner_returns_a_run_outcome(synfire):
    program, net = synfire
    host = run(net)
    chip = run_network(net, "tiny", "sequential", noc="analytic", measure_baseline=False)
    prog = run_reference(net)
    for res in (host, chip, prog):
        assert isinstance(res, RunOutcome)
        assert set(SHARED) <= {f.name for f in dataclasses.fields(res)}
        assert res.network is net and res.steps == net.steps
    assert isinstance(host, RunResult) and host.report is None and chip.report["steps"] == net.steps
    assert host.spikes == chip.spikes == prog.spikes
    for res in (host, chip, ProgramResult(network=net, spikes=host.spikes, steps=host.steps)):
        passed, detail = program.check(res)
        assert passed, detail


def test_info_records_are_typed_and_validated(synfire):
    _, net = synfire
    info = run(net).info
    assert isinstance(info, ReferenceRunInfo) and info.synapses == net.n_synapses
    assert info["loop_s"] == info.loop_s and info.get("nope", 3) == 3  # dict-style access kept
    assert ReferenceRunInfo.from_dict(info.to_dict()) == info
    with pytest.raises(ChipemuError, match="synapses = -1"):
        ReferenceRunInfo(synapse_table_bytes=1, synapses=-1, build_s=0.0, loop_s=0.0)
    chip = ChipRunInfo(core_memory_bytes=10, core_packets_out=np.array([1, 2]), core_packets_in=np.array([0, 3]))
    back = ChipRunInfo.from_dict(chip.to_dict())
    assert back.to_dict() == chip.to_dict() == {"core_memory_bytes": 10, "core_packets_out": [1, 2],
                                                 "core_packets_in": [0, 3]}
    with pytest.raises(ChipemuError, match="differ in length"):
        ChipRunInfo(core_memory_bytes=1, core_packets_out=np.array([1]), core_packets_in=np.array([1, 2]))
    with pytest.raises(ChipemuError, match="packet counts"):
        ChipRunInfo(core_memory_bytes=1, core_packets_out=np.array([-1]), core_packets_in=np.array([1]))
