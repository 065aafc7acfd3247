"""The report's figures drawn on the mesh: per-core utilisation heat map
(:func:`fig_core_utilisation`), NoC link traffic (:func:`fig_link_traffic`) and, for
multi-chip systems, traffic per chip (:func:`fig_chip_traffic`).  Each heat map is one
image; links are one line collection plus one marker set per direction.
"""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps, rc_context
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from .drawing import (_DPI, _STYLE, _axes, _colorbar, _figure, _label_layer, _no_data, _pl, _stamp,
                       _subtitle, _text_mask, _title)

__all__ = ["fig_core_utilisation", "fig_link_traffic", "fig_chip_traffic"]


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
