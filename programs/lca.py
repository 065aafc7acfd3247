"""Sparse coding with a spiking Locally Competitive Algorithm (LCA).

What it computes
    A dictionary Phi (``dim`` x ``atoms``, Gaussian, seeded, unit-norm columns) and
    ``signals`` signals x = Phi a0 + noise, each a non-negative combination of ``sparsity``
    atoms (coefficients uniform in [0.5, 1], Gaussian noise of std ``noise``).  For each
    signal the network solves the non-negative LASSO

        min_a  1/2 ||x - Phi a||^2 + lam ||a||_1,   a >= 0

    with one compartment per atom (spike rates are non-negative, hence a >= 0).
    Spiking LCA (Tang, Lin & Davies 2017; Davies et al. 2018): a non-leaky integrate-and-
    fire compartment (``dv=0``) with threshold Theta = vth << 6 receives the feed-forward
    drive b_i = Phi_i^T x - lam as a constant bias, and each spike of atom j sends
    -Theta * G_ij of charge to atom i, G = Phi^T Phi - I, through a synaptic current that
    decays with ``du`` (total charge per spike = weight * 64 * 4096 / (du + 1)).  At the
    fixed point the rates r satisfy the LASSO optimality conditions with a = kappa * r,
    kappa = Theta / S, S the bias scale (S * max_i b_i = r_max * Theta: the most driven
    atom would fire at ``r_max`` spikes per step on its own).  The sparse code is decoded
    from spike counts over [``steps`` // 4, ``steps``).

Quantisation (an explicit, reported step)
    Lateral weights -vth * G * (du + 1) / 4096 are rounded to even integers; vth is chosen
    so the largest |weight| is 254 (full 8-bit range).  Biases S * b are rounded to
    bias_mant << bias_exp (13-bit mantissa, smallest exponent that fits).  The check
    detail reports the largest weight error in Gram units (max |G_q - G|) and the largest
    relative bias error.

Parameters
    dim=64, atoms=128, sparsity=5, lam=0.1, noise=0.02, signals=1, r_max=0.05, du=1023,
    steps=2000, seed=0.  ``signals`` > 1 codes several signals at once with the same
    dictionary: one population (and one dense lateral block) per signal.

Check
    For every signal, the LASSO objective of the spiking code is <= 1.05 x the objective of
    a numpy ISTA solution (non-negative soft threshold, 5000 iterations) of the same
    problem (plus 1e-3 absolute, for near-zero objectives).  The detail reports both
    objectives, the support sizes, and the quantisation errors.
"""

from __future__ import annotations

import numpy as np

from chipemu import Network

from programs._common import (attach_meta, bias_registers, bias_value, check_build_size, energy_detail, even_weights,
                              get_meta)

RATIO = 1.05
ABS_SLACK = 1e-3


def make_problem(dim: int, atoms: int, sparsity: int, noise: float, signals: int, seed: int):
    """``(Phi, X, A0)``: dictionary (dim, atoms), signals (signals, dim), true codes (signals, atoms)."""
    rng = np.random.default_rng(seed)
    phi = rng.standard_normal((dim, atoms))
    phi /= np.linalg.norm(phi, axis=0)
    a0 = np.zeros((signals, atoms))
    for s in range(signals):
        idx = rng.choice(atoms, size=min(sparsity, atoms), replace=False)
        a0[s, idx] = rng.uniform(0.5, 1.0, idx.size)
    x = a0 @ phi.T + noise * rng.standard_normal((signals, dim))
    return phi, x, a0


def objective(phi: np.ndarray, x: np.ndarray, a: np.ndarray, lam: float) -> float:
    """1/2 ||x - Phi a||^2 + lam ||a||_1."""
    return float(0.5 * np.sum((x - phi @ a) ** 2) + lam * np.abs(a).sum())


def ista(phi: np.ndarray, x: np.ndarray, lam: float, iters: int = 5000) -> np.ndarray:
    """Non-negative LASSO by ISTA (proximal gradient, step 1/L, L = ||Phi||_2^2).

    ``x`` is one signal (dim,) or a batch (signals, dim); the result has the matching shape.
    """
    step = 1.0 / np.linalg.norm(phi, 2) ** 2
    xs = np.atleast_2d(x)
    gram, b = phi.T @ phi, xs @ phi
    a = np.zeros((xs.shape[0], phi.shape[1]))
    for _ in range(iters):
        a = np.maximum(0.0, a - step * (a @ gram - b + lam))
    return a.reshape(np.shape(x)[:-1] + (phi.shape[1],))


