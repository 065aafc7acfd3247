"""On-chip learning: Loihi-style traces, sum-of-products rules and epochs.

A plastic projection carries a :class:`LearningRule` (``net.connect(pre, post, ...,
plasticity=stdp(...))``).  Both runners -- the host reference (:mod:`chipemu.reference`)
and the emulated cores (:mod:`chipemu.core`) -- feed the same :class:`LearningEngine`
with the spikes of every step and write its weight changes into their own synapse
storage through an index ``canonical synapse id -> storage position``.  The engine works
in the *canonical* synapse order (the order of :meth:`Network.flat`: compartment
synapses ``0..m-1`` then input synapses ``m..m+k-1``; a projection's synapses are a
contiguous run in its own order), and its seeded random stream is drawn in that order,
so spikes and learned weights do not depend on the mapping, by construction.

Variables (all integers)
------------------------
==========  ==============================  =========================================
name        range (bits)                    meaning
==========  ==============================  =========================================
``x0``      0/1                             the presynaptic source spiked in the epoch
``x1 x2``   0..127 (7 bit)                  presynaptic traces (per source)
``y0``      0/1                             the postsynaptic compartment spiked in the epoch
``y1-y3``   0..127 (7 bit)                  postsynaptic traces (per compartment)
``r0``      0/1                             the reward group spiked in the epoch
``r1``/``r``  0..127 (7 bit)                reward trace (per projection)
``w``       -256..254, even (8 bit x 2)     synaptic weight
``sgnw``    -1/0/1                          ``sgn(w)``
``t``       -128..127 (8 bit)               synaptic tag (eligibility), rule ``dt``
==========  ==============================  =========================================

Traces, every step t, after the spikes of step t (``s`` = 1 if the owner spiked at t;
for the reward trace ``s`` = number of sources of the reward group that fired at t)::

    x = floor((x * (4096 - decay) + xi) / 4096)        xi = 0 ('floor'),
                                                        2048 ('nearest'),
                                                        uniform 0..4095 ('stochastic')
    x = min(x + impulse * s, 127)

``decay`` is a 12-bit register 0..4096 (x keeps (4096 - decay)/4096 per step, as the
compartment's dv); ``impulse`` 0..127.  Stochastic rounding is unbiased:
``E[x'] = x (4096 - decay) / 4096``.

Rules.  ``dw`` (and optional ``dt``) is a sum of products::

    Z = sum_k  mant_k * 2**exp_k * prod_j (V_kj + C_kj)

``mant`` -127..127 (non-zero), ``exp`` -16..7, at most 8 terms of at most 3 factors,
``V`` a variable above, ``C`` -128..127.  Evaluated exactly in 64-bit integers:
``S = sum_k mant_k * prod_j (V_kj + C_kj) << (exp_k - e)`` with ``e = min_k exp_k``,
so ``Z = S * 2**e``.  The weight moves by an even amount, the tag by an integer::

    dw_q = 2 * R(S * 2**(e - 1))        w = clip(w + dw_q, lo, hi)
    dt_q =     R(S_t * 2**e_t)          t = clip(t + dt_q, -128, 127)

``R(S * 2**-s)`` for s > 0 is ``(S + xi) >> s`` (arithmetic shift = floor) with ``xi`` =
0 ('floor'), ``2**(s-1)`` ('nearest', halves up) or uniform in ``0..2**s - 1``
('stochastic', unbiased); for s <= 0 it is exact.  ``lo, hi`` = -256, 254 ('mixed'),
0, 254 ('excitatory'), -256, 0 ('inhibitory').  Both rules see the values before the
update (w, t, traces at the end of the epoch's last step).

Timing.  Steps 0..T-1.  At step t the runner integrates input, updates compartments,
sends the spikes of step t with the weights in force *at the start of step t*, then the
engine updates the traces with the spikes of step t (the presynaptic spike time is the
step the source fired, not the arrival after the delay), and, if ``(t + 1) % epoch ==
0``, applies the rules to the synapses of the projection.  New weights act on spikes sent
from step t + 1 on; spikes already in the delay buffers keep the weight they were sent
with.  ``x0/y0/r0`` cover the epoch's steps ``t - epoch + 1 .. t`` and are cleared after
it.  An epoch cut off by the end of the run is not applied.

Work and cost.  At an epoch end a synapse is *processed* (and counted in the chip counter
``learning_updates``, on the core that stores it, i.e. its postsynaptic compartment's
core) when at least one term of its rules is not gated off: a term containing a bare
``x0``, ``y0`` or ``r0`` factor is gated off when that indicator is 0.  For pair STDP this
is Loihi's behaviour (synapses whose axon or compartment was active in the epoch);
rules with an ungated term (a reward trace, a weight decay) process every synapse.  A
synapse that is not processed has ``Z = 0`` exactly, so skipping it changes nothing.

Random stream: one ``numpy.random.Generator`` per plastic projection, seeded by
``(rule.seed, crc32(projection name))``; per step it draws the stochastic trace
roundings (x1, x2, y1, y2, y3, r1, in that order, for the traces the rule uses that have
a non-zero decay), and per epoch the stochastic roundings of ``dw`` then ``dt`` for the
processed synapses in canonical order.

Cost: each processed synapse is one chip ``learning_updates`` (energy
``chip.energy.learning_update``, time ``chip.time.learning_update`` in the compute phase
of the step that ends the epoch, on the core holding the synapse).
"""

from .engine import EpochUpdate, LearningEngine, _decay, _round_shift, canonical_position
from .rule import LearningRule, Trace, reward_stdp, stdp
from .terms import (
                    CONST_RANGE,
                    DECAY_RANGE,
                    EPOCH_RANGE,
                    EXP_RANGE,
                    GATES,
                    IMPULSE_RANGE,
                    MANT_RANGE,
                    MAX_FACTORS,
                    MAX_TERMS,
                    ROUNDINGS,
                    SEED_RANGE,
                    SIGNS,
                    TAG_RANGE,
                    TRACE_MAX,
                    TRACES,
                    VARIABLES,
                    Factor,
                    LearningError,
                    Term,
                    coefficient,
                    decay_for_tau,
                    format_terms,
                    parse_terms,
)

__all__ = [
    "LearningError", "Factor", "Term", "Trace", "LearningRule", "LearningEngine", "EpochUpdate",
    "parse_terms", "format_terms", "stdp", "reward_stdp", "decay_for_tau", "coefficient", "canonical_position",
    "TRACE_MAX", "EPOCH_RANGE", "MANT_RANGE", "EXP_RANGE", "CONST_RANGE", "TAG_RANGE", "VARIABLES",
    "IMPULSE_RANGE", "DECAY_RANGE", "MAX_TERMS", "MAX_FACTORS", "SEED_RANGE", "ROUNDINGS", "SIGNS", "GATES",
    "TRACES", "_decay", "_round_shift",
]
