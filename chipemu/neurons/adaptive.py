"""LIF variants: ``lif_refractory`` (CUBA LIF with a refractory period) and ``atrlif``
(adaptive threshold and refractoriness).

``atrlif`` is bit-exact to Lava's ``PyATRLIFModelFixed`` (lava-nc/lava
``src/lava/proc/atrlif``).  Lava's ``LIFRefractory`` has a floating-point model only; here
it is Loihi's fixed-point CUBA LIF (:mod:`chipemu.neuron`, same registers and arithmetic)
with Lava's refractory rule; it equals Lava's float model wherever the float arithmetic is
exact (e.g. ``du = 4095``, ``dv = 0``: u holds only this step's input, v does not leak),
the recorded cases of ``tests/test_neuron_models.py``.

lif_refractory
--------------
Registers: ``du, dv, vth, bias_mant, bias_exp`` as CUBA LIF, plus ``refractory_period``
(1..2**16-1 steps).  State words ``u, v, ref_end`` (3).  At step t::

    u = wrap24(trunc0(u * (4096 - (du + 1)) / 4096) + (a << 6))       (always)
    where t > ref_end:  v = clip(trunc0(v * (4096 - dv) / 4096) + u + bias, +-(2**23 - 1))
    spike = v > (vth << 6);   where spike: v = 0, ref_end = t + refractory_period

so v is held for the ``refractory_period`` steps after a spike (Lava: ``v`` updates only
while ``refractory_period_end < time_step``, with ``time_step = t + 1``); ``ref_end``
starts at -1.

atrlif
------
Registers (Lava's ``delta_x`` fractions are ``d_x / 4096``)::

    d_i, d_v, d_theta, d_r   0..4095   decays: i keeps (4096 - (d_i + 1))/4096, the others (4096 - d_x)/4096
    theta_0, theta_step      0..4095   base threshold and threshold step (both << 6)
    bias_mant -4096..4095, bias_exp 0..7   bias = bias_mant << bias_exp

State words ``i, v, theta, r`` (theta starts at ``theta_0 << 6``).  At step t::

    i     = wrap24(trunc0(i * (4096 - (d_i + 1)) / 4096) + a * 64)
    v     = clip(trunc0(v * (4096 - d_v) / 4096) + i + bias, +-(2**23 - 1))
    theta = trunc0((theta - TH0) * (4096 - d_theta) / 4096) + TH0        (TH0 = theta_0 << 6)
    r     = trunc0(r * (4096 - d_r) / 4096)
    spike = v - r >= theta
    where spike: r = r + 2 * theta;  theta = theta + (theta_step << 6)    (v is not reset)

theta and r are Lava int32 variables (wrapped at 32 bits, not clipped).
"""

from __future__ import annotations

import numpy as np

from .. import neuron as lif
from .base import NeuronModel, Register, decay12, wrap32

_LIF_REGS = {name: Register(lo, hi, {"vth": 1}.get(name, 0), f"CUBA LIF register {name}")
             for name, (lo, hi) in lif.PARAM_RANGES.items()}


def _wrap_u(u: np.ndarray) -> np.ndarray:
    """LIF's 24-bit current wrap (chipemu.neuron / Lava)."""
    u = np.where(u > lif.U_MAX, u - lif.U_WRAP, u)
    return np.where(u <= -lif.U_MAX, u + lif.U_WRAP, u)


def lif_refractory_step(state: dict, a: np.ndarray, p: dict, t: int) -> np.ndarray:
    u = _wrap_u(decay12(state["u"], p["u_keep"]) + (a << lif.ACTIVITY_SHIFT))
    state["u"][:] = u
    free = state["ref_end"] < t
    v = state["v"]
    new_v = np.clip(decay12(v, p["v_keep"]) + u + p["bias"], -lif.V_MAX, lif.V_MAX)
    v = np.where(free, new_v, v)
    spike = v > p["threshold"]
    state["v"][:] = np.where(spike, 0, v)
    state["ref_end"][:] = np.where(spike, t + p["refractory_period"], state["ref_end"])
    return spike.astype(np.int64)


def _prepare_refractory(regs: dict) -> dict:
    return {"u_keep": 4096 - (regs["du"] + 1), "v_keep": 4096 - regs["dv"],
            "bias": regs["bias_mant"] << regs["bias_exp"], "threshold": regs["vth"] << lif.ACTIVITY_SHIFT,
            "refractory_period": regs["refractory_period"]}


LIF_REFRACTORY = NeuronModel(
    name="lif_refractory", lava="LIFRefractory (float model; fixed-point LIF arithmetic here)", graded=False,
    registers={**_LIF_REGS, "refractory_period": Register(1, 2**16 - 1, 1, "steps v is held after a spike")},
    state=("u", "v", "ref_end"), kernel=lif_refractory_step, prepare=_prepare_refractory,
    init=lambda regs: {"ref_end": -1}, bias_words=("bias",),
    doc="CUBA LIF whose voltage is held for refractory_period steps after a spike")


def atrlif_step(state: dict, a: np.ndarray, p: dict, t: int) -> np.ndarray:
    i = _wrap_u(wrap32(decay12(state["i"], p["i_keep"]) + a * 64))
    state["i"][:] = i
    v = np.clip(wrap32(decay12(state["v"], p["v_keep"]) + i + p["bias"]), -lif.V_MAX, lif.V_MAX)
    state["v"][:] = v
    th0 = p["theta_0"]
    theta = wrap32(decay12(state["theta"] - th0, p["theta_keep"]) + th0)
    r = wrap32(decay12(state["r"], p["r_keep"]))
    spike = wrap32(v - r) >= theta
    state["r"][:] = np.where(spike, wrap32(r + 2 * theta), r)
    state["theta"][:] = np.where(spike, wrap32(theta + p["theta_step"]), theta)
    return spike.astype(np.int64)


def _prepare_atrlif(regs: dict) -> dict:
    return {"i_keep": 4096 - (regs["d_i"] + 1), "v_keep": 4096 - regs["d_v"],
            "theta_keep": 4096 - regs["d_theta"], "r_keep": 4096 - regs["d_r"],
            "theta_0": regs["theta_0"] << 6, "theta_step": regs["theta_step"] << 6,
            "bias": regs["bias_mant"] << regs["bias_exp"]}


_DECAY = Register(0, 4095, 0, "12-bit decay")
ATRLIF = NeuronModel(
    name="atrlif", lava="ATRLIF (PyATRLIFModelFixed)", graded=False,
    registers={"d_i": _DECAY, "d_v": _DECAY, "d_theta": _DECAY, "d_r": _DECAY,
               "theta_0": Register(0, 4095, 5, "base threshold (<< 6)"),
               "theta_step": Register(0, 4095, 0, "threshold step per spike (<< 6)"),
               "bias_mant": _LIF_REGS["bias_mant"], "bias_exp": _LIF_REGS["bias_exp"]},
    state=("i", "v", "theta", "r"), kernel=atrlif_step, prepare=_prepare_atrlif,
    init=lambda regs: {"theta": regs["theta_0"] << 6}, bias_words=("bias",),
    doc="LIF with an adaptive threshold and a decaying refractory state")
