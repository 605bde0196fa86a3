"""``civicml run``: train and save the bundle, write the reports, register the new version."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from civicml._files import create_private_dir, make_private, write_private_text
from civicml._text import guard_csv_cells
from civicml.spec import ProjectSpec
from civicml.workflow._recording import TrainingOutcome, start_tracking
from civicml.workflow._training_job import run_training

__all__ = ["ProjectOutcome", "run_project"]


@dataclass
class ProjectOutcome:
    """Everything ``civicml run`` produced, with where each output lies."""

    training: TrainingOutcome
    out_dir: Path
    report: Any = None  # civicml.report.ReportPaths
    registered: Any = None  # civicml.registry version record, when registered
    #: each source's profile and dataset card: source name -> folder
    profiles: dict[str, Path] = field(default_factory=dict)

    def outputs(self) -> dict[str, str]:
        """Output name → path, for printing."""
        out = {
            "bundle": str(self.training.bundle.path),
            "leaderboard": str(self.out_dir / "leaderboard.csv"),
            "contract": str(self.out_dir / "contract.json"),
        }
        out.update({f"data_{k}": str(v) for k, v in self.profiles.items()})
        return {**out, **published_outputs(self.registered, self.report)}


def published_outputs(registered: Any, report: Any) -> dict[str, str]:
    """The registered version and the report files, as ``civicml run`` lists them."""
    out: dict[str, str] = {}
    if registered is not None:
        out["registered"] = f"{registered.name} version {registered.version} (not promoted)"
    if report is not None:
        out["report"] = str(report.html)
        if report.pdf is not None:
            out["report_pdf"] = str(report.pdf)
        out["model_card"] = str(report.model_card)
        out["atrs_json"] = str(report.atrs_json)
        out["atrs_html"] = str(report.atrs_html)
    return out


def run_project(
    spec: ProjectSpec,
    out_dir: str | Path,
    *,
    overwrite: bool = True,
    pdf: bool = True,
    register_as: str | None = None,
    registry_uri: str | None = None,
    on_event: Callable[..., None] | None = None,
    track: bool = True,
    resume: bool = False,
) -> ProjectOutcome:
    """The main job: validate → train → save the bundle → write the reports → register.

    Outputs under ``out_dir``: ``bundle/``, ``leaderboard.csv``, ``contract.json`` and
    ``report/`` (report.html, report.pdf, model_card.md, atrs.json, atrs.html). When
    ``register_as`` names a person, the bundle is registered as a new version of the model
    ``spec.name`` (not promoted) in the registry at ``registry_uri``, by default the one under
    the spec's folder (``.civicml/``).

    The whole job is one recorded run (kind ``run``) in that registry's database, finished
    with its outputs or failed with the error (see :func:`run_training`). ``resume``
    continues a search on an engine from its checkpoint in ``out_dir`` (``--resume``).
    """
    if not track:
        return _project(
            spec, out_dir, overwrite, pdf, register_as, registry_uri, on_event, None, resume
        )
    with start_tracking(spec, "run", registry_uri, actor=register_as) as tracker:
        return _project(
            spec, out_dir, overwrite, pdf, register_as, registry_uri, on_event, tracker, resume
        )


def _project(
    spec: ProjectSpec,
    out_dir: str | Path,
    overwrite: bool,
    pdf: bool,
    register_as: str | None,
    registry_uri: str | None,
    on_event: Callable[..., None] | None,
    tracker: Any,
    resume: bool = False,
) -> ProjectOutcome:
    from civicml.report import write_report

    if tracker is not None:
        on_event = tracker.wrap(on_event)
    emit = on_event or (lambda *a, **k: None)
    out = Path(out_dir)
    training = run_training(
        spec,
        out / "bundle",
        overwrite=overwrite,
        on_event=on_event,
        track=False,
        tracker=tracker,
        resume=resume,
    )
    guard_csv_cells(training.result.leaderboard.to_frame()).to_csv(
        out / "leaderboard.csv", index=False
    )
    make_private(out / "leaderboard.csv")
    training.contract.save(out / "contract.json")
    # the dataset cards first: the report links the ones that exist beside it
    profiles = profile_sources(spec, out / "report" / "data", emit)
    emit("stage", name="report")
    report = write_report(training.bundle.path, out / "report", pdf=pdf)
    registered = None
    if register_as:
        from civicml.registry import open_registry

        emit("stage", name="register")
        with open_registry(registry_uri, project_dir=spec.base_dir) as registry:
            # owner, intended use and checks are read from the bundle's spec.json/checks.json
            registered = registry.register(
                training.bundle.path, spec.name, actor=register_as, reason="civicml run"
            )
    outcome = ProjectOutcome(
        training=training, out_dir=out, report=report, registered=registered, profiles=profiles
    )
    if tracker is not None:
        tracker.set(artifacts=outcome.outputs())
    return outcome


def profile_sources(spec: ProjectSpec, folder: Path, emit: Callable[..., None]) -> dict[str, Path]:
    """Each file source's dataset card and profile (``profile.json``, ``profile.html``,
    ``dataset_card.md``, ``dataset_card.json``) under ``folder/<source>/``, with group counts for
    the spec's protected characteristics; a source that cannot be profiled (a SQL
    query, a format DuckDB does not read) is skipped with a warning, never failing the run."""
    import json

    from civicml._errors import CivicMLError
    from civicml.data import dataset_card, dataset_card_data, profile_data
    from civicml.report import write_profile_page

    sources = dict(spec.sources or {}) or ({"data": spec.data} if spec.data else {})
    done: dict[str, Path] = {}
    for name, source in sources.items():
        path = getattr(source, "path", None)
        if not path or getattr(source, "format", "auto") not in ("auto", "csv", "parquet"):
            continue
        emit("stage", name=f"profile {name}")
        target = spec.target if len(sources) == 1 else None
        try:
            profile = profile_data(
                Path(spec.base_dir) / path, target=target, protected=dict(spec.protected or {})
            )
        except CivicMLError as exc:
            emit("warning", message=f"No dataset card for source {name!r}: {exc}")
            continue
        out = create_private_dir(folder / name)
        write_private_text(out / "profile.json", json.dumps(profile, indent=2, default=str))
        write_profile_page(profile, out / "profile.html")
        write_private_text(out / "dataset_card.md", dataset_card(profile, title=name))
        card = dataset_card_data(profile, title=name)
        write_private_text(out / "dataset_card.json", json.dumps(card, indent=2, default=str))
        done[name] = out
    return done
