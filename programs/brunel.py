"""Balanced excitatory/inhibitory network (Brunel 2000) in the asynchronous irregular state.

What it computes
    ``n_exc`` excitatory and ``n_inh`` inhibitory Loihi LIF compartments (voltage time
    constant ~20 steps: ``dv = 205``; delta synapses: ``du = 4095``).  Every neuron receives
    exactly ``k_exc`` excitatory synapses of weight ``w_exc`` and ``k_inh`` inhibitory ones
    of weight ``-g * w_exc`` from randomly chosen neurons (fixed in-degree, seeded), all with
    ``delay`` (a spike at step s arrives at s + 1 + delay).  The external drive is a constant
    bias of ``eta`` times the threshold drive (the bias whose steady-state voltage equals the
    threshold), varied per neuron by +-``hetero`` (uniform, seeded).  With inhibition
    dominating (g > k_exc / k_inh = 4) the recurrent input balances the drive and the
    network settles into Brunel's asynchronous irregular (AI) state: low rates, Poisson-like
    irregular spike trains, weak synchrony.  No input spikes: all activity is recurrent, so
    every spike is network traffic.  With ``hetero=0`` every neuron is identical and the
    network locks into the synchronous regular state instead (the check then fails).

    Steps are read as 1 ms for rates in Hz.  Default: 4,000 neurons (connection probability
    10 %, as in Brunel 2000), 1.6 M synapses, 1,000 steps; ~15 Hz, CV ~1.1, chi ~0.13.

Parameters
    n_exc=3200, n_inh=800, k_exc=320, k_inh=80, w_exc=8, g=6, vth=160, dv=205, du=4095,
    delay=1, eta=2.0, hetero=0.1, steps=1000, seed=1.
    Keep ``k_exc`` well below ``n_exc`` (sparse limit, n_exc >= ~5 * k_exc): a dense network
    shares too much input between neurons and synchronises.  Larger ``n_exc`` with the same
    in-degrees keeps the same state (checked up to 20,000 neurons).

Check (excitatory population, steps [burn, steps) with burn = min(100, steps // 5))
    * mean rate in [5, 50] Hz (0.005..0.05 spikes per neuron per step);
    * mean coefficient of variation of inter-spike intervals in [0.8, 1.4] (neurons with
      >= 5 intervals; at least a quarter of the neurons must qualify, which needs
      ``steps`` >= ~500 at ~15 Hz);
    * synchrony chi <= 0.3 (Golomb's chi on spike counts in 5-step bins; 1 = lock-step).
"""

from __future__ import annotations

import numpy as np

from chipemu import Network
from chipemu.connectors import FixedFanout

from programs._common import bias_registers, check_build_size, energy_detail, isi_cv, synchrony_chi

RATE_HZ = (5.0, 50.0)
CV_BAND = (0.8, 1.4)
CHI_MAX = 0.3
MIN_CV_FRACTION = 0.25  # at least this fraction of neurons must have >= 5 intervals
STEP_S = 1e-3  # one step read as 1 ms


def _fixed_indegree(n_pre: int, n_post: int, k: int, seed: int, same: bool) -> tuple[np.ndarray, np.ndarray]:
    """Every post neuron gets ``k`` distinct presynaptic neurons (no self-synapse if ``same``)."""
    post, pre = FixedFanout(fanout=k, seed=seed, allow_self=not same).build(n_post, n_pre, same)
    return pre, post


