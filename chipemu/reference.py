"""The host reference runner: a network run step by step with Loihi's exact arithmetic.

Synapses are held as a CSR fan-out table over presynaptic sources (compartments first,
then input sources), each synapse packed into 6 bytes: an int32 ``offset = delay * n +
dst`` into a delay ring buffer and an int16 weight.  Per step::

    a          = ring[t mod L]; ring[t mod L] = 0       # input arriving at step t
    spikes     = bank.step(a, t)                         # chipemu.neurons.bank: lif_step
                                                         # (chipemu.neuron) or the models' kernels
    for every synapse of every source that fired at t (compartments and inputs):
        ring[(t + 1 + delay) mod L, dst] += weight * payload   # vectorised scatter-add

A binary spike has payload 1 (the weight alone is added, as before graded spikes existed);
a graded spike (:mod:`chipemu.neurons`) or a graded input event carries its payload.

with ``L = max_delay + 1`` slots, so a spike at step s over delay d is integrated at
step s + 1 + d.  There is no Python loop over neurons, synapses or spikes.

Plastic projections: after the step's spikes are deposited, the learning engine
(:mod:`chipemu.learning`) updates its traces and, at epoch ends, writes the new weights
into ``weight`` through the index canonical synapse id -> table position.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .bounded import check_steps
from .errors import ChipemuError
from .network import FlatNetwork, Network
from .neurons.bank import NeuronBank
from .results import ReferenceRunInfo, RunOutcome
from .probes import ProbeRecorder
from .spikes import SpikeRaster


def csr_gather(indptr: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Indices of every element of the CSR rows ``rows`` (concatenated, in row order).

    Position k of row j's run maps to ``indptr[rows[j]] + k``; no Python loop.
    """
    starts = indptr[rows]
    counts = indptr[rows + 1] - starts
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    return np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(total, dtype=np.int64)


@dataclass(frozen=True)
class FanoutTable:
    """CSR fan-out of ``n_src`` presynaptic sources over ``n`` compartments.

    ``indptr`` (n_src+1,) int64; ``offset`` (m,) = ``delay * n + dst``; ``weight`` (m,) int16.
    Sources 0..n-1 are compartments, n..n+in_n-1 the input sources.
    """

    n: int
    slots: int
    indptr: np.ndarray
    offset: np.ndarray
    weight: np.ndarray

    @staticmethod
    def storage_order(f: FlatNetwork) -> np.ndarray:
        """``order[p]``: the canonical synapse id (compartment synapses, then input
        synapses, as in :meth:`Network.flat`) stored at table position p."""
        order = FanoutTable._order(f.expanded())
        return np.arange(f.n_synapses, dtype=np.int64) if order is None else order

    @staticmethod
    def _order(f: FlatNetwork) -> np.ndarray | None:
        """:meth:`storage_order` of an expanded ``f``; None when it is the identity (the
        synapses already sorted by source, as files written from a ``Network`` of
        source-ordered connectors are): one comparison pass instead of a sort."""
        key_dtype = np.int32 if f.n + f.in_n < 2**31 else np.int64
        key = np.concatenate([f.src.astype(key_dtype, copy=False),
                              f.in_src.astype(key_dtype, copy=False) + key_dtype(f.n)])
        if key.size < 2 or bool((key[1:] >= key[:-1]).all()):
            return None
        return np.argsort(key, kind="stable")

    @classmethod
    def build(cls, f: FlatNetwork) -> "FanoutTable":
        """The table of ``f`` (shared-weight projections expanded here, transiently).

        Works on any integer dtypes of ``f``'s synapse arrays (int64 from a ``Network``,
        int32/int16/int8 from a flat file): offsets are computed in their own dtype."""
        f = f.expanded()
        n = f.n
        slots = f.max_delay + 1
        off_dtype = np.int32 if 2 * slots * max(n, 1) < 2**31 else np.int64
        order = cls._order(f)
        indptr = np.zeros(n + f.in_n + 1, dtype=np.int64)
        indptr[1:n + 1] = np.bincount(f.src, minlength=n)[:n]
        indptr[n + 1:] = np.bincount(f.in_src, minlength=f.in_n)[:f.in_n]
        np.cumsum(indptr, out=indptr)
        # offset = delay * n + dst in canonical order, then at most one gather each
        m = f.src.size
        offset = np.empty(m + f.in_src.size, dtype=off_dtype)
        for part, delay, dst in ((offset[:m], f.delay, f.dst), (offset[m:], f.in_delay, f.in_dst)):
            np.multiply(delay, off_dtype(n), out=part, dtype=off_dtype)
            part += dst
        weight = np.concatenate([f.weight.astype(np.int16, copy=False), f.in_weight.astype(np.int16, copy=False)])
        if order is not None:
            offset, weight = offset[order], weight[order]
        return cls(n=n, slots=slots, indptr=indptr, offset=offset, weight=weight)

    def synapses_of(self, sources: np.ndarray) -> np.ndarray:
        """Indices into ``offset``/``weight`` of every synapse of ``sources`` (CSR gather)."""
        return csr_gather(self.indptr, sources)

    @property
    def nbytes(self) -> int:
        return self.indptr.nbytes + self.offset.nbytes + self.weight.nbytes


