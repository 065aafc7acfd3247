"""from_nir: walk the graph, choose the weight scale, quantise, build the Network."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ... import neuron
from ...network import Network
from ..common import spike_events
from .graph import (
    NIRImportError,
    Passthrough,
    as_graph,
    inline,
    io_shape,
    nir_module,
    order_nodes,
    tname,
)
from .neurons import NeuronNode, convert_neuron, is_neuron, node_shape
from .ops import Chain, Op, is_linear, make_op
from .report import QuantizationReport

SUPPORTED = ("Input, Output, Affine, Linear, Scale, Conv1d, Conv2d, SumPool2d, AvgPool2d, Flatten, Delay (whole "
             "steps), CubaLIF, LIF, IF, CubaLI, LI, I, nested NIRGraph")

_W_LO, _W_HI = neuron.WEIGHT_RANGE
_VTH_MAX = neuron.VTH_RANGE[1]
_MANT_LO, _MANT_HI = neuron.BIAS_MANT_RANGE
_EXP_MAX = neuron.BIAS_EXP_RANGE[1]
_BIAS_MAX = _MANT_HI << _EXP_MAX
_D_HI = neuron.DELAY_RANGE[1]


# ------------------------------------------------------------------------ structure
@dataclass
class Graph:
    """The inlined graph: nodes in a deterministic order, successors, sources."""

    nodes: dict
    succ: dict
    inputs: dict      # Input key -> shape
    neurons: dict     # neuron key -> NeuronNode
    flexible: set     # neuron keys with scalar parameters and no declared shape (sized by their input)


def _structure(graph, dt: float) -> Graph:
    nir = nir_module()
    nodes, edges = inline(graph)
    for key, node in nodes.items():
        if not (isinstance(node, (nir.Input, nir.Output)) or is_neuron(node) or is_linear(node)):
            raise NIRImportError(f"node '{key}' ({tname(node)}) is not supported; supported node types: {SUPPORTED}")
    succ: dict[str, list[str]] = {k: [] for k in nodes}
    for a, b in edges:
        for k in (a, b):
            if k not in nodes:
                raise NIRImportError(f"edge {a!r} -> {b!r}: no node named {k!r} in the graph")
        if isinstance(nodes[b], nir.Input):
            raise NIRImportError(f"edge '{a}' -> '{b}': an Input node cannot have incoming edges")
        succ[a].append(b)
    inputs = {k: io_shape(n, "output") or io_shape(n) or (1,) for k, n in nodes.items() if isinstance(n, nir.Input)}
    order = order_nodes(nodes, succ, list(inputs))
    nodes = {k: nodes[k] for k in order}
    succ = {k: sorted(set(succ[k])) for k in order}
    neurons = {k: convert_neuron(k, n, dt) for k, n in nodes.items() if is_neuron(n)}
    flexible = {k for k, n in nodes.items() if is_neuron(n) and node_shape(n) is None}
    return Graph(nodes, succ, inputs, neurons, flexible)


def _chains(g: Graph, dt: float) -> tuple[list[Chain], set[str]]:
    """Every path of linear nodes from a source (Input or neuron) to a neuron node."""
    nir = nir_module()
    chains: list[Chain] = []
    visited: set[str] = set()

    def walk(src: str, at: str, ops: list[Op], via: tuple[str, ...]):
        shape = ops[-1].out_shape
        for nxt in g.succ[at]:
            node = g.nodes[nxt]
            if nxt in g.neurons:
                size = g.neurons[nxt].size
                if nxt in g.flexible and int(np.prod(shape)) != size:  # scalar parameters: the input's shape
                    g.neurons[nxt] = convert_neuron(nxt, node, dt, shape)
                    size = g.neurons[nxt].size
                g.flexible.discard(nxt)
                if int(np.prod(shape)) != size:
                    raise NIRImportError(f"node '{nxt}' ({tname(node)}): receives {int(np.prod(shape))} values from "
                                         f"'{via[-1] if via else src}' but has {size} neurons")
                chains.append(Chain(src, nxt, list(ops)))
            elif isinstance(node, nir.Output):
                if any(op.kind in ("dense", "conv", "scale") for op in ops):
                    raise NIRImportError(f"node '{ops[-1].key}' ({tname(ops[-1].node)}) feeds Output '{nxt}' "
                                         "directly; only neuron nodes can drive an Output on Loihi (end the graph "
                                         "with a neuron, e.g. an LI read-out)")
            elif isinstance(node, Passthrough) and nxt in via:
                continue
            else:
                if nxt in via:
                    raise NIRImportError(f"node '{nxt}' ({tname(node)}) is on a cycle without a neuron node")
                visited.add(nxt)
                walk(src, nxt, ops + [make_op(nxt, node, shape, dt)], via + (nxt,))

    for src in list(g.inputs) + list(g.neurons):
        shape = g.inputs[src] if src in g.inputs else g.neurons[src].shape
        walk(src, src, [Op(src, None, "reshape", tuple(shape), tuple(shape))], ())
    for key, node in g.nodes.items():
        if is_linear(node) and key not in visited:
            raise NIRImportError(f"node '{key}' ({tname(node)}) is not reached from any Input or neuron node")
    return chains, visited


# ------------------------------------------------------------------------ quantisation
@dataclass
class _Proj:
    chain: Chain
    conv: Op | None           # shared: the conv op
    kernel: np.ndarray | None  # shared: float kernel (scaled by the chain's scalar scales)
    rows: np.ndarray | None    # explicit: target, source, float weight, delay per synapse
    cols: np.ndarray | None
    vals: np.ndarray | None
    delay: np.ndarray | int

    @property
    def weights(self) -> np.ndarray:
        return self.kernel.reshape(-1) if self.conv is not None else self.vals


def _projection(chain: Chain) -> _Proj:
    pre, post = chain.delays()
    conv = chain.shared_conv()
    if conv is not None:
        d = int((pre[0] if pre.size else 0) + (post[0] if post.size else 0))
        if d > _D_HI:
            raise NIRImportError(f"path {chain.src} -> {chain.dst}: total delay {d} steps exceeds the Loihi maximum {_D_HI}")
        return _Proj(chain, conv, conv.kernel * chain.uniform_scale(), None, None, None, d)
    m = chain.sparse()
    delay = pre[m.cols] + post[m.rows]
    if delay.size and delay.max() > _D_HI:
        raise NIRImportError(f"path {chain.src} -> {chain.dst}: total delay {int(delay.max())} steps exceeds the "
                             f"Loihi maximum {_D_HI}")
    return _Proj(chain, None, None, m.rows, m.cols, m.vals, delay)


def _scale_limits(projs: list[_Proj], neurons: dict[str, NeuronNode], bias_in: dict) -> dict[str, float]:
    max_w = max((float(np.abs(p.weights).max()) for p in projs if p.weights.size), default=0.0)
    limits = {"weights": _W_HI / max_w if max_w > 0 else math.inf}
    for k, nn in neurons.items():
        finite = nn.vth_unit[np.isfinite(nn.vth_unit)]
        if finite.size and finite.max() > 0:
            limits[f"threshold of '{k}'"] = _VTH_MAX / float(finite.max())
        if np.abs(bias_in[k]).max(initial=0) > 0:
            limits[f"bias of '{k}'"] = _BIAS_MAX / float(np.abs(bias_in[k]).max())
    return limits


def _bias_registers(bf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(bias_mant, bias_exp)`` of float biases: the smallest exponent whose mantissa fits."""
    exp = np.zeros(bf.size, np.int64)
    for e in range(_EXP_MAX, -1, -1):
        fits = np.abs(np.round(bf / 2**e)) <= _MANT_HI
        exp = np.where(fits, e, exp)
    mant = np.clip(np.round(bf / 2.0**exp), _MANT_LO, _MANT_HI).astype(np.int64)
    return mant, exp


