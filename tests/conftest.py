import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI runs the property tests on a fixed sequence of examples (reproducible: a red CI is
# the code's fault, not the draw's); local runs keep exploring new examples.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

DATA = Path(__file__).parent / "data"
GOLDEN = ["edge_mix", "chain", "ei_1k", "ff"]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA

#: report.json keys that must exist (docs/report.md)
CONTRACT_KEYS = [
    "chip.name", "chip.cores", "chip.mesh", "network.neurons", "network.synapses", "network.inputs", "steps",
    "spikes.total", "mapping.strategy", "mapping.cores_used", "noc.packets", "noc.hops", "noc.max_link_packets",
    "time.chip_s", "time.step_s_max", "time.step_s_mean", "time.wall_s", "energy.total_j", "energy.breakdown",
    "baseline.energy_j", "baseline.time_s",
]


def get_dotted(d: dict, dotted: str):
    """``d["a"]["b"]`` for ``"a.b"`` (KeyError names the missing part)."""
    for part in dotted.split("."):
        d = d[part]
    return d
