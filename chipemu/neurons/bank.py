"""The compartments of a network (or of all cores) as one bank, whatever their models.

Both runners hold their compartments in a :class:`NeuronBank` and call :meth:`step` once
per timestep.  When every compartment is CUBA LIF (every network without a ``model``) the
bank is exactly the LIF hot path: one :func:`chipemu.neuron.lif_step` over all
compartments, no copies, binary spikes.  Otherwise compartments are grouped by model; the
LIF group runs :func:`~chipemu.neuron.lif_step` on its compartments and every other group
its model's kernel (:mod:`chipemu.neurons`), each on its own state words.

``u`` and ``v`` (n,) hold every LIF compartment's current and voltage; for the other
models they mirror the model's first two state words after each step (e.g. sigma_delta's
``sigma`` and ``act``, rf's ``real`` and ``imag``; 0 when there is no second word), which is
what ``record`` traces show.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import neuron as lif
from . import MODEL_NAMES, MODELS, NeuronModel


@dataclass
class _Group:
    model: NeuronModel
    index: np.ndarray        # bank positions of the group's compartments
    p: dict                  # prepared constants
    state: dict              # state words, (len(index),) int64 each
    rest: dict               # initial values of the state words (activity test)
    bias: np.ndarray | None  # non-zero where a bias keeps the compartment active


class NeuronBank:
    """Compartments ``order[p]`` (global ids) at bank positions p; see the module docstring.

    ``flat``: a :class:`chipemu.network.FlatNetwork` (its LIF registers ``du, dv, vth,
    bias_mant, bias_exp``, ``model`` codes -- index into ``MODEL_NAMES``, None: all LIF --
    and ``model_regs`` {register: (n,)}); ``order`` (None: identity) selects and permutes
    the compartments into bank order.
    """

    def __init__(self, flat, order: np.ndarray | None = None):
        lif_params = flat.params()
        n = lif_params.u_keep.size if order is None else len(order)
        self.n = n
        if order is not None:
            lif_params = lif_params.take(order)
        self.u = np.zeros(n, dtype=np.int64)
        self.v = np.zeros(n, dtype=np.int64)
        self.groups: list[_Group] = []
        model = getattr(flat, "model", None)
        codes = None if model is None else (np.asarray(model) if order is None else np.asarray(model)[order])
        if codes is None or not codes.any():  # every compartment is LIF: the hot path
            self.all_lif = True
            self.params = lif_params
            self.lif_index = None
            self.graded = False
            return
        self.all_lif = False
        self.lif_index = np.flatnonzero(codes == 0)
        self.params = lif_params.take(self.lif_index)
        sel = (lambda x: np.asarray(x, dtype=np.int64)) if order is None else \
            (lambda x: np.asarray(x, dtype=np.int64)[order])
        for code in np.unique(codes[codes != 0]).tolist():
            m = MODELS[MODEL_NAMES[code]]
            idx = np.flatnonzero(codes == code)
            regs = {name: sel(getattr(flat, name) if name in lif.PARAM_RANGES else flat.model_regs[name])[idx]
                    for name in m.registers}
            p = m.prepare(regs)
            state = m.initial_state(regs, idx.size)
            rest = {w: s.copy() for w, s in state.items()}
            bias = None
            for w in m.bias_words:
                bias = p[w] if bias is None else (bias | p[w])
            self.groups.append(_Group(m, idx, p, state, rest, bias))
        self.graded = any(g.model.graded for g in self.groups)

    # ------------------------------------------------------------------ step
    def step(self, a: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Advance every compartment one step (step ``t``) with input ``a`` (n,).

        Returns ``(fired, payload)``: the bank positions that sent a spike, ascending, and
        their payloads (int64), or None when every model of the bank is binary (payload 1).
        """
        if self.all_lif:
            return np.flatnonzero(lif.lif_step(self.u, self.v, a, self.params, t)), None
        sent = np.zeros(self.n, dtype=np.int64)
        li = self.lif_index
        if li.size:
            u, v = self.u[li], self.v[li]
            sent[li] = lif.lif_step(u, v, a[li], self.params, t)
            self.u[li], self.v[li] = u, v
        for g in self.groups:
            out = g.model.kernel(g.state, a[g.index], g.p, t)
            sent[g.index] = out
            words = g.model.state
            self.u[g.index] = g.state[words[0]]
            self.v[g.index] = g.state[words[1]] if len(words) > 1 else 0
        fired = np.flatnonzero(sent)
        return fired, (sent[fired] if self.graded else None)

    def is_active(self, a: np.ndarray) -> np.ndarray:
        """Compartments whose update does work this step (evaluate before :meth:`step`):
        input, state away from its resting value, or a bias (:func:`chipemu.neuron.is_active`
        for LIF)."""
        if self.all_lif:
            return lif.is_active(self.u, self.v, a, self.params)
        active = a != 0
        li = self.lif_index
        if li.size:
            active[li] |= (self.u[li] != 0) | (self.v[li] != 0) | (self.params.bias != 0)
        for g in self.groups:
            busy = np.zeros(g.index.size, dtype=bool)
            for w, s in g.state.items():
                busy |= s != g.rest[w]
            if g.bias is not None:
                busy |= g.bias != 0
            active[g.index] |= busy
        return active

    def graded_mask(self) -> np.ndarray:
        """(n,) bool: compartments whose model sends graded payloads."""
        mask = np.zeros(self.n, dtype=bool)
        for g in self.groups:
            if g.model.graded:
                mask[g.index] = True
        return mask

    def state_words(self) -> np.ndarray:
        """State words per compartment (n,), by model (LIF: 2)."""
        words = np.full(self.n, MODELS["lif"].state_words, dtype=np.int64)
        for g in self.groups:
            words[g.index] = g.model.state_words
        return words

    @property
    def nbytes(self) -> int:
        return int(self.u.nbytes + self.v.nbytes + sum(s.nbytes for g in self.groups for s in g.state.values()))

