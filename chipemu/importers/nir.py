r"""Import a NIR graph (Neuromorphic Intermediate Representation) as a chipemu Network.

:func:`from_nir` converts a :class:`nir.NIRGraph` (or a ``.nir`` HDF5 file) of spiking
layers into a :class:`~chipemu.network.Network` of Loihi CUBA LIF populations and returns a
:class:`QuantizationReport` of every rounding it made.  :func:`load_nir` returns only the
network (the hook for ``.nir`` files on the command line).  Needs the optional package
``nir`` (``pip install 'chipemu[nir]'``).  docs/import.md has the same content with an
example.

Supported graphs
----------------
``Input`` -> [``Delay``] -> (``Affine`` | ``Linear``) -> [``Delay``] -> (``CubaLIF`` |
``LIF`` | ``IF``) -> ... -> ``Output``, feed-forward or recurrent (e.g. a ``Linear`` from a
layer back to itself).  Every neuron node becomes a population named by its node key, every
``Input`` node an input group (size = product of its shape), every path of weight/delay
nodes between two spiking nodes a projection (named by its ``Affine``/``Linear`` key; a
plain edge between equal-sized spiking nodes is a one-to-one weight-1 projection named
``"pre->post"``).  Several edges into one node add up, as in NIR.

Discrete-time semantics (the float model the conversion matches)
----------------------------------------------------------------
Forward Euler with step ``dt``; the input ``S`` of a neuron node is the sum over its
incoming paths of ``W x + b``, ``x`` being 0/1 spikes (one per step, the convention of
snnTorch/Norse/Lava-dl exports), and a spike crossing a projection arrives one step later
(plus whole-step ``Delay`` nodes), exactly as on Loihi::

    CubaLIF:  I[t] = I[t-1] + dt/tau_syn * (-I[t-1] + w_in * S[t])
              v[t] = v[t-1] + dt/tau_mem * (v_leak - v[t-1] + r * I[t])
    LIF:      v[t] = v[t-1] + dt/tau * (v_leak - v[t-1] + r * S[t])
    IF:       v[t] = v[t-1] + dt * r * S[t]
    all:      spike where v[t] > v_threshold (strict), then v = v_reset (= 0)

Loihi (docs/neuron.md), per step: ``u = u*(4096-(du+1))/4096 + 64*a``,
``v = v*(4096-dv)/4096 + u + bias``, spike where ``v > vth*64``, ``a`` = sum of integer
weights of arriving spikes.  With ``u = k_u * I`` and ``v_loihi = k_v * v`` the two are the
same recursion when, with the gains ``g_u = dt*w_in/tau_syn`` (S -> I per step; 1 for
LIF/IF, whose current is the input itself) and ``g_v = dt*r/tau_mem`` (I -> v per step;
``dt*r/tau`` for LIF, ``dt*r`` for IF) and one global weight scale ``s``::

    integer weight   w     = 2 * round(s * W / 2)            even, must lie in -256..254
    current decay    du    = clip(round(4096*dt/tau_syn) - 1, 0, 4095)    (LIF, IF: 4095)
    voltage decay    dv    = clip(round(4096*dt/tau_mem), 0, 4095)  (LIF: tau; IF: 0)
    scales           k_u   = 64*s/g_u,   k_v = k_u/g_v = 64*s/(g_u*g_v)
    threshold        vth   = round(v_threshold * s / (g_u*g_v))   must be <= 131071
    bias             bias  = k_u * I_b,  I_b = w_in*b (CubaLIF) or b (LIF/IF), per step,
                     stored as bias_mant << bias_exp with the smallest bias_exp in 0..7
                     that fits bias_mant in -4096..4095

``s`` is ``weight_scale`` if given; otherwise the largest ``s`` for which the largest
``|W|`` maps to 254 *and* every threshold and bias stays in range (so normally
``s = 254 / max|W|``).  With snnTorch-style parameters (``w_in = tau_syn/dt``,
``r = tau_mem/dt``) the gains are 1 and ``vth = round(v_threshold * s)``.

Approximations (all reported by :class:`QuantizationReport`)
------------------------------------------------------------
* weights: rounded to even integers (error <= 1/s, relative to max|W| <= 1/254 with the
  automatic scale); weights that round to 0 are dropped (no synapse);
* decays: the per-step keep factors ``1 - dt/tau`` become multiples of 1/4096 (absolute
  error <= 1/8192; ``du``/``dv`` are clipped when ``dt/tau`` is below 1/8192 or above 1);
  Euler's ``1 - dt/tau`` itself approximates ``exp(-dt/tau)`` for ``dt << tau``;
* thresholds: rounded to whole ``vth`` (the Loihi threshold has a resolution of 64 in
  ``v`` units);
* Loihi truncates ``u*keep`` and ``v*keep`` toward zero each step (a systematic error of
  < 1/64 of one weight unit per step);
* an ``Affine`` bias into a ``CubaLIF`` node is a constant current that the float model
  low-pass filters (it reaches ``w_in*b`` after a few ``tau_syn``); Loihi has no current
  bias, so its steady-state value is added to ``v`` from step 0 on (exact for LIF/IF);
* ``u`` is a 24-bit register that wraps: a node whose worst-case current (every input
  firing every step) could exceed 2**23 gets a note.

Not supported (:class:`~chipemu.errors.ChipemuError` naming the node): every other node
type (Conv1d/2d, Flatten, pooling, Scale, Threshold, LI/CubaLI/I, nested NIRGraph, ...),
weight tensors other than 2-D, ``v_leak != 0``, ``v_reset != 0``, non-positive
``tau``/``r``/``w_in``, negative thresholds, ``Delay`` values that are not whole steps in
0..62, two weight nodes in series, a weight node feeding an ``Output`` (non-spiking output).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ChipemuError
from ..network import Network
from .. import neuron

SUPPORTED = "Input, Output, Affine, Linear, Delay (whole steps), CubaLIF, LIF, IF"

_W_LO, _W_HI = neuron.WEIGHT_RANGE
_VTH_MAX = neuron.VTH_RANGE[1]
_MANT_LO, _MANT_HI = neuron.BIAS_MANT_RANGE
_EXP_MAX = neuron.BIAS_EXP_RANGE[1]
_BIAS_MAX = _MANT_HI << _EXP_MAX
_D_LO, _D_HI = neuron.DELAY_RANGE


class NIRImportError(ChipemuError):
    """A NIR graph that chipemu cannot convert (unsupported node, value out of range)."""


@dataclass(frozen=True)
class QuantizationReport:
    """What quantizing the float NIR network to Loihi fixed point changed.

    Errors are relative: weights to ``max|W|`` (``|w/s - W| / max|W|``), thresholds to the
    float threshold ``v_threshold*s/(g_u*g_v)``, decays to the float per-step keep factor
    ``1 - dt/tau``, biases to the float bias; all are maxima over every value (the weight
    error also has a mean over every matrix entry).
    """

    weight_scale: float
    weight_scale_auto: bool
    weight_error_max: float
    weight_error_mean: float
    threshold_error_max: float
    decay_error_max: float
    bias_error_max: float
    synapses: int
    synapses_dropped: int
    dt: float
    nodes: tuple[tuple[str, str], ...]  #: (node key, NIR type) of every converted node
    notes: tuple[str, ...] = ()

    @property
    def nodes_converted(self) -> int:
        return len(self.nodes)

    def summary(self) -> str:
        kinds: dict[str, int] = {}
        for _, t in self.nodes:
            kinds[t] = kinds.get(t, 0) + 1
        made = ", ".join(f"{n} {t}" for t, n in kinds.items()) or "no nodes"
        how = "chosen automatically" if self.weight_scale_auto else "given"
        text = (f"Converted {self.nodes_converted} NIR nodes ({made}) at dt = {self.dt:g} s with weight "
                f"scale {self.weight_scale:.6g} ({how}): {self.synapses} synapses"
                f"{f' ({self.synapses_dropped} weights rounded to 0 and dropped)' if self.synapses_dropped else ''}; "
                f"weight error max {self.weight_error_max:.3%} / mean {self.weight_error_mean:.3%} of max|W|, "
                f"threshold rounding error max {self.threshold_error_max:.3%}, decay factor error max "
                f"{self.decay_error_max:.3%}, bias error max {self.bias_error_max:.3%}.")
        if self.notes:
            text += " Notes: " + " ".join(n if n.endswith(".") else n + "." for n in self.notes)
        return text


def _nir():
    try:
        import nir
    except ImportError:
        raise NIRImportError("importing NIR needs the optional package 'nir': pip install 'chipemu[nir]'") from None
    return nir


def _tname(node) -> str:
    return type(node).__name__


def _vec(key: str, node, param: str, value, n: int) -> np.ndarray:
    """``value`` broadcast to a finite float array of shape (n,)."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.size == 1:
        arr = np.full(n, float(arr.reshape(-1)[0]))
    arr = arr.reshape(-1)
    if arr.size != n:
        raise NIRImportError(f"node '{key}' ({_tname(node)}): parameter '{param}' has {arr.size} values, expected 1 or {n}")
    if not np.all(np.isfinite(arr)):
        raise NIRImportError(f"node '{key}' ({_tname(node)}): parameter '{param}' is not finite")
    return arr


