"""The report's figures, drawn from ``report.json`` (a dict) and the spike raster only.

Nothing here re-runs anything: every figure is a function of the report dict (and, for the
raster, of ``spikes.npz``), so ``chipemu report DIR`` can redraw them later.  matplotlib's
object API is used with the Agg renderer (no pyplot, no display needed).

Drawing cost stays flat in the size of the chip: every heat map is one image
(``imshow``), the links are one line collection plus one marker set per direction, and
each axes is placed at a position computed in inches (no layout engine, no tight bounding
box: the figure is drawn once, when it is saved).

:func:`render_figures` returns ``{name: png_bytes}`` for the figures in :data:`FIGURES`
(names, titles and captions: :mod:`~chipemu.report.captions`, which loads no matplotlib);
each ``fig_*`` function returns a :class:`matplotlib.figure.Figure`.  They live in
:mod:`~chipemu.report.run_figures` (raster, latency, energy) and
:mod:`~chipemu.report.mesh_figures` (core utilisation, link and chip traffic), with the shared
drawing helpers in :mod:`~chipemu.report.drawing`; this module re-exports them.
"""

from __future__ import annotations

from .captions import FIGURES
from .drawing import _DPI, _png  # noqa: F401  (_DPI: re-exported, bench/report.py reads it)
from .mesh_figures import fig_chip_traffic, fig_core_utilisation, fig_link_traffic  # noqa: F401
from .run_figures import fig_energy, fig_latency, fig_raster

__all__ = ["FIGURES", "render_figures", "fig_raster", "fig_core_utilisation", "fig_link_traffic",
           "fig_energy", "fig_latency"]


def render_figures(report: dict, spikes, names=None) -> dict[str, bytes]:
    """PNG bytes of every figure in :data:`FIGURES` (or of those in ``names``), drawn from
    ``report`` and ``spikes``; in the order of :data:`FIGURES`."""
    makers = {
        "raster": lambda: fig_raster(report, spikes),
        "latency": lambda: fig_latency(report),
        "energy": lambda: fig_energy(report),
        "cores": lambda: fig_core_utilisation(report),
        "links": lambda: fig_link_traffic(report),
    }
    return {name: _png(makers[name]()) for name in FIGURES if names is None or name in names}