# ------------------------------------------------------------------------ entry point
def from_nir(graph_or_path, *, dt: float = 1e-3, steps: int = 100, weight_scale: float | None = None,
             input_spikes=None, name: str | None = None) -> tuple[Network, QuantizationReport]:
    """Convert a NIR graph (or ``.nir`` file) to a :class:`Network` and a :class:`QuantizationReport`.

    ``dt``: the simulation step in the time unit of the graph's ``tau``/``delay`` values
    (seconds by NIR convention; a graph does not store it).  ``steps``: the network's default
    run length.  ``weight_scale``: float weight -> integer weight factor, or None to choose
    the largest that fits (``254 / max|W|`` unless a threshold or bias limits it).
    ``input_spikes``: 0/1 array (T, n_in) for the graph's single ``Input`` node (C order of
    its shape, a leading batch axis of 1 ignored), a dict {Input key: array} for several,
    or None (no input events).  ``name``: the network's name (default: the file's stem or
    ``"nir"``).  The conversion is described in :mod:`chipemu.importers.nir`.
    """
    graph, path = as_graph(graph_or_path)
    if not (isinstance(dt, (int, float)) and not isinstance(dt, bool) and math.isfinite(dt) and dt > 0):
        raise NIRImportError(f"from_nir: dt = {dt!r} must be a finite number > 0")
    auto = weight_scale is None
    if not auto and not (isinstance(weight_scale, (int, float)) and math.isfinite(weight_scale) and weight_scale > 0):
        raise NIRImportError(f"from_nir: weight_scale = {weight_scale!r} must be a finite number > 0 or None")
    dt = float(dt)
    g = _structure(graph, dt)
    chains, visited = _chains(g, dt)
    projs = [_projection(c) for c in chains]

    # input bias of every neuron node: Affine/Conv biases pushed along the chains, plus v_leak
    bias_in = {k: nn.leak_bias.copy() for k, nn in g.neurons.items()}
    affine_into_cuba = set()
    for c in chains:
        b = c.bias()
        if np.any(b != 0):
            bias_in[c.dst] = bias_in[c.dst] + b
            if g.neurons[c.dst].kind in ("CubaLIF", "CubaLI"):
                affine_into_cuba.add(c.dst)
    bias_unit = {k: g.neurons[k].bias_unit * bias_in[k] for k in g.neurons}
    limits = _scale_limits(projs, g.neurons, bias_unit)
    notes: list[str] = []
    max_w = max((float(np.abs(p.weights).max()) for p in projs if p.weights.size), default=0.0)
    if auto:
        limiter = min(limits, key=limits.get)
        s = limits[limiter] if math.isfinite(limits[limiter]) else 1.0
        if limiter != "weights" and max_w > 0:
            notes.append(f"the weight scale is limited by the {limiter} range: the largest |W| maps to "
                         f"{s * max_w:.1f}, not {_W_HI}")
    else:
        s = float(weight_scale)

    qweights, stats = _quantize_weights(projs, s, max_w, limits)
    regs, reg_stats = _registers(g.neurons, bias_unit, s, limits, notes)
    for k in sorted(affine_into_cuba):
        notes.append(f"the bias into '{k}' ({g.neurons[k].kind}) is added to v at its steady-state value from "
                     "step 0 (the float current reaches it after a few tau_syn)")
    _wrap_notes(projs, qweights, g.neurons, notes)

    net = Network(name or (path.stem if path is not None else "nir"), steps=steps)
    _add_inputs(net, g.inputs, input_spikes)
    shapes = _population_shapes(g, projs)
    for k, nn in g.neurons.items():
        net.add_population(k, nn.size, shape=shapes[k], **regs[k])
    names: set[str] = set()
    for p, q in zip(projs, qweights):
        _connect(net, g, p, q, names)

    converted = tuple((k, tname(n)) for k, n in g.nodes.items()
                      if (k in g.inputs or k in g.neurons or k in visited) and not isinstance(n, Passthrough))
    report = QuantizationReport(
        weight_scale=float(s), weight_scale_auto=auto, weight_error_max=stats["max"],
        weight_error_mean=stats["sum"] / stats["count"] if stats["count"] else 0.0,
        threshold_error_max=reg_stats["threshold"], decay_error_max=reg_stats["decay"],
        bias_error_max=reg_stats["bias"], synapses=stats["synapses"], synapses_dropped=stats["dropped"], dt=dt,
        nodes=converted, notes=tuple(notes), shared_projections=sum(p.conv is not None for p in projs))
    return net, report