def build(dim: int = 64, atoms: int = 128, sparsity: int = 5, lam: float = 0.1, noise: float = 0.02,
          signals: int = 1, r_max: float = 0.05, du: int = 1023, steps: int = 2000, seed: int = 0) -> Network:
    check_build_size("lca", {"dim": dim, "atoms": atoms, "signals": signals},
                     8 * (dim * atoms * 3 + atoms * atoms * 2 + dim * signals), f"{dim:,} x {atoms:,} dictionary")
    phi, x, a0 = make_problem(dim, atoms, sparsity, noise, signals, seed)
    gram = phi.T @ phi
    np.fill_diagonal(gram, 0.0)
    charge = 4096.0 / (du + 1)                 # v-units per weight unit per spike, / 64
    vth = int(np.floor(254 / (np.abs(gram).max() / charge)))  # largest |weight| -> 254
    theta = vth << 6
    w_float = -vth * gram / charge
    w = even_weights(w_float, "lca lateral weights")
    g_q = -w * charge / vth                    # the Gram matrix the chip actually uses
    np.fill_diagonal(g_q, 0.0)
    net = Network("lca", steps=steps)
    kappa, bias_err = [], 0.0
    src, dst = np.nonzero(w)
    for s in range(signals):
        b = phi.T @ x[s] - lam
        scale = r_max * theta / max(b.max(), 1e-12)   # v-units per step per unit of b
        bias = scale * b
        mant, exp = bias_registers(bias, "lca bias")
        got = bias_value(mant, exp)
        bias_err = max(bias_err, float(np.max(np.abs(got - bias)) / max(np.abs(bias).max(), 1e-12)))
        kappa.append(theta / scale)
        pop = net.add_population(f"atoms{s}" if signals > 1 else "atoms", atoms, du=du, dv=0, vth=vth,
                                 bias_mant=mant, bias_exp=exp)
        net.connect(pop, pop, "explicit", src=src, dst=dst, weight=w[src, dst], delay=0)
    return attach_meta(net, "lca", phi=phi, x=x, a0=a0, lam=lam, kappa=np.array(kappa),
                       weight_err=float(np.abs(g_q - gram).max()), bias_err=bias_err, vth=vth,
                       window=(steps // 4, steps), seed=seed)


def decode(result) -> np.ndarray:
    """Sparse codes (signals, atoms) from spike counts over the decoding window."""
    net = result.network
    meta = get_meta(net, "lca")
    lo = min(meta["window"][0], result.steps // 4)
    hi = result.steps
    sel = result.spikes.t >= lo
    codes = []
    for s, pop in enumerate(net.populations):
        keep = sel & (result.spikes.neuron >= pop.start) & (result.spikes.neuron < pop.stop)
        counts = np.bincount(result.spikes.neuron[keep] - pop.start, minlength=pop.size)
        codes.append(meta["kappa"][s] * counts / max(hi - lo, 1))
    return np.array(codes)


def check(result) -> tuple[bool, str]:
    meta = get_meta(result.network, "lca")
    phi, x, lam = meta["phi"], meta["x"], meta["lam"]
    codes = decode(result)
    worst, fails, parts = 0.0, [], []
    a_refs = ista(phi, x, lam)
    for s in range(x.shape[0]):
        a_ref = a_refs[s]
        f_ref = objective(phi, x[s], a_ref, lam)
        f = objective(phi, x[s], codes[s], lam)
        worst = max(worst, f / f_ref)
        if not f <= RATIO * f_ref + ABS_SLACK:
            fails.append(s)
        if s < 3:
            parts.append(f"signal {s}: objective {f:.4f} vs ISTA {f_ref:.4f} ({f / f_ref:.3f}x), "
                         f"support {int((codes[s] > 0).sum())} vs {int((a_ref > 1e-9).sum())}")
    quant = (f"quantisation: max |G_q - G| = {meta['weight_err']:.4f} (vth {meta['vth']}), "
             f"max bias error {meta['bias_err']:.1e} relative")
    summary = "; ".join(parts) + (f"; ... {x.shape[0]} signals, worst {worst:.3f}x" if x.shape[0] > 3 else "")
    if fails:
        return False, (f"{len(fails)} of {x.shape[0]} signals exceed {RATIO} x ISTA objective + {ABS_SLACK}: "
                       f"{summary}; {quant}")
    return True, (f"spiking LASSO objective <= {RATIO} x ISTA + {ABS_SLACK}: {summary}; {quant}"
                  + energy_detail(result, x.shape[0], "signal"))
