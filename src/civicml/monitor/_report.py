"""The monitoring report: JSON, a terminal summary, a GOV.UK-style HTML page, and a webhook.

A :class:`MonitorReport` gathers what the monitors found; :func:`build_report` applies the
:class:`AlertPolicy` and returns it with its alerts. ``exit_code`` is 1 when an alert fired (the CLI exits with it).

Examples
--------
>>> import numpy as np, pandas as pd
>>> from civicml.monitor import DriftDetector
>>> rng = np.random.default_rng(0)
>>> ref = pd.DataFrame({"x": rng.normal(0, 1, 3000), "y": rng.normal(0, 1, 3000)})
>>> cur = pd.DataFrame({"x": rng.normal(1, 1, 3000), "y": rng.normal(1, 1, 3000)})
>>> found = MonitorReport(model="claims", drift=DriftDetector().fit(ref).detect(cur))
>>> report = build_report(found)
>>> report.exit_code, [a.kind for a in report.alerts]
(1, ['dataset_drift'])
>>> print(report.render().splitlines()[0])
civicml monitor: claims
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from civicml._errors import CivicMLError, SpecError
from civicml._files import create_private_dir, write_private_text
from civicml.monitor._alerts import Alert, AlertPolicy, evaluate_alerts, retrain_recommendation
from civicml.monitor._chunked import ChunkedResult
from civicml.monitor._drift import DriftReport
from civicml.monitor._fairness import OverrideReport
from civicml.monitor._outputs import OutputDrift
from civicml.monitor._verdict import Verdict, make_verdict

__all__ = ["MonitorReport", "build_report", "post_webhook"]


def _records(frame: pd.DataFrame | None) -> list[dict[str, Any]] | None:
    if frame is None:
        return None
    out = []
    for row in frame.to_dict(orient="records"):
        clean: dict[str, Any] = {}
        for k, v in row.items():
            if isinstance(v, pd.Timestamp | datetime):
                v = v.isoformat()
            elif isinstance(v, np.generic):
                v = v.item()
            if isinstance(v, float) and not np.isfinite(v):
                v = None
            clean[str(k)] = v
        out.append(clean)
    return out


@dataclass
class MonitorReport:
    """Everything one monitoring run found, with its alerts.

    Every part is optional: a report may hold only drift, or only performance once labels come.
    """

    model: str = ""
    version: str | None = None
    alias: str | None = None
    window_start: str | None = None
    window_end: str | None = None
    drift: DriftReport | None = None
    chunked: ChunkedResult | None = None
    multivariate: ChunkedResult | None = None
    performance: pd.DataFrame | None = None
    estimated: pd.DataFrame | None = None
    reconciliation: pd.DataFrame | None = None
    fairness: pd.DataFrame | None = None
    overrides: OverrideReport | None = None
    output_drift: OutputDrift | None = None
    alerts: list[Alert] = field(default_factory=list)
    #: input columns not compared for drift, and why (dates, free text, redacted personal data)
    left_out: dict[str, str] = field(default_factory=dict)
    #: how many of the period's decisions the monitors saw: ``rows`` (every decision in the
    #: period), ``monitored``, ``sampled`` and ``note`` (``monitor_decision_log`` sets it)
    sample: dict[str, Any] | None = None
    generated_at: str = field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds")
    )

    @property
    def exit_code(self) -> int:
        """1 when any alert fired, else 0."""
        return 1 if self.alerts else 0

    @property
    def verdict(self) -> Verdict:
        """The one-line answer every surface shows (see :func:`civicml.monitor.make_verdict`)."""
        return make_verdict(self.drift, self.alerts, self.left_out)

    @property
    def retrain_recommendation(self) -> str:
        """Advice naming the drifted columns and the evidence (see :func:`retrain_recommendation`)."""
        return retrain_recommendation(self)

    # -- JSON -----------------------------------------------------------------------------
    def to_dict(self, *, details: bool = True) -> dict[str, Any]:
        """JSON-able report; ``details=False`` leaves out plot data and per-chunk tables."""
        drift = None
        if self.drift is not None:
            drift = self.drift.to_dict()
            if not details:
                for col in drift["columns"]:
                    col.pop("distribution", None)
        out: dict[str, Any] = {
            "model": self.model,
            "version": self.version,
            "alias": self.alias,
            "window": {"start": self.window_start, "end": self.window_end},
            "generated_at": self.generated_at,
            "exit_code": self.exit_code,
            "verdict": self.verdict.to_dict(),
            "alerts": [a.to_dict() for a in self.alerts],
            "retrain_recommendation": self.retrain_recommendation,
            "drift": drift,
            "output_drift": self.output_drift.to_dict() if self.output_drift is not None else None,
            "sample": self.sample,
        }
        for name in ("chunked", "multivariate"):
            part: ChunkedResult | None = getattr(self, name)
            if part is None:
                out[name] = None
            else:
                d = part.to_dict()
                if not details:
                    d.pop("chunks")
                out[name] = d
        if details:
            out["performance"] = _records(self.performance)
            out["estimated_performance"] = _records(self.estimated)
            out["reconciliation"] = _records(self.reconciliation)
            out["fairness"] = _records(self.fairness)
        out["overrides"] = self.overrides.to_dict() if self.overrides is not None else None
        return out

    def to_json(self, *, indent: int | None = 2) -> str:
        """The report as a JSON string."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False, default=str)

    # -- text -----------------------------------------------------------------------------
    def render(self) -> str:
        """A plain-text summary for the terminal."""
        title = f"civicml monitor: {self.model or 'model'}"
        if self.version:
            title += f" v{self.version}"
        if self.alias:
            title += f" ({self.alias})"
        lines = [title, f"verdict: {self.verdict.state}: {self.verdict.message}"]
        if self.window_start or self.window_end:
            lines.append(f"window: {self.window_start or '…'} to {self.window_end or '…'}")
        if self.sample and self.sample.get("note"):
            lines.append(f"note: {self.sample['note']}")
        d = self.drift
        if d is not None:
            lines.append(
                f"drift: {d.n_drifted} of {len(d.features)} input columns drifted "
                f"({d.share_drifted:.0%}; dataset drift {'YES' if d.dataset_drift else 'no'} "
                f"at {d.drift_share:.0%}); reference {d.n_reference:,} rows, current {d.n_current:,}"
            )
            width = max([len(c.column) for c in d.columns] + [6])
            lines.append(
                f"  {'column':<{width}}  {'kind':<11}  {'test':<13}  {'score':>9}  {'thresh':>6}  {'PSI':>7}  drift"
            )
            for c in d.columns:
                score = "n/a" if not np.isfinite(c.score) else f"{c.score:.4f}"
                psi = "n/a" if not np.isfinite(c.psi) else f"{c.psi:.4f}"
                lines.append(
                    f"  {c.column:<{width}}  {c.kind:<11}  {c.stattest:<13}  {score:>9}  "
                    f"{c.threshold:>6g}  {psi:>7}  {'YES' if c.drifted else 'no'}"
                    + ("  [prediction]" if c.role == "prediction" else "")
                )
        lines.extend(f"  not compared: {c}: {why}" for c, why in self.left_out.items())
        if self.output_drift is not None:
            o = self.output_drift
            lines.append(
                f"outputs ({o.measure}): {'DRIFT' if o.drifted else 'no drift'}; {o.message}"
            )
        for name, part in (("chunked", self.chunked), ("multivariate", self.multivariate)):
            if part is not None:
                cols = part.alerting_columns
                lines.append(
                    f"{name}: " + (f"alerts on {', '.join(cols)}" if cols else "no alerts")
                )
        if self.performance is not None and not self.performance.empty:
            last = self.performance.iloc[-1]
            metrics = [
                c
                for c in self.performance.columns
                if c not in ("window_start", "n", "n_labelled", "label_coverage")
            ]
            lines.append(
                f"realised performance (latest window, {int(last['n_labelled'])} labelled): "
                + ", ".join(f"{m} {last[m]:.3f}" for m in metrics if pd.notna(last[m]))
            )
        if self.estimated is not None and not self.estimated.empty:
            last = self.estimated.iloc[-1]
            metrics = [
                c for c in self.estimated.columns if c not in ("window_start", "n", "valid_under")
            ]
            lines.append(
                "estimated performance (CBPE, valid under covariate shift only): "
                + ", ".join(f"{m} {last[m]:.3f}" for m in metrics if pd.notna(last[m]))
            )
        if self.overrides is not None and not self.overrides.table.empty:
            rate = self.overrides.table["override_rate"].iloc[-1]
            lines.append(
                f"override rate (latest window): {rate:.1%}"
                + (
                    f"; signals: {', '.join(self.overrides.signals)}"
                    if self.overrides.signals
                    else ""
                )
            )
        lines.append(f"alerts: {len(self.alerts)}")
        lines.extend(f"  [{a.severity}] {a.kind}: {a.message}" for a in self.alerts)
        lines.append(self.retrain_recommendation)
        return "\n".join(lines)

    # -- HTML -----------------------------------------------------------------------------
    def to_html(self) -> str:
        """A self-contained HTML drift report (GOV.UK style, inline SVG plots with text alternatives)."""
        import jinja2

        import civicml.monitor._plots as _plots

        figures: list[dict[str, str]] = []
        if self.drift is not None:
            for c in self.drift.columns:
                if c.distribution:
                    svg, alt = _plots.distribution_svg(c.column, c.distribution)
                    figures.append(
                        {"id": f"dist-{len(figures)}", "column": c.column, "svg": svg, "alt": alt}
                    )
        chunk_figures: list[dict[str, str]] = []
        for part in (self.chunked, self.multivariate):
            if part is None:
                continue
            for column, rows in part.table.groupby("column", sort=False):
                if part is self.chunked and column not in part.alerting_columns:
                    continue
                svg, alt = _plots.chunk_svg(
                    f"{column} per chunk",
                    rows["value"].tolist(),
                    float(rows["lower"].iloc[0]),
                    float(rows["upper"].iloc[0]),
                    rows["alert"].tolist(),
                )
                chunk_figures.append({"id": f"chunk-{len(chunk_figures)}", "svg": svg, "alt": alt})
        trend_figures: list[dict[str, str]] = []
        if self.fairness is not None and not self.fairness.empty:
            for characteristic, rows in self.fairness.groupby("characteristic", sort=False):
                series = {
                    str(g): (r["window_start"].astype(str).tolist(), r["selection_rate"].tolist())
                    for g, r in rows.groupby("group", sort=True)
                }
                svg, alt = _plots.line_svg(
                    series, title=f"Selection rate by {characteristic}", ylabel="selection rate"
                )
                trend_figures.append({"id": f"trend-{len(trend_figures)}", "svg": svg, "alt": alt})
        if self.overrides is not None and not self.overrides.table.empty:
            t = self.overrides.table
            svg, alt = _plots.line_svg(
                {
                    "override rate": (
                        t["window_start"].astype(str).tolist(),
                        t["override_rate"].tolist(),
                    )
                },
                title="Human override rate",
                ylabel="share overridden",
            )
            trend_figures.append({"id": f"trend-{len(trend_figures)}", "svg": svg, "alt": alt})
        env = jinja2.Environment(
            autoescape=jinja2.select_autoescape(default=True), undefined=jinja2.StrictUndefined
        )
        template_text = (
            resources.files("civicml.monitor")
            .joinpath("templates/monitor_report.html.j2")
            .read_text("utf-8")
        )
        template = env.from_string(template_text)
        return template.render(
            report=self,
            drift=self.drift,
            figures=figures,
            chunk_figures=chunk_figures,
            trend_figures=trend_figures,
            performance=_records(self.performance),
            estimated=_records(self.estimated),
            reconciliation=_records(self.reconciliation),
            outputs=self.output_drift,
            recommendation=self.retrain_recommendation.splitlines(),
            fmt=_fmt,
            Markup=jinja2.utils.markupsafe.Markup,
        )

    def save_html(self, path: str | Path) -> Path:
        """Write :meth:`to_html` to ``path`` (mode 0600: it can show values of the data)."""
        out = Path(path)
        create_private_dir(out.parent)
        return write_private_text(out, self.to_html())


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        return "n/a" if not np.isfinite(value) else f"{float(value):.{digits}f}"
    text = str(value)
    if text.endswith("T00:00:00+00:00"):  # a window start at midnight UTC: show the date
        return text[:10]
    return text


