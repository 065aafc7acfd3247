"""The flat arrays both runners and the mapper consume (:meth:`Network.flat`; docs/formats.md).

Explicit synapses are global-index arrays; shared-weight projections (convolution,
pooling, reshape: :mod:`chipemu.shared_weights`) stay compact as :class:`SharedBlock` s
and are expanded only by :meth:`FlatNetwork.expanded` / :meth:`FlatNetwork.synapses`,
transiently, by whoever builds a synapse table from them.

Canonical synapse order (the order learning, the runners' storage order and the mapper
refer to): compartment synapses, then input synapses; within each kind the projections in
the order they were added, each in its own synapse order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import neuron
from .shared_weights import SharedBlock, expand_blocks


@dataclass(frozen=True)
class FlatNetwork:
    """The flat network (global indices, int dtypes).

    Compartment registers ``du, dv, vth, bias_mant, bias_exp`` (n,); explicit synapses
    between compartments ``src, dst, weight, delay``; explicit synapses from input sources
    ``in_src, in_dst, in_weight, in_delay``; input events ``in_spike_idx, in_spike_t`` (e,),
    sorted by (t, idx); ``in_n`` input sources; ``steps`` default run length;
    ``reset_interval, reset_offset`` (n,) periodic reset, or None when no compartment resets;
    ``model`` (n,) neuron model codes (index into :data:`chipemu.neurons.MODEL_NAMES`), or
    None when every compartment is CUBA LIF; ``model_regs`` {register: (n,)} the model
    registers beyond the LIF ones (0 for compartments of models without them);
    ``in_spike_val`` (e,) graded input payloads, or None when every input spike is binary;
    ``shared``: the shared-weight projections, compact (see :meth:`synapses` for every synapse).
    """

    du: np.ndarray
    dv: np.ndarray
    vth: np.ndarray
    bias_mant: np.ndarray
    bias_exp: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    weight: np.ndarray
    delay: np.ndarray
    in_n: int
    in_src: np.ndarray
    in_dst: np.ndarray
    in_weight: np.ndarray
    in_delay: np.ndarray
    in_spike_idx: np.ndarray
    in_spike_t: np.ndarray
    steps: int
    reset_interval: np.ndarray | None = None
    reset_offset: np.ndarray | None = None
    model: np.ndarray | None = None
    model_regs: dict = field(default_factory=dict)
    in_spike_val: np.ndarray | None = None
    shared: tuple = ()

    @property
    def graded(self) -> bool:
        """Whether any spike can carry a payload (a graded model or graded input events)."""
        from .neurons import MODEL_NAMES, MODELS
        if self.in_spike_val is not None:
            return True
        return self.model is not None and any(MODELS[MODEL_NAMES[c]].graded for c in np.unique(self.model).tolist())

    @property
    def n(self) -> int:
        return int(self.du.size)

    @property
    def m(self) -> int:
        """Compartment -> compartment synapses (explicit and shared)."""
        return int(self.src.size) + sum(len(b) for b in self.shared if b.kind == "rec")

    @property
    def m_in(self) -> int:
        """Input source -> compartment synapses (explicit and shared)."""
        return int(self.in_src.size) + sum(len(b) for b in self.shared if b.kind == "in")

    @property
    def n_synapses(self) -> int:
        return self.m + self.m_in

    def params(self) -> neuron.CompartmentParams:
        return neuron.CompartmentParams.from_registers(self.du, self.dv, self.vth, self.bias_mant, self.bias_exp,
                                                        self.reset_interval, self.reset_offset)

    @property
    def max_delay(self) -> int:
        d = [int(x.max()) for x in (self.delay, self.in_delay) if x.size]
        d += [b.proj.synapse_delay for b in self.shared if len(b)]
        return max(d) if d else 0

    def synapses(self, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(src, dst, weight, delay)`` int64 of every ``rec`` or ``in`` synapse, canonical order."""
        explicit = ((self.src, self.dst, self.weight, self.delay) if kind == "rec" else
                    (self.in_src, self.in_dst, self.in_weight, self.in_delay))
        return expand_blocks(explicit, self.shared, kind)

    def expanded(self) -> FlatNetwork:
        """This network with every shared projection written as explicit synapses (not cached)."""
        if not self.shared:
            return self
        import dataclasses
        s, d, w, dl = self.synapses("rec")
        i_s, i_d, i_w, i_dl = self.synapses("in")
        return dataclasses.replace(self, src=s, dst=d, weight=w, delay=dl, in_src=i_s, in_dst=i_d,
                                   in_weight=i_w, in_delay=i_dl, shared=())


