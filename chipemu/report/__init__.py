"""Reports: ``report.json`` for machines (docs/report.md), HTML/PNG for people.

``render_figures`` (and ``write_html`` when it draws the figures) loads matplotlib, so they
are imported on first use.
"""

from .summary import REQUIRED_KEYS, build_report, format_summary, read_report, write_report

__all__ = ["build_report", "format_summary", "write_report", "read_report", "REQUIRED_KEYS", "write_html",
           "render_html", "render_figures", "FIGURES"]


def __getattr__(name):  # lazy: keep matplotlib out of 'import chipemu.report'
    if name in ("write_html", "render_html"):
        from . import html
        return getattr(html, name)
    if name == "render_figures":
        from . import figures
        return figures.render_figures
    if name == "FIGURES":
        from .captions import FIGURES
        return FIGURES
    raise AttributeError(f"module 'chipemu.report' has no attribute {name!r}")
