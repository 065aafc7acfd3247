"""Chip presets (TOML) and the validated, immutable ChipSpec."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from importlib import resources
from pathlib import Path

import pytest

from chipemu.chips import ChipSpec, format_chip_table, list_presets, load_chip
from chipemu.errors import ChipemuError, ChipSpecError

PRESETS = ["loihi1", "loihi1-silicon", "loihi2", "tiny"]


def preset_path(name: str) -> Path:
    return Path(str(resources.files("chipemu.chips").joinpath(f"{name}.toml")))


def preset_text(name: str) -> str:
    return preset_path(name).read_text(encoding="utf-8")


def write(tmp_path: Path, text: str, name: str = "my.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def edit(text: str, section: str, key: str, new_line: str | None) -> str:
    """Replace (or delete, if new_line is None) the line `key = ...` inside [section]."""
    out, current, done = [], "", False
    for line in text.splitlines():
        m = re.match(r"^\[(\w+)\]", line)
        if m:
            current = m.group(1)
        if not done and current == section and re.match(rf"^{re.escape(key)}\s*=", line):
            done = True
            if new_line is not None:
                out.append(new_line)
            continue
        out.append(line)
    assert done, (section, key)
    return "\n".join(out) + "\n"


# ---- presets ---------------------------------------------------------------------------


def test_list_presets():
    assert list_presets() == sorted(PRESETS)


@pytest.mark.parametrize("name", PRESETS)
def test_preset_loads(name):
    s = load_chip(name)
    assert isinstance(s, ChipSpec)
    assert s.name == name
    assert s.source == f"preset:{name}"
    assert s.n_cores == s.mesh.columns * s.mesh.rows * s.mesh.cores_per_router
    assert s.energy_source and s.energy_profile


def test_loihi1_figures():
    s = load_chip("loihi1")
    assert (s.mesh.columns, s.mesh.rows, s.mesh.cores_per_router) == (8, 4, 4)
    assert s.n_routers == 32 and s.n_cores == 128
    assert s.core.compartments == 1024
    assert s.core.synapse_memory_bits == 128 * 1024 * 8
    assert s.core.fanin_axons == 4096 and s.core.fanout_axons == 4096
    assert s.core.max_delay == 62 and s.core.delay_bits == 6
    assert s.energy_profile == "D18"
    assert s.energy.synapse_op == pytest.approx(23.6e-12)
    assert s.energy.neuron_active == pytest.approx(81e-12)
    assert s.energy.neuron_inactive == pytest.approx(52e-12)
    assert s.energy.message_out == pytest.approx(1.7e-12)
    assert s.energy.learning_update == pytest.approx(120e-12)
    assert s.time.synapse_op == pytest.approx(3.5e-9)
    assert s.noc.hop_energy_ns_j == pytest.approx(4.0e-12)
    assert s.static_w == pytest.approx(0.104)


def test_loihi1_silicon_figures():
    s = load_chip("loihi1-silicon")
    assert s.n_cores == 128
    assert s.energy.synapse_op == pytest.approx(33.6e-12)
    assert s.time.synapse_op == pytest.approx(4.7e-9)
    assert s.energy.neuron_inactive == pytest.approx(51.2e-12)
    assert s.energy.neuron_active == pytest.approx(51.2e-12 + 21.6e-12)
    assert s.time.neuron_active == pytest.approx(6.0e-9 + 3.7e-9)
    assert s.energy.spike_generation == pytest.approx(69.3e-12)
    assert s.time.spike_generation == pytest.approx(30e-9)
    assert s.energy.message_out == pytest.approx(111e-12)
    assert s.time.message_out == pytest.approx(5.1e-9)
    assert s.energy.message_in == 0.0 and s.time.message_in == pytest.approx(16e-9)
    assert s.noc.hop_energy_ns_j == pytest.approx(4.2e-12)
    assert s.energy.learning_update == pytest.approx(120e-12)


def test_loihi2_and_tiny_figures():
    l2 = load_chip("loihi2")
    assert l2.n_cores == 128 and l2.core.compartments == 8192
    assert l2.total_compartments == 1 << 20
    t = load_chip("tiny")
    assert (t.mesh.columns, t.mesh.rows, t.mesh.cores_per_router) == (2, 2, 2)
    assert t.n_cores == 8 and t.core.compartments == 64
    assert t.core.synapse_memory_bits == 16384 and t.core.fanin_axons == 256
    assert t.core.fanout_axons == 8


@pytest.mark.parametrize(
    "tiles, expected",
    [(0, 0.6e-6), (1, 0.6e-6), (2, 1.0e-6), (3, 1.0e-6), (4, 1.4e-6), (28, 1.4e-6),
     (29, 1.8e-6), (32, 1.8e-6), (100, 1.8e-6)],
)
def test_barrier_step_sanafe(tiles, expected):
    assert load_chip("loihi1-silicon").barrier_time(tiles) == pytest.approx(expected)


@pytest.mark.parametrize(
    "tiles, expected",
    [(0, 113e-9), (1, 113e-9), (2, 113e-9 + 352e-9 / 31), (3, 113e-9 + 2 * 352e-9 / 31),
     (4, 113e-9 + 3 * 352e-9 / 31), (28, 113e-9 + 27 * 352e-9 / 31),
     (29, 113e-9 + 28 * 352e-9 / 31), (32, 465e-9), (64, 465e-9)],
)
def test_barrier_linear_d18(tiles, expected):
    assert load_chip("loihi1").barrier_time(tiles) == pytest.approx(expected)


def test_barrier_linear_multi_segment_and_bad_input():
    s = load_chip("tiny").with_overrides(
        {"noc.barrier_tiles": [2, 4, 8], "noc.barrier_time_s": [1.0, 3.0, 4.0]})
    assert [s.barrier_time(n) for n in (1, 2, 3, 4, 6, 8, 9)] == pytest.approx(
        [1.0, 1.0, 2.0, 3.0, 3.5, 4.0, 4.0])
    with pytest.raises(ChipSpecError):
        s.barrier_time(-1)


def test_router_xy():
    s = load_chip("loihi1")
    assert s.router_xy(0) == (0, 0)
    assert s.router_xy(7) == (7, 0)
    assert s.router_xy(8) == (0, 1)
    assert s.router_xy(31) == (7, 3)
    with pytest.raises(ChipSpecError):
        s.router_xy(32)


KEY_LINE = re.compile(r"^\s*[A-Za-z0-9_\-\"']+\s*=")


@pytest.mark.parametrize("name", PRESETS)
def test_every_constant_has_a_source_comment(name):
    lines = preset_text(name).splitlines()
    n_keys = 0
    for i, line in enumerate(lines):
        if line.lstrip().startswith("#") or not KEY_LINE.match(line):
            continue
        n_keys += 1
        has_inline = "#" in line.split("=", 1)[1]
        above = lines[i - 1].strip() if i > 0 else ""
        assert has_inline or above.startswith("#"), f"{name}.toml line {i + 1}: {line!r}"
    graded = 2 * 2 if "graded_synapse_op" in preset_text(name) else 0  # optional graded-spike costs (energy, time)
    optional = sum(1 for ln in lines if ln.startswith(("synapse_op_dense", "synapse_op_conv")))
    assert n_keys == 4 + 3 + 7 + 9 + 7 + 7 + 1 + graded + optional


@pytest.mark.parametrize("name", PRESETS)
def test_unpublished_figures_are_marked(name):
    text = preset_text(name)
    for key in ("link_bandwidth_pps", "buffer_depth"):
        line = next(ln for ln in text.splitlines() if ln.startswith(key))
        assert "project assumption" in line


# ---- user files, errors ---------------------------------------------------------------


def test_user_toml_path(tmp_path):
    text = preset_text("tiny").replace('name = "tiny"', 'name = "mine"')
    p = write(tmp_path, text)
    for arg in (p, str(p)):
        s = load_chip(arg)
        assert s.name == "mine" and s.source == str(p)
        assert s.sha256 == hashlib.sha256(p.read_bytes()).hexdigest()
        assert s.n_cores == 8


def test_existing_file_without_toml_suffix(tmp_path):
    p = write(tmp_path, preset_text("tiny"), name="chipdesc")
    assert load_chip(str(p)).name == "tiny"


def check_error(tmp_path, text, *fragments):
    p = write(tmp_path, text)
    with pytest.raises(ChipSpecError) as ei:
        load_chip(p)
    msg = str(ei.value)
    assert "\n" not in msg
    assert str(p) in msg
    for frag in fragments:
        assert frag in msg, msg
    assert isinstance(ei.value, ChipemuError)
    return msg


def test_unknown_key(tmp_path):
    text = preset_text("tiny").replace("compartments = 64", "compartmnts = 64")
    msg = check_error(tmp_path, text, "unknown key 'core.compartmnts'", "compartments",
                      "synapse_memory_bits")
    assert "allowed" in msg


def test_unknown_top_level_key_and_section(tmp_path):
    check_error(tmp_path, 'colour = "red"\n' + preset_text("tiny"), "unknown key 'colour'")
    check_error(tmp_path, preset_text("tiny") + "\n[extra]\nx = 1\n", "unknown key 'extra'")
    check_error(tmp_path, preset_text("tiny") + "\n[power.extra]\nx = 1\n",
                "unknown key 'power.extra'")


def test_missing_key(tmp_path):
    text = edit(preset_text("tiny"), "core", "compartments", None)
    check_error(tmp_path, text, "missing key 'core.compartments'", "int >= 1")


def test_missing_section(tmp_path):
    text = preset_text("tiny").split("[power]")[0]
    check_error(tmp_path, text, "missing key 'power'")


@pytest.mark.parametrize(
    "section, key, line, fragments",
    [
        ("core", "compartments", "compartments = 64.0", ["'core.compartments'", "64.0", "float", "int >= 1"]),
        ("core", "compartments", "compartments = true", ["'core.compartments'", "True", "bool"]),
        ("mesh", "columns", 'columns = "2"', ["'mesh.columns'", "'2'", "string"]),
        ("energy", "synapse_op", 'synapse_op = "23.6 pJ"', ["'energy.synapse_op'", "23.6 pJ"]),
        ("noc", "barrier_mode", "barrier_mode = 1", ["'noc.barrier_mode'", "'linear', 'step'"]),
        ("noc", "barrier_tiles", "barrier_tiles = 4", ["'noc.barrier_tiles'", "list"]),
        ("noc", "barrier_tiles", "barrier_tiles = [1.0, 32]", ["'noc.barrier_tiles'", "1.0"]),
    ],
)
def test_wrong_type(tmp_path, section, key, line, fragments):
    text = edit(preset_text("tiny"), section, key, line + "  # test")
    check_error(tmp_path, text, *fragments)


@pytest.mark.parametrize(
    "section, key, line, fragments",
    [
        ("core", "max_delay", "max_delay = 63", ["'core.max_delay'", "63", "0..62"]),
        ("core", "weight_bits", "weight_bits = 10", ["'core.weight_bits'", "10", "1..9"]),
        ("core", "weight_bits", "weight_bits = 0", ["'core.weight_bits'", "1..9"]),
        ("core", "delay_bits", "delay_bits = 7", ["'core.delay_bits'", "0..6"]),
        ("mesh", "rows", "rows = 0", ["'mesh.rows'", "0", ">= 1"]),
        ("core", "compartments", "compartments = -5", ["'core.compartments'", "-5"]),
        ("noc", "buffer_depth", "buffer_depth = 0", ["'noc.buffer_depth'", ">= 1"]),
        ("noc", "link_bandwidth_pps", "link_bandwidth_pps = 0", ["'noc.link_bandwidth_pps'", "> 0"]),
        ("energy", "synapse_op", "synapse_op = -1e-12", ["'energy.synapse_op'", "-1e-12", ">= 0"]),
        ("time", "message_in", "message_in = nan", ["'time.message_in'", "nan"]),
        ("power", "static_w", "static_w = inf", ["'power.static_w'", "inf"]),
        ("noc", "barrier_mode", 'barrier_mode = "cubic"', ["'noc.barrier_mode'", "'cubic'", "'step'"]),
        ("noc", "barrier_tiles", "barrier_tiles = [32, 1]", ["'noc.barrier_tiles'", "increasing"]),
        ("noc", "barrier_tiles", "barrier_tiles = [0, 32]", ["'noc.barrier_tiles'", ">= 1"]),
        ("noc", "barrier_tiles", "barrier_tiles = []", ["'noc.barrier_tiles'", "empty"]),
        ("noc", "barrier_tiles", "barrier_tiles = [1, 8, 32]", ["'noc.barrier_time_s'", "same length"]),
        ("noc", "barrier_time_s", "barrier_time_s = [1e-7, -1e-7]", ["'noc.barrier_time_s'", ">= 0"]),
    ],
)
def test_out_of_range(tmp_path, section, key, line, fragments):
    text = edit(preset_text("tiny"), section, key, line + "  # test")
    check_error(tmp_path, text, *fragments)


def test_malformed_toml(tmp_path):
    text = preset_text("tiny").replace("columns = 2", "columns = = 2")
    check_error(tmp_path, text, "malformed TOML", "line")


def test_missing_file(tmp_path):
    with pytest.raises(ChipSpecError) as ei:
        load_chip(tmp_path / "nope.toml")
    assert "nope.toml" in str(ei.value)


def test_unknown_preset():
    with pytest.raises(ChipSpecError) as ei:
        load_chip("loihi3")
    msg = str(ei.value)
    assert "loihi3" in msg
    for name in PRESETS:
        assert name in msg


def test_preset_errors_name_the_preset_file():
    d = load_chip("tiny").to_dict()
    d["core"]["max_delay"] = 99
    with pytest.raises(ChipSpecError) as ei:
        ChipSpec.from_dict(d, source="preset:tiny")
    assert "tiny.toml" in str(ei.value) and "core.max_delay" in str(ei.value)


# ---- dict round trip, overrides, immutability, digest ---------------------------------


@pytest.mark.parametrize("name", PRESETS)
def test_to_dict_round_trip(name):
    s = load_chip(name)
    d = s.to_dict()
    assert json.loads(json.dumps(d)) == d  # plain JSON-able
    assert set(d) == {"name", "description", "energy_profile", "energy_source", "mesh",
                      "core", "noc", "energy", "time", "power"}
    s2 = ChipSpec.from_dict(d)
    assert s2 == s
    assert s2.to_dict() == d
    assert s2.source == "<dict>"
    assert hash(s2) == hash(s)


def test_from_dict_errors():
    d = load_chip("tiny").to_dict()
    d["mesh"]["colums"] = 3
    with pytest.raises(ChipSpecError, match=r"chip spec <dict>: unknown key 'mesh.colums'"):
        ChipSpec.from_dict(d)
    with pytest.raises(ChipSpecError):
        ChipSpec.from_dict([1, 2])  # type: ignore[arg-type]


def test_floats_accept_ints():
    d = load_chip("tiny").to_dict()
    d["energy"]["synapse_op"] = 0
    d["power"]["static_w"] = 1
    s = ChipSpec.from_dict(d)
    assert s.energy.synapse_op == 0.0 and isinstance(s.energy.synapse_op, float)
    assert isinstance(s.static_w, float)


def test_with_overrides():
    base = load_chip("loihi1")
    s = base.with_overrides({"mesh.columns": 16})
    assert s.mesh.columns == 16 and s.n_cores == 256
    assert s.name == "loihi1+mesh.columns=16"
    assert base.mesh.columns == 8  # original untouched
    s = base.with_overrides({"energy.synapse_op": 30e-12, "noc.buffer_depth": 4,
                             "power.static_w": 0.2, "name": "custom"})
    assert s.name == "custom"
    assert s.energy.synapse_op == pytest.approx(30e-12)
    assert s.noc.buffer_depth == 4 and s.static_w == pytest.approx(0.2)
    assert s.time == base.time
    assert s.sha256 != base.sha256


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        ({"mesh.colums": 16}, "mesh.colums"),
        ({"mesh": 16}, "'mesh'"),
        ({"power.static_w.x": 1}, "power.static_w.x"),
        ({"mesh.columns": 0}, "mesh.columns"),
        ({"core.max_delay": 100}, "core.max_delay"),
        ({"energy.synapse_op": "big"}, "energy.synapse_op"),
        ({"noc.barrier_tiles": [1, 2, 3]}, "same length"),
    ],
)
def test_bad_override(overrides, fragment):
    with pytest.raises(ChipSpecError) as ei:
        load_chip("tiny").with_overrides(overrides)
    assert fragment in str(ei.value)


@pytest.mark.parametrize("name", PRESETS)
def test_immutable(name):
    s = load_chip(name)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.name = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.mesh.columns = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.energy.synapse_op = 0.0  # type: ignore[misc]
    assert isinstance(s.noc.barrier_tiles, tuple)


def test_direct_construction_is_validated():
    from chipemu.chips.spec import CoreSpec, MeshSpec

    with pytest.raises(ChipSpecError, match="mesh.columns"):
        MeshSpec(columns=0, rows=1, cores_per_router=1)
    with pytest.raises(ChipSpecError, match="core.weight_bits"):
        CoreSpec(compartments=1, synapse_memory_bits=1, fanin_axons=1, fanout_axons=1,
                 max_delay=0, weight_bits=12, delay_bits=0)
    base = load_chip("tiny")
    with pytest.raises(ChipSpecError, match="mesh"):
        dataclasses.replace(base, mesh={"columns": 2})


@pytest.mark.parametrize("name", PRESETS)
def test_sha256_stable(name):
    a, b = load_chip(name), load_chip(name)
    assert a.sha256 == b.sha256
    assert re.fullmatch(r"[0-9a-f]{64}", a.sha256)
    assert a.sha256 == hashlib.sha256(preset_path(name).read_bytes()).hexdigest()
    d1 = ChipSpec.from_dict(a.to_dict()).sha256
    assert d1 == ChipSpec.from_dict(a.to_dict()).sha256


def test_format_chip_table():
    table = format_chip_table([load_chip(n) for n in list_presets()])
    lines = table.splitlines()
    assert len(lines) == 2 + len(PRESETS)
    assert "compartments" in lines[0] and "static" in lines[0]
    row = next(ln for ln in lines if ln.startswith("loihi1 "))
    for frag in ("8x4", "128", "1024", "131072", "D18", "23.6", "104.0"):
        assert frag in row
    silicon = next(ln for ln in lines if ln.startswith("loihi1-silicon"))
    assert "33.6" in silicon


def test_max_delay_must_fit_the_delay_field():
    with pytest.raises(ChipSpecError, match=r"core.max_delay' = 62 does not fit a 3-bit delay field"):
        load_chip("tiny").with_overrides({"core.delay_bits": 3})
    assert load_chip("tiny").with_overrides({"core.delay_bits": 3, "core.max_delay": 7}).core.max_delay == 7
