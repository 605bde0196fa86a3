"""``civicml monitor``: drift, performance and fairness of a served model; late labels.

Mount in ``cli/_app.py`` with ``app.add_typer(monitor_app, name="monitor")``. ``civicml monitor
NAME ...`` runs the ``run`` command (the group inserts it), ``civicml monitor labels FILE`` stores
late labels. Heavy imports happen inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from civicml.cli._common import (
    JsonOpt,
    ProjectOpt,
    RegistryOpt,
    console,
    emit_json,
    err_console,
    handle_errors,
)

if TYPE_CHECKING:  # pragma: no cover
    from typer._click import Context  # recent typer vendors click: parse_args gets its Context

    from civicml.monitor import MonitorReport

__all__ = ["monitor_app"]


class _DefaultRun(TyperGroup):
    """``civicml monitor NAME`` means ``civicml monitor run NAME``."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


#: ``--labels-dir``: where late labels are stored (``run`` reads them, ``labels`` writes them).
LabelsDirOpt = Annotated[
    Path | None,
    typer.Option("--labels-dir", help="Labels folder (default .civicml/labels)."),
]

monitor_app = typer.Typer(
    cls=_DefaultRun,
    no_args_is_help=True,
    help="Monitor a served model: drift, performance, fairness; store late labels.",
)


