"""Resonate-and-fire neurons: ``rf`` and ``rf_iz`` (Izhikevich-style reset).

Bit-exact to Lava's ``PyRFModelFixed`` and ``PyRF_IZModelFixed`` (lava-nc/lava
``src/lava/proc/rf``, ``src/lava/proc/rf_iz``).  The compartment's synaptic input drives the
real part; the imaginary input port of Lava's process is not modelled (it receives 0).

Registers (per compartment; Lava's Var values, see :func:`rf_registers` for Lava's
conversion from ``period``/``alpha``)
==============  ===================  =================================================
name            range                meaning
==============  ===================  =================================================
``sin_decay``   -4096..4096          ``int((1 - alpha) sin(2 pi / period) * 2**decay_bits)``
``cos_decay``   -4096..4096          ``int((1 - alpha) cos(2 pi / period) * 2**decay_bits)``
``decay_bits``  0..12                fraction bits of the decays
``state_exp``   0..7 (3 bit)         input scaling: the real input is ``a << state_exp``
``vth``         0..2**17-1           threshold (Lava: ``int(vth * 2**state_exp)``; LIF's 17-bit register)
==============  ===================  =================================================

State words ``real, imag`` (24 bit, saturating).  Equations at step t::

    sc(x)  = sign(x) * (|x| >> decay_bits)
    re'    = clip(sc(cos * re) - sc(sin * im) + (a << state_exp), -(2**23 - 1), 2**23 - 1)
    im'    = clip(sc(sin * re) + sc(cos * im),                    -(2**23 - 1), 2**23 - 1)
    rf:     spike = re' >= vth  and  im' >= 0  and  im < 0      (im: before the step)
            re, im = re', im'
    rf_iz:  spike = im' >= vth
            re = 0 where spike else re';  im = vth - 1 where spike else im'

Both send binary spikes.
"""

from __future__ import annotations

import math

import numpy as np

from .base import NeuronModel, Register

RI_MAX = 2**23 - 1  #: real/imag saturate at +-(2**23 - 1) (2 x 12-bit decay precision)

_REGISTERS = {
    "sin_decay": Register(-4096, 4096, 0, "sine decay, decay_bits fraction bits"),
    "cos_decay": Register(-4096, 4096, 0, "cosine decay, decay_bits fraction bits"),
    "decay_bits": Register(0, 12, 0, "fraction bits of the decays"),
    "state_exp": Register(0, 7, 0, "input scaling exponent"),
    "vth": Register(0, 2**17 - 1, 1, "threshold (the LIF vth register, 17 bit)"),
}


def rf_registers(period: float, alpha: float, *, state_exp: int = 0, decay_bits: int = 0, vth: float = 1) -> dict:
    """The registers Lava's ``RF``/``RF_IZ`` process gives the fixed-point model for
    ``period`` (steps per oscillation), ``alpha`` (decay), ``state_exp``, ``decay_bits`` and
    ``vth`` (same float arithmetic and truncation as Lava's process constructor)."""
    sin_decay = (1 - alpha) * np.sin(np.pi * 2 * 1 / period)
    cos_decay = (1 - alpha) * np.cos(np.pi * 2 * 1 / period)
    if state_exp > 0:
        vth = int(vth * (1 << state_exp))
    if decay_bits > 0:
        sin_decay = int(np.int32(sin_decay * (1 << decay_bits)))
        cos_decay = int(np.int32(cos_decay * (1 << decay_bits)))
    for name, value in (("sin_decay", sin_decay), ("cos_decay", cos_decay), ("vth", vth)):
        if value != math.floor(value):
            raise ValueError(f"rf_registers: {name} = {value!r} is not an integer; set decay_bits/state_exp so "
                             f"that Lava's fixed-point model gets integers")
    return {"sin_decay": int(sin_decay), "cos_decay": int(cos_decay), "decay_bits": int(decay_bits),
            "state_exp": int(state_exp), "vth": int(vth)}


def _resonate(state: dict, a: np.ndarray, p: dict) -> tuple[np.ndarray, np.ndarray]:
    re, im = state["real"], state["imag"]
    db = p["decay_bits"]

    def sc(x):
        return np.sign(x) * (np.abs(x) >> db)

    new_re = sc(p["cos"] * re) - sc(p["sin"] * im) + (a << p["state_exp"])
    new_im = sc(p["sin"] * re) + sc(p["cos"] * im)
    return np.clip(new_re, -RI_MAX, RI_MAX), np.clip(new_im, -RI_MAX, RI_MAX)


def rf_step(state: dict, a: np.ndarray, p: dict, t: int) -> np.ndarray:
    new_re, new_im = _resonate(state, a, p)
    spike = (new_re >= p["vth"]) & (new_im >= 0) & (state["imag"] < 0)
    state["real"][:] = new_re
    state["imag"][:] = new_im
    return spike.astype(np.int64)


def rf_iz_step(state: dict, a: np.ndarray, p: dict, t: int) -> np.ndarray:
    new_re, new_im = _resonate(state, a, p)
    spike = new_im >= p["vth"]
    state["real"][:] = np.where(spike, 0, new_re)
    state["imag"][:] = np.where(spike, p["vth"] - 1, new_im)
    return spike.astype(np.int64)


def _prepare(regs: dict) -> dict:
    return {"sin": regs["sin_decay"], "cos": regs["cos_decay"], "decay_bits": regs["decay_bits"],
            "state_exp": regs["state_exp"], "vth": regs["vth"]}


RF = NeuronModel(name="rf", lava="RF (PyRFModelFixed)", graded=False, registers=_REGISTERS,
                 state=("real", "imag"), kernel=rf_step, prepare=_prepare,
                 doc="resonate-and-fire: damped rotation, spikes at the upward zero crossing of imag")
RF_IZ = NeuronModel(name="rf_iz", lava="RF_IZ (PyRF_IZModelFixed)", graded=False, registers=_REGISTERS,
                    state=("real", "imag"), kernel=rf_iz_step, prepare=_prepare,
                    doc="resonate-and-fire, Izhikevich variant: spikes when imag reaches vth, then resets")
