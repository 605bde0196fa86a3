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

__all__ = ["bars_svg", "matrix_svg", "profile_page", "write_profile_page"]

_BLUE = "#1d70b8"
_TEXT = "#0b0c0c"
_GREY = "#505a5f"
_ROW = 24
_LABEL_W = 170
_BAR_W = 330
_VALUE_W = 120
_MODES = {
    "full": "full: statistics, missingness pattern, correlations and associations",
    "minimal": "minimal: per-column statistics only (no missingness pattern, correlations "
    "or associations)",
}


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
        ("Analyses", _MODES.get(p.get("mode", "full"), "")),
        ("Rows with a missing value", _fmt(p["rows_with_missing"])),
        ("Computed by", f"DuckDB in {p.get('seconds', 0):.2f} seconds"),
        ("Distinct counts", p.get("distinct_method", "approximate")),
        ("Quantiles", p.get("quantile_method", "exact")),
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


_POS = (29, 112, 184)  # GOV.UK blue for positive values
_NEG = (212, 53, 28)  # GOV.UK red for negative values
_CELL = 44


def _cell_fill(v: float | None) -> str:
    if v is None:
        return "#f3f2f1"
    r, g, b = _POS if v >= 0 else _NEG
    a = min(1.0, abs(v))
    mix = [round(255 - (255 - ch) * a) for ch in (r, g, b)]
    return "#" + "".join(f"{ch:02x}" for ch in mix)


def _ink(fill: str) -> str:
    """White or near-black text, whichever contrasts more with ``fill`` (WCAG luminance)."""
    lin = [
        c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
        for c in (int(fill[i : i + 2], 16) / 255 for i in (1, 3, 5))
    ]
    lum = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return "#ffffff" if 1.05 / (lum + 0.05) > (lum + 0.05) / 0.0552 else _TEXT


def matrix_svg(
    key: str, title: str, labels: Sequence[str], values: dict[tuple[str, str], float | None]
) -> str:
    """A symmetric matrix (correlations, associations) as an inline SVG heat map.

    Each cell prints its value and the ``<desc>`` lists every pair, so the numbers do not
    depend on colour. ``values`` maps ``(a, b)`` (either order) to a value in [-1, 1] or None.

    >>> svg = matrix_svg("m", "Correlation", ["a", "b"], {("a", "b"): 0.5})
    >>> "a and b: 0.50" in svg, svg.count("<rect")
    (True, 4)
    """
    sid = _id(key)

    def get(a: str, b: str) -> float | None:
        if a == b:
            return 1.0
        return values.get((a, b), values.get((b, a)))

    pairs = [
        f"{a} and {b}: " + ("not defined" if get(a, b) is None else f"{get(a, b):.2f}")
        for i, a in enumerate(labels)
        for b in labels[i + 1 :]
    ]
    n = len(labels)
    left, top = _LABEL_W, 24
    width, height = left + n * _CELL + 8, top + n * _CELL + 8
    parts = [
        f'<svg role="img" aria-labelledby="t-{sid} d-{sid}" class="app-plot" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="Arial, sans-serif" font-size="12">',
        f'<title id="t-{sid}">{escape(title)}</title>',
        f'<desc id="d-{sid}">{escape("; ".join(pairs) or "no pairs")}</desc>',
    ]
    for j, b in enumerate(labels):
        parts.append(
            f'<text x="{left + j * _CELL + _CELL / 2:.0f}" y="16" text-anchor="middle" '
            f'fill="{_TEXT}">{escape(_short(b, 6))}</text>'
        )
    for i, a in enumerate(labels):
        y = top + i * _CELL
        parts.append(
            f'<text x="{left - 6}" y="{y + _CELL / 2 + 4:.0f}" text-anchor="end" '
            f'fill="{_TEXT}">{escape(_short(a))}</text>'
        )
        for j, b in enumerate(labels):
            v = get(a, b)
            x = left + j * _CELL
            ink = _ink(_cell_fill(v))
            parts += [
                f'<rect x="{x}" y="{y}" width="{_CELL - 2}" height="{_CELL - 2}" '
                f'fill="{_cell_fill(v)}"/>',
                f'<text x="{x + _CELL / 2 - 1:.0f}" y="{y + _CELL / 2 + 4:.0f}" '
                f'text-anchor="middle" fill="{ink}">{"–" if v is None else f"{v:.2f}"}</text>',
            ]
    parts.append("</svg>")
    return "".join(parts)


