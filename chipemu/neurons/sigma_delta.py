"""Sigma-delta neurons (Loihi 2 SDNN): ``sigma_delta``, ``sigma`` (decoder), ``delta`` (encoder).

Bit-exact to Lava's fixed-point process models ``PySigmaDeltaModelFixed``,
``PySigmaModelFixed`` and ``PyDeltaModelFixed`` (lava-nc/lava ``src/lava/proc/sdn``), the
models lava-dl's SDNN ground truths come from.  Lava keeps every variable in an ``int32``
array, so each store below wraps at 32 bits (``wrap32``); payloads are then wrapped to the
24-bit graded-spike width (Lava's CPU model does not clip them: the two agree while
``|payload| < 2**23``).

Registers (per compartment)
---------------------------
=============  ===================  ===========================================================
name           range                meaning
=============  ===================  ===========================================================
``vth``        0..2**17-1           threshold; Lava scales it: ``VTH = vth << (spike_exp + state_exp)``
                                    (< 2**31: fits Lava's int32 for every exponent)
``bias``       -2**15..2**15-1      (sigma_delta) bias, scaled the same way: ``BIAS = bias << (...)``
``spike_exp``  0..7 (3 bit)         payload scaling exponent
``state_exp``  0..7 (3 bit)         state scaling exponent; payload = s >> state_exp
``act_mode``   0..1                 (sigma_delta) 0 = unit (identity), 1 = ReLU (Lava's default)
``cum_error``  0..1                 1 = spike on the cumulative error (Lava ``cum_error``)
=============  ===================  ===========================================================

State words: sigma_delta ``sigma, act, residue, error`` (4); sigma ``sigma`` (1); delta
``act, residue, error`` (3); each int32.

Equations at step t (``a``: synaptic input, sum of weight x payload; all integers)::

    sigma_delta:   sigma = sigma + a
                   y     = sigma + BIAS            (act_mode 0)  |  max(sigma + BIAS, 0)  (1)
    delta:         y     = a << (spike_exp + state_exp)        (the value to encode)
    both:          d        = y - act + residue
                   cum_error = 0:  s = d if |d| >= VTH else 0
                   cum_error = 1:  error = error + d;  s = d if |error| >= VTH else 0;
                                   error = 0 where s != 0
                   residue  = d - s;   act = y
                   payload  = s >> state_exp                (arithmetic shift, floor)
    sigma:         sigma = sigma + a;  payload = sigma     (sent every step it is non-zero)

A payload of 0 is no message.  Note that sigma_delta's ``sigma`` accumulates ``a``
unscaled while ``BIAS`` and ``VTH`` are scaled by ``2**(spike_exp + state_exp)``, exactly as
in Lava (lava-dl's netx sets ``spike_exp = state_exp = 6`` so that weights x payloads and
the scaled bias meet in the same units).
"""

from __future__ import annotations

import numpy as np

from .base import NeuronModel, Register, wrap32, wrap_payload

_EXP = Register(0, 7, 0, "scaling exponent (3 bit)")
_VTH = Register(0, 2**17 - 1, 0, "threshold, scaled by 2**(spike_exp + state_exp)")
_CUM = Register(0, 1, 0, "1: spike on the cumulative error")


def _prepare_delta(regs: dict) -> dict:
    shift = regs["spike_exp"] + regs["state_exp"]
    p = {"vth": regs["vth"] << shift, "shift": shift, "state_exp": regs["state_exp"],
         "cum_error": regs["cum_error"].astype(bool)}
    p["any_cum"] = bool(p["cum_error"].any())
    return p


def _prepare_sigma_delta(regs: dict) -> dict:
    p = _prepare_delta(regs)
    p["bias"] = regs["bias"] << p["shift"]
    p["relu"] = regs["act_mode"].astype(bool)
    return p


def _delta_encode(state: dict, y: np.ndarray, p: dict) -> np.ndarray:
    """The shared delta stage: ``y`` -> payload; updates act, residue, error."""
    d = wrap32(y - state["act"] + state["residue"])
    if p["any_cum"]:
        cum = p["cum_error"]
        err = np.where(cum, wrap32(state["error"] + d), state["error"])
        test = np.where(cum, err, d)
        s = np.where(np.abs(test) >= p["vth"], d, 0)
        state["error"][:] = np.where(cum & (s != 0), 0, err)
    else:
        s = np.where(np.abs(d) >= p["vth"], d, 0)
    state["residue"][:] = wrap32(d - s)
    state["act"][:] = y
    return wrap_payload(s >> p["state_exp"])


def sigma_delta_step(state: dict, a: np.ndarray, p: dict, t: int) -> np.ndarray:
    sigma = wrap32(state["sigma"] + a)
    state["sigma"][:] = sigma
    y = wrap32(sigma + p["bias"])
    y = np.where(p["relu"], np.maximum(y, 0), y)
    return _delta_encode(state, y, p)


def delta_step(state: dict, a: np.ndarray, p: dict, t: int) -> np.ndarray:
    y = wrap32(a << p["shift"])
    return _delta_encode(state, y, p)


def sigma_step(state: dict, a: np.ndarray, p: dict, t: int) -> np.ndarray:
    sigma = wrap32(state["sigma"] + a)
    state["sigma"][:] = sigma
    return wrap_payload(sigma)


SIGMA_DELTA = NeuronModel(
    name="sigma_delta", lava="SigmaDelta (PySigmaDeltaModelFixed)", graded=True,
    registers={"vth": _VTH, "bias": Register(-2**15, 2**15 - 1, 0, "bias, scaled by 2**(spike_exp + state_exp)"),
               "spike_exp": _EXP, "state_exp": _EXP,
               "act_mode": Register(0, 1, 1, "0 unit, 1 ReLU"), "cum_error": _CUM},
    state=("sigma", "act", "residue", "error"), kernel=sigma_delta_step, prepare=_prepare_sigma_delta,
    bias_words=("bias",),
    doc="sigma-delta neuron: accumulate, ReLU/unit activation, delta-encode against a threshold")

DELTA = NeuronModel(
    name="delta", lava="Delta (PyDeltaModelFixed)", graded=True,
    registers={"vth": _VTH, "spike_exp": _EXP, "state_exp": _EXP, "cum_error": _CUM},
    state=("act", "residue", "error"), kernel=delta_step, prepare=_prepare_delta,
    doc="delta encoder: sends the change of its input once it reaches the threshold")

SIGMA = NeuronModel(
    name="sigma", lava="Sigma (PySigmaModelFixed)", graded=True, registers={},
    state=("sigma",), kernel=sigma_step, prepare=lambda regs: {},
    doc="sigma decoder: accumulates its input and sends the running sum every step")
