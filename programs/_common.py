"""Helpers shared by the bundled programs (not a program: the leading underscore hides it).

* :data:`ProgramResult` (= :class:`chipemu.results.RunOutcome`) and :func:`run_reference`
  -- what a program's ``check`` receives (``network``, ``spikes``, ``steps``, ``report``)
  and the host runner that produces one.
* :func:`attach_meta` / :func:`get_meta` -- what ``build`` knew that ``check`` needs (the
  graph, the dictionary, the labels...), carried on the Network object itself.
* :func:`even_weights`, :func:`bias_registers` -- the explicit float -> register
  quantisation steps, returning the quantisation error so checks can report it.
* :func:`energy_detail` -- energy per inference from a chip run's report, when present.
* :func:`isi_cv`, :func:`synchrony_chi` -- spike-train statistics.
"""

from __future__ import annotations


import numpy as np

from chipemu import Network, SpikeRaster
from chipemu.errors import ChipemuError
from chipemu.neuron import BIAS_EXP_RANGE, BIAS_MANT_RANGE, WEIGHT_RANGE
from chipemu.results import RunOutcome


#: what ``check(result)`` reads: any run result (host, chip or hand-made) --
#: ``network``, ``spikes``, ``steps``, and ``report`` (the chip run's report.json dict, or
#: None on the host runner); see :class:`chipemu.results.RunOutcome`
ProgramResult = RunOutcome


def run_reference(net: Network, steps: int | None = None) -> RunOutcome:
    """Run ``net`` on the host reference runner (its result is what ``check`` reads)."""
    from chipemu.reference import run
    return run(net, steps)


#: in-memory caches of programs (e.g. trained models), keyed by program name
MODEL_CACHE: dict = {}


# ------------------------------------------------------------------ size parameters
def check_build_size(program: str, counts: dict, nbytes: float, what: str, groups: int = 0) -> None:
    """Refuse size parameters before ``build`` allocates anything: each of ``counts``
    ({name: value}) an integer 0..2**31 - 1, and ``nbytes`` (the program's estimate of what
    it builds) within the memory budget (:func:`chipemu.bounded.check_memory`).  A
    parameter of 10**9 groups fails here in microseconds, not after an hour of building.
    ``groups``: populations and input groups it adds (at most :data:`chipemu.network.MAX_GROUPS`)."""
    from chipemu.bounded import check_int, check_memory
    from chipemu.network import MAX_GROUPS
    for name, value in counts.items():
        check_int(value, f"{program}: {name}", 0, 2**31 - 1)
    if groups > MAX_GROUPS:
        raise ChipemuError(f"{program}: {groups:,} populations and input groups is too large "
                           f"(at most {MAX_GROUPS:,} in one network)")
    check_memory(int(min(max(nbytes, 0), 2**62)), f"{program}: {what}")


# ------------------------------------------------------------------ metadata
_META_ATTR = "program_meta"


def attach_meta(net: Network, program: str, **meta) -> Network:
    """Store ``meta`` (what ``check`` needs besides spikes) on the Network object."""
    setattr(net, _META_ATTR, {"program": program, **meta})
    return net


def get_meta(net: Network, program: str) -> dict:
    """The metadata ``build`` attached; a clear error if the network did not come from it."""
    meta = getattr(net, _META_ATTR, None)
    if not isinstance(meta, dict) or meta.get("program") != program:
        raise ChipemuError(
            f"program {program}: check() needs the Network returned by programs/{program}.py build() "
            f"(network '{net.name}' carries no {program} metadata; a network re-loaded from a flat file "
            "cannot be checked)")
    return meta


# ------------------------------------------------------------------ quantisation
def even_weights(w: np.ndarray, owner: str = "weights") -> np.ndarray:
    """Round float weights (already in weight units) to even integers in [-256, 254].

    Values outside the range are an error, not clipped: the caller chooses the scale.
    """
    w = np.asarray(w, dtype=float)
    q = 2 * np.round(w / 2)
    lo, hi = WEIGHT_RANGE
    if q.size and (q.min() < lo or q.max() > hi):
        raise ChipemuError(f"{owner}: scaled weights span {q.min():.0f}..{q.max():.0f}, outside {lo}..{hi}")
    return q.astype(np.int64)


def bias_registers(bias: np.ndarray, owner: str = "bias") -> tuple[np.ndarray, np.ndarray]:
    """``(bias_mant, bias_exp)`` per compartment with ``bias_mant << bias_exp`` nearest ``bias``.

    Each compartment gets the smallest exponent whose mantissa fits 13 bits, so small
    biases keep full resolution; the error is at most ``2**(bias_exp - 1)``.
    """
    b = np.asarray(bias, dtype=float)
    lo, hi = BIAS_MANT_RANGE
    exp = np.zeros(b.shape, dtype=np.int64)
    for _ in range(BIAS_EXP_RANGE[1] + 1):
        mant = np.round(b / 2.0 ** exp)
        big = (mant < lo) | (mant > hi)
        if not big.any():
            return mant.astype(np.int64), exp
        exp[big] += 1
    raise ChipemuError(f"{owner}: bias {np.abs(b).max():.0f} exceeds the largest register value "
                       f"{hi << BIAS_EXP_RANGE[1]}")


def bias_value(mant: np.ndarray, exp: np.ndarray) -> np.ndarray:
    """The integer bias the registers encode: ``mant << exp``."""
    return np.left_shift(np.asarray(mant, dtype=np.int64), np.asarray(exp, dtype=np.int64))


