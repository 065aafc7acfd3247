"""The von Neumann baseline: hand arithmetic, memory-level choice, host files, ratios."""

import copy
import tomllib
from importlib import resources

import pytest

from chipemu.baseline import Workload, baseline_report, modelled_baseline, workload_of
from chipemu.energy import energy_report
from chipemu.errors import ChipSpecError
from chipemu.hosts import HostSpecError, host_from_dict, list_hosts, load_host

from test_energy import tiny_run

PRESET = tomllib.loads(resources.files("chipemu.hosts").joinpath("cpu-45nm.toml").read_text())


def easy_host(**changes) -> dict:
    """A host with round numbers: l1 1/2 pJ per byte read/write, l2 10, llc 100, dram 1000."""
    d = copy.deepcopy(PRESET)
    d["cpu"] = {"clock_hz": 1e9, "ipc": 1.0, "instruction_overhead_j": 0.5e-12, "static_w": 1.0,
                "include_static": True}
    d["ops"] = {"int_add_j": 1e-12, "int_mult_j": 10e-12, "int_shift_j": 2e-12, "int_compare_j": 3e-12}
    d["l1"] = {"capacity_bytes": 280, "read_64b_j": 8e-12, "write_64b_j": 16e-12, "bandwidth_bytes_per_s": 1e12}
    d["l2"] = {"capacity_bytes": 984, "read_64b_j": 80e-12, "write_64b_j": 80e-12, "bandwidth_bytes_per_s": 1e11}
    d["llc"] = {"capacity_bytes": 10_000, "read_64b_j": 800e-12, "write_64b_j": 800e-12,
                "bandwidth_bytes_per_s": 1e10}
    d["dram"] = {"capacity_bytes": 10**9, "read_64b_j": 8000e-12, "write_64b_j": 8000e-12,
                 "bandwidth_bytes_per_s": 1e9}
    d["layout"] = {"synapse_bytes": 6, "row_pointer_bytes": 8, "state_bytes": 8, "param_bytes": 12,
                   "accumulator_bytes": 4, "weight_bytes": 2, "trace_bytes": 1}
    for path, v in changes.items():
        sec, key = path.split(".")
        d[sec][key] = v
    return d


# n = 10 compartments, 2 inputs, 100 synapses, delays up to 1 (2 ring slots), 3 steps:
#   state = 10 * (8 + 12) + 2 * 10 * 4 = 280 B; synapse table = 100 * 6 + (10 + 2 + 1) * 8 = 704 B
WORK = Workload(n=10, inputs=2, synapses=100, slots=2, synaptic_events=[5, 0, 3], firing_sources=[1, 0, 1])


def test_hand_example_energy_and_time():
    b = modelled_baseline(WORK, host_from_dict(easy_host()))
    a = b["assumptions"]
    assert (a["state_bytes"], a["synapse_table_bytes"]) == (280, 704)
    assert (a["state_level"], a["synapse_level"]) == ("l1", "l2")   # 280 <= 280; 984 <= 984
    pj = 1e-12
    # per update: 2 mult * 10 + 9 add * 1 + 5 shift * 2 + 5 compare * 3 = 54 pJ; 30 updates
    assert b["breakdown"]["neuron_arith"] == pytest.approx(30 * 54 * pj, rel=1e-12)
    # per update: read 24 B * 1 pJ/B + write 12 B * 2 pJ/B = 48 pJ (state in L1)
    assert b["breakdown"]["neuron_memory"] == pytest.approx(30 * 48 * pj, rel=1e-12)
    # 8 events * 6 B + 2 firing sources * 16 B, at 10 pJ/B (synapses in L2)
    assert b["breakdown"]["synapse_fetch"] == pytest.approx((8 * 60 + 2 * 160) * pj, rel=1e-12)
    # 8 events * (4 B read * 1 + 4 B write * 2 + 2 adds + 1 compare) + 2 rows * 1 add
    assert b["breakdown"]["synapse_accumulate"] == pytest.approx((8 * (12 + 5) + 2) * pj, rel=1e-12)
    # instructions: update 21 ops + 10 loads/stores, event 3 + 4, row 1 + 2
    instr = [10 * 31 + 5 * 7 + 1 * 3, 10 * 31, 10 * 31 + 3 * 7 + 1 * 3]
    assert b["counts"]["instructions"] == sum(instr) == 992
    assert b["breakdown"]["instructions"] == pytest.approx(992 * 0.5 * pj, rel=1e-12)
    assert b["dynamic_j"] == pytest.approx(4494 * pj, rel=1e-12)
    # compute bound at 1 instruction per ns (memory: < 1 ns per step)
    assert b["time_s"] == pytest.approx(992e-9, rel=1e-12)
    assert b["time"]["per_step_s"] == pytest.approx([i * 1e-9 for i in instr], rel=1e-12)
    assert b["static_j"] == pytest.approx(1.0 * 992e-9, rel=1e-12)
    assert b["energy_j"] == sum(b["breakdown"].values())
    assert b["energy_j"] == b["dynamic_j"] + b["static_j"]
    assert b["edp_js"] == pytest.approx(b["energy_j"] * b["time_s"], rel=1e-15)


