"""Export runs to an MLflow tracking store, for teams who already read MLflow's UI.

Each civicml run becomes one MLflow run in the experiment named after its project: parameters
(flattened, ``params.*`` and ``data.*`` hashes), metrics, tags (``civicml.run_id``, git commit,
kind, status) and artifacts (``run.json``, ``leaderboard.json``, ``data_versions.json``, the
spec, and the report files and model card when they exist on disk). Exporting again skips runs
already exported (matched by the ``civicml.run_id`` tag). Needs ``mlflow`` (or
``mlflow-skinny``), imported only here.
"""

from __future__ import annotations

import datetime as _dt
import json
import tempfile
from collections.abc import Iterable
from pathlib import Path

from civicml._errors import SpecError
from civicml.tracking._records import Run, flatten

__all__ = ["export_to_mlflow"]

_REPORT_FILES = ("report", "model_card", "atrs_json")


def _ms(stamp: str | None) -> int | None:
    if not stamp:
        return None
    when = _dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return int(when.timestamp() * 1000)


def export_to_mlflow(
    runs: Iterable[Run], tracking_uri: str, *, experiment: str | None = None
) -> dict[str, str]:
    """Write runs to the MLflow tracking store at ``tracking_uri``.

    Parameters
    ----------
    runs : iterable of Run
        The runs to export (e.g. ``store.list_runs()``).
    tracking_uri : str
        ``file:///PATH/mlruns``, ``http://HOST:5000``, ``sqlite:///mlflow.db``, ...
    experiment : str, optional
        One experiment for all runs; by default each run goes to the experiment named after
        its project (``civicml/<project>``).

    Returns
    -------
    dict of str to str
        civicml run id -> MLflow run id (new or already there).
    """
    try:
        from mlflow.entities import Metric, Param, RunTag
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise SpecError.build(
            "Exporting to MLflow needs the 'mlflow' package",
            fix="Install it with 'pip install mlflow-skinny' (or 'mlflow')",
        ) from None
    client = MlflowClient(tracking_uri=tracking_uri)
    exported: dict[str, str] = {}
    for run in runs:
        name = experiment or f"civicml/{run.project}"
        exp = client.get_experiment_by_name(name)
        exp_id = exp.experiment_id if exp is not None else client.create_experiment(name)
        found = client.search_runs(
            [exp_id], filter_string=f"tags.`civicml.run_id` = '{run.id}'", max_results=1
        )
        if found:
            exported[run.id] = found[0].info.run_id
            continue
        tags = {
            "civicml.run_id": run.id,
            "civicml.kind": run.kind,
            "civicml.status": run.status,
            "mlflow.runName": f"{run.project}-{run.short_id}",
        }
        if run.git_commit:
            tags["mlflow.source.git.commit"] = run.git_commit
        if run.error:
            tags["civicml.error"] = run.error[:5000]
        created = client.create_run(exp_id, start_time=_ms(run.started_at), tags=tags)
        rid = created.info.run_id
        params = {f"params.{k}": v for k, v in flatten(run.params).items()}
        for v in run.data_versions:
            params[f"data.{v.role}.{v.name}.sha256"] = v.sha256
            params[f"data.{v.role}.{v.name}.rows"] = v.rows
        for k, pkg_version in run.packages.items():
            params[f"package.{k}"] = pkg_version
        stamp = _ms(run.finished_at or run.started_at) or 0
        metrics = [
            Metric(k, float(v), stamp, 0)
            for k, v in run.metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        ]
        metrics += [
            Metric(f"seconds.{k}", float(v), stamp, 0)
            for k, v in run.timings.items()
            if isinstance(v, (int, float))
        ]
        client.log_batch(
            rid,
            metrics=metrics,
            params=[Param(k[:250], str(v)[:6000]) for k, v in params.items()],
            tags=[RunTag("civicml.project", run.project)],
        )
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            docs = {
                "run.json": {k: v for k, v in run.to_dict().items() if k != "leaderboard"},
                "leaderboard.json": run.leaderboard,
                "data_versions.json": [v.to_dict() for v in run.data_versions],
                "spec.json": run.spec,
            }
            for fname, doc in docs.items():
                (folder / fname).write_text(json.dumps(doc, indent=2, default=str), "utf-8")
            client.log_artifacts(rid, str(folder))
        for key in _REPORT_FILES:
            path = run.artifacts.get(key)
            if path and Path(path).is_file():
                client.log_artifact(rid, path, artifact_path="report")
        status = {"finished": "FINISHED", "failed": "FAILED"}.get(run.status, "RUNNING")
        if status != "RUNNING":
            client.set_terminated(rid, status=status, end_time=_ms(run.finished_at))
        exported[run.id] = rid
    return exported
