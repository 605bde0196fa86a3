"""Plots as inline SVG with a text alternative (``<title>`` + ``<desc>``, ``role="img"``).

matplotlib's object API (no pyplot state), GOV.UK colours, text kept as text so the browser
renders it in Arial. Each function returns an SVG string ready to drop into the report.
"""

from __future__ import annotations

import io
import re
from html import escape
from typing import Any

from civicml.report._glossary import plain_candidate, plain_metric

__all__ = [
    "GOVUK",
    "bar_svg",
    "calibration_svg",
    "fairness_svg",
    "leaderboard_svg",
    "line_svg",
    "pr_svg",
    "roc_svg",
    "shared_range",
    "svg_with_alt",
]

GOVUK = {
    "text": "#0b0c0c",
    "secondary": "#505a5f",
    "blue": "#1d70b8",
    "dark_blue": "#003078",
    "green": "#00703c",
    "red": "#d4351c",
    "orange": "#f47738",
    "purple": "#4c2c92",
    "border": "#b1b4b6",
    "light": "#f3f2f1",
}


def _figure(width: float = 6.0, height: float = 3.6) -> Any:
    from matplotlib import rcParams
    from matplotlib.figure import Figure

    rcParams["svg.fonttype"] = "none"
    rcParams["font.family"] = ["DejaVu Sans"]  # metrics only; the browser uses Arial
    rcParams["font.size"] = 11
    fig = Figure(figsize=(width, height))
    ax = fig.add_subplot(1, 1, 1)
    ax.spines[["top", "right"]].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(GOVUK["secondary"])
    ax.tick_params(colors=GOVUK["text"])
    ax.xaxis.label.set_color(GOVUK["text"])
    ax.yaxis.label.set_color(GOVUK["text"])
    return fig, ax


#: charts of one kind share one size and one plotting area (inches), so they share one scale:
#: curves (ROC, precision-recall, calibration) are square-ish with both axes from 0 to 1
CURVE_SIZE = (4.6, 4.0)
#: partial-dependence charts: one size, and one y-axis range across the report
PD_SIZE = (4.6, 3.4)
#: charts with one row per label (fairness, importance, candidates): one width, one label margin,
#: and a height that grows by the same step per row
ROW_WIDTH, ROW_LABEL_IN, ROW_STEP_IN, ROW_PAD_IN = 6.5, 2.4, 0.42, 0.95
#: the longest row label drawn in full; longer ones are cut with an ellipsis (the text
#: alternative keeps them whole)
LABEL_CHARS = 30
#: a 95% normal interval is the mean ± this many standard deviations
Z95 = 1.96


def _margins(fig: Any, left: float, bottom: float, right: float = 0.2, top: float = 0.15) -> None:
    """Fix the plotting area in inches, so charts of one size draw their axes identically."""
    w, h = fig.get_size_inches()
    fig.subplots_adjust(left=left / w, right=1 - right / w, bottom=bottom / h, top=1 - top / h)


def _short(label: Any, n: int = LABEL_CHARS) -> str:
    """``label`` as text, cut to ``n`` characters with an ellipsis.

    >>> _short("a" * 40, 10)
    'aaaaaaaaa…'
    """
    text = str(label)
    return text if len(text) <= n else text[: n - 1] + "…"


def _rows_figure(n: int) -> Any:
    """A one-row-per-label chart: fixed width and label margin, the same height per row."""
    fig, ax = _figure(ROW_WIDTH, ROW_PAD_IN + ROW_STEP_IN * max(n, 2))
    _margins(fig, ROW_LABEL_IN, 0.7, right=0.3, top=0.1)
    ax.set_ylim(-0.6, max(n, 2) - 0.4)
    return fig, ax


def svg_with_alt(fig: Any, key: str, title: str, desc: str, kind: str = "curve") -> str:
    """Serialise ``fig`` to SVG and give it ``role="img"``, a ``<title>`` and a ``<desc>``.

    The figure is written at its own size (no cropping), so charts of one kind, built at one
    size with one plotting area, are drawn at one scale. ``kind`` ("curve", "pd" or "rows")
    becomes the class ``app-plot--KIND``, which the stylesheet gives one display width per kind.
    """
    from matplotlib import rcParams

    rcParams["svg.hashsalt"] = key
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    text = text.replace("'DejaVu Sans'", "arial, sans-serif").replace(
        '"DejaVu Sans"', "arial, sans-serif"
    )
    # ids must be unique across the page: prefix every id and its references with the key
    text = re.sub(r'id="([^"]+)"', lambda m: f'id="{key}-{m.group(1)}"', text)
    text = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{key}-{m.group(1)})", text)
    text = re.sub(r'xlink:href="#([^"]+)"', lambda m: f'xlink:href="#{key}-{m.group(1)}"', text)
    text = re.sub(r'\swidth="[^"]+"\s+height="[^"]+"', "", text, count=1)
    head_end = text.index(">") + 1
    opening = text[: head_end - 1]
    opening += (
        f' role="img" aria-labelledby="{key}-title {key}-desc" focusable="false"'
        f' class="app-plot app-plot--{kind}" preserveAspectRatio="xMinYMin meet">'
    )
    alt = f'<title id="{key}-title">{escape(title)}</title><desc id="{key}-desc">{escape(desc)}</desc>'
    return opening + alt + text[head_end:]


