"""Building the Network layer by layer (:data:`LAYER_BUILDERS`) and :func:`from_netx`."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ... import neuron
from ...errors import ChipemuError
from ...network import Network
from .reader import NetxImportError, NetxLayer, _h5py, read_netx
from .registers import (
    _check_register,
    _pair,
    _stored_int,
    check_chip_weights,
    lava_dense_weights,
    layer_bias,
    neuron_registers,
)

#: layer types this importer builds (concat, convT, unpool, dense_comp are refused)
LAYER_TYPES = ("input", "conv", "pool", "flatten", "dense", "dense_rec", "average")
#: neuron types with a builder (the rest are refused, naming the layer and the type)
NEURON_TYPES = ("LOIHI", "CUBA", "SDNN")



@dataclass
class NetxLayerSummary:
    """One converted layer: HDF5 index and type, what it became, and its size."""

    index: int
    type: str
    population: str | None   #: population or input group name (None: flatten)
    neurons: int
    synapses: int             #: synapses into it (expanded count)
    block: int | None         #: netx block index (reset offset), None if not a Lava block

    def to_dict(self) -> dict:
        return {"index": self.index, "type": self.type, "population": self.population, "neurons": self.neurons,
                "synapses": self.synapses, "block": self.block}


@dataclass
class NetxImport:
    """What :func:`from_netx` converted: the file, its layers, the options and any notes."""

    source: str
    layers: list[NetxLayerSummary]
    reset_interval: int | None
    input_mode: str           #: "bias", "spikes" or "none"
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"format": "lava-dl netx", "source": self.source, "reset_interval": self.reset_interval,
                "input": self.input_mode, "layers": [layer.to_dict() for layer in self.layers],
                "notes": list(self.notes)}

    def summary(self) -> str:
        kinds: dict[str, int] = {}
        for layer in self.layers:
            kinds[layer.type] = kinds.get(layer.type, 0) + 1
        text = (f"Imported {len(self.layers)} netx layers ({', '.join(f'{n} {k}' for k, n in kinds.items())}) "
                f"with Lava's integer registers; input: {self.input_mode}"
                + (f"; reset every {self.reset_interval} steps" if self.reset_interval else "") + ".")
        return text + (" Notes: " + " ".join(self.notes) if self.notes else "")


@dataclass
class _Builder:
    """The state carried from layer to layer while building."""

    net: Network
    reset_interval: int | None
    input_spikes: np.ndarray | None
    input_bias: np.ndarray | None
    input_values: np.ndarray | None = None
    prev: str | None = None           # population / input group feeding the next layer
    prev_shape: tuple = ()
    block: int = 0                    # the next Lava block's index (reset offset)
    summaries: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    input_mode: str = "none"

    def reset(self) -> dict:
        if not self.reset_interval:
            return {}
        return {"reset_interval": self.reset_interval, "reset_offset": self.block % self.reset_interval}

    def add_block(self, layer: NetxLayer, regs: dict, bias: np.ndarray, shape: tuple) -> str:
        model = regs.get("model", "lif")
        if model == "lif":
            extra = {"bias_mant": bias, **self.reset()}
        else:  # sigma-delta: netx passes the bias to SigmaDelta only, and resets nothing
            if self.reset_interval and not any("reset_interval" in n for n in self.notes):
                self.notes.append("reset_interval is ignored for SDNN layers, as netx ignores it.")
            if model == "sigma_delta":
                extra = {"bias": bias}
            elif np.any(bias != 0):
                raise NetxImportError(f"{layer.where}: a {model} layer takes no bias (netx's Lava process has none)")
            else:
                extra = {}
        self.net.add_population(layer.name, int(np.prod(shape)), shape=shape, **regs, **extra)
        self.summaries.append(NetxLayerSummary(layer.index, layer.type, layer.name, int(np.prod(shape)), 0, self.block))
        self.block += 1
        self.prev, self.prev_shape = layer.name, shape
        return layer.name

    def add_synapses(self, count: int) -> None:
        self.summaries[-1].synapses += int(count)

    def source(self, layer: NetxLayer, n_in: int) -> str:
        """The group feeding ``layer``; a file without an input layer gets an input group
        ``input`` of ``n_in`` sources (netx's ``Network.inp``)."""
        if self.prev is None:
            self._add_input_group("input", (n_in,), layer)
        return self.prev

    def _add_input_group(self, name: str, shape: tuple, layer: NetxLayer) -> None:
        from ..common import spike_events
        n = int(np.prod(shape))
        if self.input_bias is not None:
            raise NetxImportError(f"input bias: {layer.where} has no input neurons to take a bias; "
                                  "drive the network with input spikes instead")
        idx, t = (spike_events(f"input spikes for {name}", self.input_spikes, n) if self.input_spikes is not None
                  else (np.zeros(0, np.int64), np.zeros(0, np.int64)))
        self.net.add_input(name, n, idx, t, shape=shape)
        self.input_mode = "spikes" if self.input_spikes is not None else "none"
        self.prev, self.prev_shape = name, shape


def _input_layer(b: _Builder, layer: NetxLayer) -> None:
    if b.prev is not None:
        raise NetxImportError(f"{layer.where}: an input layer must come first")
    shape = layer.shape
    if not shape:
        raise NetxImportError(f"{layer.where}: has no shape")
    if layer.neuron is not None and layer.neuron.get("type") == "SDNN":
        if b.input_spikes is not None and b.input_values is None:  # an SDNN file's --input: the values
            b.input_values, b.input_spikes = b.input_spikes, None
        _delta_input(b, layer, neuron_registers(layer), shape)
        return
    if b.input_spikes is not None or layer.neuron is None:
        # spikes replace the input neurons (or there are none: netx feeds Network.inp on)
        b._add_input_group(layer.name, shape, layer)
        b.summaries.append(NetxLayerSummary(layer.index, layer.type, layer.name, layer.size, 0,
                                            b.block if layer.neuron is not None else None))
        if layer.neuron is not None:
            b.block += 1
        return
    regs = neuron_registers(layer)
    if b.input_values is not None:
        raise NetxImportError(f"{layer.where}: input values drive an SDNN input layer; this one is "
                              f"'{layer.neuron.get('type', '')}' (give input spikes or an input bias)")
    bias = np.zeros(layer.size, np.int64)
    if b.input_bias is not None:
        bias = _input_bias(layer, b.input_bias)
        b.input_mode = "bias"
    b.add_block(layer, regs, bias, shape)


def _delta_input(b: _Builder, layer: NetxLayer, regs: dict, shape: tuple) -> None:
    """An SDNN input layer: Lava's ``Delta`` encoder, driven by ``input_values``.

    Lava writes the value of step t into the Delta's ``a_in`` at step t (no synapse); here
    an input group ``input`` sends it at step t - 1 as a graded payload over a one-to-one
    projection.  chipemu's weights are even, so the projection has weight 2 and the Delta
    runs with ``spike_exp - 1`` and twice the threshold: ``(2 x) << (e - 1) = x << e`` and
    ``(2 vth) << (e - 1 + s) = vth << (e + s)``, the same integers as Lava's.  Nothing is
    sent before step 0, so the value of step 0 must be 0 (prepend a zero step otherwise).
    """
    if b.input_bias is not None:
        raise NetxImportError(f"{layer.where}: an SDNN input layer is driven by input values, not a bias")
    n = layer.size
    regs = {**regs, "vth": 2 * regs["vth"], "spike_exp": regs["spike_exp"] - 1}
    if b.input_values is None:
        b.net.add_input("input", n, shape=shape)
        b.input_mode = "none"
    else:
        x = np.asarray(b.input_values)
        if x.ndim == 1 + len(shape) and x.shape[1:] == tuple(reversed(shape)):  # Lava's (t, x, y, c) layout
            x = x.transpose((0,) + tuple(range(x.ndim - 1, 0, -1)))
        x = x.reshape(x.shape[0], -1) if x.ndim > 1 else x.reshape(-1, 1)
        if x.shape[1] != n or x.dtype.kind not in "iuf" or not np.all(np.isfinite(x)) or np.any(x != np.round(x)):
            raise NetxImportError(f"input values for {layer.where}: need integers of shape (steps, {n}) in the file's "
                                  f"C order or (steps, {', '.join(map(str, reversed(shape)))}) in Lava's; got {x.shape}")
        x = x.astype(np.int64)
        if x.shape[0] and np.any(x[0] != 0):
            raise NetxImportError(f"input values for {layer.where}: step 0 must be all 0 (an input reaches the "
                                  "Delta one step after it is sent); prepend a zero step, in Lava too")
        t, i = np.nonzero(x[1:])
        b.net.add_input("input", n, i, t, spike_val=x[1:][t, i], shape=shape)
        b.input_mode = "values"
    b.prev, b.prev_shape = "input", shape
    b.add_block(layer, regs, np.zeros(n, np.int64), shape)
    b.net.connect("input", layer.name, "one_to_one", weight=2, name=f"input->{layer.name}")
    b.add_synapses(n)


def _input_bias(layer: NetxLayer, arr) -> np.ndarray:
    """``arr`` in Lava's layout (the reverse of the file's shape, ``(x, y, c)``) or flat in
    the file's C order, as bias mantissas in C order."""
    a = np.asarray(arr)
    if a.dtype.kind not in "iuf" or not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
        raise NetxImportError(f"input bias for {layer.where}: must hold integers")
    rev = tuple(reversed(layer.shape))
    if a.ndim == 1 and a.size == layer.size:
        flat = a
    elif a.shape == rev:
        flat = a.transpose(tuple(range(a.ndim))[::-1]).reshape(-1)
    else:
        raise NetxImportError(f"input bias for {layer.where}: shape {a.shape}; expected Lava's layout {rev} "
                              f"(x, y, c: the reverse of the file's shape {layer.shape}) or ({layer.size},)")
    flat = flat.astype(np.int64)
    _check_register(layer, "bias_mant", flat, "the input bias")
    return flat


def _conv_out(n: int, k: int, s: int, p: int, d: int) -> int:
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def _conv_like(b: _Builder, layer: NetxLayer, kernel: np.ndarray, groups: int, what: str) -> None:
    """A conv or pool layer: ``kernel`` (out, in/groups, kH, kW) over the previous layer."""
    if b.prev is None:
        raise NetxImportError(f"{layer.where}: the input shape is unknown (no input layer before it)")
    if len(b.prev_shape) != 3:
        raise NetxImportError(f"{layer.where}: needs a (C, H, W) input, the previous layer has shape {b.prev_shape}")
    c, h, w = b.prev_shape
    out_c, in_per_group, kh, kw = kernel.shape
    sh, sw = _pair(layer, "stride", 1)
    ph, pw = _pair(layer, "padding", 0)
    dh, dw = _pair(layer, "dilation", 1)
    if groups < 1 or c % groups or in_per_group * groups != c or out_c % groups:
        raise NetxImportError(f"{layer.where}: weight {kernel.shape} with groups = {groups} does not take "
                              f"{c} input channels")
    shape = (out_c, _conv_out(h, kh, sh, ph, dh), _conv_out(w, kw, sw, pw, dw))
    if layer.shape and int(np.prod(layer.shape)) != int(np.prod(shape)):
        raise NetxImportError(f"{layer.where}: stored shape {layer.shape} but the {what} of {b.prev_shape} "
                              f"gives {shape}")
    if layer.get("delay") is not None:
        b.notes.append(f"{layer.where}: its delays are ignored, as netx ignores them.")
    regs = neuron_registers(layer)
    bias = layer_bias(NetxLayer(layer.index, layer.type, shape, layer.data, layer.neuron), channels=out_c,
                      register="bias" if regs.get("model") == "sigma_delta" else "bias_mant")
    pre = b.prev
    b.add_block(layer, regs, bias, shape)
    proj = b.net.connect_conv(pre, layer.name, check_chip_weights(layer, what, kernel), stride=(sh, sw),
                              padding=(ph, pw), dilation=(dh, dw), groups=groups, name=f"{pre}->{layer.name}")
    b.add_synapses(len(proj))


def _conv_layer(b: _Builder, layer: NetxLayer) -> None:
    w = _stored_int(layer, "weight")
    if w.ndim == 5:
        w = w[..., 0] if w.shape[4] == 1 else None
    if w is None or w.ndim != 4:
        raise NetxImportError(f"{layer.where}: weight shape {np.shape(layer.get('weight'))}; expected "
                              "(out, in/groups, kH, kW[, 1])")
    groups = int(np.asarray(layer.get("groups", 1)).reshape(-1)[0])
    _conv_like(b, layer, w, groups, "conv")


def _pool_layer(b: _Builder, layer: NetxLayer) -> None:
    """SLAYER's pool block: one kernel summed over each channel separately (a depth-wise conv)."""
    w = _stored_int(layer, "weight")
    w = w.reshape(w.shape[:4]) if w.ndim == 5 and w.shape[4] == 1 else w
    c = b.prev_shape[0] if len(b.prev_shape) == 3 else 0
    if w.ndim != 4 or w.shape[1] != 1 or w.shape[0] not in (1, c):
        raise NetxImportError(f"{layer.where}: weight shape {w.shape}; expected (1, 1, kH, kW) or (C, 1, kH, kW)")
    kernel = np.repeat(w, c, axis=0) if w.shape[0] == 1 else w
    if layer.get("stride") is None:  # SLAYER's default stride is the kernel size
        layer.data["stride"] = np.array(w.shape[2:4])
    _conv_like(b, layer, kernel, max(c, 1), "pool")


def _flatten_layer(b: _Builder, layer: NetxLayer) -> None:
    if b.prev is None:
        raise NetxImportError(f"{layer.where}: nothing to flatten (no layer before it)")
    b.summaries.append(NetxLayerSummary(layer.index, layer.type, None, 0, 0, None))
    b.prev_shape = (int(np.prod(b.prev_shape)),)  # the next dense layer reads C order


def _dense_delays(layer: NetxLayer, shape: tuple[int, int]) -> np.ndarray:
    """netx's delay handling: clipped to 62, per output row, per input column or full."""
    d = layer.get("delay")
    if d is None:
        return np.zeros(shape, np.int64)
    d = np.asarray(d)
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise NetxImportError(f"{layer.where}: delays must be finite and >= 0")
    if np.any(d != np.floor(d)):
        raise NetxImportError(f"{layer.where}: delays must be whole steps")
    d = d.astype(np.int64)
    if d.size and d.max() > neuron.DELAY_RANGE[1]:
        warnings.warn(f"{layer.where}: delays up to {int(d.max())} clipped to {neuron.DELAY_RANGE[1]}, as netx does",
                      stacklevel=2)
        d = np.clip(d, 0, neuron.DELAY_RANGE[1])
    if d.ndim == 0 or d.size == 1:
        return np.full(shape, int(d.reshape(-1)[0]), np.int64)
    if d.ndim == 1 and d.size == shape[0]:
        return np.repeat(d.reshape(-1, 1), shape[1], axis=1)
    if d.ndim == 1 and d.size == shape[1]:
        return np.repeat(d.reshape(1, -1), shape[0], axis=0)
    if d.shape == shape:
        return d
    raise NetxImportError(f"{layer.where}: delay shape {d.shape} does not fit weight shape {shape}")


def _dense_layer(b: _Builder, layer: NetxLayer) -> None:
    w = _stored_int(layer, "weight")
    n_out = layer.size
    w = w.reshape(n_out, -1) if w.ndim == 1 else w.reshape(w.shape[0], -1)
    if w.shape[0] != n_out:
        raise NetxImportError(f"{layer.where}: weight has {w.shape[0]} rows for {n_out} neurons")
    rec = layer.type == "dense_rec"
    w_rec = _stored_int(layer, "weight_rec").reshape(n_out, -1) if rec else np.zeros((n_out, 0), np.int64)
    if rec and w_rec.shape[1] != n_out:
        raise NetxImportError(f"{layer.where}: weight_rec shape {w_rec.shape}, expected ({n_out}, {n_out})")
    pre = b.source(layer, w.shape[1])
    n_in = int(np.prod(b.prev_shape))
    if w.shape[1] != n_in:
        raise NetxImportError(f"{layer.where}: weight takes {w.shape[1]} inputs, the previous layer has {n_in}")
    try:
        both = lava_dense_weights(np.hstack([w, w_rec]))
    except ValueError as exc:
        raise NetxImportError(f"{layer.where}: {exc}") from None
    w_eff = check_chip_weights(layer, "dense", both[:, :n_in])
    delay = _dense_delays(layer, w.shape)
    regs = neuron_registers(layer)
    bias = layer_bias(layer, register="bias" if regs.get("model") == "sigma_delta" else "bias_mant")
    b.add_block(layer, regs, bias, (n_out,))
    for src_name, mat, dly, tag in ((pre, w_eff, delay, ""), (layer.name, both[:, n_in:], None, " recurrent")):
        if mat.size == 0:
            continue
        if tag:
            mat = check_chip_weights(layer, "recurrent", mat)
        dst, src = np.nonzero(mat)
        b.net.connect(src_name, layer.name, "explicit", src=src, dst=dst, weight=mat[dst, src],
                      delay=0 if dly is None else dly[dst, src], name=f"{src_name}->{layer.name}")
        b.add_synapses(src.size)


def _average_layer(b: _Builder, layer: NetxLayer) -> None:
    if b.prev is None:
        raise NetxImportError(f"{layer.where}: nothing to average (no layer before it)")
    groups = int(layer.shape[0]) if layer.shape else 0
    n_in = int(np.prod(b.prev_shape))
    if groups < 1 or n_in % groups:
        raise NetxImportError(f"{layer.where}: {n_in} inputs do not split into {groups} groups")
    pre = b.prev
    b.net.add_population(layer.name, groups, du=neuron.DU_RANGE[1], dv=0, vth=neuron.VTH_RANGE[1])
    src = np.arange(n_in)
    b.net.connect(pre, layer.name, "explicit", src=src, dst=src // (n_in // groups), weight=2,
                  name=f"{pre}->{layer.name}")
    b.summaries.append(NetxLayerSummary(layer.index, layer.type, layer.name, groups, n_in, None))
    b.prev, b.prev_shape = layer.name, (groups,)
    b.notes.append(f"{layer.where}: read-out population '{layer.name}' never fires; its v is 128 x the spikes "
                   "of its group so far (probe it).")


#: layer type -> builder(b, layer); i.e. what each netx layer type becomes
LAYER_BUILDERS = {"input": _input_layer, "conv": _conv_layer, "pool": _pool_layer, "flatten": _flatten_layer,
                  "dense": _dense_layer, "dense_rec": _dense_layer, "average": _average_layer}


def from_netx(path, *, input_spikes=None, input_bias=None, reset_interval: int | None = None,
              steps: int | None = None, name: str | None = None, input_values=None) -> tuple[Network, NetxImport]:
    """Build the chipemu :class:`Network` netx builds in Lava from the file ``path``.

    ``input_bias``: the input layer's bias mantissas, in Lava's ``(x, y, c)`` layout (the
    reverse of the file's shape) or flat in the file's C order.  ``input_spikes``: 0/1 array
    (steps, n_inputs) in C order of the input shape; it replaces the input layer's neurons
    (or feeds the first layer of a file without an input layer).  ``reset_interval``: netx's
    ``reset_interval`` (None: no reset).  ``steps``: default run length (else the rows of
    ``input_spikes``, else the file's ``simulation/tSample``, else 100).  ``input_values``:
    integers (steps, n_inputs) for an SDNN file (neuron type ``SDNN``): row t is the value
    Lava's ``Delta`` input layer receives at step t (C order of the input shape, or Lava's
    ``(steps, x, y, c)``); row 0 must be 0 (see :func:`_delta_input`).
    """
    layers = read_netx(path)
    if reset_interval is not None and (isinstance(reset_interval, bool) or int(reset_interval) != reset_interval
                                       or not 1 <= reset_interval <= neuron.RESET_INTERVAL_RANGE[1]):
        raise NetxImportError(f"reset interval {reset_interval!r} must be an integer >= 1")
    if input_spikes is not None and input_bias is not None:
        raise NetxImportError("give input spikes or an input bias, not both: spikes replace the input neurons")
    if input_values is not None and (input_spikes is not None or input_bias is not None):
        raise NetxImportError("give input values (SDNN files) or input spikes / an input bias, not both")
    if steps is None:
        steps = (len(input_spikes) if input_spikes is not None else len(input_values) if input_values is not None
                 else _file_steps(path))
    net = Network(name or Path(path).stem, steps=steps)
    b = _Builder(net, int(reset_interval) if reset_interval else None,
                 None if input_spikes is None else np.asarray(input_spikes), input_bias,
                 None if input_values is None else np.asarray(input_values))
    for layer in layers:
        builder = LAYER_BUILDERS.get(layer.type)
        if builder is None:
            raise NetxImportError(f"{layer.where}: layer type '{layer.type}' is not supported "
                                  f"(supported: {', '.join(LAYER_TYPES)})")
        try:
            builder(b, layer)
        except NetxImportError:
            raise
        except ChipemuError as exc:  # a rule of the Network builder: name the layer
            raise NetxImportError(f"{layer.where}: {exc}") from None
    if not net.populations:
        raise NetxImportError(f"netx file {path}: no layer with neurons")
    if b.input_mode == "none":
        warnings.warn(f"netx file {path}: no input given (input spikes or an input bias); the network is driven "
                      "by its biases only", stacklevel=2)
    return net, NetxImport(str(path), b.summaries, b.reset_interval, b.input_mode, b.notes)


def _file_steps(path) -> int:
    h5py = _h5py()
    with h5py.File(path, "r") as fh:
        if "simulation/tSample" in fh:
            v = np.asarray(fh["simulation/tSample"][()]).reshape(-1)
            if v.size == 1 and np.isfinite(v[0]) and 1 <= v[0] <= 2**31 - 1:
                return int(v[0])
    return 100


def load_netx(path, **kw) -> Network:
    """The network of a ``.net`` file (:func:`from_netx` keyword arguments pass through)."""
    return from_netx(path, **kw)[0]
