"""The chip energy model: counted operations x per-operation energies + static power.

Every figure comes from the chip spec (``chip.energy``, ``chip.noc``, ``chip.static_w``,
each constant with its source in the chip TOML); the counts come from the emulation
(:class:`chipemu.chip.ChipRun`).  No constant lives in this module.

Equations (all energies in joules, times in seconds; ``N_x`` is a chip-wide count over the
whole run, ``E_x`` the chip's energy per event ``x``)::

    E_synaptic_ops    = sum over encodings e of N_e * E_synapse_op_e  (one synapse receiving one
                                                                   spike; e = sparse, dense, conv:
                                                                   the list format of the synapse,
                                                                   mapper.encoding; chip
                                                                   energy.synapse_op[_dense|_conv])
    E_neuron_active   = N_neuron_active   * E_neuron_active       (compartment update with input,
                                                                   non-zero u or v, or a bias)
    E_neuron_inactive = N_neuron_inactive * E_neuron_inactive     (every other compartment update)
    E_spike_generation= N_spikes          * E_spike_generation    (compartment spikes)
    E_messages_out    = N_packets_out     * E_message_out         (one packet per spike per
                                                                   destination core != own core)
    E_messages_in     = N_packets_in      * E_message_in          (per packet received)
    E_hops_ew         = H_ew * noc.hop_energy_ew_j                (H_ew: east-west link traversals)
    E_hops_ns         = H_ns * noc.hop_energy_ns_j                (H_ns: north-south link traversals)
    E_hops_interchip  = H_chip * link.hop_energy_j                (H_chip: chip-to-chip link crossings
                                                                   on a system of chips; 0 on one chip)
    E_barrier         = 0                                         (no published barrier energy)
    E_learning        = N_learning_updates * E_learning_update    (chipemu.learning's weight updates)
    E_graded_synaptic_ops = N_graded_synaptic_ops * E_graded_synapse_op   (extra for a synaptic op
                                                                   whose spike carried a payload)
    E_payload         = N_payload_bytes_out * E_payload_byte      (payload bytes on packets sent
                                                                   to other cores; chipemu.neurons)
    E_dynamic         = sum of the thirteen terms above
    E_static          = P_static * T_chip                         (P_static = chip.static_w, whole chip;
                                                                   on a system: every chip's static power;
                                                                   T_chip = sum over steps of
                                                                   compute + NoC + barrier time)
    E_total           = E_dynamic + E_static

``breakdown`` holds these fourteen components and ``total_j`` is computed as the sum of
``breakdown``'s values in order, so ``sum(breakdown.values()) == total_j`` holds exactly
(also after a JSON round trip: floats are written with repr precision).

Per core, ``per_core_j[c]`` is the core-local dynamic energy: the counter terms
(synaptic ops, neuron updates, spike generation, messages out and in, learning) evaluated
on core c's own counts.  Hops (router and link energy) and static power are not core-local
and are left out, so ``sum(per_core_j) + E_hops_ew + E_hops_ns + E_hops_interchip == dynamic_j`` (up to
rounding).  See ``docs/energy.md``.
"""

from __future__ import annotations

import numpy as np

from .bounded import check_finite
from .core import COUNTERS
from .errors import ChipemuError

__all__ = ["energy_report", "COMPONENTS", "DYNAMIC_COMPONENTS"]

#: breakdown component -> (counter name in run.counters or run.noc, energy field)
#: the energy field is an attribute of chip.energy, or "noc.<attr>" for chip.noc
_TERMS = (
    ("synaptic_ops", "synaptic_ops", "synapse_op"),
    ("neuron_active", "neuron_active", "neuron_active"),
    ("neuron_inactive", "neuron_inactive", "neuron_inactive"),
    ("spike_generation", "spikes", "spike_generation"),
    ("messages_out", "packets_out", "message_out"),
    ("messages_in", "packets_in", "message_in"),
    ("hops_ew", "hops_ew", "noc.hop_energy_ew_j"),
    ("hops_ns", "hops_ns", "noc.hop_energy_ns_j"),
    ("hops_interchip", "hops_interchip", "link.hop_energy_j"),
    ("barrier", None, None),
    ("learning", "learning_updates", "learning_update"),
    ("graded_synaptic_ops", "graded_synaptic_ops", "graded_synapse_op"),
    ("payload", "payload_bytes_out", "payload_byte"),
)
#: dynamic components of ``breakdown``, in order
DYNAMIC_COMPONENTS = tuple(t[0] for t in _TERMS)
#: every component of ``breakdown``, in order (``static`` last)
COMPONENTS = DYNAMIC_COMPONENTS + ("static",)

#: components that are charged per core (counter terms); the rest belong to the NoC or chip
_CORE_LOCAL = ("synaptic_ops", "neuron_active", "neuron_inactive", "spike_generation", "messages_out",
               "messages_in", "learning", "graded_synaptic_ops", "payload")

NOTES = {
    "barrier": "no barrier energy is published (D18 gives only its time; SANA-FE charges none): 0 J",
    "learning": "charged per synaptic weight update (counter 'learning_updates'; 0 without plastic projections)",
    "static": "chip static power x emulated chip time (compute + NoC + barrier, summed over steps)",
    "per_core_j": "core-local dynamic energy: counter terms only; hops and static power are not per core",
    "graded": "graded spikes: an extra charge per synaptic op whose spike carried a payload and per payload "
              "byte on packets to other cores (0 for binary networks and chips without these figures)",
}


