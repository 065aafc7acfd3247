"""Hostile input: every loader and the command line refuse bad input with one line.

The promise (README, docs/cli.md): whatever a user gives -- a file, a flag, a program, a
signal -- chipemu prints one ``error: ...`` line and exits 2 (a failed program check: 1;
SIGINT / SIGTERM: 130 / 143), writes nothing half-way, never shows a traceback, never
hangs or exhausts memory, and never answers a wrong value with exit 0.

The property tests (hypothesis) draw hostile values of each *kind* -- extreme integers of
every dtype, non-finite and huge floats, wrong types, deep nesting, damaged archives,
duplicate members, declared sizes beyond memory -- and check the loaders' contract:
either a valid object or the loader's :class:`~chipemu.errors.ChipemuError` subclass,
nothing else.  The CLI tests check the exit status, the one line, and the output folder.
"""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chipemu import bounded
from chipemu.cli import main
from chipemu.errors import ChipemuError, ChipSpecError, FileFormatError

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[1]
CHAIN = DATA / "chain.net.npz"
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])


def one_error_line(err: str) -> bool:
    return err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


def run_cli(argv, capsys) -> tuple[int, str]:
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's own usage errors
        rc = exc.code
    return rc, capsys.readouterr().err


def chain_arrays() -> dict:
    with np.load(CHAIN) as z:
        return {k: z[k] for k in z.files}


def write_npz_members(path: Path, members: list[tuple[str, np.ndarray | bytes]]) -> Path:
    """An .npz written member by member (allows duplicate names and raw bytes)."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names we want
        with zipfile.ZipFile(path, "w") as z:
            for name, value in members:
                if isinstance(value, np.ndarray):
                    buf = io.BytesIO()
                    np.lib.format.write_array(buf, value, allow_pickle=False)
                    value = buf.getvalue()
                z.writestr(name, value)
    return path


def declared_npy(shape, dtype="<i8") -> bytes:
    """A .npy header declaring ``shape`` followed by almost no data."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": tuple(shape)})
    return buf.getvalue() + b"\0" * 64


# ============================================================ bounded reader
def test_read_bytes_refuses_streams_folders_and_oversize(tmp_path):
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    t0 = time.perf_counter()
    with pytest.raises(FileFormatError, match="not a regular file"):
        bounded.read_bytes(fifo, "chip file")  # no writer: must not block
    assert time.perf_counter() - t0 < 5
    link = tmp_path / "zero.toml"
    link.symlink_to("/dev/zero")
    with pytest.raises(FileFormatError, match="not a regular file"):
        bounded.read_bytes(link, "chip file")
    with pytest.raises(FileFormatError, match="is a directory"):
        bounded.read_bytes(tmp_path, "chip file")
    with pytest.raises(FileFormatError, match="no such file"):
        bounded.read_bytes(tmp_path / "missing", "chip file")
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * 2000)
    with pytest.raises(FileFormatError, match="more than"):
        bounded.read_bytes(big, "chip file", max_bytes=1000)
    assert bounded.read_bytes(big, "chip file", max_bytes=2000) == b"#" * 2000


@pytest.mark.parametrize("text, fragment", [
    ("[" * 5000 + "]" * 5000, "nested deeper"),
    ("[" * 70 + "]" * 70, "nested deeper"),
    ('{"a": 1e999}', "too large"),
    ('{"a": NaN}', "not a finite number"),
    ('{"a": -Infinity}', "not a finite number"),
    ('{"a": ' + "9" * 5000 + "}", "too large"),
    ('{"a": 18446744073709551614}', "too large"),
    ('{"a": ', "not valid JSON"),
])
def test_parse_json_refuses(text, fragment):
    with pytest.raises(FileFormatError, match=fragment):
        bounded.parse_json(text, "report file x")