# ------------------------------------------------------------------ report
def energy_detail(result, n_inferences: int, what: str = "inference") -> str:
    """``"; energy/inference 1.2 uJ chip vs 34 uJ baseline"`` from ``result.report``, or ``""``."""
    report = getattr(result, "report", None)
    if not report or n_inferences <= 0:
        return ""
    try:
        chip = float(report["energy"]["total_j"]) / n_inferences
    except (KeyError, TypeError, ValueError):
        return ""
    text = f"; energy/{what} {_si(chip)}J on chip"
    try:
        base = float(report["baseline"]["energy_j"]) / n_inferences
        text += f" vs {_si(base)}J baseline ({base / chip:.3g}x)" if chip > 0 else f" vs {_si(base)}J baseline"
    except (KeyError, TypeError, ValueError):
        pass
    return text


def load_digits_dataset(program: str) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits: ``(pixels / 16, shape (1797, 64), labels int64)``.

    Nothing is downloaded (the data set ships with scikit-learn); without scikit-learn the
    error names ``program``.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ChipemuError(f"program {program} needs scikit-learn: pip install scikit-learn") from None
    x, y = load_digits(return_X_y=True)
    return x / 16.0, y.astype(np.int64)


def train_test_split(n: int, test_size: int, seed: int) -> tuple[np.random.Generator, np.ndarray, np.ndarray]:
    """``(rng, train indices, test indices)``: one seeded permutation of ``n`` examples, the
    first ``test_size`` held out; ``rng`` continues the stream for initialisation and training."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    return rng, perm[test_size:], perm[:test_size]


def adam_train(params: list, grads_of, n_train: int, epochs: int, rng: np.random.Generator,
               lr: float = 0.01, batch: int = 64) -> None:
    """Minibatch Adam (beta1 0.9, beta2 0.999, eps 1e-8), updating ``params`` in place.

    Each epoch visits the ``n_train`` training examples in an order drawn from ``rng``, in
    batches of ``batch``; ``grads_of(idx)`` returns the gradient of every parameter (weight
    decay included) for the examples ``idx``, in the order of ``params``.
    """
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    t = 0
    for _ in range(epochs):
        order = rng.permutation(n_train)
        for i in range(0, n_train, batch):
            grads = grads_of(order[i:i + batch])
            t += 1
            for j, g in enumerate(grads):
                m[j] = 0.9 * m[j] + 0.1 * g
                v[j] = 0.999 * v[j] + 0.001 * g * g
                params[j] -= lr * (m[j] / (1 - 0.9 ** t)) / (np.sqrt(v[j] / (1 - 0.999 ** t)) + 1e-8)


def _si(x: float) -> str:
    for scale, prefix in ((1.0, " "), (1e-3, " m"), (1e-6, " u"), (1e-9, " n"), (1e-12, " p")):
        if abs(x) >= scale:
            return f"{x / scale:.3g}{prefix}"
    return f"{x / 1e-15:.3g} f"


# ------------------------------------------------------------------ statistics
def spike_trains(spikes: SpikeRaster, lo: int, hi: int, t0: int = 0, t1: int | None = None):
    """``(neuron, t)`` of the spikes of compartments lo..hi-1 in [t0, t1), sorted by (neuron, t).

    Neuron indices are renumbered from 0.
    """
    keep = (spikes.neuron >= lo) & (spikes.neuron < hi) & (spikes.t >= t0)
    if t1 is not None:
        keep &= spikes.t < t1
    n = spikes.neuron[keep] - lo
    t = spikes.t[keep]
    order = np.lexsort((t, n))
    return n[order], t[order]


def isi_cv(spikes: SpikeRaster, lo: int, hi: int, t0: int, t1: int, min_isis: int = 5) -> tuple[float, int]:
    """Mean coefficient of variation of inter-spike intervals and how many neurons it covers.

    Only neurons with at least ``min_isis`` intervals in [t0, t1) count.  ``nan`` if none.
    """
    n, t = spike_trains(spikes, lo, hi, t0, t1)
    same = n[1:] == n[:-1]                       # consecutive spikes of one neuron
    isi = np.diff(t)[same].astype(float)
    owner = n[1:][same]
    size = hi - lo
    n_isi = np.bincount(owner, minlength=size)
    s1 = np.bincount(owner, weights=isi, minlength=size)
    s2 = np.bincount(owner, weights=isi * isi, minlength=size)
    ok = n_isi >= min_isis
    if not ok.any():
        return float("nan"), 0
    mean = s1[ok] / n_isi[ok]
    var = s2[ok] / n_isi[ok] - mean ** 2
    return float(np.mean(np.sqrt(np.maximum(var, 0)) / mean)), int(ok.sum())


def synchrony_chi(spikes: SpikeRaster, lo: int, hi: int, t0: int, t1: int, bin_steps: int = 5,
                  max_neurons: int = 4000) -> float:
    """Golomb's synchrony measure chi from binned spike counts (0 = asynchronous, 1 = lock-step).

    ``chi**2 = Var_t(population mean count) / mean_i Var_t(count_i)`` over bins of
    ``bin_steps`` steps in [t0, t1), using the first ``max_neurons`` compartments of lo..hi-1.
    """
    hi = min(hi, lo + max_neurons)
    n = hi - lo
    nb = (t1 - t0) // bin_steps
    if n < 2 or nb < 2:
        return float("nan")
    keep = (spikes.neuron >= lo) & (spikes.neuron < hi) & (spikes.t >= t0) & (spikes.t < t0 + nb * bin_steps)
    b = (spikes.t[keep] - t0) // bin_steps
    m = np.bincount(b * n + (spikes.neuron[keep] - lo), minlength=nb * n).reshape(nb, n).astype(float)
    single = m.var(axis=0).mean()
    if single == 0:
        return float("nan")
    return float(np.sqrt(m.mean(axis=1).var() / single))
