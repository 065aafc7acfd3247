"""The run directory in the library (chipemu.rundir), the check record, and a thin CLI."""

import io
import json

import pytest

from chipemu import Network
from chipemu.cli import main
from chipemu.errors import ChipemuError, FileFormatError
from chipemu.explore import run_sweep
from chipemu.loading import load_network_arg
from chipemu.pipeline import check_run, run_network
from chipemu.report.schema import CheckSection
from chipemu.rundir import LEARNED_NETWORK, read_run_dir, redraw_run_dir, write_run_dir


def small_net() -> Network:
    net = Network("rd", steps=5)
    a = net.add_population("a", 6, du=4095, dv=4095, vth=1)
    i = net.add_spike_times("i", [[0, 1]])
    net.connect(i, a, "all_to_all", weight=254)
    return net


@pytest.fixture(scope="module")
def run():
    return run_network(small_net(), "tiny", "sequential", noc="analytic", measure_baseline=False,
                       check=lambda r: (len(r.spikes) > 0, f"{len(r.spikes)} spikes"))


def test_run_network_records_the_check(run):
    assert run.report["check"] == {"passed": True, "detail": f"{len(run.spikes)} spikes"}


def test_check_run_types_the_verdict_and_rejects_a_bad_return():
    assert check_run(lambda r: (0, 5), None) == CheckSection(passed=False, detail="5")
    with pytest.raises(ChipemuError, match=r"check\(\) must return \(passed, detail\)"):
        check_run(lambda r: True, None)


def test_write_read_redraw_a_run_dir(run, tmp_path):
    (tmp_path / LEARNED_NETWORK).write_bytes(b"stale")
    written = write_run_dir(run, tmp_path)
    assert {p.name for p in written} >= {"report.json", "spikes.npz", "report.html", "raster.png"}
    assert not (tmp_path / LEARNED_NETWORK).exists()  # nothing learned this time: the old file is gone
    report, spikes = read_run_dir(tmp_path)
    assert report == json.loads(json.dumps(run.report)) and spikes == run.spikes
    (tmp_path / "report.html").unlink()
    assert redraw_run_dir(tmp_path) == tmp_path / "report.html" and (tmp_path / "report.html").exists()


def test_write_run_dir_is_all_or_nothing(run, tmp_path):
    (tmp_path / "report.json").mkdir()
    with pytest.raises(ChipemuError, match="is a directory"):
        write_run_dir(run, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_read_run_dir_errors_do_not_name_cli_flags(tmp_path):
    with pytest.raises(FileFormatError, match="no such directory") as err:
        read_run_dir(tmp_path / "none")
    assert "--" not in str(err.value)


def test_library_errors_name_parameters_not_flags(tmp_path):
    net_file = tmp_path / "n.npz"
    small_net().save(net_file)
    with pytest.raises(ChipemuError, match="build parameters apply to programs") as err:
        load_network_arg(str(net_file), {"n": 1})
    assert "--" not in str(err.value)
    sweep = tmp_path / "s.toml"
    sweep.write_text('name = "s"\n[chip]\nbase = "tiny"\n[mappers]\nnames = ["sequential"]\n'
                     '[[workload]]\nprogram = "synfire"\n')
    for kwargs, text in (({"workers": 0}, "workers = 0"), ({"limit": -1}, "limit = -1"),
                         ({"noc": "x"}, "noc = 'x'")):
        with pytest.raises(ChipemuError, match=text) as err:
            run_sweep(sweep, tmp_path / "o", **kwargs)
        assert "--" not in str(err.value)


def test_cli_keeps_its_flag_messages(tmp_path, capsys):
    net_file = tmp_path / "n.npz"
    small_net().save(net_file)
    assert main(["simulate", str(net_file), "--param", "n=1", "--out", str(tmp_path)]) == 2
    assert "--param applies to programs" in capsys.readouterr().err
    assert main(["explore", "nope.toml", "--workers", "0", "--out", str(tmp_path / "e")]) == 2
    assert capsys.readouterr().err == "error: --workers 0 is not allowed (allowed: int >= 1)\n"


def test_broken_pipe_is_a_quiet_success(monkeypatch, capsys):
    class ClosedPipe(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("sys.stdout", ClosedPipe())
    assert main(["chips"]) == 0
    assert capsys.readouterr().err == ""
