"""Per-population costs of a chip run: report.json ``populations`` (one record per population).

For population P (compartments ``P.start .. P.stop-1``), from the run, its network and
its mapping (all counts exact; every figure is recomputed from the spikes, so it does not
depend on the order the chip counted in):

``compartments``, ``cores``
    its size, and the cores holding at least one of its compartments.
``synapses``, ``synapses_by_encoding``
    synapses onto P (expanded count; shared-weight projections counted per tap), split
    by the encoding each projection uses (``mapping.json`` ``encoding.projections``).
``encoding``
    the encodings of the synapses onto P, joined by ``+`` (e.g. ``conv``, ``sparse``).
``synapse_bits``
    synaptic memory spent on P: its synapses at their encoding's bits per synapse
    (:mod:`mapper.resources`), the kernel rows of the conv projections onto it (once per
    core and output channel), and one axon header per (core, presynaptic source) pair of
    its compartments.  (A source that reaches two populations on one core is charged to
    both, so the populations can add up to a little more than the cores' ``synapse_bits``.)
``spikes``, ``synaptic_ops``
    spikes its compartments fired; synaptic events on synapses onto P (each spike of a
    source times its synapses onto P): they add up to the run's ``synaptic_ops``.
``energy_j``, ``energy_share``
    dynamic energy attributed to P: its synaptic ops at their encoding's cost, its spikes
    at ``spike_generation``, each core's neuron-update and message energy split over the
    populations on it in proportion to their compartments (updates) and spikes (messages
    out, learning updates); ``energy_share = energy_j / dynamic_j`` of the run.  NoC hops
    (not per population) and static power are not attributed, so the shares add up to
    ``1 - (hops + barrier) / dynamic_j``.
"""

from __future__ import annotations

import numpy as np

ENCODINGS = ("sparse", "dense", "conv")


def population_costs(run, energy: dict | None = None, graph=None) -> list[dict]:
    """The ``populations`` section of a :class:`~chipemu.chip.ChipRun` (see the module
    docstring); ``energy``: the run's :func:`chipemu.energy.energy_report` and ``graph``:
    the network's :func:`mapper.graph.build_graph`, if at hand."""
    from mapper.encoding import kernel_entries
    from mapper.graph import build_graph
    from mapper.resources import ResourceModel

    from ..arrays import distinct
    from ..chip import synapse_codes
    from ..core import C

    net, mapping, chip = run.network, run.mapping, run.mapping.chip
    pops = net.populations
    if not pops:
        return []
    f = net.flat()
    n, P = f.n, len(pops)
    starts = np.array([p.start for p in pops], dtype=np.int64)
    pop_of = np.repeat(np.arange(P), [p.size for p in pops])
    nc = np.asarray(mapping.neuron_core, dtype=np.int64)
    K = mapping.n_cores

    # spikes per source (compartments, then input sources) within the run's steps
    spk = np.zeros(n + f.in_n, dtype=np.int64)
    spk[:n] = run.spikes.counts(n)
    keep = f.in_spike_t < run.steps
    spk[n:] = np.bincount(f.in_spike_idx[keep], minlength=f.in_n)[:f.in_n]

    # synapses and synaptic ops onto each population, by encoding
    ex = f.expanded()
    src = np.concatenate([ex.src, ex.in_src + n])
    dst_pop = pop_of[np.concatenate([ex.dst, ex.in_dst])]
    code = synapse_codes(net, getattr(mapping, "encoding", None)).astype(np.int64)
    del ex
    cell = dst_pop * 3 + code
    syn = np.bincount(cell, minlength=3 * P).reshape(P, 3)
    ops = np.bincount(cell, weights=spk[src], minlength=3 * P).reshape(P, 3).astype(np.int64)

    # synaptic memory: synapses at their encoding's bits, kernel rows, axon headers
    model = ResourceModel.for_chip(chip)
    graph = build_graph(net) if graph is None else graph
    bits = syn @ model.encoding_bits()
    for p in graph.projections:
        if p.encoding == "conv":
            q = int(np.searchsorted(starts, p.post_start, side="right") - 1)
            bits[q] += int(kernel_entries(nc, [p], K).sum()) * model.weight_bits
    pin_s, pin_t = graph.pin_arrays()
    pairs = distinct((pop_of[pin_t] * K + nc[pin_t]) * graph.n_src + pin_s)
    bits += np.bincount(pairs // graph.n_src // K, minlength=P) * model.header_bits

    # energy: synaptic ops by encoding, spikes, per-core neuron/message/learning energy split
    e = chip.energy
    unit_syn = np.array([e.synapse_op_of(x) for x in ENCODINGS])
    spikes = np.bincount(pop_of, weights=spk[:n], minlength=P)
    pop_j = ops @ unit_syn + spikes * e.spike_generation
    cc = np.asarray(run.core_counts, dtype=np.float64)
    per_core_neuron = cc[:, C["neuron_active"]] * e.neuron_active + cc[:, C["neuron_inactive"]] * e.neuron_inactive
    per_core_spiking = (cc[:, C["packets_out"]] * e.message_out + cc[:, C["packets_in"]] * e.message_in
                        + cc[:, C["learning_updates"]] * e.learning_update)
    comp_pc = np.bincount(pop_of * K + nc, minlength=P * K).reshape(P, K).astype(np.float64)
    spk_pc = np.bincount(pop_of * K + nc, weights=spk[:n], minlength=P * K).reshape(P, K)
    with np.errstate(invalid="ignore", divide="ignore"):
        share_comp = np.nan_to_num(comp_pc / comp_pc.sum(axis=0, keepdims=True))
        share_spk = np.nan_to_num(spk_pc / spk_pc.sum(axis=0, keepdims=True))
    pop_j = pop_j + share_comp @ per_core_neuron + share_spk @ per_core_spiking
    if energy is None:
        from ..energy import energy_report
        energy = energy_report(run)
    dynamic = float(energy["dynamic_j"])

    out = []
    for i, p in enumerate(pops):
        used = [x for x, k in zip(ENCODINGS, syn[i]) if k > 0]
        out.append({
            "name": p.name,
            "shape": list(p.dims),
            "compartments": int(p.size),
            "cores": int(np.count_nonzero(comp_pc[i])),
            "synapses": int(syn[i].sum()),
            "synapses_by_encoding": {x: int(k) for x, k in zip(ENCODINGS, syn[i])},
            "encoding": "+".join(used),
            "synapse_bits": int(bits[i]),
            "spikes": int(spikes[i]),
            "synaptic_ops": int(ops[i].sum()),
            "energy_j": float(pop_j[i]),
            "energy_share": float(pop_j[i] / dynamic) if dynamic > 0 else 0.0,
        })
    return out
