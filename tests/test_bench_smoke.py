"""The benchmarks still run (tiny sizes; their numbers are not checked here)."""

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.mark.parametrize("argv", [
    ["reference.py", "--sizes", "1000", "--steps", "20", "--no-brian2"],
    ["chip.py", "--n", "600", "--fanout", "20", "--window", "100", "--steps", "20", "--repeat", "1"],
    ["mapping.py", "--quick"],
    ["conv.py", "--quick", "--steps", "5"],
    ["report.py", "--n", "600", "--big-n", "1600", "--mesh", "10", "10", "--steps", "20", "--repeat", "1"],
    ["simulate.py", "--sizes", "1000", "--steps", "20", "--repeat", "1", "--no-brian2"],
    ["mapping_conv.py", "--scale", "0.25"],
    ["system.py", "--n", "8000", "--steps", "15", "--chip", "kapoho-bay", "--mapper", "sequential"],
    ["system.py", "--n", "4000", "--steps", "15", "--chip", "kapoho-bay", "--map-only"],
    ["main_job.py", "--program", "programs/synfire.py", "--noc", "analytic", "--phases", "--one-process", "--critical-path"],
    ["sana_fe.py", "--n", "600", "--steps", "10", "--noc", "analytic"],  # SANA-FE's side only where installed
])
def test_benchmark_runs(argv, tmp_path):
    proc = subprocess.run([sys.executable, str(BENCH / argv[0]), *argv[1:]], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip()
