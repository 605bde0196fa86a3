"""The runs store interface (Optuna-style): every backend passes one shared test suite.

Constructors do no I/O; :meth:`RunStore.connect` opens and migrates.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

from civicml.data import DataVersion
from civicml.tracking._records import Run

__all__ = ["RUN_FIELDS", "RunStore"]

#: The fields :meth:`RunStore.update_run` may change.
RUN_FIELDS: tuple[str, ...] = (
    "status",
    "finished_at",
    "seconds",
    "params",
    "metrics",
    "leaderboard",
    "timings",
    "energy",
    "artifacts",
    "bundle_digest",
    "error",
)


class RunStore(ABC):
    """Where runs live. The SQL implementation shares the registry's database."""

    @abstractmethod
    def connect(self) -> None:
        """Open connections and migrate the schema; idempotent."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    def __enter__(self) -> RunStore:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abstractmethod
    def create_run(self, run: Run) -> None:
        """Insert a new run with its data versions (raises ConflictError if the id exists)."""

    @abstractmethod
    def update_run(
        self,
        run_id: str,
        changes: Mapping[str, Any],
        *,
        data_versions: Sequence[DataVersion] = (),
    ) -> Run:
        """Change fields of :data:`RUN_FIELDS` and append data versions, atomically."""

    @abstractmethod
    def heartbeat(self, run_id: str) -> None:
        """Note that a ``running`` run's process is alive now (``heartbeat_at``)."""

    @abstractmethod
    def get_run(self, ref: str) -> Run:
        """A run by id or unique id prefix (NotFoundError / ConflictError when ambiguous)."""

    @abstractmethod
    def list_runs(
        self,
        *,
        project: str | None = None,
        status: str | None = None,
        limit: int = 50,
    ) -> list[Run]:
        """Runs newest first (data versions included); a dead ``running`` run reads as
        ``failed``."""