def _positive(key, node, param, arr):
    if np.any(arr <= 0):
        i = int(np.flatnonzero(arr <= 0)[0])
        raise NIRImportError(f"node '{key}' ({_tname(node)}): {param} = {arr[i]:g} (at index {i}) must be > 0")


def _zero(key, node, param, arr, remedy):
    if np.any(arr != 0):
        i = int(np.flatnonzero(arr != 0)[0])
        raise NIRImportError(f"node '{key}' ({_tname(node)}): {param} = {arr[i]:g} (at index {i}) is not supported; "
                             f"Loihi neurons rest and reset at 0 ({remedy})")


@dataclass
class _Neuron:
    key: str
    kind: str
    size: int
    du: np.ndarray
    dv: np.ndarray
    keep_u: np.ndarray  # float per-step keep factors the registers approximate
    keep_v: np.ndarray
    vth_unit: np.ndarray  # float vth register per unit weight scale: v_threshold / (g_u g_v)
    bias_unit: np.ndarray  # float bias per unit weight scale per unit S: 64 * (I_b / b) / g_u


def _decay(x: np.ndarray, minus_one: bool) -> np.ndarray:
    reg = np.round(4096.0 * x) - (1 if minus_one else 0)
    return np.clip(reg, 0, 4095).astype(np.int64)


