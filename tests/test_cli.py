"""The command line: outputs, one-line errors, exit codes."""

import numpy as np
import pytest

from chipemu import SpikeRaster
from chipemu.cli import main

from conftest import DATA

ROOT = DATA.parent.parent


def test_simulate_writes_spikes(tmp_path, capsys):
    assert main(["simulate", str(DATA / "chain.net.npz"), "--out", str(tmp_path)]) == 0
    got = SpikeRaster.load(tmp_path / "spikes.npz")
    assert got == SpikeRaster.load(DATA / "chain.spikes.npz")
    assert "spikes: 1056" in capsys.readouterr().out


def test_simulate_program_with_params(tmp_path):
    assert main(["simulate", "programs/synfire.py", "--param", "groups=3", "--param", "group_size=4",
                 "--out", str(tmp_path)]) == 0
    assert len(SpikeRaster.load(tmp_path / "spikes.npz")) == 12


def test_simulate_bundled_program_by_name(tmp_path):
    assert main(["simulate", "synfire", "--param", "groups=2", "--out", str(tmp_path)]) == 0


def test_steps_override(tmp_path):
    assert main(["simulate", str(DATA / "chain.net.npz"), "--steps", "10", "--out", str(tmp_path)]) == 0
    assert SpikeRaster.load(tmp_path / "spikes.npz").t.max() < 10


@pytest.mark.parametrize("argv, fragment", [
    (["simulate", "missing.npz"], "no such file"),
    (["simulate", "programs/synfire.py", "--param", "nope=1"], "unknown parameter 'nope'"),
    (["simulate", "programs/synfire.py", "--param", "bad"], "NAME=VALUE"),
    (["simulate", "noprogram"], "unknown program"),
    (["simulate", str(DATA / "chain.net.npz"), "--steps", "-1"], "steps"),
    (["simulate"], "required"),
])
def test_bad_input_is_one_line_exit_2(argv, fragment, capsys, tmp_path):
    with pytest.raises(SystemExit) if argv == ["simulate"] else _nothing() as ctx:
        rc = main(argv + ["--out", str(tmp_path / "o")] if argv != ["simulate"] else argv)
    rc = ctx.value.code if argv == ["simulate"] else rc
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("error: ") and err.count("\n") == 1
    assert fragment in err
    assert not (tmp_path / "o" / "spikes.npz").exists()


def test_malformed_network_file(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    arrays = dict(np.load(DATA / "chain.net.npz"))
    arrays["vth"] = arrays["vth"] + 200000
    np.savez(bad, **arrays)
    assert main(["simulate", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "'vth'" in err and "out of range" in err
    assert not (tmp_path / "o").exists()


def test_chips_lists_presets(capsys):
    assert main(["chips"]) == 0
    out = capsys.readouterr().out
    for name in ("loihi1", "loihi1-silicon", "loihi2", "tiny"):
        assert name in out


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_allocator_tuning_applies_on_glibc_only():
    """Tuned in a child process: the tuning is process-wide and must not reach pytest's."""
    import os
    import platform
    import subprocess
    import sys

    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    code = "from chipemu.allocator import keep_freed_memory; print(keep_freed_memory())"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == str(glibc)


def test_only_the_console_entry_point_tunes_the_allocator(monkeypatch, capsys):
    """`chipemu` (console_main: pyproject's script, python -m chipemu) tunes the allocator;
    cli.main(argv) called in process does not."""
    import tomllib

    import chipemu.allocator
    from chipemu import cli

    calls = []
    monkeypatch.setattr(chipemu.allocator, "keep_freed_memory", lambda: calls.append(1) or True)
    assert cli.main(["chips"]) == 0 and calls == []
    assert cli.console_main(["chips"]) == 0 and calls == [1]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["chipemu"] == "chipemu.cli:console_main"
    assert "console_main()" in (ROOT / "chipemu" / "__main__.py").read_text()


def test_simulate_loads_no_mapper_chip_learning_or_report(tmp_path):
    """`simulate` imports neither the mapper, the chip runner and its NoC, the learning
    rules nor the report (nor simpy/networkx/matplotlib); `run --help` and `map --help`
    still list every mapper and the default, filled in when the help is shown.  Checked in
    a fresh process (sys.modules), since pytest's has them all loaded."""
    import json
    import os
    import subprocess
    import sys

    code = f"""
import contextlib, io, json, sys
from chipemu.cli import main
rc = main(["simulate", {str(DATA / "chain.net.npz")!r}, "--out", {str(tmp_path / "sim")!r}])
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("mapper", "simpy", "networkx", "matplotlib")
                or m.startswith(("chipemu.learning", "chipemu.report", "chipemu.noc", "chipemu.chip.", "chipemu.allocator"))
                or m == "chipemu.chip")
helps = []
for command in ("run", "map"):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        main([command, "--help"])
    helps.append(out.getvalue())
print(json.dumps([rc, loaded, helps]))
"""
    env = {**os.environ, "COLUMNS": "200",  # help lines unwrapped
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    rc, loaded, helps = json.loads(out.stdout.strip().splitlines()[-1])
    assert rc == 0 and loaded == []
    from mapper import DEFAULT_MAPPER, MAPPERS
    for text in helps:
        assert f"(default: {DEFAULT_MAPPER})" in text and "mappers:" in text
        assert all(name in text for name in MAPPERS)
