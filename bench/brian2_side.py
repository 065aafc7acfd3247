#!/usr/bin/env python
"""Run a chipemu flat network (docs/formats.md) in Brian2, bit-exact to Loihi CUBA LIF.

Standalone: Brian2 is not a chipemu dependency. Run it with the benchmark venv
(see bench/README.md):

    /work/bench-venv/bin/python bench/brian2_side.py NET.npz --steps N \
        [--target cython|numpy] [--spikes-out S.npz] [--json-out R.json] [--ref GOLD.npz]

How the Loihi integer model (docs/neuron.md) maps onto Brian2
-------------------------------------------------------------------
* dt = 1 ms = one Loihi timestep; Brian2 step k is Loihi step k.
* u, v, a are float64 variables that only ever hold integers (Brian2's ``integer`` type is
  int32, and ``u * (4095 - du)`` needs ~36 bits). Every product is < 2**53 and the division
  by 4096 is a power of two, so ``int(p / 4096.0)`` is exactly trunc0(p / 4096): Brian2's
  ``int()`` is a C ``(int)`` cast in cython (truncates toward zero) and ``np.int32(x)`` in numpy
  (also truncation toward zero).
* The whole compartment update is a ``run_regularly`` operation in the ``groups`` slot
  (the group has no differential equations, hence no state updater). It consumes the
  synaptic accumulator ``a`` and clears it.
* Brian2's default schedule is start, groups, thresholds, synapses, resets, end (synapses
  come BEFORE resets). Within step s: groups (u, v update using a) -> thresholds
  (v > vth*64) -> synapses (on_pre ``a_post += w`` for spikes whose delay has elapsed) ->
  resets (v = 0). A spike emitted at step s over a synapse with Brian2 delay d*dt is
  delivered in the synapses slot of step s + d, i.e. after that step's group update, so it
  is first seen by the group update of step s + d + 1 -- exactly Loihi's s + 1 + d.
  Delay 0 works the same way (delivered in the same step, consumed the next).
  Because on_pre only touches ``a`` (never v), the synapses-before-resets order is harmless.
  SpikeGeneratorGroup sources fire in the thresholds slot of their listed step, so input
  synapses obey the same rule.
* Per-synapse delays are heterogeneous (``S.delay = array * ms``; Brian2 rounds delay/dt to
  the nearest integer step, exact here). Duplicate (src, dst) synapses are separate
  synapses and all add into ``a``.
* Limit: ``int()`` returns int32 in both targets, so |u| must stay below 2**31 (it does unless
  one compartment's a exceeds ~2**25 in one step, i.e. >130k max-weight events at once).

Timing: ``build_s`` = object construction + ``net.run(0 ms)`` (code generation and, on a
cold cache, cython compilation); ``run_s`` = wall time of ``net.run(steps ms)``, which
includes Brian2's per-run preparation (code objects re-created, spike queues prepared);
``loop_s`` = Brian2's own timer around the time-step loop only. For cython the default is
two passes in one process (same object names, so pass 2 reuses the compiled extensions);
the top-level numbers are the last pass, every pass is in ``passes``. ``--cold-cache``
compiles pass 1 into an empty cache (expect ~30 s).
"""
import argparse
import json
import sys
import tempfile
import time

import numpy as np

REQUIRED = ["du", "dv", "vth", "bias_mant", "bias_exp", "src", "dst", "weight", "delay",
            "in_n", "in_src", "in_dst", "in_weight", "in_delay", "in_spike_idx", "in_spike_t"]

UPDATE_CODE = """
u = int(u * (4095 - decay_u) / 4096.0) + a * 64
u = u - 16777216 * int(u > 8388608) + 16777216 * int(u <= -8388608)
v = clip(int(v * (4096 - decay_v) / 4096.0) + u + bias, -8388607, 8388607)
a = 0
"""


def fail(msg):
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(2)