def _neuron(nir, key: str, node, dt: float) -> _Neuron:
    n = int(np.asarray(node.v_threshold).size)
    vec = lambda p: _vec(key, node, p, getattr(node, p), n)  # noqa: E731
    vthr = vec("v_threshold")
    if np.any(vthr < 0):
        i = int(np.flatnonzero(vthr < 0)[0])
        raise NIRImportError(f"node '{key}' ({_tname(node)}): v_threshold = {vthr[i]:g} (at index {i}) must be >= 0")
    reset = node.v_reset if getattr(node, "v_reset", None) is not None else 0.0
    _zero(key, node, "v_reset", _vec(key, node, "v_reset", reset, n), "set v_reset = 0")
    r = vec("r")
    _positive(key, node, "r", r)
    if isinstance(node, nir.CubaLIF):
        tau_syn, tau_mem, w_in = vec("tau_syn"), vec("tau_mem"), vec("w_in")
        for p, a in (("tau_syn", tau_syn), ("tau_mem", tau_mem), ("w_in", w_in)):
            _positive(key, node, p, a)
        _zero(key, node, "v_leak", vec("v_leak"),
              "set v_leak = 0 and fold the offset into the threshold or an Affine bias")
        g_u = dt * w_in / tau_syn
        g_v = dt * r / tau_mem
        du, dv = _decay(dt / tau_syn, True), _decay(dt / tau_mem, False)
        keep_u, keep_v = 1 - dt / tau_syn, 1 - dt / tau_mem
        bias_unit = 64.0 * w_in / g_u  # = 64 tau_syn / dt
    elif isinstance(node, nir.LIF):
        tau = vec("tau")
        _positive(key, node, "tau", tau)
        _zero(key, node, "v_leak", vec("v_leak"),
              "set v_leak = 0 and fold the offset into the threshold or an Affine bias")
        g_u = np.ones(n)
        g_v = dt * r / tau
        du, dv = np.full(n, 4095, np.int64), _decay(dt / tau, False)
        keep_u, keep_v = np.zeros(n), 1 - dt / tau
        bias_unit = np.full(n, 64.0)
    else:  # IF
        g_u = np.ones(n)
        g_v = dt * r
        du, dv = np.full(n, 4095, np.int64), np.zeros(n, np.int64)
        keep_u, keep_v = np.zeros(n), np.ones(n)
        bias_unit = np.full(n, 64.0)
    return _Neuron(key, _tname(node), n, du, dv, np.clip(keep_u, 0, None), np.clip(keep_v, 0, None),
                   vthr / (g_u * g_v), bias_unit)