def build(n_exc: int = 3200, n_inh: int = 800, k_exc: int = 320, k_inh: int = 80, w_exc: int = 8,
          g: float = 6, vth: int = 160, dv: int = 205, du: int = 4095, delay: int = 1,
          eta: float = 2.0, hetero: float = 0.1, steps: int = 1000, seed: int = 1) -> Network:
    check_build_size("brunel", {"n_exc": n_exc, "n_inh": n_inh, "k_exc": k_exc, "k_inh": k_inh},
                     (n_exc + n_inh) * (128 + 64 * (k_exc + k_inh)), f"{n_exc + n_inh:,} neurons x "
                     f"{k_exc + k_inh:,} synapses each")
    rng = np.random.default_rng(seed)
    n = n_exc + n_inh
    # bias whose steady-state voltage b * 4096 / dv equals the threshold vth << 6
    b_thr = (vth << 6) * dv / 4096
    bias = eta * b_thr * (1 + hetero * rng.uniform(-1, 1, n))
    mant, exp = bias_registers(bias, "brunel bias")
    net = Network("brunel", steps=steps)
    exc = net.add_population("exc", n_exc, du=du, dv=dv, vth=vth, bias_mant=mant[:n_exc], bias_exp=exp[:n_exc])
    inh = net.add_population("inh", n_inh, du=du, dv=dv, vth=vth, bias_mant=mant[n_exc:], bias_exp=exp[n_exc:])
    w_inh = -int(round(g * w_exc))
    w_inh -= w_inh % 2  # even
    for j, (pre, k, w) in enumerate(((exc, k_exc, w_exc), (inh, k_inh, w_inh))):
        for i, post in enumerate((exc, inh)):
            src, dst = _fixed_indegree(pre.size, post.size, k, seed * 10 + 2 * j + i + 1, pre is post)
            net.connect(pre, post, "explicit", src=src, dst=dst, weight=int(w), delay=delay)
    return net


def statistics(result) -> dict:
    """Rate (Hz), CV of ISIs, synchrony chi of the excitatory population, and the inhibitory rate."""
    net, spikes, steps = result.network, result.spikes, result.steps
    exc, inh = net.population("exc"), net.population("inh")
    burn = min(100, steps // 5)
    window = max(steps - burn, 1)
    sel = spikes.t >= burn
    pop = net.population_of(spikes.neuron[sel])
    counts = np.bincount(pop, minlength=len(net.populations))
    iexc = net.populations.index(exc)
    iinh = net.populations.index(inh)
    cv, n_cv = isi_cv(spikes, exc.start, exc.stop, burn, steps)
    return {
        "burn": burn,
        "rate_hz": counts[iexc] / (exc.size * window) / STEP_S,
        "rate_inh_hz": counts[iinh] / (inh.size * window) / STEP_S,
        "cv": cv,
        "cv_neurons": n_cv,
        "n_exc": exc.size,
        "chi": synchrony_chi(spikes, exc.start, exc.stop, burn, steps),
    }


def check(result) -> tuple[bool, str]:
    s = statistics(result)
    problems = []
    if not RATE_HZ[0] <= s["rate_hz"] <= RATE_HZ[1]:
        problems.append(f"rate {s['rate_hz']:.1f} Hz outside {RATE_HZ[0]:g}..{RATE_HZ[1]:g} Hz")
    if not (CV_BAND[0] <= s["cv"] <= CV_BAND[1]):  # False for nan
        problems.append(f"CV {s['cv']:.2f} outside {CV_BAND[0]}..{CV_BAND[1]}")
    if s["cv_neurons"] < MIN_CV_FRACTION * s["n_exc"]:
        problems.append(f"only {s['cv_neurons']}/{s['n_exc']} neurons have >= 5 intervals")
    if not s["chi"] <= CHI_MAX:
        problems.append(f"synchrony chi {s['chi']:.2f} > {CHI_MAX}")
    stats = (f"exc rate {s['rate_hz']:.1f} Hz (band {RATE_HZ[0]:g}-{RATE_HZ[1]:g}), "
             f"CV {s['cv']:.2f} (band {CV_BAND[0]}-{CV_BAND[1]}, {s['cv_neurons']}/{s['n_exc']} neurons), "
             f"chi {s['chi']:.2f} (<= {CHI_MAX}), inh rate {s['rate_inh_hz']:.1f} Hz")
    energy = energy_detail(result, len(result.spikes), "spike")
    if problems:
        return False, "not asynchronous irregular: " + "; ".join(problems) + f" [{stats}]"
    return True, f"asynchronous irregular: {stats}{energy}"