def _capped(part: dict[str, Any], what: str) -> str:
    left = part.get("left_out") or []
    if not left:
        return ""
    return (
        f'<p class="govuk-body">Only the first {_fmt(part.get("limit"))} {what} columns are '
        f"compared; left out: {escape(', '.join(left))}.</p>"
    )


def _missing_patterns(p: dict[str, Any]) -> str:
    mp = p.get("missing_patterns")
    if mp is None:
        return ""
    out = ['<h2 class="govuk-heading-l">Missing values together</h2>']
    if not mp["columns"]:
        return out[0] + '<p class="govuk-body">No column has a missing value.</p>'
    out.append(
        '<p class="govuk-body">Each pattern is a set of columns missing in the same rows; '
        f"patterns seen in fewer than {_fmt(p['min_cell'])} rows are counted, not shown.</p>"
    )
    label = [", ".join(x["missing"]) or "nothing missing" for x in mp["patterns"]]
    bars = [(lab, 100 * x["share"]) for lab, x in zip(label, mp["patterns"], strict=True)]
    title = "Share of rows by pattern of missing columns"
    out.append(_figure(bars_svg("patterns", title, bars, unit="%", scale=100.0), title + "."))
    rows = [
        (lab, x["count"], f"{x['share']:.1%}") for lab, x in zip(label, mp["patterns"], strict=True)
    ]
    if mp["other_count"]:
        rows.append(("other patterns", mp["other_count"], f"{mp['other_count'] / p['rows']:.1%}"))
    out.append(_table("Rows by pattern of missing columns", ["Missing", "Rows", "Share"], rows))
    if mp["co_missing"]:
        out.append(
            _table(
                "Rows where both columns are missing (the share of rows where either is "
                "missing is the Jaccard index)",
                ["Columns", "Both missing", "Jaccard"],
                [
                    (f"{x['a']} and {x['b']}", _small(x["both"], p), x["jaccard"])
                    for x in mp["co_missing"][:20]
                ],
            )
        )
    if mp.get("left_out"):
        out.append(
            f'<p class="govuk-body">Columns with gaps not in the pattern (limit reached): '
            f"{escape(', '.join(mp['left_out']))}.</p>"
        )
    return "".join(out)


def _small(v: Any, p: dict[str, Any]) -> str:
    return f"fewer than {p['min_cell']}" if v is None else _fmt(v)


def _outliers(p: dict[str, Any]) -> str:
    rows = []
    for c in p["columns"]:
        o = (c.get("numeric") or {}).get("outliers")
        if o:
            rows.append((c["name"], o["count"], o.get("z_count"), o["low"], o["high"]))
    dups = p["duplicate_rows"]
    share = p.get("duplicate_share", dups / p["rows"] if p["rows"] else 0.0)
    out = [
        '<h2 class="govuk-heading-l">Duplicates and outliers</h2>',
        f'<p class="govuk-body">{_fmt(dups)} rows ({share:.1%}) are exact copies of an '
        "earlier row.</p>",
    ]
    if rows:
        out.append(
            '<p class="govuk-body">A value is an outlier outside the fences 1.5 × IQR below the '
            "25th or above the 75th percentile (Tukey), and, separately, more than 4 standard "
            "deviations from the mean (|z| &gt; 4).</p>"
        )
        out.append(
            _table(
                "Outliers by numeric column",
                ["Column", "Outside 1.5 × IQR", "|z| > 4", "Lower fence", "Upper fence"],
                rows,
            )
        )
    return "".join(out)