def test_parse_toml_depth():
    with pytest.raises(FileFormatError, match="nested deeper"):
        bounded.parse_toml("a = " + "[" * 5000 + "]" * 5000, "chip file x")
    with pytest.raises(FileFormatError, match="nested deeper"):
        bounded.parse_toml("a = " + "{b = " * 200 + "1" + "}" * 200, "chip file x")
    assert bounded.parse_toml("a = [[1], [2]]", "x") == {"a": [[1], [2]]}


_INT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]


@FAST
@given(dtype=st.sampled_from(_INT_DTYPES), data=st.data(),
       lo=st.integers(-2**70, 2**70), width=st.integers(0, 2**70))
def test_array_out_of_range_is_exact_for_every_dtype(dtype, data, lo, width):
    info = np.iinfo(dtype)
    values = data.draw(st.lists(st.integers(int(info.min), int(info.max)), max_size=20))
    arr = np.array(values, dtype=dtype)
    hi = lo + width
    got = bounded.array_out_of_range(arr, lo, hi)
    want = next(((i, v) for i, v in enumerate(values) if not lo <= v <= hi), None)
    assert got == want


@FAST
@given(value=st.one_of(st.integers(-2**200, 2**200), st.floats(allow_nan=True), st.booleans(),
                       st.text(max_size=5), st.none()),
       lo=st.integers(-2**40, 0), hi=st.integers(0, 2**40))
def test_check_int_range_before_cast(value, lo, hi):
    try:
        got = bounded.check_int(value, "x", lo, hi)
    except ChipemuError as exc:
        msg = str(exc)
        assert "\n" not in msg and len(msg) < 200  # a huge value is shown cut, never wrapped
        if isinstance(value, int) and not isinstance(value, bool) and value > hi:
            assert "too large" in msg
        return
    assert isinstance(got, int) and lo <= got <= hi and got == value


def test_memory_budget_env_override(monkeypatch):
    monkeypatch.setenv("CHIPEMU_MEMORY_BUDGET", "123M")
    assert bounded.memory_budget() == 123 * 2**20
    with pytest.raises(ChipemuError, match="more than this machine allows"):
        bounded.check_memory(124 * 2**20, "thing")
    bounded.check_memory(122 * 2**20, "thing")


# ============================================================ flat files (.npz)
def test_uint64_weight_is_too_large_not_wrapped(tmp_path, capsys):
    a = chain_arrays()
    a["weight"] = np.full(a["weight"].shape, 2**64 - 2, dtype=np.uint64)
    np.savez(tmp_path / "u.npz", **a)
    rc, err = run_cli(["simulate", tmp_path / "u.npz", "--out", tmp_path / "o"], capsys)
    assert rc == 2 and one_error_line(err)
    assert "18446744073709551614" in err and "too large" in err and "-2 " not in err
    assert not (tmp_path / "o").exists()


def test_duplicate_npz_member_refused(tmp_path, capsys):
    a = chain_arrays()
    members = [(f"{k}.npy", v) for k, v in a.items()] + [("vth.npy", a["vth"] + 2)]
    write_npz_members(tmp_path / "d.npz", members)
    rc, err = run_cli(["simulate", tmp_path / "d.npz", "--out", tmp_path / "o"], capsys)
    assert rc == 2 and one_error_line(err) and "two members named 'vth'" in err
    # 'a' and 'a.npy' are the same key for numpy: ambiguous too
    write_npz_members(tmp_path / "d2.npz", [(f"{k}.npy", v) for k, v in a.items()] + [("vth", a["vth"])])
    with pytest.raises(FileFormatError, match="two members named 'vth'"):
        bounded.read_npz(tmp_path / "d2.npz", "network file")


def test_npz_declared_size_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setenv("CHIPEMU_MEMORY_BUDGET", "256M")
    a = chain_arrays()
    members = [(f"{k}.npy", v) for k, v in a.items() if k != "du"] + [("du.npy", declared_npy((10**10,)))]
    write_npz_members(tmp_path / "bomb.npz", members)
    assert (tmp_path / "bomb.npz").stat().st_size < 2_000_000  # declares 80 GB
    with pytest.raises(FileFormatError, match="needs .* of memory"):
        bounded.read_npz(tmp_path / "bomb.npz", "network file")


