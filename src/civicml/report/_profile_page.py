"""The data profile as one accessible, offline HTML page.

Every chart is inline SVG with ``role="img"``, a ``<title>`` and a ``<desc>`` that states the
numbers, and every chart's numbers are also in a table, so a screen-reader user loses nothing.
The page reads only the statistics of :func:`civicml.data.profile_data` (``profile.json``): it
never sees a raw row, so it cannot show a value the profile withheld.

Examples
--------
>>> svg = bars_svg("ages", "Rows by age band", [("18 to 30", 12), ("30 to 50", 30)])
>>> svg.startswith('<svg role="img"'), "<title id=" in svg, "18 to 30: 12" in svg
(True, True, True)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from civicml._files import write_private_text
from civicml.report._page import page_context

__all__ = ["bars_svg", "profile_page", "write_profile_page"]

_BLUE = "#1d70b8"
_TEXT = "#0b0c0c"
_GREY = "#505a5f"
_ROW = 24
_LABEL_W = 170
_BAR_W = 330
_VALUE_W = 120


def _id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "x"


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return f"{int(v):,}"
        return f"{v:,.4g}" if abs(v) >= 1000 else f"{v:.4g}"
    return str(v)


def _short(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bars_svg(
    key: str,
    title: str,
    bars: Sequence[tuple[str, float]],
    *,
    unit: str = "",
    scale: float | None = None,
) -> str:
    """A horizontal bar chart as inline SVG with a text alternative.

    ``key`` makes the element ids unique on the page; ``bars`` are ``(label, value)`` pairs;
    ``scale`` is the value of a full-width bar (default: the largest value). ``unit`` is
    appended to values (``"%"`` shows values as percentages).
    """
    sid = _id(key)
    top = scale if scale is not None else max((v for _, v in bars), default=0.0)
    top = top or 1.0
    shown = [(label, v, f"{v:.1f}%" if unit == "%" else _fmt(v) + unit) for label, v in bars]
    desc = "; ".join(f"{label}: {text}" for label, _, text in shown)
    height = _ROW * max(len(shown), 1) + 8
    width = _LABEL_W + _BAR_W + _VALUE_W
    parts = [
        f'<svg role="img" aria-labelledby="t-{sid} d-{sid}" class="app-plot" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="Arial, sans-serif" font-size="13">',
        f'<title id="t-{sid}">{escape(title)}</title>',
        f'<desc id="d-{sid}">{escape(desc or "no data")}</desc>',
    ]
    for i, (label, v, text) in enumerate(shown):
        y = 4 + i * _ROW
        w = max(0.0, min(1.0, v / top)) * _BAR_W
        parts += [
            f'<text x="{_LABEL_W - 6}" y="{y + 16}" text-anchor="end" fill="{_TEXT}">'
            f"{escape(_short(label))}</text>",
            f'<rect x="{_LABEL_W}" y="{y + 3}" width="{w:.1f}" height="{_ROW - 6}" '
            f'fill="{_BLUE}"/>',
            f'<text x="{_LABEL_W + w + 6:.1f}" y="{y + 16}" fill="{_GREY}">{escape(text)}</text>',
        ]
    parts.append("</svg>")
    return "".join(parts)


def _table(caption: str, head: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    th = "".join(f'<th scope="col">{escape(h)}</th>' for h in head)
    body = "".join(
        "<tr>"
        + f'<th scope="row">{escape(str(r[0]))}</th>'
        + "".join(f'<td class="num">{escape(_fmt(v))}</td>' for v in r[1:])
        + "</tr>"
        for r in rows
    )
    return (
        f'<table class="govuk-table"><caption class="govuk-table__caption">{escape(caption)}'
        f"</caption><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"
    )


def _figure(svg: str, caption: str) -> str:
    return f'<figure class="app-figure">{svg}<figcaption>{escape(caption)}</figcaption></figure>'


def _overview(p: dict[str, Any]) -> str:
    src = p["source"]
    rows = [
        ("File", src["name"]),
        ("Rows", _fmt(p["rows"])),
        ("Columns", _fmt(p["n_columns"])),
        ("Duplicate rows", _fmt(p["duplicate_rows"])),
        ("Rows with a missing value", _fmt(p["rows_with_missing"])),
        ("Computed by", f"DuckDB in {p.get('seconds', 0):.2f} seconds"),
        ("Distinct counts", p.get("distinct_method", "approximate")),
    ]
    if src.get("sha256"):
        rows.append(("sha256", src["sha256"]))
    items = "".join(
        f'<div class="govuk-summary-list__row"><dt class="govuk-summary-list__key">{escape(k)}'
        f'</dt><dd class="govuk-summary-list__value">{escape(str(v))}</dd></div>'
        for k, v in rows
    )
    return f'<h2 class="govuk-heading-l">Overview</h2><dl class="govuk-summary-list">{items}</dl>'


def _missing(p: dict[str, Any]) -> str:
    bars = [(c["name"], 100 * c["missing_share"]) for c in p["columns"]]
    svg = bars_svg("missing", "Share of rows missing, by column", bars, unit="%", scale=100.0)
    table = _table(
        "Missing values by column",
        ["Column", "Missing", "Share missing"],
        [(c["name"], c["missing"], f"{c['missing_share']:.1%}") for c in p["columns"]],
    )
    return (
        '<h2 class="govuk-heading-l">Missing values</h2>'
        + _figure(svg, "Share of rows with no value in each column.")
        + table
    )


def _privacy(p: dict[str, Any]) -> str:
    hidden = [c for c in p["columns"] if c.get("values_hidden")]
    items = "".join(
        f"<li><strong>{escape(c['name'])}</strong>: {escape(c.get('hidden_reason', ''))}</li>"
        for c in hidden
    )
    special = "".join(
        f"<li><strong>{escape(s['column'])}</strong>: {escape(s['label'])}</li>"
        for s in p["special_category"]
    )
    out = [
        '<h2 class="govuk-heading-l">Personal and sensitive data</h2>',
        f'<p class="govuk-body">The personal-data scan read {_fmt(p["personal_scan_rows"])} rows. '
        f"Values of the columns below are never shown. Categories seen in fewer than "
        f"{_fmt(p['min_cell'])} rows are not named anywhere in this profile.</p>",
    ]
    out.append(f'<ul class="govuk-list govuk-list--bullet">{items}</ul>' if items else "")
    if special:
        out.append(
            '<h3 class="govuk-heading-m">Special-category data (UK GDPR Art. 9)</h3>'
            f'<ul class="govuk-list govuk-list--bullet">{special}</ul>'
        )
    return "".join(out)


def _stats_rows(c: dict[str, Any]) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [
        ("Role", c["role"]),
        ("Type", c["dtype"]),
        ("Values", c["count"]),
        ("Missing", c["missing"]),
        ("Distinct", c["distinct"]),
    ]
    num = c.get("numeric") or {}
    for k in ("mean", "sd", "min", "max"):
        if k in num:
            rows.append(({"sd": "Standard deviation"}.get(k, k.capitalize()), num[k]))
    for k, v in (num.get("quantiles") or {}).items():
        rows.append((f"{int(k[1:])}th percentile", v))
    if "zeros" in num:
        rows.append(("Zeros", num["zeros"]))
    if num.get("outliers"):
        rows.append(("Outliers (outside 1.5 × IQR)", num["outliers"]["count"]))
    if c.get("length"):
        ln = c["length"]
        rows += [("Shortest (characters)", ln["min"]), ("Mean length", ln["mean"])]
        rows.append(("Longest (characters)", ln["max"]))
    if c.get("date"):
        rows += [("Earliest", c["date"]["min"]), ("Latest", c["date"]["max"])]
    return rows


def _column(c: dict[str, Any], index: int) -> str:
    name = c["name"]
    out = [f'<h3 class="govuk-heading-m" id="col-{index}">{escape(name)}</h3>']
    if c.get("values_hidden"):
        out.append(
            f'<p class="govuk-body"><strong>Values not shown:</strong> '
            f"{escape(c.get('hidden_reason', ''))}.</p>"
        )
    out.append(_table(f"Statistics of {name}", ["Statistic", "Value"], _stats_rows(c)))
    cats = c.get("categories")
    if cats:
        bars = [(t["value"], 100 * t["share"]) for t in cats["top"]]
        if cats["other_count"]:
            bars.append(("(other)", 100 * cats["other_share"]))
        svg = bars_svg(f"cat-{index}", f"Share of rows by value of {name}", bars, unit="%")
        out.append(_figure(svg, f"Most common values of {name} (share of non-missing rows)."))
    hist = (c.get("numeric") or {}).get("histogram")
    if hist and not cats:
        bars = [(f"{_fmt(b['low'])} to {_fmt(b['high'])}", b["count"]) for b in hist]
        svg = bars_svg(f"hist-{index}", f"Rows by value of {name}", bars)
        out.append(_figure(svg, f"Distribution of {name}: rows in each of equal-width bins."))
    return "".join(out)


def _target(p: dict[str, Any]) -> str:
    t = p.get("target")
    if not t:
        return ""
    out = [
        f'<h2 class="govuk-heading-l">The target, {escape(t["column"])}, against each feature</h2>'
    ]
    if t.get("skipped"):
        return out[0] + f'<p class="govuk-body">Not computed: {escape(t["skipped"])}.</p>'
    out.append(
        f'<p class="govuk-body">Groups of fewer than {_fmt(p["min_cell"])} rows are not shown.</p>'
    )
    classes = t.get("classes") or []
    shown_class = classes[-1] if classes else None
    for i, (name, f) in enumerate(t["by_feature"].items()):
        out.append(f'<h3 class="govuk-heading-m">{escape(name)}</h3>')
        if "skipped" in f:
            out.append(f'<p class="govuk-body">Not computed: {escape(f["skipped"])}.</p>')
            continue
        groups = f["groups"]
        if f["measure"] == "mean":
            bars = [(g["group"], g["mean"] or 0.0) for g in groups]
            title = f"Mean of {t['column']} by {name}"
            rows = [(g["group"], g["count"], g["mean"]) for g in groups]
            head = [name, "Rows", f"Mean of {t['column']}"]
            svg = bars_svg(f"target-{i}", title, bars)
        else:
            bars = [(g["group"], 100 * g["shares"].get(shown_class, 0.0)) for g in groups]
            title = f"Share of rows with {t['column']} = {shown_class}, by {name}"
            rows = [
                (g["group"], g["count"], *(f"{g['shares'].get(k, 0.0):.1%}" for k in classes))
                for g in groups
            ]
            head = [name, "Rows", *(f"{t['column']} = {k}" for k in classes)]
            svg = bars_svg(f"target-{i}", title, bars, unit="%", scale=100.0)
        out.append(_figure(svg, title + "."))
        out.append(_table(title, head, rows))
    return "".join(out)


def profile_page(profile: dict[str, Any]) -> str:
    """The profile as one self-contained HTML page (GOV.UK styles inline, no scripts)."""
    ctx = page_context()
    name = profile["source"]["name"]
    contents = "".join(
        f'<li><a class="govuk-link" href="#col-{i}">{escape(c["name"])}</a></li>'
        for i, c in enumerate(profile["columns"])
    )
    body = "".join(
        [
            '<span class="govuk-caption-l">Data profile</span>',
            f'<h1 class="govuk-heading-xl">{escape(name)}</h1>',
            _overview(profile),
            _privacy(profile),
            _missing(profile),
            '<h2 class="govuk-heading-l">Columns</h2>',
            f'<nav aria-label="Columns"><ul class="govuk-list">{contents}</ul></nav>',
            *(_column(c, i) for i, c in enumerate(profile["columns"])),
            _target(profile),
        ]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="civicml {escape(ctx["version"])}">\n'
        f"<title>Data profile: {escape(name)} – civicml</title>\n"
        f"<style>\n{ctx['css']}\n</style>\n</head>\n<body>\n"
        '<a href="#main-content" class="govuk-skip-link">Skip to main content</a>\n'
        '<header class="govuk-header"><div class="govuk-header__inner">'
        '<span class="govuk-header__logo">civicml</span>'
        '<span class="govuk-header__service">Data profile</span></div></header>\n'
        '<div class="govuk-width-container">'
        f'<main class="govuk-main-wrapper" id="main-content">{body}</main></div>\n'
        '<footer class="govuk-footer"><div class="govuk-width-container">'
        f"Generated by civicml {escape(ctx['version'])} on {escape(ctx['generated'])}. "
        "This file works offline.</div></footer>\n</body>\n</html>\n"
    )


def write_profile_page(profile: dict[str, Any], path: str | Path) -> Path:
    """Write :func:`profile_page` to ``path`` (readable by the owner only); return the path."""
    return write_private_text(Path(path), profile_page(profile))