@monitor_app.command("run")
@handle_errors
def run(
    name: Annotated[
        str | None, typer.Argument(help="Registered model name (or NAME@ALIAS, NAME/VERSION).")
    ] = None,
    alias: Annotated[str, typer.Option(help="Registry alias to monitor.")] = "production",
    since: Annotated[
        str | None, typer.Option(help="Start: an ISO date/time (UTC) or a look-back: 7d, 12h.")
    ] = None,
    until: Annotated[str | None, typer.Option(help="End (exclusive), same forms.")] = None,
    window: Annotated[
        str, typer.Option(help="Time window for trends and chunked alerts: 1d, 6h, 7d.")
    ] = "1d",
    registry: RegistryOpt = None,
    project_dir: ProjectOpt = Path("."),
    bundle: Annotated[
        Path | None, typer.Option("--bundle", help="Monitor a bundle folder instead.")
    ] = None,
    log_dir: Annotated[
        Path | None,
        typer.Option("--log-dir", help="Decision log folder (default .civicml/decisions/NAME)."),
    ] = None,
    labels_dir: LabelsDirOpt = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write the HTML drift report here.")
    ] = None,
    as_json: JsonOpt = False,
    webhook: Annotated[
        str | None, typer.Option("--webhook", help="POST the report here when an alert fires.")
    ] = None,
    webhook_always: Annotated[
        bool, typer.Option("--webhook-always", help="POST the report even without alerts.")
    ] = False,
    drift_share: Annotated[
        float, typer.Option(help="Dataset drift when this share of inputs drifted.")
    ] = 0.5,
    column_alerts: Annotated[
        bool, typer.Option("--column-alerts", help="Alert on any drifted input column.")
    ] = False,
    fail_on: Annotated[
        list[str] | None,
        typer.Option(
            "--fail-on",
            help="Also exit 1 for: review (the version is past its review date). Repeatable.",
        ),
    ] = None,
    max_rows: Annotated[
        int | None,
        typer.Option(
            "--max-rows",
            min=0,
            help="Monitor a uniform sample of at most this many of the period's decisions "
            "(default 1,000,000); 0 reads every one.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check the decision log against the training reference; exit 1 when an alert fires.

    Exit codes: 0 no alert, 1 an alert fired, 2 unusable input (no log rows in the period).

    The log is read through DuckDB (the period and the version filtered in SQL); above
    --max-rows decisions, drift, performance and fairness are computed on a reproducible
    uniform sample of them, and the report says so with the period's true totals.
    """
    from civicml._errors import SpecError
    from civicml.monitor import AlertPolicy, monitor_registered, post_webhook

    if name is None and bundle is None:
        raise SpecError.build(
            "civicml monitor needs a model",
            fix="Pass a registered model NAME or --bundle DIR",
        )
    cap: dict[str, Any] = {} if max_rows is None else {"max_rows": max_rows or None}
    report = monitor_registered(
        name or "",
        alias=alias,
        registry=registry,
        project_dir=project_dir,
        bundle_dir=bundle,
        log_dir=log_dir,
        labels_dir=labels_dir,
        since=since,
        until=until,
        window=window,
        policy=AlertPolicy(any_column_drift=column_alerts),
        drift_share=drift_share,
        **cap,
    )
    unknown = sorted(set(fail_on or []) - {"review"})
    if unknown:
        raise SpecError.build(
            "civicml monitor --fail-on takes 'review'", got=unknown[0], fix="Use --fail-on review"
        )
    review = _review(name, alias, registry, project_dir) if name and bundle is None else None
    written = report.save_html(html) if html is not None else None
    if as_json:
        emit_json({**report.to_dict(), "review": review})
    else:
        _print_summary(report)
        if review and review.get("overdue"):
            console.print(
                f"review: OVERDUE since {review['due']} (last review "
                f"{review.get('last_review') or 'never'}); record one with 'civicml models "
                f"review {review['name']} {review['version']} --notes TEXT'",
                markup=False,
            )
        elif review and review.get("due"):
            console.print(f"review: next due {review['due']}", markup=False)
        if written is not None:
            console.print(f"HTML report: {written}")
    if webhook and (report.alerts or webhook_always):
        from civicml._errors import CivicMLError

        try:
            status = post_webhook(webhook, report)
            if not as_json:
                console.print(f"Webhook answered {status}.")
        except CivicMLError as exc:  # delivery is best effort: the exit code still tells cron
            err_console.print(f"[yellow]warning:[/] {_escape(str(exc))}", soft_wrap=True)
    overdue = bool(review and review.get("overdue")) and "review" in (fail_on or [])
    raise typer.Exit(1 if overdue and report.exit_code == 0 else report.exit_code)


def _review(
    name: str, alias: str, registry: str | None, project_dir: Path
) -> dict[str, Any] | None:
    """The monitored version's review state (``{"name", "version", "due", "overdue",
    "last_review"}``), or None when it cannot be read."""
    from civicml._errors import CivicMLError
    from civicml.cli._registry_open import open_from_cli

    ref = name if ("@" in name or "/" in name) else f"{name}@{alias}"
    try:
        with open_from_cli(registry, None, project_dir) as reg:
            v = reg.resolve(ref)
            state = reg.review_state(v.name, v.version)
    except CivicMLError:
        return None
    return {"name": v.name, "version": v.version, **state}


def _sample(report: MonitorReport) -> dict[str, Any] | None:
    """How many of the period's decisions the monitors saw (``monitor_decision_log`` sets it)."""
    return report.sample


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _print_summary(report: MonitorReport) -> None:
    from rich.table import Table

    title = f"civicml monitor: {report.model}"
    if report.version:
        title += f" v{report.version}"
    if report.alias:
        title += f" ({report.alias})"
    console.print(f"[bold]{_escape(title)}[/]")
    console.print(f"period: {report.window_start or '…'} to {report.window_end or '…'}")
    sample = _sample(report)
    if sample is not None:
        console.print(f"decisions in the period: {sample['rows']:,}", markup=False)
        if sample["note"]:
            console.print(f"note: {sample['note']}", markup=False, soft_wrap=True)
    said = report.verdict  # the same sentence the dashboard and the HTML report show
    state = f"[bold {'red' if said.state == 'alert' else 'green'}]{said.state}[/]"
    console.print(f"verdict: {state}: {_escape(said.message)}", soft_wrap=True)
    colour = {"high": "red", "medium": "yellow"}
    if report.alerts:
        console.print(f"[bold red]{len(report.alerts)} alert(s)[/]")
        for a in report.alerts:
            tint = colour.get(a.severity, "white")
            console.print(
                f"  [{tint}]{a.severity}[/] {a.kind}: {_escape(a.message)}", soft_wrap=True
            )
    else:
        console.print("[green]no alerts[/]")
    d = report.drift
    if d is not None:
        console.print(
            f"drift: {d.n_drifted} of {len(d.features)} input columns drifted "
            f"(dataset drift at {d.drift_share:.0%}: {'YES' if d.dataset_drift else 'no'}); "
            f"reference {d.n_reference:,} rows, current {d.n_current:,}"
            + (f" (sampled of {sample['rows']:,})" if sample and sample["sampled"] else "")
        )
        drifted = [c for c in d.columns if c.drifted]
        if drifted:
            table = Table(title="Drifted columns", title_justify="left")
            for head in ("column", "role", "test", "score", "threshold", "PSI"):
                table.add_column(
                    head, justify="right" if head in ("score", "threshold", "PSI") else "left"
                )
            for c in drifted:
                table.add_row(
                    c.column,
                    c.role,
                    c.stattest_name,
                    _num(c.score),
                    f"{c.threshold:g}",
                    _num(c.psi),
                )
            console.print(table)
    for column, why in report.left_out.items():
        console.print(f"not compared: {_escape(column)}: {_escape(why)}", soft_wrap=True)
    out = report.output_drift
    if out is not None:
        verdict = "[red]DRIFT[/]" if out.drifted else "[green]no drift[/]"
        console.print(f"outputs ({out.measure}): {verdict}; {_escape(out.message)}", soft_wrap=True)
    for label, part in (("chunked", report.chunked), ("multivariate", report.multivariate)):
        if part is not None:
            cols = part.alerting_columns
            console.print(f"{label}: " + (f"alerts on {', '.join(cols)}" if cols else "no alerts"))
    _print_performance(report)
    console.print(_escape(report.retrain_recommendation), soft_wrap=True)


