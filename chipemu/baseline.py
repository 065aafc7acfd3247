"""The von Neumann baseline: the same network, the same steps, on a CPU.

Two forms, reported side by side and never mixed up:

* **modelled** -- an analytic CPU (a host TOML, default :file:`chipemu/hosts/cpu-45nm.toml`,
  Horowitz ISSCC 2014 energies) running the obvious time-driven simulator loop: every
  compartment is updated every step, and every synaptic event fetches its synapse from
  memory and accumulates its weight.  Gives energy (dynamic and total) and time.
* **measured** -- :func:`chipemu.reference.run` timed on this machine: a wall time, not an
  energy.

The modelled program, per step t (n compartments; ``S_t`` synaptic events; ``R_t`` firing
sources = compartment spikes + input spikes)::

    for every compartment i:                         # n per step
        read u, v, params, a = ring[t mod L][i]; ring[t mod L][i] = 0
        LIF update (docs/neuron.md), write u, v
    for every firing source s:                       # R_t per step
        read row pointers ptr[s], ptr[s+1]
        for every synapse (offset, w) of s:          # S_t per step
            pos = offset + slot(t+1); if pos >= size: pos -= size
            ring[pos] += w
    for every synaptic weight update (learning):     # U_t per step, the chip's count
        read w, pre trace, post trace; dw = A+ x1 y0 - A- y1 x0; round, clip; write w

Operation counts (:data:`NEURON_OPS`, :data:`SYNAPSE_OPS`, :data:`ROW_OPS`), from
the equations of docs/neuron.md::

    u' = trunc0(u * u_keep / 4096) + (a << 6)   1 mult; trunc0 = 2 shifts + and + add; 1 shift + 1 add
    u wrap (24-bit)                             2 compares + 1 add
    v  = trunc0(v * v_keep / 4096) + u + bias   1 mult; trunc0 = 2 shifts + and + add; 2 adds
    clip to +-(2**23 - 1)                       2 compares
    spike = v > vth << 6 ; v = 0 where spike    1 compare + 1 select (add-class)
    --> per compartment update: 2 mults, 9 adds (incl. and/select), 5 shifts, 5 compares
    per synaptic event: 2 adds (address, accumulate), 1 compare (ring wrap)
    per firing source:  1 add (row length)
    per weight update:  2 mults, 4 adds, 2 shifts (rounding), 2 compares (clip)

Memory traffic, with the layout of the host's ``[layout]`` section (bytes)::

    per compartment update: read  state + params + accumulator   (state level)
                            write state + accumulator             (state level)
    per synaptic event:     read  synapse                         (synapse level)
                            read + write accumulator              (state level)
    per firing source:      read  2 row pointers                  (synapse level)
    per weight update:      read + write weight                   (synapse level)
                            read pre and post trace               (state level)

Where data lives (the memory level logic): the *neuron state* -- u, v, parameters and
the delay ring, ``n * (state + params) + L * n * accumulator`` bytes -- is touched every
step, so it is placed first: the smallest level whose capacity holds it.  The *synapse
table* -- ``synapses * synapse_bytes + (n + inputs + 1) * row_pointer_bytes`` -- competes
with the state for the same caches, so it lives in the smallest level that holds state +
synapse table together.  "Holds" is ``bytes <= capacity`` (the whole capacity is usable:
optimistic); if nothing holds it, DRAM.  Energy per access is the level's 64-bit read or
write energy, pro rata per byte (``E_64b / 8`` per byte: fields packed in words).

Energy (J)::

    E_arith   = sum over op kinds of count * ops.<kind>_j
    E_mem     = sum over levels of read_bytes * read_64b_j / 8 + write_bytes * write_64b_j / 8
    E_instr   = instructions * cpu.instruction_overhead_j
    E_dynamic = E_arith + E_mem + E_instr
    E_static  = cpu.static_w * T          (0 when cpu.include_static is false)
    E_total   = E_dynamic + E_static

Time (s), a per-step roofline (compute and memory overlap perfectly)::

    instructions_t = arithmetic ops_t + loads_t + stores_t
    T_compute,t = instructions_t / (cpu.ipc * cpu.clock_hz)
    T_memory,t  = sum over levels of bytes_t,level / level.bandwidth_bytes_per_s
    T = sum over steps of max(T_compute,t, T_memory,t)

Ratios are baseline / chip, so a value > 1 means the chip is better (uses less energy,
takes less time, has the smaller energy-delay product).
"""

from __future__ import annotations

import platform

import numpy as np

from .core import C
from .hosts import HostSpec, load_host

__all__ = ["baseline_report", "modelled_baseline", "measured_baseline", "workload_of", "Workload",
           "NEURON_OPS", "SYNAPSE_OPS", "ROW_OPS", "LEARNING_OPS", "NEURON_ACCESSES", "SYNAPSE_ACCESSES",
           "ROW_ACCESSES", "LEARNING_ACCESSES"]