class DelayRing:
    """Synaptic input waiting to be integrated: ``slots`` steps ahead for ``n`` compartments.

    Input for step t lives in row ``t mod slots`` *or* row ``t mod slots + slots`` of a
    ``2 * slots`` x ``n`` int64 buffer: a spike fired at step t over delay d (< slots) is
    written to row ``(t + 1) mod slots + d``, which needs no modulo per synapse, and
    :meth:`take` adds the two rows.  No two in-flight steps share a row pair, because
    delays are shorter than ``slots``.
    """

    def __init__(self, n: int, slots: int):
        self.n, self.slots = n, slots
        self.buf = np.zeros(2 * slots * n, dtype=np.int64)

    def take(self, t: int) -> np.ndarray:
        """The input arriving at step t; its rows are cleared for reuse."""
        lo = (t % self.slots) * self.n
        hi = lo + self.slots * self.n
        a = self.buf[lo:lo + self.n] + self.buf[hi:hi + self.n]
        self.buf[lo:lo + self.n] = 0
        self.buf[hi:hi + self.n] = 0
        return a

    def deposit(self, t: int, offset: np.ndarray, weight: np.ndarray) -> None:
        """Add ``weight`` for spikes fired at step t; ``offset = delay * n + dst``."""
        if offset.size == 0:
            return
        pos = offset + offset.dtype.type(((t + 1) % self.slots) * self.n)
        if offset.size > self.buf.size // 4:  # dense: one pass over the buffer is cheaper
            self.buf += np.bincount(pos, weights=weight, minlength=self.buf.size).astype(np.int64)
        else:
            np.add.at(self.buf, pos, weight.astype(np.int64))

    def pending(self, t: int) -> np.ndarray:
        """(slots, n) input already scheduled: row k arrives at step t + k (t = next step)."""
        rows = self.buf.reshape(2 * self.slots, self.n)
        both = rows[:self.slots] + rows[self.slots:]
        return np.roll(both, -(t % self.slots), axis=0)