def test_npz_object_and_npy_and_streams(tmp_path):
    write_npz_members(tmp_path / "o.npz", [("x.npy", declared_npy((3,), "|O"))])
    with pytest.raises(FileFormatError, match="Python objects|not a readable"):
        bounded.read_npz(tmp_path / "o.npz", "network file")
    np.save(tmp_path / "a.npy", np.arange(3))
    with pytest.raises(FileFormatError, match="single .npy"):
        bounded.read_npz(tmp_path / "a.npy", "network file")
    (tmp_path / "r.npz").symlink_to("/dev/urandom")
    with pytest.raises(FileFormatError, match="not a regular file"):
        bounded.read_npz(tmp_path / "r.npz", "network file")
    np.save(tmp_path / "ok.npy", np.arange(5))
    assert bounded.read_npy(tmp_path / "ok.npy", "input file").tolist() == [0, 1, 2, 3, 4]
    (tmp_path / "big.npy").write_bytes(declared_npy((2**40,)))
    with pytest.raises(FileFormatError, match="needs .* of memory"):
        bounded.read_npy(tmp_path / "big.npy", "input file")


_EXTREMES = [0, 1, -1, 2**7, 2**15, 2**31 - 1, 2**31, 2**62, 2**63 - 1, -2**63]


@st.composite
def mutated_flat(draw):
    """chain.net.npz with one key replaced by a hostile value of some kind."""
    a = chain_arrays()
    key = draw(st.sampled_from(sorted(a)))
    n = a[key].size
    kind = draw(st.sampled_from(["dtype", "extreme", "shape", "float", "string", "drop", "empty"]))
    if kind == "dtype":
        dtype = draw(st.sampled_from(_INT_DTYPES))
        info = np.iinfo(dtype)
        v = draw(st.sampled_from([int(info.max), int(info.min), int(info.max) - 1]))
        a[key] = np.full(a[key].shape, v, dtype=dtype)
    elif kind == "extreme":
        v = draw(st.sampled_from(_EXTREMES))
        a[key] = np.full(a[key].shape, v, dtype=np.int64)
    elif kind == "shape":
        a[key] = np.zeros(draw(st.sampled_from([(2, 2), (n + 1,), (0,), ()])), dtype=np.int64)
    elif kind == "float":
        a[key] = np.full(a[key].shape, draw(st.sampled_from([np.nan, np.inf, 1e300, 0.5])))
    elif kind == "string":
        a[key] = np.array(["x"] * max(n, 1)) if a[key].ndim else np.array("x")
    elif kind == "drop":
        del a[key]
    else:
        a[key] = np.zeros(0, dtype=a[key].dtype)
    return a


@FAST
@given(arrays=mutated_flat())
def test_flat_loader_fuzz(tmp_path_factory, arrays):
    path = tmp_path_factory.mktemp("fz") / "n.npz"
    np.savez(path, **arrays)
    from chipemu.network import Network
    try:
        net = Network.load(path)
    except FileFormatError as exc:
        assert "\n" not in str(exc)
        return
    f = net.flat()  # a network that loads holds only in-range values: no wrap-around
    assert f.weight.min(initial=0) >= -256 and f.weight.max(initial=0) <= 254
    assert 0 <= f.steps <= bounded.MAX_STEPS


@FAST
@given(cut=st.integers(0, 4000), flip=st.integers(0, 4000), byte=st.integers(0, 255))
def test_damaged_archive_fuzz(tmp_path_factory, cut, flip, byte):
    data = bytearray(CHAIN.read_bytes())
    if flip < len(data):
        data[flip] = byte
    data = data[: max(0, len(data) - cut)]
    path = tmp_path_factory.mktemp("dz") / "n.npz"
    path.write_bytes(bytes(data))
    from chipemu.network import Network
    try:
        Network.load(path)
    except FileFormatError as exc:
        assert "\n" not in str(exc)


