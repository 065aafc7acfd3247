"""Record reference traces of Lava's neuron process models into ``lava_neurons.npz``.

Not part of the test suite and not a chipemu dependency: it needs Intel's Lava
(lava-nc/lava, BSD-3-Clause), which is not on this project's package index.  It was run
with Lava's source tree (lava-nc/lava at commit b6822fbc, ``src/`` on PYTHONPATH) in a
separate virtual environment holding numpy 1.26, scipy, networkx 2.8.7 and asteval; one
line of Lava was patched to import on Python 3.11 (``ByteEncoder`` dataclass defaults in
``lava/magma/compiler/var_model.py`` turned into ``field(default_factory=ByteEncoder)``),
no model code was touched::

    python3 -m venv /work/lavaenv
    /work/lavaenv/bin/pip install "numpy<2" scipy "networkx<=2.8.7" asteval
    PYTHONPATH=<lava>/src /work/lavaenv/bin/python tests/data/record_lava_neurons.py

Every case drives one Lava process through an ``io.source.RingBuffer`` (``a_in`` at
Lava time_step t+1 = ``a_in[t]``, chipemu step t) and reads its output and state Vars
after every step.  Cases use the ``fixed_pt`` process models (``floating_pt`` for
``LIFRefractory``, which has no other).  ``tests/test_neuron_models.py`` replays them on
chipemu's kernels.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.atrlif.process import ATRLIF
from lava.proc.io.sink import RingBuffer as Sink
from lava.proc.io.source import RingBuffer as Source
from lava.proc.lif.process import LIFRefractory
from lava.proc.rf.process import RF
from lava.proc.rf_iz.process import RF_IZ
from lava.proc.sdn.process import ActivationMode, Delta, Sigma, SigmaDelta

OUT = Path(__file__).with_name("lava_neurons.npz")


def drive(proc, a_in: np.ndarray, words: tuple, tag: str, in_port="a_in") -> dict:
    """Run ``proc`` for a_in.shape[1] steps; return its s_out and state words per step."""
    n, steps = a_in.shape
    src = Source(data=a_in)
    snk = Sink(shape=(n,), buffer=steps)
    src.s_out.connect(getattr(proc, in_port))
    proc.s_out.connect(snk.a_in)
    trace = {w: [] for w in words}
    cfg = Loihi2SimCfg(select_tag=tag)
    for _ in range(steps):
        proc.run(condition=RunSteps(num_steps=1), run_cfg=cfg)
        for w in words:
            trace[w].append(np.array(getattr(proc, w).get()).reshape(-1).copy())
    out = np.array(snk.data.get()).T  # (steps, n)
    proc.stop()
    return {"s_out": out, **{w: np.array(v) for w, v in trace.items()}}


def inputs(rng, n, steps, scale, density=0.6):
    a = rng.integers(-scale, scale + 1, size=(n, steps))
    return (a * (rng.random((n, steps)) < density)).astype(np.int32)


def main() -> None:
    rng = np.random.default_rng(13)
    cases = {}

    def add(name, model, regs, a_in, rec):
        cases[name] = {"model": model, "regs": regs, "a_in": a_in.T.astype(np.int64), **rec}
        print(name, "messages:", int(np.count_nonzero(rec["s_out"])), file=sys.stderr)

    n, T = 12, 40
    # sigma_delta: ReLU, netx's exponents; unit activation with cumulative error; no exponents
    for name, kw in (("sigma_delta_relu", dict(vth=3, spike_exp=6, state_exp=6, act_mode=1, cum_error=0)),
                     ("sigma_delta_unit_cum", dict(vth=5, spike_exp=3, state_exp=2, act_mode=0, cum_error=1)),
                     ("sigma_delta_plain", dict(vth=90, spike_exp=0, state_exp=0, act_mode=1, cum_error=0))):
        bias = rng.integers(-4, 5, n)
        a = inputs(rng, n, T, 20000 if kw["spike_exp"] == 6 else (3000 if kw["spike_exp"] else 200))
        proc = SigmaDelta(shape=(n,), vth=kw["vth"], bias=bias, act_mode=ActivationMode(kw["act_mode"]),
                          cum_error=bool(kw["cum_error"]), spike_exp=kw["spike_exp"], state_exp=kw["state_exp"])
        add(name, "sigma_delta", {**kw, "bias": bias.tolist()}, a,
            drive(proc, a, ("sigma", "act", "residue", "error"), "fixed_pt"))
    for name, kw in (("delta_netx", dict(vth=20, spike_exp=6, state_exp=6, cum_error=0)),
                     ("delta_cum", dict(vth=7, spike_exp=2, state_exp=3, cum_error=1))):
        x = (40 * np.sin(np.arange(T)[None, :] * 2 * np.pi / 15 + rng.random((n, 1)) * 6)).astype(np.int32)
        proc = Delta(shape=(n,), vth=kw["vth"], cum_error=bool(kw["cum_error"]), spike_exp=kw["spike_exp"],
                     state_exp=kw["state_exp"])
        add(name, "delta", kw, x, drive(proc, x, ("act", "residue", "error"), "fixed_pt"))
    a = inputs(rng, n, T, 500)
    add("sigma", "sigma", {}, a, drive(Sigma(shape=(n,)), a, ("sigma",), "fixed_pt"))
    # resonate-and-fire: registers as Lava's process computes them
    for model, cls in (("rf", RF), ("rf_iz", RF_IZ)):
        for k, kw in enumerate((dict(period=10, alpha=0.07, state_exp=6, decay_bits=12, vth=0.5),
                                dict(period=7.3, alpha=0.02, state_exp=4, decay_bits=10, vth=3))):
            a = inputs(rng, n, T, 6, density=0.15)
            proc = cls(shape=(n,), **kw)
            regs = {"sin_decay": int(np.array(proc.sin_decay.init).reshape(-1)[0]),
                    "cos_decay": int(np.array(proc.cos_decay.init).reshape(-1)[0]),
                    "decay_bits": kw["decay_bits"], "state_exp": kw["state_exp"],
                    "vth": int(np.array(proc.vth.init).reshape(-1)[0])}
            add(f"{model}_{k}", model, {**regs, "lava": kw}, a,
                drive(proc, a, ("real", "imag"), "fixed_pt", in_port="a_real_in"))
    # ATRLIF: delta_x = d_x / 4096
    for k, kw in enumerate((dict(d_i=1024, d_v=512, d_theta=256, d_r=128, theta_0=20, theta_step=4, bias_exp=6),
                            dict(d_i=4095, d_v=0, d_theta=40, d_r=300, theta_0=9, theta_step=11, bias_exp=3))):
        bias = rng.integers(0, 6, n)
        a = inputs(rng, n, T, 300)
        proc = ATRLIF(shape=(n,), delta_i=kw["d_i"] / 4096, delta_v=kw["d_v"] / 4096,
                      delta_theta=kw["d_theta"] / 4096, delta_r=kw["d_r"] / 4096, theta_0=kw["theta_0"],
                      theta=kw["theta_0"], theta_step=kw["theta_step"], bias_mant=bias,
                      bias_exp=np.full(n, kw["bias_exp"]))
        add(f"atrlif_{k}", "atrlif", {**kw, "bias_mant": bias.tolist()}, a,
            drive(proc, a, ("i", "v", "theta", "r"), "fixed_pt"))
    # LIFRefractory (float model): du = 1 and dv = 0 are exact in floating point;
    # chipemu's fixed point runs the same case with du = 4095, dv = 4096 * dv, bias_exp = 6
    for k, (dv, period, vth) in enumerate(((0.0, 3, 10), (0.0, 1, 6), (0.0, 7, 4))):
        bias = rng.integers(0, 3, n)
        a = inputs(rng, n, T, 6)
        proc = LIFRefractory(shape=(n,), du=1.0, dv=dv, vth=vth, bias_mant=bias.astype(float),
                             refractory_period=period)
        add(f"lif_refractory_{k}", "lif_refractory",
            {"du": 4095, "dv": int(dv * 4096), "vth": vth, "bias_mant": bias.tolist(), "bias_exp": 6,
             "refractory_period": period}, a.astype(float), drive(proc, a.astype(float), ("u", "v"), "floating_pt"))

    arrays = {}
    for name, c in cases.items():
        arrays[f"{name}/meta"] = np.array(json.dumps({"model": c["model"], "regs": c["regs"]}))
        for k, v in c.items():
            if k not in ("model", "regs"):
                arrays[f"{name}/{k}"] = np.asarray(v)
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT} ({len(cases)} cases)", file=sys.stderr)


if __name__ == "__main__":
    main()
