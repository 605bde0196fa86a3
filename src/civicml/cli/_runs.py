"""``civicml runs``: list, show, compare and export the recorded training runs.

Runs live in the registry's database (``--registry`` / ``$CIVICML_REGISTRY``; default
``sqlite:///.civicml/registry.db`` under ``--project-dir``). When that is the ``http(s)://``
URL of a ``civicml server``, the runs are read from its API (``GET /api/v1/runs``, with
``$CIVICML_TOKEN``): read only. The lead mounts this app as ``civicml runs``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from civicml.cli._common import (
    JsonOpt,
    ProjectOpt,
    RegistryOpt,
    console,
    emit_json,
    handle_errors,
    is_remote,
)

if TYPE_CHECKING:
    from civicml.registry import RemoteRegistry
    from civicml.tracking import Run, RunStore

__all__ = ["app", "open_store"]

app = typer.Typer(
    help="Recorded training runs: list, show, compare, export to MLflow.",
    no_args_is_help=True,
)

_STATUS_STYLE = {"finished": "green", "failed": "red", "running": "yellow"}


def open_store(registry: str | None, project_dir: Path) -> RunStore | RemoteRuns:
    """Open the runs store the CLI options name (a server's runs for an ``http(s)://`` URL)."""
    if is_remote(registry):
        from civicml.cli._registry_open import open_from_cli
        from civicml.registry import RemoteRegistry

        remote = open_from_cli(registry, None, project_dir)
        assert isinstance(remote, RemoteRegistry)
        return RemoteRuns(remote)
    from civicml.tracking import open_runs

    return open_runs(registry, project_dir=project_dir)


class RemoteRuns:
    """The read-only runs of a ``civicml server``, shaped like the part of
    :class:`~civicml.tracking.RunStore` these commands use."""

    #: how many recent runs ``get_run`` searches for an id prefix
    SEARCH = 1000

    def __init__(self, registry: RemoteRegistry) -> None:
        self.registry = registry

    def __enter__(self) -> RemoteRuns:
        return self

    def __exit__(self, *exc: object) -> None:
        self.registry.close()

    def list_runs(
        self, *, project: str | None = None, status: str | None = None, limit: int = 20
    ) -> list[Run]:
        """Runs newest first, filtered by project and status."""
        wanted = limit if project is None and status is None else self.SEARCH
        runs = [_run(d) for d in self.registry.list_runs(limit=wanted)]
        kept = [
            r
            for r in runs
            if (project is None or r.project == project) and (status is None or r.status == status)
        ]
        return kept[:limit]

    def get_run(self, run_id: str) -> Run:
        """One run by id or unique prefix, among the server's recent runs."""
        from civicml._errors import NotFoundError

        key = run_id.strip().lower()
        found = (
            [r for r in self.list_runs(limit=self.SEARCH) if r.id.startswith(key)] if key else []
        )
        if len(found) != 1:
            raise NotFoundError.build(
                f"The civicml server at {self.registry.url} has "
                + ("several runs" if found else "no recent run")
                + f" with the id {run_id!r}",
                fix="Run 'civicml runs list' and give more of the id",
            )
        return found[0]


def _run(doc: dict[str, Any]) -> Run:
    """A :class:`~civicml.tracking.Run` from its ``to_dict()`` JSON."""
    from dataclasses import fields

    from civicml.data import DataVersion
    from civicml.tracking import Run

    keys = {f.name for f in fields(Run)}
    kwargs = {k: v for k, v in doc.items() if k in keys and k != "data_versions"}
    versions = [DataVersion.from_dict(d) for d in doc.get("data_versions") or []]
    return Run(**kwargs, data_versions=versions)


def _headline(run: Run) -> str | None:
    metric = run.params.get("metric")
    if metric and f"test_{metric}" in run.metrics:
        value = run.metrics[f"test_{metric}"]
        return f"{metric} {value:.4f}" if isinstance(value, (int, float)) else None
    return None


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


@app.command("list")
@handle_errors
def list_runs(
    project: Annotated[str | None, typer.Option("--project", help="Only this project.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="Only running, finished or failed runs.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many, newest first.")] = 20,
    registry: RegistryOpt = None,
    project_dir: ProjectOpt = Path("."),
    json_out: JsonOpt = False,
) -> None:
    """List runs, newest first: id, project, kind, status, started, seconds, headline metric.

    A run whose process was killed (its heartbeat stopped, or its pid on this host is gone)
    is listed as failed, with why."""
    from rich.table import Table

    with open_store(registry, project_dir) as store:
        runs = store.list_runs(project=project, status=status, limit=limit)
    if json_out:
        emit_json([{k: v for k, v in r.to_dict().items() if k != "leaderboard"} for r in runs])
        return
    if not runs:
        where = (  # never the URL itself: it may hold a password
            "the registry --registry ($CIVICML_REGISTRY) names"
            if registry
            else str(Path(project_dir).resolve() / ".civicml" / "registry.db")
        )
        console.print(
            f"No runs recorded yet in {where}. 'civicml run' or 'civicml train' records one "
            "(each project keeps its own .civicml/: run this from the project, or pass "
            "--project-dir).",
            markup=False,
            soft_wrap=True,
        )
        return
    table = Table(title="Runs")
    for col in ("run", "project", "kind", "status", "started (UTC)", "seconds", "result"):
        table.add_column(col, justify="right" if col == "seconds" else "left")
    for r in runs:
        style = _STATUS_STYLE.get(r.status, "")
        result = r.error if r.status == "failed" else (_headline(r) or "")
        table.add_row(
            r.short_id,
            r.project,
            r.kind,
            f"[{style}]{r.status}[/]" if style else r.status,
            r.started_at[:19].replace("T", " "),
            _fmt(r.seconds),
            (result or "")[:80],
        )
    console.print(table)


@app.command("show")
@handle_errors
def show(
    run: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    registry: RegistryOpt = None,
    project_dir: ProjectOpt = Path("."),
    json_out: JsonOpt = False,
) -> None:
    """Everything recorded about one run."""
    from rich.table import Table

    with open_store(registry, project_dir) as store:
        r = store.get_run(run)
    if json_out:
        emit_json(r.to_dict())
        return
    console.print(f"[bold]Run {r.id}[/] ({r.project}, {r.kind}): {r.status}")
    for label, value in (
        ("started", r.started_at),
        ("finished", r.finished_at),
        ("seconds", r.seconds),
        ("by", r.actor),
        ("git commit", r.git_commit),
        ("bundle sha256", r.bundle_digest),
        ("error", r.error),
        ("energy", r.energy),
        ("process", f"pid {r.pid} on {r.host}" if r.host and r.pid else None),
        ("last heartbeat", r.heartbeat_at if r.status == "running" else None),
    ):
        if value is not None:
            console.print(f"  {label}: {value}", soft_wrap=True, markup=False)
    params = Table(title="Parameters")
    params.add_column("name")
    params.add_column("value")
    for k, v in r.params.items():
        params.add_row(k, _fmt(v))
    console.print(params)
    if r.metrics:
        metrics = Table(title="Metrics")
        metrics.add_column("metric")
        metrics.add_column("value", justify="right")
        for k, v in sorted(r.metrics.items()):
            metrics.add_row(k, _fmt(v))
        console.print(metrics)
    data = Table(title="Data versions")
    for col in ("role", "name", "rows", "columns", "sha256", "location"):
        data.add_column(col)
    for v in r.data_versions:
        data.add_row(
            v.role, v.name, f"{v.rows:,}", str(v.columns), v.sha256[:16] + "…", v.location or ""
        )
    console.print(data)
    if r.timings:
        console.print(
            "  timings: " + ", ".join(f"{k} {v:.2f}s" for k, v in r.timings.items()),
            soft_wrap=True,
        )
    for k, v in r.artifacts.items():
        console.print(f"  {k}: {v}", soft_wrap=True, markup=False)


@app.command("compare")
@handle_errors
def compare(
    run_a: Annotated[str, typer.Argument(help="The first run (id or prefix).")],
    run_b: Annotated[str, typer.Argument(help="The second run (id or prefix).")],
    registry: RegistryOpt = None,
    project_dir: ProjectOpt = Path("."),
    json_out: JsonOpt = False,
) -> None:
    """Two runs side by side: what changed in parameters, code, packages, metrics and data."""
    from rich.table import Table

    from civicml.tracking import compare_runs

    with open_store(registry, project_dir) as store:
        a, b = store.get_run(run_a), store.get_run(run_b)
    doc = compare_runs(a, b)
    if json_out:
        emit_json(doc)
        return
    table = Table(title=f"Run {a.short_id} vs {b.short_id}")
    table.add_column("")
    table.add_column(a.short_id)
    table.add_column(b.short_id)
    table.add_column("change", justify="right")
    for key, (x, y) in doc["runs"].items():
        if key != "id":
            table.add_row(key, _fmt(x), _fmt(y), "" if x == y else "changed")
    for key, (x, y) in doc["params"].items():
        table.add_row(f"param {key}", _fmt(x), _fmt(y), "changed")
    for key, (x, y) in doc["packages"].items():
        table.add_row(f"package {key}", _fmt(x), _fmt(y), "changed")
    for key, (x, y, d) in doc["metrics"].items():
        table.add_row(key, _fmt(x), _fmt(y), "" if d is None else f"{d:+.4f}")
    for t in doc["data"]["tables"]:
        rows = t["rows"]
        same = t.get("same_content")
        table.add_row(
            f"data {t['role']} {t['name']}",
            _fmt(rows[0]),
            _fmt(rows[1]),
            "same content" if same else ("only in one run" if "only_in" in t else "changed"),
        )
    console.print(table)


@app.command("export")
@handle_errors
def export(
    mlflow: Annotated[
        str, typer.Option("--mlflow", help="MLflow tracking URI, e.g. file:///path/mlruns.")
    ],
    runs: Annotated[
        list[str] | None, typer.Argument(help="Run ids to export (default: the newest --limit).")
    ] = None,
    project: Annotated[str | None, typer.Option("--project", help="Only this project.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many runs.")] = 100,
    experiment: Annotated[
        str | None, typer.Option("--experiment", help="MLflow experiment (default: per project).")
    ] = None,
    registry: RegistryOpt = None,
    project_dir: ProjectOpt = Path("."),
    json_out: JsonOpt = False,
) -> None:
    """Write runs (parameters, metrics, artifacts) to an MLflow tracking store."""
    from civicml.tracking import export_to_mlflow

    with open_store(registry, project_dir) as store:
        chosen = (
            [store.get_run(r) for r in runs]
            if runs
            else store.list_runs(project=project, limit=limit)
        )
    done = export_to_mlflow(chosen, mlflow, experiment=experiment)
    if json_out:
        emit_json(done.to_dict())
        return
    console.print(done.summary(), soft_wrap=True, markup=False)
    for label, ids in (("exported", done.exported), ("skipped, already there", done.skipped)):
        for run_id, mlflow_id in ids.items():
            console.print(
                f"  {run_id[:8]} -> MLflow run {mlflow_id} ({label})", soft_wrap=True, markup=False
            )