# ============================================================ chip / host / sweep TOML
_TOML_HOSTILE = ["9223372036854775807", "-9223372036854775808", "99999999999999999999999999", "1e308",
                 "-1e308", "inf", "nan", "0", "-1", '"x"', "true", "[1, 2]", "[[[[[[1]]]]]]", "{a = 1}", "1e-300"]


def _chip_keys() -> list[str]:
    text = (ROOT / "chipemu" / "chips" / "tiny.toml").read_text()
    return re.findall(r"(?m)^([a-z_]+)\s*=", text)


@FAST
@given(key=st.sampled_from(_chip_keys()), value=st.sampled_from(_TOML_HOSTILE))
def test_chip_toml_fuzz(tmp_path_factory, key, value):
    text = (ROOT / "chipemu" / "chips" / "tiny.toml").read_text()
    text = re.sub(rf"(?m)^{key}\s*=.*$", f"{key} = {value}", text, count=1)
    path = tmp_path_factory.mktemp("ct") / "chip.toml"
    path.write_text(text)
    from chipemu.chips import load_chip
    try:
        spec = load_chip(str(path))
    except ChipSpecError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 600
        return
    # accepted: every derived figure is a sane number
    assert spec.n_cores <= 2**20
    for section in (spec.energy, spec.time):
        values = [getattr(section, f) for f in section._keys()]
        assert all(v is None or 0 <= v <= 1e6 for v in values)  # None: an optional cost left out


@FAST
@given(key=st.sampled_from(["clock_hz", "ipc", "int_add_j", "static_w", "capacity_bytes", "read_64b_j",
                            "bandwidth_bytes_per_s", "synapse_bytes"]),
       value=st.sampled_from(_TOML_HOSTILE))
def test_host_toml_fuzz(tmp_path_factory, key, value):
    from chipemu.hosts import HostSpecError, load_host
    text = (ROOT / "chipemu" / "hosts" / "cpu-45nm.toml").read_text()
    text = re.sub(rf"(?m)^{key}\s*=.*$", f"{key} = {value}", text, count=1)
    path = tmp_path_factory.mktemp("ht") / "host.toml"
    path.write_text(text)
    try:
        load_host(str(path))
    except HostSpecError as exc:
        assert "\n" not in str(exc)


def test_chip_extremes_say_too_large(tmp_path, capsys):
    text = (ROOT / "chipemu" / "chips" / "tiny.toml").read_text()
    for key, value in (("cores_per_router", "9223372036854775807"), ("synapse_op", "1e308"),
                       ("static_w", "1e308"), ("columns", "100000")):
        p = tmp_path / f"{key}.toml"
        p.write_text(re.sub(rf"(?m)^{key}\s*=.*$", f"{key} = {value}", text, count=1))
        rc, err = run_cli(["run", "synfire", "--param", "groups=2", "--chip", p, "--out", tmp_path / "o"], capsys)
        assert rc == 2 and one_error_line(err) and "too large" in err and key in err, err
    assert not (tmp_path / "o").exists()


def test_energy_overflow_is_refused_not_inf(tmp_path):
    """A chip whose constants pass their bounds but whose totals overflow (a tiny link
    bandwidth makes the time astronomically long) is refused, never reported as inf."""
    from chipemu.chips import load_chip
    from chipemu.loading import load_network_arg
    from chipemu.pipeline import run_network
    text = (ROOT / "chipemu" / "chips" / "tiny.toml").read_text()
    p = tmp_path / "bw.toml"
    p.write_text(re.sub(r"(?m)^link_bandwidth_pps\s*=.*$", "link_bandwidth_pps = 1e-300", text, count=1))
    net, _ = load_network_arg("synfire", {"groups": 2})
    with pytest.raises(ChipemuError, match="overflows"):
        # spread over several routers, so that packets cross the starved links (synfire's
        # group-to-group synapses are stored dense and would fit on one router's two cores)
        run_network(net, load_chip(str(p)), "sequential", noc="analytic", measure_baseline=False, max_per_core=16)


