"""Shared drawing helpers of the report's figures: style, figure/axes placement in inches,
PNG output, titles, log ticks, step fills and bars, colour bars, and text stamped into
heat-map images (one image however many cells are labelled).

Used by :mod:`chipemu.report.run_figures` and :mod:`chipemu.report.mesh_figures`.
"""

from __future__ import annotations

import io
import math

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg, get_hinting_flag
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont, get_font
from matplotlib.ticker import FuncFormatter, NullLocator
from PIL import Image


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


# --------------------------------------------------------------------------------------
# canvas: matplotlib's Agg with a cheaper path for plain text


class _TextRenderer(RendererAgg):
    """Agg renderer that lays out and rasterises each plain (non-math) string ONCE, as one
    bitmap, and blits it.

    matplotlib 3.11's Agg lays a string out, then renders and composites it glyph by glyph
    from Python (a FreeType transform and a bitmap per glyph), and lays it out again to
    measure it.  Here a string's layout, bitmap, offset and metrics are computed together
    by FreeType in one pass (``set_text`` + ``draw_glyphs_to_bitmap``, the path matplotlib
    used up to 3.10), kept by the renderer (one per figure), and reused for both measuring
    and drawing.  Glyph positions are rounded to whole pixels within the string (hinted, as
    before 3.11); rotation is done in raster space by Agg.  Math text falls back to
    matplotlib's own path.
    """

    def __init__(self, width, height, dpi):
        super().__init__(width, height, dpi)
        #: (string, font properties, hinting) -> the string's bitmap and metrics
        self._bitmaps: dict[tuple, tuple] = {}

    def _bitmap(self, s: str, prop) -> tuple:
        """(coverage image uint8, x offset px, y offset px, width px, height px, descent px)."""
        key = (s, tuple(prop.get_family()), prop.get_style(), prop.get_weight(),
               prop.get_stretch(), prop.get_size_in_points(), prop.get_file(), get_hinting_flag())
        hit = self._bitmaps.get(key)
        if hit is None:
            font = self._prepare_font(prop)
            font.set_text(s, 0.0, flags=get_hinting_flag())
            font.draw_glyphs_to_bitmap(antialiased=True)
            w, h = font.get_width_height()
            xo, yo = font.get_bitmap_offset()
            hit = (np.array(font.get_image()), xo / 64.0, yo / 64.0, w / 64.0, h / 64.0, font.get_descent() / 64.0)
            self._bitmaps[key] = hit
        return hit

    def get_text_width_height_descent(self, s, prop, ismath):
        if ismath:
            return super().get_text_width_height_descent(s, prop, ismath)
        _img, _xo, _yo, w, h, d = self._bitmap(s, prop)
        return w, h, d

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if ismath or not gc.get_antialiased():
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        img, xo, yo, _w, _h, d = self._bitmap(s, prop)
        # the descent is measured along the text's own vertical, which turns with it
        x = round(x + xo + d * math.sin(math.radians(angle)))
        y = round(y + yo + d * math.cos(math.radians(angle)))
        self._renderer.draw_text_image(img, x, y + 1, angle, gc)


class _Canvas(FigureCanvasAgg):
    """matplotlib's Agg canvas drawing with :class:`_TextRenderer`."""

    def get_renderer(self):
        w, h = self.get_width_height(physical=True)
        key = w, h, self.figure.dpi
        if self._lastKey != key:
            self.renderer = _TextRenderer(w, h, self.figure.dpi)
            self._lastKey = key
        return self.renderer


def _png(fig: Figure) -> bytes:
    """The figure as PNG bytes, drawn once at its own size (no tight bounding box).

    Encoded as RGB (the figures are opaque: an alpha channel would only cost encoding
    time), zlib level 3 (about half the time of the default 6 for ~10 % larger files), no
    metadata but the resolution, so the same figure gives the same bytes."""
    canvas = fig.canvas if isinstance(fig.canvas, _Canvas) else _Canvas(fig)
    canvas.draw()
    rgb = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buf = io.BytesIO()
    rgb.convert("RGB").save(buf, format="png", compress_level=3, dpi=(fig.dpi, fig.dpi))
    return buf.getvalue()


def _figure(width_in: float, height_in: float) -> Figure:
    fig = Figure(figsize=(width_in, height_in), dpi=_DPI, facecolor="white")
    _Canvas(fig)
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