#: arithmetic per compartment update (see the module docstring)
NEURON_OPS = {"mult": 2, "add": 9, "shift": 5, "compare": 5}
#: arithmetic per synaptic event: ring address + accumulate, ring wrap test
SYNAPSE_OPS = {"mult": 0, "add": 2, "shift": 0, "compare": 1}
#: arithmetic per firing source: the row length
ROW_OPS = {"mult": 0, "add": 1, "shift": 0, "compare": 0}
#: arithmetic per synaptic weight update (pair STDP: two trace products, sum, round, clip)
LEARNING_OPS = {"mult": 2, "add": 4, "shift": 2, "compare": 2}
#: load / store instructions: compartment update (u, v, 4 params, accumulator; u, v, clear)
NEURON_ACCESSES = {"loads": 7, "stores": 3}
#: synaptic event (offset, weight, accumulator; accumulator)
SYNAPSE_ACCESSES = {"loads": 3, "stores": 1}
#: firing source (two row pointers)
ROW_ACCESSES = {"loads": 2, "stores": 0}
#: weight update (weight, pre trace, post trace; weight)
LEARNING_ACCESSES = {"loads": 3, "stores": 1}

_OP_KEY = {"mult": "int_mult_j", "add": "int_add_j", "shift": "int_shift_j", "compare": "int_compare_j"}

#: breakdown components of the modelled baseline, in order (``static`` last)
COMPONENTS = ("neuron_arith", "neuron_memory", "synapse_fetch", "synapse_accumulate", "learning", "instructions",
              "static")


class Workload:
    """What the modelled CPU must do: sizes and per-step event counts.

    ``n`` compartments, ``inputs`` input sources, ``synapses`` (recurrent + input),
    ``slots`` delay-ring slots (max delay + 1), ``steps``; per-step arrays
    ``synaptic_events``, ``firing_sources`` and ``learning_updates`` (length ``steps``;
    learning updates default to none).
    """

    def __init__(self, n: int, inputs: int, synapses: int, slots: int, synaptic_events, firing_sources,
                 learning_updates=None):
        self.n, self.inputs, self.synapses, self.slots = int(n), int(inputs), int(synapses), int(slots)
        self.synaptic_events = np.asarray(synaptic_events, dtype=np.int64).reshape(-1)
        self.firing_sources = np.asarray(firing_sources, dtype=np.int64).reshape(-1)
        self.learning_updates = (np.zeros_like(self.synaptic_events) if learning_updates is None
                                 else np.asarray(learning_updates, dtype=np.int64).reshape(-1))
        if not (self.synaptic_events.shape == self.firing_sources.shape == self.learning_updates.shape):
            raise ValueError("synaptic_events, firing_sources and learning_updates must have one entry per step")

    @property
    def steps(self) -> int:
        return int(self.synaptic_events.size)


def workload_of(run) -> Workload:
    """The workload of a :class:`~chipemu.chip.ChipRun`: same network, same steps.

    Synaptic events per step are the chip's ``synaptic_ops`` (a mapping-independent count:
    one per synapse of a firing source); firing sources are compartment spikes plus input
    spikes; weight updates are the chip's ``learning_updates`` (also mapping-independent).
    """
    f = run.network.flat()
    sc = np.asarray(run.step_counts).reshape(-1, len(C))
    syn = sc[:, C["synaptic_ops"]]
    rows = sc[:, C["spikes"]] + sc[:, C["input_spikes"]]
    learn = sc[:, C["learning_updates"]]
    return Workload(n=f.n, inputs=f.in_n, synapses=f.n_synapses, slots=f.max_delay + 1,
                    synaptic_events=syn, firing_sources=rows, learning_updates=learn)


def _ops_energy(host: HostSpec, counts: dict, multiplier: float) -> float:
    return float(sum(counts[k] * host.ops[_OP_KEY[k]] for k in counts) * multiplier)


