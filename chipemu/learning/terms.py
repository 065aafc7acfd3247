"""Learning-rule vocabulary: register ranges, variables, and the sum-of-products terms.

``Z = sum_k mant_k * 2**exp_k * prod_j (V_kj + C_kj)`` is written as :class:`Term` s of
:class:`Factor` s, parsed from and formatted to text such as ``"2^-2 * x1 * y0 - 2^-2 * y1 *
x0"``.  The variables, bit widths and equations are in the package docstring
(:mod:`chipemu.learning`) and ``docs/learning.md``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..errors import NetworkError

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
