"""`chipemu run`: the main job end to end (docs/cli.md, docs/report.md)."""

import json

import pytest

from chipemu import SpikeRaster
from chipemu.cli import main
from chipemu.reference import run as reference_run

from conftest import CONTRACT_KEYS, DATA, get_dotted




def test_run_flat_file_writes_contract_report(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["run", str(DATA / "ei_1k.net.npz"), "--chip", "loihi1", "--mapper", "sequential",
                 "--steps", "50", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    for key in CONTRACT_KEYS:
        get_dotted(report, key)
    assert report["mapping"]["strategy"] == "sequential"
    assert report["steps"] == 50
    spikes = SpikeRaster.load(out / "spikes.npz")
    assert spikes == reference_run(__import__("chipemu").Network.load(DATA / "ei_1k.net.npz"), 50).spikes
    assert report["spikes"]["total"] == len(spikes)
    assert sum(report["energy"]["breakdown"].values()) == pytest.approx(report["energy"]["total_j"], rel=1e-12)
    assert (out / "report.html").stat().st_size > 0
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left
    assert "chip energy" in capsys.readouterr().out


def test_run_program_records_check(tmp_path):
    out = tmp_path / "o"
    assert main(["run", "programs/synfire.py", "--param", "groups=4", "--chip", "tiny", "--noc", "analytic",
                 "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["check"]["passed"] is True and "groups" in report["check"]["detail"]


def test_run_failed_check_exits_1(tmp_path, monkeypatch):
    import programs.synfire as synfire
    from chipemu import loading
    real = loading.load_program

    def broken(ref):
        mod = real(ref)
        mod.check = lambda result: (False, "forced failure")
        return mod
    monkeypatch.setattr(loading, "load_program", broken)
    out = tmp_path / "o"
    assert main(["run", "programs/synfire.py", "--param", "groups=2", "--chip", "tiny", "--out", str(out)]) == 1
    report = json.loads((out / "report.json").read_text())
    assert report["check"] == {"passed": False, "detail": "forced failure"}
    assert synfire.check  # the module itself is untouched


@pytest.mark.parametrize("argv, fragment", [
    (["--chip", "nochip"], "unknown preset"),
    (["--mapper", "nomapper"], "nomapper"),
    (["--chip", "tiny", "--param", "groups=40"], "cores"),  # 1280 compartments > 512 on tiny
    (["--steps", "-3"], "steps"),
])
def test_run_bad_input_one_line_exit_2_nothing_written(argv, fragment, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["run", "programs/synfire.py", "--out", str(out)] + argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and fragment in err
    assert not out.exists() or not any(out.iterdir())


def test_run_saves_learned_network(tmp_path):
    """A run with plastic projections writes DIR/network_learned.npz with the learned weights."""
    from chipemu import Network
    from chipemu.learning import stdp

    net = Network("learn", steps=120)
    pre = net.add_bernoulli_input("pre", 8, p=0.3, seed=1)
    post = net.add_population("post", 2, du=2000, dv=500, vth=40)
    net.connect(pre, post, weight=100, name="plastic", plasticity=stdp(a_plus=4, a_minus=3, tau_plus=8,
                                                                       tau_minus=8))
    path = tmp_path / "learn.npz"
    net.save(path)
    out = tmp_path / "o"
    assert main(["run", str(path), "--chip", "tiny", "--out", str(out)]) == 0
    learned = Network.load(out / "network_learned.npz")
    w0 = net.projections[0].weight
    w1 = learned.projections[0].weight
    assert learned.projections[0].plasticity is not None
    assert w1.shape == w0.shape and not (w1 == w0).all()
    from chipemu.reference import run as host
    assert (host(net).weights["plastic"] == w1).all()


@pytest.mark.parametrize("argv, fragment", [
    (["run", "programs/synfire.py", "--param", "groups=abc"], "build(groups='abc') failed"),
    (["run", "programs/synfire.py", "--seed", "-1"], "must be >= 0"),
    (["map", "programs/synfire.py", "--pin", "g0=0", "--pin", "g0=1"], "pinned twice"),
])
def test_more_bad_input_one_line_exit_2(argv, fragment, tmp_path, capsys):
    rc = _main_rc(argv + ["--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: ") and err.count("\n") == 1 and fragment in err, err


def _main_rc(argv):
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        return exc.code


def test_out_is_a_file_one_line_exit_2(tmp_path, capsys):
    target = tmp_path / "afile"
    target.write_text("x")
    assert main(["run", "programs/synfire.py", "--param", "groups=2", "--chip", "tiny", "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert target.read_text() == "x"


def test_blocked_output_writes_nothing(tmp_path, capsys):
    out = tmp_path / "o"
    (out / "report.json").mkdir(parents=True)
    assert main(["run", "programs/synfire.py", "--param", "groups=2", "--chip", "tiny", "--out", str(out)]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["report.json"]  # nothing else written, no temp left


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04garbage"])
def test_empty_or_corrupt_network_file(content, tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(content)
    assert main(["run", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: network file") and err.count("\n") == 1


def test_stale_learned_network_is_removed(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "network_learned.npz").write_bytes(b"old")
    assert main(["run", "programs/synfire.py", "--param", "groups=2", "--chip", "tiny", "--out", str(out)]) == 0
    assert not (out / "network_learned.npz").exists()
