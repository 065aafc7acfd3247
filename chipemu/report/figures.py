"""The report's figures, drawn from ``report.json`` (a dict) and the spike raster only.

Nothing here re-runs anything: every figure is a function of the report dict (and, for the
raster, of ``spikes.npz``), so ``chipemu report DIR`` can redraw them later.  matplotlib's
object API is used with the Agg renderer (no pyplot, no display needed).

Drawing cost stays flat in the size of the chip: every heat map is one image
(``imshow``), the links are one line collection plus one marker set per direction, and
each axes is placed at a position computed in inches (no layout engine, no tight bounding
box: the figure is drawn once, when it is saved).

:func:`render_figures` returns ``{name: png_bytes}`` for the figures in :data:`FIGURES`;
each ``fig_*`` function returns a :class:`matplotlib.figure.Figure`.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib import colormaps, rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont, get_font
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullLocator
from matplotlib.transforms import blended_transform_factory

from .units import fmt_si, si_scale

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


def _png(fig: Figure) -> bytes:
    """The figure as PNG bytes, drawn once at its own size (no tight bounding box)."""
    buf = io.BytesIO()
    # zlib level 3: about half the encoding time of the default 6 for ~10 % larger files
    FigureCanvasAgg(fig).print_png(buf, metadata={"Software": None}, pil_kwargs={"compress_level": 3})
    return buf.getvalue()


def _figure(width_in: float, height_in: float) -> Figure:
    fig = Figure(figsize=(width_in, height_in), dpi=_DPI, facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def _axes(fig: Figure, left: float, bottom: float, width: float, height: float, **kw):
    """An axes placed in inches from the figure's lower-left corner."""
    w, h = fig.get_size_inches()
    return fig.add_axes((left / w, bottom / h, max(width, 0.01) / w, max(height, 0.01) / h), **kw)


_MEASURE = RendererAgg(8, 8, 72)


def _text_in(texts, size: float = 10, bold: bool = False) -> float:
    """Width in inches of the widest of ``texts`` at font ``size`` (points), without drawing."""
    prop = FontProperties(size=size, weight="bold" if bold else "normal")
    widths = [_MEASURE.get_text_width_height_descent(str(s), prop, ismath=False)[0] for s in texts if str(s)]
    return max(widths, default=0.0) / 72.0


def _title(fig: Figure, text: str) -> None:
    """The figure's bold title, top left (what ``suptitle(x=0.01, ha='left')`` drew)."""
    w, h = fig.get_size_inches()
    fig.text(0.12 / w, 1 - 0.1 / h, text, ha="left", va="top", fontsize=13, fontweight="bold")


def _no_data(fig, ax, text: str) -> None:
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=12, color=_GREY, transform=ax.transAxes)


def _subtitle(r: dict) -> str:
    net, chip = r.get("network", {}), r.get("chip", {})
    return (f"{net.get('name', '?')} on {chip.get('name', '?')} · {r.get('steps', 0):,} steps · "
            f"mapper {r.get('mapping', {}).get('strategy', '?')}")


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _log_ticks(axis) -> None:
    """Decade labels as plain text (``10⁻⁶``, no math typesetting), no minor ticks."""
    axis.set_major_formatter(FuncFormatter(
        lambda v, _pos: f"10{str(round(np.log10(v))).translate(_SUPERSCRIPT)}" if v > 0 else ""))
    axis.set_minor_locator(NullLocator())


def _step_fill(ax, lower: np.ndarray, upper: np.ndarray, **kw) -> None:
    """Filled steps between ``lower`` and ``upper`` (one value per timestep, centred on it).

    One polygon collection (``fill_between``): its data limits are computed vectorised,
    unlike a patch's (``stairs``), whose limits are found one Bezier segment at a time.
    """
    edges = np.arange(lower.size + 1) - 0.5
    ax.fill_between(edges, np.r_[lower, lower[-1:]], np.r_[upper, upper[-1:]], step="post", lw=0, **kw)