def modelled_baseline(work: Workload, host: HostSpec | str = "cpu-45nm") -> dict:
    """Energy and time of the modelled CPU for ``work`` (equations: module docstring)."""
    host = load_host(host) if not isinstance(host, HostSpec) else host
    lay, cpu = host.layout, host.cpu
    n, steps = work.n, work.steps
    state_bytes = n * (lay["state_bytes"] + lay["param_bytes"]) + work.slots * n * lay["accumulator_bytes"]
    table_bytes = work.synapses * lay["synapse_bytes"] + (n + work.inputs + 1) * lay["row_pointer_bytes"]
    state_lv = host.fitting_level(state_bytes)
    syn_lv = host.fitting_level(state_bytes + table_bytes)

    updates = n * steps
    events = int(work.synaptic_events.sum())
    rows = int(work.firing_sources.sum())
    learns = int(work.learning_updates.sum())

    # bytes moved, by structure
    nb_read = lay["state_bytes"] + lay["param_bytes"] + lay["accumulator_bytes"]   # per update
    nb_write = lay["state_bytes"] + lay["accumulator_bytes"]
    acc_rw = lay["accumulator_bytes"]                                             # per event, each way
    syn_read = lay["synapse_bytes"]                                               # per event
    row_read = 2 * lay["row_pointer_bytes"]                                       # per firing source
    weight_rw = lay["weight_bytes"]                                               # per weight update, each way
    traces_read = 2 * lay["trace_bytes"]                                          # per weight update

    e_neuron_arith = _ops_energy(host, NEURON_OPS, updates)
    e_neuron_mem = updates * (nb_read * state_lv.read_j_per_byte + nb_write * state_lv.write_j_per_byte)
    e_syn_fetch = (events * syn_read + rows * row_read) * syn_lv.read_j_per_byte
    e_syn_acc = (events * acc_rw * (state_lv.read_j_per_byte + state_lv.write_j_per_byte)
                 + _ops_energy(host, SYNAPSE_OPS, events) + _ops_energy(host, ROW_OPS, rows))
    e_learning = (_ops_energy(host, LEARNING_OPS, learns)
                  + learns * weight_rw * (syn_lv.read_j_per_byte + syn_lv.write_j_per_byte)
                  + learns * traces_read * state_lv.read_j_per_byte)

    def per(d):
        return sum(d.values())

    instr_update = per(NEURON_OPS) + per(NEURON_ACCESSES)
    instr_event = per(SYNAPSE_OPS) + per(SYNAPSE_ACCESSES)
    instr_row = per(ROW_OPS) + per(ROW_ACCESSES)
    instr_learn = per(LEARNING_OPS) + per(LEARNING_ACCESSES)
    instructions_t = (n * instr_update + work.synaptic_events * instr_event + work.firing_sources * instr_row
                      + work.learning_updates * instr_learn)
    instructions = int(instructions_t.sum()) if steps else 0
    e_instr = instructions * cpu["instruction_overhead_j"]

    # per-step roofline
    compute_t = instructions_t / (cpu["ipc"] * cpu["clock_hz"])
    state_bytes_t = n * (nb_read + nb_write) + work.synaptic_events * 2 * acc_rw + work.learning_updates * traces_read
    syn_bytes_t = (work.synaptic_events * syn_read + work.firing_sources * row_read
                   + work.learning_updates * 2 * weight_rw)
    if state_lv.name == syn_lv.name:
        memory_t = (state_bytes_t + syn_bytes_t) / state_lv.bandwidth_bytes_per_s
    else:
        memory_t = state_bytes_t / state_lv.bandwidth_bytes_per_s + syn_bytes_t / syn_lv.bandwidth_bytes_per_s
    step_t = np.maximum(compute_t, memory_t)
    time_s = float(step_t.sum()) if steps else 0.0

    breakdown = {
        "neuron_arith": float(e_neuron_arith),
        "neuron_memory": float(e_neuron_mem),
        "synapse_fetch": float(e_syn_fetch),
        "synapse_accumulate": float(e_syn_acc),
        "learning": float(e_learning),
        "instructions": float(e_instr),
    }
    dynamic_j = 0.0
    for v in breakdown.values():
        dynamic_j += v
    static_j = float(cpu["static_w"] * time_s) if cpu["include_static"] else 0.0
    breakdown["static"] = static_j
    energy_j = 0.0
    for v in breakdown.values():
        energy_j += v

    def why(what: str, nbytes: int, lv) -> str:
        caps = ", ".join(f"{x.name.upper()} {x.capacity_bytes:,} B" for x in host.levels)
        if nbytes <= lv.capacity_bytes:
            return (f"{what} = {nbytes:,} B fits in {lv.name.upper()} ({lv.capacity_bytes:,} B), the smallest "
                    f"level that holds it (levels: {caps})")
        return f"{what} = {nbytes:,} B exceeds every level ({caps}): charged as {lv.name.upper()}"

    return {
        "energy_j": energy_j,
        "dynamic_j": dynamic_j,
        "static_j": static_j,
        "time_s": time_s,
        "edp_js": energy_j * time_s,
        "breakdown": breakdown,
        "counts": {
            "neuron_updates": updates,
            "synaptic_events": events,
            "firing_sources": rows,
            "learning_updates": learns,
            "instructions": instructions,
            "steps_memory_bound": int(np.count_nonzero(memory_t > compute_t)) if steps else 0,
        },
        "time": {
            "compute_s": float(compute_t.sum()) if steps else 0.0,
            "memory_s": float(memory_t.sum()) if steps else 0.0,
            "per_step_s": [float(x) for x in step_t],
        },
        "assumptions": {
            "state_bytes": int(state_bytes),
            "synapse_table_bytes": int(table_bytes),
            "state_level": state_lv.name,
            "synapse_level": syn_lv.name,
            "state_level_reason": why("neuron state (u, v, parameters, delay ring)", state_bytes, state_lv),
            "synapse_level_reason": why("neuron state + synapse table", state_bytes + table_bytes, syn_lv),
            "energy_per_byte_j": {"state_read": state_lv.read_j_per_byte, "synapse_read": syn_lv.read_j_per_byte},
            "ops_per_neuron_update": dict(NEURON_OPS),
            "ops_per_synaptic_event": dict(SYNAPSE_OPS),
            "ops_per_weight_update": dict(LEARNING_OPS),
            "clock_hz": cpu["clock_hz"],
            "ipc": cpu["ipc"],
            "static_w": cpu["static_w"],
            "static_included": bool(cpu["include_static"]),
            "instruction_overhead_j": cpu["instruction_overhead_j"],
            "time_model": "per-step roofline: max(instructions / (ipc * clock), bytes / level bandwidth)",
            "left_out": "instruction fetch/decode overhead unless cpu.instruction_overhead_j > 0; cache misses "
                        "within a level; DRAM background power; OS and Python overheads",
        },
    }