def load_net(path):
    try:
        d = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        fail(f"{path}: cannot read network file: {e}")
    missing = [k for k in REQUIRED if k not in d.files]
    if missing:
        fail(f"{path}: missing key(s) {', '.join(missing)}")
    net = {k: np.asarray(d[k]) for k in REQUIRED}
    net["steps"] = int(d["steps"]) if "steps" in d.files else None
    n = len(net["du"])
    in_n = int(net["in_n"])
    for k, hi in (("src", n), ("dst", n), ("in_dst", n), ("in_src", in_n), ("in_spike_idx", in_n)):
        a = net[k]
        if a.size and (a.min() < 0 or a.max() >= hi):
            fail(f"{path}: key '{k}' has an index out of bounds [0, {hi})")
    if net["in_spike_t"].size and net["in_spike_t"].min() < 0:
        fail(f"{path}: key 'in_spike_t' has a negative step")
    ev = np.stack([net["in_spike_idx"], net["in_spike_t"]], 1)
    if len(np.unique(ev, axis=0)) != len(ev):
        # chipemu rejects these too (a source fires at most once per step), and Brian2's
        # SpikeGeneratorGroup cannot express two spikes of one source in one dt.
        fail(f"{path}: key 'in_spike_idx'/'in_spike_t' has duplicate events; "
                         "events must be unique")
    return net


def build(b2, net):
    """Construct the Brian2 network; returns (Network, SpikeMonitor)."""
    ms = b2.ms
    n = len(net["du"])
    G = b2.NeuronGroup(
        n,
        """
        u : 1
        v : 1
        a : 1
        decay_u : 1 (constant)
        decay_v : 1 (constant)
        vth64 : 1 (constant)
        bias : 1 (constant)
        """,
        threshold="v > vth64",
        reset="v = 0",
        name="lif",
    )
    G.decay_u = net["du"].astype(np.float64)
    G.decay_v = net["dv"].astype(np.float64)
    G.vth64 = net["vth"].astype(np.float64) * 64
    G.bias = net["bias_mant"].astype(np.float64) * (2.0 ** net["bias_exp"].astype(np.float64))
    G.run_regularly(UPDATE_CODE, when="groups", name="lif_update")
    objs = [G]

    def syn(source, i, j, w, dly, name):
        S = b2.Synapses(source, G, "w : 1 (constant)", on_pre="a_post += w", name=name)
        S.connect(i=i.astype(np.int32), j=j.astype(np.int32))
        # Brian2 keeps the order of explicit i/j arrays; check so w/delay line up.
        assert np.array_equal(np.asarray(S.i[:]), i) and np.array_equal(np.asarray(S.j[:]), j)
        S.w = w.astype(np.float64)
        S.delay = dly.astype(np.float64) * ms  # array -> heterogeneous per-synapse delays
        return S

    if len(net["src"]):
        objs.append(syn(G, net["src"], net["dst"], net["weight"], net["delay"], "rec"))
    in_n = int(net["in_n"])
    if in_n > 0 and len(net["in_src"]) and len(net["in_spike_t"]):
        idx = net["in_spike_idx"].astype(np.int64)
        t = net["in_spike_t"].astype(np.int64)
        P = b2.SpikeGeneratorGroup(in_n, idx.astype(np.int32), t.astype(np.float64) * ms,
                                   name="inp")
        objs.append(P)
        objs.append(syn(P, net["in_src"], net["in_dst"], net["in_weight"], net["in_delay"],
                        "inp_syn"))
    mon = b2.SpikeMonitor(G, record=True, name="mon")
    objs.append(mon)
    return b2.Network(*objs, name="net"), mon


def one_pass(b2, net, steps):
    t0 = time.perf_counter()
    bnet, mon = build(b2, net)
    bnet.run(0 * b2.ms, namespace={})  # triggers code generation + compilation
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    bnet.run(steps * b2.ms, namespace={})
    run_s = time.perf_counter() - t0
    loop_s = float(b2.get_device()._last_run_time)  # the time-step loop alone
    st = np.rint(np.asarray(mon.t_[:]) / 1e-3).astype(np.int64)
    sn = np.asarray(mon.i[:]).astype(np.int64)
    order = np.lexsort((sn, st))
    return dict(build_s=build_s, run_s=run_s, loop_s=loop_s), st[order], sn[order]