_SWEEP = """name = "s"
steps = 20
{top}
[chip]
base = "tiny"
{vary}
[[workload]]
program = "synfire"
params = {{groups = 2}}
"""


def sweep_text(top: str = "", vary: str = "") -> str:
    return _SWEEP.format(top=top, vary=f"[chip.vary]\n{vary}" if vary else "")


@pytest.mark.parametrize("top, vary, fragment", [
    ('sampling = "random"\nsamples = 2', '"mesh.columns" = {min = 1, max = 1e30, int = true}', "too large"),
    ('sampling = "random"\nsamples = 2', '"mesh.columns" = {min = 1, max = 9223372036854775807, int = true}',
     "too large"),
    ('sampling = "random"\nsamples = 2', '"energy.synapse_op" = {min = 0, max = 1e308}', "too large"),
    ('sampling = "random"\nsamples = 2\nseed = 99999999999999999999', "", "too large"),
    ("seeds = [18446744073709551615]", "", "too large"),
    ("", '"mesh.columns" = [1, 9223372036854775807]', "too large"),
    ("", "", None),
])
def test_sweep_ranges(tmp_path, top, vary, fragment):
    from chipemu.explore import load_sweep
    p = tmp_path / "s.toml"
    p.write_text(sweep_text(top, vary))
    if fragment is None:
        load_sweep(p)
        p.write_text(sweep_text().replace("steps = 20", "steps = 4611686018427387904"))
        with pytest.raises(ChipemuError, match="too large"):
            load_sweep(p)
        return
    with pytest.raises(ChipemuError, match=fragment):
        load_sweep(p)


# ============================================================ report dirs (chipemu report)
def _report_dir(tmp_path) -> Path:
    out = tmp_path / "r"
    assert main(["run", "synfire", "--param", "groups=2", "--chip", "tiny", "--noc", "analytic",
                 "--out", str(out)]) == 0
    return out


def test_report_dir_hostile(tmp_path, capsys):
    out = _report_dir(tmp_path)
    capsys.readouterr()
    good = (out / "report.json").read_text()
    cases = [
        ("[" * 100000 + "]" * 100000, "nested deeper"),
        (good.replace('"steps": ', '"steps": 4611686018427387904, "x": ', 1), "too large"),
        (good.replace('"total_j": ', '"total_j": 1e999, "y": ', 1), "too large"),
    ]
    for text, fragment in cases:
        (out / "report.json").write_text(text)
        rc, err = run_cli(["report", out], capsys)
        assert rc == 2 and one_error_line(err) and fragment in err, err
    (out / "report.json").unlink()
    (out / "report.json").symlink_to("/dev/zero")
    rc, err = run_cli(["report", out], capsys)
    assert rc == 2 and one_error_line(err) and "not a regular file" in err


def test_explore_dir_non_utf8_results(tmp_path, capsys):
    d = tmp_path / "e"
    d.mkdir()
    (d / "results.csv").write_bytes(b"point_id,status\n\xff\xfe,ok\n")
    rc, err = run_cli(["report", d], capsys)
    assert rc == 2 and one_error_line(err) and "UTF-8" in err


# ============================================================ CLI flags
@FAST
@given(steps=st.one_of(st.integers(-2**80, 2**80).map(str), st.sampled_from(
    ["1e5", "0x10", "", " ", "nan", "--", "1_000", "٣", "9" * 5000, str(2**31), str(2**31 - 1)])))
