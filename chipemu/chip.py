"""The chip runner: emulated cores + mesh NoC + barrier, one timestep at a time.

Each timestep is bulk-synchronous, as on Loihi:

1. **compute** -- every core runs its pipeline (:meth:`chipemu.core.CoreArray.step`):
   deliver, update (the shared LIF kernel), emit.  Core c is busy for ::

       T_c = n_active * t_neuron_active + n_inactive * t_neuron_inactive
           + n_spikes * t_spike_generation + n_synaptic_ops * t_synapse_op
           + n_learning_updates * t_learning_update
           + n_graded_synaptic_ops * t_graded_synapse_op + n_payload_bytes_out * t_payload_byte

   where the synaptic ops of dense and conv lists take ``t_synapse_op_dense`` /
   ``t_synapse_op_conv`` (chip spec ``time.synapse_op_dense``/``_conv``, default
   ``t_synapse_op``) instead of ``t_synapse_op``;

   seconds (per-op times from the chip spec); the phase lasts ``max_c T_c``.
2. **NoC** -- the packets emitted this step, aggregated into one message train per
   (source core, destination core), cross the mesh and, on a system of chips, the
   chip-to-chip links (:mod:`chipemu.noc`, SimPy or analytic); the phase lasts until the last packet is delivered (``drain_s``;
   injection at ``t_message_out`` and receipt at ``t_message_in`` per packet are part
   of the NoC model).
3. **barrier** -- Loihi's two-phase mesh barrier, ``chip.barrier_time(tiles)`` with
   ``tiles`` the routers that host at least one used core; when the cores span several
   chips of a system, the system-wide barrier for that many chips
   (:meth:`chipemu.chips.SystemSpec.barrier_time_s`).

``step time = compute + NoC drain + barrier``.  The spikes never depend on the mapping:
the cores run the same kernel and synapse arithmetic as :mod:`chipemu.reference`; the
mapping only changes the counters, the traffic and the time.

For speed the runner advances the cores' dynamics step by step
(:meth:`CoreArray.advance`) but evaluates the counters, the message trains and the phase
times for blocks of up to 1024 steps (and about 4M input-axon reads) at once
(:meth:`CoreArray.counts`); the analytic NoC
keeps no state between steps and carries a whole block in one call
(:meth:`AnalyticNoc.run_steps`), the SimPy NoC one step at a time.  Every number is the
same as with one step at a time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from mapper.mapping import Mapping

from .bounded import check_steps
from .core import COUNTERS, C, CoreArray
from .errors import ChipemuError
from .hardware import Hardware
from .learning import LearningEngine
from .network import Network
from .probes import ProbeRecorder
from .reference import input_schedule_graded
from .results import ChipRunInfo, RunOutcome
from .spikes import SpikeRaster

#: steps x K cells of the per-core counters of one block of steps (see emulate)
_BLOCK_CELLS = 1 << 20
_MAX_BLOCK_STEPS = 1024
#: input-axon reads (an upper bound of the message trains) of one block of steps: a block
#: ends early when its steps reach it (its trains and their NoC evaluation are held at once)
_BLOCK_AXONS = 1 << 22
#: memory one timestep of a run holds until the report is written: the per-step counters and
#: phase times, the input schedule, and their copies as report.json lists (an estimate)
_BYTES_PER_STEP = 1024


@dataclass(kw_only=True)
class ChipRun(RunOutcome):
    """Everything one emulation produced; the input of the energy model and the report.

    Besides :class:`~chipemu.results.RunOutcome` (network, spikes, steps, wall_s,
    weights, probes, report -- attached by :func:`chipemu.pipeline.run_network`):
    ``mapping``: where the network sits (:class:`mapper.Mapping`).
    ``core_counts`` (K, len(COUNTERS)): operation totals per core over the run.
    ``step_counts`` (steps, len(COUNTERS)): chip-wide totals per step.
    ``step_time`` (steps, 3): seconds of compute, NoC drain and barrier per step.
    ``noc``: cumulative NoC counters (packets, hops, hops_ew, hops_ns, hops_interchip,
    interchip_packets, stalls, queue_delay_s, max_latency_s); ``link_packets`` (n_links,)
    packets per link (link ids of :mod:`chipemu.hardware`).  ``tiles`` / ``chips_used``:
    routers / chips hosting a used core.
    ``info``: core memory and per-core packets (:class:`~chipemu.results.ChipRunInfo`).
    ``weights``: learned weights of the plastic projections, {projection name: int16
    array in the projection's synapse order} (empty without plasticity).
    ``probes``: ``{"POP/u": (steps, n) int32, "POP/v": ...}`` of the probed populations
    (:mod:`chipemu.probes`), identical to the reference runner's.
    """

    mapping: Mapping
    noc_model: str
    core_counts: np.ndarray
    step_counts: np.ndarray
    step_time: np.ndarray
    noc: dict
    link_packets: np.ndarray
    tiles: int
    chips_used: int = 1
    info: ChipRunInfo | None = None

    @property
    def counters(self) -> dict[str, int]:
        """Chip-wide operation totals by counter name."""
        return {name: int(self.core_counts[:, i].sum()) for i, name in enumerate(COUNTERS)}

    @property
    def chip_time_s(self) -> float:
        return float(self.step_time.sum())


def emulate(network: Network, mapping, steps: int | None = None, *, noc: str = "simpy",
            progress=None, probes=None) -> ChipRun:
    """Emulate ``network`` placed by ``mapping`` on its chip for ``steps`` timesteps.

    ``probes``: names of populations whose u and v are recorded every step
    (``ChipRun.probes``, :mod:`chipemu.probes`).
    """
    from .noc import make_noc

    f = network.flat()
    steps = check_steps(f.steps if steps is None else steps, "steps", _BYTES_PER_STEP)
    chip = mapping.chip
    if mapping.neuron_core.shape != (f.n,) or mapping.input_core.shape != (f.in_n,):
        raise ChipemuError(f"mapping does not match network '{network.name}': it places "
                           f"{mapping.neuron_core.size} compartments and {mapping.input_core.size} inputs, "
                           f"the network has {f.n} and {f.in_n}")
    if f.n == 0:
        raise ChipemuError(f"network '{network.name}' has no compartments: nothing to emulate")
    start = time.perf_counter()
    K = mapping.n_cores
    engine = LearningEngine.build(network)
    cores = CoreArray(f, mapping.neuron_core, mapping.neuron_slot, mapping.input_core, K, learning=engine,
                      syn_codes=synapse_codes(network, getattr(mapping, "encoding", None)))
    recorder = ProbeRecorder(network, probes, steps, position=cores.position) if probes else None
    # placement -> global router ids (chipemu.hardware); core_chip is 0 on a single chip
    core_chip = getattr(mapping, "core_chip", None)
    core_chip = np.zeros(K, dtype=np.int64) if core_chip is None else np.asarray(core_chip, dtype=np.int64)
    core_router = Hardware.of(chip).core_router(core_chip, mapping.core_xy)
    noc_model = make_noc(noc, chip, core_router)
    tiles = int(np.unique(core_router).size)
    chips_used = int(np.unique(core_chip).size)
    barrier_s = chip.barrier_time_s(tiles, chips_used)
    tm = chip.time
    op_time = np.zeros(len(COUNTERS))
    op_time[C["neuron_active"]] = tm.neuron_active
    op_time[C["neuron_inactive"]] = tm.neuron_inactive
    op_time[C["spikes"]] = tm.spike_generation
    op_time[C["synaptic_ops"]] = tm.synapse_op
    op_time[C["learning_updates"]] = tm.learning_update
    op_time[C["graded_synaptic_ops"]] = tm.graded_synapse_op
    op_time[C["payload_bytes_out"]] = tm.payload_byte
    # dense / conv synaptic ops are also counted in synaptic_ops (charged the sparse time):
    # these entries add the difference
    op_time[C["synaptic_ops_dense"]] = tm.synapse_op_of("dense") - tm.synapse_op
    op_time[C["synaptic_ops_conv"]] = tm.synapse_op_of("conv") - tm.synapse_op

    in_ptr, in_src, in_val = input_schedule_graded(f, steps)
    in_src = in_src - f.n  # input ids
    core_counts = np.zeros((K, len(COUNTERS)), dtype=np.int64)
    step_counts = np.zeros((steps, len(COUNTERS)), dtype=np.int64)
    step_time = np.zeros((steps, 3))
    step_time[:, 2] = barrier_s
    spk_n, spk_p = [], []  # compartments that fired, per step, and their payloads (graded networks)
    # The cores run step by step (the dynamics); their counters and message trains are
    # evaluated for blocks of steps at once (CoreArray.counts), and so is the analytic
    # NoC, which keeps no state between steps (run_steps: identical to one step() per
    # step).  A block holds at most _BLOCK_CELLS steps x K counter rows and ends early
    # once its input-axon reads (the trains are at most as many) reach _BLOCK_AXONS:
    # memory grows with events and cores, not core pairs, and is bounded per block.
    block = max(1, min(_MAX_BLOCK_STEPS, _BLOCK_CELLS // K))
    t0 = 0
    for t in range(steps):
        fired = cores.advance(t, in_src[in_ptr[t]:in_ptr[t + 1]],
                              None if in_val is None else in_val[in_ptr[t]:in_ptr[t + 1]])
        spk_n.append(fired)
        if recorder is not None:
            recorder.record(t, cores.u, cores.v)
        if cores.graded:
            spk_p.append(cores.last_payload)
        if t + 1 - t0 == block or t + 1 == steps or cores.logged_axons >= _BLOCK_AXONS:
            _finish_block(cores.counts(), t0, noc_model, op_time, core_counts, step_counts, step_time)
            t0 = t + 1
        if progress is not None:
            progress(t + 1, steps)
    wall = time.perf_counter() - start
    spike_steps = np.repeat(np.arange(steps, dtype=np.int64), [a.size for a in spk_n])
    spikes = SpikeRaster(spike_steps, np.concatenate(spk_n) if spk_n else np.zeros(0, np.int64),
                         (np.concatenate(spk_p) if spk_p else np.zeros(0, np.int64)) if cores.graded else None)
    tot = noc_model.totals
    noc_summary = {k: (float(getattr(tot, k)) if isinstance(getattr(tot, k), float) else int(getattr(tot, k)))
                   for k in ("packets", "hops", "hops_ew", "hops_ns", "hops_interchip", "interchip_packets", "stalls",
                             "queue_delay_s", "max_latency_s")}
    return ChipRun(network=network, mapping=mapping, spikes=spikes, steps=steps, noc_model=noc_model.name,
                   core_counts=core_counts, step_counts=step_counts, step_time=step_time, noc=noc_summary,
                   link_packets=np.asarray(noc_model.link_packets).copy(), wall_s=wall, tiles=tiles,
                   chips_used=chips_used,
                   info=ChipRunInfo(core_memory_bytes=cores.nbytes,
                                     core_packets_out=np.asarray(noc_model.core_packets_out).copy(),
                                     core_packets_in=np.asarray(noc_model.core_packets_in).copy()),
                   weights=engine.weights() if engine is not None else {},
                   probes=recorder.result() if recorder is not None else {})


#: synapse encoding codes (mapper.encoding)
_ENCODING_CODES = {"sparse": 0, "dense": 1, "conv": 2}


def synapse_codes(network: Network, encoding: dict | None) -> np.ndarray:
    """Encoding code of every synapse of ``network`` in canonical order, from the
    mapping's ``encoding["projections"]`` ({projection: sparse|dense|conv}); projections it
    does not name: conv if shared-weight, else sparse."""
    by_name = (encoding or {}).get("projections") or {}
    f = network.flat()
    codes = {"rec": np.zeros(f.m, np.int8), "in": np.zeros(f.m_in, np.int8)}
    pos = {"rec": 0, "in": 0}
    for p in network.projections:
        kind = "in" if p.pre_is_input else "rec"
        enc = by_name.get(p.name, "conv" if hasattr(p, "kernel") else "sparse")
        if enc not in _ENCODING_CODES:
            raise ChipemuError(f"mapping: projection {p.name!r} has encoding {enc!r} "
                               f"(allowed: {', '.join(_ENCODING_CODES)})")
        n = len(p)
        codes[kind][pos[kind]:pos[kind] + n] = _ENCODING_CODES[enc]
        pos[kind] += n
    return np.concatenate([codes["rec"], codes["in"]])


def _finish_block(b, t0: int, noc_model, op_time: np.ndarray, core_counts: np.ndarray,
                  step_counts: np.ndarray, step_time: np.ndarray) -> None:
    """Fold the counters of steps ``t0 ..`` (a :class:`chipemu.core.BlockCounts`) into the
    run's totals and carry their trains over the NoC: all at once if the model has
    ``run_steps`` (the analytic one), else one :meth:`step` per step."""
    n = b.per_core.shape[0]
    core_counts += b.per_core.sum(axis=0)
    step_counts[t0:t0 + n] = b.per_core.sum(axis=1)
    for i in range(n):  # compute phase: the busiest core (per-op times from the chip spec)
        step_time[t0 + i, 0] = float((b.per_core[i] @ op_time).max()) if b.per_core.shape[1] else 0.0
    if hasattr(noc_model, "run_steps"):
        res = noc_model.run_steps(b.train_step, b.train_src, b.train_dst, b.train_count, n_steps=n)
        step_time[t0:t0 + n, 1] = res["drain_s"]
    else:
        bounds = np.searchsorted(b.train_step, np.arange(n + 1)).tolist()
        for i in range(n):
            lo, hi = bounds[i], bounds[i + 1]
            res = noc_model.step(b.train_src[lo:hi], b.train_dst[lo:hi], b.train_count[lo:hi])
            step_time[t0 + i, 1] = res.drain_s
