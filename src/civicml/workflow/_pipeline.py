"""``civicml pipeline run``: ETL → train → report → register as one idempotent, resumable job.

Made for cron or a CI schedule:

* **idempotent** — the job's fingerprint is the sha256 of the spec and every source's content
  hash; when the state file under the output folder says every step finished for that
  fingerprint, the job does nothing and says so;
* **resumable** — each step's completion is written to ``pipeline_state.json`` (atomically,
  by rename) as soon as it finishes; after a crash the next run starts at the first unfinished
  step. A changed spec or changed data gives a new fingerprint and a fresh start;
* **exclusive** — a non-blocking ``fcntl.flock`` on ``.civicml/locks/pipeline-<name>.lock`` in
  the project folder: a second schedule for the same project stops at once with exit code 2.
  The kernel drops the lock when its process dies, so a stale lock file never blocks.

Each job that does work is a recorded run (kind ``pipeline``) in the registry's database.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from civicml._errors import ConflictError
from civicml._files import create_private_dir, make_private
from civicml._text import guard_csv_cells
from civicml.spec import ProjectSpec
from civicml.workflow._recording import start_tracking
from civicml.workflow._training_job import run_training

__all__ = [
    "PIPELINE_STEPS",
    "STATE_FILE",
    "PipelineOutcome",
    "pipeline_fingerprint",
    "project_lock",
    "run_pipeline",
]

#: The steps, in order.
PIPELINE_STEPS: tuple[str, ...] = ("etl", "train", "report", "register")
#: The state file's name under the output folder.
STATE_FILE = "pipeline_state.json"
_STATE_VERSION = 1


@dataclass
class PipelineOutcome:
    """What a pipeline job did."""

    out_dir: Path
    fingerprint: str
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    run_id: str | None = None
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def nothing_to_do(self) -> bool:
        """True when every step had already finished for these inputs."""
        return not self.ran

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "out_dir": str(self.out_dir),
            "fingerprint": self.fingerprint,
            "ran": self.ran,
            "skipped": self.skipped,
            "nothing_to_do": self.nothing_to_do,
            "run_id": self.run_id,
            "steps": self.state.get("steps", {}),
        }


def pipeline_fingerprint(spec: ProjectSpec, source_hashes: dict[str, str]) -> str:
    """sha256 of the spec (as JSON) and each source's content hash.

    >>> spec = ProjectSpec(name="demo", data={"path": "d.csv"}, target="y")
    >>> pipeline_fingerprint(spec, {"data": "a" * 64}) == pipeline_fingerprint(
    ...     spec, {"data": "b" * 64})
    False
    """
    doc = {"spec": spec.model_dump(mode="json"), "sources": dict(sorted(source_hashes.items()))}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@contextmanager
def project_lock(spec: ProjectSpec) -> Iterator[Path]:
    """Hold the project's pipeline lock, or raise :class:`ConflictError` (exit code 2).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     spec = ProjectSpec(name="demo", data={"path": "d.csv"}, target="y", base_dir=d)
    ...     with project_lock(spec) as path:
    ...         try:
    ...             with project_lock(spec):
    ...                 pass
    ...         except ConflictError as exc:
    ...             print("is running" in str(exc))
    True
    """
    import fcntl

    folder = Path(spec.base_dir).resolve() / ".civicml" / "locks"
    create_private_dir(folder)
    path = folder / f"pipeline-{spec.name}.lock"
    fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the block
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            raise ConflictError.build(
                f"Another 'civicml pipeline run' for project {spec.name!r} is running "
                f"(lock {path}, held by {holder})",
                fix="Wait for it to finish; schedules of the same project never overlap",
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} since {_now()}\n")
        fh.flush()
        yield path
    finally:
        fh.close()  # releases the lock


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()


def _read_state(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) and doc.get("version") == _STATE_VERSION else {}


def _write_json(path: Path, doc: Any) -> None:
    """Write JSON atomically: a temporary file in the same folder, fsynced, then renamed."""
    create_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2, sort_keys=True, default=str)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run_pipeline(
    spec: ProjectSpec,
    out_dir: str | Path,
    *,
    register_as: str | None = None,
    registry_uri: str | None = None,
    pdf: bool = False,
    on_event: Callable[..., None] | None = None,
) -> PipelineOutcome:
    """Run ETL → train → report → register, resuming from the last finished step.

    Outputs under ``out_dir``: ``etl.json`` (data versions and the step log), ``bundle/``,
    ``leaderboard.csv``, ``contract.json``, ``report/`` and ``pipeline_state.json``. The
    ``register`` step runs only when ``register_as`` names who registers.

    Raises
    ------
    ConflictError
        Another pipeline job holds this project's lock.
    """
    from civicml.data import run_etl

    emit = on_event or (lambda *a, **k: None)
    out = create_private_dir(out_dir)
    state_path = out / STATE_FILE
    with project_lock(spec):
        emit("stage", name="etl")
        etl = run_etl(spec)
        fp = pipeline_fingerprint(spec, {v.name: v.sha256 for v in etl.sources})
        state = _read_state(state_path)
        if state.get("fingerprint") != fp:
            state = {
                "version": _STATE_VERSION,
                "fingerprint": fp,
                "project": spec.name,
                "steps": {},
            }
        done: dict[str, Any] = state["steps"]
        wanted = [s for s in PIPELINE_STEPS if s != "register" or register_as]
        todo = [s for s in wanted if s not in done]
        outcome = PipelineOutcome(out, fp, skipped=[s for s in wanted if s in done], state=state)
        if not todo:
            emit("nothing_to_do", fingerprint=fp)
            return outcome

        def finished(step: str, **details: Any) -> None:
            done[step] = {"finished_at": _now(), **details}
            _write_json(state_path, state)
            outcome.ran.append(step)
            emit("step_done", step=step)

        with start_tracking(spec, "pipeline", registry_uri, actor=register_as) as tracker:
            outcome.run_id = tracker.id
            tracker.add_data_versions(etl.data_versions())
            tracker.set(params={"pipeline_resumed_at": todo[0], "fingerprint": fp})
            job = _Job(
                spec,
                out,
                etl,
                tracker,
                register_as,
                registry_uri,
                pdf,
                tracker.wrap(on_event),
                finished,
            )
            for step in todo:
                _STEPS[step](job)
            tracker.set(artifacts={"state": str(state_path)})
        return outcome


@dataclass
class _Job:
    spec: ProjectSpec
    out: Path
    etl: Any
    tracker: Any
    register_as: str | None
    registry_uri: str | None
    pdf: bool
    on_event: Callable[..., None]
    finished: Callable[..., None]


def _step_etl(job: _Job) -> None:
    _write_json(job.out / "etl.json", job.etl.to_dict())
    job.finished("etl", table_sha256=job.etl.table.sha256, rows=job.etl.table.rows)


def _step_train(job: _Job) -> None:
    training = run_training(
        job.spec,
        job.out / "bundle",
        overwrite=True,
        on_event=job.on_event,
        track=False,
        tracker=job.tracker,
        etl=job.etl,
    )
    guard_csv_cells(training.result.leaderboard.to_frame()).to_csv(
        job.out / "leaderboard.csv", index=False
    )
    make_private(job.out / "leaderboard.csv")
    training.contract.save(job.out / "contract.json")
    job.finished(
        "train",
        bundle=str(training.bundle.path),
        bundle_sha256=training.bundle.digest,
        best=training.result.best,
    )


def _step_report(job: _Job) -> None:
    from civicml.report import write_report

    job.on_event("stage", name="report")
    report = write_report(job.out / "bundle", job.out / "report", pdf=job.pdf)
    job.tracker.set(
        artifacts={
            "report": str(report.html),
            "model_card": str(report.model_card),
            "atrs_json": str(report.atrs_json),
        }
    )
    job.finished("report", html=str(report.html))


def _step_register(job: _Job) -> None:
    from civicml.registry import open_registry

    job.on_event("stage", name="register")
    assert job.register_as is not None
    with open_registry(job.registry_uri, project_dir=job.spec.base_dir) as registry:
        v = registry.register(
            job.out / "bundle", job.spec.name, actor=job.register_as, reason="civicml pipeline run"
        )
    job.tracker.set(artifacts={"registered": f"{v.name} version {v.version}"})
    job.finished("register", model=v.name, version=v.version)


_STEPS: dict[str, Callable[[_Job], None]] = {
    "etl": _step_etl,
    "train": _step_train,
    "report": _step_report,
    "register": _step_register,
}
