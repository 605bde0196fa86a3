"""What every civicml report page shares: the Jinja environment with its filters, the page
layout's context (stylesheet, version, time), and tables wrapped for small screens and print.

Examples
--------
>>> "css" in page_context() and "version" in page_context()
True
>>> report_env().filters["pct"](0.25)
'25%'
"""

from __future__ import annotations

import datetime as _dt
import re
from html import escape, unescape
from pathlib import Path
from typing import Any

__all__ = ["page_context", "report_env", "wrap_tables"]


#: a table, its caption and the headings above it, in rendered HTML
_TABLE = re.compile(r"<table\b[^>]*>.*?</table>", re.S)
_CAPTION = re.compile(r"<caption[^>]*>(.*?)</caption>", re.S)
_HEADING = re.compile(r"<h[1-4][^>]*>(.*?)</h[1-4]>", re.S)
#: tables with at most this many rows are kept on one printed page
_KEEP_ROWS = 16


def wrap_tables(html: str) -> str:
    """Put every data table in a focusable, labelled region that scrolls on its own.

    At 320 CSS px a wide table then scrolls inside its region instead of the whole page
    (WCAG 2.2, 1.4.10 Reflow); keyboard users reach the region with Tab and scroll it with the
    arrow keys. Short tables are also kept on one printed page.

    The region is labelled by the table's caption, else by the heading above it (a model card
    rendered from markdown has no captions).

    Examples
    --------
    >>> out = wrap_tables('<table class="govuk-table"><caption>Rates <b>by</b> sex</caption>'
    ...                   '<tr><td>1</td></tr></table>')
    >>> out.split(">")[0]
    '<div class="app-table-wrap app-keep" role="region" aria-label="Rates by sex" tabindex="0"'
    >>> wrap_tables("<h2>Metrics</h2><table><tr><td>1</td></tr></table>").split('"')[5]
    'Table: Metrics'
    """

    def one(m: re.Match[str]) -> str:
        cap = _CAPTION.search(m.group(0))
        above = _HEADING.findall(m.string, 0, m.start())
        text = cap.group(1) if cap else (f"Table: {above[-1]}" if above else "")
        label = unescape(re.sub(r"<[^>]+>", "", text)).strip()
        label = " ".join(label.split()) or "Table"
        keep = " app-keep" if m.group(0).count("<tr") <= _KEEP_ROWS else ""
        return (
            f'<div class="app-table-wrap{keep}" role="region" aria-label="{escape(label)}"'
            f' tabindex="0">{m.group(0)}</div>'
        )

    return _TABLE.sub(one, html)


def _env() -> Any:
    from jinja2 import Environment, PackageLoader, Template, select_autoescape

    class _Page(Template):
        """A template whose output has its tables wrapped (see :func:`wrap_tables`)."""

        def render(self, *args: Any, **kwargs: Any) -> str:
            return wrap_tables(super().render(*args, **kwargs))

    env = Environment(
        loader=PackageLoader("civicml.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.template_class = _Page
    env.filters["pct"] = lambda v: "–" if v is None else f"{v:.0%}"
    env.filters["f3"] = lambda v: "–" if v is None else f"{v:.3f}"
    env.filters["finding"] = _finding
    env.filters["sig"] = lambda v: "–" if v is None else f"{v:.3g}"
    env.filters["sig2"] = _sig2
    return env


def _sig2(v: float | None) -> str:
    """A number for people: 2 significant figures, never scientific notation."""
    from civicml.report._glossary import round_sig

    return "–" if v is None else round_sig(v)


def _finding(f: dict[str, Any]) -> str:
    kind = f.get("kind") or f.get("type") or "personal data"
    share = f.get("share") or f.get("match_share")
    return f"{kind}" + (f" ({share:.0%} of values)" if isinstance(share, float) else "")


def report_env() -> Any:
    """The Jinja environment (templates and filters) every civicml report page is rendered with."""
    return _env()


def page_context() -> dict[str, Any]:
    """What every page's layout needs: the inline stylesheet, civicml's version, the time."""
    from civicml import __version__

    css = (Path(__file__).parent / "templates" / "govuk.css").read_text(encoding="utf-8")
    generated = _dt.datetime.now(_dt.UTC).strftime("%d %B %Y %H:%M UTC")
    return {"css": css, "version": __version__, "generated": generated}