def _quantize_weights(projs, s: float, max_w: float, limits: dict):
    stats = {"max": 0.0, "sum": 0.0, "count": 0, "dropped": 0, "synapses": 0}
    out = []
    for p in projs:
        w = p.weights
        q = 2.0 * np.round(s * w / 2.0)
        bad = (q < _W_LO) | (q > _W_HI)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            where = (f"kernel entry {np.unravel_index(i, p.kernel.shape)}" if p.conv is not None
                     else f"weight [{int(p.rows[i])}, {int(p.cols[i])}]")
            raise NIRImportError(
                f"node '{p.chain.owner}': {where} = {w[i]:g} x weight_scale {s:g} = {s * w[i]:.1f} is outside the "
                f"8-bit weight range {_W_LO}..{_W_HI}; use weight_scale <= {limits['weights']:.6g} "
                "(or None to choose it automatically)")
        if max_w > 0 and w.size:
            err = np.abs(q / s - w) / max_w
            stats["max"] = max(stats["max"], float(err.max()))
            stats["sum"] += float(err.sum())
            stats["count"] += err.size
        if p.conv is not None:
            stats["synapses"] += _shared_count(p)
        else:
            stats["dropped"] += int(((q == 0) & (w != 0)).sum())
            stats["synapses"] += int((q != 0).sum())
        out.append(q.astype(np.int64))
    return out, stats


