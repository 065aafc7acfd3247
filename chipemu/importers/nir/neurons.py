"""NIR neuron nodes -> Loihi CUBA compartment registers (before the weight scale).

The gains and registers are those of the package docstring: ``g_u`` (S -> I per step),
``g_v`` (I -> v per step), ``du``/``dv`` from ``dt/tau``, the threshold per unit weight
scale ``v_threshold / (g_u g_v)``, the bias register per unit weight scale and unit input
bias ``64 w_in / g_u``.  ``v_leak`` is a constant drive: it is folded into the bias as the
input bias ``v_leak / r`` (LIF, LI) or ``v_leak / (r w_in)`` (CubaLIF, CubaLI) that moves
``v`` by the same amount per step.  LI, CubaLI and I nodes are read-outs: they integrate and
never fire (their threshold is the largest register value; probe their ``v``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .graph import NIRImportError, io_shape, nir_module, tname, vec

#: neuron node types (by class name) and whether they fire
NEURON_TYPES = {"CubaLIF": True, "LIF": True, "IF": True, "CubaLI": False, "LI": False, "I": False}


@dataclass
class NeuronNode:
    """One neuron node's compartments before the weight scale is known."""

    key: str
    kind: str
    size: int
    shape: tuple
    du: np.ndarray
    dv: np.ndarray
    keep_u: np.ndarray     # float per-step keep factors the registers approximate
    keep_v: np.ndarray
    vth_unit: np.ndarray   # float vth register per unit weight scale (inf: never fires)
    bias_unit: np.ndarray  # float bias register per unit weight scale per unit input bias
    leak_bias: np.ndarray  # v_leak as an input bias (added to the incoming paths' biases)

    @property
    def fires(self) -> bool:
        return NEURON_TYPES[self.kind]


def is_neuron(node) -> bool:
    return tname(node) in NEURON_TYPES and isinstance(node, getattr(nir_module(), tname(node)))


def _decay(x: np.ndarray, minus_one: bool) -> np.ndarray:
    reg = np.round(4096.0 * x) - (1 if minus_one else 0)
    return np.clip(reg, 0, 4095).astype(np.int64)


def _positive(key, node, param, arr):
    if np.any(arr <= 0):
        i = int(np.flatnonzero(arr <= 0)[0])
        raise NIRImportError(f"node '{key}' ({tname(node)}): {param} = {arr[i]:g} (at index {i}) must be > 0")


def node_shape(node) -> tuple[int, ...] | None:
    """The shape of a neuron node: its parameter arrays' shape, else its declared input
    shape, else None (scalar parameters: the node takes the shape of its input)."""
    kind = tname(node)
    probe = {"I": "r", "LI": "tau", "CubaLI": "tau_mem"}.get(kind, "v_threshold")
    shape = np.shape(getattr(node, probe))
    if int(np.prod(shape)) > 1:
        return tuple(int(s) for s in shape)
    declared = io_shape(node)
    return declared if declared else (tuple(int(s) for s in shape) if len(shape) else None)


def convert_neuron(key: str, node, dt: float, shape: tuple | None = None) -> NeuronNode:
    """The registers and gains of neuron node ``node`` at step ``dt`` (``shape``: the shape
    a node with scalar parameters takes; default: its own)."""
    kind = tname(node)
    shape = shape or node_shape(node) or (1,)
    n = int(np.prod(shape))
    def p(name):
        return vec(key, node, name, getattr(node, name), n)
    fires = NEURON_TYPES[kind]
    if fires:
        vthr = p("v_threshold")
        if np.any(vthr < 0):
            i = int(np.flatnonzero(vthr < 0)[0])
            raise NIRImportError(f"node '{key}' ({kind}): v_threshold = {vthr[i]:g} (at index {i}) must be >= 0")
        reset = vec(key, node, "v_reset", getattr(node, "v_reset", None), n)
        if np.any(reset != 0):
            i = int(np.flatnonzero(reset != 0)[0])
            raise NIRImportError(f"node '{key}' ({kind}): v_reset = {reset[i]:g} (at index {i}) is not supported; "
                                 "Loihi neurons reset to 0 (set v_reset = 0)")
    else:
        vthr = np.full(n, np.inf)
    r = p("r")
    _positive(key, node, "r", r)
    leak = p("v_leak") if kind in ("CubaLIF", "LIF", "CubaLI", "LI") else np.zeros(n)
    if kind in ("CubaLIF", "CubaLI"):
        tau_syn, tau_mem, w_in = p("tau_syn"), p("tau_mem"), p("w_in")
        for name, arr in (("tau_syn", tau_syn), ("tau_mem", tau_mem), ("w_in", w_in)):
            _positive(key, node, name, arr)
        g_u, g_v = dt * w_in / tau_syn, dt * r / tau_mem
        du, dv = _decay(dt / tau_syn, True), _decay(dt / tau_mem, False)
        keep_u, keep_v = 1 - dt / tau_syn, 1 - dt / tau_mem
        bias_unit = 64.0 * w_in / g_u
        leak_bias = leak / (r * w_in)
    elif kind in ("LIF", "LI"):
        tau = p("tau")
        _positive(key, node, "tau", tau)
        g_u, g_v = np.ones(n), dt * r / tau
        du, dv = np.full(n, 4095, np.int64), _decay(dt / tau, False)
        keep_u, keep_v = np.zeros(n), 1 - dt / tau
        bias_unit = np.full(n, 64.0)
        leak_bias = leak / r
    else:  # IF, I
        g_u, g_v = np.ones(n), dt * r
        du, dv = np.full(n, 4095, np.int64), np.zeros(n, np.int64)
        keep_u, keep_v = np.zeros(n), np.ones(n)
        bias_unit = np.full(n, 64.0)
        leak_bias = np.zeros(n)
    return NeuronNode(key, kind, n, shape, du, dv, np.clip(keep_u, 0, None), np.clip(keep_v, 0, None),
                      vthr / (g_u * g_v), bias_unit, leak_bias)
