"""The report's figures of a run over time and of its cost: the spike raster
(:func:`fig_raster`), chip time per step (:func:`fig_latency`) and energy, chip vs von
Neumann CPU (:func:`fig_energy`).  Each is a function of the report dict (and, for the
raster, of the spikes) only.
"""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps, rc_context
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import blended_transform_factory

from .drawing import (_BLUE, _DPI, _GREY, _ORANGE, _STYLE, _axes, _bars, _colorbar, _figure, _log_ticks,
                       _no_data, _pl, _step_fill, _subtitle, _text_in, _title)
from .units import fmt_si, si_scale

__all__ = ["fig_raster", "fig_latency", "fig_energy"]


# --------------------------------------------------------------------------------------
# spike raster

#: white (no spike, transparent so population bands show) then light to dark blue
_RASTER_CMAP = ListedColormap(colormaps["Blues"](np.linspace(0.4, 1.0, 256)),
                              name="raster_blues").with_extremes(under=(1.0, 1.0, 1.0, 0.0))


def fig_raster(r: dict, spikes) -> Figure:
    """Spike raster (compartment vs step) with population bands, and spikes per step below.

    Up to 2,000 spikes are drawn as ticks; more as one image of spike counts per bin of
    (steps x compartments), with bins of about 2 x 2 pixels, so the cost does not grow with
    the number of spikes.
    """
    steps = int(r.get("steps", 0))
    n = int(r.get("network", {}).get("neurons", 0))
    t = np.asarray(spikes.t, dtype=np.int64)
    nid = np.asarray(spikes.neuron, dtype=np.int64)
    starts = r.get("network", {}).get("population_start") or []
    names = r.get("network", {}).get("populations") or []
    sizes = r.get("network", {}).get("population_size") or []
    bands = bool(starts) and len(starts) == len(names)
    label_pops = bands and len(starts) <= 24
    pop_fs = 7 if len(starts) > 12 else 8
    image = t.size >= 2_000
    with rc_context(_STYLE):
        W, H = 10.0, 6.2
        fig = _figure(W, H)
        left, bottom, top, gap = 0.9, 0.55, 0.75, 0.12
        right = 0.25 + (_text_in(names, pop_fs) + 0.1 if label_pops else 0.0) + (1.05 if image else 0.0)
        aw = W - left - right
        ah = H - bottom - top - gap
        h_raster, h_rate = ah * 4 / 5.2, ah * 1.2 / 5.2
        ax = _axes(fig, left, bottom + h_rate + gap, aw, h_raster)
        axr = _axes(fig, left, bottom, aw, h_rate, sharex=ax)
        ax.tick_params(labelbottom=False)
        _title(fig, f"Spike raster — {_pl(t.size, 'spike')} from {_pl(n, 'compartment')}")
        ax.set_title(_subtitle(r), fontsize=9, fontweight="normal", color="#444", loc="left", y=1.0, pad=4)
        if t.size == 0:
            ax.text(0.5, 0.5, "no spikes", ha="center", va="center", transform=ax.transAxes, color=_GREY,
                    fontsize=12)
        elif not image:
            ms = float(np.clip(300.0 / max(n, 1), 3.0, 14.0))
            ax.plot(t, nid, "|", ms=ms, mew=max(1.0, ms / 6), color=_BLUE)
        else:
            bins_t = max(1, min(steps, int(aw * _DPI / 2)))
            bins_n = max(1, min(n, int(h_raster * _DPI / 2)))
            flat = (nid * bins_n // max(n, 1)) * bins_t + t * bins_t // max(steps, 1)
            counts = np.bincount(flat, minlength=bins_t * bins_n)[:bins_t * bins_n].reshape(bins_n, bins_t)
            nz = counts[counts > 0]
            vmax = max(1.0, float(np.percentile(nz, 99))) if nz.size else 1.0
            im = ax.imshow(counts, origin="lower", aspect="auto", extent=(-0.5, steps - 0.5, -0.5, n - 0.5),
                           cmap=_RASTER_CMAP, norm=Normalize(0.5, max(vmax, 1.0)), interpolation="nearest",
                           zorder=1)
            per_t, per_n = steps / bins_t, n / bins_n
            bin_text = f"{per_t:.3g} step{'s' if per_t != 1 else ''} x {per_n:.3g} compartment" \
                       f"{'s' if per_n != 1 else ''}"
            cb = _colorbar(fig, im, W - 1.0, bottom + h_rate + gap + 0.1 * h_raster, 0.8 * h_raster,
                           f"spikes per bin ({bin_text})")
            cb.ax.yaxis.label.set_fontsize(8)
            if vmax <= 10:
                cb.locator = MaxNLocator(integer=True)
                cb.update_ticks()
        if bands and len(starts) <= 60:
            for i, s0 in enumerate(starts):
                size = sizes[i] if i < len(sizes) else 0
                if i % 2 == 1:
                    ax.axhspan(s0 - 0.5, s0 + size - 0.5, color="#f0f3f8", zorder=0, lw=0)
                if i > 0:
                    ax.axhline(s0 - 0.5, color="#c8cfdb", lw=0.6, zorder=0.5)
        if label_pops:
            tr = blended_transform_factory(ax.transAxes, ax.transData)
            for i, (s0, name) in enumerate(zip(starts, names)):
                mid = s0 + (sizes[i] if i < len(sizes) else 0) / 2 - 0.5
                ax.text(1.01, mid, str(name), transform=tr, fontsize=pop_fs, va="center", ha="left", clip_on=False)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        axr.xaxis.set_major_locator(MaxNLocator(integer=True))
        axr.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
        ax.set_ylabel("compartment (global index)")
        ax.set_ylim(-0.5, max(n, 1) - 0.5)
        ax.set_xlim(-0.5, max(steps, 1) - 0.5)
        per_step = np.bincount(t, minlength=steps)[:steps] if steps else np.zeros(0)
        if steps:
            _step_fill(axr, np.zeros(steps), per_step.astype(float), color=_BLUE)
        axr.set_ylabel("spikes / step")
        axr.set_xlabel("timestep")
        if per_step.size:
            axr.set_ylim(0, max(1, per_step.max()) * 1.15)
    return fig


# --------------------------------------------------------------------------------------
# energy: chip vs baseline


_CHIP_LABELS = {
    "synaptic_ops": "synaptic ops", "neuron_active": "neuron updates (active)",
    "neuron_inactive": "neuron updates (inactive)", "spike_generation": "spike generation",
    "messages_out": "messages out", "messages_in": "messages in", "hops_ew": "hops east-west",
    "hops_ns": "hops north-south", "hops_interchip": "chip-to-chip crossings",
    "barrier": "barrier (no published figure)", "learning": "learning updates",
    "static": "static power x time",
}
_BASE_LABELS = {
    "neuron_arith": "neuron update arithmetic", "neuron_memory": "neuron state read/write",
    "synapse_fetch": "synapse fetch", "synapse_accumulate": "accumulate (read-add-write)",
    "instructions": "instruction overhead", "static": "static power x time",
}


def _hbar(ax, items: list[tuple[str, float]], color: str, title: str, static_color: str,
          xlim: tuple[float, float], zero_notes: dict | None = None, title_w: float = 4.0,
          title_left: float = 0.0) -> None:
    """Horizontal bars on a log energy axis (J), each labelled with its value and share."""
    labels = [k for k, _ in items][::-1]
    vals = np.array([v for _, v in items][::-1], dtype=float)
    colors = [static_color if "static" in lab else color for lab in labels]
    left = xlim[0]
    ax.barh(np.arange(vals.size), np.where(vals > 0, vals - left, 0.0), left=left, color=colors, height=0.65)
    ax.set_xscale("log")
    ax.set_xlim(*xlim)
    _log_ticks(ax.xaxis)
    ax.set_yticks(np.arange(vals.size), labels)
    ax.set_xlabel("energy (J, log scale)")
    _fit_title(ax, title, title_w, title_left)
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


def _fit_title(ax, text: str, width_in: float, left_in: float = 0.0) -> None:
    """A bold title starting ``left_in`` inches left of the axes (over its tick labels), one
    point smaller at a time (down to 7) until it fits ``width_in`` inches."""
    size = 10
    while size > 7 and _text_in([text], size, bold=True) > width_in:
        size -= 1
    ax.annotate(text, xy=(0, 1), xycoords="axes fraction", xytext=(-72 * left_in, 6), textcoords="offset points",
                ha="left", va="bottom", fontsize=size, fontweight="bold", annotation_clip=False)


def fig_energy(r: dict) -> Figure:
    """Chip vs von Neumann totals (log scale), and each one's breakdown."""
    e, b = r.get("energy"), r.get("baseline")
    W, H = 15.0, 5.2
    bottom, top = 0.6, 0.75
    ph = H - bottom - top
    with rc_context(_STYLE):
        fig = _figure(W, H)
        _title(fig, "Energy — chip vs von Neumann baseline, same network and steps")
        if not e:
            _no_data(fig, _axes(fig, 0.5, bottom, W - 1.0, ph), "no energy section in report.json")
            return fig
        chip_items = [(_CHIP_LABELS.get(k, k), float(v)) for k, v in e.get("breakdown", {}).items()]
        base_items = [(_BASE_LABELS.get(k, k), float(v)) for k, v in (b or {}).get("breakdown", {}).items()]
        l0, w0 = 0.85, 2.0
        lm1 = _text_in([k for k, _ in chip_items]) + 0.15
        lm2 = _text_in([k for k, _ in base_items]) + 0.15 if b else 0.3
        free = W - (l0 + w0 + 0.35 + lm1 + 0.35 + lm2 + 0.3)
        w1, w2 = free * 1.5 / 2.85, free * 1.35 / 2.85
        x1 = l0 + w0 + 0.35 + lm1
        x2 = x1 + w1 + 0.35 + lm2
        ax0 = _axes(fig, l0, bottom, w0, ph)
        bars = [("chip\ndynamic", e.get("dynamic_j", 0.0), _BLUE), ("chip\ntotal", e["total_j"], _BLUE)]
        if b:
            bars += [("CPU\ndynamic", b.get("dynamic_j", 0.0), _ORANGE), ("CPU\ntotal", b["energy_j"], _ORANGE)]
        vals = np.array([max(v, 0.0) for _, v, _ in bars])
        pos = vals[vals > 0]
        ax0.bar(range(len(bars)), np.where(vals > 0, vals, np.nan), color=[c for *_, c in bars],
                alpha=0.95, width=0.65)
        for i, (lab, v, _) in enumerate(bars):
            if "dynamic" in lab and v > 0:
                ax0.patches[i].set_alpha(0.55)
            ax0.text(i, v if v > 0 else 1e-30, fmt_si(v, "J"), ha="center", va="bottom", fontsize=8)
        ax0.set_xticks(range(len(bars)), [lab for lab, *_ in bars], fontsize=8)
        if pos.size:
            ax0.set_yscale("log")
            ax0.set_ylim(pos.min() / 3, pos.max() * 6)
            _log_ticks(ax0.yaxis)
        ax0.set_ylabel("energy (J, log scale)")
        ratio = (b or {}).get("ratios", {}) or {}
        sub = "totals"
        if ratio.get("energy") is not None:
            sub = (f"CPU / chip: {ratio['energy']:.3g}× total, "
                   f"{ratio.get('dynamic_energy') or float('nan'):.3g}× dynamic")
        _fit_title(ax0, sub, w0 + 0.75, 0.6)
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
        ax1 = _axes(fig, x1, bottom, w1, ph)
        _hbar(ax1, chip_items, _BLUE, f"chip: {r.get('chip', {}).get('name', '?')}, profile "
                                      f"{e.get('profile', '?')}: total {fmt_si(e['total_j'], 'J')}", "#8fb3de", xlim,
              notes, title_w=w1 + lm1 + 0.2, title_left=lm1)
        ax2 = _axes(fig, x2, bottom, w2, ph, sharex=ax1)
        if b:
            a = b.get("assumptions", {})
            _hbar(ax2, base_items, _ORANGE, f"CPU: {b.get('host', {}).get('name', '?')} (state in "
                                            f"{str(a.get('state_level', '?')).upper()}, synapses in "
                                            f"{str(a.get('synapse_level', '?')).upper()}): total "
                                            f"{fmt_si(b['energy_j'], 'J')}", "#f2bd80", xlim,
                  {_BASE_LABELS["instructions"]: "not charged: cpu.instruction_overhead_j = 0"},
                  title_w=w2 + lm2 + 0.2, title_left=lm2)
        else:
            _no_data(fig, ax2, "no baseline section")
    return fig


# --------------------------------------------------------------------------------------
# per-step latency


def fig_latency(r: dict) -> Figure:
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
    with rc_context(_STYLE):
        fig = _figure(10.0, 4.2)
        ax = _axes(fig, 0.9, 0.55, 10.0 - 0.9 - 0.3, 4.2 - 0.55 - 0.8)
        _title(fig, f"Chip time per timestep — {fmt_si(tm.get('chip_s', 0.0), 's')} total, "
                     f"{fmt_si(tm.get('step_s_mean', 0.0), 's')} mean, {fmt_si(tm.get('step_s_max', 0.0), 's')} "
                     f"max")
        ax.set_title(_subtitle(r), fontsize=9, fontweight="normal", color="#444", loc="left", y=1.0, pad=4)
        if steps == 0 or noc.size != steps:
            _no_data(fig, ax, "no per-step times in report.json")
            return fig
        total = comp + noc + barrier
        scale, prefix = si_scale(total.max() if total.max() > 0 else 1.0)
        x = np.arange(steps)
        parts = [(comp, "compute (slowest core)", _BLUE), (noc, "NoC drain", _ORANGE), (barrier, "barrier", _GREY)]
        bottom = np.zeros(steps)
        for v, lab, c in parts:  # < 100 steps: separate bars; more: one filled outline per part
            if steps < 100:
                _bars(ax, x, bottom, bottom + v / scale, 0.85, c, lab)
            else:
                _step_fill(ax, bottom, bottom + v / scale, color=c, label=lab)
            bottom = bottom + v / scale
        ax.axhline(total.mean() / scale, color="black", lw=0.8, ls="--", label=f"mean {fmt_si(total.mean(), 's')}")
        ax.set_xlim(-0.5, steps - 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(0, total.max() / scale * 1.25)
        ax.set_xlabel("timestep")
        ax.set_ylabel(f"chip time per step ({prefix}s)")
        shares = [f"{lab.split(' (')[0]} {100 * v.sum() / total.sum():.0f} %" for v, lab, _ in parts] \
            if total.sum() > 0 else []
        ax.legend(loc="upper right", ncol=4, fontsize=8, title=" · ".join(shares), title_fontsize=8)
    return fig
