"""The report's figures, drawn from ``report.json`` (a dict) and the spike raster only.

Nothing here re-runs anything: every figure is a function of the report dict (and, for the
raster, of ``spikes.npz``), so ``chipemu report DIR`` can redraw them later.  matplotlib's
Agg backend is used (no display needed).

:func:`render_figures` returns ``{name: png_bytes}`` for the figures in :data:`FIGURES`;
each ``fig_*`` function returns a :class:`matplotlib.figure.Figure`.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg", force=False)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import Normalize  # noqa: E402
from matplotlib.patches import FancyArrowPatch, Rectangle  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from .units import fmt_si, si_scale  # noqa: E402

__all__ = ["FIGURES", "render_figures", "fig_raster", "fig_core_utilisation", "fig_link_traffic",
           "fig_energy", "fig_latency"]

_BLUE, _ORANGE, _GREEN, _GREY, _RED = "#1f5fa8", "#e07b00", "#2e9a4b", "#9a9a9a", "#c0392b"
_DPI = 110
_STYLE = {
    "font.size": 10, "axes.titlesize": 12, "axes.titleweight": "bold", "axes.labelsize": 10,
    "axes.spines.top": False, "axes.spines.right": False, "figure.dpi": _DPI, "savefig.dpi": _DPI,
    "axes.grid": False, "legend.frameon": False,
}

def _pl(n, word: str) -> str:
    n = int(n)
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", facecolor="white")
    plt.close(fig)
    return buf.getvalue()


def _no_data(fig, ax, text: str) -> None:
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=12, color=_GREY, transform=ax.transAxes)


def _subtitle(r: dict) -> str:
    net, chip = r.get("network", {}), r.get("chip", {})
    return (f"{net.get('name', '?')} on {chip.get('name', '?')} · {r.get('steps', 0):,} steps · "
            f"mapper {r.get('mapping', {}).get('strategy', '?')}")


# --------------------------------------------------------------------------------------
# spike raster


def fig_raster(r: dict, spikes) -> "plt.Figure":
    """Spike raster (compartment vs step) with population bands, and spikes per step below."""
    steps = int(r.get("steps", 0))
    n = int(r.get("network", {}).get("neurons", 0))
    t = np.asarray(spikes.t)
    nid = np.asarray(spikes.neuron)
    with plt.rc_context(_STYLE):
        fig, (ax, axr) = plt.subplots(2, 1, figsize=(10, 6.2), sharex=True, layout="constrained",
                                      gridspec_kw={"height_ratios": [4, 1.2]})
        fig.suptitle(f"Spike raster — {_pl(t.size, 'spike')} from {_pl(n, 'compartment')}", fontweight="bold",
                     fontsize=13, x=0.01, ha="left")
        ax.set_title(_subtitle(r), fontsize=9, fontweight="normal", color="#444", loc="left")
        if t.size == 0:
            ax.text(0.5, 0.5, "no spikes", ha="center", va="center", transform=ax.transAxes, color=_GREY,
                    fontsize=12)
        elif t.size <= 150_000:
            if t.size < 2_000:
                ms = float(np.clip(300.0 / max(n, 1), 3.0, 14.0))
                ax.plot(t, nid, "|", ms=ms, mew=max(1.0, ms / 6), color=_BLUE, rasterized=True)
            else:
                ms = 1.5 if t.size < 30_000 else 0.5
                ax.plot(t, nid, ".", ms=ms, color=_BLUE, alpha=0.9, rasterized=True)
        else:  # too many points: a density image
            bins_t = max(1, min(steps, 1000))
            bins_n = max(1, min(n, 600))
            h, xe, ye = np.histogram2d(t, nid, bins=[bins_t, bins_n], range=[[0, max(steps, 1)], [0, max(n, 1)]])
            vmax = float(np.percentile(h[h > 0], 99)) if np.any(h > 0) else 1.0
            im = ax.imshow(h.T, origin="lower", aspect="auto", extent=[xe[0], xe[-1], ye[0], ye[-1]], cmap="Blues",
                           interpolation="nearest", vmin=0, vmax=max(vmax, 1.0), zorder=1)
            fig.colorbar(im, ax=ax, pad=0.08, shrink=0.8).set_label("spikes per bin")
        starts = r.get("network", {}).get("population_start") or []
        names = r.get("network", {}).get("populations") or []
        sizes = r.get("network", {}).get("population_size") or []
        if starts and len(starts) == len(names):
            for i, (s0, name) in enumerate(zip(starts, names)):
                if i % 2 == 1 and len(starts) <= 60:
                    size = sizes[i] if i < len(sizes) else 0
                    ax.axhspan(s0 - 0.5, s0 + size - 0.5, color="#f0f3f8", zorder=0, lw=0)
                if i > 0 and len(starts) <= 60:
                    ax.axhline(s0 - 0.5, color="#c8cfdb", lw=0.6, zorder=0.5)
            if len(starts) <= 24:
                mids = [s0 + (sizes[i] if i < len(sizes) else 0) / 2 - 0.5 for i, s0 in enumerate(starts)]
                sec = ax.secondary_yaxis("right")
                sec.set_yticks(mids)
                sec.set_yticklabels(names, fontsize=7 if len(starts) > 12 else 8)
                sec.tick_params(length=0)
                sec.spines["right"].set_visible(False)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        axr.xaxis.set_major_locator(MaxNLocator(integer=True))
        axr.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
        ax.set_ylabel("compartment (global index)")
        ax.set_ylim(-0.5, max(n, 1) - 0.5)
        ax.set_xlim(-0.5, max(steps, 1) - 0.5)
        per_step = np.bincount(t, minlength=steps)[:steps] if steps else np.zeros(0)
        axr.bar(np.arange(steps), per_step, width=1.0, color=_BLUE, lw=0)
        axr.set_ylabel("spikes / step")
        axr.set_xlabel("timestep")
        if per_step.size:
            axr.set_ylim(0, max(1, per_step.max()) * 1.15)
    return fig


# --------------------------------------------------------------------------------------
# per-core utilisation on the mesh


def _core_cells(cpr: int) -> tuple[int, int]:
    """Sub-grid (columns, rows) of the cores inside one router tile."""
    cols = int(np.ceil(np.sqrt(cpr)))
    rows = int(np.ceil(cpr / cols))
    return cols, rows


_UTIL_LABELS = {
    "compartments": "compartments",
    "synapse_bits": "synaptic memory",
    "fanin_axons": "fan-in axons",
    "fanout_axons": "fan-out axons",
}


def _util_resources(m: dict) -> list[str]:
    usage, cap = m.get("usage") or {}, m.get("capacity") or {}
    have = [k for k in ("compartments", "synapse_bits", "fanin_axons") if k in usage and cap.get(k)]
    return have[:3] if have else [k for k in usage if cap.get(k)][:3]


def fig_core_utilisation(r: dict) -> "plt.Figure":
    """Each router tile of the mesh with its cores; colour = used fraction of a resource."""
    m = r.get("mapping", {})
    cols_m, rows_m = (r.get("chip", {}).get("mesh") or [1, 1])[:2]
    cpr = int(r.get("chip", {}).get("cores_per_router", 1))
    core_xy = np.asarray(m.get("core_xy") or np.zeros((0, 2)), dtype=float).reshape(-1, 2)
    res = _util_resources(m)
    with plt.rc_context(_STYLE):
        npan = max(1, len(res))
        tile_w = min(1.5, 16.0 / (npan * max(cols_m, 1)), 9.0 / max(rows_m, 1))
        w = max(3.0, cols_m * tile_w) * npan + 1.6
        h = max(2.0, rows_m * tile_w) + 1.4
        fig, axes = plt.subplots(1, npan, figsize=(w, h), squeeze=False, layout="constrained")
        axes = axes[0]
        fig.suptitle(f"Core utilisation on the {cols_m}x{rows_m} mesh — {m.get('cores_used', 0)} of "
                     f"{r.get('chip', {}).get('cores', '?')} cores used", fontweight="bold", fontsize=13,
                     x=0.01, ha="left")
        if not res or core_xy.size == 0:
            _no_data(fig, axes[0], "no per-core usage in report.json")
            return fig
        cmap = plt.get_cmap("viridis").copy()
        norm = Normalize(0, 100)
        ccols, crows = _core_cells(cpr)
        pad = 0.08
        cw, ch = (1 - 2 * pad) / ccols, (1 - 2 * pad) / crows
        # the router port of each logical core (mapping.core_port; else numbered in index order)
        ports = m.get("core_port")
        if ports is not None and len(ports) == core_xy.shape[0]:
            slot_of = np.asarray(ports, dtype=int) % max(cpr, 1)
        else:
            slot_of = np.zeros(core_xy.shape[0], dtype=int)
            seen: dict[tuple, int] = {}
            for c, (x, y) in enumerate(core_xy):
                key = (int(x), int(y))
                slot_of[c] = seen.get(key, 0)
                seen[key] = slot_of[c] + 1
        annotate = cols_m * rows_m * cpr <= 160
        for ax, name in zip(axes, res):
            use = np.asarray(m["usage"][name], dtype=float)
            frac = 100.0 * use / float(m["capacity"][name])
            for x in range(cols_m):
                for y in range(rows_m):
                    ax.add_patch(Rectangle((x, y), 1, 1, fill=True, fc="#f4f4f4", ec="#555", lw=1.0))
                    for s in range(cpr):
                        sx, sy = s % ccols, crows - 1 - s // ccols
                        ax.add_patch(Rectangle((x + pad + sx * cw, y + pad + sy * ch), cw * 0.94, ch * 0.94,
                                               fc="white", ec="#bbb", lw=0.5))
            for c in range(core_xy.shape[0]):
                x, y = core_xy[c]
                s = slot_of[c]
                sx, sy = s % ccols, crows - 1 - (s // ccols) % crows
                f = frac[c] if c < frac.size else 0.0
                ax.add_patch(Rectangle((x + pad + sx * cw, y + pad + sy * ch), cw * 0.94, ch * 0.94,
                                       fc=cmap(norm(min(f, 100))), ec="#333", lw=0.6))
                if annotate:
                    ax.text(x + pad + (sx + 0.47) * cw, y + pad + (sy + 0.47) * ch, f"{f:.0f}" if f >= 9.95 or f == 0 else f"{f:.1f}",
                            ha="center", va="center", fontsize=7 if cpr > 2 else 8,
                            color="white" if f < 60 else "black")
            ax.set_xlim(-0.05, cols_m + 0.05)
            ax.set_ylim(-0.05, rows_m + 0.05)
            ax.set_aspect("equal")
            ax.set_xticks(np.arange(cols_m) + 0.5, [str(i) for i in range(cols_m)])
            ax.set_yticks(np.arange(rows_m) + 0.5, [str(i) for i in range(rows_m)])
            ax.tick_params(length=0)
            for sp in ax.spines.values():
                sp.set_visible(False)
            ax.set_xlabel("router x")
            ax.set_ylabel("router y")
            peak = frac.max() if frac.size else 0.0
            ax.set_title(f"{_UTIL_LABELS.get(name, name)} (max {peak:.0f} %, mean {frac.mean():.0f} %)",
                         fontsize=10)
        sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
        cb = fig.colorbar(sm, ax=list(axes), shrink=0.85, pad=0.02)
        cb.set_label("% of core capacity used (white: unused)")
    return fig


# --------------------------------------------------------------------------------------
# NoC link traffic


_DIR_STEP = {0: (1, 0), 1: (-1, 0), 2: (0, 1), 3: (0, -1)}  # E, W, N, S (chipemu.noc.mesh)


def fig_link_traffic(r: dict) -> "plt.Figure":
    """Packets per directed mesh link over the whole run, drawn as arrows between routers.

    Link id = router * 4 + direction (E=0, W=1, N=2, S=3), router = y * columns + x.
    The two directions between a pair of routers are drawn side by side.
    """
    cols_m, rows_m = (r.get("chip", {}).get("mesh") or [1, 1])[:2]
    noc = r.get("noc", {})
    lp = np.asarray(noc.get("link_packets") or [], dtype=float)
    with plt.rc_context(_STYLE):
        w = min(16, max(5.0, 1.35 * cols_m + 2.5))
        h = min(11, max(3.2, 1.35 * rows_m + 1.4))
        fig, ax = plt.subplots(figsize=(w, h), layout="constrained")
        fig.suptitle(f"NoC link traffic — {_pl(noc.get('packets', 0), 'packet')}, {_pl(noc.get('hops', 0), 'hop')}, "
                     f"busiest link {_pl(noc.get('max_link_packets', 0), 'packet')}", fontweight="bold",
                     fontsize=13, x=0.01, ha="left")
        ax.set_title(_subtitle(r) + f" · NoC model: {noc.get('model', '?')}", fontsize=9, fontweight="normal",
                     color="#444", loc="left")
        n_r = cols_m * rows_m
        if lp.size != 4 * n_r:
            _no_data(fig, ax, "no per-link traffic in report.json")
            return fig
        vmax = max(1.0, float(lp.max()))
        cmap = plt.get_cmap("YlOrRd")
        norm = Normalize(0, vmax)
        annotate = n_r <= 40
        off = 0.09
        for rt in range(n_r):
            x, y = rt % cols_m, rt // cols_m
            for d, (dx, dy) in _DIR_STEP.items():
                x2, y2 = x + dx, y + dy
                if not (0 <= x2 < cols_m and 0 <= y2 < rows_m):
                    continue
                p = lp[rt * 4 + d]
                # offset to the right of the direction of travel
                ox, oy = dy * off, -dx * off
                a = (x + ox + dx * 0.2, y + oy + dy * 0.2)
                b = (x2 + ox - dx * 0.2, y2 + oy - dy * 0.2)
                if p > 0:
                    lw = 1.0 + 4.0 * p / vmax
                    col = cmap(0.3 + 0.7 * norm(p))
                else:
                    lw, col = 0.6, "#d9d9d9"
                ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=8 + lw * 1.5, lw=lw,
                                             color=col, shrinkA=0, shrinkB=0, zorder=2))
                if annotate and p > 0:
                    mx, my = (a[0] + b[0]) / 2 + ox * 1.6, (a[1] + b[1]) / 2 + oy * 1.6
                    ax.text(mx, my, f"{int(p):,}", fontsize=7, ha="center", va="center", color="#222",
                            zorder=4, bbox=dict(boxstyle="round,pad=0.12", fc="white", ec="none", alpha=0.8))
        cores_used = {}
        for x, y in (r.get("mapping", {}).get("core_xy") or []):
            cores_used[(int(x), int(y))] = cores_used.get((int(x), int(y)), 0) + 1
        cpr = int(r.get("chip", {}).get("cores_per_router", 1))
        for rt in range(n_r):
            x, y = rt % cols_m, rt // cols_m
            k = cores_used.get((x, y), 0)
            ax.add_patch(Rectangle((x - 0.17, y - 0.17), 0.34, 0.34, fc="#dfe8f5" if k else "white", ec="#333",
                                   lw=1.0, zorder=3))
            if n_r <= 64:
                ax.text(x, y, f"{k}/{cpr}", ha="center", va="center", fontsize=7, zorder=4, color="#333")
        ax.set_xlim(-0.5, cols_m - 0.5)
        ax.set_ylim(-0.5, rows_m - 0.5)
        ax.set_aspect("equal")
        ax.set_xticks(range(cols_m))
        ax.set_yticks(range(rows_m))
        ax.set_xlabel("router x  (boxes: cores used / cores per router)")
        ax.set_ylabel("router y")
        for sp in ax.spines.values():
            sp.set_visible(False)
        sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
        cb = fig.colorbar(sm, ax=ax, shrink=0.85, pad=0.02)
        cb.set_label("packets over the whole run")
        if vmax <= 10:
            cb.locator = MaxNLocator(integer=True)
        cb.formatter = FuncFormatter(lambda v, _pos: f"{v:,.0f}")
        cb.update_ticks()
    return fig


# --------------------------------------------------------------------------------------
# energy: chip vs baseline


_CHIP_LABELS = {
    "synaptic_ops": "synaptic ops", "neuron_active": "neuron updates (active)",
    "neuron_inactive": "neuron updates (inactive)", "spike_generation": "spike generation",
    "messages_out": "messages out", "messages_in": "messages in", "hops_ew": "hops east-west",
    "hops_ns": "hops north-south", "barrier": "barrier (no published figure)", "learning": "learning updates",
    "static": "static power x time",
}
_BASE_LABELS = {
    "neuron_arith": "neuron update arithmetic", "neuron_memory": "neuron state read/write",
    "synapse_fetch": "synapse fetch", "synapse_accumulate": "accumulate (read-add-write)",
    "instructions": "instruction overhead", "static": "static power x time",
}


def _hbar(ax, items: list[tuple[str, float]], color: str, title: str, static_color: str,
          xlim: tuple[float, float], zero_notes: dict | None = None) -> None:
    """Horizontal bars on a log energy axis (J), each labelled with its value and share."""
    labels = [k for k, _ in items][::-1]
    vals = np.array([v for _, v in items][::-1], dtype=float)
    colors = [static_color if "static" in lab else color for lab in labels]
    left = xlim[0]
    ax.barh(np.arange(vals.size), np.where(vals > 0, vals - left, 0.0), left=left, color=colors, height=0.65)
    ax.set_xscale("log")
    ax.set_xlim(*xlim)
    ax.set_yticks(np.arange(vals.size), labels)
    ax.set_xlabel("energy (J, log scale)")
    ax.set_title(title, fontsize=10, loc="left")
    ax.grid(axis="x", which="major", color="#e5e5e5", lw=0.6)
    ax.set_axisbelow(True)
    total = vals.sum()
    for i, v in enumerate(vals):
        if v > 0:
            pct = 100 * v / total if total > 0 else 0.0
            share = f" ({pct:.0f} %)" if pct >= 0.5 else " (<1 %)"
            ax.text(v * 1.15, i, fmt_si(v, "J") + share, va="center", fontsize=8)
        else:
            note = (zero_notes or {}).get(labels[i], "")
            ax.text(left * 1.15, i, "0" + (f" ({note})" if note else ""), va="center", fontsize=8, color=_GREY)


def fig_energy(r: dict) -> "plt.Figure":
    """Chip vs von Neumann totals (log scale), and each one's breakdown."""
    e, b = r.get("energy"), r.get("baseline")
    with plt.rc_context(_STYLE):
        fig = plt.figure(figsize=(15, 5.2), layout="constrained")
        gs = fig.add_gridspec(1, 3, width_ratios=[0.8, 1.5, 1.35])
        fig.suptitle("Energy — chip vs von Neumann baseline, same network and steps", fontweight="bold",
                     fontsize=13, x=0.01, ha="left")
        if not e:
            _no_data(fig, fig.add_subplot(gs[0, :]), "no energy section in report.json")
            return fig
        ax0 = fig.add_subplot(gs[0, 0])
        bars = [("chip\ndynamic", e.get("dynamic_j", 0.0), _BLUE), ("chip\ntotal", e["total_j"], _BLUE)]
        if b:
            bars += [("CPU\ndynamic", b.get("dynamic_j", 0.0), _ORANGE), ("CPU\ntotal", b["energy_j"], _ORANGE)]
        vals = np.array([max(v, 0.0) for _, v, _ in bars])
        pos = vals[vals > 0]
        ax0.bar(range(len(bars)), np.where(vals > 0, vals, np.nan), color=[c for *_, c in bars],
                alpha=0.95, width=0.65)
        for i, (lab, v, c) in enumerate(bars):
            if "dynamic" in lab and v > 0:
                ax0.patches[i].set_alpha(0.55)
            ax0.text(i, v if v > 0 else 1e-30, fmt_si(v, "J"), ha="center", va="bottom", fontsize=8)
        ax0.set_xticks(range(len(bars)), [lab for lab, *_ in bars], fontsize=8)
        if pos.size:
            ax0.set_yscale("log")
            ax0.set_ylim(pos.min() / 3, pos.max() * 6)
        ax0.set_ylabel("energy (J, log scale)")
        ratio = (b or {}).get("ratios", {}) or {}
        sub = "totals"
        if ratio.get("energy") is not None:
            sub = (f"CPU / chip: {ratio['energy']:.3g}× total, "
                   f"{ratio.get('dynamic_energy') or float('nan'):.3g}× dynamic")
        ax0.set_title(sub, fontsize=9, loc="left")
        chip_items = [(_CHIP_LABELS.get(k, k), float(v)) for k, v in e.get("breakdown", {}).items()]
        base_items = [(_BASE_LABELS.get(k, k), float(v)) for k, v in (b or {}).get("breakdown", {}).items()]
        every = np.array([v for _, v in chip_items + base_items if v > 0] or [1e-12])
        xlim = (10 ** np.floor(np.log10(every.min()) - 0.3), 10 ** np.ceil(np.log10(every.max()) + 1.2))
        notes = {}
        for k in e.get("breakdown", {}):
            n_ev, unit = e.get("ops", {}).get(k), e.get("unit_j", {}).get(k)
            if k == "barrier":
                continue
            if n_ev == 0:
                notes[_CHIP_LABELS.get(k, k)] = "no events"
            elif unit == 0:
                notes[_CHIP_LABELS.get(k, k)] = "no cost figure in this profile"
        ax1 = fig.add_subplot(gs[0, 1])
        _hbar(ax1, chip_items, _BLUE, f"chip: {r.get('chip', {}).get('name', '?')}, profile "
                                      f"{e.get('profile', '?')}: total {fmt_si(e['total_j'], 'J')}", "#8fb3de", xlim,
              notes)
        ax2 = fig.add_subplot(gs[0, 2], sharex=ax1)
        if b:
            a = b.get("assumptions", {})
            _hbar(ax2, base_items, _ORANGE, f"CPU: {b.get('host', {}).get('name', '?')} (state in "
                                            f"{str(a.get('state_level', '?')).upper()}, synapses in "
                                            f"{str(a.get('synapse_level', '?')).upper()}): total "
                                            f"{fmt_si(b['energy_j'], 'J')}", "#f2bd80", xlim,
                  {_BASE_LABELS["instructions"]: "not charged: cpu.instruction_overhead_j = 0"})
        else:
            _no_data(fig, ax2, "no baseline section")
    return fig