def _bars(ax, x: np.ndarray, lower: np.ndarray, upper: np.ndarray, width: float, color, label: str) -> None:
    """Bars from ``lower`` to ``upper`` centred on ``x``, as ONE polygon collection (a
    patch per bar would cost a bounding-box update each).  The caller sets the limits."""
    h = width / 2
    verts = np.stack([np.stack([x - h, lower], 1), np.stack([x + h, lower], 1),
                      np.stack([x + h, upper], 1), np.stack([x - h, upper], 1)], 1)
    ax.add_collection(PolyCollection(verts, facecolors=color, linewidths=0, label=label), autolim=False)


def _colorbar(fig: Figure, mappable, left: float, bottom: float, height: float, label: str, width: float = 0.18):
    cax = _axes(fig, left, bottom, width, height)
    cb = fig.colorbar(mappable, cax=cax)
    cb.set_label(label)
    return cb


# --------------------------------------------------------------------------------------
# text stamped into images (heat-map labels: one image, however many cells)

_MASKS: dict[tuple[str, float], np.ndarray] = {}


def _text_mask(text: str, size_pt: float) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] of ``text`` in the default font at ``size_pt`` points
    and the figures' DPI (rows top-down, trimmed to the ink); cached per (text, size)."""
    key = (text, size_pt)
    mask = _MASKS.get(key)
    if mask is None:
        font = get_font(findfont(FontProperties()))
        font.set_size(size_pt, _DPI)
        font.set_text(text, 0.0)
        font.draw_glyphs_to_bitmap(antialiased=True)
        mask = np.asarray(font.get_image(), dtype=np.float32) / 255.0
        rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        mask = mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] if rows.size else mask[:0, :0]
        _MASKS[key] = mask
    return mask


def _stamp(img: np.ndarray, cx: float, cy: float, mask: np.ndarray, rgb) -> None:
    """Blend colour ``rgb`` into ``img`` (rows top-down, RGB or RGBA floats) through ``mask``,
    centred on pixel (``cx``, ``cy``); clipped at the image's edges.  An RGBA image's alpha
    becomes at least the mask's coverage."""
    h, w = mask.shape
    y0, x0 = int(round(cy - h / 2)), int(round(cx - w / 2))
    ya, xa = max(y0, 0), max(x0, 0)
    yb, xb = min(y0 + h, img.shape[0]), min(x0 + w, img.shape[1])
    if ya >= yb or xa >= xb:
        return
    a = mask[ya - y0:yb - y0, xa - x0:xb - x0]
    region = img[ya:yb, xa:xb]
    region[..., :3] *= 1.0 - a[..., None]
    region[..., :3] += a[..., None] * np.asarray(rgb, dtype=np.float32)[:3]
    if img.shape[2] == 4:
        np.maximum(region[..., 3], a, out=region[..., 3])


def _label_layer(ax, width_in: float, height_in: float, labels: list[tuple[float, float, str]], size: float,
                 rgb=(0.05, 0.05, 0.05), box: bool = False, zorder: float = 5) -> None:
    """Draw ``labels`` (data x, data y, text) as ONE transparent image over ``ax`` at its pixel
    size (``box``: on a white, 80 % opaque box), instead of one text artist each.

    ``ax``'s limits must be final."""
    if not labels:
        return
    w_px, h_px = max(1, round(width_in * _DPI)), max(1, round(height_in * _DPI))
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    layer = np.zeros((h_px, w_px, 4), dtype=np.float32)
    for x, y, text in labels:
        mask = _text_mask(text, size)
        cx, cy = (x - x0) / (x1 - x0) * w_px, (y1 - y) / (y1 - y0) * h_px
        if box:
            h, w = mask.shape
            ya, yb = max(int(round(cy - h / 2)) - 2, 0), min(int(round(cy - h / 2)) + h + 2, h_px)
            xa, xb = max(int(round(cx - w / 2)) - 3, 0), min(int(round(cx - w / 2)) + w + 3, w_px)
            layer[ya:yb, xa:xb] = (1.0, 1.0, 1.0, 0.8)
        _stamp(layer, cx, cy, mask, rgb)
    ax.imshow(layer, origin="upper", extent=(x0, x1, y0, y1), interpolation="none", aspect="auto", zorder=zorder)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)


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
_NO_SLOT, _EMPTY_SLOT = (0.93, 0.93, 0.93, 1.0), (1.0, 1.0, 1.0, 1.0)


