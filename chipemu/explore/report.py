"""The exploration report: Pareto fronts, sensitivities and tables, from results.csv alone.

:func:`redraw_explore` reads ``DIR/results.csv`` and writes ``DIR/explore.html`` (figures
embedded as base64 PNG) and the figures as ``DIR/explore_*.png``:

* ``explore_pareto.png`` -- energy (y) against chip time per step (x), both minimised, one
  panel per workload (points of different workloads are not compared); the Pareto-optimal
  points are highlighted, joined by the front and labelled by their varied parameters.
* ``explore_sensitivity.png`` -- energy and time per step against each varied parameter:
  the median over all the other parameters, with a min..max band, one line per workload.
* ``explore_breakdown.png`` -- energy by component of the Pareto-optimal points.

The varied parameters are the columns between ``error`` and ``program`` in results.csv
(the runner puts them there) that take more than one value.
"""

from __future__ import annotations

from pathlib import Path

from ..report.page import PAGE_END, esc, figure_html, page_head
from ..report.units import fmt_si
from .figures import _LABELS, DEFAULT_X, DEFAULT_Y, FIGURES, _fmt_val, _num, _png, _short, _Table, parameter_columns
from .results import read_results

__all__ = ["redraw_explore", "render_explore", "parameter_columns", "DEFAULT_X", "DEFAULT_Y"]


# --------------------------------------------------------------------------------------
# HTML

_e = esc


