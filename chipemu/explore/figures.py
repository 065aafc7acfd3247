"""The exploration figures, drawn from results.csv alone: Pareto fronts, sensitivities and
the energy breakdown of the Pareto-optimal points (see :mod:`chipemu.explore.report` for the
page that shows them).  :class:`_Table` is results.csv as columns: the varied parameters are
the columns between ``error`` and ``program`` that take more than one value.
"""

from __future__ import annotations

import io
import json
import math
from typing import Any

import numpy as np

from ..report.units import PREFIXES, fmt_si
from .pareto import pareto_front_groups

DEFAULT_X = "time.step_s_mean"
DEFAULT_Y = "energy.total_j"
_LABELS = {
    "time.step_s_mean": ("chip time per step (mean)", "s"),
    "time.step_s_max": ("chip time per step (max)", "s"),
    "time.chip_s": ("chip time (whole run)", "s"),
    "energy.total_j": ("chip energy (whole run)", "J"),
    "energy.dynamic_j": ("dynamic chip energy (whole run)", "J"),
    "energy.edp_js": ("energy-delay product", "J s"),
}
_COLORS = ["#1f5fa8", "#e07b00", "#2e9a4b", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d", "#d35400"]
_MAX_PANELS = 6
_MAX_LABELS = 12
_MAX_SENS = 10


def _scale(values) -> tuple[float, str]:
    vals = [abs(v) for v in values if v is not None and np.isfinite(v) and v != 0]
    if not vals:
        return 1.0, ""
    x = float(np.median(vals))
    for s, p in PREFIXES:
        if x >= s:
            return s, p
    return PREFIXES[-1]


def _num(v) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _short(col: str) -> str:
    for pre in ("chip.", "param."):
        if col.startswith(pre):
            return col[len(pre):]
    return col


def _fmt_val(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def parameter_columns(columns: list[str]) -> list[str]:
    """The parameter columns of a results.csv header (between ``error`` and ``program``)."""
    if "error" in columns and "program" in columns:
        return columns[columns.index("error") + 1: columns.index("program")]
    return [c for c in ("workload", "mapper", "seed") if c in columns] + \
        [c for c in columns if c.startswith("param.") or c == "chip.profile"]


class _Table:
    """The rows of results.csv with the derived facts the report needs."""

    def __init__(self, columns: list[str], rows: list[dict], x: str, y: str):
        self.columns, self.rows, self.x, self.y = columns, rows, x, y
        self.params = parameter_columns(columns)
        self.varied = [c for c in self.params if len({_key(r.get(c)) for r in rows}) > 1]
        # workload instance = workload + its varied build parameters: the Pareto grouping
        self.group_cols = [c for c in self.varied if c == "workload" or c.startswith("param.")]
        self.design_cols = [c for c in self.varied if c not in self.group_cols]
        # short names: the last part of a dotted path when that is unambiguous
        lasts = [c.rsplit(".", 1)[-1] for c in self.params]
        self.short = {c: (c.rsplit(".", 1)[-1] if lasts.count(c.rsplit(".", 1)[-1]) == 1 else _short(c))
                      for c in self.params}
        # group on the exact parameter values; shorten them for display only if that keeps
        # every group apart (0.10001 and 0.10002 are two networks, even if both print as 0.1)
        keys = [tuple((c, r.get(c)) for c in self.group_cols) for r in rows]
        self.default_group = str(rows[0].get("workload") or "all points") if rows else "all points"
        labels = {k: self.group_label(k, _fmt_val) for k in dict.fromkeys(keys)}
        if len(set(labels.values())) < len(labels):
            labels = {k: self.group_label(k, repr) for k in labels}
        self.groups = [labels[k] for k in keys]
        self.group_names = list(dict.fromkeys(self.groups))
        self.ok = np.array([r.get("status") == "ok" and _num(r.get(x)) is not None and _num(r.get(y)) is not None
                            and np.isfinite(_num(r.get(x))) and np.isfinite(_num(r.get(y))) for r in rows], bool)
        xs = [_num(r.get(x)) for r in rows]
        ys = [_num(r.get(y)) for r in rows]
        self.front = pareto_front_groups(xs, ys, self.groups, self.ok) if rows else np.zeros(0, bool)

    def group_label(self, key: tuple, fmt) -> str:
        """The display name of a workload instance ``((column, value), ...)``."""
        parts = []
        for c, v in key:
            if c == "workload":
                parts.insert(0, str(v))
            elif v is not None:
                parts.append(f"{self.short[c]}={fmt(v)}")
        return " ".join(parts) if parts else self.default_group

    def label(self, r: dict) -> str:
        parts = []
        for c in self.design_cols:
            v = r.get(c)
            if c == "mapper":
                parts.append(str(v))
            elif c == "seed":
                parts.append(f"seed {v}")
            else:
                parts.append(f"{self.short[c]}={_fmt_val(v)}")
        return ", ".join(parts) or str(r.get("point_id"))


def _key(v: Any) -> str:
    return json.dumps(v, default=str)


# --------------------------------------------------------------------------------------
# figures


def _figure(nrows: int, ncols: int, w: float, h: float):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w * ncols, h * nrows), dpi=110)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def _png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", facecolor="white")
    return buf.getvalue()


