"""A plastic projection's :class:`LearningRule` (traces, dw/dt rules, epoch, rounding) and
the pair-STDP builders :func:`stdp` and :func:`reward_stdp`.  Bit widths and equations:
:mod:`chipemu.learning` and ``docs/learning.md``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .. import neuron
from .terms import (
    DECAY_RANGE,
    EPOCH_RANGE,
    EXP_RANGE,
    IMPULSE_RANGE,
    ROUNDINGS,
    SEED_RANGE,
    SIGNS,
    TRACE_MAX,
    Factor,
    LearningError,
    Term,
    _int,
    _terms,
    coefficient,
    decay_for_tau,
    format_terms,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..network import Network

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
        from ..bounded import MAX_TEXT_BYTES, parse_json
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