def test_steps_flag_fuzz(tmp_path_factory, capsys, steps):
    out = tmp_path_factory.mktemp("st") / "o"
    try:
        valid = 0 <= int(steps) <= bounded.MAX_STEPS
    except ValueError:
        valid = False
    if valid:
        return  # a valid run length: covered elsewhere (and slower)
    rc, err = run_cli(["simulate", CHAIN, "--steps", steps, "--out", out], capsys)
    assert rc == 2 and one_error_line(err), (steps, err)
    assert len(err) < 300 and not (out / "spikes.npz").exists()


@FAST
@given(items=st.lists(st.text(max_size=30), max_size=4))
def test_parse_params_fuzz(items):
    from chipemu.cli import _parse_params as parse_params
    try:
        params = parse_params(items)
    except ChipemuError as exc:
        assert "\n" not in str(exc)
        return
    assert isinstance(params, dict)


def test_param_deep_and_long(capsys, tmp_path):
    from chipemu.cli import _parse_params as parse_params
    with pytest.raises(ChipemuError, match="nested"):
        parse_params(["x=" + "[" * 100 + "]" * 100])
    with pytest.raises(ChipemuError, match="too long"):
        parse_params(["x=" + "1" * 200_000])
    rc, err = run_cli(["simulate", "synfire", "--param", "groups=1000000000", "--out", tmp_path / "o"], capsys)
    assert rc == 2 and one_error_line(err) and "too large" in err


@pytest.mark.parametrize("flags, fragment", [
    (["--pin", "g0=99999999999999999999999"], "too large"),
    (["--seed", str(2**70)], "too large"),
    (["--max-per-core", str(2**70)], "too large"),
])
def test_mapping_flags_too_large(tmp_path, capsys, flags, fragment):
    rc, err = run_cli(["map", "synfire", "--param", "groups=2", "--chip", "tiny", *flags,
                       "--out", tmp_path / "o"], capsys)
    assert rc == 2 and one_error_line(err) and fragment in err, err
    assert not (tmp_path / "o").exists()


def test_out_checked_before_any_work(tmp_path, capsys, monkeypatch):
    import chipemu.pipeline as pipeline

    def boom(*a, **k):
        raise AssertionError("the run started before --out was checked")
    monkeypatch.setattr(pipeline, "run_network", boom)
    afile = tmp_path / "afile"
    afile.write_text("x")
    for out in (afile, afile / "sub"):
        rc, err = run_cli(["run", "synfire", "--param", "groups=2", "--chip", "tiny", "--out", out], capsys)
        assert rc == 2 and one_error_line(err), err
    assert afile.read_text() == "x"
    d = tmp_path / "d"
    (d / "report.json").mkdir(parents=True)
    rc, err = run_cli(["run", "synfire", "--param", "groups=2", "--chip", "tiny", "--out", d], capsys)
    assert rc == 2 and one_error_line(err) and "report.json" in err


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.parametrize("address", ["not an address", "tcp://", "tcp://host:99999", "ucx://x:1", "tcp://h:p",
                                     "127.0.0.1:{closed}", "tcp://127.0.0.1:{closed}"])
def test_scheduler_checked_first(tmp_path, capsys, address):
    p = tmp_path / "s.toml"
    p.write_text(sweep_text())
    out = tmp_path / "o"
    t0 = time.perf_counter()
    rc, err = run_cli(["explore", p, "--scheduler", address.format(closed=_closed_port()), "--out", out], capsys)
    assert rc == 2 and one_error_line(err) and "scheduler" in err, err
    assert time.perf_counter() - t0 < 10
    assert not out.exists()