def flatten(net) -> FlatNetwork:
    """The :class:`FlatNetwork` of a :class:`~chipemu.network.Network`."""
    def cat(arrs, dtype):
        arrs = list(arrs)
        return np.concatenate(arrs).astype(dtype) if arrs else np.zeros(0, dtype=dtype)

    groups = {p.name: p for p in net.populations} | {g.name: g for g in net.inputs}
    explicit = {"rec": [], "in": []}
    blocks = []
    for p in net.projections:
        kind = "in" if p.pre_is_input else "rec"
        if hasattr(p, "kernel"):
            at = sum(len(q) for q in explicit[kind])
            blocks.append(SharedBlock(kind, at, groups[p.pre].start, groups[p.post].start, p))
        else:
            explicit[kind].append(p)
    rec, inp = explicit["rec"], explicit["in"]
    idx, t, val = sorted_events(net)
    return FlatNetwork(
        du=cat((p.du for p in net.populations), np.int64),
        dv=cat((p.dv for p in net.populations), np.int64),
        vth=cat((p.vth for p in net.populations), np.int64),
        bias_mant=cat((p.bias_mant for p in net.populations), np.int64),
        bias_exp=cat((p.bias_exp for p in net.populations), np.int64),
        src=cat((p.src + groups[p.pre].start for p in rec), np.int64),
        dst=cat((p.dst + groups[p.post].start for p in rec), np.int64),
        weight=cat((p.weight for p in rec), np.int64),
        delay=cat((p.delay for p in rec), np.int64),
        in_n=net.n_inputs,
        in_src=cat((p.src + groups[p.pre].start for p in inp), np.int64),
        in_dst=cat((p.dst + groups[p.post].start for p in inp), np.int64),
        in_weight=cat((p.weight for p in inp), np.int64),
        in_delay=cat((p.delay for p in inp), np.int64),
        in_spike_idx=idx,
        in_spike_t=t,
        in_spike_val=val,
        steps=net.steps,
        **_reset_arrays(net),
        **_model_arrays(net),
        shared=tuple(blocks),
    )


def _model_arrays(net) -> dict:
    """``model`` codes (n,) and ``model_regs`` of the flat arrays (None / {} when all LIF)."""
    from .neurons import MODEL_NAMES
    if all(p.model == "lif" for p in net.populations):
        return {"model": None, "model_regs": {}}
    code = np.concatenate([np.full(p.size, MODEL_NAMES.index(p.model), dtype=np.int8) for p in net.populations])
    names = sorted({k for p in net.populations for k in p.model_regs})
    regs = {k: np.concatenate([p.model_regs[k] if k in p.model_regs else np.zeros(p.size, np.int64)
                               for p in net.populations]) for k in names}
    return {"model": code, "model_regs": regs}


def _reset_arrays(net) -> dict:
    """``reset_interval``/``reset_offset`` (n,) of the flat arrays, None when nothing resets."""
    if not any(p.has_reset for p in net.populations):
        return {"reset_interval": None, "reset_offset": None}
    zeros = lambda p: np.zeros(p.size, np.int64)  # noqa: E731
    return {"reset_interval": np.concatenate([p.reset_interval if p.has_reset else zeros(p) for p in net.populations]),
            "reset_offset": np.concatenate([p.reset_offset if p.has_reset else zeros(p) for p in net.populations])}


def sorted_events(net) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """All input events ``(global source, step, payload)`` sorted by (step, source); the
    payloads are None when every input spike is binary."""
    if not net.inputs:
        z = np.zeros(0, dtype=np.int64)
        return z, z.copy(), None
    idx = np.concatenate([g.spike_idx + g.start for g in net.inputs])
    t = np.concatenate([g.spike_t for g in net.inputs])
    order = np.lexsort((idx, t))
    if all(g.spike_val is None for g in net.inputs):
        return idx[order], t[order], None
    val = np.concatenate([g.spike_val if g.spike_val is not None else np.ones(g.spike_idx.size, np.int64)
                          for g in net.inputs])
    return idx[order], t[order], val[order]