def test_learning_updates_by_hand():
    """4 weight updates in step 0 on the hand example's host (synapses in L2, state in L1)."""
    work = Workload(n=10, inputs=2, synapses=100, slots=2, synaptic_events=[5, 0, 3], firing_sources=[1, 0, 1],
                    learning_updates=[4, 0, 0])
    plain = modelled_baseline(WORK, host_from_dict(easy_host()))
    b = modelled_baseline(work, host_from_dict(easy_host()))
    pj = 1e-12
    # per update: 2 mult * 10 + 4 add * 1 + 2 shift * 2 + 2 compare * 3 = 34 pJ of arithmetic;
    # weight 2 B read + 2 B written in L2 (10 pJ/B each way) = 40 pJ; 2 trace bytes read in L1 = 2 pJ
    assert b["breakdown"]["learning"] == pytest.approx(4 * (34 + 40 + 2) * pj, rel=1e-12)
    assert plain["breakdown"]["learning"] == 0.0
    # 10 ops + 4 loads/stores per update
    assert b["counts"]["instructions"] - plain["counts"]["instructions"] == 4 * 14
    assert b["counts"]["learning_updates"] == 4
    assert b["energy_j"] == sum(b["breakdown"].values())


def test_memory_bound_steps_use_bandwidth():
    host = host_from_dict(easy_host(**{"l1.bandwidth_bytes_per_s": 1e8, "l2.bandwidth_bytes_per_s": 1e8}))
    b = modelled_baseline(WORK, host)
    # bytes per step: state 10 * 36 + 8 per event; synapses 6 per event + 16 per firing source
    want = [(360 + 40 + 30 + 16) / 1e8, 360 / 1e8, (360 + 24 + 18 + 16) / 1e8]
    assert b["time"]["per_step_s"] == pytest.approx(want, rel=1e-12)
    assert b["counts"]["steps_memory_bound"] == 3


def test_static_can_be_excluded():
    b = modelled_baseline(WORK, host_from_dict(easy_host(**{"cpu.include_static": False})))
    assert b["static_j"] == 0.0 and b["energy_j"] == b["dynamic_j"]
    assert b["assumptions"]["static_included"] is False


@pytest.mark.parametrize("l1, l2, state_level, syn_level", [
    (280, 984, "l1", "l2"),      # both exactly at capacity: fits
    (279, 984, "l2", "l2"),      # state one byte too big for L1
    (280, 983, "l1", "llc"),     # state + synapse table one byte too big for L2
    (100, 200, "llc", "llc"),
])
def test_memory_level_at_the_boundaries(l1, l2, state_level, syn_level):
    host = host_from_dict(easy_host(**{"l1.capacity_bytes": l1, "l2.capacity_bytes": l2}))
    a = modelled_baseline(WORK, host)["assumptions"]
    assert (a["state_level"], a["synapse_level"]) == (state_level, syn_level)
    assert "fits in" in a["state_level_reason"]


def test_level_energy_follows_the_chosen_level():
    lo = modelled_baseline(WORK, host_from_dict(easy_host()))
    hi = modelled_baseline(WORK, host_from_dict(easy_host(**{"l2.capacity_bytes": 983})))
    # synapses now in the LLC: 100 pJ/B instead of 10 pJ/B
    assert hi["breakdown"]["synapse_fetch"] == pytest.approx(10 * lo["breakdown"]["synapse_fetch"], rel=1e-12)
    assert hi["breakdown"]["neuron_memory"] == lo["breakdown"]["neuron_memory"]


