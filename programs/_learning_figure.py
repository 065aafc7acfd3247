"""Draw docs/figures/learning_stdp_pattern.png: programs/stdp_pattern.py at its defaults.

Runs the program with on-chip STDP and its control (static weights) on the host
reference runner, checks both, and plots (A) the input and output around the end of the
run, (B) the neuron's rate inside and outside pattern windows over the run, (C) the learned
weight of every afferent against the time it fires inside the pattern.

    python programs/_learning_figure.py [OUTDIR]        # default OUTDIR: docs/figures
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from chipemu.reference import run  # noqa: E402
from programs import stdp_pattern  # noqa: E402
from programs._common import ProgramResult  # noqa: E402


def _rates(spikes, starts, L, steps, bin_steps):
    inside = np.zeros(steps, bool)
    for s0 in starts:
        inside[s0:s0 + L] = True
    nb = steps // bin_steps
    t = spikes.t[spikes.t < nb * bin_steps]
    b = t // bin_steps
    n_in = np.bincount(b[inside[t]], minlength=nb)
    n_out = np.bincount(b[~inside[t]], minlength=nb)
    s_in = inside[:nb * bin_steps].reshape(nb, bin_steps).sum(1)
    s_out = bin_steps - s_in
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1000.0 * n_in / s_in, 1000.0 * n_out / s_out


def draw(out: Path) -> Path:
    net = stdp_pattern.build()
    ctrl = stdp_pattern.build(plastic=False)
    res, res_c = run(net), run(ctrl)
    meta = net.program_meta
    starts, L, n_pat, steps = meta["starts"], meta["pattern_len"], meta["pattern_afferents"], net.steps
    ok, detail = stdp_pattern.check(ProgramResult(network=net, spikes=res.spikes, steps=res.steps))
    ok_c, detail_c = stdp_pattern.check(ProgramResult(network=ctrl, spikes=res_c.spikes, steps=res_c.steps))
    w = res.weights["afferents->neuron"].astype(int)

    fig = plt.figure(figsize=(11, 7.2))
    # (A) raster excerpt
    ax = fig.add_axes((0.06, 0.50, 0.90, 0.30))
    t0, t1 = steps - 600, steps
    g = net.input_group("afferents")
    sel = (g.spike_t >= t0) & (g.spike_t < t1)
    ts, ids = g.spike_t[sel], g.spike_idx[sel]
    for s0 in starts[(starts >= t0 - L) & (starts < t1)]:
        ax.axvspan(s0, s0 + L, color="tab:orange", alpha=0.15, lw=0)
    ax.scatter(ts, ids, s=1.5, c=np.where(ids < n_pat, "0.15", "0.55"), marker="s", lw=0)
    for s in res.spikes.t[(res.spikes.t >= t0) & (res.spikes.t < t1)]:
        ax.axvline(s, color="tab:red", lw=1.2)
    for s in res_c.spikes.t[(res_c.spikes.t >= t0) & (res_c.spikes.t < t1)]:
        ax.plot([s, s], [-14, -4], color="tab:blue", lw=0.8)
    ax.set_xlim(t0, t1)
    ax.set_ylim(-16, g.size)
    ax.set_ylabel(f"afferent (0-{n_pat - 1}: pattern)")
    ax.set_xlabel("step (1 ms)")
    ax.set_title("A  last 600 steps: orange = pattern windows, red = neuron spikes after learning, "
                 "blue ticks = control (static weights)", fontsize=8.5, loc="left")
    # (B) rates over time
    ax = fig.add_axes((0.06, 0.07, 0.42, 0.32))
    bs = 1000
    r_in, r_out = _rates(res.spikes, starts, L, steps, bs)
    c_in, c_out = _rates(res_c.spikes, starts, L, steps, bs)
    x = (np.arange(r_in.size) + 0.5) * bs
    ax.plot(x, r_in, "-o", ms=3, color="tab:red", label="STDP, inside pattern")
    ax.plot(x, r_out, "-o", ms=3, color="0.3", label="STDP, in noise")
    ax.plot(x, c_in, "--", color="tab:red", alpha=0.6, label="control, inside pattern")
    ax.plot(x, c_out, "--", color="0.3", alpha=0.6, label="control, in noise")
    ax.axvspan(meta["test_start"], steps, color="tab:green", alpha=0.08, lw=0)
    ax.set_xlabel("step")
    ax.set_ylabel("neuron rate (Hz), 1000-step bins")
    ax.set_yscale("symlog", linthresh=1)
    ax.legend(fontsize=7, loc="center right")
    ax.set_title("B  rate inside / outside pattern windows (green: test phase)", fontsize=8.5, loc="left")
    # (C) weight vs spike time in the pattern
    ax = fig.add_axes((0.56, 0.07, 0.40, 0.32))
    first = starts[0]
    pat_t = [np.flatnonzero((g.spike_idx == i) & (g.spike_t >= first) & (g.spike_t < first + L)) for i in range(n_pat)]
    lat = stdp_pattern.selectivity(res.spikes, starts, L, meta["test_start"], steps)["latency_steps"]
    for i in range(n_pat):
        for k in pat_t[i]:
            ax.scatter(g.spike_t[k] - first, w[i], s=10, color="tab:orange", lw=0)
    ax.scatter(np.full(g.size - n_pat, -4) + np.random.default_rng(0).uniform(-2, 2, g.size - n_pat), w[n_pat:],
               s=6, color="0.5", lw=0, label="noise afferents (x = -4)")
    ax.axvline(lat, color="tab:red", lw=1, label=f"median spike latency {lat:.0f}")
    ax.set_xlabel("afferent's spike time inside the pattern (steps)")
    ax.set_ylabel("learned weight")
    ax.set_xlim(-8, L)
    ax.set_ylim(-8, 260)
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title("C  learned weights: pattern afferents (orange) by spike time", fontsize=8.5, loc="left")

    head = ("check passed" if ok else "check FAILED") + ": " + detail
    head_c = "control " + ("passes (unexpected)" if ok_c else "fails, as it should") + ": " + detail_c
    fig.suptitle("programs/stdp_pattern.py: on-chip STDP finds a repeating 50-step pattern in noise",
                 fontsize=11, fontweight="bold", x=0.01, ha="left")
    fig.text(0.01, 0.935, "\n".join(textwrap.wrap(head, 190) + textwrap.wrap(head_c, 190)), fontsize=7.2,
             ha="left", va="top", color="0.25")
    path = out / "learning_stdp_pattern.png"
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


if __name__ == "__main__":
    print(draw(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "figures"))