def input_schedule(f: FlatNetwork, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """``(ptr, src)``: input sources firing at step t are ``src[ptr[t]:ptr[t+1]]`` (global ids)."""
    ptr, src, _ = input_schedule_graded(f, steps)
    return ptr, src


def input_schedule_graded(f: FlatNetwork, steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """:func:`input_schedule` plus each event's payload (None when the inputs are binary)."""
    keep = f.in_spike_t < steps
    t = f.in_spike_t[keep]
    src = f.in_spike_idx[keep] + f.n
    order = np.argsort(t, kind="stable")
    ptr = np.zeros(steps + 1, dtype=np.int64)
    np.cumsum(np.bincount(t, minlength=steps)[:steps], out=ptr[1:])
    val = None if f.in_spike_val is None else f.in_spike_val[keep][order]
    return ptr, src[order], val


def graded_weights(weight: np.ndarray, indptr: np.ndarray, sources: np.ndarray, payload: np.ndarray) -> np.ndarray:
    """``weight x payload`` for the synapses of ``sources`` gathered by :func:`csr_gather`
    (``weight`` in that order; ``payload[j]`` is source j's payload), int64."""
    counts = indptr[sources + 1] - indptr[sources]
    return weight.astype(np.int64) * np.repeat(payload, counts)


@dataclass(kw_only=True)
class RunResult(RunOutcome):
    """What a host run produced (:class:`~chipemu.results.RunOutcome`: network, spikes,
    steps, wall_s, weights, probes; ``report`` is None) plus optional traces.

    ``n``: compartments.  ``u_trace``/``v_trace`` have shape (steps, len(trace_ids)), the
    state after each step (u and v for LIF; a model's first two state words otherwise, see
    :class:`chipemu.neurons.bank.NeuronBank`).  ``spikes.payload``: the graded payloads
    (None when every spike is binary).  ``synaptic_events``: synapses whose input was
    delivered.  ``learning_updates``: synapses processed by the learning engine
    (``chipemu.learning``).  ``info``: table size and build/loop times
    (:class:`~chipemu.results.ReferenceRunInfo`).
    """

    n: int
    trace_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    u_trace: np.ndarray | None = None
    v_trace: np.ndarray | None = None
    synaptic_events: int = 0
    info: ReferenceRunInfo | None = None
    learning_updates: int = 0


def run(network: Network | FlatNetwork, steps: int | None = None, *, record: np.ndarray | list | None = None,
        progress=None, probes=None) -> RunResult:
    """Run ``network`` on the host for ``steps`` steps (default: the network's ``steps``).

    ``record``: global compartment indices whose u and v are traced every step.
    ``progress``: optional callable ``progress(done_steps, total_steps)``.
    ``probes``: names of populations (a :class:`Network` only) whose u and v are recorded
    every step (:mod:`chipemu.probes`; ``RunResult.probes``).
    Plastic projections (a :class:`Network` only) learn as described in
    :mod:`chipemu.learning`; the learned weights are in ``RunResult.weights``.
    """
    f = network.flat() if isinstance(network, Network) else network
    ids = np.asarray(record if record is not None else [], dtype=np.int64).reshape(-1)
    steps = check_steps(f.steps if steps is None else steps, "steps", 32 + 16 * ids.size)
    if ids.size and (ids.min() < 0 or ids.max() >= f.n):
        raise ChipemuError(f"record: compartment index {int(ids[(ids < 0) | (ids >= f.n)][0])} out of range 0..{f.n - 1}")

    if probes and not isinstance(network, Network):
        raise ChipemuError("probes name populations: run a Network, not its flat arrays")
    recorder = ProbeRecorder(network, probes, steps) if probes else None
    start = time.perf_counter()
    bank = NeuronBank(f)
    table = FanoutTable.build(f)
    ring = DelayRing(f.n, table.slots)
    in_ptr, in_src, in_val = input_schedule_graded(f, steps)
    graded = bank.graded or in_val is not None
    u, v = bank.u, bank.v
    engine = None
    if isinstance(network, Network) and network.is_plastic:
        from .learning import LearningEngine, canonical_position  # only plastic networks load the rules

        engine = LearningEngine.build(network)
        table_pos = canonical_position(FanoutTable.storage_order(f))  # canonical synapse id -> table position
    u_tr = np.zeros((steps, ids.size), dtype=np.int64) if ids.size else None
    v_tr = np.zeros((steps, ids.size), dtype=np.int64) if ids.size else None
    spk_t, spk_n, spk_p = [], [], []
    events = 0
    loop_start = time.perf_counter()
    for t in range(steps):
        a = ring.take(t)
        fired, payload = bank.step(a, t)
        if ids.size:
            u_tr[t] = u[ids]
            v_tr[t] = v[ids]
        if recorder is not None:
            recorder.record(t, u, v)
        if fired.size:
            spk_t.append(np.full(fired.size, t, dtype=np.int64))
            spk_n.append(fired)
        sources = fired if in_ptr[t] == in_ptr[t + 1] else np.concatenate([fired, in_src[in_ptr[t]:in_ptr[t + 1]]])
        syn = table.synapses_of(sources)
        events += syn.size
        if graded:
            payload = np.ones(fired.size, dtype=np.int64) if payload is None else payload
            if fired.size:
                spk_p.append(payload)
            in_pl = (np.ones(in_ptr[t + 1] - in_ptr[t], dtype=np.int64) if in_val is None
                     else in_val[in_ptr[t]:in_ptr[t + 1]])
            ring.deposit(t, table.offset[syn], graded_weights(table.weight[syn], table.indptr, sources,
                                                              np.concatenate([payload, in_pl])))
        else:
            ring.deposit(t, table.offset[syn], table.weight[syn])
        if engine is not None:  # after the step's spikes are sent: traces, epoch rule
            upd = engine.step(t, fired, in_src[in_ptr[t]:in_ptr[t + 1]] - f.n)
            if upd is not None:
                table.weight[table_pos[upd.ids]] = upd.weights
        if progress is not None:
            progress(t + 1, steps)
    wall = time.perf_counter() - start
    raster = SpikeRaster(np.concatenate(spk_t) if spk_t else np.zeros(0, np.int64),
                         np.concatenate(spk_n) if spk_n else np.zeros(0, np.int64),
                         (np.concatenate(spk_p) if spk_p else np.zeros(0, np.int64)) if graded else None)
    return RunResult(network=network, spikes=raster, steps=steps, n=f.n, wall_s=wall, trace_ids=ids, u_trace=u_tr,
                     v_trace=v_tr, synaptic_events=events,
                     info=ReferenceRunInfo(synapse_table_bytes=table.nbytes, synapses=int(table.offset.size),
                                           build_s=loop_start - start, loop_s=wall - (loop_start - start)),
                     weights=engine.weights() if engine is not None else {},
                     learning_updates=engine.updates if engine is not None else 0,
                     probes=recorder.result() if recorder is not None else {})