# --------------------------------------------------------------------------------------
# per-step latency


def fig_latency(r: dict) -> "plt.Figure":
    """Chip time of every timestep, stacked: compute, NoC drain, barrier."""
    tm = r.get("time", {})
    comp = np.asarray(tm.get("per_step_compute_s") or [], dtype=float)
    noc = np.asarray(tm.get("per_step_noc_s") or [], dtype=float)
    steps = comp.size
    bar = tm.get("per_step_barrier_s")
    if bar is not None and len(bar) == steps:
        barrier = np.asarray(bar, dtype=float)
    else:
        barrier = np.full(steps, float(tm.get("barrier_s", 0.0)) / steps if steps else 0.0)
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(10, 4.2), layout="constrained")
        fig.suptitle(f"Chip time per timestep — {fmt_si(tm.get('chip_s', 0.0), 's')} total, "
                     f"{fmt_si(tm.get('step_s_mean', 0.0), 's')} mean, {fmt_si(tm.get('step_s_max', 0.0), 's')} "
                     f"max", fontweight="bold", fontsize=13, x=0.01, ha="left")
        ax.set_title(_subtitle(r), fontsize=9, fontweight="normal", color="#444", loc="left")
        if steps == 0 or noc.size != steps:
            _no_data(fig, ax, "no per-step times in report.json")
            return fig
        total = comp + noc + barrier
        scale, prefix = si_scale(total.max() if total.max() > 0 else 1.0)
        x = np.arange(steps)
        parts = [(comp, "compute (slowest core)", _BLUE), (noc, "NoC drain", _ORANGE), (barrier, "barrier", _GREY)]
        if steps <= 300:
            bottom = np.zeros(steps)
            for v, lab, c in parts:
                ax.bar(x, v / scale, bottom=bottom, width=0.85 if steps < 100 else 1.0, color=c, label=lab, lw=0)
                bottom += v / scale
        else:
            ax.stackplot(x, *[v / scale for v, _, _ in parts], labels=[lab for _, lab, _ in parts],
                         colors=[c for *_, c in parts], lw=0)
        ax.axhline(total.mean() / scale, color="black", lw=0.8, ls="--", label=f"mean {fmt_si(total.mean(), 's')}")
        ax.set_xlim(-0.5, steps - 0.5)
        ax.set_ylim(0, total.max() / scale * 1.25)
        ax.set_xlabel("timestep")
        ax.set_ylabel(f"chip time per step ({prefix}s)")
        shares = [f"{lab.split(' (')[0]} {100 * v.sum() / total.sum():.0f} %" for v, lab, _ in parts] \
            if total.sum() > 0 else []
        ax.legend(loc="upper right", ncol=4, fontsize=8, title=" · ".join(shares), title_fontsize=8)
    return fig