def _table(head: list[str] | None, rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    out = ["<table>" + ("<tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>" if head else "")]
    for r in rows:
        out.append("<tr>" + "".join(f"<td class='n'>{_e(c)}</td>" if j in numeric else f"<td>{_e(c)}</td>"
                                     for j, c in enumerate(r)) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _fig_html(name: str, png: bytes) -> str:
    _, title, caption = FIGURES[name]
    return figure_html(name, title, caption, png)


def _pareto_tables(t: _Table) -> str:
    parts = []
    xl, yl = _LABELS.get(t.x, (t.x, ""))[0], _LABELS.get(t.y, (t.y, ""))[0]
    for g in t.group_names:
        idx = [i for i in range(len(t.rows)) if t.groups[i] == g and t.front[i]]
        if not idx:
            continue
        idx.sort(key=lambda i: float(t.rows[i][t.x]))
        head = ["point"] + [t.short[c] for c in t.design_cols] + [yl, xl, "chip time", "cores used", "packets",
                                                                 "hops", "energy ratio vs CPU"]
        rows = []
        for i in idx:
            r = t.rows[i]
            rows.append([r["point_id"]] + [_fmt_val(r.get(c)) for c in t.design_cols] + [
                fmt_si(_num(r.get(t.y)), _LABELS.get(t.y, ("", ""))[1], 4),
                fmt_si(_num(r.get(t.x)), _LABELS.get(t.x, ("", ""))[1], 5),
                fmt_si(_num(r.get("time.chip_s")), "s"),
                _fmt_val(r.get("mapping.cores_used")), _fmt_val(r.get("noc.packets")), _fmt_val(r.get("noc.hops")),
                "n/a" if _num(r.get("baseline.ratios.energy")) is None
                else f"{float(r['baseline.ratios.energy']):.3g}x"])
        nd = len(t.design_cols)
        n_ok = sum(1 for i in range(len(t.rows)) if t.groups[i] == g and t.ok[i])
        parts.append(f"<h3>{_e(g)}: {len(idx)} Pareto-optimal of {n_ok} points</h3>")
        parts.append(_table(head, rows, numeric=set(range(nd + 1, nd + 8))))
    return "\n".join(parts) or "<p>No point finished with an energy and a time.</p>"


def _failure_table(t: _Table, status: str) -> str:
    idx = [i for i in range(len(t.rows)) if t.rows[i].get("status") == status]
    if not idx:
        return "<p class='note'>None.</p>"
    head = ["point"] + [t.short[c] for c in t.varied] + ["reason"]
    rows = [[t.rows[i]["point_id"]] + [_fmt_val(t.rows[i].get(c)) for c in t.varied] + [t.rows[i].get("error") or ""]
            for i in idx]
    return _table(head, rows)


def render_explore(columns: list[str], rows: list[dict], figures: dict[str, bytes], *, title: str = "",
                   x: str = DEFAULT_X, y: str = DEFAULT_Y) -> str:
    """The HTML text of the exploration report."""
    t = _Table(columns, rows, x, y)
    status = {s: sum(1 for r in rows if r.get("status") == s) for s in ("ok", "fit_failure", "error")}
    title = title or "sweep"
    summary = [
        ["points in results.csv", f"{len(rows)}"],
        ["ok", f"{status['ok']}"],
        ["did not fit (FitError)", f"{status['fit_failure']}"],
        ["failed with an error", f"{status['error']}"],
        ["varied parameters", ", ".join(_short(c) for c in t.varied) or "none"],
        ["Pareto objectives", f"{_LABELS.get(y, (y,))[0]} ({y}) and {_LABELS.get(x, (x,))[0]} ({x}), both minimised; "
                              f"fronts are per workload"],
    ]
    wall = [_num(r.get("wall_s")) for r in rows if _num(r.get("wall_s")) is not None]
    if wall:
        summary.append(["point wall time", f"{sum(wall):.1f} s in all, {max(wall):.2f} s the longest"])
    parts = [
        *page_head(f"chipemu explore: {title}"),
        f"<h1>Architecture exploration: {_e(title)}</h1>",
        "<div class='sub'>chipemu explore · redrawn from results.csv</div>",
        "<h2>Summary</h2>", _table(None, summary),
        "<h2>Energy vs latency</h2>",
    ]
    if "explore_pareto" in figures:
        parts.append(_fig_html("explore_pareto", figures["explore_pareto"]))
    parts += ["<h3>Pareto-optimal points</h3>", _pareto_tables(t)]
    if "explore_breakdown" in figures:
        parts.append(_fig_html("explore_breakdown", figures["explore_breakdown"]))
    parts.append("<h2>Sensitivity</h2>")
    if "explore_sensitivity" in figures:
        parts.append(_fig_html("explore_sensitivity", figures["explore_sensitivity"]))
    else:
        parts.append("<p class='note'>No design parameter varies.</p>")
    parts += ["<h2>Fit failures</h2>", _failure_table(t, "fit_failure"),
              "<h2>Errors</h2>", _failure_table(t, "error"),
              "<p class='note'>Columns of every point are in <a href='results.csv'>results.csv</a>; the point "
              "list in <a href='points.json'>points.json</a>.</p>",
              PAGE_END]
    return "\n".join(parts)


def render_figures(columns: list[str], rows: list[dict], *, x: str = DEFAULT_X,
                   y: str = DEFAULT_Y) -> dict[str, bytes]:
    """``{name: png_bytes}`` of the report figures that have something to show."""
    t = _Table(columns, rows, x, y)
    out = {}
    for name, (fn, _, _) in FIGURES.items():
        fig = fn(t)
        if fig is not None:
            out[name] = _png(fig)
    return out


def redraw_explore(out_dir: str | Path, *, x: str = DEFAULT_X, y: str = DEFAULT_Y) -> Path:
    """Redraw ``out_dir/explore.html`` and ``out_dir/explore_*.png`` from ``out_dir/results.csv``
    alone; return the HTML path.  ``x``, ``y``: the two minimised results.csv columns of the
    Pareto front (default: mean chip time per step and total chip energy)."""
    from ..errors import ChipemuError

    out = Path(out_dir)
    columns, rows = read_results(out / "results.csv")
    for c in (x, y):
        if c not in columns:
            raise ChipemuError(f"{out / 'results.csv'}: no column {c!r} to plot")
    title = out.name
    meta = out / "points.json"
    if meta.is_file():
        from ..bounded import read_json
        try:
            doc = read_json(meta, "points file", error=ChipemuError)
        except ChipemuError:
            doc = None  # the title is a nicety: fall back to the folder's name
        if isinstance(doc, dict) and isinstance(doc.get("name"), str) and doc["name"]:
            title = doc["name"]
    figures = render_figures(columns, rows, x=x, y=y)
    html = render_explore(columns, rows, figures, title=title, x=x, y=y)
    from ..flatfile import atomic_write
    from ..interrupt import check as check_interrupt
    check_interrupt()  # an interrupt swallowed while drawing: write nothing
    for name in FIGURES:  # drop stale figures
        p = out / f"{name}.png"
        if name not in figures and p.exists():
            p.unlink()
    for name, png in figures.items():
        atomic_write(out / f"{name}.png", lambda tmp, png=png: Path(tmp).write_bytes(png))
    path = out / "explore.html"
    atomic_write(path, lambda tmp: Path(tmp).write_text(html, encoding="utf-8"))
    return path


def format_front(out_dir: str | Path, *, x: str = DEFAULT_X, y: str = DEFAULT_Y, max_rows: int = 8) -> str:
    """A short plain-text list of the Pareto-optimal points of ``out_dir/results.csv``."""

    columns, rows = read_results(Path(out_dir) / "results.csv")
    if x not in columns or y not in columns:
        return ""
    t = _Table(columns, rows, x, y)
    xu, yu = _LABELS.get(x, (x, ""))[1], _LABELS.get(y, (y, ""))[1]
    lines = [f"Pareto front ({y} vs {x}, both minimised):"]
    for g in t.group_names:
        idx = sorted((i for i in range(len(rows)) if t.groups[i] == g and t.front[i]),
                     key=lambda i: float(rows[i][x]))
        if not idx:
            continue
        lines.append(f"  {g}: {len(idx)} of {sum(1 for i in range(len(rows)) if t.groups[i] == g and t.ok[i])} points")
        for i in idx[:max_rows]:
            r = rows[i]
            lines.append(f"    {r['point_id']}  {fmt_si(_num(r[y]), yu, 4):>10}  {fmt_si(_num(r[x]), xu, 5):>11}  "
                         f"{t.label(r)}")
        if len(idx) > max_rows:
            lines.append(f"    ... {len(idx) - max_rows} more in explore.html")
    return "\n".join(lines) if len(lines) > 1 else ""
