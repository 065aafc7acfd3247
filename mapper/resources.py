"""What a set of compartments costs on one core, and the checks that say "does not fit".

Resources of one core (all counts are integers; ``usage[name]`` is a (K,) array over the
K logical cores of a mapping, ``capacity[name]`` the per-core limit):

``compartments``
    compartments placed on the core (limit: ``core.compartments``, or ``max_per_core``).
``synapses``
    synapses onto the core's compartments, duplicates counted (informational);
    ``synapses_sparse``, ``synapses_dense``, ``synapses_conv`` split them by encoding.
``kernel_bits``
    bits of the conv kernel rows the core stores (part of ``synapse_bits``).
``synapse_bits``
    synaptic memory, in bits, with the encodings below (limit ``core.synapse_memory_bits``).
``fanin_axons``
    distinct presynaptic sources -- compartments on *any* core, the core itself included,
    and input sources -- with at least one synapse onto the core (``core.fanin_axons``).
``fanout_axons``
    distinct destination cores, the core itself included, of the compartments on the core
    and of the input sources it injects (``core.fanout_axons``).
``max_delay``
    the largest synaptic delay onto the core, in timesteps (-1 if it receives none);
    limit ``min(core.max_delay, 2**core.delay_bits - 1)``.
``state_words``
    compartment state words on the core: each compartment holds its neuron model's state
    words (:mod:`chipemu.neurons`: CUBA LIF 2 -- u and v --, sigma_delta 4, sigma 1, ...).
    Limit ``core.compartments * 2``: a core's state memory is sized for its compartments
    as CUBA LIF (project assumption; Loihi 2's neuron memory is shared by the programmed
    models, and Intel publishes no per-model capacity).  The partitioners pack at most
    ``core.compartments * 2 // w`` compartments per core, ``w`` the largest state words of
    any model in the network, so an all-LIF network packs exactly as before.

Synaptic memory encodings (project choices modelled on Loihi's synapse formats; which
projection uses which: :mod:`mapper.encoding`)::

    synapse_bits(core) = sparse_synapses * (weight_bits + delay_bits + index_bits)
                       + dense_synapses  * (weight_bits + delay_bits)
                       + kernel_entries  * weight_bits
                       + fanin_axons * AXON_HEADER_BITS

* ``kernel_entries``: for every conv projection, ``in_c / groups * kh * kw`` per output
  channel with a compartment on the core (the kernel is stored once per core, not per
  synapse); conv synapses cost nothing else (weight from the kernel, delay from the
  projection, target from the source's position);
* a dense list (a projection connecting every source to every target) stores no target
  index: its targets on the core are consecutive slots, whose first one is in the header;

* every synapse stores its weight (``core.weight_bits``), its delay (``core.delay_bits``:
  the field is always present, whatever the delays; a chip whose synapses carry no delay
  sets ``delay_bits = 0``) and the index of its target compartment within the core,
  ``index_bits = ceil(log2(core.compartments))`` (10 bits on Loihi 1);
* every fan-in axon owns one synapse list with a ``AXON_HEADER_BITS`` = 16-bit header
  (list length and format; the axon-to-list pointer table is not charged, as it is a
  separate memory on Loihi).

On ``loihi1`` a sparse synapse costs 8 + 6 + 10 = 24 bits, so a 1 Mbit core holds at most
~43 k of them (~41 k with 4096 fan-in axons); a dense one 14 bits.  The partitioners see
each compartment's share (:meth:`ResourceModel.compartment_bits`: its synapses plus its
channel's kernel row spread over the channel); ``core_usage`` charges the exact kernel rows.
Run-length lists, which Loihi also has, are not modelled.

Weights are even integers in [-256, 254] (chipemu's 8-bit mixed-sign weights); a core
storing ``b`` weight bits represents the multiples of ``2**(9 - b)`` in
``[-256, 256 - 2**(9 - b)]``.  Any other weight is a :class:`~chipemu.errors.FitError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from chipemu.arrays import distinct
from chipemu.chips import ChipSpec
from chipemu.errors import ChipemuError, FitError
from chipemu.neuron import WEIGHT_BITS, WEIGHT_RANGE

from . import kernel as _kernel
from .encoding import ENCODINGS, kernel_entries
from .graph import MapGraph

#: bits of the header of one fan-in axon's synapse list (project choice, see module docstring)
AXON_HEADER_BITS = 16

#: state words of a CUBA LIF compartment (u, v): a core's state memory holds this many per compartment
LIF_STATE_WORDS = 2

#: resources with a per-core capacity, in the order of messages and tables
LIMITED = ("compartments", "synapse_bits", "fanin_axons", "fanout_axons", "max_delay", "state_words")
#: every key of ``usage``
RESOURCES = ("compartments", "synapses", "synapse_bits", "fanin_axons", "fanout_axons", "max_delay", "state_words",
             "synapses_sparse", "synapses_dense", "synapses_conv", "kernel_bits")

_WORDS = {
    "compartments": "compartments",
    "synapse_bits": "synaptic memory bits",
    "fanin_axons": "fan-in axons",
    "fanout_axons": "fan-out axons",
    "max_delay": "synaptic delay (steps)",
    "state_words": "compartment state words",
}
_REMEDY = {
    "compartments": "lower the load per core (max_per_core) or use a chip with more compartments per core",
    "synapse_bits": "lower max_per_core, use fewer synapses or weight/delay bits, or a chip with more synaptic memory",
    "fanin_axons": "lower max_per_core, merge presynaptic sources, or use a chip with more fan-in axon slots",
    "fanout_axons": "group each source's targets on fewer cores (mapper 'traffic' tries to), lower the fan-out of "
                    "its sources, or use a chip with more fan-out axons",
    "max_delay": "shorten the delays or use a chip with a larger core.max_delay",
    "state_words": "lower max_per_core or use neuron models with fewer state words",
}


def state_words(flat) -> np.ndarray:
    """State words of every compartment of a flat network (n,), by neuron model."""
    from chipemu.neurons import MODEL_NAMES, MODELS
    n = int(flat.du.size)
    model = getattr(flat, "model", None)
    if model is None:
        return np.full(n, LIF_STATE_WORDS, dtype=np.int64)
    table = np.array([MODELS[name].state_words for name in MODEL_NAMES], dtype=np.int64)
    return table[np.asarray(model, dtype=np.int64)]


def index_bits(compartments: int) -> int:
    """Bits to address one of ``compartments`` compartments of a core (0 for one)."""
    return max(0, math.ceil(math.log2(compartments))) if compartments > 1 else 0


def weight_step(weight_bits: int) -> int:
    """Spacing of the weights a core with ``weight_bits`` stored bits represents."""
    return 2 ** (WEIGHT_BITS - weight_bits)


def representable(weight: np.ndarray, weight_bits: int) -> np.ndarray:
    """Which weights a core with ``weight_bits`` stored bits (incl. sign) represents exactly."""
    step = weight_step(weight_bits)
    lo = WEIGHT_RANGE[0]
    return (weight % step == 0) & (weight >= lo) & (weight <= -lo - step)


def bits_needed(weight: int) -> int:
    """Fewest stored weight bits (1..WEIGHT_BITS) that represent ``weight``."""
    for b in range(1, WEIGHT_BITS + 1):
        if representable(np.array([weight]), b)[0]:
            return b
    return WEIGHT_BITS + 1  # outside -256..255: no width represents it


@dataclass(frozen=True)
class ResourceModel:
    """The per-core limits of a chip and the synaptic-memory encoding.

    Attributes (all per core):
        chip: the chip.
        compartments: compartment capacity (``core.compartments`` or ``max_per_core``).
        memory_bits: synaptic memory (bits).
        bits_per_synapse: bits one sparse synapse costs (weight + delay + index); not to be
            confused with the per-core resource ``synapse_bits`` (memory used, bits).
        header_bits: bits one fan-in axon costs (synapse-list header).
        fanin: fan-in axon slots; fanout: fan-out axons (destination cores).
        max_delay: largest delay the core stores (steps).
        max_per_core: the user's cap, or None.
    """

    chip: ChipSpec
    compartments: int
    memory_bits: int
    bits_per_synapse: int
    header_bits: int
    fanin: int
    fanout: int
    max_delay: int
    max_per_core: int | None = None
    state_words: int = 0

    @classmethod
    def for_chip(cls, chip: ChipSpec, max_per_core: int | None = None) -> "ResourceModel":
        c = chip.core
        cap = c.compartments
        if max_per_core is not None:
            if isinstance(max_per_core, bool) or not isinstance(max_per_core, (int, np.integer)) \
                    or not 1 <= max_per_core <= c.compartments:
                raise ChipemuError(
                    f"max_per_core = {max_per_core!r} out of range (allowed: int 1..{c.compartments}, "
                    f"the compartments per core of chip '{chip.name}')")
            cap = int(max_per_core)
        return cls(chip=chip, compartments=cap, memory_bits=c.synapse_memory_bits,
                   bits_per_synapse=c.weight_bits + c.delay_bits + index_bits(c.compartments),
                   header_bits=AXON_HEADER_BITS, fanin=c.fanin_axons, fanout=c.fanout_axons,
                   max_delay=min(c.max_delay, 2 ** c.delay_bits - 1),
                   max_per_core=None if max_per_core is None else int(max_per_core),
                   state_words=c.compartments * LIF_STATE_WORDS)

    def for_graph(self, graph: MapGraph) -> "ResourceModel":
        """This model with the compartment capacity the network's neuron models allow:
        at most ``state_words // w`` compartments per core, ``w`` the largest state words
        of a compartment of ``graph`` (unchanged for CUBA LIF, w = 2)."""
        import dataclasses
        words = state_words(graph.flat)
        w = int(words.max()) if words.size else LIF_STATE_WORDS
        if w <= LIF_STATE_WORDS:
            return self
        return dataclasses.replace(self, compartments=min(self.compartments, max(1, self.state_words // w)))

    @property
    def weight_bits(self) -> int:
        return self.chip.core.weight_bits

    def capacity(self) -> dict[str, int]:
        """Per-core limit of each resource in :data:`LIMITED`."""
        return {"compartments": self.compartments, "synapse_bits": self.memory_bits,
                "fanin_axons": self.fanin, "fanout_axons": self.fanout, "max_delay": self.max_delay,
                "state_words": self.state_words}

    @property
    def dense_bits(self) -> int:
        """Bits of one dense-list synapse (weight + delay, no index)."""
        return self.chip.core.weight_bits + self.chip.core.delay_bits

    def encoding_bits(self) -> np.ndarray:
        """Bits per synapse of each encoding (sparse, dense, conv), mapper.encoding order."""
        return np.array([self.bits_per_synapse, self.dense_bits, 0], dtype=np.int64)

    def compartment_bits(self, graph: MapGraph) -> np.ndarray:
        """(n,) synaptic-memory bits charged to each compartment while partitioning: its
        synapses by encoding plus its share of its conv channels' kernel rows."""
        return graph.insyn_enc @ self.encoding_bits() + graph.kernel_share * self.weight_bits

    def memory(self, synapse_bits, fanin):
        """Synaptic memory (bits) of ``synapse_bits`` bits of synapses over ``fanin`` axons."""
        return np.asarray(synapse_bits, dtype=np.int64) + np.asarray(fanin, dtype=np.int64) * self.header_bits

    def encoding(self, graph: MapGraph | None = None, usage: dict | None = None) -> dict:
        """The encodings in numbers, as written to mapping.json; with the graph and the
        usage also which encoding each projection and each core uses."""
        c = self.chip.core
        out: dict = {"format": "sparse", "weight_bits": c.weight_bits, "delay_bits": c.delay_bits,
                     "index_bits": index_bits(c.compartments), "bits_per_synapse": self.bits_per_synapse,
                     "axon_header_bits": self.header_bits,
                     "bits_per_synapse_by_encoding": dict(zip(ENCODINGS, self.encoding_bits().tolist())),
                     "kernel_bits_per_entry": c.weight_bits}
        if graph is not None:
            out["projections"] = {p.name: p.encoding for p in graph.projections}
            used = {p.encoding for p in graph.projections}
            out["format"] = "+".join(e for e in ENCODINGS if e in used) if graph.projections else "sparse"
        if usage is not None:
            out["cores"] = core_encodings(usage)
        return out

    def chip_words(self) -> str:
        m = self.chip.mesh
        if getattr(self.chip, "is_system", False):
            g = self.chip.grid
            return (f"system '{self.chip.name}' ({g.chips_x}x{g.chips_y}x{g.chips_z} chips of "
                    f"{m.columns}x{m.rows} mesh x {m.cores_per_router} cores)")
        return (f"chip '{self.chip.name}' ({m.columns}x{m.rows} mesh x {m.cores_per_router} cores)")


