"""Pin civicml.tracking's public names so the API never changes by accident."""

from __future__ import annotations

import civicml.tracking


def test_public_names() -> None:
    assert civicml.tracking.__all__ == [
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
    for name in civicml.tracking.__all__:
        assert getattr(civicml.tracking, name) is not None
