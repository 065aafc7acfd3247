"""What netx gives Lava for a layer: neuron registers, biases and integer weights."""

from __future__ import annotations

import numpy as np

from ... import neuron
from .reader import NetxImportError, NetxLayer

BIAS_EXP = 6  #: netx's bias exponent for CUBA neurons


def _int_param(layer: NetxLayer, key: str) -> int:
    if key not in layer.neuron:
        raise NetxImportError(f"{layer.where}: neuron has no '{key}'")
    v = np.asarray(layer.neuron[key]).reshape(-1)
    if v.size != 1 or not np.isfinite(v[0]):
        raise NetxImportError(f"{layer.where}: neuron '{key}' = {layer.neuron[key]!r} must be one number")
    return int(v[0])


def _check_register(layer: NetxLayer, name: str, value, what: str):
    lo, hi = neuron.PARAM_RANGES[name]
    arr = np.asarray(value)
    bad = (arr < lo) | (arr > hi)
    if bad.any():
        i = int(np.flatnonzero(bad.reshape(-1))[0])
        raise NetxImportError(f"{layer.where}: {what} gives {name} = {int(arr.reshape(-1)[i])}, outside Loihi's "
                              f"range {lo}..{hi}")


def cuba_registers(layer: NetxLayer) -> dict:
    """netx's CUBA (``LOIHI``/``CUBA``) neuron: ``du = iDecay - 1``, ``dv = vDecay``,
    ``vth = vThMant``, ``bias_exp = 6`` (the bias mantissa is set per layer)."""
    du = _int_param(layer, "iDecay") - 1
    dv = _int_param(layer, "vDecay")
    vth = _int_param(layer, "vThMant")
    _check_register(layer, "du", du, f"iDecay = {du + 1}")
    _check_register(layer, "dv", dv, f"vDecay = {dv}")
    _check_register(layer, "vth", vth, f"vThMant = {vth}")
    return {"du": du, "dv": dv, "vth": vth, "bias_exp": BIAS_EXP}


#: netx's spike_exp and state_exp for SDNN neurons (``Network(spike_exp=6)``; state_exp fixed)
SDNN_EXP = 6


def sdnn_registers(layer: NetxLayer) -> dict:
    """netx's SDNN neuron (docs/neurons.md): the ``input`` layer is Lava's ``Delta``
    encoder, a layer with ``sigma_output`` the ``Sigma`` decoder, every other layer a
    ``SigmaDelta`` with ReLU; ``vth = vThMant``, ``spike_exp = state_exp = 6``, cumulative
    error off.  netx reads neither ``activation`` nor ``cum_error``.  Returns the population
    keyword arguments (``model`` and registers; the bias is set per layer)."""
    if layer.neuron.get("messageBits") is not None and int(np.asarray(layer.neuron["messageBits"]).reshape(-1)[0]) == 0:
        raise NetxImportError(f"{layer.where}: messageBits = 0 (binary spikes from a sigma-delta layer) is not "
                              "supported; chipemu's sigma-delta neurons always send graded payloads")
    if bool(np.asarray(layer.neuron.get("sigma_output", False)).reshape(-1)[0]):
        return {"model": "sigma"}
    vth = _int_param(layer, "vThMant")
    _check_register(layer, "vth", vth, f"vThMant = {vth}")
    regs = {"vth": vth, "spike_exp": SDNN_EXP, "state_exp": SDNN_EXP}
    if layer.type == "input":
        return {"model": "delta", **regs}
    return {"model": "sigma_delta", "act_mode": 1, **regs}


#: neuron type -> function(layer) -> population keyword arguments (registers; ``model`` for
#: models beside CUBA LIF); extend for new models
NEURON_BUILDERS = {"LOIHI": cuba_registers, "CUBA": cuba_registers, "SDNN": sdnn_registers}


def neuron_registers(layer: NetxLayer) -> dict:
    """The registers of ``layer``'s neurons (refuses types without a builder)."""
    if layer.neuron is None:
        raise NetxImportError(f"{layer.where}: has no 'neuron' group")
    kind = layer.neuron.get("type", "")
    builder = NEURON_BUILDERS.get(kind)
    if builder is None:
        raise NetxImportError(f"{layer.where}: neuron type '{kind}' is not supported (supported: "
                              f"{', '.join(NEURON_BUILDERS)})")
    return builder(layer)


