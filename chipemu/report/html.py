"""``report.html``: a self-contained page a person reads, drawn from report.json + spikes.

:func:`write_html` writes ``report.html`` (figures embedded as base64 PNG data URIs, so
the file works alone) and the same figures as PNG files next to it (``raster.png``,
``latency.png``, ``energy.png``, ``cores.png``, ``links.png``).  Everything is computed
from the report dict and the spike raster: nothing is re-run.  matplotlib is loaded only
when the figures are drawn here (:func:`render_figures`), not when they come drawn
already (``chipemu run``'s helper process, :mod:`chipemu.sidecar`).
"""

from __future__ import annotations

from pathlib import Path

from ..files import atomic_write
from .captions import FIGURES
from .schema import REQUIRED_KEYS as REPORT_KEYS
from .page import PAGE_END, esc, figure_html, page_head
from .units import fmt_si

__all__ = ["write_html", "render_html", "REQUIRED_KEYS"]

#: dotted keys the page needs: every required report key but the cost sections
REQUIRED_KEYS = tuple(k for k in REPORT_KEYS if not k.startswith(("energy.", "baseline.")))

_EXTRA_CSS = """
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 18px 0 6px; }
.card { flex: 1 1 160px; border: 1px solid #dde2ea; border-radius: 6px; padding: 10px 14px; background: #fafbfd; }
.card .v { font-size: 22px; font-weight: 600; }
.card .k { font-size: 12px; color: #566; text-transform: uppercase; letter-spacing: .04em; }
.card.good .v { color: #2e7d32; } .card.bad .v { color: #c0392b; }
.two { display: flex; gap: 28px; flex-wrap: wrap; } .two > div { flex: 1 1 420px; }
"""


def _get(d: dict, dotted: str):
    cur = d
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            raise KeyError(dotted)
        cur = cur[part]
    return cur


_e = esc


def _num(x, digits: int = 3) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if x == 0:
            return "0"
        return f"{x:,.{digits}g}" if 1e-3 <= abs(x) < 1e6 else f"{x:.{digits}e}"
    return _e(x)


def _x(v) -> str:
    return "n/a" if v is None else f"{v:.3g}×"


