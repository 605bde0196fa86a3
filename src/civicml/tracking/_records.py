"""What a run is: one recorded ``civicml train`` / ``run`` / ``pipeline run``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from civicml.data import DataVersion

__all__ = ["RUN_KINDS", "RUN_STATUSES", "Run", "flatten"]

#: A run's life: created ``running``; ends ``finished`` or ``failed`` (with the error).
RUN_STATUSES: tuple[str, ...] = ("running", "finished", "failed")

#: The jobs that record runs.
RUN_KINDS: tuple[str, ...] = ("train", "run", "pipeline")


@dataclass
class Run:
    """One training run and everything needed to compare or reproduce it.

    Attributes
    ----------
    id : str
        32 hex characters; any unique prefix (8+ shown) names it on the command line.
    project : str
        The spec's ``name``.
    kind : str
        One of :data:`RUN_KINDS`.
    status : str
        One of :data:`RUN_STATUSES`.
    spec : dict
        The validated civicml.yaml, as JSON.
    params : dict
        The settings that shaped the search (task, metric, budget, seed, folds, costs, the
        chosen candidate and its hyperparameters).
    metrics : dict
        Flat ``name -> number``: ``test_*`` held-out metrics and ``cv_*`` of the winner.
    leaderboard : dict
        The leaderboard document (as in the bundle's ``leaderboard.json``).
    timings : dict
        Seconds per stage (load, check, train, assess, ...).
    energy : dict or None
        Filled by the energy-measurement work; ``None`` until then.
    artifacts : dict
        Output name -> path (bundle, report, model card, ...).
    error : str or None
        The one-line error of a failed run.
    data_versions : list of DataVersion
        Each source's fingerprint, then the training table's.
    heartbeat_at : str or None
        When the run's process last said it was alive (every ~30 s while ``running``).
    host, pid : str or None, int or None
        The machine and process recording the run; a ``running`` run whose pid is gone on this
        host, or whose heartbeat is stale, is shown as ``failed``.
    """

    id: str
    project: str
    kind: str
    status: str
    started_at: str
    finished_at: str | None = None
    seconds: float | None = None
    actor: str | None = None
    git_commit: str | None = None
    spec: dict[str, Any] = field(default_factory=dict)
    packages: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    leaderboard: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    energy: dict[str, Any] | None = None
    artifacts: dict[str, str] = field(default_factory=dict)
    bundle_digest: str | None = None
    error: str | None = None
    data_versions: list[DataVersion] = field(default_factory=list)
    heartbeat_at: str | None = None
    host: str | None = None
    pid: int | None = None

    @property
    def short_id(self) -> str:
        """The first 8 characters of the id, as shown in tables."""
        return self.id[:8]

    def table(self) -> DataVersion | None:
        """The training table's data version, if recorded."""
        return next((v for v in self.data_versions if v.role == "table"), None)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (``data_versions`` as mappings)."""
        out = asdict(self)
        out["data_versions"] = [v.to_dict() for v in self.data_versions]
        return out


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested parameters as one level of dotted keys (for comparing runs and MLflow export).

    >>> flatten({"a": 1, "b": {"c": 2, "d": {"e": 3}}})
    {'a': 1, 'b.c': 2, 'b.d.e': 3}
    """
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out
