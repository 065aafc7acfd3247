"""``chipemu map``: writes mapping.json, prints the table, one-line errors with exit status 2."""

import json

import pytest

from chipemu.cli import build_parser, main
from mapper import MAPPERS, Mapping

from conftest import DATA


def test_map_writes_mapping_json_with_contract_keys(tmp_path, capsys):
    assert main(["map", str(DATA / "ei_1k.net.npz"), "--out", str(tmp_path)]) == 0
    d = json.loads((tmp_path / "mapping.json").read_text())
    for key in ("chip", "neuron_core", "input_core", "core_xy"):  # the keys docs/mapping.md marks (contract)
        assert key in d
    assert d["chip"] == "loihi1" and d["strategy"] == "traffic"
    assert len(d["core_xy"]) == d["n_cores"] and all(len(xy) == 2 for xy in d["core_xy"])
    out = capsys.readouterr().out
    assert "compartments" in out and "fan-in" in out and "packets per presynaptic spike" in out
    assert "wrote" in out
    m = Mapping.load(tmp_path / "mapping.json")
    assert m.neuron_core.size == len(d["neuron_core"])


def test_map_program_with_options(tmp_path, capsys):
    argv = ["map", "synfire", "--param", "groups=4", "--param", "group_size=16", "--chip", "tiny",
            "--mapper", "sequential", "--seed", "3", "--max-per-core", "20", "--routing", "multicast",
            "--pin", "g0=7", "--out", str(tmp_path)]
    assert main(argv) == 0
    m = Mapping.load(tmp_path / "mapping.json")
    assert m.strategy == "sequential" and m.seed == 3 and m.routing == "multicast"
    assert m.usage["compartments"].max() <= 20 and m.pin == {"g0": [7]}
    assert set(m.core_id[m.neuron_core[:16]].tolist()) == {7}


def test_map_help_lists_mappers(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["map", "--help"])
    out = capsys.readouterr().out
    for name in MAPPERS:
        assert name in out
    assert "NAME_OR_TOML" in out and "--max-per-core" in out


@pytest.mark.parametrize("extra, fragment", [
    (["--mapper", "magic"], "unknown mapper 'magic'"),
    (["--chip", "nochip"], "unknown preset"),
    (["--max-per-core", "0"], "max_per_core = 0"),
    (["--chip", "tiny", "--param", "groups=40"], "network needs"),
    (["--pin", "g0"], "POPULATION=CORE"),
    (["--pin", "g0=999"], "does not exist"),
    (["--pin", "nope=1"], "no population named 'nope'"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, extra, fragment):
    rc = main(["map", "synfire", "--out", str(tmp_path / "o")] + extra)
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert fragment in err
    assert not (tmp_path / "o" / "mapping.json").exists()


def test_map_with_a_chip_file(tmp_path):
    from importlib import resources
    text = resources.files("chipemu.chips").joinpath("tiny.toml").read_text()
    chip = tmp_path / "mine.toml"
    chip.write_text(text.replace('name = "tiny"', 'name = "mine"').replace("columns = 2 ", "columns = 4 "))
    assert main(["map", "synfire", "--param", "groups=6", "--param", "group_size=16", "--chip", str(chip),
                 "--out", str(tmp_path)]) == 0
    m = Mapping.load(tmp_path / "mapping.json")  # the chip comes back from chip_spec, no file needed
    assert m.chip.name == "mine" and m.chip.mesh.columns == 4