def _shared_count(p: _Proj) -> int:
    from .ops import conv_sparse
    return int(conv_sparse(p.conv).rows.size)


def _registers(neurons: dict[str, NeuronNode], bias_unit: dict, s: float, limits: dict, notes: list):
    th_err = dec_err = b_err = 0.0
    regs = {}
    for k, nn in neurons.items():
        vf = s * nn.vth_unit
        vth = np.where(np.isfinite(vf), np.round(np.where(np.isfinite(vf), vf, 0)), _VTH_MAX)
        finite = np.isfinite(vf)
        if np.any(vth[finite] > _VTH_MAX):
            i = int(np.flatnonzero(finite & (vth > _VTH_MAX))[0])
            raise NIRImportError(
                f"node '{k}' ({nn.kind}): threshold register vth = {vf[i]:.0f} (at index {i}) exceeds the maximum "
                f"{_VTH_MAX}; use weight_scale <= {limits.get(f'threshold of {k!r}', math.inf):.6g} (or None), "
                "or a larger r/w_in/dt relative to tau")
        pos = finite & (vf > 0)
        if pos.any():
            th_err = max(th_err, float((np.abs(vth - vf)[pos] / vf[pos]).max()))
        if np.any(pos & (vth == 0)):
            notes.append(f"thresholds of '{k}' round to 0 (any positive v fires); use a larger weight_scale")
        ku, kv = (4095 - nn.du) / 4096.0, (4096 - nn.dv) / 4096.0
        for qf, ff in ((ku, nn.keep_u), (kv, nn.keep_v)):
            dec_err = max(dec_err, float((np.abs(qf - ff) / np.maximum(ff, 1 / 4096)).max(initial=0)))
        bf = s * bias_unit[k]
        if np.abs(bf).max(initial=0) > _BIAS_MAX + 0.5:
            i = int(np.argmax(np.abs(bf)))
            raise NIRImportError(
                f"node '{k}' ({nn.kind}): its bias gives a Loihi bias of {bf[i]:.0f} (at index {i}) beyond the range "
                f"+-{_BIAS_MAX} (bias_mant << bias_exp); use weight_scale <= "
                f"{limits.get(f'bias of {k!r}', math.inf):.6g} (or None)")
        mant, exp = _bias_registers(bf)
        if np.any(bf != 0):
            b_err = max(b_err, float(np.abs(mant * 2.0**exp - bf).max() / np.abs(bf).max()))
        regs[k] = {"du": nn.du, "dv": nn.dv, "vth": vth.astype(np.int64), "bias_mant": mant, "bias_exp": exp}
        if not nn.fires:
            notes.append(f"'{k}' ({nn.kind}) is a read-out: it never fires (threshold at the maximum register); "
                         "probe its v")
    return regs, {"threshold": th_err, "decay": dec_err, "bias": b_err}


