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

from __future__ import annotations

import json
import math
import re
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

import numpy as np

from . import neuron
from .errors import NetworkError

if TYPE_CHECKING:  # pragma: no cover
    from .network import Network

__all__ = [
    "LearningError", "Factor", "Term", "Trace", "LearningRule", "LearningEngine", "EpochUpdate",
    "parse_terms", "format_terms", "stdp", "reward_stdp", "decay_for_tau", "coefficient",
    "TRACE_MAX", "EPOCH_RANGE", "MANT_RANGE", "EXP_RANGE", "CONST_RANGE", "TAG_RANGE", "VARIABLES",
]

TRACE_MAX = 127                 #: 7-bit traces saturate here
IMPULSE_RANGE = (0, TRACE_MAX)
DECAY_RANGE = (0, 4096)         #: x keeps (4096 - decay) / 4096 per step
EPOCH_RANGE = (1, 63)
MANT_RANGE = (-127, 127)        #: coefficient mantissa (8-bit signed, 0 excluded)
EXP_RANGE = (-16, 7)            #: coefficient exponent: coefficient = mant * 2**exp
CONST_RANGE = (-128, 127)       #: additive constant of a factor (V + C)
TAG_RANGE = (-128, 127)         #: the synaptic tag t (8-bit signed)
MAX_TERMS = 8
MAX_FACTORS = 3
SEED_RANGE = (0, 2**63 - 1)
ROUNDINGS = ("floor", "nearest", "stochastic")
SIGNS = ("mixed", "excitatory", "inhibitory")
#: variable name -> what it is
VARIABLES = {
    "x0": "presynaptic spike in the epoch (0/1)",
    "x1": "presynaptic trace 1", "x2": "presynaptic trace 2",
    "y0": "postsynaptic spike in the epoch (0/1)",
    "y1": "postsynaptic trace 1", "y2": "postsynaptic trace 2", "y3": "postsynaptic trace 3",
    "r0": "reward spike in the epoch (0/1)", "r1": "reward trace",
    "w": "synaptic weight", "sgnw": "sign of the weight (-1/0/1)", "t": "synaptic tag",
}
_ALIASES = {"r": "r1", "sgn(w)": "sgnw"}
GATES = ("x0", "y0", "r0")
TRACES = ("x1", "x2", "y1", "y2", "y3", "r1")
_PRE, _POST = ("x1", "x2"), ("y1", "y2", "y3")


class LearningError(NetworkError):
    """An invalid learning rule or plasticity setting (one line naming the field)."""