# ------------------------------------------------------------------------------ counting
def distinct_pair_counts(a: np.ndarray, b: np.ndarray, na: int, nb: int) -> np.ndarray:
    """For each ``i < na``, how many distinct ``b`` values are paired with ``a == i``.

    Dense bit table when ``na * nb`` is small, otherwise a sort of packed keys.
    """
    if a.size == 0:
        return np.zeros(na, dtype=np.int64)
    a = a.astype(np.int64, copy=False)
    if na * nb <= 60_000_000:
        seen = np.zeros(na * nb, dtype=bool)
        seen[a * nb + b] = True
        return seen.reshape(na, nb).sum(axis=1).astype(np.int64)
    keys = distinct(a * nb + b)
    return np.bincount(keys // nb, minlength=na).astype(np.int64)


def source_cores(neuron_core: np.ndarray, input_core: np.ndarray) -> np.ndarray:
    """Core of every source id: compartments' cores then the inputs' injecting cores."""
    return np.concatenate([np.asarray(neuron_core, np.int64), np.asarray(input_core, np.int64)])


def core_usage(graph: MapGraph, model: ResourceModel, neuron_core: np.ndarray,
               input_core: np.ndarray, n_cores: int) -> dict[str, np.ndarray]:
    """Usage of every resource (see :data:`RESOURCES`) on each of ``n_cores`` cores, (K,) int64."""
    K = int(n_cores)
    nc = np.asarray(neuron_core, dtype=np.int64)
    comp = np.bincount(nc, minlength=K).astype(np.int64)
    syn = np.bincount(nc, weights=graph.insyn, minlength=K).astype(np.int64) if graph.n else np.zeros(K, np.int64)
    by_enc = np.stack([np.bincount(nc, weights=graph.insyn_enc[:, e], minlength=K).astype(np.int64)
                       if graph.n else np.zeros(K, np.int64) for e in range(len(ENCODINGS))], axis=1)
    kernel = kernel_entries(nc, graph.projections, K) * model.weight_bits
    # pins are listed by target (in_*) and by source (out_*): a row's core is repeated over
    # its run of pins, not gathered pin by pin
    score = source_cores(nc, input_core)
    if _kernel.in_use() and not (score[np.diff(graph.out_ptr) > 0] < 0).any():  # the same counts, compiled
        fanin = _kernel.row_distinct_counts(nc, graph.in_ptr, graph.in_src, None, graph.n_src, K)
        fanout = _kernel.row_distinct_counts(score, graph.out_ptr, graph.out_dst, nc, K, K)
    else:
        fanin = distinct_pair_counts(np.repeat(nc, np.diff(graph.in_ptr)), graph.in_src, K, graph.n_src)
        fanout = distinct_pair_counts(np.repeat(score, np.diff(graph.out_ptr)),
                                      nc[graph.out_dst.astype(np.int64)], K, K)
    mdel = np.full(K, -1, dtype=np.int64)
    if graph.n:
        np.maximum.at(mdel, nc, graph.in_delay_max)
    words = np.bincount(nc, weights=state_words(graph.flat), minlength=K).astype(np.int64) if graph.n \
        else np.zeros(K, np.int64)
    return {"compartments": comp, "synapses": syn,
            "synapse_bits": model.memory(by_enc @ model.encoding_bits() + kernel, fanin),
            "fanin_axons": fanin, "fanout_axons": fanout, "max_delay": mdel,
            "state_words": words,
            **{f"synapses_{e}": by_enc[:, i] for i, e in enumerate(ENCODINGS)}, "kernel_bits": kernel}


def core_encodings(usage: dict) -> list[str]:
    """Per core, the encodings its synapses use (e.g. ``"conv"``, ``"conv+sparse"``; ``""``
    for a core that receives no synapse)."""
    cols = [np.asarray(usage.get(f"synapses_{e}", np.zeros(0)), dtype=np.int64) for e in ENCODINGS]
    K = max((c.size for c in cols), default=0)
    return ["+".join(e for e, c in zip(ENCODINGS, cols) if c.size == K and c[k] > 0) for k in range(K)]


def check_usage(graph: MapGraph, model: ResourceModel, usage: dict[str, np.ndarray],
                neuron_core: np.ndarray) -> None:
    """Raise :class:`FitError` naming the first core and resource over its limit."""
    cap = model.capacity()
    for res in LIMITED:
        over = np.flatnonzero(usage[res] > cap[res])
        if over.size:
            c = int(over[0])
            members = np.flatnonzero(np.asarray(neuron_core) == c)
            pops = graph.populations_in(members)
            who = f"core {c}" + (f" ({pops})" if pops else "")
            raise FitError(f"{who}: {_WORDS[res]} needed {int(usage[res][c])} > capacity {cap[res]} per core"
                           f"{_also(over.size)}; remedy: {_REMEDY[res]}")


def _also(count: int) -> str:
    return f" (and {count - 1} more cores over)" if count > 1 else ""


# ------------------------------------------------------------------------ pre-checks
def check_network(graph: MapGraph, model: ResourceModel) -> None:
    """Everything that cannot fit whatever the mapping; raises :class:`FitError`.

    Checked before partitioning: weight precision, delays, each compartment's own fan-in
    and synaptic memory (it must fit an empty core), each source's fan-out lower bound
    (its targets need at least ``ceil(targets / compartments per core)`` cores), and the
    chip-wide lower bound on the number of cores.
    """
    _check_weights(graph, model)
    _check_delays(graph, model)
    _check_single_compartments(graph, model)
    _check_source_fanout(graph, model)
    needed, why = core_lower_bound(graph, model)
    if needed > model.chip.n_cores:
        raise too_many_cores(needed, model, why, at_least=True)


def _synapse_owner(graph: MapGraph, kind: str, i: int) -> str:
    for p in graph.projections:
        if p.kind == kind and p.start <= i < p.stop:
            return f"projection '{p.name}' (synapse {i - p.start})"
    f = graph.flat.expanded()
    if kind == "rec":
        return f"synapse {i} (compartment {int(f.src[i])} -> {int(f.dst[i])})"
    return f"input synapse {i} (input source {int(f.in_src[i])} -> compartment {int(f.in_dst[i])})"


def _check_weights(graph: MapGraph, model: ResourceModel) -> None:
    b = model.weight_bits
    f = graph.flat.expanded()
    plastic = [p for p in graph.projections if p.plastic]
    if plastic and weight_step(b) > 2:
        # learning moves weights in steps of 2 (chipemu.learning): every even weight must be storable
        raise FitError(
            f"projection '{plastic[0].name}' (plastic): weight precision needed 8 bits (learned weights are any "
            f"even value in -256..254) > capacity {b} bits per synapse on chip '{model.chip.name}'; remedy: use a "
            f"chip with core.weight_bits >= 8 or make the projection static")
    for kind, w in (("rec", f.weight), ("in", f.in_weight)):
        if w.size == 0:
            continue
        bad = ~representable(w.astype(np.int64), b)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            step = weight_step(b)
            need = max(bits_needed(int(x)) for x in np.unique(w[bad][:1000]))
            raise FitError(
                f"{_synapse_owner(graph, kind, i)}: weight precision needed {need} bits (weight {int(w[i])}) "
                f"> capacity {b} bits per synapse on chip '{model.chip.name}'; remedy: round its weights to "
                f"multiples of {step} in -256..{256 - step}, or use a chip with core.weight_bits >= {need}")


def _check_delays(graph: MapGraph, model: ResourceModel) -> None:
    f = graph.flat.expanded()
    c = model.chip.core
    for kind, d in (("rec", f.delay), ("in", f.in_delay)):
        if d.size == 0:
            continue
        bad = d > model.max_delay
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise FitError(
                f"{_synapse_owner(graph, kind, i)}: synaptic delay needed {int(d[i])} steps > capacity "
                f"{model.max_delay} steps (core.max_delay = {c.max_delay}, delay_bits = {c.delay_bits}) "
                f"on chip '{model.chip.name}'; remedy: shorten its delays (e.g. relay through extra "
                f"compartments) or use a chip with a larger core.max_delay and core.delay_bits")


def _check_single_compartments(graph: MapGraph, model: ResourceModel) -> None:
    if graph.n == 0:
        return
    fanin = graph.fanin
    over = fanin > model.fanin
    if over.any():
        v = int(np.argmax(fanin))
        raise FitError(
            f"{graph.describe_compartment(v)}: fan-in axons needed {int(fanin[v])} > capacity {model.fanin} "
            f"per core (its own distinct presynaptic sources); remedy: split its inputs over several "
            f"compartments, merge sources, or use a chip with more fan-in axon slots (core.fanin_axons)")
    bits = model.memory(model.compartment_bits(graph), fanin)
    if (bits > model.memory_bits).any():
        v = int(np.argmax(bits))
        enc = graph.insyn_enc[v]
        parts = [f"{int(enc[0])} synapses x {model.bits_per_synapse} bits"] if enc[0] or not enc[1] else []
        if enc[1]:
            parts.append(f"{int(enc[1])} dense synapses x {model.dense_bits} bits")
        if graph.kernel_share[v]:
            parts.append(f"{int(graph.kernel_share[v])} kernel entries x {model.weight_bits} bits")
        raise FitError(
            f"{graph.describe_compartment(v)}: synaptic memory needed {int(bits[v])} bits "
            f"({' + '.join(parts)} + {int(fanin[v])} axons x "
            f"{model.header_bits} bits) > capacity {model.memory_bits} bits per core; remedy: give it fewer "
            f"synapses, use fewer weight/delay bits, or a chip with more synaptic memory")


def _check_source_fanout(graph: MapGraph, model: ResourceModel) -> None:
    targets = np.diff(graph.out_ptr)
    if targets.size == 0:
        return
    need = -(-targets // model.compartments)
    if (need > model.fanout).any():
        s = int(np.argmax(need))
        raise FitError(
            f"{graph.describe_source(s)}: fan-out axons needed at least {int(need[s])} (its {int(targets[s])} "
            f"targets span >= {int(need[s])} cores of {model.compartments} compartments) > capacity "
            f"{model.fanout} per core; remedy: lower its fan-out, raise max_per_core, or use a chip with "
            f"more fan-out axons (core.fanout_axons)")


def core_lower_bound(graph: MapGraph, model: ResourceModel) -> tuple[int, str]:
    """A lower bound on the cores any mapping needs, and the resource that sets it."""
    by_comp = -(-graph.n // model.compartments)
    sources_used = int(np.count_nonzero(np.diff(graph.out_ptr)))
    bits = int(model.compartment_bits(graph).sum()) + sources_used * model.header_bits
    by_bits = -(-bits // model.memory_bits)
    if by_bits > by_comp:
        return int(by_bits), f"synaptic memory: {bits} bits / {model.memory_bits} per core"
    return int(by_comp), f"compartments: {graph.n} / {model.compartments} per core"


def too_many_cores(needed: int, model: ResourceModel, why: str, at_least: bool = False,
                   mapper: str | None = None) -> FitError:
    """The 'network needs more cores than the chip has' error, with a bigger-mesh remedy."""
    chip = model.chip
    m = chip.mesh
    cols = -(-needed // (m.rows * m.cores_per_router))
    by = f" with mapper '{mapper}'" if mapper else ""
    other = "; or try mapper 'traffic'" if mapper and mapper.startswith("sequential") else ""
    if model.max_per_core is not None and model.max_per_core < chip.core.compartments:
        other += f"; or raise max_per_core (now {model.max_per_core}, chip limit {chip.core.compartments})"
    if getattr(chip, "is_system", False):
        per_chip = chip.chip.n_cores
        chips = -(-needed // per_chip)
        g = chip.grid
        return FitError(
            f"network needs {'at least ' if at_least else ''}{needed} cores{by} > {chip.n_cores} (capacity of "
            f"system '{chip.name}': {g.chips_x}x{g.chips_y}x{g.chips_z} chips x {per_chip} cores of chip "
            f"'{chip.chip.name}'; {why}); remedy: a system with at least {chips} chips (e.g. a system file "
            f"with a bigger [grid]) or a smaller network{other}")
    return FitError(
        f"network needs {'at least ' if at_least else ''}{needed} cores{by} > {chip.n_cores} (capacity of "
        f"chip '{chip.name}': {m.columns}x{m.rows} mesh x {m.cores_per_router} cores; {why}); remedy: a bigger "
        f"mesh (e.g. a chip file with mesh.columns = {cols}), a system of chips (see `chipemu chips`) or a "
        f"smaller network{other}")
