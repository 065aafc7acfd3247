"""The one Loihi CUBA leaky-integrate-and-fire compartment kernel.

Both execution devices -- the host reference runner (:mod:`chipemu.reference`) and the
emulated chip cores (:mod:`chipemu.core`) -- call :func:`lif_step`, so the two cannot
disagree on the arithmetic.  It is bit-exact to Intel Lava 0.10's ``PyLifModelBitAcc``
(Loihi fixed point, ``weight_exp = 0``).

Bit widths (Loihi 1/2 compartment registers)
--------------------------------------------
==============  ========================  ==========================================
name            range                     meaning
==============  ========================  ==========================================
``du``          0..4095 (12 bit)          current decay; u keeps (4096-(du+1))/4096
``dv``          0..4095 (12 bit)          voltage decay; v keeps (4096-dv)/4096
``vth``         0..131071 (17 bit)        threshold mantissa; threshold = vth << 6
``bias_mant``   -4096..4095 (13 bit)      bias mantissa
``bias_exp``    0..7 (3 bit)              bias = bias_mant << bias_exp (not << 6)
``u``           -2**23+1..2**23 (24 bit)  synaptic current, wraps around
``v``           +-(2**23-1) (24 bit)      membrane voltage, saturates
weight          -256..254, even           8-bit mixed-sign synaptic weight
delay           0..62 (6 bit)             synaptic delay in timesteps
==============  ========================  ==========================================

Equations, for every compartment at step t (all integers, 64-bit products)::

    a     = sum of weights arriving at step t            (spike at s, delay d -> t = s+1+d)
    u'    = trunc0(u * (4096 - (du + 1)) / 4096) + (a << 6)
    u     = u' - 2**24 if u' > 2**23;  u' + 2**24 if u' <= -2**23;  else u'
    v     = clip(trunc0(v * (4096 - dv) / 4096) + u + bias, -(2**23 - 1), 2**23 - 1)
    spike = v > (vth << 6)                               (strict)
    v     = 0 where spike                                 (u is not reset)

``trunc0(p / 4096)`` rounds toward zero: ``sign(p) * (|p| >> 12)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Register ranges (inclusive).  Single source of truth for validation everywhere.
DU_RANGE = (0, 4095)
DV_RANGE = (0, 4095)
VTH_RANGE = (0, 2**17 - 1)
BIAS_MANT_RANGE = (-4096, 4095)
BIAS_EXP_RANGE = (0, 7)
WEIGHT_RANGE = (-256, 254)
DELAY_RANGE = (0, 62)

#: compartment parameter name -> inclusive range
PARAM_RANGES: dict[str, tuple[int, int]] = {
    "du": DU_RANGE,
    "dv": DV_RANGE,
    "vth": VTH_RANGE,
    "bias_mant": BIAS_MANT_RANGE,
    "bias_exp": BIAS_EXP_RANGE,
}

DECAY_SHIFT = 12  #: decays are 12-bit fractions of 4096
ACTIVITY_SHIFT = 6  #: a and vth are scaled by 2**6 into u/v units
U_WRAP = 2**24  #: u is a 24-bit two's complement register
U_MAX = 2**23
V_MAX = 2**23 - 1


@dataclass(frozen=True)
class CompartmentParams:
    """Per-compartment constants precomputed for :func:`lif_step` (int64 arrays, shape (n,)).

    ``u_keep = 4096 - (du + 1)``, ``v_keep = 4096 - dv``, ``bias = bias_mant << bias_exp``
    and ``threshold = vth << 6``.
    """

    u_keep: np.ndarray
    v_keep: np.ndarray
    bias: np.ndarray
    threshold: np.ndarray

    @classmethod
    def from_registers(cls, du, dv, vth, bias_mant, bias_exp) -> "CompartmentParams":
        du = np.asarray(du, dtype=np.int64)
        dv = np.asarray(dv, dtype=np.int64)
        return cls(
            u_keep=(4096 - (du + 1)).astype(np.int64),
            v_keep=(4096 - dv).astype(np.int64),
            bias=np.left_shift(np.asarray(bias_mant, dtype=np.int64), np.asarray(bias_exp, dtype=np.int64)),
            threshold=np.left_shift(np.asarray(vth, dtype=np.int64), ACTIVITY_SHIFT),
        )

    def take(self, index: np.ndarray) -> "CompartmentParams":
        """The parameters of the compartments ``index`` (e.g. one core's, in core order)."""
        return CompartmentParams(self.u_keep[index], self.v_keep[index], self.bias[index], self.threshold[index])


def trunc_shift12(p: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``trunc0(p / 4096)`` for int64 ``p``: arithmetic shift rounding toward zero.

    For negative p, adding 4095 before the floor-shift turns the floor into a ceiling.
    ``out`` (may be ``p`` itself) receives the result without a new array.
    """
    bias = p >> 63
    bias &= 4095
    out = np.add(p, bias, out=out)
    out >>= DECAY_SHIFT
    return out


def lif_step(u: np.ndarray, v: np.ndarray, a: np.ndarray, p: CompartmentParams) -> np.ndarray:
    """Advance compartments one timestep in place; return the boolean spike mask.

    ``u``, ``v``: int64 state arrays, updated in place.  ``a``: int64 summed synaptic input
    arriving this step (weight units, before the << 6; not modified).  ``p``: the
    compartments' constants.  The update is elementwise, so any permutation of the
    compartments (a core's local order) gives the same result per compartment.
    """
    u *= p.u_keep                       # |u * u_keep| < 2**24 * 2**12: no int64 overflow
    trunc_shift12(u, out=u)
    u += a << ACTIVITY_SHIFT
    # 24-bit wrap-around, applied once
    np.subtract(u, U_WRAP, out=u, where=u > U_MAX)
    np.add(u, U_WRAP, out=u, where=u <= -U_MAX)
    v *= p.v_keep
    trunc_shift12(v, out=v)
    v += u
    v += p.bias
    np.clip(v, -V_MAX, V_MAX, out=v)
    spikes = v > p.threshold
    np.copyto(v, 0, where=spikes)
    return spikes


def is_active(u: np.ndarray, v: np.ndarray, a: np.ndarray, p: CompartmentParams) -> np.ndarray:
    """Compartments whose update does work this step (for energy accounting).

    A compartment is *active* when it received input, or holds non-zero u or v, or has a
    non-zero bias (SANA-FE's definition of a neuron update); otherwise its update is an
    *inactive* one (state provably stays zero).  Evaluate on the state *before* the step.
    """
    return (a != 0) | (u != 0) | (v != 0) | (p.bias != 0)
