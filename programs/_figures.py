"""Draw docs/figures/programs_<name>.png: one computed figure per bundled program.

Each program is built at its default size (digits and shortest_path drawings use a
subset), run on the host reference runner, checked, and plotted with matplotlib (Agg).
The check verdict is printed into each figure's title.

    python programs/_figures.py [OUTDIR]        # default OUTDIR: docs/figures
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

from programs import brunel, digits, lca, shortest_path, synfire, wta  # noqa: E402
from programs._common import run_reference  # noqa: E402


def _verdict(mod, result) -> str:
    ok, detail = mod.check(result)
    text = ("check passed" if ok else "check FAILED") + ": " + detail
    return "\n".join(textwrap.wrap(text, 150, max_lines=3, placeholder=" ..."))


def _title(fig, name, text):
    fig.suptitle(f"programs/{name}.py", fontsize=12, fontweight="bold", x=0.01, ha="left")
    fig.text(0.01, 0.925, text, fontsize=7.5, ha="left", va="top", color="0.25")


def fig_synfire(out: Path):
    net = synfire.build()
    r = run_reference(net)
    want = synfire.expected_arrival(net)
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.scatter(r.spikes.t, r.spikes.neuron, s=2, c="k", marker="|")
    ax.scatter([want[p.name] for p in net.populations], [(p.start + p.stop) / 2 for p in net.populations],
               s=90, facecolors="none", edgecolors="tab:red", linewidths=0.8)
    ax.set_xlabel("step")
    ax.set_ylabel(f"compartment (groups of {net.populations[0].size})")
    ax.set_xlim(0, net.steps)
    _title(fig, "synfire", _verdict(synfire, r) + "\nblack: spikes; red circles: expected arrival step of each "
                                               "group (stim_step + 1 + g * (delay + 1))")
    fig.tight_layout(rect=(0, 0, 1, 0.84))
    fig.savefig(out / "programs_synfire.png", dpi=120)
    plt.close(fig)


def fig_brunel(out: Path):
    net = brunel.build()
    r = run_reference(net)
    exc, inh = net.population("exc"), net.population("inh")
    s = r.spikes
    t_lo, t_hi = 200, 500
    show_e = (s.neuron < exc.start + 200) & (s.t >= t_lo) & (s.t < t_hi)
    show_i = (s.neuron >= inh.start) & (s.neuron < inh.start + 50) & (s.t >= t_lo) & (s.t < t_hi)
    fig = plt.figure(figsize=(9, 6))
    ax1 = fig.add_axes((0.08, 0.42, 0.6, 0.4))
    ax1.scatter(s.t[show_e], s.neuron[show_e] - exc.start, s=1, c="tab:blue", marker="|")
    ax1.scatter(s.t[show_i], s.neuron[show_i] - inh.start + 200, s=1, c="tab:red", marker="|")
    ax1.set_ylabel("200 exc (blue) + 50 inh (red)")
    ax1.set_xlim(t_lo, t_hi)
    ax1.set_xticklabels([])
    ax2 = fig.add_axes((0.08, 0.1, 0.6, 0.28))
    per = np.bincount(s.t[s.neuron < exc.stop], minlength=r.steps)[:r.steps] / exc.size / brunel.STEP_S
    ax2.plot(np.arange(t_lo, t_hi), per[t_lo:t_hi], lw=0.7, c="tab:blue")
    ax2.set_xlim(t_lo, t_hi)
    ax2.set_xlabel("step (1 ms)")
    ax2.set_ylabel("exc rate (Hz)")
    ax3 = fig.add_axes((0.76, 0.1, 0.21, 0.72))
    from programs._common import spike_trains
    n, t = spike_trains(s, exc.start, exc.stop, 100, r.steps)
    same = n[1:] == n[:-1]
    isi = np.diff(t)[same]
    owner = n[1:][same]
    k = np.bincount(owner, minlength=exc.size)
    m1 = np.bincount(owner, weights=isi, minlength=exc.size)
    m2 = np.bincount(owner, weights=isi.astype(float) ** 2, minlength=exc.size)
    ok = k >= 5
    mean = m1[ok] / k[ok]
    cv = np.sqrt(np.maximum(m2[ok] / k[ok] - mean ** 2, 0)) / mean
    ax3.hist(cv, bins=40, color="0.4")
    ax3.axvspan(*brunel.CV_BAND, color="tab:green", alpha=0.15, label="check band")
    ax3.set_xlabel("CV of ISIs (per exc neuron)")
    ax3.legend(fontsize=7)
    _title(fig, "brunel", _verdict(brunel, r))
    fig.savefig(out / "programs_brunel.png", dpi=120)
    plt.close(fig)


def fig_wta(out: Path):
    net = wta.build()
    r = run_reference(net)
    free = run_reference(wta.build(w_inh=0))
    drive = wta.input_drive(net)
    counts = wta.late_counts(r)
    counts_free = wta.late_counts(free)
    fig, (ax0, ax1, ax2) = plt.subplots(1, 3, figsize=(11, 4), gridspec_kw={"width_ratios": [1.5, 1.5, 1]})
    colors = plt.cm.tab10(np.arange(len(net.populations)) % 10)
    for ax, res, label in ((ax0, free, "without inhibition (w_inh=0)"), (ax1, r, "with lateral inhibition")):
        pop = net.population_of(res.spikes.neuron)
        ax.scatter(res.spikes.t, res.spikes.neuron, s=2, c=colors[pop], marker="|")
        ax.axvline(res.steps // 2, color="0.5", ls="--", lw=0.8)
        ax.set_ylim(-1, net.n_compartments)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("step (check window: right of dashed line)")
    ax0.set_ylabel("compartment (colour = population)")
    x = np.arange(len(net.populations))
    ax2.bar(x - 0.27, drive / drive.max(), 0.27, color=colors, alpha=0.35, label="input drive")
    ax2.bar(x, counts_free / max(counts_free.max(), 1), 0.27, color=colors, alpha=0.65, hatch="//",
            label="spikes, no inhibition")
    ax2.bar(x + 0.27, counts / max(counts.max(), 1), 0.27, color=colors, label="spikes, WTA")
    ax2.set_xticks(x, [p.name for p in net.populations])
    ax2.set_ylabel("relative to the largest")
    ax2.legend(fontsize=7, loc="upper left")
    _title(fig, "wta", _verdict(wta, r))
    fig.tight_layout(rect=(0, 0, 1, 0.84))
    fig.savefig(out / "programs_wta.png", dpi=120)
    plt.close(fig)


def fig_shortest_path(out: Path):
    import networkx as nx
    net = shortest_path.build()
    r = run_reference(net)
    meta = net.program_meta
    g, t0 = meta["graph"], meta["t0"]
    first = r.spikes.first_spike(net.n_compartments)
    dist = meta["distances"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.6))
    pos = nx.spring_layout(g.to_undirected(), seed=1)
    colors = [first[v] - t0 if first[v] >= 0 else np.nan for v in g.nodes]
    nx.draw_networkx_edges(g, pos, ax=ax1, width=0.3, alpha=0.3, arrows=False)
    sc = ax1.scatter([pos[v][0] for v in g.nodes], [pos[v][1] for v in g.nodes], c=colors, s=12,
                     cmap="viridis", edgecolors="none")
    silent = [v for v in g.nodes if first[v] < 0]
    ax1.scatter([pos[v][0] for v in silent], [pos[v][1] for v in silent], s=14, facecolors="none",
                edgecolors="tab:red", linewidths=0.6, label="never fired (unreachable)")
    ax1.scatter([pos[meta["source"]][0]], [pos[meta["source"]][1]], s=80, marker="*", c="tab:orange", label="source")
    fig.colorbar(sc, ax=ax1, label="first spike - t0 (steps)")
    ax1.legend(fontsize=7, loc="lower left")
    ax1.set_axis_off()
    nodes = sorted(dist)
    ax2.scatter([dist[v] for v in nodes], [first[v] - t0 for v in nodes], s=8)
    top = max(dist.values())
    ax2.plot([0, top], [0, top], color="tab:red", lw=0.7, label="first spike = distance")
    ax2.set_xlabel("networkx Dijkstra distance")
    ax2.set_ylabel("first spike step - t0")
    ax2.legend(fontsize=7)
    _title(fig, "shortest_path", _verdict(shortest_path, r))
    fig.tight_layout(rect=(0, 0, 1, 0.84))
    fig.savefig(out / "programs_shortest_path.png", dpi=120)
    plt.close(fig)


def fig_lca(out: Path):
    net = lca.build()
    r = run_reference(net)
    meta = net.program_meta
    code = lca.decode(r)[0]
    ref = lca.ista(meta["phi"], meta["x"][0], meta["lam"])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    idx = np.arange(code.size)
    ax1.stem(idx, ref, linefmt="tab:red", markerfmt="o", basefmt=" ", label="ISTA (numpy)")
    ax1.plot(idx, code, "k.", ms=5, label="spiking LCA (rates)")
    ax1.plot(idx[meta["a0"][0] > 0], meta["a0"][0][meta["a0"][0] > 0], "x", c="tab:green", label="true a0")
    ax1.set_xlabel("atom")
    ax1.set_ylabel("coefficient")
    ax1.legend(fontsize=7)
    active = np.unique(r.spikes.neuron)
    rows = {a: i for i, a in enumerate(active)}
    ax2.scatter(r.spikes.t, [rows[n] for n in r.spikes.neuron], s=4, marker="|", c="k")
    ax2.axvline(meta["window"][0], color="0.5", ls="--", lw=0.8)
    ax2.set_yticks(range(active.size), [str(a) for a in active], fontsize=6)
    ax2.set_xlabel("step (decoding window right of the dashed line)")
    ax2.set_ylabel("atoms that spiked")
    _title(fig, "lca", _verdict(lca, r))
    fig.tight_layout(rect=(0, 0, 1, 0.84))
    fig.savefig(out / "programs_lca.png", dpi=120)
    plt.close(fig)


def fig_digits(out: Path):
    net = digits.build()
    r = run_reference(net)
    meta = net.program_meta
    pred = digits.predict(r)
    model = digits.train()
    images = model["x_test"][:meta["images"]]
    fig = plt.figure(figsize=(10, 4.4))
    for i in range(12):
        ax = fig.add_axes((0.02 + (i % 6) * 0.075, 0.47 - (i // 6) * 0.4, 0.065, 0.3))
        ax.imshow(images[i].reshape(8, 8), cmap="gray_r")
        ok = pred[i] == meta["labels"][i]
        ax.set_title(f"{pred[i]} ({meta['labels'][i]})", fontsize=8, color="k" if ok else "tab:red")
        ax.set_axis_off()
    fig.text(0.02, 0.02, "spiking prediction (true label), first 12 held-out images", fontsize=7)
    ax = fig.add_axes((0.52, 0.12, 0.45, 0.68))
    out_pop = net.population("out")
    sel = r.spikes.select(out_pop.start, out_pop.start + 12 * 10)
    ax.scatter(sel.t, sel.neuron, s=3, marker="|", c="k")
    for i in range(12):
        ax.axhline(i * 10 - 0.5, color="0.8", lw=0.5)
        ax.scatter([r.steps + 1], [i * 10 + meta["labels"][i]], marker="<", c="tab:green", s=12)
    ax.set_xlabel("step")
    ax.set_ylabel("output compartments (10 per image)")
    ax.set_xlim(0, r.steps + 3)
    _title(fig, "digits", _verdict(digits, r))
    fig.savefig(out / "programs_digits.png", dpi=120)
    plt.close(fig)


FIGURES = {"synfire": fig_synfire, "brunel": fig_brunel, "wta": fig_wta, "shortest_path": fig_shortest_path,
           "lca": fig_lca, "digits": fig_digits}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else ROOT / "docs" / "figures"
    out.mkdir(parents=True, exist_ok=True)
    for name, draw in FIGURES.items():
        draw(out)
        print(f"wrote {out / f'programs_{name}.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