# ============================================================ programs are user code
_PROGRAM_CASES = {
    "exit_import": ("import sys\nsys.exit(3)\n", "import", 2),
    "exit_build": ("import sys\ndef build():\n    sys.exit(0)\n", "build", 2),
    "exit_check": ("{net}\ndef check(result):\n    raise SystemExit('bye')\n", "check()", 2),
    "raise_check": ("{net}\ndef check(result):\n    raise ValueError('no')\n", "check()", 2),
    "bool_check": ("{net}\ndef check(result):\n    return True\n", "check()", 2),
    "none_check": ("{net}\ndef check(result):\n    return None\n", "check()", 2),
    "wrong_build": ("def build():\n    return 42\n", "build()", 2),
    "raise_build": ("def build():\n    raise KeyError('k')\n", "build", 2),
    "recurse_build": ("def build():\n    return build()\n", "build", 2),
    "str_fails": ("{net}\nclass D:\n    def __str__(self):\n        raise RuntimeError('x')\n"
                  "def check(result):\n    return True, D()\n", "check()", 2),
    "failed_check": ("{net}\ndef check(result):\n    return False, 'wrong answer'\n", None, 1),
}
_NET = ("from chipemu import Network\n"
        "def build():\n"
        "    net = Network('p', steps=5)\n"
        "    net.add_population('a', 2)\n"
        "    return net\n")


@pytest.mark.parametrize("case", sorted(_PROGRAM_CASES))
def test_programs_are_user_code(tmp_path, capsys, case):
    text, function, want_rc = _PROGRAM_CASES[case]
    prog = tmp_path / f"{case}.py"
    prog.write_text(text.replace("{net}", _NET))
    out = tmp_path / "o"
    rc, err = run_cli(["run", prog, "--chip", "tiny", "--noc", "analytic", "--out", out], capsys)
    assert rc == want_rc, err
    if want_rc == 2:
        assert one_error_line(err) and str(prog) in err and function in err, err
        assert not out.exists() or not any(out.iterdir())
    else:
        assert "report.json" in os.listdir(out)


# ============================================================ NIR (HDF5) declared sizes
def test_nir_declared_dataset_refused_before_loading(tmp_path, monkeypatch):
    h5py = pytest.importorskip("h5py")
    monkeypatch.setenv("CHIPEMU_MEMORY_BUDGET", "256M")
    path = tmp_path / "bomb.nir"
    with h5py.File(path, "w") as f:
        g = f.create_group("node").create_group("nodes").create_group("lif")
        g.create_dataset("tau", shape=(10**9,), dtype="f8", chunks=(10**6,), compression="gzip")
    assert path.stat().st_size < 100_000
    from chipemu.importers.nir import NIRImportError, load_nir
    with pytest.raises(NIRImportError, match="needs .* of memory"):
        load_nir(path)


# ============================================================ signals
_LONG_RUN = ["run", "synfire", "--steps", "1000000", "--noc", "simpy"]


