"""Plots as inline SVG with a text alternative (``<title>`` + ``<desc>``, ``role="img"``).

matplotlib's object API (no pyplot state), GOV.UK colours, text kept as text so the browser
renders it in Arial. Each function returns an SVG string ready to drop into the report.
"""

from __future__ import annotations

import io
import re
from html import escape
from typing import Any

__all__ = [
    "GOVUK",
    "bar_svg",
    "calibration_svg",
    "fairness_svg",
    "leaderboard_svg",
    "line_svg",
    "pr_svg",
    "roc_svg",
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


def svg_with_alt(fig: Any, key: str, title: str, desc: str) -> str:
    """Serialise ``fig`` to SVG and give it ``role="img"``, a ``<title>`` and a ``<desc>``."""
    from matplotlib import rcParams

    rcParams["svg.hashsalt"] = key
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
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
        ' class="app-plot" preserveAspectRatio="xMinYMin meet">'
    )
    alt = f'<title id="{key}-title">{escape(title)}</title><desc id="{key}-desc">{escape(desc)}</desc>'
    return opening + alt + text[head_end:]


def roc_svg(roc: dict[str, Any], auc: float | None) -> str:
    fig, ax = _figure(4.6, 4.0)
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
    fig, ax = _figure(4.6, 4.0)
    base = pr.get("base_rate")
    if base is not None:
        ax.axhline(base, linestyle="--", color=GOVUK["secondary"], label="Base rate")
    ax.plot(pr["recall"], pr["precision"], color=GOVUK["purple"], linewidth=2.5, label="Model")
    ax.set_xlabel("Recall")
    ax.set_ylabel("Precision")
    ax.set_ylim(0, 1.02)
    ax.legend(frameon=False, loc="lower left")
    ap_txt = f"{ap:.2f}" if ap is not None else "unknown"
    base_txt = f"{base:.0%}" if base is not None else "unknown"
    desc = (
        f"Precision against recall. Average precision is {ap_txt}; picking people at random "
        f"would give a precision of {base_txt}."
    )
    return svg_with_alt(fig, "pr", "Precision-recall curve on the test rows", desc)


def calibration_svg(bins: list[dict[str, Any]], ece: float | None) -> str:
    fig, ax = _figure(4.6, 4.0)
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
    """A horizontal bar chart, largest at the top."""
    fig, ax = _figure(6.0, max(1.6, 0.32 * len(labels) + 0.8))
    pos = list(range(len(labels)))[::-1]
    ax.barh(pos, values, xerr=errors, color=GOVUK["blue"], ecolor=GOVUK["text"], capsize=2)
    ax.set_yticks(pos, labels)
    ax.set_xlabel(xlabel)
    ax.axvline(0, color=GOVUK["secondary"], linewidth=0.8)
    return svg_with_alt(fig, key, title, desc)


def fairness_svg(key: str, table: dict[str, Any], metric: str = "selection_rate") -> str:
    """Per-group rate with its 95% interval; small groups drawn hollow."""
    groups = table["groups"]
    fig, ax = _figure(6.0, max(1.6, 0.42 * len(groups) + 0.9))
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
    ax.set_yticks(pos, [f"{g['group']} (n={g['n']})" for g in groups])
    ax.set_xlim(0, 1.02)
    nice = metric.replace("_", " ")
    ax.set_xlabel(f"{nice.capitalize()} with 95% interval")
    parts = [f"{g['group']} {g[metric]:.0%}" for g in groups if g.get(metric) is not None]
    desc = f"{nice.capitalize()} by {table['name']}: " + "; ".join(parts) + "."
    if any(g["small"] for g in groups):
        desc += " Hollow orange points are groups too small to judge."
    return svg_with_alt(fig, key, f"{nice.capitalize()} by {table['name']}", desc)


def line_svg(key: str, pd_item: dict[str, Any], *, ylabel: str) -> str:
    """Partial dependence of the score on one feature."""
    fig, ax = _figure(4.6, 3.2)
    grid, avg = pd_item["grid"], pd_item["average"]
    if pd_item["kind"] == "numeric":
        ax.plot(grid, avg, color=GOVUK["blue"], linewidth=2.5, marker="o", markersize=3)
    else:
        ax.bar([str(g) for g in grid], avg, color=GOVUK["blue"])
        ax.tick_params(axis="x", labelrotation=30)
    ax.set_xlabel(pd_item["feature"])
    ax.set_ylabel(ylabel)
    lo, hi = min(avg), max(avg)
    at_lo, at_hi = grid[avg.index(lo)], grid[avg.index(hi)]
    desc = (
        f"As {pd_item['feature']} changes, the average score ranges from {lo:.2f} "
        f"(at {at_lo}) to {hi:.2f} (at {at_hi})."
    )
    return svg_with_alt(fig, key, f"Partial dependence on {pd_item['feature']}", desc)


def leaderboard_svg(entries: list[dict[str, Any]], metric: str) -> str:
    """Each candidate's cross-validated score with ± one standard deviation."""
    ok = [e for e in entries if e.get("cv_mean", {}).get(metric) is not None]
    labels = [e["name"] for e in ok]
    vals = [e["cv_mean"][metric] for e in ok]
    errs = [e.get("cv_std", {}).get(metric) or 0.0 for e in ok]
    fig, ax = _figure(6.0, max(1.6, 0.4 * len(ok) + 0.8))
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
    ax.set_yticks(pos, labels)
    ax.set_xlabel(f"{metric} (cross-validated, ± 1 sd)")
    desc = "; ".join(f"{n} {v:.3f} ± {e:.3f}" for n, v, e in zip(labels, vals, errs, strict=True))
    return svg_with_alt(fig, "leaderboard", f"Candidates compared by {metric}", desc + ".")