def build_report(
    report: MonitorReport,
    *,
    policy: AlertPolicy | None = None,
    reference_performance: dict[str, float] | None = None,
) -> MonitorReport:
    """Evaluate the alerts of an assembled :class:`MonitorReport` under ``policy``.

    ``reference_performance`` (metric -> value at training time) is what a performance drop is
    measured against. Returns a copy of ``report`` with its ``alerts`` set.
    """
    alerts = evaluate_alerts(
        policy or AlertPolicy(),
        drift=report.drift,
        chunked=report.chunked,
        multivariate=report.multivariate,
        performance=report.performance,
        estimated=report.estimated,
        reference_performance=reference_performance,
        fairness=report.fairness,
        overrides=report.overrides,
        output_drift=report.output_drift,
    )
    return replace(report, alerts=alerts)


def post_webhook(
    url: str,
    report: MonitorReport,
    *,
    timeout: float = 10.0,
    headers: dict[str, str] | None = None,
    details: bool = False,
) -> int:
    """POST the report as JSON to ``url`` (http or https) and return the HTTP status.

    The body is ``report.to_dict(details=details)`` plus a ``text`` field with the terminal summary
    (chat tools show it as the message).

    Raises
    ------
    SpecError
        The URL is not http(s).
    CivicMLError
        The server could not be reached in ``timeout`` seconds or answered with an error status.
    """
    if not url.lower().startswith(("http://", "https://")):
        raise SpecError.build(
            "The monitoring webhook URL must use http or https",
            expected="a URL such as 'https://hooks.example.org/...'",
            got=url,
            fix="Set the webhook to an http(s) URL.",
        )
    payload = report.to_dict(details=details)
    payload["text"] = report.render()
    body = json.dumps(payload, allow_nan=False, default=str).encode("utf-8")
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "civicml-monitor",
            **(headers or {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        raise CivicMLError.build(
            f"The monitoring webhook at {url} refused the report",
            expected="a 2xx status",
            got=exc.code,
            fix="Check the webhook URL and its token.",
        ) from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise CivicMLError.build(
            f"The monitoring webhook at {url} could not be reached",
            got=str(getattr(exc, "reason", exc)),
            fix=f"Check the address and network; the call waits {timeout:g} s.",
        ) from exc