def _curve_figure() -> Any:
    fig, ax = _figure(*CURVE_SIZE)
    _margins(fig, 0.75, 0.6)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    return fig, ax


def roc_svg(roc: dict[str, Any], auc: float | None) -> str:
    fig, ax = _curve_figure()
    ax.plot([0, 1], [0, 1], linestyle="--", color=GOVUK["secondary"], label="Chance")
    ax.plot(roc["fpr"], roc["tpr"], color=GOVUK["blue"], linewidth=2.5, label="Model")
    ax.set_xlabel("False positive rate")
    ax.set_ylabel("True positive rate (recall)")
    ax.legend(frameon=False, loc="lower right")
    auc_txt = f"{auc:.2f}" if auc is not None else "unknown"
    desc = (
        f"The ROC curve rises above the diagonal chance line; the area under it is {auc_txt} "
        "(1 is perfect, 0.5 is chance)."
    )
    return svg_with_alt(fig, "roc", "ROC curve on the test rows", desc)


def pr_svg(pr: dict[str, Any], ap: float | None) -> str:
    fig, ax = _curve_figure()
    base = pr.get("base_rate")
    if base is not None:
        ax.axhline(base, linestyle="--", color=GOVUK["secondary"], label="Base rate")
    ax.plot(pr["recall"], pr["precision"], color=GOVUK["purple"], linewidth=2.5, label="Model")
    ax.set_xlabel("Recall")
    ax.set_ylabel("Precision")
    ax.legend(frameon=False, loc="lower left")
    ap_txt = f"{ap:.2f}" if ap is not None else "unknown"
    base_txt = f"{base:.0%}" if base is not None else "unknown"
    desc = (
        f"Precision against recall. Average precision is {ap_txt}; picking people at random "
        f"would give a precision of {base_txt}."
    )
    return svg_with_alt(fig, "pr", "Precision-recall curve on the test rows", desc)


def calibration_svg(bins: list[dict[str, Any]], ece: float | None) -> str:
    fig, ax = _curve_figure()
    ax.plot([0, 1], [0, 1], linestyle="--", color=GOVUK["secondary"], label="Perfect")
    xs = [b["mean_predicted"] for b in bins]
    ys = [b["observed"] for b in bins]
    ax.plot(xs, ys, marker="o", color=GOVUK["green"], linewidth=2, label="Model")
    ax.set_xlabel("Predicted probability")
    ax.set_ylabel("Observed share positive")
    ax.legend(frameon=False, loc="upper left")
    worst = max(bins, key=lambda b: abs(b["observed"] - b["mean_predicted"]), default=None)
    extra = (
        f" The biggest miss: predictions near {worst['mean_predicted']:.0%} came true "
        f"{worst['observed']:.0%} of the time."
        if worst
        else ""
    )
    ece_txt = f"{ece:.3f}" if ece is not None else "unknown"
    desc = f"Predicted probability against how often it came true; calibration error {ece_txt}."
    return svg_with_alt(fig, "calibration", "Calibration curve", desc + extra)


def bar_svg(
    key: str,
    labels: list[str],
    values: list[float],
    errors: list[float] | None,
    *,
    title: str,
    xlabel: str,
    desc: str,
) -> str:
    """A horizontal bar chart, largest at the top; ``errors`` are drawn as given."""
    fig, ax = _rows_figure(len(labels))
    pos = list(range(len(labels)))[::-1]
    ax.barh(pos, values, xerr=errors, color=GOVUK["blue"], ecolor=GOVUK["text"], capsize=2)
    ax.set_yticks(pos, [_short(x) for x in labels])
    ax.set_xlabel(xlabel)
    ax.axvline(0, color=GOVUK["secondary"], linewidth=0.8)
    return svg_with_alt(fig, key, title, desc, kind="rows")


