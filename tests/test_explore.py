"""Architecture exploration (chipemu explore): sweep files, executors, resume, Pareto, report."""

from __future__ import annotations

import csv
import itertools
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from chipemu.cli import main
from chipemu.errors import ChipemuError
from chipemu.explore import (WALL_COLUMNS, load_sweep, pareto_front, pareto_front_groups, parse_sweep,
                             read_results, redraw_explore, result_columns, run_sweep)

# 120 compartments: >= 2 cores of the tiny chip (64 compartments each); on 2 cores the dense
# group-to-group synapses (14 bits each) overflow the 16 kbit synaptic memory
SMALL = """
name = "small"
[chip]
base = "tiny"
[chip.vary]
"mesh.columns" = [1, 2]
"mesh.cores_per_router" = [1, 2]
[mappers]
names = ["sequential", "traffic"]
[[workload]]
program = "synfire"
params = { groups = 6, group_size = 20 }
"""
N_SMALL = 8


def write(tmp_path: Path, text: str, name: str = "sweep.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def rows_by_id(out: Path, drop_wall: bool = True) -> dict[str, dict]:
    cols, rows = read_results(out / "results.csv", parse=False)
    out_rows = {}
    for r in rows:
        if drop_wall:
            r = {k: v for k, v in r.items() if k not in WALL_COLUMNS}
        out_rows[r["point_id"]] = r
    return out_rows


def raw_ids(out: Path) -> list[str]:
    with open(out / "results.csv", newline="") as fh:
        return [r["point_id"] for r in csv.DictReader(fh)]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """The small sweep run once in-process (the reference for the other executors)."""
    d = tmp_path_factory.mktemp("small")
    sweep = write(d, SMALL)
    out = d / "out"
    res = run_sweep(load_sweep(sweep), out, workers=1, progress=False)
    return sweep, out, res


# --------------------------------------------------------------------------------------
# end to end


def test_small_sweep_end_to_end(small_run):
    sweep_path, out, res = small_run
    assert res.total == N_SMALL and res.ran == N_SMALL and res.skipped == 0 and res.remaining == 0
    for name in ("results.csv", "points.json", "sweep.toml", "explore.html", "explore_pareto.png",
                 "explore_sensitivity.png"):
        assert (out / name).is_file(), name
    assert (out / "sweep.toml").read_text() == sweep_path.read_text()
    points = json.loads((out / "points.json").read_text())
    ids = [p["id"] for p in points["points"]]
    assert len(ids) == N_SMALL == len(set(ids))
    cols, rows = read_results(out / "results.csv")
    sweep = load_sweep(sweep_path)
    assert cols == result_columns(sweep.parameter_columns) == points["columns"]
    assert sorted(r["point_id"] for r in rows) == sorted(ids)
    # point ids are a deterministic function of the parameters
    assert [p["id"] for p in load_sweep(sweep_path).points()] == ids
    status = {r["status"] for r in rows}
    assert "ok" in status and "fit_failure" in status and "error" not in status
    for r in rows:
        assert r["chip.name"].startswith("tiny") and r["workload"] == "synfire"
        assert r["chip.cores"] == r["chip.mesh_columns"] * r["chip.mesh_rows"] * r["chip.cores_per_router"]
        assert r["chip.mesh.columns"] == r["chip.mesh_columns"]
        if r["status"] == "ok":
            parts = sum(r[c] for c in cols if c.startswith("energy.breakdown."))
            assert math.isclose(parts, r["energy.total_j"], rel_tol=1e-12)
            assert r["time.step_s_mean"] > 0 and r["mapping.cores_used"] >= 2
            assert r["noc.packets"] >= 0 and r["baseline.ratios.energy"] > 0
            assert r["error"] in ("", None)
        else:  # the 1 x 2 mesh with one core per router holds 2 cores: too few
            assert r["chip.cores"] == 2 and "cores" in r["error"] and r["energy.total_j"] is None
    html = (out / "explore.html").read_text()
    assert "data:image/png;base64," in html and "Pareto-optimal" in html and "Fit failures" in html


def test_rerun_is_a_noop(small_run, tmp_path):
    sweep_path, out, _ = small_run
    before = (out / "results.csv").read_bytes()
    res = run_sweep(load_sweep(sweep_path), out, workers=1, progress=False, report=False)
    assert res.ran == 0 and res.skipped == N_SMALL
    assert (out / "results.csv").read_bytes() == before


def test_process_pool_and_dask_give_identical_results(small_run, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    sweep_path, ref_out, _ = small_run
    ref = rows_by_id(ref_out)
    pool_out = tmp_path / "pool"
    run_sweep(load_sweep(sweep_path), pool_out, workers=2, progress=False, report=False)
    assert rows_by_id(pool_out) == ref
    dask_out = tmp_path / "dask"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl:
        res = run_sweep(load_sweep(sweep_path), dask_out, scheduler=cl.scheduler_address, progress=False,
                        report=False)
    assert res.executor == "dask" and res.ran == N_SMALL
    assert rows_by_id(dask_out) == ref


def test_missing_dask_is_a_clear_error(small_run, tmp_path, monkeypatch):
    sweep_path, _, _ = small_run
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(ChipemuError, match=r"pip install 'chipemu\[dask\]'"):
        run_sweep(load_sweep(sweep_path), tmp_path / "o", scheduler="tcp://127.0.0.1:1", progress=False)


# --------------------------------------------------------------------------------------
# resume


def test_resume_after_limit_and_truncated_line(small_run, tmp_path, capsys):
    sweep_path, ref_out, _ = small_run
    out = tmp_path / "out"
    assert main(["explore", str(sweep_path), "--out", str(out), "--workers", "1", "--limit", "2"]) == 0
    assert len(raw_ids(out)) == 2
    assert "not run yet" in capsys.readouterr().out
    assert main(["explore", str(sweep_path), "--out", str(out), "--workers", "1", "--limit", "3"]) == 0
    ids = raw_ids(out)
    assert len(ids) == 5 == len(set(ids))
    # the process died while writing the 5th row: a truncated last line
    data = (out / "results.csv").read_bytes()
    (out / "results.csv").write_bytes(data[:-25])
    assert main(["explore", str(sweep_path), "--out", str(out), "--workers", "2"]) == 0
    ids = raw_ids(out)
    assert len(ids) == N_SMALL and sorted(ids) == sorted(rows_by_id(ref_out))
    assert rows_by_id(out) == rows_by_id(ref_out)
    assert (out / "results.csv").read_bytes().endswith(b"\n")


def test_resume_retries_error_rows_and_refuses_another_sweep(small_run, tmp_path):
    sweep_path, ref_out, _ = small_run
    out = tmp_path / "out"
    out.mkdir()
    text = (ref_out / "results.csv").read_text().splitlines()
    cols = next(csv.reader([text[0]]))
    first = next(csv.reader([text[1]]))
    first[cols.index("status")] = "error"
    first[cols.index("error")] = "RuntimeError: boom"
    with open(out / "results.csv", "w", newline="") as fh:
        fh.write(text[0] + "\n")
        csv.writer(fh, lineterminator="\n").writerow(first)
        fh.write("\n".join(text[2:4]) + "\n")
    res = run_sweep(load_sweep(sweep_path), out, workers=1, progress=False, report=False)
    assert res.skipped == 2 and res.ran == N_SMALL - 2
    assert rows_by_id(out) == rows_by_id(ref_out)
    other = write(tmp_path, SMALL.replace('"mesh.columns" = [1, 2]', '"mesh.columns" = [2]'), "other.toml")
    with pytest.raises(ChipemuError, match="different sweep"):
        run_sweep(load_sweep(other), out, workers=1, progress=False)
    # extending a sweep (a superset of its points) resumes
    bigger = write(tmp_path, SMALL.replace('names = ["sequential", "traffic"]', 'names = ["sequential", "traffic", '
                                           '"traffic-rowmajor"]'), "bigger.toml")
    res = run_sweep(load_sweep(bigger), out, workers=1, progress=False, report=False, limit=0)
    assert res.skipped == N_SMALL and res.total == 12 and res.remaining == 4


# --------------------------------------------------------------------------------------
# fit failures, errors, random sampling


def test_fit_failure_is_recorded_not_fatal(tmp_path):
    sweep = write(tmp_path, """
name = "fit"
[chip]
base = "tiny"
[chip.vary]
"mesh.columns" = [1]
"mesh.rows" = [1]
"mesh.cores_per_router" = [1, 4]
[[workload]]
name = "small"
program = "synfire"
params = { groups = 2, group_size = 8 }
[[workload]]
name = "big"
program = "synfire"
params = { groups = 6, group_size = 16 }
""")
    res = run_sweep(load_sweep(sweep), tmp_path / "out", workers=1, progress=False)
    assert res.status == {"ok": 3, "fit_failure": 1}
    cols, rows = read_results(tmp_path / "out" / "results.csv")
    bad = [r for r in rows if r["status"] == "fit_failure"]
    assert len(bad) == 1 and bad[0]["workload"] == "big" and bad[0]["chip.cores"] == 1
    assert "cores" in bad[0]["error"] and "\n" not in bad[0]["error"]
    assert bad[0]["network.neurons"] == 96  # the figures known before mapping are kept
    html = (tmp_path / "out" / "explore.html").read_text()
    assert bad[0]["point_id"] in html


def test_failing_point_is_recorded_and_retried(tmp_path, capsys):
    (tmp_path / "flaky.py").write_text(
        "from programs.synfire import build as synfire\n"
        "def build(groups=2, fail=0):\n"
        "    if fail:\n"
        "        raise RuntimeError('boom at build')\n"
        "    return synfire(groups=groups, group_size=8)\n")
    sweep = write(tmp_path, """
name = "flaky"
[chip]
base = "tiny"
[[workload]]
program = "flaky.py"
[workload.vary]
fail = [0, 1]
""")
    out = tmp_path / "out"
    assert main(["explore", str(sweep), "--out", str(out), "--workers", "1"]) == 1
    assert "1 failed with an error" in capsys.readouterr().out
    _, rows = read_results(out / "results.csv")
    by_fail = {r["param.fail"]: r for r in rows}
    assert by_fail[0]["status"] == "ok"
    assert by_fail[1]["status"] == "error" and "RuntimeError: boom at build" in by_fail[1]["error"]
    assert by_fail[1]["point_id"] in (out / "explore.html").read_text()
    res = run_sweep(load_sweep(sweep), out, workers=1, progress=False, report=False)
    assert res.skipped == 1 and res.ran == 1  # the error row is retried, the ok row kept
    assert len(raw_ids(out)) == 2


def test_random_sampling_is_deterministic_and_in_range(tmp_path):
    text = """
name = "rnd"
sampling = "random"
samples = 7
seed = 3
seeds = [0, 1]
[chip]
base = "tiny"
[chip.vary]
"mesh.columns" = { min = 1, max = 4, int = true }
"energy.synapse_op" = { min = 1e-12, max = 1e-10, log = true }
profile = ["tiny"]
[[workload]]
program = "synfire"
params = { group_size = 8 }
[workload.vary]
groups = [2, 3, 4]
"""
    p = write(tmp_path, text)
    a, b = load_sweep(p).points(), load_sweep(p).points()
    assert a == b and 1 <= len(a) <= 14
    for pt in a:
        assert pt["overrides"]["mesh.columns"] in (1, 2, 3, 4)
        assert 1e-12 <= pt["overrides"]["energy.synapse_op"] <= 1e-10
        assert pt["params"]["groups"] in (2, 3, 4) and pt["params"]["group_size"] == 8
        assert pt["chip"] == "tiny"
    other = load_sweep(write(tmp_path, text.replace("seed = 3", "seed = 4"), "s4.toml")).points()
    assert [p["id"] for p in other] != [p["id"] for p in a]


def test_grid_ranges_and_static_power_scaling(tmp_path):
    p = write(tmp_path, """
name = "ranges"
[chip]
base = "tiny"
static_power = "per-core"
[chip.vary]
"mesh.columns" = { min = 1, max = 4, num = 3, int = true }
[[workload]]
program = "synfire"
params = { groups = 2, group_size = 8 }
""")
    sweep = load_sweep(p)
    assert [pt["overrides"]["mesh.columns"] for pt in sweep.points()] == [1, 2, 4]
    run_sweep(sweep, tmp_path / "out", workers=1, progress=False, report=False)
    _, rows = read_results(tmp_path / "out" / "results.csv")
    by_cols = {r["chip.mesh.columns"]: r for r in rows}
    assert math.isclose(by_cols[2]["chip.static_w"], 0.0065)        # the preset itself: 8 cores
    assert math.isclose(by_cols[4]["chip.static_w"], 0.0065 * 2)
    assert math.isclose(by_cols[1]["chip.static_w"], 0.0065 / 2)


# --------------------------------------------------------------------------------------
# invalid sweep files

BAD = [
    ("bogus = 1\n" + SMALL, r"unknown key 'bogus'"),
    (SMALL.replace('base = "tiny"', 'base = "tiny"\ncolour = "red"'), r"unknown key 'chip.colour'"),
    (SMALL.replace('base = "tiny"', 'base = "chips/nope.toml"'), r"chip.base.*does not exist"),
    (SMALL.replace('base = "tiny"', 'base = "tinyy"'), r"unknown preset"),
    (SMALL.replace('"mesh.columns"', '"mesh.colums"'), r"unknown key 'mesh.colums'"),
    (SMALL.replace('"mesh.columns" = [1, 2]', '"mesh.columns" = []'), r"'chip.vary.\"mesh.columns\"' = \[\] is empty"),
    (SMALL.replace('"mesh.columns" = [1, 2]', '"mesh.columns" = [0, 2]'), r"mesh.columns.*out of range"),
    (SMALL.replace('"mesh.columns" = [1, 2]', '"mesh.columns" = [2, 2]'), r"twice"),
    ('sampling = "latin"\n' + SMALL, r"key 'sampling' = 'latin' is not allowed \(allowed: one of 'grid', 'random'\)"),
    ('sampling = "random"\n' + SMALL, r"missing key 'samples'"),
    ('sampling = "random"\nsamples = 0\n' + SMALL, r"key 'samples' = 0 is out of range"),
    ("seed = 1\n" + SMALL, r"'seed' applies to sampling = \"random\" only"),
    (SMALL.replace('"mesh.columns" = [1, 2]', '"mesh.columns" = { min = 1, max = 4 }'), r"missing key .*num"),
    (SMALL.replace('name = "small"\n', ""), r"missing key 'name'"),
    (SMALL.replace("groups = 6", "grups = 6"), r"unknown key 'workload\[0\].params.grups'"),
    (SMALL.replace('program = "synfire"', 'program = "nosuch"'), r"unknown program"),
    (SMALL.replace('"sequential", ', '"fastest", '), r"mappers.names\[0\]' = 'fastest' is not a mapper"),
    (SMALL.replace('noc', 'noc').replace('name = "small"', 'name = "small"\nnoc = "booksim"'), r"'noc'"),
    (SMALL + '[workload.vary]\ngroups = [2, 3]\n', r"both in 'params' and in 'vary'"),
    (SMALL.replace("[[workload]]\nprogram", "[[workload]]\nnetwork = 'x.npz'\nprogram"), r"exactly one of"),
    (SMALL.replace('"mesh.columns"', 'name'), r"'name' is a label"),
    ("name = [\n", r"malformed TOML"),
]


@pytest.mark.parametrize("text,pattern", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_invalid_sweep_rejected(tmp_path, text, pattern):
    p = write(tmp_path, text, "bad.toml")
    with pytest.raises(ChipemuError, match=pattern) as exc:
        load_sweep(p)
    assert str(p) in str(exc.value)


def test_chip_paths_are_relative_to_the_sweep_file(tmp_path):
    from chipemu.chips import load_chip

    sub = tmp_path / "sweeps"
    sub.mkdir()
    chip = load_chip("tiny").to_dict()
    lines = [f'{k} = "{v}"' for k, v in chip.items() if isinstance(v, str)]
    for sect in ("mesh", "core", "noc", "energy", "time", "power"):
        lines.append(f"[{sect}]")
        for k, v in chip[sect].items():
            lines.append(f"{k} = {json.dumps(v)}")
    (tmp_path / "my_chip.toml").write_text("\n".join(lines) + "\n")
    p = write(sub, SMALL.replace('base = "tiny"', 'base = "../my_chip.toml"'))
    sweep = load_sweep(p)
    assert sweep.chip_base_resolved == str((tmp_path / "my_chip.toml").resolve())


def test_cli_bad_sweep_exits_2_with_one_line(tmp_path, capsys):
    p = write(tmp_path, SMALL.replace('"mesh.columns"', '"mesh.colums"'), "bad.toml")
    assert main(["explore", str(p), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: sweep file") and err.count("\n") == 1 and "mesh.colums" in err
    assert main(["explore", str(tmp_path / "missing.toml")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["explore", str(write(tmp_path, SMALL, "ok.toml")), "--workers", "0"]) == 2


# --------------------------------------------------------------------------------------
# Pareto front


def brute_front(x, y, valid):
    n = len(x)
    ok = [valid[i] and np.isfinite(x[i]) and np.isfinite(y[i]) for i in range(n)]
    return np.array([ok[i] and not any(ok[j] and x[j] <= x[i] and y[j] <= y[i] and (x[j] < x[i] or y[j] < y[i])
                                       for j in range(n)) for i in range(n)])


def test_pareto_front_hand_made_table():
    # id:      0    1    2    3    4    5     6    7    8     9
    x = [1.0, 2.0, 2.0, 3.0, 1.0, 4.0, np.nan, 0.5, 5.0, 2.0]
    y = [5.0, 3.0, 3.0, 3.0, 6.0, 1.0, 0.1, 0.1, 0.5, 4.0]
    valid = [True] * 7 + [False] + [True] * 2
    # 0: front (smallest x among valid finite);  1, 2: duplicates, both on the front;
    # 3: same y as 1 with larger x -> dominated;  4: same x as 0, larger y -> dominated;
    # 5: front;  6: NaN -> excluded;  7: failed row (valid False) -> excluded, dominates nobody;
    # 8: front (smallest y);  9: same x as 1, larger y -> dominated
    front = pareto_front(x, y, valid)
    assert np.flatnonzero(front).tolist() == [0, 1, 2, 5, 8]
    assert (front == brute_front(x, y, valid)).all()
    assert pareto_front([], []).tolist() == []
    assert pareto_front([None, 1.0], [1.0, 2.0]).tolist() == [False, True]
    assert pareto_front([1, 1, 1], [2, 2, 2]).tolist() == [True, True, True]
    assert pareto_front([np.inf, 1], [0, 1]).tolist() == [False, True]


def test_pareto_front_matches_brute_force_and_groups():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(0, 25))
        x = rng.integers(0, 6, n).astype(float)  # small integers: many ties and duplicates
        y = rng.integers(0, 6, n).astype(float)
        x[rng.random(n) < 0.1] = np.nan
        valid = rng.random(n) > 0.15
        assert (pareto_front(x, y, valid) == brute_front(x, y, valid)).all()
    x, y, g = [1, 2, 1, 2], [2, 1, 5, 4], ["a", "a", "b", "b"]
    assert pareto_front_groups(x, y, g).tolist() == [True, True, True, True]
    assert pareto_front(x, y).tolist() == [True, True, False, False]


# --------------------------------------------------------------------------------------
# report


def test_redraw_from_results_csv_alone(small_run, tmp_path, capsys):
    _, out, _ = small_run
    d = tmp_path / "copy"
    d.mkdir()
    (d / "results.csv").write_bytes((out / "results.csv").read_bytes())
    path = redraw_explore(d)
    assert path == d / "explore.html" and (d / "explore_pareto.png").stat().st_size > 1000
    html = path.read_text()
    ok = [r for r in read_results(d / "results.csv")[1] if r["status"] == "ok"]
    x = [r["time.step_s_mean"] for r in ok]
    y = [r["energy.total_j"] for r in ok]
    for r, on in zip(ok, pareto_front(x, y)):
        assert (r["point_id"] in html) == bool(on) or r["status"] != "ok"
    # `chipemu report DIR` redraws an explore directory
    (d / "explore.html").unlink()
    assert main(["report", str(d)]) == 0
    assert (d / "explore.html").is_file() and "explore.html" in capsys.readouterr().out


def test_columns_fixed_before_running():
    sweep = parse_sweep(SMALL)
    cols = result_columns(sweep.parameter_columns)
    assert cols[:4] == ["point_id", "index", "status", "error"]
    assert cols[4:9] == ["workload", "mapper", "seed", "chip.mesh.columns", "chip.mesh.cores_per_router"]
    for c in ("energy.total_j", "energy.breakdown.static", "noc.packets", "noc.hops", "noc.max_link_packets",
              "time.chip_s", "time.step_s_mean", "time.step_s_max", "mapping.cores_used",
              "baseline.ratios.energy", "wall_s"):
        assert c in cols
    assert len(cols) == len(set(cols))
    assert set(WALL_COLUMNS) <= set(cols)
    assert list(itertools.islice(iter(parse_sweep(SMALL).points()), 1))[0]["index"] == 0


def test_pareto_groups_keep_close_float_parameters_apart():
    """Two workload instances whose parameter values print alike are still two fronts."""
    from chipemu.explore.report import _Table
    rows = [
        {"status": "ok", "workload": "w", "param.p": 0.10001, "mapper": "a", "time.step_s_mean": 1.0, "energy.total_j": 1.0},
        {"status": "ok", "workload": "w", "param.p": 0.10002, "mapper": "a", "time.step_s_mean": 2.0, "energy.total_j": 2.0},
    ]
    t = _Table(["workload", "mapper", "param.p", "time.step_s_mean", "energy.total_j"], rows,
               "time.step_s_mean", "energy.total_j")
    assert len(set(t.groups)) == 2
    assert t.front.tolist() == [True, True]  # neither dominates the other: different networks


# --------------------------------------------------------------------------------------
# systems of chips

TINY_SYSTEM = """
name = "tiny-pair"
description = "two tiny chips side by side (test system)"
chip = "tiny"
[grid]
chips_x = 2
chips_y = 1
chips_z = 1
[link]
bandwidth_pps = 5.128e6
hop_time_s = 1.95e-7
hop_energy_j = 9.6e-11
[barrier]
chips = [1, 256]
time_s = [465e-9, 14.3e-6]
mode = "linear"
"""


def test_sweep_over_a_system_of_chips(tmp_path):
    (tmp_path / "pair.toml").write_text(TINY_SYSTEM)
    p = write(tmp_path, """
name = "systems"
[chip]
base = "pair.toml"
static_power = "per-core"
[chip.vary]
"grid.chips_x" = [1, 2]
"mesh.columns" = [1, 2]
[[workload]]
program = "synfire"
params = { groups = 6, group_size = 20 }
""")
    sweep = load_sweep(p)
    run_sweep(sweep, tmp_path / "out", workers=1, progress=False, report=False)
    _, rows = read_results(tmp_path / "out" / "results.csv")
    assert len(rows) == 4 and all(r["status"] == "ok" for r in rows), [r["error"] for r in rows]
    for r in rows:
        chips, columns = r["chip.grid.chips_x"], r["chip.mesh.columns"]
        assert r["chip.name"].startswith(f"tiny-pair+grid.chips_x={chips}+mesh.columns={columns}")
        assert r["chip.cores"] == chips * columns * 2 * 2            # chips x routers x cores per router
        # per-core static power: the tiny chip's 6.5 mW x its cores / 8, for every chip
        assert math.isclose(r["chip.static_w"], chips * 0.0065 * columns / 2)
    # a system key on a chip base, and an unknown system key, are refused when loading
    with pytest.raises(ChipemuError, match=r"unknown key 'grid.chips_x'"):
        load_sweep(write(tmp_path, SMALL.replace('"mesh.columns"', '"grid.chips_x"'), "bad1.toml"))
    with pytest.raises(ChipemuError, match=r"unknown key 'grid.chips_w' \(allowed: grid.chips_x"):
        load_sweep(write(tmp_path, p.read_text().replace('"grid.chips_x"', '"grid.chips_w"'), "bad2.toml"))


def test_system_with_overrides_changes_every_chip():
    from chipemu.chips import load_hardware

    base = load_hardware("kapoho-bay")
    spec = base.with_overrides({"grid.chips_y": 2, "link.bandwidth_pps": 1e7, "core.compartments": 512})
    assert spec.name == "kapoho-bay+grid.chips_y=2+link.bandwidth_pps=1e+07+core.compartments=512"
    assert spec.n_chips == 4 and spec.link.bandwidth_pps == 1e7 and spec.chip.core.compartments == 512
    assert spec.barrier == base.barrier and base.n_chips == 2           # the base is unchanged
    assert base.with_overrides({"name": "kb"}).name == "kb"