def _wrap_notes(projs, qweights, neurons: dict[str, NeuronNode], notes: list) -> None:
    """A note for each node whose current could wrap the 24-bit u register."""
    a_max = {k: np.zeros(nn.size) for k, nn in neurons.items()}
    for p, q in zip(projs, qweights):
        if p.conv is not None:
            per_out = np.abs(q.reshape(p.conv.kernel.shape)).sum(axis=(1, 2, 3))
            a_max[p.chain.dst] += np.repeat(per_out, neurons[p.chain.dst].size // per_out.size)
        else:
            a_max[p.chain.dst] += np.bincount(p.rows, weights=np.abs(q), minlength=neurons[p.chain.dst].size)
    for k, nn in neurons.items():
        u_max = 64.0 * a_max[k] / ((nn.du + 1) / 4096.0)
        if u_max.size and u_max.max() > 2**23:
            notes.append(f"'{k}': the current u could wrap around (24 bits) if all inputs fired every step "
                         f"(worst case {u_max.max():.3g} > 2**23)")


def _add_inputs(net: Network, inputs: dict, input_spikes) -> None:
    if isinstance(input_spikes, dict):
        unknown = [k for k in input_spikes if k not in inputs]
        if unknown:
            raise NIRImportError(f"input_spikes: no Input node named {unknown[0]!r} (Input nodes: {', '.join(inputs)})")
        spikes_of = dict(input_spikes)
    elif input_spikes is None:
        spikes_of = {}
    else:
        if len(inputs) != 1:
            raise NIRImportError(f"input_spikes: the graph has {len(inputs)} Input nodes; give a dict "
                                 "{Input key: (steps, n) array}")
        spikes_of = {next(iter(inputs)): input_spikes}
    for k, shape in inputs.items():
        n = int(np.prod(shape))
        if spikes_of.get(k) is not None:
            idx, t = spike_events(f"input_spikes for Input '{k}'", spikes_of[k], n)
        else:
            idx = t = np.zeros(0, np.int64)
        net.add_input(k, n, idx, t, shape=tuple(shape))


def _population_shapes(g: Graph, projs: list[_Proj]) -> dict[str, tuple]:
    """Each neuron node's shape; a conv target takes the conv's output shape."""
    shapes = {k: nn.shape for k, nn in g.neurons.items()}
    for p in projs:
        if p.conv is not None:
            shapes[p.chain.dst] = p.conv.out_shape
    return shapes


def _connect(net: Network, g: Graph, p: _Proj, q: np.ndarray, names: set) -> None:
    c = p.chain
    name = c.owner if c.weight_ops else f"{c.src}->{c.dst}"
    if name in names or sum(1 for x in g.succ.get(c.owner, [])) > 1:
        name = f"{c.owner}->{c.dst}"
    names.add(name)
    if p.conv is not None:
        kernel = q.reshape(p.conv.kernel.shape)
        if len(p.conv.conv_in) == 2:
            kernel = kernel[:, :, 0, :]
        net.connect_conv(c.src, c.dst, kernel, delay=int(p.delay), in_shape=p.conv.conv_in, name=name,
                         **p.conv.geometry)
        return
    keep = q != 0
    net.connect(c.src, c.dst, "explicit", src=p.cols[keep], dst=p.rows[keep], weight=q[keep],
                delay=np.asarray(p.delay)[keep], name=name)


def load_nir(path, **kw) -> Network:
    """The network of a ``.nir`` file (:func:`from_nir` keyword arguments pass through)."""
    return from_nir(path, **kw)[0]
