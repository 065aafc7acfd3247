"""The one Loihi CUBA leaky-integrate-and-fire compartment kernel.

Both execution devices -- the host reference runner (:mod:`chipemu.reference`) and the
emulated chip cores (:mod:`chipemu.core`) -- call :func:`lif_step`, so the two cannot
disagree on the arithmetic.  It is bit-exact to Intel Lava 0.10's ``PyLifModelBitAcc``
(Loihi fixed point, ``weight_exp = 0``).

Bit widths (Loihi 1/2 compartment registers)
--------------------------------------------
==================  ========================  ===============================================
name                range                     meaning
==================  ========================  ===============================================
``du``              0..4095 (12 bit)          current decay; u keeps (4096-(du+1))/4096
``dv``              0..4095 (12 bit)          voltage decay; v keeps (4096-dv)/4096
``vth``             0..131071 (17 bit)        threshold mantissa; threshold = vth << 6
``bias_mant``       -4096..4095 (13 bit)      bias mantissa
``bias_exp``        0..7 (3 bit)              bias = bias_mant << bias_exp (not << 6)
``reset_interval``  0..2**31-1                periodic reset period in steps (0: never)
``reset_offset``    0..reset_interval-1       step of the period at which u and v are cleared
``u``               -2**23+1..2**23 (24 bit)  synaptic current, wraps around
``v``               +-(2**23-1) (24 bit)      membrane voltage, saturates
weight              -256..254, even           8-bit mixed-sign synaptic weight
delay               0..62 (6 bit)             synaptic delay in timesteps
==================  ========================  ===============================================

Equations, for every compartment at step t (all integers, 64-bit products)::

    u, v  = 0, 0   if reset_interval > 0 and t % reset_interval == reset_offset
    a     = sum of weights arriving at step t            (spike at s, delay d -> t = s+1+d)
    u'    = trunc0(u * (4096 - (du + 1)) / 4096) + (a << 6)
    u     = u' - 2**24 if u' > 2**23;  u' + 2**24 if u' <= -2**23;  else u'
    v     = clip(trunc0(v * (4096 - dv) / 4096) + u + bias, -(2**23 - 1), 2**23 - 1)
    spike = v > (vth << 6)                               (strict)
    v     = 0 where spike                                 (u is not reset)

The periodic reset is Lava's ``LIFReset`` (lava-dl netx's ``reset_interval``): the state is
cleared at the *start* of the step, so the input arriving at that step is integrated into
the cleared state.  Lava compares its 1-based ``time_step`` with ``reset_offset``; here
steps are 0-based, so Lava's ``reset_offset = 1 + k`` is ``reset_offset = k mod interval``.

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
WEIGHT_BITS = 9   #: stored weight bits, sign included, of a full-precision weight (8 bits x 2: even values)
DELAY_BITS = 6    #: bits of the per-synapse delay field (DELAY_RANGE fits it)

#: compartment parameter name -> inclusive range
PARAM_RANGES: dict[str, tuple[int, int]] = {
    "du": DU_RANGE,
    "dv": DV_RANGE,
    "vth": VTH_RANGE,
    "bias_mant": BIAS_MANT_RANGE,
    "bias_exp": BIAS_EXP_RANGE,
}

RESET_INTERVAL_RANGE = (0, 2**31 - 1)  #: 0 = no periodic reset

DECAY_SHIFT = 12  #: decays are 12-bit fractions of 4096
ACTIVITY_SHIFT = 6  #: a and vth are scaled by 2**6 into u/v units
U_WRAP = 2**24  #: u is a 24-bit two's complement register
U_MAX = 2**23
V_MAX = 2**23 - 1


@dataclass(frozen=True)
class ResetGroup:
    """Compartments ``index`` whose u and v are cleared at every step t with
    ``t % interval == offset`` (``interval`` >= 1)."""

    interval: int
    offset: int
    index: np.ndarray

    def due(self, t: int) -> bool:
        return t % self.interval == self.offset


def reset_groups(reset_interval, reset_offset) -> tuple[ResetGroup, ...]:
    """The compartments with a periodic reset, grouped by (interval, offset).

    ``reset_interval``/``reset_offset``: int arrays (n,) or None (no reset anywhere).
    A handful of groups (usually one per population) keeps the per-step test O(groups).
    """
    if reset_interval is None:
        return ()
    interval = np.asarray(reset_interval, dtype=np.int64)
    offset = np.asarray(reset_offset, dtype=np.int64)
    has = np.flatnonzero(interval > 0)
    if has.size == 0:
        return ()
    key = np.stack([interval[has], offset[has]], axis=1)
    pairs, inverse = np.unique(key, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(pairs) + 1))
    return tuple(ResetGroup(int(i), int(o), has[order[bounds[g]:bounds[g + 1]]])
                 for g, (i, o) in enumerate(pairs.tolist()))


@dataclass(frozen=True)
class CompartmentParams:
    """Per-compartment constants precomputed for :func:`lif_step` (int64 arrays, shape (n,)).

    ``u_keep = 4096 - (du + 1)``, ``v_keep = 4096 - dv``, ``bias = bias_mant << bias_exp``
    and ``threshold = vth << 6``.  ``reset_interval``/``reset_offset``: the periodic reset
    registers (None: no compartment resets); ``resets`` groups them for :func:`lif_step`.
    """

    u_keep: np.ndarray
    v_keep: np.ndarray
    bias: np.ndarray
    threshold: np.ndarray
    reset_interval: np.ndarray | None = None
    reset_offset: np.ndarray | None = None
    resets: tuple[ResetGroup, ...] = ()

    @classmethod
    def from_registers(cls, du, dv, vth, bias_mant, bias_exp, reset_interval=None,
                       reset_offset=None) -> "CompartmentParams":
        du = np.asarray(du, dtype=np.int64)
        dv = np.asarray(dv, dtype=np.int64)
        if reset_interval is not None:
            reset_interval = np.asarray(reset_interval, dtype=np.int64)
            reset_offset = (np.zeros_like(reset_interval) if reset_offset is None
                            else np.asarray(reset_offset, dtype=np.int64))
        return cls(
            u_keep=(4096 - (du + 1)).astype(np.int64),
            v_keep=(4096 - dv).astype(np.int64),
            bias=np.left_shift(np.asarray(bias_mant, dtype=np.int64), np.asarray(bias_exp, dtype=np.int64)),
            threshold=np.left_shift(np.asarray(vth, dtype=np.int64), ACTIVITY_SHIFT),
            reset_interval=reset_interval,
            reset_offset=reset_offset,
            resets=reset_groups(reset_interval, reset_offset),
        )

    def take(self, index: np.ndarray) -> "CompartmentParams":
        """The parameters of the compartments ``index`` (e.g. one core's, in core order)."""
        ri = None if self.reset_interval is None else self.reset_interval[index]
        ro = None if self.reset_offset is None else self.reset_offset[index]
        return CompartmentParams(self.u_keep[index], self.v_keep[index], self.bias[index], self.threshold[index],
                                 ri, ro, reset_groups(ri, ro))


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


def lif_step(u: np.ndarray, v: np.ndarray, a: np.ndarray, p: CompartmentParams, t: int = 0) -> np.ndarray:
    """Advance compartments one timestep (step ``t``) in place; return the boolean spike mask.

    ``u``, ``v``: int64 state arrays, updated in place.  ``a``: int64 summed synaptic input
    arriving this step (weight units, before the << 6; not modified).  ``p``: the
    compartments' constants.  ``t``: the 0-based step, which only the periodic reset reads.
    The update is elementwise, so any permutation of the compartments (a core's local
    order) gives the same result per compartment.
    """
    for group in p.resets:              # periodic reset (Lava LIFReset), before the update
        if group.due(t):
            u[group.index] = 0
            v[group.index] = 0
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