def test_larger_than_every_level_is_dram():
    host = host_from_dict(easy_host(**{"dram.capacity_bytes": 10_001}))
    big = Workload(n=1000, inputs=0, synapses=0, slots=1, synaptic_events=[0], firing_sources=[0])
    a = modelled_baseline(big, host)["assumptions"]  # state = 1000 * 24 B > 10,001 B
    assert a["state_level"] == "dram" and "exceeds every level" in a["state_level_reason"]


def test_preset_host_loads_with_cited_values():
    assert "cpu-45nm" in list_hosts()
    h = load_host("cpu-45nm")
    assert [lv.name for lv in h.levels] == ["l1", "l2", "llc", "dram"]
    assert h.level("l1").read_64b_j == 20e-12 and h.level("l2").read_64b_j == 100e-12   # Horowitz
    assert h.level("dram").read_64b_j == 1.3e-9 and h.ops["int_mult_j"] == 3.1e-12
    assert len(h.sha256) == 64


def _write(tmp_path, text):
    p = tmp_path / "host.toml"
    p.write_text(text)
    return p


@pytest.mark.parametrize("edit, fragment", [
    (lambda t: t.replace("ipc = 2.0", "ipc = 2.0\nturbo = true"), "unknown key 'cpu.turbo'"),
    (lambda t: t.replace("int_mult_j = 3.1e-12", ""), "missing key 'ops.int_mult_j'"),
    (lambda t: t.replace("clock_hz = 3.0e9", "clock_hz = -1"), "'cpu.clock_hz' = -1 is out of range"),
    (lambda t: t.replace("synapse_bytes = 6", 'synapse_bytes = "six"'), "'layout.synapse_bytes'"),
    (lambda t: t.replace("include_static = true", "include_static = 1"), "'cpu.include_static'"),
    (lambda t: t.replace("capacity_bytes = 1048576", "capacity_bytes = 1024"), "'l2.capacity_bytes'"),
    (lambda t: t.replace('name = "cpu-45nm"', 'nme = "x"'), "unknown key 'nme'"),
    (lambda t: t + "\n[[oops", "malformed TOML"),
])
def test_bad_host_files_name_file_and_key(tmp_path, edit, fragment):
    text = resources.files("chipemu.hosts").joinpath("cpu-45nm.toml").read_text()
    p = _write(tmp_path, edit(text))
    with pytest.raises(HostSpecError) as exc:
        load_host(p)
    msg = str(exc.value)
    assert fragment in msg and str(p) in msg and "\n" not in msg
    assert isinstance(exc.value, ChipSpecError)


def test_unknown_preset_and_missing_file(tmp_path):
    with pytest.raises(HostSpecError, match="not a preset"):
        load_host("cpu-3nm")
    with pytest.raises(HostSpecError, match="no such file"):
        load_host(tmp_path / "none.toml")


def test_baseline_report_on_a_run_ratios_and_measurement():
    run = tiny_run()
    e = energy_report(run)
    b = baseline_report(run, e)
    w = workload_of(run)
    assert w.steps == 4 and int(w.synaptic_events.sum()) == 2 and int(w.firing_sources.sum()) == 3
    assert b["counts"]["neuron_updates"] == 3 * 4
    r = b["ratios"]
    assert r["energy"] == pytest.approx(b["energy_j"] / e["total_j"], rel=1e-15)
    assert r["dynamic_energy"] == pytest.approx(b["dynamic_j"] / e["dynamic_j"], rel=1e-15)
    assert r["time"] == pytest.approx(b["time_s"] / run.chip_time_s, rel=1e-15)
    assert r["edp"] == pytest.approx(b["edp_js"] / (e["total_j"] * run.chip_time_s), rel=1e-12)
    assert "baseline / chip" in b["ratios_direction"]
    m = b["measured"]
    assert m["wall_s"] > 0 and m["spikes_match_chip"] and m["synaptic_events"] == 2
    assert "not an energy" in m["note"] and "energy_j" not in m
    assert b["host"]["name"] == "cpu-45nm"
    assert baseline_report(run, e, measure=False)["measured"] is None
