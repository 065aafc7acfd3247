"""The :class:`LearningEngine`: traces, epochs and weight updates of a network's plastic
projections, shared by the host reference runner and the emulated cores (canonical synapse
order, so learning never depends on the mapping).  Equations: :mod:`chipemu.learning`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .. import neuron
from .rule import LearningRule
from .terms import _POST, _PRE, TAG_RANGE, TRACE_MAX, TRACES

if TYPE_CHECKING:  # pragma: no cover
    from ..network import Network

# ---------------------------------------------------------------------------- engine
def _round_shift(S: np.ndarray, s: int, mode: str, rng) -> np.ndarray:
    """``R(S * 2**-s)`` (module docstring): exact for s <= 0, else floor/nearest/stochastic."""
    if s <= 0:
        return S << (-s)
    if mode == "floor":
        return S >> s
    if mode == "nearest":
        return (S + (1 << (s - 1))) >> s
    return (S + rng.integers(0, 1 << s, size=S.shape, dtype=np.int64)) >> s


def _decay(x: np.ndarray, keep: int, mode: str, rng) -> np.ndarray:
    p = x * keep
    if mode == "floor":
        return p >> neuron.DECAY_SHIFT
    if mode == "nearest":
        return (p + 2048) >> neuron.DECAY_SHIFT
    return (p + rng.integers(0, 4096, size=np.shape(x), dtype=np.int64)) >> neuron.DECAY_SHIFT


@dataclass
class EpochUpdate:
    """Synapses processed at an epoch end: canonical ids (sorted) and their new weights."""

    ids: np.ndarray
    weights: np.ndarray


@dataclass
class _Plastic:
    name: str
    rule: LearningRule
    offset: int                 # canonical id of the projection's first synapse
    src: np.ndarray             # local presynaptic index per synapse
    dst: np.ndarray             # local postsynaptic index per synapse
    pre_input: bool
    pre_start: int              # global compartment id or input id of pre's first source
    pre_size: int
    post_start: int
    post_size: int
    reward: tuple | None        # (first input id, size) of the reward group
    w: np.ndarray               # int64 weights, projection order
    tag: np.ndarray | None
    rng: np.random.Generator
    traces: dict = field(default_factory=dict)
    x0: np.ndarray | None = None
    y0: np.ndarray | None = None
    r0: int = 0


class LearningEngine:
    """The learning state of a network's plastic projections (see the module docstring).

    ``step(t, fired, inputs)`` -- call once per step after the step's spikes are sent;
    ``fired``: global ids of compartments that spiked at t (any order), ``inputs``: input
    ids (0-based) that fired at t.  Returns an :class:`EpochUpdate` at epoch ends with
    processed synapses, else None.
    """

    def __init__(self, net: "Network"):
        self.updates = 0          # synapses processed so far (learning_updates)
        self._plastic: list[_Plastic] = []
        pops = {p.name: p for p in net.populations}
        ins = {g.name: g for g in net.inputs}
        m = net.flat().m
        off_rec, off_in = 0, m
        for proj in net.projections:
            if proj.pre_is_input:
                offset, off_in = off_in, off_in + len(proj)
            else:
                offset, off_rec = off_rec, off_rec + len(proj)
            rule = proj.plasticity
            if rule is None:
                continue
            pre = ins[proj.pre] if proj.pre_is_input else pops[proj.pre]
            post = pops[proj.post]
            reward = None
            if rule.reward is not None:
                g = ins[rule.reward]
                reward = (g.start, g.size)
            rng = np.random.default_rng([rule.seed, zlib.crc32(proj.name.encode())])
            st = _Plastic(name=proj.name, rule=rule, offset=offset, src=proj.src.astype(np.int64),
                          dst=proj.dst.astype(np.int64), pre_input=proj.pre_is_input, pre_start=pre.start,
                          pre_size=pre.size, post_start=post.start, post_size=post.size, reward=reward,
                          w=proj.weight.astype(np.int64), tag=np.zeros(len(proj), np.int64) if rule.dt else None,
                          rng=rng)
            used = rule.variables
            for v in TRACES:
                if v in used:
                    size = pre.size if v in _PRE else post.size if v in _POST else 1
                    st.traces[v] = np.zeros(size, dtype=np.int64)
            st.x0 = np.zeros(pre.size, dtype=bool)
            st.y0 = np.zeros(post.size, dtype=bool)
            self._plastic.append(st)

    @classmethod
    def build(cls, net) -> "LearningEngine | None":
        """The engine of ``net``, or None when no projection is plastic (or ``net`` is flat)."""
        if not getattr(net, "is_plastic", False):  # a FlatNetwork has no projections
            return None
        return cls(net)

    # -------------------------------------------------------------- per step
    @staticmethod
    def _local(ids: np.ndarray, start: int, size: int) -> np.ndarray:
        sel = ids[(ids >= start) & (ids < start + size)]
        return sel - start

    def step(self, t: int, fired: np.ndarray, inputs: np.ndarray) -> EpochUpdate | None:
        ids, ws = [], []
        for st in self._plastic:
            rule = st.rule
            pre_spk = self._local(inputs if st.pre_input else fired, st.pre_start, st.pre_size)
            post_spk = self._local(fired, st.post_start, st.post_size)
            n_rew = self._local(inputs, *st.reward).size if st.reward is not None else 0
            for v, x in st.traces.items():   # insertion order = TRACES order
                tr = rule.trace(v)
                if tr.decay:
                    x[...] = _decay(x, 4096 - tr.decay, rule.trace_rounding, st.rng)
                if v in _PRE:
                    x[pre_spk] += tr.impulse
                elif v in _POST:
                    x[post_spk] += tr.impulse
                else:
                    x += tr.impulse * n_rew
                np.minimum(x, TRACE_MAX, out=x)
            st.x0[pre_spk] = True
            st.y0[post_spk] = True
            st.r0 |= int(n_rew > 0)
            if (t + 1) % rule.epoch == 0:
                sel = self._apply(st)
                if sel.size:
                    ids.append(sel + st.offset)
                    ws.append(st.w[sel])
                st.x0[:] = False
                st.y0[:] = False
                st.r0 = 0
        if not ids:
            return None
        return EpochUpdate(np.concatenate(ids), np.concatenate(ws))

    def _value(self, st: _Plastic, var: str, sel: np.ndarray) -> np.ndarray:
        if var == "x0":
            return st.x0[st.src[sel]].astype(np.int64)
        if var == "y0":
            return st.y0[st.dst[sel]].astype(np.int64)
        if var in _PRE:
            return st.traces[var][st.src[sel]]
        if var in _POST:
            return st.traces[var][st.dst[sel]]
        if var == "r0":
            return np.full(sel.size, st.r0, dtype=np.int64)
        if var == "r1":
            return np.full(sel.size, int(st.traces["r1"][0]), dtype=np.int64)
        if var == "w":
            return st.w[sel]
        if var == "sgnw":
            return np.sign(st.w[sel])
        return st.tag[sel]   # "t"

    def _active(self, st: _Plastic) -> np.ndarray:
        """Canonical (projection-local) indices of the synapses processed this epoch."""
        rule = st.rule
        m = st.w.size
        if rule.always_active:
            return np.arange(m, dtype=np.int64)
        mask = np.zeros(m, dtype=bool)
        for term in rule.dw + rule.dt:
            g = np.ones(m, dtype=bool)
            for f in term.factors:
                if f.var == "x0" and f.const == 0:
                    g &= st.x0[st.src]
                elif f.var == "y0" and f.const == 0:
                    g &= st.y0[st.dst]
                elif f.var == "r0" and f.const == 0:
                    g &= bool(st.r0)
            mask |= g
        return np.flatnonzero(mask)

    def _sum(self, st: _Plastic, terms, sel: np.ndarray) -> tuple[np.ndarray, int]:
        """``(S, e)`` with ``Z = S * 2**e`` exactly (int64)."""
        e = min(term.exp for term in terms)
        S = np.zeros(sel.size, dtype=np.int64)
        cache = {}
        for term in terms:
            p = np.full(sel.size, term.mant, dtype=np.int64)
            for f in term.factors:
                if f.var not in cache:
                    cache[f.var] = self._value(st, f.var, sel)
                p *= cache[f.var] + f.const
            S += p << (term.exp - e)
        return S, e

    def _apply(self, st: _Plastic) -> np.ndarray:
        rule = st.rule
        sel = self._active(st)
        self.updates += int(sel.size)
        if sel.size == 0:
            return sel
        Sw, ew = self._sum(st, rule.dw, sel)
        if rule.dt:
            St, et = self._sum(st, rule.dt, sel)   # both rules read the values before the update
        dwq = _round_shift(Sw, 1 - ew, rule.rounding, st.rng)
        lo, hi = rule.bounds
        st.w[sel] = np.clip(st.w[sel] + 2 * dwq, lo, hi)
        if rule.dt:
            dtq = _round_shift(St, -et, rule.rounding, st.rng)
            st.tag[sel] = np.clip(st.tag[sel] + dtq, *TAG_RANGE)
        return sel

    # -------------------------------------------------------------- results
    def weights(self) -> dict[str, np.ndarray]:
        """{projection name: int16 weights in the projection's synapse order}."""
        return {st.name: st.w.astype(np.int16) for st in self._plastic}

    def tags(self) -> dict[str, np.ndarray]:
        return {st.name: st.tag.copy() for st in self._plastic if st.tag is not None}

    def traces(self) -> dict[str, dict[str, np.ndarray]]:
        """{projection name: {trace name: current values}} (copies; for inspection and tests)."""
        return {st.name: {v: x.copy() for v, x in st.traces.items()} for st in self._plastic}


def canonical_position(storage_order: np.ndarray) -> np.ndarray:
    """``pos[c]``: storage position of canonical synapse c, given the storage order
    (``storage_order[p]`` = canonical id stored at position p)."""
    pos = np.empty(storage_order.size, dtype=np.int64)
    pos[storage_order] = np.arange(storage_order.size, dtype=np.int64)
    return pos