def measured_baseline(run, reference=None) -> dict:
    """Time :func:`chipemu.reference.run` on this machine for the run's network and steps.

    A measured *time* on this host (Python + numpy), never an energy.  ``reference``: a
    zero-argument callable returning that runner's result (its
    :class:`~chipemu.reference.RunResult`) when it is run elsewhere -- ``chipemu run`` has
    its helper process run it beside the chip emulation (:mod:`chipemu.sidecar`); None:
    run here.
    """
    if reference is None:
        from .reference import run as reference_run

        res = reference_run(run.network, run.steps)
    else:
        res = reference()
    return {
        "wall_s": float(res.wall_s),
        "loop_s": float(res.info.loop_s if res.info is not None else res.wall_s),
        "synaptic_events": int(res.synaptic_events),
        "spikes": len(res.spikes),
        "spikes_match_chip": bool(res.spikes == run.spikes),
        "runner": "chipemu.reference.run (numpy, vectorised, single thread)",
        "machine": f"{platform.machine()} {platform.processor() or platform.system()}".strip(),
        "python": platform.python_version(),
        "note": "measured wall time of the host reference runner on this machine; not an energy",
    }


def _ratio(a: float, b: float) -> float | None:
    return float(a / b) if b and b > 0 else None


def baseline_report(run, energy: dict | None = None, *, host: HostSpec | str = "cpu-45nm",
                    measure: bool = True, reference=None) -> dict:
    """The baseline section of report.json for a :class:`~chipemu.chip.ChipRun`.

    ``energy``: the chip's :func:`chipemu.energy.energy_report` (computed when None).
    ``measure``: also time the host reference runner (cheap; set False to skip);
    ``reference``: where its result comes from (:func:`measured_baseline`).

    Keys: ``energy_j``, ``dynamic_j``, ``static_j``, ``time_s``, ``edp_js``,
    ``breakdown``, ``counts``, ``time``, ``assumptions`` (modelled CPU); ``host``
    {name, source, sha256, description}; ``measured`` (or None); ``ratios`` {energy,
    dynamic_energy, time, edp, measured_time}, each baseline / chip (> 1: the chip is
    better), with the direction spelled out in ``ratios_direction``; ``chip_edp_js``.
    """
    if energy is None:
        from .energy import energy_report
        energy = energy_report(run)
    host = load_host(host) if not isinstance(host, HostSpec) else host
    out = modelled_baseline(workload_of(run), host)
    out["host"] = {"name": host.name, "description": host.description, "source": host.source,
                   "path": host.path, "sha256": host.sha256}
    out["measured"] = measured_baseline(run, reference) if measure else None
    chip_e, chip_dyn = float(energy["total_j"]), float(energy["dynamic_j"])
    chip_t = float(run.chip_time_s)
    chip_edp = chip_e * chip_t
    out["chip_edp_js"] = chip_edp
    out["ratios"] = {
        "energy": _ratio(out["energy_j"], chip_e),
        "dynamic_energy": _ratio(out["dynamic_j"], chip_dyn),
        "time": _ratio(out["time_s"], chip_t),
        "edp": _ratio(out["edp_js"], chip_edp),
        "measured_time": _ratio(out["measured"]["wall_s"], chip_t) if out["measured"] else None,
    }
    out["ratios_direction"] = ("baseline / chip: a value > 1 means the chip uses less energy, takes less "
                               "time or has the smaller energy-delay product (None when the chip figure is 0)")
    from .bounded import check_finite
    check_finite(out, f"baseline on host {host.name}", hint="; a figure of the host or the chip is too extreme")
    return out