# --------------------------------------------------------------------------------------

#: figure name (also the PNG file stem) -> (title, caption)
FIGURES = {
    "raster": ("Spike raster", "Every compartment spike (top) and the number of spikes per timestep (bottom); "
                               "shaded bands are populations."),
    "latency": ("Chip time per timestep", "Each step's emulated chip time, stacked: compute (the slowest core's "
                                          "serial operations), NoC drain (until the last packet is delivered) and "
                                          "the barrier."),
    "energy": ("Energy", "Left: total and dynamic energy of the chip and of the modelled von Neumann CPU (log "
                         "scale). Middle and right: where each one's energy goes."),
    "cores": ("Core utilisation on the mesh", "Each square is a router tile with its cores; a core's colour and "
                                              "number are the % of its capacity used (white: unused core)."),
    "links": ("NoC link traffic", "Packets over each directed link of the mesh for the whole run (both "
                                  "directions drawn side by side; grey: unused link)."),
}


def render_figures(report: dict, spikes) -> dict[str, bytes]:
    """PNG bytes of every figure in :data:`FIGURES`, drawn from ``report`` and ``spikes``."""
    makers = {
        "raster": lambda: fig_raster(report, spikes),
        "latency": lambda: fig_latency(report),
        "energy": lambda: fig_energy(report),
        "cores": lambda: fig_core_utilisation(report),
        "links": lambda: fig_link_traffic(report),
    }
    return {name: _png(makers[name]()) for name in FIGURES}