@dataclass
class _Path:
    src: str
    dst: str
    name: str
    owner: str  # the node an out-of-range weight is reported against
    weight: np.ndarray  # (dst size, src size) float
    delay: np.ndarray  # (dst size, src size) int


def _delay_steps(key: str, node, dt: float, n: int) -> np.ndarray:
    d = _vec(key, node, "delay", node.delay, n) / dt
    k = np.round(d)
    bad = (np.abs(d - k) > 1e-6 * np.maximum(1.0, np.abs(d))) | (k < _D_LO) | (k > _D_HI)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise NIRImportError(f"node '{key}' (Delay): delay = {d[i] * dt:g} s = {d[i]:g} steps of dt = {dt:g} s "
                             f"(at index {i}); Loihi delays are whole steps in {_D_LO}..{_D_HI}")
    return k.astype(np.int64)


def _as_graph(nir, graph_or_path):
    if isinstance(graph_or_path, nir.NIRGraph):
        return graph_or_path, None
    if isinstance(graph_or_path, (str, Path)):
        path = Path(graph_or_path)
        if not path.is_file():
            raise NIRImportError(f"NIR file {path}: no such file")
        from ..bounded import check_hdf5
        check_hdf5(path, "NIR file", NIRImportError)  # declared sizes checked before anything is loaded
        try:
            graph = nir.read(path)
        except Exception as exc:  # h5py / nir errors on a malformed file: bad input
            raise NIRImportError(f"NIR file {path}: cannot read ({type(exc).__name__}: {exc})") from None
        if not isinstance(graph, nir.NIRGraph):
            raise NIRImportError(f"NIR file {path}: holds a {_tname(graph)}, not a NIRGraph")
        return graph, path
    raise NIRImportError(f"from_nir: expected a nir.NIRGraph or a path to a .nir file, got {type(graph_or_path).__name__}")


def _input_events(key: str, n: int, spikes) -> tuple[np.ndarray, np.ndarray]:
    if spikes is None:
        z = np.zeros(0, np.int64)
        return z, z
    arr = np.asarray(spikes)
    if arr.ndim != 2 or arr.shape[1] != n:
        raise NIRImportError(f"input_spikes for Input '{key}': shape {arr.shape}, expected (steps, {n})")
    if not np.all((arr == 0) | (arr == 1)):
        raise NIRImportError(f"input_spikes for Input '{key}': values must be 0 or 1")
    t, idx = np.nonzero(arr)
    return idx.astype(np.int64), t.astype(np.int64)


