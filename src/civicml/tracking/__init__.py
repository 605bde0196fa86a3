"""Experiment tracking: every ``civicml train`` / ``run`` / ``pipeline run`` recorded in the
registry's database, compared, and exported to MLflow."""

from civicml.tracking._compare import compare_runs, diff_data, diff_versions
from civicml.tracking._mlflow import MlflowExport, export_to_mlflow
from civicml.tracking._records import RUN_KINDS, RUN_STATUSES, Run
from civicml.tracking._sql import SQLRunStore
from civicml.tracking._store import RUN_FIELDS, RunStore
from civicml.tracking._tracker import (
    RunTracker,
    default_runs_uri,
    jsonable,
    open_runs,
    track_run,
)

__all__ = [
    "RUN_FIELDS",
    "RUN_KINDS",
    "RUN_STATUSES",
    "MlflowExport",
    "Run",
    "RunStore",
    "RunTracker",
    "SQLRunStore",
    "compare_runs",
    "default_runs_uri",
    "diff_data",
    "diff_versions",
    "export_to_mlflow",
    "jsonable",
    "open_runs",
    "track_run",
]