def _style(ax) -> None:
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.grid(True, alpha=0.25, linewidth=0.6)


def fig_pareto(t: _Table):
    groups = [g for g in t.group_names if any(t.ok[i] and t.groups[i] == g for i in range(len(t.rows)))]
    groups = groups[:_MAX_PANELS]
    if not groups:
        return None
    ncols, nrows = 1, len(groups)  # one panel per row: the key of the front goes to the right
    fig, axes = _figure(nrows, ncols, 6.4, 4.6)
    xlab, xu = _LABELS.get(t.x, (t.x, ""))
    ylab, yu = _LABELS.get(t.y, (t.y, ""))
    mappers = list(dict.fromkeys(r.get("mapper") for r in t.rows))
    color_by_mapper = "mapper" in t.design_cols
    for k, g in enumerate(groups):
        ax = axes[k // ncols][k % ncols]
        _style(ax)
        idx = [i for i in range(len(t.rows)) if t.groups[i] == g and t.ok[i]]
        xs = np.array([float(t.rows[i][t.x]) for i in idx])
        ys = np.array([float(t.rows[i][t.y]) for i in idx])
        sx, px = _scale(xs)
        sy, py = _scale(ys)
        on = np.array([t.front[i] for i in idx], bool)
        if color_by_mapper:
            for m_i, m in enumerate(mappers):
                sel = np.array([t.rows[i].get("mapper") == m for i in idx], bool)
                if sel.any():
                    ax.scatter(xs[sel] / sx, ys[sel] / sy, s=22, color=_COLORS[m_i % len(_COLORS)], alpha=0.55,
                               label=str(m), zorder=2, linewidths=0)
        else:
            ax.scatter(xs / sx, ys / sy, s=22, color="#9a9a9a", alpha=0.7, label="design point", zorder=2,
                       linewidths=0)
        if on.any():
            order = np.argsort(xs[on], kind="stable")
            fx, fy = xs[on][order] / sx, ys[on][order] / sy
            ax.step(fx, fy, where="post", color="#c0392b", linewidth=1.2, zorder=3)
            ax.scatter(fx, fy, s=70, facecolors="none", edgecolors="#c0392b", linewidths=1.6, zorder=4,
                       label="Pareto-optimal")
            front_idx = [idx[j] for j in np.flatnonzero(on)[order]]
            key = []
            for n, i in enumerate(front_idx[:_MAX_LABELS]):
                ax.annotate(str(n + 1), (fx[n], fy[n]), textcoords="offset points", xytext=(5, 4),
                            fontsize=8, fontweight="bold", color="#7b1e14", zorder=5)
                r = t.rows[i]
                key.append(f"{n + 1:>2}  {t.label(r)}\n    {fmt_si(float(r[t.y]), yu, 4)}, "
                           f"{fmt_si(float(r[t.x]), xu, 5)}")
            if len(front_idx) > _MAX_LABELS:
                key.append(f"... {len(front_idx) - _MAX_LABELS} more (see the table)")
            ax.text(1.03, 1.0, "Pareto-optimal points\n" + "\n".join(key), transform=ax.transAxes, va="top",
                    ha="left", fontsize=7.5, family="monospace", color="#3a1410")
        n_fail = sum(1 for i in range(len(t.rows)) if t.groups[i] == g and t.rows[i].get("status") == "fit_failure")
        title = g + (f"  ({n_fail} did not fit)" if n_fail else "")
        ax.set_title(title, fontsize=10, fontweight="bold")
        ax.set_xlabel(f"{xlab} ({px}{xu})")
        ax.set_ylabel(f"{ylab} ({py}{yu})")
        ax.legend(fontsize=8, frameon=False, loc="upper right")
    for k in range(len(groups), nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    fig.suptitle("Energy vs latency: Pareto front (lower left is better)", fontweight="bold", x=0.05, ha="left")
    fig.subplots_adjust(hspace=0.45, top=1 - 0.55 / (4.6 * nrows))
    return fig  # the key of each panel lies right of it: saved with bbox_inches="tight"


def _sens_params(t: _Table) -> list[str]:
    return [c for c in t.design_cols if c != "seed"][:_MAX_SENS]


_MAX_LEVELS = 8   # more distinct numeric values than this: binned (e.g. random sampling)
_BINS = 6


def _levels(t: _Table, p: str) -> tuple[bool, list, bool]:
    """``(numeric, sorted distinct values, log axis)`` of parameter ``p`` over the ok rows."""
    vals = [t.rows[i].get(p) for i in range(len(t.rows)) if t.ok[i]]
    distinct = list(dict.fromkeys(v for v in vals if v is not None))
    numeric = bool(distinct) and all(_num(v) is not None for v in distinct)
    if not numeric:
        return False, sorted(distinct, key=str), False
    distinct = sorted(distinct, key=float)
    fv = [float(v) for v in distinct]
    return True, distinct, min(fv) > 0 and max(fv) / min(fv) >= 16


def _aggregate(xv: list, yv: np.ndarray, levels: list, numeric: bool, log: bool, binned: bool):
    """Median, min and max of ``yv`` per level of ``xv`` (per bin when ``binned``)."""
    if not binned:
        keys = [float(v) if numeric else j for j, v in enumerate(levels)]
        out = []
        for k, v in zip(keys, levels):
            sel = np.array([x == v for x in xv], bool)
            if sel.any():
                out.append((k, np.median(yv[sel]), yv[sel].min(), yv[sel].max()))
        return out
    x = np.asarray(xv, float)
    lo, hi = float(min(map(float, levels))), float(max(map(float, levels)))
    edges = np.geomspace(lo, hi, _BINS + 1) if log else np.linspace(lo, hi, _BINS + 1)
    which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, _BINS - 1)
    out = []
    for b in range(_BINS):
        sel = which == b
        if sel.any():
            centre = math.sqrt(edges[b] * edges[b + 1]) if log else 0.5 * (edges[b] + edges[b + 1])
            out.append((centre, np.median(yv[sel]), yv[sel].min(), yv[sel].max()))
    return out


def _confounded(t: _Table, p: str) -> bool:
    """True when each value of ``p`` comes with one setting of the other chip and workload
    parameters (random sampling): then a per-value median is one point, not an aggregate."""
    others = [c for c in t.design_cols if c not in (p, "mapper", "seed")]
    if not others:
        return False
    combos: dict[str, set] = {}
    for i, r in enumerate(t.rows):
        if t.ok[i]:
            combos.setdefault(_key(r.get(p)), set()).add(_key([r.get(c) for c in others]))
    return all(len(v) == 1 for v in combos.values())


def fig_sensitivity(t: _Table):
    params = _sens_params(t)
    groups = [g for g in t.group_names if any(t.ok[i] and t.groups[i] == g for i in range(len(t.rows)))]
    if not params or not groups:
        return None
    fig, axes = _figure(len(params), 2, 5.0, 3.2)
    metrics = [(t.y, *_LABELS.get(t.y, (t.y, ""))), (t.x, *_LABELS.get(t.x, (t.x, "")))]
    for r_i, p in enumerate(params):
        numeric, levels, log = _levels(t, p)
        binned = numeric and (len(levels) > _MAX_LEVELS or (len(levels) > 4 and _confounded(t, p)))
        for c_i, (col, lab, unit) in enumerate(metrics):
            ax = axes[r_i][c_i]
            _style(ax)
            allv = [float(t.rows[i][col]) for i in range(len(t.rows)) if t.ok[i]]
            s, pre = _scale(allv)
            for g_i, g in enumerate(groups[:len(_COLORS)]):
                idx = [i for i in range(len(t.rows)) if t.ok[i] and t.groups[i] == g and t.rows[i].get(p) is not None]
                if not idx:
                    continue
                xv = [t.rows[i][p] for i in idx]
                yv = np.array([float(t.rows[i][col]) for i in idx])
                color = _COLORS[g_i % len(_COLORS)]
                if binned:  # show the points themselves too
                    ax.scatter([float(v) for v in xv], yv / s, s=9, color=color, alpha=0.35, linewidths=0)
                agg = _aggregate(xv, yv, levels, numeric, log, binned)
                if not agg:
                    continue
                xs, med, lo, hi = (np.array(a, float) for a in zip(*agg))
                ax.plot(xs, med / s, marker="o", markersize=4, color=color,
                        label=g if len(groups) > 1 else ("median per bin" if binned else "median"))
                ax.fill_between(xs, lo / s, hi / s, color=color, alpha=0.15, linewidth=0,
                                label=None if len(groups) > 1 else "min..max")
            if numeric:
                fv = [float(v) for v in levels]
                if log:
                    ax.set_xscale("log", base=2 if all(v.is_integer() for v in fv) else 10)
                if not binned:
                    ax.set_xticks(fv)
                    ax.set_xticklabels([_fmt_val(v) for v in levels], fontsize=8)
                    ax.minorticks_off()
            else:
                ax.set_xticks(range(len(levels)))
                ax.set_xticklabels([str(v) for v in levels], rotation=20 if len(levels) > 3 else 0, fontsize=8)
            ax.set_xlabel(t.short[p] + (f" ({_BINS} bins)" if binned else ""))
            ax.set_ylabel(f"{lab.split(' (')[0]} ({pre}{unit})", fontsize=8.5)
            if r_i == 0:
                ax.legend(fontsize=7.5, frameon=False, loc="best")
    fig.suptitle("Sensitivity: median over the other parameters, band = min..max", fontweight="bold")
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.45 / (3.2 * len(params))))
    return fig


