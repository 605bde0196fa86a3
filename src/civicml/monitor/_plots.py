"""Small inline-SVG plots for the drift report, each with a text alternative.

Plots are drawn with matplotlib's object API (no pyplot, no global backend change) and returned
as ``<svg>`` markup plus a sentence that says what the plot shows, for screen readers and for
anyone who cannot see it.

Examples
--------
>>> svg, alt = line_svg({"rate": ([0, 1, 2], [0.1, 0.2, 0.15])}, title="Override rate", ylabel="rate")
>>> svg.startswith("<svg"), "Override rate" in alt
(True, True)
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

__all__ = ["chunk_svg", "distribution_svg", "line_svg"]

REFERENCE_COLOUR = "#1d70b8"  # GOV.UK blue
CURRENT_COLOUR = "#f47738"  # GOV.UK orange
ALERT_COLOUR = "#d4351c"  # GOV.UK red
TEXT_COLOUR = "#0b0c0c"
_RC: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "civicml",
    "font.family": "sans-serif",
    "font.sans-serif": ["Arial", "Liberation Sans", "DejaVu Sans"],
    "font.size": 9,
    "axes.edgecolor": "#505a5f",
    "axes.labelcolor": TEXT_COLOUR,
    "xtick.color": TEXT_COLOUR,
    "ytick.color": TEXT_COLOUR,
}


def _figure(width: float = 5.2, height: float = 2.4) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    return fig, fig.add_subplot(1, 1, 1)


def _to_svg(fig: Any) -> str:
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.tight_layout()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.DOTALL)
    return text[text.index("<svg") :]


def _style(ax: Any) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def distribution_svg(column: str, distribution: Mapping[str, Any]) -> tuple[str, str]:
    """Reference vs current histogram (numeric) or category shares (categorical)."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig, ax = _figure()
        ref = np.asarray(distribution.get("reference", []), dtype=float)
        cur = np.asarray(distribution.get("current", []), dtype=float)
        if distribution.get("type") == "histogram":
            edges = np.asarray(distribution["edges"], dtype=float)
            width = np.diff(edges)
            ax.bar(
                edges[:-1],
                ref,
                width=width,
                align="edge",
                color=REFERENCE_COLOUR,
                alpha=0.55,
                label="reference",
            )
            ax.step(
                edges[:-1], cur, where="post", color=CURRENT_COLOUR, linewidth=1.8, label="current"
            )
            ax.set_xlabel(column)
            alt = (
                f"Histogram of {column}: reference mean {distribution.get('reference_mean', float('nan')):.4g}, "
                f"current mean {distribution.get('current_mean', float('nan')):.4g}; "
                f"the largest difference in share between the two is in the bin starting at "
                f"{edges[int(np.argmax(np.abs(ref - cur)))] if ref.size else float('nan'):.4g}."
            )
        else:
            labels = list(distribution.get("labels", []))
            x = np.arange(len(labels))
            ax.bar(x - 0.2, ref, width=0.4, color=REFERENCE_COLOUR, label="reference")
            ax.bar(x + 0.2, cur, width=0.4, color=CURRENT_COLOUR, label="current")
            ax.set_xticks(x, [lab[:14] for lab in labels], rotation=30, ha="right")
            pairs = "; ".join(
                f"{lab}: {r:.1%} then {c:.1%}" for lab, r, c in zip(labels, ref, cur, strict=False)
            )
            alt = f"Bar chart of {column} category shares, reference then current: {pairs}."
        ax.set_ylabel("share of rows")
        ax.legend(frameon=False, fontsize=8, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2)
        _style(ax)
        return _to_svg(fig), alt


def chunk_svg(
    title: str, values: Sequence[float], lower: float, upper: float, alerts: Sequence[bool]
) -> tuple[str, str]:
    """Per-chunk statistic against its limits, alerting chunks marked in red."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig, ax = _figure()
        x = np.arange(len(values))
        v = np.asarray(values, dtype=float)
        ax.axhspan(lower, upper, color=REFERENCE_COLOUR, alpha=0.12, label="reference limits")
        ax.plot(
            x, v, marker="o", markersize=3, color=TEXT_COLOUR, linewidth=1.2, label="chunk value"
        )
        flagged = np.asarray(alerts, dtype=bool)
        if flagged.any():
            ax.plot(x[flagged], v[flagged], "o", color=ALERT_COLOUR, markersize=6, label="alert")
        ax.set_xlabel("chunk")
        ax.set_ylabel(title, fontsize=8)
        ax.legend(frameon=False, fontsize=8, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=3)
        _style(ax)
        n_alert = int(flagged.sum())
        first = int(np.argmax(flagged)) if n_alert else None
        alt = f"{title}: {len(values)} chunks against limits {lower:.4g} to {upper:.4g}; " + (
            f"{n_alert} chunk(s) alert, first at chunk {first}." if n_alert else "no chunk alerts."
        )
        return _to_svg(fig), alt


def line_svg(
    series: Mapping[str, tuple[Sequence[Any], Sequence[float]]], *, title: str, ylabel: str
) -> tuple[str, str]:
    """One line per named series over time windows (selection rates, override rate, metrics)."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig, ax = _figure()
        parts = []
        for name, (xs, ys) in series.items():
            xs_list = list(xs)
            ys_arr = np.asarray(ys, dtype=float)
            ax.plot(
                range(len(xs_list)),
                ys_arr,
                marker="o",
                markersize=3,
                linewidth=1.4,
                label=str(name),
            )
            if ys_arr.size:
                parts.append(f"{name} from {ys_arr[0]:.3g} to {ys_arr[-1]:.3g}")
        ax.set_title(title, fontsize=9, loc="left")
        ax.set_ylabel(ylabel)
        ax.set_xlabel("window")
        if len(series) > 1:
            ax.legend(frameon=False, fontsize=8)
        _style(ax)
        alt = f"{title}, first to last window: " + ("; ".join(parts) if parts else "no data") + "."
        return _to_svg(fig), alt