def _int(owner: str, name: str, value, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise LearningError(f"{owner}: {name} = {value!r} must be an integer in {lo}..{hi}")
    value = int(value)
    if not lo <= value <= hi:
        raise LearningError(f"{owner}: {name} = {value} out of range {lo}..{hi}")
    return value


# ---------------------------------------------------------------------------- terms
@dataclass(frozen=True)
class Factor:
    """``(var + const)``; ``var`` one of :data:`VARIABLES`."""

    var: str
    const: int = 0

    def __post_init__(self):
        var = _ALIASES.get(self.var, self.var)
        if var not in VARIABLES:
            raise LearningError(f"learning rule: unknown factor {self.var!r} "
                                f"(allowed: {', '.join(VARIABLES)}, r, sgn(w))")
        object.__setattr__(self, "var", var)
        object.__setattr__(self, "const", _int("learning rule", f"constant of factor {var}", self.const,
                                               *CONST_RANGE))

    @property
    def gate(self) -> bool:
        """A bare 0/1 spike indicator: the term is zero unless it is 1."""
        return self.var in GATES and self.const == 0

    def __str__(self) -> str:
        name = "sgn(w)" if self.var == "sgnw" else self.var
        if self.const == 0:
            return name
        return f"({name}{'+' if self.const > 0 else '-'}{abs(self.const)})"

    def to_json(self):
        return str(self) if self.const == 0 else {"var": self.var, "const": self.const}

    @classmethod
    def from_json(cls, obj) -> "Factor":
        if isinstance(obj, Factor):
            return obj
        if isinstance(obj, str):
            terms = parse_terms(obj)
            if len(terms) == 1 and terms[0].mant == 1 and terms[0].exp == 0 and len(terms[0].factors) == 1:
                return terms[0].factors[0]
            raise LearningError(f"learning rule: factor {obj!r} is not a single variable or (variable + constant)")
        if isinstance(obj, dict):
            extra = set(obj) - {"var", "const"}
            if extra or "var" not in obj:
                raise LearningError(f"learning rule: factor {obj!r} must have keys 'var' and optional 'const'")
            return cls(obj["var"], obj.get("const", 0))
        if isinstance(obj, (list, tuple)) and len(obj) == 2:
            return cls(obj[0], obj[1])
        raise LearningError(f"learning rule: factor {obj!r} must be a string, {{'var', 'const'}} or [var, const]")


@dataclass(frozen=True)
class Term:
    """``mant * 2**exp * prod(factors)``."""

    mant: int
    exp: int
    factors: tuple = ()

    def __post_init__(self):
        mant = _int("learning rule", "term mantissa", self.mant, *MANT_RANGE)
        if mant == 0:
            raise LearningError("learning rule: term mantissa = 0 (a zero term); drop the term instead")
        object.__setattr__(self, "mant", mant)
        object.__setattr__(self, "exp", _int("learning rule", "term exponent", self.exp, *EXP_RANGE))
        facs = tuple(Factor.from_json(f) if not isinstance(f, Factor) else f for f in self.factors)
        if len(facs) > MAX_FACTORS:
            raise LearningError(f"learning rule: term {self} has {len(facs)} factors, at most {MAX_FACTORS} allowed")
        object.__setattr__(self, "factors", facs)

    @property
    def coefficient(self) -> float:
        return self.mant * 2.0 ** self.exp

    def __str__(self) -> str:
        parts = []
        if abs(self.mant) != 1 or (self.exp == 0 and not self.factors):
            parts.append(str(abs(self.mant)))
        if self.exp != 0:
            parts.append(f"2^{self.exp}")
        parts += [str(f) for f in self.factors]
        return ("-" if self.mant < 0 else "") + "*".join(parts)

    def to_json(self) -> dict:
        return {"mant": self.mant, "exp": self.exp, "factors": [f.to_json() for f in self.factors]}

    @classmethod
    def from_json(cls, obj) -> "Term":
        if isinstance(obj, Term):
            return obj
        if not isinstance(obj, dict) or not {"mant", "exp"} <= set(obj) or set(obj) - {"mant", "exp", "factors"}:
            raise LearningError(f"learning rule: term {obj!r:.80} must be a dict with keys 'mant', 'exp', 'factors'")
        facs = obj.get("factors", [])
        if not isinstance(facs, (list, tuple)):
            raise LearningError(f"learning rule: term factors {facs!r:.60} must be a list")
        return cls(obj["mant"], obj["exp"], tuple(Factor.from_json(f) for f in facs))


_TOKEN = re.compile(r"""\s*(?:
    (?P<pow>2\s*(?:\^|\*\*)\s*(?P<e>[+-]?\s*\d+))
  | (?P<int>\d+)
  | (?P<sgn>sgn\s*\(\s*w\s*\))
  | (?P<paren>\(\s*(?P<pv>sgn\s*\(\s*w\s*\)|[A-Za-z]\w*)\s*(?P<ps>[+-])\s*(?P<pc>\d+)\s*\))
  | (?P<var>[A-Za-z]\w*)
  | (?P<op>[-+*]))""", re.VERBOSE)


def parse_terms(text: str) -> tuple[Term, ...]:
    """Parse ``"2^-2*x1*y0 - 2^-2*y1*x0"`` into terms.

    A term is a product of integers (the mantissa), powers ``2^k`` (the exponent, summed),
    variables and ``(variable +- constant)``; terms are joined by ``+``/``-``.  ``"0"`` or
    ``""`` is the empty rule.  Mantissas beyond 127 that are even are normalised
    (``256*2^-10`` -> ``64*2^-8``).
    """
    if not isinstance(text, str):
        raise LearningError(f"learning rule: expected a string, got {type(text).__name__}")
    src = text.strip()
    if src in ("", "0"):
        return ()
    pos, tokens = 0, []
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if not m or m.end() == pos:
            raise LearningError(f"learning rule {text!r}: cannot parse at {src[pos:pos + 12]!r}")
        pos = m.end()
        if m.group("pow"):
            tokens.append(("pow", int(m.group("e").replace(" ", ""))))
        elif m.group("int"):
            tokens.append(("int", int(m.group("int"))))
        elif m.group("sgn"):
            tokens.append(("fac", Factor("sgnw")))
        elif m.group("paren"):
            var = "sgnw" if m.group("pv").startswith("sgn") else m.group("pv")
            c = int(m.group("pc")) * (1 if m.group("ps") == "+" else -1)
            tokens.append(("fac", Factor(var, c)))
        elif m.group("var"):
            tokens.append(("fac", Factor(m.group("var"))))
        else:
            tokens.append(("op", m.group("op")))
    terms, i, sign = [], 0, 1
    if tokens and tokens[0] == ("op", "-"):
        sign, i = -1, 1
    elif tokens and tokens[0] == ("op", "+"):
        i = 1
    while True:
        mant, exp, facs, n_atoms = 1, 0, [], 0
        while True:
            if i >= len(tokens) or tokens[i][0] == "op":
                raise LearningError(f"learning rule {text!r}: expected a number, 2^k or a variable")
            kind, val = tokens[i]
            i += 1
            n_atoms += 1
            if kind == "int":
                mant *= val
            elif kind == "pow":
                exp += val
            else:
                facs.append(val)
            if i < len(tokens) and tokens[i] == ("op", "*"):
                i += 1
                continue
            break
        if mant == 0:
            raise LearningError(f"learning rule {text!r}: a term has mantissa 0")
        while abs(mant) > MANT_RANGE[1] and mant % 2 == 0:
            mant //= 2
            exp += 1
        terms.append(Term(sign * mant, exp, tuple(facs)))
        if i >= len(tokens):
            break
        kind, val = tokens[i]
        if kind != "op" or val == "*":
            raise LearningError(f"learning rule {text!r}: expected + or - between terms")
        sign = 1 if val == "+" else -1
        i += 1
    if len(terms) > MAX_TERMS:
        raise LearningError(f"learning rule {text!r}: {len(terms)} terms, at most {MAX_TERMS} allowed")
    return tuple(terms)


def format_terms(terms: Iterable[Term]) -> str:
    """The string form of ``terms`` (parses back to the same terms)."""
    out = ""
    for k, term in enumerate(terms):
        s = str(term)
        if k == 0:
            out = s
        elif s.startswith("-"):
            out += " - " + s[1:]
        else:
            out += " + " + s
    return out or "0"


def _terms(value, what: str) -> tuple[Term, ...]:
    if isinstance(value, str):
        terms = parse_terms(value)
    elif isinstance(value, (list, tuple)):
        terms = tuple(Term.from_json(t) for t in value)
    else:
        raise LearningError(f"learning rule: {what} must be a string or a list of terms, got {type(value).__name__}")
    if len(terms) > MAX_TERMS:
        raise LearningError(f"learning rule: {what} has {len(terms)} terms, at most {MAX_TERMS} allowed")
    return terms


def coefficient(value: float, *, exp_range=EXP_RANGE) -> tuple[int, int]:
    """The ``(mant, exp)`` with ``mant * 2**exp`` nearest ``value`` (largest usable precision)."""
    if value == 0 or not math.isfinite(value):
        raise LearningError(f"coefficient {value!r} must be finite and non-zero")
    best = None
    for exp in range(exp_range[0], exp_range[1] + 1):
        mant = int(round(value / 2.0 ** exp))
        if mant == 0 or abs(mant) > MANT_RANGE[1]:
            continue
        err = abs(mant * 2.0 ** exp - value)
        if best is None or err <= best[0] + 1e-15 * abs(value):
            best = (err, mant, exp)
    if best is None:
        raise LearningError(f"coefficient {value!r} is not representable as mant * 2**exp with mant in "
                            f"{MANT_RANGE[0]}..{MANT_RANGE[1]}, exp in {exp_range[0]}..{exp_range[1]}")
    return best[1], best[2]


def decay_for_tau(tau: float) -> int:
    """The 12-bit decay register of an exponential trace with time constant ``tau`` steps.

    ``round(4096 * (1 - exp(-1 / tau)))``; ``tau = inf`` (or 0 decay wanted) gives 0.
    """
    if not (tau > 0):
        raise LearningError(f"time constant tau = {tau!r} must be > 0 steps")
    if math.isinf(tau):
        return 0
    return int(round(4096 * (1.0 - math.exp(-1.0 / tau))))


# ---------------------------------------------------------------------------- the rule
@dataclass(frozen=True)
class Trace:
    """A 7-bit trace: ``impulse`` 0..127 added per spike, ``decay`` 0..4096 per step."""

    impulse: int = 0
    decay: int = 0

    def check(self, name: str) -> "Trace":
        return Trace(_int("learning rule", f"trace {name} impulse", self.impulse, *IMPULSE_RANGE),
                     _int("learning rule", f"trace {name} decay", self.decay, *DECAY_RANGE))


def _trace(value, name: str) -> Trace:
    if isinstance(value, Trace):
        return value.check(name)
    if isinstance(value, dict):
        extra = sorted(set(value) - {"impulse", "decay"})
        if extra:
            raise LearningError(f"learning rule: trace {name} has unknown keys {extra}")
        return Trace(value.get("impulse", 0), value.get("decay", 0)).check(name)
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return Trace(*value).check(name)
    raise LearningError(f"learning rule: trace {name} = {value!r:.60} must be Trace(impulse, decay), "
                        "(impulse, decay) or {'impulse', 'decay'}")


@dataclass(frozen=True)
class LearningRule:
    """A Loihi-style learning rule of one plastic projection (validated on construction).

    ``dw``: the weight rule (terms, or their string form); ``dt``: the optional tag rule
    (factor ``t`` in ``dw`` reads the tag); ``epoch`` 1..63 steps; ``x1 x2 y1 y2 y3 r``:
    the traces (:class:`Trace` or ``(impulse, decay)``); ``reward``: name of the input
    group whose spikes feed ``r0``/``r1``; ``sign``: 'mixed' [-256, 254], 'excitatory'
    [0, 254] or 'inhibitory' [-256, 0] weight bounds; ``rounding``: of dw and dt,
    ``trace_rounding``: of the trace decay ('floor', 'nearest' or 'stochastic');
    ``seed``: of the projection's random stream.  See the module docstring.
    """

    dw: tuple
    dt: tuple = ()
    epoch: int = 1
    x1: Trace = Trace()
    x2: Trace = Trace()
    y1: Trace = Trace()
    y2: Trace = Trace()
    y3: Trace = Trace()
    r: Trace = Trace()
    reward: str | None = None
    sign: str = "mixed"
    rounding: str = "stochastic"
    trace_rounding: str = "stochastic"
    seed: int = 0

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        set_("dw", _terms(self.dw, "dw"))
        set_("dt", _terms(self.dt, "dt"))
        if not self.dw:
            raise LearningError("learning rule: dw has no terms")
        set_("epoch", _int("learning rule", "epoch", self.epoch, *EPOCH_RANGE))
        for name in ("x1", "x2", "y1", "y2", "y3", "r"):
            set_(name, _trace(getattr(self, name), name))
        for key, allowed in (("sign", SIGNS), ("rounding", ROUNDINGS), ("trace_rounding", ROUNDINGS)):
            if getattr(self, key) not in allowed:
                raise LearningError(f"learning rule: {key} = {getattr(self, key)!r} (allowed: {', '.join(allowed)})")
        set_("seed", _int("learning rule", "seed", self.seed, *SEED_RANGE))
        if self.reward is not None and (not isinstance(self.reward, str) or not self.reward):
            raise LearningError(f"learning rule: reward = {self.reward!r} must name an input group")
        used = self.variables
        for v in ("x1", "x2", "y1", "y2", "y3", "r1"):
            tr = self.trace(v)
            if v in used and tr.impulse == 0:
                raise LearningError(f"learning rule: factor {v} is used but trace {'r' if v == 'r1' else v} "
                                    "has impulse 0 (it would stay 0)")
        if used & {"r0", "r1"} and self.reward is None:
            raise LearningError("learning rule: factors r0/r1 need a reward input group (reward='<input group>')")
        dw_vars = {f.var for term in self.dw for f in term.factors}
        if "t" in dw_vars and not self.dt:
            raise LearningError("learning rule: factor t (tag) is used in dw but there is no tag rule dt")
        if self.dt and "t" not in dw_vars:
            raise LearningError("learning rule: the tag rule dt has no effect: dw does not use factor t")

    # -------------------------------------------------------------- queries
    @property
    def variables(self) -> set:
        return {f.var for term in self.dw + self.dt for f in term.factors}

    def trace(self, var: str) -> Trace:
        return getattr(self, "r" if var == "r1" else var)

    @property
    def bounds(self) -> tuple[int, int]:
        lo, hi = neuron.WEIGHT_RANGE
        return {"mixed": (lo, hi), "excitatory": (0, hi), "inhibitory": (lo, 0)}[self.sign]

    @property
    def always_active(self) -> bool:
        """Some term has no gating factor: every synapse is processed every epoch."""
        return any(not any(f.gate for f in term.factors) for term in self.dw + self.dt)

    def __str__(self) -> str:
        s = f"dw = {format_terms(self.dw)}"
        if self.dt:
            s += f"; dt = {format_terms(self.dt)}"
        return s + f" (epoch {self.epoch})"

    # -------------------------------------------------------------- (de)serialisation
    def to_dict(self) -> dict:
        d = {"dw": [t.to_json() for t in self.dw], "dt": [t.to_json() for t in self.dt], "epoch": self.epoch,
             "traces": {name: {"impulse": getattr(self, name).impulse, "decay": getattr(self, name).decay}
                        for name in ("x1", "x2", "y1", "y2", "y3", "r")
                        if getattr(self, name) != Trace()},
             "reward": self.reward, "sign": self.sign, "rounding": self.rounding,
             "trace_rounding": self.trace_rounding, "seed": self.seed, "text": str(self)}
        return d

    _KEYS = ("dw", "dt", "epoch", "traces", "reward", "sign", "rounding", "trace_rounding", "seed", "text")

    @classmethod
    def from_dict(cls, d: dict) -> "LearningRule":
        """Inverse of :meth:`to_dict`; ``dw``/``dt`` may also be strings.  ``text`` is ignored."""
        if not isinstance(d, dict):
            raise LearningError(f"learning rule: expected a dict, got {type(d).__name__}")
        unknown = sorted(set(d) - set(cls._KEYS))
        if unknown:
            raise LearningError(f"learning rule: unknown key {unknown[0]!r} (allowed: {', '.join(cls._KEYS)})")
        if "dw" not in d:
            raise LearningError("learning rule: key 'dw' is missing")
        traces = d.get("traces", {}) or {}
        if not isinstance(traces, dict):
            raise LearningError("learning rule: 'traces' must be a dict {name: {impulse, decay}}")
        bad = sorted(set(traces) - {"x1", "x2", "y1", "y2", "y3", "r"})
        if bad:
            raise LearningError(f"learning rule: unknown trace {bad[0]!r} (allowed: x1, x2, y1, y2, y3, r)")
        kw = {k: d[k] for k in ("dt", "epoch", "reward", "sign", "rounding", "trace_rounding", "seed") if k in d}
        return cls(dw=d["dw"], **kw, **{k: _trace(v, k) for k, v in traces.items()})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "LearningRule":
        from .bounded import MAX_TEXT_BYTES, parse_json
        if not isinstance(text, str):
            raise LearningError(f"learning rule: JSON text expected, got {type(text).__name__}")
        if len(text) > MAX_TEXT_BYTES:
            raise LearningError(f"learning rule: JSON text of {len(text):,} characters is too long "
                                f"(at most {MAX_TEXT_BYTES:,})")
        d = parse_json(text, "learning rule", LearningError)
        if not isinstance(d, dict):
            raise LearningError(f"learning rule: JSON must be an object, got {type(d).__name__}")
        return cls.from_dict(d)

    # -------------------------------------------------------------- network checks
    def check_projection(self, owner: str, net: "Network", weight: np.ndarray) -> None:
        """Raise :class:`LearningError` unless the rule fits the projection and the network."""
        lo, hi = self.bounds
        if weight.size:
            bad = (weight < lo) | (weight > hi)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise LearningError(f"{owner}: plasticity sign = {self.sign!r} needs weights in {lo}..{hi}, "
                                    f"synapse {i} has weight {int(weight[i])}")
        if self.reward is not None and self.reward not in {g.name for g in net.inputs}:
            raise LearningError(f"{owner}: plasticity reward = {self.reward!r} is not an input group of network "
                                f"'{net.name}'")


# ---------------------------------------------------------------------------- builders
def _pair_terms(a_plus, a_minus, impulse_plus, impulse_minus, extra=()):
    terms = []
    if a_plus:
        m, e = coefficient(a_plus / impulse_plus)
        terms.append(Term(m, e, (Factor("x1"), Factor("y0"))))
    if a_minus:
        m, e = coefficient(a_minus / impulse_minus)
        terms.append(Term(-m, e, (Factor("y1"), Factor("x0"))))
    return tuple(terms) + tuple(extra)


def stdp(a_plus: float, a_minus: float, tau_plus: float, tau_minus: float, *, a_post: float = 0.0,
         impulse: int = 64, epoch: int = 1, sign: str = "excitatory", rounding: str = "stochastic",
         trace_rounding: str = "stochastic", seed: int = 0) -> LearningRule:
    """Pair-based STDP: ``dw = A+ x1 y0 - A- y1 x0 (+ a_post y0)``.

    ``a_plus``/``a_minus``: weight change (weight units) of one pre-before-post /
    post-before-pre pair at zero lag (trace = ``impulse``), i.e. ``A+ = a_plus /
    impulse`` and ``A- = a_minus / impulse``, each rounded to ``mant * 2**exp``;
    ``tau_plus``/``tau_minus``: trace time constants in steps (decay registers by
    :func:`decay_for_tau`).  ``a_post``: optional heterosynaptic change of every synapse
    at each postsynaptic spike (weight units; negative = depression), the term
    ``a_post * y0``.  Default: excitatory synapses bounded to [0, 254], stochastic rounding.
    """
    if a_plus < 0 or a_minus < 0 or (a_plus == 0 and a_minus == 0):
        raise LearningError(f"stdp: a_plus = {a_plus!r}, a_minus = {a_minus!r} must be >= 0, not both 0")
    imp = _int("stdp", "impulse", impulse, 1, TRACE_MAX)
    x1 = Trace(imp, decay_for_tau(tau_plus)) if a_plus else Trace()
    y1 = Trace(imp, decay_for_tau(tau_minus)) if a_minus else Trace()
    extra = ()
    if a_post:
        m, e = coefficient(a_post)
        extra = (Term(m, e, (Factor("y0"),)),)
    return LearningRule(dw=_pair_terms(a_plus, a_minus, imp, imp, extra), epoch=epoch, x1=x1, y1=y1, sign=sign,
                        rounding=rounding, trace_rounding=trace_rounding, seed=seed)


def reward_stdp(a_plus: float, a_minus: float, tau_plus: float, tau_minus: float, *, reward: str,
                learning_rate: float = 2.0 ** -8, tag_decay_exp: int = 3, tau_reward: float = 20.0,
                impulse: int = 64, reward_impulse: int = 64, epoch: int = 1, sign: str = "excitatory",
                rounding: str = "stochastic", trace_rounding: str = "stochastic", seed: int = 0) -> LearningRule:
    """Reward-modulated three-factor STDP with an eligibility tag.

    ``dt = A+ x1 y0 - A- y1 x0 - 2**-tag_decay_exp * t``: the tag t integrates pair STDP
    and forgets a fraction ``2**-tag_decay_exp`` per epoch; ``dw = learning_rate * r1 * t``:
    the weight follows the tag while the reward trace r1 (fed by spikes of the input group
    ``reward``, time constant ``tau_reward``) is up.  ``a_plus``/``a_minus`` are tag
    units per pair at zero lag.
    """
    imp = _int("reward_stdp", "impulse", impulse, 1, TRACE_MAX)
    rimp = _int("reward_stdp", "reward_impulse", reward_impulse, 1, TRACE_MAX)
    k = _int("reward_stdp", "tag_decay_exp", tag_decay_exp, 0, -EXP_RANGE[0])
    decay_term = Term(-1, -k, (Factor("t"),))
    dt = _pair_terms(a_plus, a_minus, imp, imp, (decay_term,))
    m, e = coefficient(learning_rate)
    dw = (Term(m, e, (Factor("r1"), Factor("t"))),)
    return LearningRule(dw=dw, dt=dt, epoch=epoch, x1=Trace(imp, decay_for_tau(tau_plus)) if a_plus else Trace(),
                        y1=Trace(imp, decay_for_tau(tau_minus)) if a_minus else Trace(),
                        r=Trace(rimp, decay_for_tau(tau_reward)), reward=reward, sign=sign, rounding=rounding,
                        trace_rounding=trace_rounding, seed=seed)


# ---------------------------------------------------------------------------- engine
def _round_shift(S: np.ndarray, s: int, mode: str, rng) -> np.ndarray:
    """``R(S * 2**-s)`` (module docstring): exact for s <= 0, else floor/nearest/stochastic."""
    if s <= 0:
        return S << (-s)
    if mode == "floor":
        return S >> s
    if mode == "nearest":
        return (S + (1 << (s - 1))) >> s
    return (S + rng.integers(0, 1 << s, size=S.shape, dtype=np.int64)) >> s


def _decay(x: np.ndarray, keep: int, mode: str, rng) -> np.ndarray:
    p = x * keep
    if mode == "floor":
        return p >> neuron.DECAY_SHIFT
    if mode == "nearest":
        return (p + 2048) >> neuron.DECAY_SHIFT
    return (p + rng.integers(0, 4096, size=np.shape(x), dtype=np.int64)) >> neuron.DECAY_SHIFT


@dataclass
class EpochUpdate:
    """Synapses processed at an epoch end: canonical ids (sorted) and their new weights."""

    ids: np.ndarray
    weights: np.ndarray


@dataclass
class _Plastic:
    name: str
    rule: LearningRule
    offset: int                 # canonical id of the projection's first synapse
    src: np.ndarray             # local presynaptic index per synapse
    dst: np.ndarray             # local postsynaptic index per synapse
    pre_input: bool
    pre_start: int              # global compartment id or input id of pre's first source
    pre_size: int
    post_start: int
    post_size: int
    reward: tuple | None        # (first input id, size) of the reward group
    w: np.ndarray               # int64 weights, projection order
    tag: np.ndarray | None
    rng: np.random.Generator
    traces: dict = field(default_factory=dict)
    x0: np.ndarray | None = None
    y0: np.ndarray | None = None
    r0: int = 0


class LearningEngine:
    """The learning state of a network's plastic projections (see the module docstring).

    ``step(t, fired, inputs)`` -- call once per step after the step's spikes are sent;
    ``fired``: global ids of compartments that spiked at t (any order), ``inputs``: input
    ids (0-based) that fired at t.  Returns an :class:`EpochUpdate` at epoch ends with
    processed synapses, else None.
    """

    def __init__(self, net: "Network"):
        self.updates = 0          # synapses processed so far (learning_updates)
        self._plastic: list[_Plastic] = []
        pops = {p.name: p for p in net.populations}
        ins = {g.name: g for g in net.inputs}
        m = net.flat().m
        off_rec, off_in = 0, m
        for proj in net.projections:
            if proj.pre_is_input:
                offset, off_in = off_in, off_in + len(proj)
            else:
                offset, off_rec = off_rec, off_rec + len(proj)
            rule = proj.plasticity
            if rule is None:
                continue
            pre = ins[proj.pre] if proj.pre_is_input else pops[proj.pre]
            post = pops[proj.post]
            reward = None
            if rule.reward is not None:
                g = ins[rule.reward]
                reward = (g.start, g.size)
            rng = np.random.default_rng([rule.seed, zlib.crc32(proj.name.encode())])
            st = _Plastic(name=proj.name, rule=rule, offset=offset, src=proj.src.astype(np.int64),
                          dst=proj.dst.astype(np.int64), pre_input=proj.pre_is_input, pre_start=pre.start,
                          pre_size=pre.size, post_start=post.start, post_size=post.size, reward=reward,
                          w=proj.weight.astype(np.int64), tag=np.zeros(len(proj), np.int64) if rule.dt else None,
                          rng=rng)
            used = rule.variables
            for v in TRACES:
                if v in used:
                    size = pre.size if v in _PRE else post.size if v in _POST else 1
                    st.traces[v] = np.zeros(size, dtype=np.int64)
            st.x0 = np.zeros(pre.size, dtype=bool)
            st.y0 = np.zeros(post.size, dtype=bool)
            self._plastic.append(st)

    @classmethod
    def build(cls, net) -> "LearningEngine | None":
        """The engine of ``net``, or None when no projection is plastic (or ``net`` is flat)."""
        projections = getattr(net, "projections", None)
        if not projections or all(p.plasticity is None for p in projections):
            return None
        return cls(net)

    # -------------------------------------------------------------- per step
    @staticmethod
    def _local(ids: np.ndarray, start: int, size: int) -> np.ndarray:
        sel = ids[(ids >= start) & (ids < start + size)]
        return sel - start

    def step(self, t: int, fired: np.ndarray, inputs: np.ndarray) -> EpochUpdate | None:
        ids, ws = [], []
        for st in self._plastic:
            rule = st.rule
            pre_spk = self._local(inputs if st.pre_input else fired, st.pre_start, st.pre_size)
            post_spk = self._local(fired, st.post_start, st.post_size)
            n_rew = self._local(inputs, *st.reward).size if st.reward is not None else 0
            for v, x in st.traces.items():   # insertion order = TRACES order
                tr = rule.trace(v)
                if tr.decay:
                    x[...] = _decay(x, 4096 - tr.decay, rule.trace_rounding, st.rng)
                if v in _PRE:
                    x[pre_spk] += tr.impulse
                elif v in _POST:
                    x[post_spk] += tr.impulse
                else:
                    x += tr.impulse * n_rew
                np.minimum(x, TRACE_MAX, out=x)
            st.x0[pre_spk] = True
            st.y0[post_spk] = True
            st.r0 |= int(n_rew > 0)
            if (t + 1) % rule.epoch == 0:
                sel = self._apply(st)
                if sel.size:
                    ids.append(sel + st.offset)
                    ws.append(st.w[sel])
                st.x0[:] = False
                st.y0[:] = False
                st.r0 = 0
        if not ids:
            return None
        return EpochUpdate(np.concatenate(ids), np.concatenate(ws))

    def _value(self, st: _Plastic, var: str, sel: np.ndarray) -> np.ndarray:
        if var == "x0":
            return st.x0[st.src[sel]].astype(np.int64)
        if var == "y0":
            return st.y0[st.dst[sel]].astype(np.int64)
        if var in _PRE:
            return st.traces[var][st.src[sel]]
        if var in _POST:
            return st.traces[var][st.dst[sel]]
        if var == "r0":
            return np.full(sel.size, st.r0, dtype=np.int64)
        if var == "r1":
            return np.full(sel.size, int(st.traces["r1"][0]), dtype=np.int64)
        if var == "w":
            return st.w[sel]
        if var == "sgnw":
            return np.sign(st.w[sel])
        return st.tag[sel]   # "t"

    def _active(self, st: _Plastic) -> np.ndarray:
        """Canonical (projection-local) indices of the synapses processed this epoch."""
        rule = st.rule
        m = st.w.size
        if rule.always_active:
            return np.arange(m, dtype=np.int64)
        mask = np.zeros(m, dtype=bool)
        for term in rule.dw + rule.dt:
            g = np.ones(m, dtype=bool)
            for f in term.factors:
                if f.var == "x0" and f.const == 0:
                    g &= st.x0[st.src]
                elif f.var == "y0" and f.const == 0:
                    g &= st.y0[st.dst]
                elif f.var == "r0" and f.const == 0:
                    g &= bool(st.r0)
            mask |= g
        return np.flatnonzero(mask)

    def _sum(self, st: _Plastic, terms, sel: np.ndarray) -> tuple[np.ndarray, int]:
        """``(S, e)`` with ``Z = S * 2**e`` exactly (int64)."""
        e = min(term.exp for term in terms)
        S = np.zeros(sel.size, dtype=np.int64)
        cache = {}
        for term in terms:
            p = np.full(sel.size, term.mant, dtype=np.int64)
            for f in term.factors:
                if f.var not in cache:
                    cache[f.var] = self._value(st, f.var, sel)
                p *= cache[f.var] + f.const
            S += p << (term.exp - e)
        return S, e

    def _apply(self, st: _Plastic) -> np.ndarray:
        rule = st.rule
        sel = self._active(st)
        self.updates += int(sel.size)
        if sel.size == 0:
            return sel
        Sw, ew = self._sum(st, rule.dw, sel)
        if rule.dt:
            St, et = self._sum(st, rule.dt, sel)   # both rules read the values before the update
        dwq = _round_shift(Sw, 1 - ew, rule.rounding, st.rng)
        lo, hi = rule.bounds
        st.w[sel] = np.clip(st.w[sel] + 2 * dwq, lo, hi)
        if rule.dt:
            dtq = _round_shift(St, -et, rule.rounding, st.rng)
            st.tag[sel] = np.clip(st.tag[sel] + dtq, *TAG_RANGE)
        return sel

    # -------------------------------------------------------------- results
    def weights(self) -> dict[str, np.ndarray]:
        """{projection name: int16 weights in the projection's synapse order}."""
        return {st.name: st.w.astype(np.int16) for st in self._plastic}

    def tags(self) -> dict[str, np.ndarray]:
        return {st.name: st.tag.copy() for st in self._plastic if st.tag is not None}

    def traces(self) -> dict[str, dict[str, np.ndarray]]:
        """{projection name: {trace name: current values}} (copies; for inspection and tests)."""
        return {st.name: {v: x.copy() for v, x in st.traces.items()} for st in self._plastic}


def canonical_position(storage_order: np.ndarray) -> np.ndarray:
    """``pos[c]``: storage position of canonical synapse c, given the storage order
    (``storage_order[p]`` = canonical id stored at position p)."""
    pos = np.empty(storage_order.size, dtype=np.int64)
    pos[storage_order] = np.arange(storage_order.size, dtype=np.int64)
    return pos
