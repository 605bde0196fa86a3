"""Export runs to an MLflow tracking store, for teams who already read MLflow's UI.

Each civicml run becomes one MLflow run in the experiment named after its project: parameters
(flattened, ``params.*`` and ``data.*`` hashes), metrics, tags (``civicml.run_id``, git commit,
kind, status) and artifacts (``run.json``, ``leaderboard.json``, ``data_versions.json``, the
spec, and the report files and model card when they exist on disk). Exporting again skips runs
already exported (matched by the ``civicml.run_id`` tag) and says so: the result keeps what was
written apart from what was skipped; a run exported while ``running`` that has ended since is
exported again and its old MLflow run deleted. Needs ``mlflow`` (or ``mlflow-skinny``), imported
only here.

MLflow 3 refuses a ``file://`` store (its file backend is in maintenance mode) unless
``MLFLOW_ALLOW_FILE_STORE=true``; naming a ``file://`` URI (or a plain folder) is that choice, so
the export sets the variable for its own duration and restores it afterwards.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from civicml._errors import SpecError
from civicml.tracking._records import Run, flatten

__all__ = ["MlflowExport", "export_to_mlflow", "is_file_store"]

_REPORT_FILES = ("report", "model_card", "atrs_json")
_ALLOW_FILE_STORE = "MLFLOW_ALLOW_FILE_STORE"


@dataclass(frozen=True)
class MlflowExport:
    """What one export did.

    Attributes
    ----------
    tracking_uri : str
        Where the runs went.
    exported : dict of str to str
        civicml run id -> the MLflow run id written now.
    skipped : dict of str to str
        civicml run id -> the MLflow run id already there (found by its ``civicml.run_id``
        tag), so nothing was written for it.
    replaced : dict of str to str
        civicml run id -> the MLflow run deleted because it was exported while ``running`` and
        the run has ended since (its new MLflow run is in ``exported``).

    >>> done = MlflowExport("sqlite:///m.db", exported={"a" * 32: "m1"}, skipped={"b" * 32: "m0"})
    >>> done.summary()
    'Exported 1 run(s) to sqlite:///m.db; skipped 1 already there (matched by the civicml.run_id tag).'
    >>> sorted(done.run_ids().values())
    ['m0', 'm1']
    """

    tracking_uri: str
    exported: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    replaced: dict[str, str] = field(default_factory=dict)

    def run_ids(self) -> dict[str, str]:
        """Every civicml run id -> its MLflow run id, written now or before."""
        return {**self.skipped, **self.exported}

    def summary(self) -> str:
        """One line: how many were written and how many skipped, and why."""
        text = f"Exported {len(self.exported)} run(s) to {self.tracking_uri}"
        if self.replaced:
            text += f" ({len(self.replaced)} replacing the export of a run that has ended since)"
        if self.skipped:
            text += (
                f"; skipped {len(self.skipped)} already there (matched by the civicml.run_id tag)"
            )
        return text + "."

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {
            "tracking_uri": self.tracking_uri,
            "exported": dict(self.exported),
            "skipped": dict(self.skipped),
            "replaced": dict(self.replaced),
            "skipped_reason": "already in the MLflow store (matched by the civicml.run_id tag)",
        }


def is_file_store(tracking_uri: str) -> bool:
    """Whether MLflow reads ``tracking_uri`` as its file store (``file:`` or a plain path).

    >>> is_file_store("file:///srv/mlruns"), is_file_store("mlruns")
    (True, True)
    >>> is_file_store("sqlite:///mlflow.db"), is_file_store("http://mlflow:5000")
    (False, False)
    """
    scheme = urlsplit(tracking_uri).scheme.lower()
    return scheme in ("", "file") or len(scheme) == 1  # a Windows drive letter


@contextmanager
def _file_store_allowed(tracking_uri: str) -> Iterator[None]:
    """Set ``MLFLOW_ALLOW_FILE_STORE=true`` around the block when the URI is a file store."""
    if not is_file_store(tracking_uri):
        yield
        return
    before = os.environ.get(_ALLOW_FILE_STORE)
    os.environ[_ALLOW_FILE_STORE] = "true"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(_ALLOW_FILE_STORE, None)
        else:
            os.environ[_ALLOW_FILE_STORE] = before


def _ms(stamp: str | None) -> int | None:
    if not stamp:
        return None
    when = _dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return int(when.timestamp() * 1000)


def export_to_mlflow(
    runs: Iterable[Run], tracking_uri: str, *, experiment: str | None = None
) -> MlflowExport:
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
    MlflowExport
        The runs written now and the runs skipped because they were already there.
    """
    try:
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise SpecError.build(
            "Exporting to MLflow needs the 'mlflow' package",
            fix="Install it with 'pip install mlflow-skinny' (or 'mlflow')",
        ) from None
    exported: dict[str, str] = {}
    skipped: dict[str, str] = {}
    replaced: dict[str, str] = {}
    with _file_store_allowed(tracking_uri):
        try:
            client = MlflowClient(tracking_uri=tracking_uri)
            experiments: dict[str, str] = {}
            for run in runs:
                name = experiment or f"civicml/{run.project}"
                if name not in experiments:
                    exp = client.get_experiment_by_name(name)
                    experiments[name] = (
                        exp.experiment_id if exp is not None else client.create_experiment(name)
                    )
                exp_id = experiments[name]
                found = client.search_runs(
                    [exp_id], filter_string=f"tags.`civicml.run_id` = '{run.id}'", max_results=1
                )
                was = found[0].data.tags.get("civicml.status") if found else None
                if found and not (was == "running" and run.status != "running"):
                    skipped[run.id] = found[0].info.run_id
                    continue
                if found:  # exported while running, ended since: replace it
                    client.delete_run(found[0].info.run_id)
                    replaced[run.id] = found[0].info.run_id
                exported[run.id] = _export_one(client, exp_id, run)
        except (MlflowException, OSError) as exc:
            first = str(getattr(exc, "message", None) or exc).strip()
            raise SpecError.build(
                f"MLflow refused the export to {tracking_uri}",
                got=(first.splitlines() or [""])[0][:300],
                fix=(
                    "Check the --mlflow tracking URI (file:///PATH/mlruns, sqlite:///mlflow.db "
                    "or http://HOST:5000) and that the store is reachable and writable"
                ),
            ) from None
    return MlflowExport(tracking_uri, exported=exported, skipped=skipped, replaced=replaced)


def _export_one(client: Any, exp_id: str, run: Run) -> str:
    """Write one run (tags, params, metrics, artifacts, end status); its MLflow run id."""
    from mlflow.entities import Metric, Param, RunTag

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
    rid = str(created.info.run_id)
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
    return rid