def layer_bias(layer: NetxLayer, channels: int | None = None, register: str = "bias_mant") -> np.ndarray:
    """The bias per compartment (C order of ``layer.shape``): per channel (``channels``
    given and the bias has that many values), per neuron, or a scalar; checked against the
    range of ``register`` (``bias_mant`` for CUBA, ``bias`` for sigma-delta)."""
    b = layer.get("bias")
    if b is None:
        return np.zeros(layer.size, np.int64)
    b = np.asarray(b).reshape(-1)
    if not np.all(np.isfinite(b)):
        raise NetxImportError(f"{layer.where}: bias is not finite")
    b = b.astype(np.int64)  # netx reads it with astype(int): truncation toward zero
    if b.size == layer.size:
        out = b
    elif b.size == 1:
        out = np.full(layer.size, int(b[0]), np.int64)
    elif channels is not None and b.size == channels:
        out = np.repeat(b, layer.size // channels)
    else:
        raise NetxImportError(f"{layer.where}: bias has {b.size} values; expected 1, {layer.size} (per neuron)"
                              + (f" or {channels} (per channel)" if channels else ""))
    if register == "bias_mant":
        _check_register(layer, "bias_mant", out, "its bias")
    else:
        from ...neurons import MODEL_REGISTERS
        r = MODEL_REGISTERS[register]
        bad = (out < r.lo) | (out > r.hi)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise NetxImportError(f"{layer.where}: its bias gives {register} = {int(out[i])}, outside {r.lo}..{r.hi}")
    return out


# ------------------------------------------------------------------------ weights
def lava_dense_weights(weight: np.ndarray) -> np.ndarray:
    """The integer weights a netx ``dense`` block delivers in Lava, per synapse.

    netx's ``optimize_weight_bits`` clips mixed-sign matrices to -256..254, scales by
    ``2**s`` (s from the sign mode) and sets ``weight_exp = -s``; Lava's
    ``PyDenseModelBitAcc`` clips to 8 bits (``clip_weights``), truncates the unused low bits
    (``truncate_weights``) and shifts the summed input right by s.  Each scaled weight is a
    multiple of ``2**s``, so the delivered input is the sum of ``truncated >> s``.
    """
    w = np.asarray(weight, dtype=np.int64)
    if w.size == 0 or not w.any():
        return np.zeros_like(w)
    mx, mn = int(w.max()), int(w.min())
    if (mx > 254 and mn < 0) or (mn < -256 and mx > 0):
        w = np.clip(w, -256, 254)
        mx, mn = int(w.max()), int(w.min())
    if mx < 0:
        mode, signed, scale = "inh", 0, -256 / mn
    elif mn >= 0:
        mode, signed, scale = "exc", 0, 255 / mx
    else:
        mode, signed, scale = "mixed", 1, min(127 / mx, -128 / mn)
    s = int(np.floor(np.log2(scale))) + signed
    if s < 0:
        raise ValueError(f"weights up to {max(abs(mx), abs(mn))} do not fit in 8 bits")
    n = 8
    while n > 0 and np.any(w % (1 << n)):
        n -= 1
    n -= signed
    num_bits = 8 - s - n
    scaled = w << s
    x = -scaled if mode == "inh" else scaled
    lo, hi = (-256, 255) if mode == "mixed" else (0, 255)
    x = np.clip(x, lo, hi)
    trunc = 8 - num_bits + (1 if mode == "mixed" else 0)
    x = (x >> trunc) << trunc
    if mode == "inh":
        x = -x
    return x >> s


def check_chip_weights(layer: NetxLayer, what: str, w: np.ndarray) -> np.ndarray:
    """``w`` as int64 if every weight is even and in -256..254, else an error naming the layer."""
    lo, hi = neuron.WEIGHT_RANGE
    bad = (w < lo) | (w > hi) | (w % 2 != 0)
    if bad.any():
        i = int(np.flatnonzero(bad.reshape(-1))[0])
        v = int(w.reshape(-1)[i])
        why = "is odd" if lo <= v <= hi else f"is outside {lo}..{hi}"
        raise NetxImportError(f"{layer.where}: {what} weight {v} (entry {i}) {why}; Loihi's 8-bit mixed-sign "
                              "weights that chipemu emulates are even integers in -256..254")
    return w.astype(np.int64)


def _stored_int(layer: NetxLayer, key: str) -> np.ndarray:
    w = layer.get(key)
    if w is None:
        raise NetxImportError(f"{layer.where}: has no '{key}'" + (" (complex weights are not supported)"
                                                                   if layer.get("weight_complex") else ""))
    w = np.asarray(w)
    if not np.all(np.isfinite(w)):
        raise NetxImportError(f"{layer.where}: {key} is not finite")
    return w.astype(np.int64)  # netx: astype(int)


def _pair(layer: NetxLayer, key: str, default: int) -> tuple[int, int]:
    v = layer.get(key)
    if v is None:
        return default, default
    v = np.asarray(v).reshape(-1).astype(np.int64)
    if v.size == 1:
        return int(v[0]), int(v[0])
    if v.size != 2:
        raise NetxImportError(f"{layer.where}: {key} has {v.size} values, expected 1 or 2 (H, W)")
    return int(v[0]), int(v[1])