def fig_breakdown(t: _Table):
    comps = [c for c in t.columns if c.startswith("energy.breakdown.")]
    idx = [i for i in range(len(t.rows)) if t.front[i]][:24]
    if not comps or not idx:
        return None
    vals = np.array([[_num(t.rows[i].get(c)) or 0.0 for c in comps] for i in idx])
    keep = vals.sum(axis=0) > 0
    comps = [c for c, k in zip(comps, keep) if k]
    vals = vals[:, keep]
    if not comps:
        return None
    s, pre = _scale(vals.sum(axis=1))
    fig, axes = _figure(1, 1, 8.0, 1.6 + 0.32 * len(idx))
    ax = axes[0][0]
    _style(ax)
    labels = []
    multi = len(t.group_names) > 1
    for i in idx:
        lab = t.label(t.rows[i])
        labels.append(f"{t.groups[i]}: {lab}" if multi else lab)
    left = np.zeros(len(idx))
    cmap = ["#1f5fa8", "#6fa8dc", "#e07b00", "#f6b26b", "#2e9a4b", "#93c47d", "#8e44ad", "#c27ba0",
            "#7f8c8d", "#c0392b", "#cccccc"]
    for k, c in enumerate(comps):
        ax.barh(range(len(idx)), vals[:, k] / s, left=left, color=cmap[k % len(cmap)],
                label=c.split(".")[-1], height=0.7)
        left += vals[:, k] / s
    ax.set_yticks(range(len(idx)))
    ax.set_yticklabels(labels, fontsize=7.5)
    ax.invert_yaxis()
    ax.set_xlabel(f"chip energy ({pre}J)")
    ax.legend(fontsize=7.5, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title("Energy by component of the Pareto-optimal points", fontweight="bold", fontsize=11)
    fig.tight_layout()
    return fig


FIGURES = {
    "explore_pareto": (fig_pareto, "Energy vs latency",
                       "Each panel is one workload; points are design points (chip, mapper, seed); circled "
                       "points are Pareto-optimal (no other point is both faster and lower in energy)."),
    "explore_sensitivity": (fig_sensitivity, "Sensitivity",
                            "Energy and time per step against each varied parameter: the line is the median "
                            "over every other parameter, the band spans min..max."),
    "explore_breakdown": (fig_breakdown, "Energy breakdown",
                          "Chip energy of the Pareto-optimal points, by component."),
}