def _print_performance(report: MonitorReport) -> None:
    import pandas as pd

    metrics = ("accuracy", "precision", "recall", "f1", "roc_auc", "mae", "rmse")
    if report.performance is not None and not report.performance.empty:
        last = report.performance.iloc[-1]
        shown = ", ".join(f"{m} {last[m]:.3f}" for m in metrics if m in last and pd.notna(last[m]))
        console.print(
            f"realised performance (latest window, {int(last['n_labelled'])} labelled): "
            + (shown or "no labels yet")
        )
    if report.estimated is not None and not report.estimated.empty:
        last = report.estimated.iloc[-1]
        shown = ", ".join(f"{m} {last[m]:.3f}" for m in metrics if m in last and pd.notna(last[m]))
        console.print(f"estimated performance (CBPE, valid under covariate shift only): {shown}")
    if report.overrides is not None and not report.overrides.table.empty:
        rate = report.overrides.table["override_rate"].iloc[-1]
        console.print(f"override rate (latest window): {_num(rate, pct=True)}")


def _num(value: Any, *, pct: bool = False) -> str:
    import math

    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.1%}" if pct else f"{value:.4g}"


@monitor_app.command("labels")
@handle_errors
def labels(
    file: Annotated[Path, typer.Argument(help="Labels file: CSV, Parquet, Excel or JSON lines.")],
    model: Annotated[str, typer.Option("--model", "-m", help="Registered model name.")],
    key: Annotated[
        str, typer.Option(help="Join key: request_id, or a logged input column.")
    ] = "request_id",
    label_column: Annotated[
        str, typer.Option("--label-column", help="Column with the ground truth.")
    ] = "label",
    project_dir: ProjectOpt = Path("."),
    labels_dir: LabelsDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Store late ground-truth labels; a re-delivered key replaces its label."""
    from civicml.monitor import store_labels

    result = store_labels(
        file,
        model,
        key=key,
        label_column=label_column,
        project_dir=project_dir,
        labels_dir=labels_dir,
    )
    if as_json:
        emit_json(result.to_dict())
        return
    console.print(
        f"Stored {result.received:,} label(s) for {model} by {key}: {result.added:,} new, "
        f"{result.replaced:,} replaced; {result.total:,} in {result.path}"
    )