def delivered_events(src, delay, nsrc, spk_t, spk_i, steps):
    """Synaptic events delivered within the run: synapses of each spike (t, i) with t + d < steps."""
    if not len(src) or not len(spk_t):
        return 0
    width = int(delay.max()) + 1
    cnt = np.bincount(src.astype(np.int64) * width + delay, minlength=nsrc * width).reshape(nsrc, width)
    cum = np.cumsum(cnt, axis=1)
    lim = np.asarray(steps - 1 - spk_t, dtype=np.int64)
    ok = lim >= 0
    return int(cum[spk_i[ok], np.minimum(lim[ok], width - 1)].sum())


def compare(t, n, ref_path, steps):
    r = np.load(ref_path)
    rt, rn = np.asarray(r["t"]).astype(np.int64), np.asarray(r["neuron"]).astype(np.int64)
    keep = rt < steps
    rt, rn = rt[keep], rn[keep]
    if len(rt) == len(t) and np.array_equal(rt, t) and np.array_equal(rn, n):
        return True, None
    a = set(zip(t.tolist(), n.tolist()))
    b = set(zip(rt.tolist(), rn.tolist()))
    diff = sorted(a ^ b)
    return False, dict(ref_spikes=int(len(rt)), extra=len(a - b), missing=len(b - a),
                       first_diff_step=int(diff[0][0]) if diff else None)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("net")
    ap.add_argument("--steps", type=int, default=None, help="default: the file's 'steps' key")
    ap.add_argument("--target", choices=["cython", "numpy"], default="cython")
    ap.add_argument("--spikes-out")
    ap.add_argument("--json-out")
    ap.add_argument("--ref", help="golden spikes.npz (t, neuron) to compare with, event for event (its "
                         "events at t >= steps are ignored)")
    ap.add_argument("--passes", type=int, default=None,
                    help="build+run passes in this process; the reported build_s/run_s are the "
                         "last pass, earlier passes are listed in 'passes' (default: 2 for "
                         "cython, i.e. one warm-up pass, 1 for numpy)")
    ap.add_argument("--cold-cache", action="store_true",
                    help="compile into a fresh empty cython cache (so pass 1 measures real "
                         "compilation rather than a disk-cache hit)")
    args = ap.parse_args(argv)

    net = load_net(args.net)
    steps = args.steps if args.steps is not None else net["steps"]
    if steps is None:
        fail("no --steps given and the file has no 'steps' key")
    passes = args.passes or (2 if args.target == "cython" else 1)

    import brian2 as b2
    b2.prefs.logging.file_log = False
    b2.prefs.logging.std_redirection = False
    b2.prefs.codegen.target = args.target
    tmp_cache = None
    if args.cold_cache:
        tmp_cache = tempfile.TemporaryDirectory(prefix="brian2-cache-")
        b2.prefs.codegen.runtime.cython.cache_dir = tmp_cache.name
    b2.defaultclock.dt = 1 * b2.ms

    results = []
    for _ in range(passes):
        # Identical object names in every pass -> identical generated code -> pass 2+ reuse
        # the compiled extensions (in-memory/disk cache) instead of recompiling.
        res, t, n = one_pass(b2, net, steps)
        results.append(res)

    out = dict(
        target=args.target,
        steps=int(steps),
        neurons=int(len(net["du"])),
        synapses=int(len(net["src"]) + len(net["in_src"])),  # compartment + input synapses
        input_synapses=int(len(net["in_src"])),
        build_s=results[-1]["build_s"],
        run_s=results[-1]["run_s"],
        loop_s=results[-1]["loop_s"],
        spikes=int(len(t)),
        synaptic_events=delivered_events(net["src"], net["delay"], len(net["du"]), t, n, steps)
        + delivered_events(net["in_src"], net["in_delay"], int(net["in_n"]),
                           net["in_spike_t"][net["in_spike_t"] < steps],
                           net["in_spike_idx"][net["in_spike_t"] < steps], steps),
        exact_match=None,
        passes=results,
        brian2_version=b2.__version__,
    )
    if args.ref:
        ok, info = compare(t, n, args.ref, steps)
        out["exact_match"] = ok
        if info:
            out["mismatch"] = info
    if args.spikes_out:
        np.savez(args.spikes_out, t=t, neuron=n)
    text = json.dumps(out, indent=2)
    if args.json_out:
        with open(args.json_out, "w") as f:
            f.write(text + "\n")
    print(text)
    if tmp_cache is not None:
        tmp_cache.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
