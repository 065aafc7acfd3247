"""`chipemu run`'s helper process (chipemu.sidecar): same files as one process, errors
raised where one process raises them, a dead helper replaced, nothing left behind."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chipemu.cli import main
from chipemu.reference import run as reference_run
from chipemu.sidecar import Sidecar

from conftest import DATA

ROOT = Path(__file__).resolve().parent.parent
FORKS = sys.platform.startswith("linux") and len(os.sched_getaffinity(0)) >= 2
needs_fork = pytest.mark.skipif(not FORKS, reason="the helper process runs on Linux with >= 2 CPUs")
SMALL = ["run", "programs/synfire.py", "--param", "groups=3", "--chip", "tiny", "--noc", "analytic"]
#: report.json keys that are measured wall times (they differ between any two runs)
TIMINGS = (("time", "wall_s"), ("baseline", "measured", "wall_s"), ("baseline", "measured", "loop_s"),
           ("baseline", "ratios", "measured_time"))


#: the helper is started whatever the machine's load (tests must not depend on it)
FORCE = "import chipemu.sidecar as _s; _s._spare_cpu = lambda: True; "


@pytest.fixture(autouse=True)
def _spare_cpu(monkeypatch):
    monkeypatch.setattr("chipemu.sidecar._spare_cpu", lambda: True)


def _env():
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def _without_timings(report: dict) -> dict:
    for path in TIMINGS:
        d = report
        for key in path[:-1]:
            d = d[key]
        d.pop(path[-1])
    return report


@needs_fork
def test_program_with_helper_writes_the_same_files(tmp_path, capsys):
    """`chipemu` (console_main: with the helper) and main() in process (without) write the
    same PNG and spike bytes and the same report but for its measured wall times; the
    main process of `chipemu` never loads matplotlib."""
    code = (FORCE + "import sys; from chipemu.cli import console_main; rc = console_main(sys.argv[1:]); "
            "print('matplotlib' in sys.modules); sys.exit(rc)")
    p = subprocess.run([sys.executable, "-c", code, *SMALL, "--out", str(tmp_path / "helper")], cwd=ROOT,
                       env=_env(), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip().splitlines()[-1] == "False"
    assert main([*SMALL, "--out", str(tmp_path / "alone")]) == 0
    capsys.readouterr()
    helper, alone = tmp_path / "helper", tmp_path / "alone"
    names = sorted(f.name for f in alone.iterdir())
    assert sorted(f.name for f in helper.iterdir()) == names
    for name in names:
        if name.endswith((".png", ".npz")):
            assert (helper / name).read_bytes() == (alone / name).read_bytes(), name
    reports = [json.loads((d / "report.json").read_text()) for d in (helper, alone)]
    measured = reports[0]["baseline"]["measured"]
    assert measured["wall_s"] > 0 and measured["spikes_match_chip"] is True
    assert _without_timings(reports[0]) == _without_timings(reports[1])


def _net():
    from chipemu import Network
    return Network.load(DATA / "ei_1k.net.npz")


@needs_fork
def test_reference_from_the_helper_is_the_runner_s_result():
    net = _net()
    with Sidecar.start(net, 30) as sidecar:
        assert sidecar is not None and sidecar.measures
        got = sidecar.reference()
        assert sidecar.reference() is got  # asked twice, run once
    want = reference_run(net, 30)
    assert got.spikes == want.spikes and got.steps == 30 and got.network is None
    assert got.synaptic_events == want.synaptic_events and got.wall_s > 0


@needs_fork
def test_drawing_errors_are_raised_in_the_main_process():
    """A report the figures cannot draw raises in the caller what drawing it here raises."""
    from chipemu.report.figures import render_figures

    net = _net()
    with Sidecar.start(net, 10, measure=False) as sidecar:
        with pytest.raises(Exception) as here:
            render_figures({}, None)
        with pytest.raises(type(here.value), match=str(here.value)[:40] or None):
            sidecar.draw({}, None)


@needs_fork
def test_a_dead_helper_is_replaced_by_this_process(tmp_path):
    from chipemu.report.figures import render_figures
    from chipemu.rundir import read_run_dir

    assert main([*SMALL, "--out", str(tmp_path / "o")]) == 0
    report, spikes = read_run_dir(tmp_path / "o")
    net = _net()
    sidecar = Sidecar.start(net, 20)
    try:
        os.kill(sidecar._process.pid, signal.SIGKILL)
        sidecar._process.join()
        assert sidecar.reference().spikes == reference_run(net, 20).spikes
        assert sidecar.draw(report, spikes) == render_figures(report, spikes)
    finally:
        sidecar.close()


def test_no_helper_on_a_busy_machine(monkeypatch):
    """A load average at or above the usable CPUs: no helper (it would only add its cost)."""
    import chipemu.sidecar as sidecar

    monkeypatch.undo()
    monkeypatch.setattr(sidecar, "_usable_cpus", lambda: 2)
    monkeypatch.setattr(sidecar.os, "getloadavg", lambda: (2.0, 0.0, 0.0))
    assert not sidecar._spare_cpu() and Sidecar.start(_net(), 5) is None
    monkeypatch.setattr(sidecar.os, "getloadavg", lambda: (1.2, 0.0, 0.0))
    assert sidecar._spare_cpu()
    monkeypatch.setattr(sidecar, "_usable_cpus", lambda: 1)
    assert not sidecar._spare_cpu()


def test_no_helper_for_a_big_network(monkeypatch):
    """A network whose arrays pass the size cap runs in one process (no fork)."""
    import chipemu.sidecar as sidecar

    monkeypatch.undo()
    monkeypatch.setattr(sidecar, "_spare_cpu", lambda: True)
    net = _net()
    monkeypatch.setattr(sidecar, "_HELPER_MAX_BYTES", sidecar._flat_bytes(net.flat()) - 1)
    assert Sidecar.start(net, 5) is None


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


@needs_fork
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc")
def test_signal_ends_the_helper_too(tmp_path):
    """SIGTERM to `chipemu run` while the helper lives: exit 143, nothing written, the
    helper gone as well."""
    out = tmp_path / "o"
    out.mkdir()
    code = FORCE + "import sys; from chipemu.cli import console_main; sys.exit(console_main())"
    proc = subprocess.Popen([sys.executable, "-c", code, "run", "synfire", "--steps", "1000000", "--noc", "simpy",
                             "--out", str(out)], cwd=ROOT, env=_env(), stderr=subprocess.PIPE, text=True)
    helpers, t0 = [], time.time()
    while not helpers and time.time() - t0 < 120 and proc.poll() is None:
        time.sleep(0.1)
        helpers = _children(proc.pid)
    assert helpers, proc.stderr.read() if proc.poll() is not None else "no helper process started"
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "Traceback" not in err and "interrupted" in err
    assert list(out.iterdir()) == []
    t0 = time.time()
    while not all(_gone(h) for h in helpers) and time.time() - t0 < 10:
        time.sleep(0.1)
    assert all(_gone(h) for h in helpers)


def test_deal_balances_and_keeps_every_figure():
    from chipemu.report.captions import FIGURES
    from chipemu.sidecar import _deal

    for ways in (1, 2, 3, 5, 9):
        groups = _deal(list(FIGURES), ways)
        assert len(groups) == min(ways, len(FIGURES)) and all(groups)
        assert sorted(n for g in groups for n in g) == sorted(FIGURES)


@needs_fork
def test_figures_drawn_in_forked_groups_are_the_same_bytes(tmp_path, capsys):
    from chipemu.report.figures import render_figures
    from chipemu.rundir import read_run_dir
    from chipemu.sidecar import _draw_split

    assert main([*SMALL, "--out", str(tmp_path / "o")]) == 0
    capsys.readouterr()
    report, spikes = read_run_dir(tmp_path / "o")
    want = render_figures(report, spikes)
    for ways in (2, 5):
        got = _draw_split(render_figures, report, spikes, ways)
        assert list(got) == list(want) and got == want

    def failing(report, spikes, names):
        if "links" in names:
            raise OverflowError("too extreme to draw")
        return render_figures(report, spikes, names)
    with pytest.raises(OverflowError, match="too extreme"):
        _draw_split(failing, report, spikes, 5)


@needs_fork
def test_reference_error_raised_once_then_the_figures_still_come(tmp_path, capsys):
    """The helper's reference fails (here: steps beyond the bound): the caller gets that
    error where it asks for the reference, and can still have the figures drawn."""
    from chipemu.errors import ChipemuError
    from chipemu.report.figures import render_figures
    from chipemu.rundir import read_run_dir

    assert main([*SMALL, "--out", str(tmp_path / "o")]) == 0
    capsys.readouterr()
    report, spikes = read_run_dir(tmp_path / "o")
    with Sidecar.start(_net(), -1) as sidecar:
        with pytest.raises(ChipemuError, match="steps"):
            sidecar.reference()
        assert sidecar.draw(report, spikes) == render_figures(report, spikes)


@needs_fork
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc")
def test_helper_exits_when_the_main_process_is_killed(tmp_path):
    """SIGKILL to `chipemu run` (no cleanup can run): the helper sees its pipe end and exits."""
    code = FORCE + "import sys; from chipemu.cli import console_main; sys.exit(console_main())"
    proc = subprocess.Popen([sys.executable, "-c", code, "run", "synfire", "--steps", "1000000", "--noc", "simpy",
                             "--out", str(tmp_path / "o")], cwd=ROOT, env=_env(), stderr=subprocess.DEVNULL)
    helpers, t0 = [], time.time()
    while not helpers and time.time() - t0 < 120 and proc.poll() is None:
        time.sleep(0.1)
        helpers = _children(proc.pid)
    assert helpers
    time.sleep(1.0)
    proc.kill()
    proc.wait(timeout=30)
    t0 = time.time()
    while not all(_gone(h) for h in helpers) and time.time() - t0 < 60:
        time.sleep(0.2)
    assert all(_gone(h) for h in helpers)