def from_nir(graph_or_path, *, dt: float = 1e-3, steps: int = 100, weight_scale: float | None = None,
             input_spikes=None, name: str | None = None) -> tuple[Network, QuantizationReport]:
    """Convert a NIR graph (or ``.nir`` file) to a :class:`Network` and a :class:`QuantizationReport`.

    ``dt``: the simulation step in the time unit of the graph's ``tau``/``delay`` values
    (seconds by NIR convention).  ``steps``: the network's default run length.
    ``weight_scale``: float weight -> integer weight factor, or None to choose the largest
    that fits (``254 / max|W|`` unless a threshold or bias limits it).  ``input_spikes``:
    0/1 array of shape (T, n_in) for the graph's single ``Input`` node, or a dict
    {Input key: array} when there are several, or None (no input events); a 1 at row t is
    an input spike at step t.  ``name``: the network's name (default: the file's stem or
    ``"nir"``).  The conversion formulas are in this module's docstring.
    """
    nir = _nir()
    graph, path = _as_graph(nir, graph_or_path)
    if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
        raise NIRImportError(f"from_nir: dt = {dt!r} must be a finite number > 0")
    auto = weight_scale is None
    if not auto and not (isinstance(weight_scale, (int, float)) and math.isfinite(weight_scale) and weight_scale > 0):
        raise NIRImportError(f"from_nir: weight_scale = {weight_scale!r} must be a finite number > 0 or None")
    dt = float(dt)
    nodes = dict(graph.nodes)
    neuron_types = (nir.CubaLIF, nir.LIF, nir.IF)
    weight_types = (nir.Affine, nir.Linear)
    transfer_types = weight_types + (nir.Delay,)

    # 1. node types
    for key, node in nodes.items():
        if not isinstance(node, (nir.Input, nir.Output) + neuron_types + transfer_types):
            raise NIRImportError(f"node '{key}' ({_tname(node)}) is not supported; supported node types: {SUPPORTED}")
        if isinstance(node, weight_types) and np.asarray(node.weight).ndim != 2:
            raise NIRImportError(f"node '{key}' ({_tname(node)}): weight has shape {np.asarray(node.weight).shape}; "
                                 "only 2-D (out, in) weight matrices are supported")
    succ: dict[str, list[str]] = {k: [] for k in nodes}
    for edge in graph.edges:
        a, b = edge
        for k in (a, b):
            if k not in nodes:
                raise NIRImportError(f"edge {a!r} -> {b!r}: no node named {k!r} in the graph")
        if isinstance(nodes[b], nir.Input):
            raise NIRImportError(f"edge '{a}' -> '{b}': an Input node cannot have incoming edges")
        succ[a].append(b)

    # node order: breadth first from the Input nodes, keys sorted at each level, so that the
    # result does not depend on dict order (nir.read returns nodes sorted by key)
    order: list[str] = []
    frontier = sorted(k for k, n in nodes.items() if isinstance(n, nir.Input))
    while frontier:
        order += [k for k in frontier if k not in order]
        frontier = sorted({b for a in frontier for b in succ[a]} - set(order))
    order += sorted(set(nodes) - set(order))
    nodes = {k: nodes[k] for k in order}
    succ = {k: sorted(set(succ[k])) for k in order}

    # 2. neurons and inputs
    neurons = {k: _neuron(nir, k, n, dt) for k, n in nodes.items() if isinstance(n, neuron_types)}
    in_sizes = {k: int(np.prod(np.asarray(n.input_type["input"]))) for k, n in nodes.items() if isinstance(n, nir.Input)}
    size_of = {**in_sizes, **{k: nn.size for k, nn in neurons.items()}}

    # 3. paths between spiking nodes
    paths: list[_Path] = []
    biases: dict[tuple[str, str], np.ndarray] = {}
    visited: set[str] = set()

    def walk(src, at, w, wkey, d_pre, d_post, via, size):
        for nxt in succ[at]:
            node = nodes[nxt]
            if nxt in neurons:
                if size != neurons[nxt].size:
                    raise NIRImportError(f"node '{nxt}' ({_tname(node)}): receives {size} values from "
                                         f"'{via[-1] if via else src}' but has {neurons[nxt].size} neurons")
                if w is None:
                    wm = np.eye(size)
                    name = owner = f"{src}->{nxt}"
                else:
                    wm = w
                    owner = wkey
                    name = wkey if len(succ[wkey]) == 1 and not any(p.name == wkey for p in paths) else f"{wkey}->{nxt}"
                dp = d_post if d_post is not None else np.zeros(size, np.int64)
                delay = d_pre[None, :] + dp[:, None]
                if delay.size and delay.max() > _D_HI:
                    raise NIRImportError(f"path {' -> '.join((src,) + via + (nxt,))}: total delay {int(delay.max())} "
                                         f"steps exceeds the Loihi maximum {_D_HI}")
                paths.append(_Path(src, nxt, name, owner, wm, delay))
                if wkey is not None and isinstance(nodes[wkey], nir.Affine):
                    biases[(wkey, nxt)] = _vec(wkey, nodes[wkey], "bias", nodes[wkey].bias, size)
            elif isinstance(node, nir.Output):
                if w is not None:
                    raise NIRImportError(f"node '{wkey}' ({_tname(nodes[wkey])}) feeds Output '{nxt}' directly; only "
                                         "spiking nodes (CubaLIF, LIF, IF) can drive an Output on Loihi")
            else:  # transfer node
                if nxt in via:
                    raise NIRImportError(f"node '{nxt}' ({_tname(node)}) is on a cycle without a neuron node")
                visited.add(nxt)
                if isinstance(node, weight_types):
                    if w is not None:
                        raise NIRImportError(f"node '{nxt}' ({_tname(node)}) follows weight node '{wkey}' with no "
                                             "neuron between them; fold the two weight matrices into one")
                    wm = np.asarray(node.weight, dtype=np.float64)
                    if wm.shape[1] != size:
                        raise NIRImportError(f"node '{nxt}' ({_tname(node)}): weight shape {wm.shape} does not take "
                                             f"{size} inputs from '{via[-1] if via else src}'")
                    if not np.all(np.isfinite(wm)):
                        raise NIRImportError(f"node '{nxt}' ({_tname(node)}): weight is not finite")
                    walk(src, nxt, wm, nxt, d_pre, None, via + (nxt,), wm.shape[0])
                else:  # Delay
                    k = _delay_steps(nxt, node, dt, size)
                    if w is None:
                        walk(src, nxt, w, wkey, d_pre + k, d_post, via + (nxt,), size)
                    else:
                        walk(src, nxt, w, wkey, d_pre, (d_post if d_post is not None else 0) + k, via + (nxt,), size)

    for src in list(in_sizes) + list(neurons):
        walk(src, src, None, None, np.zeros(size_of[src], np.int64), None, (), size_of[src])
    for key, node in nodes.items():
        if isinstance(node, transfer_types) and key not in visited:
            raise NIRImportError(f"node '{key}' ({_tname(node)}) is not reached from any Input or neuron node")

    # 4. weight scale
    max_w = max((float(np.abs(p.weight).max()) for p in paths if p.weight.size), default=0.0)
    bias_tot = {k: np.zeros(nn.size) for k, nn in neurons.items()}
    for (_, dst), b in biases.items():
        bias_tot[dst] = bias_tot[dst] + b
    bias_unit = {k: neurons[k].bias_unit * bias_tot[k] for k in neurons}  # bias register value per unit s
    limits = {"weights": _W_HI / max_w if max_w > 0 else math.inf}
    for k, nn in neurons.items():
        if nn.vth_unit.size and nn.vth_unit.max() > 0:
            limits[f"threshold of '{k}'"] = _VTH_MAX / float(nn.vth_unit.max())
        if np.abs(bias_unit[k]).max(initial=0) > 0:
            limits[f"bias of '{k}'"] = _BIAS_MAX / float(np.abs(bias_unit[k]).max())
    notes: list[str] = []
    if auto:
        limiter = min(limits, key=limits.get)
        s = limits[limiter] if math.isfinite(limits[limiter]) else 1.0
        if limiter != "weights" and max_w > 0:
            notes.append(f"the weight scale is limited by the {limiter} range: the largest |W| maps to "
                         f"{s * max_w:.1f}, not {_W_HI}")
    else:
        s = float(weight_scale)

    # 5. quantize
    w_err_max, w_err_sum, w_count, dropped, n_syn = 0.0, 0.0, 0, 0, 0
    qweights = []
    for p in paths:
        q = 2.0 * np.round(s * p.weight / 2.0)
        bad = (q < _W_LO) | (q > _W_HI)
        if bad.any():
            i, j = (int(x[0]) for x in np.nonzero(bad))
            raise NIRImportError(
                f"node '{p.owner}': weight [{i}, {j}] = {p.weight[i, j]:g} x weight_scale {s:g} = {s * p.weight[i, j]:.1f} "
                f"is outside the 8-bit weight range {_W_LO}..{_W_HI}; use weight_scale <= {limits['weights']:.6g} "
                "(or None to choose it automatically)")
        if max_w > 0:
            err = np.abs(q / s - p.weight) / max_w
            w_err_max = max(w_err_max, float(err.max(initial=0)))
            w_err_sum += float(err.sum())
            w_count += err.size
        dropped += int(((q == 0) & (p.weight != 0)).sum())
        n_syn += int((q != 0).sum())
        qweights.append(q.astype(np.int64))

    th_err = dec_err = b_err = 0.0
    regs = {}
    for k, nn in neurons.items():
        th_key, b_key = f"threshold of '{k}'", f"bias of '{k}'"
        vf = s * nn.vth_unit
        vth = np.round(vf)
        if vth.size and vth.max() > _VTH_MAX:
            i = int(np.argmax(vth))
            raise NIRImportError(
                f"node '{k}' ({nn.kind}): threshold register vth = {vf[i]:.0f} (at index {i}) exceeds the maximum "
                f"{_VTH_MAX}; use weight_scale <= {limits.get(th_key, math.inf):.6g} (or None), or a larger "
                "r/w_in/dt relative to tau")
        pos = vf > 0
        if pos.any():
            th_err = max(th_err, float((np.abs(vth - vf)[pos] / vf[pos]).max()))
        if np.any(pos & (vth == 0)):
            notes.append(f"thresholds of '{k}' round to 0 (any positive v fires); use a larger weight_scale")
        ku = (4095 - nn.du) / 4096.0
        kv = (4096 - nn.dv) / 4096.0
        for qf, ff in ((ku, nn.keep_u), (kv, nn.keep_v)):
            dec_err = max(dec_err, float((np.abs(qf - ff) / np.maximum(ff, 1 / 4096)).max(initial=0)))
        bf = s * bias_unit[k]
        if np.abs(bf).max(initial=0) > _BIAS_MAX + 0.5:
            i = int(np.argmax(np.abs(bf)))
            raise NIRImportError(
                f"node '{k}' ({nn.kind}): Affine bias gives a Loihi bias of {bf[i]:.0f} (at index {i}) beyond the "
                f"range +-{_BIAS_MAX} (bias_mant << bias_exp); use weight_scale <= {limits.get(b_key, math.inf):.6g} (or None)")
        exp = np.zeros(nn.size, np.int64)
        for e in range(_EXP_MAX, -1, -1):  # smallest exponent whose mantissa fits
            fits = np.abs(np.round(bf / 2**e)) <= _MANT_HI
            exp = np.where(fits, e, exp)
        mant = np.clip(np.round(bf / 2.0**exp), _MANT_LO, _MANT_HI).astype(np.int64)
        nz = bf != 0
        if nz.any():
            b_err = max(b_err, float((np.abs(mant * 2.0**exp - bf)[nz] / np.abs(bf[nz])).max()))
        regs[k] = dict(du=nn.du, dv=nn.dv, vth=vth.astype(np.int64), bias_mant=mant, bias_exp=exp)
        if nn.kind == "CubaLIF" and np.abs(bias_tot[k]).max(initial=0) > 0:
            notes.append(f"the Affine bias into CubaLIF '{k}' is added to v at its steady-state value from step 0 "
                         "(the float current reaches it after a few tau_syn)")

    # worst-case current for the 24-bit u register
    a_max = {k: np.zeros(nn.size) for k, nn in neurons.items()}
    for p, q in zip(paths, qweights):
        a_max[p.dst] += np.abs(q).sum(axis=1)
    for k, nn in neurons.items():
        u_max = 64.0 * a_max[k] / ((nn.du + 1) / 4096.0)
        if u_max.size and u_max.max() > 2**23:
            notes.append(f"'{k}': the current u could wrap around (24 bits) if all inputs fired every step "
                         f"(worst case {u_max.max():.3g} > 2**23)")

    # 6. build
    net_name = name or (path.stem if path is not None else "nir")
    net = Network(net_name, steps=steps)
    if isinstance(input_spikes, dict):
        unknown = [k for k in input_spikes if k not in in_sizes]
        if unknown:
            raise NIRImportError(f"input_spikes: no Input node named {unknown[0]!r} (Input nodes: {', '.join(in_sizes)})")
        spikes_of = dict(input_spikes)
    elif input_spikes is None:
        spikes_of = {}
    else:
        if len(in_sizes) != 1:
            raise NIRImportError(f"input_spikes: the graph has {len(in_sizes)} Input nodes; give a dict "
                                 "{Input key: (steps, n) array}")
        spikes_of = {next(iter(in_sizes)): input_spikes}
    for k, n in in_sizes.items():
        idx, t = _input_events(k, n, spikes_of.get(k))
        net.add_input(k, n, idx, t)
    for k, nn in neurons.items():
        net.add_population(k, nn.size, **regs[k])
    for p, q in zip(paths, qweights):
        dst, src = np.nonzero(q)
        net.connect(p.src, p.dst, "explicit", src=src, dst=dst, weight=q[dst, src], delay=p.delay[dst, src],
                    name=p.name)

    converted = tuple((k, _tname(n)) for k, n in nodes.items() if k in size_of or k in visited)
    report = QuantizationReport(
        weight_scale=float(s), weight_scale_auto=auto, weight_error_max=w_err_max,
        weight_error_mean=w_err_sum / w_count if w_count else 0.0, threshold_error_max=th_err,
        decay_error_max=dec_err, bias_error_max=b_err, synapses=n_syn, synapses_dropped=dropped, dt=dt,
        nodes=converted, notes=tuple(notes))
    return net, report


def load_nir(path, **kw) -> Network:
    """The network of a ``.nir`` file (:func:`from_nir` keyword arguments pass through).

    The hook for ``.nir`` NETWORK arguments on the command line; call :func:`from_nir` to
    get the :class:`QuantizationReport` too.
    """
    return from_nir(path, **kw)[0]
