"""One sweep point: build the workload, derive the chip, map, emulate, cost -> one result row.

:func:`run_point` is a pure function of the point's parameters (and seed): whichever process,
executor or machine runs it, every column except the wall-time ones
(:data:`WALL_COLUMNS`) comes out identical.  A network that does not fit the chip is a
recorded outcome (``status = "fit_failure"`` and the mapper's one-line reason in ``error``),
not an exception; any other failure is recorded as ``status = "error"``.

The result columns (:func:`result_columns`) are fixed before the sweep runs: identification,
the varied parameters, chip figures, network figures, mapping, NoC traffic, time, energy (one
column per breakdown component), baseline and wall time.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from typing import Any

from ..errors import ChipemuError, FitError

__all__ = ["run_point", "result_columns", "WALL_COLUMNS", "STATUS", "energy_components"]

#: possible values of the ``status`` column
STATUS = ("ok", "fit_failure", "error")

#: columns that depend on the host (timing of the emulator), not only on the point
WALL_COLUMNS = ("time.wall_s", "wall_s", "baseline.ratios.measured_time")

_ID_COLUMNS = ["point_id", "index", "status", "error"]
_SETUP_COLUMNS = ["program", "params", "noc", "chip.base"]
_CHIP_COLUMNS = ["chip.name", "chip.cores", "chip.mesh_columns", "chip.mesh_rows", "chip.cores_per_router",
                 "chip.compartments_per_core", "chip.total_compartments", "chip.energy_profile", "chip.static_w"]
_NETWORK_COLUMNS = ["network.name", "network.neurons", "network.synapses", "network.inputs", "steps",
                    "spikes.total"]
#: numeric keys of ``Mapping.quality`` recorded (missing keys stay empty)
QUALITY_KEYS = ("routers_used", "inter_core_packets_per_spike", "packet_hops_per_spike", "packets",
                "packet_hops", "cut_synapses", "max_link_load")
_MAPPING_COLUMNS = ["mapping.cores_used", "mapping.tiles_used"] + [f"mapping.quality.{k}" for k in QUALITY_KEYS]
_NOC_COLUMNS = ["noc.packets", "noc.hops", "noc.hops_ew", "noc.hops_ns", "noc.max_link_packets", "noc.stalls"]
_TIME_COLUMNS = ["time.chip_s", "time.step_s_mean", "time.step_s_max", "time.compute_s", "time.noc_s",
                 "time.barrier_s"]
_BASELINE_RATIOS = ("energy", "dynamic_energy", "time", "edp", "measured_time")
_BASELINE_COLUMNS = ["baseline.energy_j", "baseline.time_s"] + [f"baseline.ratios.{k}" for k in _BASELINE_RATIOS]
_TAIL_COLUMNS = ["time.wall_s", "wall_s"]


def energy_components() -> tuple[str, ...]:
    """Components of ``energy.breakdown`` (empty while the energy model is absent)."""
    try:
        from ..energy import COMPONENTS
    except ImportError:
        return ()
    return tuple(COMPONENTS)


def result_columns(parameter_columns: list[str]) -> list[str]:
    """The columns of ``results.csv`` for a sweep whose varied parameters are
    ``parameter_columns`` (``workload``, ``mapper``, ``seed``, ``chip.*``, ``param.*``)."""
    energy = ["energy.total_j", "energy.dynamic_j", "energy.static_j", "energy.edp_js"]
    energy += [f"energy.breakdown.{c}" for c in energy_components()]
    cols = (_ID_COLUMNS + list(parameter_columns) + _SETUP_COLUMNS + _CHIP_COLUMNS + _NETWORK_COLUMNS
            + _MAPPING_COLUMNS + _NOC_COLUMNS + _TIME_COLUMNS + energy + _BASELINE_COLUMNS + _TAIL_COLUMNS)
    return list(dict.fromkeys(cols))


# --------------------------------------------------------------------------------------
# network cache: a worker often runs the same workload on many chips

_NETWORKS: OrderedDict[str, Any] = OrderedDict()
_CACHE_SIZE = 4


def _network(point: dict):
    from ..loading import build_program, load_program
    from ..network import Network

    key = json.dumps([point["kind"], point["resolved"], point["params"]], sort_keys=True, default=str)
    net = _NETWORKS.get(key)
    if net is not None:
        _NETWORKS.move_to_end(key)
        return net
    if point["kind"] == "network" and str(point["resolved"]).endswith((".nir", ".net")):
        from ..loading import ImportOptions, load_network_source
        net = load_network_source(point["resolved"], options=ImportOptions(**point["params"])).network
    elif point["kind"] == "network":
        net = Network.load(point["resolved"])
    else:
        net = build_program(load_program(point["resolved"]), dict(point["params"]))
    _NETWORKS[key] = net
    while len(_NETWORKS) > _CACHE_SIZE:
        _NETWORKS.popitem(last=False)
    return net


def _chip(point: dict):
    """The point's chip or system of chips: the base with the point's overrides."""
    from ..chips import load_hardware

    base = load_hardware(point["chip_resolved"])
    spec = base.with_overrides(point["overrides"]) if point["overrides"] else base
    if point.get("static_power", "fixed") == "per-core" and spec.chip.n_cores != base.chip.n_cores:
        # the base chip's static power (possibly overridden) scaled by the core count of one
        # chip (a system's static power is its chips' sum: more chips, more power anyway)
        static = spec.chip.static_w * spec.chip.n_cores / base.chip.n_cores
        spec = base.with_overrides({**point["overrides"], "power.static_w": static})
    return spec


def _get(d: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def run_point(point: dict) -> dict:
    """Run one point (a dict from :meth:`~chipemu.explore.sweep.Sweep.points`) and return
    its result row as a dict ``column -> value`` (None for missing values)."""
    t0 = time.perf_counter()
    row: dict[str, Any] = {
        "point_id": point["id"],
        "index": point["index"],
        "status": "error",
        "error": None,
        "workload": point["workload"],
        "mapper": point["mapper"],
        "seed": point["seed"],
        **point["vary"],
        "program": point["ref"],
        "params": json.dumps(point["params"], sort_keys=True, separators=(",", ":")),
        "noc": point["noc"],
        "chip.base": point["chip"],
    }
    try:
        spec = _chip(point)
        row.update({
            "chip.name": spec.name,
            "chip.cores": spec.n_cores,
            "chip.mesh_columns": spec.mesh.columns,
            "chip.mesh_rows": spec.mesh.rows,
            "chip.cores_per_router": spec.mesh.cores_per_router,
            "chip.compartments_per_core": spec.core.compartments,
            "chip.total_compartments": spec.total_compartments,
            "chip.energy_profile": spec.energy_profile,
            "chip.static_w": spec.static_w,
        })
        net = _network(point)
        f = net.flat()
        row.update({
            "network.name": net.name,
            "network.neurons": f.n,
            "network.synapses": f.n_synapses,
            "network.inputs": f.in_n,
        })
        from ..pipeline import run_network

        run = run_network(net, spec, point["mapper"], steps=point["steps"], seed=point["seed"],
                          noc=point["noc"], network_source=point["ref"])
        _fill(row, run.report)
        row["status"] = "ok"
    except FitError as e:
        row["status"] = "fit_failure"
        row["error"] = _one_line(e)
    except ChipemuError as e:
        row["error"] = _one_line(e)
    except Exception as e:  # a bug or an environment problem: record it, keep sweeping
        row["error"] = _one_line(f"{type(e).__name__}: {e}")
    row["wall_s"] = time.perf_counter() - t0
    return row


def _fill(row: dict, r: dict) -> None:
    row["steps"] = r.get("steps")
    row["spikes.total"] = _get(r, "spikes", "total")
    row["mapping.cores_used"] = _get(r, "mapping", "cores_used")
    row["mapping.tiles_used"] = _get(r, "mapping", "tiles_used")
    for k in QUALITY_KEYS:
        row[f"mapping.quality.{k}"] = _get(r, "mapping", "quality", k)
    for c in _NOC_COLUMNS:
        row[c] = _get(r, "noc", c.split(".", 1)[1])
    for c in _TIME_COLUMNS + ["time.wall_s"]:
        row[c] = _get(r, "time", c.split(".", 1)[1])
    e = r.get("energy")
    if isinstance(e, dict):
        for k in ("total_j", "dynamic_j", "static_j", "edp_js"):
            row[f"energy.{k}"] = e.get(k)
        for comp, v in (e.get("breakdown") or {}).items():
            row[f"energy.breakdown.{comp}"] = v
    b = r.get("baseline")
    if isinstance(b, dict):
        row["baseline.energy_j"] = b.get("energy_j")
        row["baseline.time_s"] = b.get("time_s")
        for k in _BASELINE_RATIOS:
            row[f"baseline.ratios.{k}"] = _get(b, "ratios", k)