def _util_resources(m: dict) -> list[str]:
    usage, cap = m.get("usage") or {}, m.get("capacity") or {}
    have = [k for k in ("compartments", "synapse_bits", "fanin_axons") if k in usage and cap.get(k)]
    return have[:3] if have else [k for k in usage if cap.get(k)][:3]


def _core_slots(m: dict, core_xy: np.ndarray, cpr: int) -> np.ndarray:
    """Router port of each logical core (``mapping.core_port``; else numbered in index order)."""
    ports = m.get("core_port")
    if ports is not None and len(ports) == core_xy.shape[0]:
        return np.asarray(ports, dtype=np.int64) % max(cpr, 1)
    key = core_xy[:, 1].astype(np.int64) * (1 << 32) + core_xy[:, 0].astype(np.int64)
    order = np.argsort(key, kind="stable")
    sk = key[order]
    first = np.r_[0, np.flatnonzero(sk[1:] != sk[:-1]) + 1]
    run_start = np.repeat(first, np.diff(np.r_[first, sk.size]))
    slot = np.empty(key.size, dtype=np.int64)
    slot[order] = np.arange(sk.size) - run_start
    return slot


def _grid_lines(n_x: int, n_y: int, step_x: float, step_y: float) -> np.ndarray:
    """Segments of a grid over [0, n_x*step_x] x [0, n_y*step_y], as an (k, 2, 2) array."""
    xs, ys = np.arange(n_x + 1) * step_x, np.arange(n_y + 1) * step_y
    top, right = ys[-1], xs[-1]
    vert = np.stack([np.stack([xs, np.zeros_like(xs)], 1), np.stack([xs, np.full_like(xs, top)], 1)], 1)
    horz = np.stack([np.stack([np.zeros_like(ys), ys], 1), np.stack([np.full_like(ys, right), ys], 1)], 1)
    return np.concatenate([vert, horz])


def _tick_every(n: int) -> int:
    return 1 if n <= 16 else int(np.ceil(n / 16))