def _wait_cpu(pid: int, seconds: float, timeout: float = 120.0) -> None:
    """Wait until process ``pid`` has used ``seconds`` of CPU time (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return
        if (int(fields[11]) + int(fields[12])) / tick >= seconds:
            return
        time.sleep(0.1)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_stops_promptly_and_cleans_up(tmp_path, sig, code):
    out = tmp_path / "o"
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from chipemu.cli import main; sys.exit(main())",
                             *_LONG_RUN, "--out", str(out)], env=env, stderr=subprocess.PIPE, text=True)
    _wait_cpu(proc.pid, 3.0)  # well into the run: imports done, emulating (a loaded machine is slow)
    assert proc.poll() is None, proc.stderr.read()
    t0 = time.perf_counter()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert time.perf_counter() - t0 < 10
    assert proc.returncode == code, err
    assert "Traceback" not in err and "interrupted" in err
    assert list(out.iterdir()) == []


def test_signal_swallowed_while_drawing_still_stops(tmp_path, capsys, monkeypatch):
    """A library that swallows the KeyboardInterrupt (here: figure drawing) must not turn a
    SIGTERM into a finished run with exit 0: nothing is written, exit 143."""
    import chipemu.report.html as html
    real = html.render_figures

    def swallowing(report, spikes):
        from chipemu import interrupt
        try:  # the handler as the signal would run it (tests may run outside the main thread)
            interrupt._handler(signal.SIGTERM, None)
        except KeyboardInterrupt:
            pass  # swallowed, as some C callbacks do
        return real(report, spikes)
    monkeypatch.setattr(html, "render_figures", swallowing)
    out = tmp_path / "o"
    rc, err = run_cli(["run", "synfire", "--param", "groups=2", "--chip", "tiny", "--noc", "analytic",
                       "--out", out], capsys)
    assert rc == 143 and "interrupted" in err
    assert not out.exists() or list(out.iterdir()) == []


# ============================================================ network building budgets
def test_network_sizes_refused_before_allocation(monkeypatch):
    from chipemu.network import Network
    from chipemu.errors import NetworkError
    monkeypatch.setenv("CHIPEMU_MEMORY_BUDGET", "256M")
    net = Network("n", steps=10)
    with pytest.raises(NetworkError, match="too large"):
        net.add_population("p", 2**40)  # beyond int32 indices
    with pytest.raises(NetworkError, match="too large"):
        net.add_population("p", 2**62)
    with pytest.raises(NetworkError, match="memory"):
        net.add_population("p", 2**30)
    a = net.add_population("a", 100_000)
    with pytest.raises(NetworkError, match="memory"):
        net.connect(a, a, "all_to_all", weight=2)
    with pytest.raises(NetworkError, match="too large|memory"):
        net.add_bernoulli_input("in", 10**6, 0.5, stop=10**6)
    with pytest.raises(NetworkError, match="too large"):
        Network("n", steps=2**62)
    with pytest.raises(NetworkError, match="out of range"):
        net.add_population("b", 2, vth=np.array([2**64 - 2, 1], dtype=np.uint64))


# ============================================================ memory bound (resource limit)
@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is a Linux resource limit")
def test_refusals_under_a_memory_limit(tmp_path):
    """Under a 2 GiB address-space limit, inputs that declare tens of gigabytes are refused
    with one line -- the budget follows the limit -- instead of dying of MemoryError."""
    a = chain_arrays()
    bomb = write_npz_members(tmp_path / "bomb.npz", [(f"{k}.npy", v) for k, v in a.items() if k != "src"]
                             + [("src.npy", declared_npy((4 * 10**9,)))])
    a2 = dict(a)
    a2["steps"] = np.array(2**31 - 1)
    np.savez(tmp_path / "long.npz", **a2)
    code = ("import resource, sys\n"
            "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
            "from chipemu.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
    env = {k: v for k, v in os.environ.items() if k != "CHIPEMU_MEMORY_BUDGET"}
    env["PYTHONPATH"] = str(ROOT)
    env["OPENBLAS_NUM_THREADS"] = "1"
    for argv in (["simulate", str(bomb)], ["simulate", str(tmp_path / "long.npz")],
                 ["simulate", "synfire", "--param", "groups=2", "--param", "group_size=100000",
                  "--param", "weight=2"]):
        p = subprocess.run([sys.executable, "-c", code, *argv, "--out", str(tmp_path / "o")], env=env,
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 2 and one_error_line(p.stderr), (argv, p.stderr[-2000:])
        assert "memory" in p.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("program, param", [
    ("brunel", "n_exc=1000000000"), ("shortest_path", "nodes=1000000000"), ("lca", "dim=100000000"),
    ("stdp_pattern", "afferents=1000000000"), ("wta", "k=1000000000"), ("wta", "size=1000000000"),
    ("synfire", "groups=100000000"), ("synfire", "group_size=99999999999999999999"),
])
def test_bundled_program_sizes_refused_up_front(tmp_path, capsys, program, param):
    """A size parameter beyond what the machine holds fails before the program builds
    anything: one line naming the program, quickly (no loop over 10**9 groups)."""
    t0 = time.perf_counter()
    rc, err = run_cli(["simulate", program, "--param", param, "--out", tmp_path / "o"], capsys)
    assert rc == 2 and one_error_line(err) and program in err, err
    assert "too large" in err or "memory" in err, err
    assert time.perf_counter() - t0 < 20
    assert not (tmp_path / "o").exists()