def fairness_svg(key: str, table: dict[str, Any], metric: str = "selection_rate") -> str:
    """Per-group rate with its 95% interval; small groups drawn hollow."""
    groups = table["groups"]
    fig, ax = _rows_figure(len(groups))
    pos = list(range(len(groups)))[::-1]
    for p, g in zip(pos, groups, strict=True):
        v = g.get(metric)
        if v is None:
            continue
        ci = g.get(metric + "_ci") or [None, None]
        lo = v - ci[0] if ci[0] is not None else 0
        hi = ci[1] - v if ci[1] is not None else 0
        color = GOVUK["orange"] if g["small"] else GOVUK["blue"]
        ax.errorbar(
            [v],
            [p],
            xerr=[[lo], [hi]],
            fmt="o",
            color=color,
            ecolor=GOVUK["text"],
            capsize=3,
            markerfacecolor="white" if g["small"] else color,
            markersize=7,
        )
    ax.set_yticks(pos, [f"{_short(g['group'], LABEL_CHARS - 8)} (n={g['n']})" for g in groups])
    ax.set_xlim(0, 1.02)
    nice = metric.replace("_", " ")
    ax.set_xlabel(f"{nice.capitalize()} with 95% interval")
    parts = [f"{g['group']} {g[metric]:.0%}" for g in groups if g.get(metric) is not None]
    desc = f"{nice.capitalize()} by {table['name']}: " + "; ".join(parts) + "."
    if any(g["small"] for g in groups):
        desc += " Hollow orange points are groups too small to judge."
    return svg_with_alt(fig, key, f"{nice.capitalize()} by {table['name']}", desc, kind="rows")


def line_svg(
    key: str,
    pd_item: dict[str, Any],
    *,
    ylabel: str,
    ylim: tuple[float, float] | None = None,
) -> str:
    """Partial dependence of the score on one feature, on the y-axis range ``ylim`` if given.

    Pass every chart of a report the same ``ylim`` (:func:`shared_range`) so they compare.
    """
    fig, ax = _figure(*PD_SIZE)
    _margins(fig, 0.8, 0.95)
    if ylim is not None:
        ax.set_ylim(*ylim)
    grid, avg = pd_item["grid"], pd_item["average"]
    if pd_item["kind"] == "numeric":
        ax.plot(grid, avg, color=GOVUK["blue"], linewidth=2.5, marker="o", markersize=3)
    else:
        ax.bar([_short(g, 14) for g in grid], avg, color=GOVUK["blue"])
        ax.tick_params(axis="x", labelrotation=30)
    ax.set_xlabel(_short(pd_item["feature"], 40))
    ax.set_ylabel(ylabel)
    lo, hi = min(avg), max(avg)
    at_lo, at_hi = grid[avg.index(lo)], grid[avg.index(hi)]
    desc = (
        f"As {pd_item['feature']} changes, the average score ranges from {lo:.2f} "
        f"(at {at_lo}) to {hi:.2f} (at {at_hi})."
    )
    return svg_with_alt(fig, key, f"Partial dependence on {pd_item['feature']}", desc, kind="pd")


def leaderboard_svg(entries: list[dict[str, Any]], metric: str) -> str:
    """Each candidate's cross-validated score with its 95% interval (mean ± 1.96 sd over folds).

    The same interval as the leaderboard table beside it.
    """
    ok = [e for e in entries if e.get("cv_mean", {}).get(metric) is not None]
    labels = [e["name"] for e in ok]
    vals = [e["cv_mean"][metric] for e in ok]
    errs = [Z95 * (e.get("cv_std", {}).get(metric) or 0.0) for e in ok]
    fig, ax = _rows_figure(len(ok))
    pos = list(range(len(ok)))[::-1]
    ax.errorbar(
        vals,
        pos,
        xerr=errs,
        fmt="o",
        color=GOVUK["blue"],
        ecolor=GOVUK["text"],
        capsize=3,
        markersize=7,
    )
    ax.set_yticks(pos, [_short(plain_candidate(x)) for x in labels])
    ax.set_xlabel(f"{plain_metric(metric)} (cross-validated, 95% interval)")
    desc = "; ".join(
        f"{plain_candidate(n)} {v:.3f} (95% interval {v - e:.3f} to {v + e:.3f})"
        for n, v, e in zip(labels, vals, errs, strict=True)
    )
    return svg_with_alt(
        fig,
        "leaderboard",
        f"Candidates compared by {plain_metric(metric)}",
        desc + ".",
        kind="rows",
    )


def shared_range(series: list[list[float]], pad: float = 0.05) -> tuple[float, float] | None:
    """One axis range that holds every series, padded, for charts that must share a scale.

    >>> shared_range([[0.2, 0.4], [0.1, 0.3]])
    (0.085, 0.415)
    >>> shared_range([]) is None
    True
    """
    values = [float(v) for s in series for v in s if v is not None]
    if not values:
        return None
    lo, hi = min(values), max(values)
    span = (hi - lo) or max(abs(hi), 1.0) * 0.1
    return round(lo - pad * span, 6), round(hi + pad * span, 6)