def fig_core_utilisation(r: dict) -> Figure:
    """Each router tile of the mesh with its cores; colour = used fraction of a resource.

    One image per resource: pixel (column x*cc + sx, row y*cr + sy) is the core in slot
    (sx, sy) of router (x, y), where a tile holds cc x cr core slots.
    """
    m = r.get("mapping", {})
    cols_m, rows_m = (int(v) for v in (r.get("chip", {}).get("mesh") or [1, 1])[:2])
    cpr = max(1, int(r.get("chip", {}).get("cores_per_router", 1)))
    core_xy = np.asarray(m.get("core_xy") or np.zeros((0, 2)), dtype=float).reshape(-1, 2)
    chips = [int(c) for c in (r.get("chip", {}).get("chips") or [1, 1, 1])[:3]]
    core_chip = m.get("core_chip")
    if chips[0] * chips[1] * chips[2] > 1 and core_chip is not None and len(core_chip) == core_xy.shape[0]:
        # a system of chips: every chip's mesh at its place on the global grid (layers side by side)
        cx, cy, cz = _hardware(r).chip_xyz(np.asarray(core_chip, dtype=np.int64))
        core_xy = core_xy + np.stack([(cx + cz * chips[0]) * cols_m, cy * rows_m], axis=1)
        cols_m, rows_m = cols_m * chips[0] * chips[2], rows_m * chips[1]
    res = _util_resources(m)
    npan = max(1, len(res))
    tile = min(1.5, 16.0 / (npan * max(cols_m, 1)), 9.0 / max(rows_m, 1))
    pw, ph = max(cols_m * tile, 0.5), max(rows_m * tile, 0.5)
    left, gap, cb_w, right, bottom, top = 0.75, 0.75, 0.18, 1.05, 0.6, 1.0
    W = max(6.0, left + npan * pw + (npan - 1) * gap + 0.3 + cb_w + right)
    H = max(2.6, bottom + ph + top)
    with rc_context(_STYLE):
        fig = _figure(W, H)
        _title(fig, f"Core utilisation on the {cols_m}x{rows_m} mesh — {m.get('cores_used', 0)} of "
                    f"{r.get('chip', {}).get('cores', '?')} cores used")
        axes = [_axes(fig, left + i * (pw + gap), bottom, pw, ph) for i in range(npan)]
        if not res or core_xy.size == 0:
            for ax in axes[1:]:
                ax.axis("off")
            _no_data(fig, axes[0], "no per-core usage in report.json")
            return fig
        cmap = colormaps["viridis"]
        norm = Normalize(0, 100)
        cc, cr = _core_cells(cpr)
        slot = _core_slots(m, core_xy, cpr)
        n_cx, n_cy = cols_m * cc, rows_m * cr  # core cells across and up the whole mesh
        cx = core_xy[:, 0].astype(np.int64) * cc + slot % cc
        cy = core_xy[:, 1].astype(np.int64) * cr + cr - 1 - (slot // cc) % cr  # slot 0 top left of its tile
        inside = (cx >= 0) & (cx < n_cx) & (cy >= 0) & (cy < n_cy)
        # the slot pattern of one tile: grey where a tile has no core (cc * cr > cpr)
        base_tile = np.empty((cr, cc, 4), dtype=np.float32)
        base_tile[:] = _NO_SLOT
        s = np.arange(cpr)
        base_tile[cr - 1 - s // cc, s % cc] = _EMPTY_SLOT
        base = np.tile(base_tile, (rows_m, cols_m, 1))  # rows bottom-up
        # the image is drawn at the axes' own pixel size: cell of each pixel, grid lines as pixels
        pw_px, ph_px = max(1, round(pw * _DPI)), max(1, round(ph * _DPI))
        px_cx = np.arange(pw_px) * n_cx // pw_px
        px_cy = n_cy - 1 - np.arange(ph_px) * n_cy // ph_px  # top-down rows
        cell_w, cell_h = pw_px / n_cx, ph_px / n_cy
        edge_x = np.r_[True, px_cx[1:] != px_cx[:-1]]
        edge_y = np.r_[True, px_cy[1:] != px_cy[:-1]]
        tile_x = np.r_[True, px_cx[1:] // cc != px_cx[:-1] // cc]
        tile_y = np.r_[True, px_cy[1:] // cr != px_cy[:-1] // cr]
        tile_x[-1] = tile_y[-1] = True
        if tile * _DPI >= 30:  # 2-pixel tile borders when tiles are large
            tile_x |= np.r_[tile_x[1:], False]
            tile_y |= np.r_[tile_y[1:], False]
        fine = cpr > 1 and min(cell_w, cell_h) >= 5
        size = 7.0 if cpr > 2 else 8.0
        widest = max(_text_mask(t, size).shape[1] for t in ("100", "8.8"))
        annotate = widest + 3 <= cell_w and _text_mask("100", size).shape[0] + 3 <= cell_h
        for ax, name in zip(axes, res):
            use = np.asarray(m["usage"][name], dtype=float)
            frac = np.zeros(core_xy.shape[0])
            k = min(use.size, frac.size)
            frac[:k] = 100.0 * use[:k] / float(m["capacity"][name])
            cells = base.copy()
            cells[cy[inside], cx[inside]] = cmap(norm(np.minimum(frac[inside], 100.0)))
            img = np.ascontiguousarray(cells[px_cy][:, px_cx, :3])
            if fine:
                img[:, edge_x] = 0.55 * img[:, edge_x] + 0.45 * 0.77
                img[edge_y, :] = 0.55 * img[edge_y, :] + 0.45 * 0.77
            img[:, tile_x] = 0.27
            img[tile_y, :] = 0.27
            if annotate:
                for c in np.flatnonzero(inside):
                    f = frac[c]
                    text = f"{f:.0f}" if f >= 9.95 or f == 0 else f"{f:.1f}"
                    _stamp(img, (cx[c] + 0.5) * cell_w, (n_cy - 1 - cy[c] + 0.5) * cell_h, _text_mask(text, size),
                           (1.0, 1.0, 1.0) if f < 60 else (0.0, 0.0, 0.0))
            ax.imshow(img, origin="upper", extent=(0, cols_m, 0, rows_m), interpolation="none", aspect="auto",
                      zorder=1)
            ax.set_xlim(0, cols_m)
            ax.set_ylim(0, rows_m)
            ex, ey = _tick_every(cols_m), _tick_every(rows_m)
            ax.set_xticks(np.arange(0, cols_m, ex) + 0.5, [str(i) for i in range(0, cols_m, ex)])
            ax.set_yticks(np.arange(0, rows_m, ey) + 0.5, [str(i) for i in range(0, rows_m, ey)])
            ax.tick_params(length=0)
            for sp in ax.spines.values():
                sp.set_visible(False)
            ax.set_xlabel("router x")
            ax.set_ylabel("router y")
            peak = frac.max() if frac.size else 0.0
            ax.set_title(f"{_UTIL_LABELS.get(name, name)} (max {peak:.0f} %, mean {frac.mean():.0f} %)",
                         fontsize=10, y=1.0, pad=5)
        _colorbar(fig, ScalarMappable(norm=norm, cmap=cmap), left + npan * pw + (npan - 1) * gap + 0.3,
                  bottom + 0.05 * ph, 0.9 * ph, "% of core capacity used\n(white: unused core)", width=cb_w)
    return fig


# --------------------------------------------------------------------------------------
# NoC link traffic


_DIR_MARKER = {0: ">", 1: "<", 2: "^", 3: "v"}


def _hardware(r: dict):
    """The :class:`chipemu.hardware.Hardware` a report's ``chip`` section describes."""
    from ..hardware import Hardware
    chip = r.get("chip", {})
    cols_m, rows_m = (int(v) for v in (chip.get("mesh") or [1, 1])[:2])
    return Hardware(cols_m, rows_m, int(chip.get("cores_per_router") or 1),
                    tuple(int(c) for c in (chip.get("chips") or [1, 1, 1])[:3]))


def fig_link_traffic(r: dict) -> Figure:
    """Packets per directed mesh link over the whole run, drawn as arrows between routers.

    Link ids, routers and directions are those of :mod:`chipemu.hardware` (one chip:
    link = router * 4 + direction, E=0, W=1, N=2, S=3, router = y * columns + x).
    The two directions between a pair of routers are drawn side by side.  All links are
    one line collection and the arrow heads one marker set per direction, so the cost
    hardly grows with the mesh.  A system of chips: :func:`fig_chip_traffic`.
    """
    from ..hardware import _STEP
    hw = _hardware(r)
    if hw.n_chips > 1:
        return fig_chip_traffic(r)
    cols_m, rows_m = hw.columns, hw.rows
    noc = r.get("noc", {})
    lp = np.asarray(noc.get("link_packets") or [], dtype=float)
    W = min(16, max(5.0, 1.35 * cols_m + 2.5))
    H = min(11, max(3.2, 1.35 * rows_m + 1.4))
    left, right, bottom, top = 0.75, 1.45, 0.6, 0.85
    unit = min((W - left - right) / max(cols_m, 1), (H - bottom - top) / max(rows_m, 1))  # inches per router
    aw, ah = unit * max(cols_m, 1), unit * max(rows_m, 1)
    with rc_context(_STYLE):
        fig = _figure(W, H)
        _title(fig, f"NoC link traffic — {_pl(noc.get('packets', 0), 'packet')}, {_pl(noc.get('hops', 0), 'hop')}, "
                    f"busiest link {_pl(noc.get('max_link_packets', 0), 'packet')}")
        x0 = left + (W - left - right - aw) / 2
        ax = _axes(fig, x0, bottom, aw, ah)
        sub = _subtitle(r) + f" · NoC model: {noc.get('model', '?')}"
        fig.text(0.12 / W, 1 - 0.5 / H, sub, fontsize=9, color="#444", ha="left", va="top")
        n_r = hw.n_routers
        if lp.size != hw.n_links:
            _no_data(fig, ax, "no per-link traffic in report.json")
            return fig
        vmax = max(1.0, float(lp.max()))
        cmap = colormaps["YlOrRd"]
        norm = Normalize(0, vmax)
        pt = unit * 72.0  # points per router pitch
        off = 0.09
        rt = np.arange(n_r)
        rx, ry = rt % cols_m, rt // cols_m
        segs, widths, colors, heads, link_labels = [], [], [], [], []
        for d in range(hw.n_dirs):
            dx, dy = _STEP[d][:2]
            ok = hw.link_exists[rt * hw.n_dirs + d]
            x, y = rx[ok].astype(float), ry[ok].astype(float)
            p = lp[rt[ok] * hw.n_dirs + d]
            used = p > 0
            lw = np.where(used, 1.0 + 4.0 * p / vmax, 0.6)
            col = np.where(used[:, None], cmap(0.3 + 0.7 * norm(p)), (0.85, 0.85, 0.85, 1.0))
            head = np.minimum(3.0 + 1.6 * lw, 0.25 * pt)  # arrow head length, points
            ox, oy = dy * off, -dx * off  # to the right of the direction of travel
            ax_, ay_ = x + ox + dx * 0.2, y + oy + dy * 0.2
            bx, by = x + dx + ox - dx * 0.2, y + dy + oy - dy * 0.2
            hl = head / pt  # in router pitches
            ex, ey = bx - dx * hl, by - dy * hl  # the line stops where the head begins
            segs.append(np.stack([np.stack([ax_, ay_], 1), np.stack([ex, ey], 1)], 1))
            widths.append(lw)
            colors.append(col)
            heads.append((d, bx - dx * hl * 0.5, by - dy * hl * 0.5, head, col))
            if n_r <= 40:
                link_labels += [((ax_[i] + bx[i]) / 2 + ox * 1.6, (ay_[i] + by[i]) / 2 + oy * 1.6, f"{int(p[i]):,}")
                                for i in np.flatnonzero(used)]
        if segs:
            ax.add_collection(LineCollection(np.concatenate(segs), linewidths=np.concatenate(widths),
                                             colors=np.concatenate(colors), capstyle="butt", zorder=2))
        for d, hx, hy, size, col in heads:
            if hx.size:
                ax.scatter(hx, hy, s=size ** 2, marker=_DIR_MARKER[d], c=col, linewidths=0, zorder=2)
        core_xy = np.asarray(r.get("mapping", {}).get("core_xy") or np.zeros((0, 2)), dtype=np.int64).reshape(-1, 2)
        ok = (core_xy[:, 0] >= 0) & (core_xy[:, 0] < cols_m) & (core_xy[:, 1] >= 0) & (core_xy[:, 1] < rows_m)
        used_per_router = np.bincount(core_xy[ok, 1] * cols_m + core_xy[ok, 0], minlength=n_r)[:n_r]
        cpr = int(r.get("chip", {}).get("cores_per_router", 1))
        box_lw = 1.0 if n_r <= 256 else 0.5
        ax.scatter(rx, ry, s=(0.34 * pt) ** 2, marker="s", c=np.where(used_per_router[:, None] > 0,
                   (0.875, 0.91, 0.96, 1.0), (1.0, 1.0, 1.0, 1.0)), edgecolors="#333", linewidths=box_lw, zorder=3)
        ax.set_xlim(-0.5, cols_m - 0.5)
        ax.set_ylim(-0.5, rows_m - 0.5)
        _label_layer(ax, aw, ah, link_labels, 7.0, box=True, zorder=4)
        if n_r <= 64:
            _label_layer(ax, aw, ah, [(rx[i], ry[i], f"{used_per_router[i]}/{cpr}") for i in range(n_r)], 7.0,
                         rgb=(0.2, 0.2, 0.2), zorder=4)
        ex, ey = _tick_every(cols_m), _tick_every(rows_m)
        ax.set_xticks(range(0, cols_m, ex))
        ax.set_yticks(range(0, rows_m, ey))
        ax.set_xlabel("router x  (boxes: cores used / cores per router)")
        ax.set_ylabel("router y")
        for sp in ax.spines.values():
            sp.set_visible(False)
        cb = _colorbar(fig, ScalarMappable(norm=norm, cmap=cmap), x0 + aw + 0.3, bottom + 0.05 * ah,
                       max(0.9 * ah, 1.0), "packets over the whole run")
        if vmax <= 10:
            cb.locator = MaxNLocator(integer=True)
        cb.formatter = FuncFormatter(lambda v, _pos: f"{v:,.0f}")
        cb.update_ticks()
    return fig


def fig_chip_traffic(r: dict) -> Figure:
    """A system of chips: one square per chip (colour: packets its cores inject; number:
    cores used), a line per pair of neighbouring chips for the packets on their
    chip-to-chip links (width and colour; from ``report["chips"]``).  Layers of a 3-D
    grid are drawn side by side."""
    ch = r.get("chips") or {}
    gx, gy, gz = (int(v) for v in (ch.get("grid") or r.get("chip", {}).get("chips") or [1, 1, 1])[:3])
    noc = r.get("noc", {})
    n_x = gz * (gx + 1) - 1
    W = min(16, max(8.5, 0.9 * n_x + 2.5))
    H = min(11, max(3.2, 0.9 * gy + 1.4))
    left, right, bottom, top = 0.75, 1.45, 0.6, 0.85
    unit = min((W - left - right) / max(n_x, 1), (H - bottom - top) / max(gy, 1))
    aw, ah = unit * max(n_x, 1), unit * max(gy, 1)
    with rc_context(_STYLE):
        fig = _figure(W, H)
        _title(fig, f"Chip-to-chip traffic — {_pl(noc.get('interchip_packets') or 0, 'packet')} crossed a chip "
                    f"boundary, {_pl(noc.get('hops_interchip') or 0, 'crossing')}")
        x0 = left + (W - left - right - aw) / 2
        ax = _axes(fig, x0, bottom, aw, ah)
        fig.text(0.12 / W, 1 - 0.5 / H, _subtitle(r) + f" · NoC model: {noc.get('model', '?')}", fontsize=9,
                 color="#444", ha="left", va="top")
        n = gx * gy * gz
        out = np.asarray(ch.get("packets_out") or [], dtype=float)
        if out.size != n:
            _no_data(fig, ax, "no per-chip traffic in report.json")
            return fig
        c = np.arange(n)
        px = (c % gx + (c // (gx * gy)) * (gx + 1)).astype(float)
        py = ((c // gx) % gy).astype(float)
        pt = unit * 72.0
        links = ch.get("links") or []
        if links:
            lcmap = colormaps["YlOrRd"]
            p = np.array([e["packets"] for e in links], dtype=float)
            a = np.array([e["from"] for e in links])
            b = np.array([e["to"] for e in links])
            off = np.where(a < b, 0.08, -0.08)  # the two directions side by side
            vertical = px[a] == px[b]
            segs = np.stack([np.stack([px[a] + np.where(vertical, off, 0), py[a] + np.where(vertical, 0, off)], 1),
                             np.stack([px[b] + np.where(vertical, off, 0), py[b] + np.where(vertical, 0, off)], 1)], 1)
            ax.add_collection(LineCollection(segs, linewidths=1.0 + 5.0 * p / p.max(),
                                             colors=lcmap(0.3 + 0.7 * p / p.max()), zorder=2))
        cmap = colormaps["Blues"]
        norm = Normalize(0, max(1.0, float(out.max())))
        ax.scatter(px, py, s=(0.6 * pt) ** 2, marker="s", c=cmap(0.1 + 0.8 * norm(out)), edgecolors="#333",
                   linewidths=1.0, zorder=3)
        ax.set_xlim(-0.6, n_x - 1 + 0.6)
        ax.set_ylim(-0.6, gy - 0.4)
        used = ch.get("cores_used") or [0] * n
        if n <= 64:
            _label_layer(ax, aw, ah, [(px[i], py[i], str(used[i])) for i in range(n)], 7.0, rgb=(0.1, 0.1, 0.1),
                         zorder=4)
        ax.set_xlabel("chip x" + (" (layers z side by side)" if gz > 1 else "") +
                      "  (squares: packets injected by the chip's cores; number: cores used)")
        ax.set_ylabel("chip y")
        for sp in ax.spines.values():
            sp.set_visible(False)
        _colorbar(fig, ScalarMappable(norm=norm, cmap=cmap), x0 + aw + 0.3, bottom + 0.05 * ah,
                  max(0.9 * ah, 1.0), "packets injected per chip")
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
