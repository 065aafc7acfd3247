"""Typed records (chipemu.records) and the report.json schema that round-trips through them."""

import copy
import json
import re

import pytest

from chipemu.baseline import baseline_report
from chipemu.energy import energy_report
from chipemu.errors import FileFormatError
from chipemu.records import Record, record
from chipemu.report import build_report, read_report, write_report
from chipemu.report.schema import REQUIRED_KEYS, CheckSection, EnergySection, Report

from conftest import CONTRACT_KEYS
from test_energy import tiny_run


@record
class Inner(Record):
    a: int
    b: float | None = None


@record
class Outer(Record):
    name: str
    inner: Inner
    items: list[Inner] | None = None
    table: dict[str, list[int]] | None = None
    maybe: float | None = None


# ---------------------------------------------------------------- the generic record
def test_record_round_trips_and_keeps_unknown_keys():
    d = {"name": "x", "inner": {"a": 1, "b": 2.5, "new": [1]}, "items": [{"a": 2}], "table": {"k": [1, 2]},
         "later": {"z": 1}}
    r = Outer.from_dict(d)
    assert r.inner.a == 1 and r.items[0].a == 2 and r.extra == {"later": {"z": 1}}
    assert r.to_dict() == d
    assert Outer.from_dict(r.to_dict()) == r


def test_record_validates_on_construction():
    with pytest.raises(FileFormatError, match="key 'a' = True must be an integer"):
        Inner(a=True)
    with pytest.raises(FileFormatError, match="key 'a' = '1' must be an integer"):
        Inner(a="1")
    assert Inner(a=1, b=2).b == 2.0 and isinstance(Inner(a=1, b=2).b, float)


@pytest.mark.parametrize("change, message", [
    (lambda d: d["inner"].pop("a"), "key 'inner.a' is missing"),
    (lambda d: d["inner"].update(a=1.5), "key 'inner.a' = 1.5 must be an integer"),
    (lambda d: d.update(items=[{"a": 1}, {"a": "x"}]), "key 'items[1].a' = 'x' must be an integer"),
    (lambda d: d.update(table={"k": [1, None]}), "key 'table.k[1]' = None must be an integer"),
    (lambda d: d.update(inner=[1]), "key 'inner' must be a JSON object"),
    (lambda d: d.update(name=None), "key 'name' = None must be a string"),
])
def test_record_errors_name_the_dotted_key(change, message):
    d = {"name": "x", "inner": {"a": 1}}
    change(d)
    with pytest.raises(FileFormatError, match="^" + re.escape(f"thing: {message}")):
        Outer.from_dict(d, where="thing")


def test_required_keys_follow_the_schema():
    assert Outer.required_keys() == ["name", "inner.a"]


# ---------------------------------------------------------------- report.json
def test_schema_required_keys_are_the_contract_keys():
    """The contract's key list (tests/conftest.py) is pinned independently of the schema."""
    assert list(REQUIRED_KEYS) == list(CONTRACT_KEYS)


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    run = tiny_run()
    e = energy_report(run)
    report = build_report(run, seed=3, energy=e, baseline=baseline_report(run, e),
                          check={"passed": True, "detail": "ok"})
    path = tmp_path_factory.mktemp("r") / "report.json"
    write_report(report, path)
    return path, report


def test_report_json_round_trips_through_its_type(report_file):
    path, report = report_file
    d = json.loads(path.read_text())
    typed = Report.from_dict(d)
    assert isinstance(typed.energy, EnergySection) and typed.check == CheckSection(passed=True, detail="ok")
    assert typed.to_dict() == d
    assert json.dumps(typed.to_dict()) == json.dumps(d)  # same keys in the same order
    assert Report.from_dict(typed.to_dict()) == typed
    assert read_report(path) == d == report


def test_report_keeps_keys_it_does_not_know(report_file):
    """A report written by a newer chipemu (an extra section, an extra key) reads back unchanged."""
    d = json.loads(report_file[0].read_text())
    d["future_section"] = {"x": [1, 2]}
    d["noc"]["future_counter"] = 5
    assert Report.from_dict(d).to_dict() == d


@pytest.mark.parametrize("dotted, bad", [
    ("noc.hops", "many"), ("steps", -0.5), ("time.per_step_s", [0.1, "x"]), ("energy.breakdown", [1]),
    ("check.passed", "yes"), ("mapping.usage", {"compartments": [1.5]}), ("chip.mesh", "2x2"),
])
def test_report_with_a_wrong_type_is_rejected_naming_the_key(report_file, tmp_path, dotted, bad):
    d = copy.deepcopy(json.loads(report_file[0].read_text()))
    *parents, last = dotted.split(".")
    cur = d
    for p in parents:
        cur = cur[p]
    cur[last] = bad
    path = tmp_path / "report.json"
    path.write_text(json.dumps(d))
    with pytest.raises(FileFormatError, match=re.escape(f"report file {path}: key '{dotted}")):
        read_report(path)


def test_build_report_takes_new_sections_by_name(report_file):
    run = tiny_run()
    with pytest.raises(TypeError, match="unknown report section 'nonsense'"):
        build_report(run, nonsense={"a": 1})
    with pytest.raises(FileFormatError, match="key 'passed'"):
        build_report(run, check={"detail": "no verdict"})


# ---------------------------------------------------------------- sweep points
def test_sweep_points_are_records_that_round_trip_through_json():
    from chipemu.explore.sweep import SweepPoint, parse_sweep
    from test_explore import SMALL

    points = parse_sweep(SMALL).points()
    assert [p.index for p in points] == list(range(len(points)))
    p = points[1]
    assert isinstance(p, SweepPoint) and p["id"] == p.id and p.get("nope") is None
    assert SweepPoint.from_dict(json.loads(json.dumps(p.to_dict()))) == p
    assert p.to_dict()["steps"] is None  # written as null: the network's own length
    bad = {**p.to_dict(), "seed": "0"}
    with pytest.raises(FileFormatError, match="key 'seed' = '0' must be an integer"):
        SweepPoint.from_dict(bad)


@pytest.mark.parametrize("change, message", [
    (lambda m: m["usage"].update(compartments=m["usage"]["compartments"] + [1]), "key 'mapping.usage.compartments' has"),
    (lambda m: m.update(core_port=[]), "key 'mapping.core_port' has 0 entries"),
    (lambda m: m.update(core_chip=[0] * (m["cores_used"] + 1)), "key 'mapping.core_chip' has"),
    (lambda m: m["capacity"].update(bogus=3), "key 'mapping.capacity.bogus' names a resource without usage"),
])
def test_mapping_section_checks_per_core_lengths(report_file, change, message):
    d = copy.deepcopy(json.loads(report_file[0].read_text()))
    change(d["mapping"])
    with pytest.raises(FileFormatError, match=re.escape(message)):
        Report.from_dict(d)
