"""The self-contained HTML page shared by ``report.html`` and ``explore.html``.

Figures are embedded as base64 PNG data URIs (and also written next to the page).
"""

from __future__ import annotations

import base64
import html

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1d2330; margin: 0;
       background: #f5f6f8; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; background: white; }
h1 { font-size: 24px; margin: 4px 0 2px; }
h2 { font-size: 18px; margin: 34px 0 10px; border-bottom: 2px solid #1f5fa8; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.sub { color: #566; font-size: 13px; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0 12px; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e6e9ef; text-align: left; vertical-align: top; }
th { background: #f0f3f8; font-weight: 600; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
figure { margin: 10px 0 24px; }
figure img { max-width: 100%; border: 1px solid #e6e9ef; }
figcaption { font-size: 13px; color: #445; margin-top: 4px; }
.mono { font-family: Menlo, Consolas, monospace; font-size: 12px; word-break: break-all; }
.note { font-size: 12px; color: #566; }
"""


def esc(x) -> str:
    """HTML-escaped text of ``x``."""
    return html.escape(str(x))


def figure_html(name: str, title: str, caption: str, png: bytes) -> str:
    """A ``<figure>`` with the PNG embedded, its caption, and a link to ``name.png``."""
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure id="fig-{name}"><img alt="{esc(title)}" src="data:image/png;base64,{data}">'
            f'<figcaption><b>{esc(title)}.</b> {esc(caption)} '
            f'<span class="note">(also <a href="{name}.png">{name}.png</a>)</span></figcaption></figure>')


def page_head(title: str, extra_css: str = "") -> list[str]:
    """The opening lines of a page titled ``title`` (close with :data:`PAGE_END`)."""
    return ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{esc(title)}</title><style>{CSS}{extra_css}</style></head><body><main>"]


PAGE_END = "</main></body></html>"