def _unit_cost(chip, field: str | None) -> float:
    if field is None:
        return 0.0
    if field.startswith("noc."):
        return float(getattr(chip.noc, field[4:]))
    if field.startswith("link."):  # chip-to-chip links: only a system of chips has them
        link = getattr(chip, "link", None)
        return float(getattr(link, field[5:])) if link is not None else 0.0
    return float(getattr(chip.energy, field))


def _count(run, counters: dict, name: str | None) -> int:
    if name is None:
        return 0
    if name in ("hops_ew", "hops_ns", "hops_interchip"):
        return int(run.noc.get(name, 0))
    return int(counters.get(name, 0))


def energy_report(run) -> dict:
    """Energy of a :class:`~chipemu.chip.ChipRun` on its chip (see the module docstring).

    Returns a JSON-able dict:

    ``total_j``, ``dynamic_j``, ``static_j`` (J); ``breakdown`` {component: J} summing
    exactly to ``total_j``; ``ops`` {component: count}; ``unit_j`` {component: J per
    event}; ``per_core_j`` (list, J, core-local dynamic energy); ``profile`` and
    ``source`` (the chip's ``energy_profile`` and ``energy_source``); ``static_w``;
    ``chip_time_s``; ``edp_js`` (energy-delay product, total_j * chip_time_s, J s);
    ``per_step_mean_j`` (total / steps, None without steps);
    ``energy_per_synaptic_op_j`` and ``dynamic_per_synaptic_op_j`` (None without
    synaptic ops); ``synaptic_ops_by_encoding`` {sparse|dense|conv: {ops, unit_j,
    energy_j}} (``unit_j["synaptic_ops"]`` is their mean); ``notes`` (what is left out
    and why).
    """
    chip = run.mapping.chip
    counters = run.counters
    breakdown: dict[str, float] = {}
    ops: dict[str, int] = {}
    unit: dict[str, float] = {}
    for comp, counter, field in _TERMS:
        n = _count(run, counters, counter)
        e = _unit_cost(chip, field)
        ops[comp] = n
        unit[comp] = e
        breakdown[comp] = float(n * e)
    by_encoding = _synaptic_ops_by_encoding(chip, counters)
    breakdown["synaptic_ops"] = float(sum(v["energy_j"] for v in by_encoding.values()))
    if ops["synaptic_ops"]:
        unit["synaptic_ops"] = breakdown["synaptic_ops"] / ops["synaptic_ops"]  # mean over encodings
    chip_time_s = float(run.chip_time_s)
    dynamic_j = 0.0
    for comp in DYNAMIC_COMPONENTS:
        dynamic_j += breakdown[comp]
    static_j = float(chip.static_w * chip_time_s)
    breakdown["static"] = static_j
    unit["static"] = float(chip.static_w)
    total_j = 0.0
    for v in breakdown.values():  # dynamic components then static: total == dynamic_j + static_j
        total_j += v

    # per-core: counter terms on each core's own counts
    cost = np.zeros(len(COUNTERS))
    field_of = {counter: field for comp, counter, field in _TERMS if comp in _CORE_LOCAL}
    for i, name in enumerate(COUNTERS):
        if name in field_of:
            cost[i] = _unit_cost(chip, field_of[name])
    for enc in ("dense", "conv"):  # their ops are in synaptic_ops too: add the difference
        cost[COUNTERS.index(f"synaptic_ops_{enc}")] = chip.energy.synapse_op_of(enc) - chip.energy.synapse_op
    core_counts = np.asarray(run.core_counts, dtype=np.float64)
    per_core = (core_counts @ cost) if core_counts.size else np.zeros(0)

    syn = ops["synaptic_ops"]
    steps = int(run.steps)
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused below, not warned
        report = _report(total_j, dynamic_j, static_j, breakdown, ops, unit, per_core, chip, chip_time_s, steps, syn)
    report["synaptic_ops_by_encoding"] = by_encoding
    check_finite(report, f"energy model of chip {chip.name}", ChipemuError,
                 "; a per-event energy, time or static power of the chip is too large")
    return report


def _report(total_j, dynamic_j, static_j, breakdown, ops, unit, per_core, chip, chip_time_s, steps, syn) -> dict:
    return {
        "total_j": total_j,
        "dynamic_j": dynamic_j,
        "static_j": static_j,
        "breakdown": breakdown,
        "ops": ops,
        "unit_j": unit,
        "per_core_j": [float(x) for x in per_core],
        "profile": chip.energy_profile,
        "source": chip.energy_source,
        "static_w": float(chip.static_w),
        "chip_time_s": chip_time_s,
        "edp_js": total_j * chip_time_s,
        "per_step_mean_j": total_j / steps if steps else None,
        "energy_per_synaptic_op_j": total_j / syn if syn > 0 else None,
        "dynamic_per_synaptic_op_j": dynamic_j / syn if syn > 0 else None,
        "notes": dict(NOTES),
    }


def _synaptic_ops_by_encoding(chip, counters: dict) -> dict:
    """{encoding: {"ops", "unit_j", "energy_j"}} of the synaptic ops (sparse = the rest)."""
    total = int(counters.get("synaptic_ops", 0))
    n = {"dense": int(counters.get("synaptic_ops_dense", 0)), "conv": int(counters.get("synaptic_ops_conv", 0))}
    n = {"sparse": total - n["dense"] - n["conv"], **n}
    return {e: {"ops": k, "unit_j": float(chip.energy.synapse_op_of(e)),
                "energy_j": float(k * chip.energy.synapse_op_of(e))} for e, k in n.items()}