def _table(rows, head=None, numeric_cols=()) -> str:
    out = ["<table>"]
    if head:
        out.append("<tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>")
    for row in rows:
        cells = []
        for i, c in enumerate(row):
            cls = ' class="n"' if i in numeric_cols else ""
            cells.append(f"<td{cls}>{c}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _cards(r: dict) -> str:
    e, b = r.get("energy"), r.get("baseline")
    cards = [("chip time", fmt_si(r["time"]["chip_s"], "s"), "")]
    if e:
        cards.append(("chip energy", fmt_si(e["total_j"], "J"), ""))
        if e.get("energy_per_synaptic_op_j") is not None:
            cards.append(("energy / synaptic op", fmt_si(e["energy_per_synaptic_op_j"], "J"), ""))
    if b:
        cards.append(("CPU energy (modelled)", fmt_si(b["energy_j"], "J"), ""))
        ratios = b.get("ratios") or {}
        for key, label in (("energy", "chip advantage: energy"), ("edp", "chip advantage: EDP")):
            v = ratios.get(key)
            if v is not None:
                cards.append((label, _x(v), "good" if v >= 1 else "bad"))
    if "check" in r:
        ok = bool(r["check"].get("passed"))
        cards.append(("program check", "PASSED" if ok else "FAILED", "good" if ok else "bad"))
    return '<div class="cards">' + "".join(
        f'<div class="card {cls}"><div class="k">{_e(k)}</div><div class="v">{_e(v)}</div></div>'
        for k, v, cls in cards) + "</div>"


def _summary_rows(r: dict) -> list[tuple[str, str]]:
    net, chip, m, noc, tm = r["network"], r["chip"], r["mapping"], r["noc"], r["time"]
    rows = [
        ("network", f"{_e(net.get('name', '?'))}: {net['neurons']:,} compartments, {net['synapses']:,} synapses, "
                    f"{net['inputs']:,} input sources"),
        ("chip", f"{_e(chip['name'])}: {chip['cores']} cores on a {chip['mesh'][0]}×{chip['mesh'][1]} mesh"
                 + (f", {chip['cores_per_router']} per router" if "cores_per_router" in chip else "")),
        ("mapping", f"mapper {_e(m['strategy'])}: {m['cores_used']:,} cores used"
                    + (f" on {m['tiles_used']} tiles" if "tiles_used" in m else "")),
        ("run", f"{r['steps']:,} steps, {r['spikes']['total']:,} spikes"
                + (f" ({100 * r['spikes']['fraction_per_step']:.2f} % of compartments per step)"
                   if "fraction_per_step" in r["spikes"] else "")),
        ("NoC", f"{noc['packets']:,} packets, {noc['hops']:,} hops, busiest link {noc['max_link_packets']:,} "
                f"packets" + (f" ({_e(noc['model'])} model" if "model" in noc else "")
                + (f", {noc.get('stalls', 0):,} stalls, max latency {fmt_si(noc.get('max_latency_s', 0), 's')})"
                   if "model" in noc else "")),
        ("chip time", f"{fmt_si(tm['chip_s'], 's')} total; per step {fmt_si(tm['step_s_mean'], 's')} mean, "
                      f"{fmt_si(tm['step_s_max'], 's')} max"
                      + (f"; compute {fmt_si(tm['compute_s'], 's')}, NoC {fmt_si(tm['noc_s'], 's')}, barrier "
                         f"{fmt_si(tm['barrier_s'], 's')}" if "compute_s" in tm else "")),
    ]
    e = r.get("energy")
    if e:
        rows.append(("chip energy", f"<b>{fmt_si(e['total_j'], 'J')}</b> = {fmt_si(e.get('dynamic_j'), 'J')} dynamic "
                                    f"+ {fmt_si(e.get('static_j'), 'J')} static; profile "
                                    f"<b>{_e(e.get('profile', chip.get('energy_profile', '?')))}</b>"))
    b = r.get("baseline")
    if b:
        a = b.get("assumptions", {})
        rows.append(("von Neumann (modelled)",
                     f"<b>{fmt_si(b['energy_j'], 'J')}</b> = {fmt_si(b.get('dynamic_j'), 'J')} dynamic + "
                     f"{fmt_si(b.get('static_j'), 'J')} static; {fmt_si(b['time_s'], 's')} on "
                     f"{_e(b.get('host', {}).get('name', 'CPU'))} (state in {_e(str(a.get('state_level', '?')).upper())}"
                     f", synapses in {_e(str(a.get('synapse_level', '?')).upper())})"))
        ratios = b.get("ratios") or {}
        rows.append(("chip advantage", f"energy {_x(ratios.get('energy'))} (dynamic only "
                                       f"{_x(ratios.get('dynamic_energy'))}), time {_x(ratios.get('time'))}, "
                                       f"energy-delay product {_x(ratios.get('edp'))} "
                                       f"<span class='note'>(baseline / chip; &gt; 1: the chip is better)</span>"))
        meas = b.get("measured")
        if meas:
            rows.append(("host, measured", f"{fmt_si(meas['wall_s'], 's')} wall time of the reference runner on "
                                           f"this machine ({_e(meas.get('machine', ''))}) — a time, not an energy; "
                                           f"{_x(ratios.get('measured_time'))} the chip time"))
    rows.append(("host wall time", f"{tm['wall_s']:.3g} s to emulate"))
    if "import" in r:
        imp = r["import"]
        rows.append(("imported from", f"{_e(imp.get('format', ''))} file {_e(imp.get('source', ''))}: "
                                      f"{_e(imp.get('summary', ''))}"
                     + "".join(f"<br><b>warning</b>: {_e(w)}" for w in imp.get("warnings", []))))
    if "check" in r:
        c = r["check"]
        rows.append(("program check", ("<b>PASSED</b>: " if c.get("passed") else "<b>FAILED</b>: ")
                     + _e(c.get("detail", ""))))
    return rows


def _energy_table(e: dict) -> str:
    total = e["total_j"]
    ops, unit = e.get("ops", {}), e.get("unit_j", {})
    rows = []
    for k, v in e.get("breakdown", {}).items():
        count = ops.get(k)
        u = unit.get(k)
        count_s = "—" if k == "static" else _num(count)
        unit_s = (fmt_si(u, "W") if k == "static" else fmt_si(u, "J")) if u is not None else "—"
        rows.append((_e(k), count_s, unit_s, fmt_si(v, "J"), f"{100 * v / total:.1f} %" if total else "—"))
    rows.append(("<b>total</b>", "", "", f"<b>{fmt_si(total, 'J')}</b>", "100 %"))
    return _table(rows, ["component", "events", "cost per event", "energy", "share"], numeric_cols=(1, 2, 3, 4))


def _population_table(pops: list) -> str:
    """Per-population costs (report.json ``populations``; chipemu.report.layers)."""
    rows = []
    for p in pops:
        shape = "×".join(str(d) for d in p.get("shape") or []) or "—"
        rows.append((_e(p["name"]), _e(shape), _num(p["compartments"]), _num(p["cores"]), _num(p["synapses"]),
                     _e(p.get("encoding") or "—"), fmt_si(p["synapse_bits"] / 8, "B"), _num(p["spikes"]),
                     _num(p["synaptic_ops"]), fmt_si(p["energy_j"], "J"), f"{100 * p['energy_share']:.1f} %"))
    head = ["population", "shape", "compartments", "cores", "synapses", "encoding", "synaptic memory", "spikes",
            "synaptic ops", "energy", "share of dynamic"]
    return _table(rows, head, numeric_cols=(2, 3, 4, 6, 7, 8, 9, 10))


def _baseline_tables(b: dict) -> str:
    total = b["energy_j"]
    rows = [(_e(k), fmt_si(v, "J"), f"{100 * v / total:.1f} %" if total else "—")
            for k, v in b.get("breakdown", {}).items()]
    rows.append(("<b>total</b>", f"<b>{fmt_si(total, 'J')}</b>", "100 %"))
    out = [_table(rows, ["component", "energy", "share"], numeric_cols=(1, 2))]
    a = b.get("assumptions", {})
    arows = []
    for k in ("state_level_reason", "synapse_level_reason", "time_model", "left_out"):
        if k in a:
            arows.append((_e(k.replace("_", " ")), _e(a[k])))
    units = {"clock_hz": "Hz", "static_w": "W", "instruction_overhead_j": "J"}
    for k in ("clock_hz", "ipc", "static_w", "static_included", "instruction_overhead_j"):
        if k in a:
            v = a[k]
            arows.append((_e(k), fmt_si(v, units[k]) if k in units and isinstance(v, (int, float)) else _num(v)))
    for k in ("ops_per_neuron_update", "ops_per_synaptic_event"):
        if k in a:
            arows.append((_e(k.replace("_", " ")), _e(", ".join(f"{kk} {vv}" for kk, vv in a[k].items()))))
    counts = b.get("counts", {})
    for k, v in counts.items():
        arows.append((_e(k.replace("_", " ")), _num(v)))
    if "time" in b:
        arows.append(("time: compute / memory", f"{fmt_si(b['time'].get('compute_s'), 's')} / "
                                               f"{fmt_si(b['time'].get('memory_s'), 's')} (summed per step)"))
    out.append(_table(arows, ["assumption", "value"]))
    return "\n".join(out)


def _quality_table(q) -> str:
    if not isinstance(q, dict) or not q:
        return "<p class='note'>The mapping reported no quality figures.</p>"
    rows = []
    for k, v in q.items():
        if isinstance(v, dict):
            v = ", ".join(f"{kk} {_num(vv) if not isinstance(vv, (list, dict)) else '…'}" for kk, vv in v.items())
            rows.append((_e(k.replace("_", " ")), _e(v)))
        elif isinstance(v, list):
            rows.append((_e(k.replace("_", " ")), _e(f"[{len(v)} values]")))
        else:
            rows.append((_e(k.replace("_", " ")), _num(v)))
    return _table(rows, ["quality measure", "value"], numeric_cols=(1,))


def _provenance(r: dict) -> str:
    chip, net = r.get("chip", {}), r.get("network", {})
    rows = [
        ("chipemu version", _e(r.get("chipemu_version", "?"))),
        ("seed", _e(r.get("seed", "?"))),
        ("chip file", _e(chip.get("source", "?"))),
        ("chip sha256", f"<span class='mono'>{_e(chip.get('sha256', '?'))}</span>"),
        ("network", _e(net.get("source") or net.get("name", "?"))),
        ("network sha256", f"<span class='mono'>{_e(net.get('sha256', '?'))}</span>"),
    ]
    e, b = r.get("energy"), r.get("baseline")
    if e:
        rows.append(("chip cost figures", _e(e.get("source", chip.get("energy_source", "?")))))
    if b and "host" in b:
        rows.append(("CPU host", _e(f"{b['host'].get('name')} — {b['host'].get('description', '')}")))
        rows.append(("CPU figures", _e(b["host"].get("source", "?"))))
        rows.append(("host sha256", f"<span class='mono'>{_e(b['host'].get('sha256', '?'))}</span>"))
    if e and e.get("notes"):
        for k, v in e["notes"].items():
            rows.append((f"note: {_e(k)}", _e(v)))
    return _table(rows)


def _figure(name: str, png: bytes) -> str:
    title, caption = FIGURES[name]
    return figure_html(name, title, caption, png)


def render_html(report: dict, figures: dict[str, bytes]) -> str:
    """The HTML text of the page for ``report`` with the given PNG figures."""
    r = report
    for key in REQUIRED_KEYS:
        _get(r, key)  # KeyError names the missing key
    title = f"{r['network'].get('name', 'network')} on {r['chip']['name']}"
    parts = [
        *page_head(f"chipemu report: {title}", _EXTRA_CSS),
        f"<h1>{_e(title)}</h1>",
        f"<div class='sub'>chipemu {_e(r.get('chipemu_version', '?'))} · seed {_e(r.get('seed', '?'))} · "
        f"{r['steps']:,} timesteps · energy profile {_e(r.get('chip', {}).get('energy_profile', '?'))}</div>",
        _cards(r),
        "<h2>Summary</h2>",
        _table(_summary_rows(r)),
    ]
    if "raster" in figures:
        parts += ["<h2>Activity</h2>", _figure("raster", figures["raster"])]
    if "latency" in figures:
        parts += ["<h2>Latency</h2>", _figure("latency", figures["latency"])]
    parts.append("<h2>Energy</h2>")
    if "energy" in figures:
        parts.append(_figure("energy", figures["energy"]))
    e, b = r.get("energy"), r.get("baseline")
    if e or b:
        parts.append("<div class='two'>")
        if e:
            parts += ["<div><h3>Chip energy by component</h3>", _energy_table(e),
                      f"<p class='note'>Profile {_e(e.get('profile', '?'))}: {_e(e.get('source', ''))}</p></div>"]
        if b:
            parts += ["<div><h3>Von Neumann baseline (modelled CPU)</h3>", _baseline_tables(b), "</div>"]
        parts.append("</div>")
    if r.get("populations"):
        parts += ["<h2>Per-population costs</h2>", _population_table(r["populations"]),
                  "<p class='note'>Synaptic memory: the population's synapses at their encoding's bits, "
                  "its conv kernel rows and one axon header per (core, source); energy: its synaptic ops, "
                  "spikes and its share of its cores' neuron updates and messages (NoC hops and static "
                  "power are not attributed).</p>"]
    parts.append("<h2>Mapping</h2>")
    for name in ("cores", "links"):
        if name in figures:
            parts.append(_figure(name, figures[name]))
    parts += ["<h3>Mapping quality</h3>", _quality_table(r["mapping"].get("quality"))]
    parts += ["<h2>Provenance</h2>", _provenance(r), PAGE_END]
    return "\n".join(parts)


def render_figures(report: dict, spikes) -> dict[str, bytes]:
    """:func:`chipemu.report.figures.render_figures`, loaded on first use (matplotlib) with
    signals held back while its C extensions initialise (:func:`chipemu.interrupt.import_deferred`)."""
    from ..interrupt import import_deferred

    return import_deferred("chipemu.report.figures").render_figures(report, spikes)


def write_html(report: dict, spikes, out_dir, figures: dict[str, bytes] | None = None) -> Path:
    """Write ``out_dir/report.html`` and the figures as ``out_dir/<name>.png``; return the HTML path.

    ``report``: the report dict (``report.json``); ``spikes``: a
    :class:`~chipemu.spikes.SpikeRaster`; ``figures``: the PNG bytes of every figure in
    :data:`FIGURES` when they were drawn already (from this report and these spikes), else
    they are drawn here.  Raises ``KeyError`` naming a missing report key.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for key in REQUIRED_KEYS:
        _get(report, key)
    if figures is None:
        figures = render_figures(report, spikes)
    text = render_html(report, figures)
    from ..interrupt import check, deferred
    check()  # an interrupt swallowed while drawing: write nothing
    path = out / "report.html"
    with deferred():  # all files or none: a signal now waits until the set is complete
        for name, png in figures.items():
            atomic_write(out / f"{name}.png", lambda tmp, png=png: Path(tmp).write_bytes(png))
        atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return path