def _correlations(p: dict[str, Any]) -> str:
    cor = p.get("correlations")
    if cor is None:
        return ""
    out = ['<h2 class="govuk-heading-l">Correlations between numeric columns</h2>']
    if len(cor["columns"]) < 2:
        return out[0] + '<p class="govuk-body">Fewer than two numeric columns to compare.</p>'
    out.append(f'<p class="govuk-body">{escape(cor["method"])}.</p>')
    out.append(_capped(cor, "numeric"))
    for method in ("pearson", "spearman"):
        values = {(x["a"], x["b"]): x[method] for x in cor["pairs"]}
        title = f"{method.capitalize()} correlation of each pair of numeric columns"
        svg = matrix_svg(f"cor-{method}", title, cor["columns"], values)
        out.append(_figure(svg, title + " (blue positive, red negative; values printed)."))
    out.append(
        _table(
            "Numeric pairs, strongest first",
            ["Pair", "Pearson", "Spearman", "Rows"],
            [(f"{x['a']} and {x['b']}", x["pearson"], x["spearman"], x["n"]) for x in cor["pairs"]],
        )
    )
    return "".join(out)


def _associations(p: dict[str, Any]) -> str:
    a = p.get("associations")
    if a is None:
        return ""
    out = [
        '<h2 class="govuk-heading-l">Associations</h2>',
        f'<p class="govuk-body">{escape(a["method"])}. Both run from 0 (none) to 1.</p>',
        _capped(a, "categorical"),
    ]
    if len(a["columns"]) >= 2:
        values = {(x["a"], x["b"]): x["value"] for x in a["cramers_v"]}
        title = "Cramér's V of each pair of categorical columns"
        out.append(_figure(matrix_svg("cramer", title, a["columns"], values), title + "."))
        out.append(
            _table(
                "Categorical pairs, strongest first",
                ["Pair", "Cramér's V", "Rows"],
                [(f"{x['a']} and {x['b']}", x["value"], x["n"]) for x in a["cramers_v"]],
            )
        )
    if a["correlation_ratio"]:
        top = a["correlation_ratio"][:20]
        bars = [(f"{x['numeric']} by {x['categorical']}", x["value"] or 0.0) for x in top]
        title = "Correlation ratio of numeric columns by category"
        out.append(_figure(bars_svg("eta", title, bars, scale=1.0), title + "."))
        out.append(
            _table(
                "Numeric by categorical, strongest first",
                ["Pair", "Correlation ratio", "Rows"],
                [(f"{x['numeric']} by {x['categorical']}", x["value"], x["n"]) for x in top],
            )
        )
    return "".join(out)


def _representation(p: dict[str, Any]) -> str:
    reps = p.get("representation") or []
    if not reps:
        return ""
    out = [
        '<h2 class="govuk-heading-l">Group representation</h2>',
        '<p class="govuk-body">Rows by protected characteristic or special category, beside '
        "the share of the population served where one was given.</p>",
    ]
    for i, r in enumerate(reps):
        out.append(
            f'<h3 class="govuk-heading-m">{escape(r["column"])} '
            f"({escape(r['characteristic'])})</h3>"
        )
        if not r["groups"]:
            out.append(f'<p class="govuk-body">Not shown: {escape(r.get("note", ""))}.</p>')
            continue
        bars: list[tuple[str, float]] = []
        for g in r["groups"]:
            bars.append((f"{g['value']} in the data", 100 * g["share"]))
            if g.get("reference") is not None:
                bars.append((f"{g['value']} reference", 100 * g["reference"]))
        title = f"Share of rows by {r['column']}"
        out.append(_figure(bars_svg(f"rep-{i}", title, bars, unit="%", scale=100.0), title + "."))
        rows = [
            (
                g["value"],
                g["count"],
                f"{g['share']:.1%}",
                "–" if g.get("reference") is None else f"{g['reference']:.1%}",
                "–" if g.get("difference") is None else f"{100 * g['difference']:+.1f} points",
            )
            for g in r["groups"]
        ]
        rows += [
            (x["value"], x["why"], "–", f"{x['reference']:.1%}", "–")
            for x in r.get("reference_not_shown", [])
        ]
        head = [r["column"], "Rows", "Share", "Reference share", "Difference"]
        out.append(_table(f"Rows by {r['column']} against reference shares", head, rows))
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
            _missing_patterns(profile),
            _outliers(profile),
            _correlations(profile),
            _associations(profile),
            _representation(profile),
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
