"""``civicml run`` for a bandit project: create the trial, import its log, evaluate, report.

validate the spec and the decision log → create (or reuse) the bandit → import the log →
off-policy evaluation of the candidates → save the bundle → write the report, model card and
ATRS record → register the bundle as a new, unpromoted version. Every input check runs before
anything is written, so bad input leaves the output folder and the bandit store untouched.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from civicml._errors import BundleError, ConflictError, DataError, NotFoundError
from civicml._files import create_private_dir, write_private_text
from civicml.bandits import (
    BanditProject,
    BanditStore,
    display_uri,
    load_bandit_project,
    read_decision_log,
)
from civicml.workflow._recording import sign_new_bundle

__all__ = ["BanditOutcome", "run_bandit", "write_bandit_report"]


@dataclass
class BanditOutcome:
    """Everything ``civicml run`` produced for a bandit, with where each output lies."""

    project: BanditProject
    out_dir: Path
    bundle: Any  # civicml.bundle.Bundle
    report_data: dict[str, Any]
    checks: list[dict[str, Any]]
    store_uri: str
    imported: int = 0
    report: Any = None  # civicml.report.ReportPaths
    registered: Any = None
    run_id: str | None = None
    warnings: list[str] = field(default_factory=list)

    def outputs(self) -> dict[str, str]:
        """Output name → path, for printing."""
        from civicml.workflow._project_job import published_outputs

        out = {"bundle": str(self.bundle.path), "bandit_store": display_uri(self.store_uri)}
        return {**out, **published_outputs(self.registered, self.report)}

    def summary(self) -> dict[str, Any]:
        """The machine-readable summary ``civicml run --json`` prints."""
        r = self.report_data
        return {
            "bundle": str(self.bundle.path),
            "bundle_sha256": self.bundle.digest,
            "task": "bandit",
            "name": r["name"],
            "policy_version": r["policy_version"],
            "decisions": r["decisions"],
            "rewarded": r["rewarded"],
            "imported": self.imported,
            "arms": r["arms"],
            "ope": r["ope"],
            "ope_skipped": r["ope_skipped"],
            "fairness": r["fairness"],
            "checks": self.checks,
            "warnings": self.warnings,
        }


def run_bandit(
    project: BanditProject | str | Path,
    out_dir: str | Path,
    *,
    overwrite: bool = True,
    pdf: bool = True,
    register_as: str | None = None,
    registry_uri: str | None = None,
    on_event: Callable[..., None] | None = None,
    track: bool = True,
) -> BanditOutcome:
    """Run a bandit project: the bandit job behind ``civicml run`` on a ``bandit:`` spec.

    Parameters
    ----------
    project : BanditProject or path
        The project, or the YAML file with its ``bandit:`` section.
    out_dir : path
        Gets ``bundle/`` and ``report/`` (report.html, report.pdf, model_card.md, atrs.json,
        atrs.html).
    overwrite : bool
        Replace an earlier bundle in ``out_dir``.
    pdf : bool
        Also print the report to PDF (a missing engine is a note, not an error).
    register_as : str, optional
        Who registers the bundle as a new, unpromoted version of the model named after the
        bandit, in the registry at ``registry_uri`` (default: under the spec's folder).
    on_event : callable, optional
        Receives ``("stage", name=...)`` events.
    track : bool
        Record the job as a run (kind ``run``) in the registry's database.

    Raises
    ------
    SpecError, DataError, ConflictError, BundleError
        With one clear line; input errors are raised before anything is written.
    """
    if not isinstance(project, BanditProject):
        project = load_bandit_project(project)
    if not track:
        return _run(project, Path(out_dir), overwrite, pdf, register_as, registry_uri, on_event)
    from civicml.tracking import track_run
    from civicml.workflow._recording import git_commit, package_versions

    spec = project.bandit
    with track_run(
        project=spec.name,
        kind="run",
        spec={"bandit": project.model_dump(mode="json", exclude={"base_dir"})},
        uri=registry_uri,
        project_dir=project.base_dir,
        actor=register_as,
        git_commit=git_commit(project.base_dir.resolve()),
        packages=package_versions(),
        params={
            "task": "bandit",
            "policy": spec.policy,
            "min_propensity": spec.min_propensity,
            "seed": spec.seed,
            "candidates": len(project.candidates),
        },
    ) as tracker:
        outcome = _run(
            project,
            Path(out_dir),
            overwrite,
            pdf,
            register_as,
            registry_uri,
            tracker.wrap(on_event),
            tracker.id,
        )
        r = outcome.report_data
        tracker.set(
            metrics={
                "decisions": r["decisions"],
                "rewarded": r["rewarded"],
                "imported": outcome.imported,
                **{f"mean_reward_{a['arm']}": a["mean_reward"] for a in r["arms"]},
            },
            artifacts=outcome.outputs(),
            bundle_digest=outcome.bundle.digest,
        )
        return outcome


def _check_same(record_spec: dict[str, Any], project: BanditProject, uri: str) -> None:
    wanted = project.bandit.model_dump(mode="json")
    changed = sorted(
        k for k in set(wanted) | set(record_spec) if wanted.get(k) != record_spec.get(k)
    )
    if changed:
        raise ConflictError.build(
            f"The bandit {project.name!r} already exists in {display_uri(uri)} with a different "
            f"spec (changed: {changed})",
            fix="Restore those fields, or give the changed trial a new 'name'; to change the "
            "policy of a running trial, list it under 'candidates' and promote it with "
            "'civicml bandits evaluate NAME --promote' once the gate allows",
        )


def _run(
    project: BanditProject,
    out: Path,
    overwrite: bool,
    pdf: bool,
    register_as: str | None,
    registry_uri: str | None,
    on_event: Callable[..., None] | None,
    run_id: str | None = None,
) -> BanditOutcome:
    """validate → import → evaluate → save → report → register (see the module docstring)."""
    from civicml.bandits import open_bandit_store, save_bandit_bundle

    emit = on_event or (lambda *a, **k: None)
    spec = project.bandit
    emit("stage", name="validate")
    inputs = _validate(project, out, overwrite)
    uri = project.store_uri()
    store = open_bandit_store(uri)
    try:
        emit("stage", name="import")
        added = _import(store, project, uri, inputs.rows)
        emit("stage", name="evaluate")
        report = _evaluate(store, project, inputs)
        emit("stage", name="save")
        bundle = save_bandit_bundle(
            store,
            spec.name,
            out / "bundle",
            overwrite=overwrite,
            report=json.loads(json.dumps(report, default=float)),
            lineage=_lineage(project, inputs, added, run_id),
        )
    finally:
        store.close()
    sign_new_bundle(bundle, on_event)

    emit("stage", name="report")
    paths = write_bandit_report(bundle.path, out / "report", pdf=pdf)
    registered = None
    if register_as:
        emit("stage", name="register")
        registered = _register(project, bundle.path, register_as, registry_uri)
    return BanditOutcome(
        project=project,
        out_dir=out,
        bundle=bundle,
        report_data=bundle.read_json("report.json"),
        checks=bundle.read_json("checks.json")["checks"],
        store_uri=uri,
        imported=added,
        report=paths,
        registered=registered,
        run_id=run_id,
    )


@dataclass(frozen=True)
class _Inputs:
    """The checked inputs of a bandit run: the decision log and the candidate policies."""

    log_path: Path | None
    rows: list[dict[str, Any]]
    configs: list[dict[str, Any]]
    policies: list[Any]


def _validate(project: BanditProject, out: Path, overwrite: bool) -> _Inputs:
    """Every input check, before anything is written: the log, the candidates, the bundle."""
    from civicml.bandits import make_policy

    spec = project.bandit
    log_path = project.log_path()
    rows = read_decision_log(log_path, spec) if log_path is not None else []
    configs = [c.config(spec) for c in project.candidates]
    policies = [make_policy(cfg, spec.arms, spec.context) for cfg in configs]
    if (out / "bundle").exists() and not overwrite:
        raise BundleError.build(
            f"{str(out / 'bundle')!r} already exists",
            fix="Choose another output folder, or pass --overwrite to replace it",
        )
    return _Inputs(log_path, rows, configs, policies)


def _import(store: BanditStore, project: BanditProject, uri: str, rows: list[Any]) -> int:
    """Create the bandit (or check the stored one is the same) and import the log's new rows."""
    spec = project.bandit
    try:
        _check_same(store.get_bandit(spec.name).spec, project, uri)
    except NotFoundError:
        store.create_bandit(spec, reason="civicml run")
    return store.import_decisions(spec.name, rows) if rows else 0


def _evaluate(store: BanditStore, project: BanditProject, inputs: _Inputs) -> dict[str, Any]:
    """The bandit's report with each candidate's off-policy gate and allocation fairness."""
    from civicml.bandits import allocation_fairness, bandit_report, evaluate_candidate

    spec, gate = project.bandit, project.gate
    log = store.log(spec.name)
    gates, skipped = [], []
    for cfg, policy in zip(inputs.configs, inputs.policies, strict=True):
        try:
            gates.append(
                evaluate_candidate(
                    log,
                    policy,
                    train_fraction=gate.train_fraction,
                    estimator=gate.estimator,
                    margin=gate.margin,
                    n_boot=gate.n_boot,
                    seed=spec.seed,
                )
            )
        except DataError as exc:
            skipped.append({"policy": cfg, "reason": str(exc)})
    report = bandit_report(store, spec.name, ope=gates)
    report["ope_skipped"] = skipped
    report["gate"] = gate.model_dump(mode="json")
    report["fairness"] = (
        allocation_fairness(store.decisions(spec.name), spec.arms, project.protected)
        if project.protected
        else None
    )
    return report


def _lineage(
    project: BanditProject, inputs: _Inputs, added: int, run_id: str | None
) -> dict[str, Any]:
    """``lineage.json``: when, which run and version, and the decision log's digest."""
    from civicml import __version__

    lineage: dict[str, Any] = {
        "created_at": _dt.datetime.now(_dt.UTC).isoformat(),
        "run_id": run_id,
        "civicml_version": __version__,
        "log": None,
    }
    if inputs.log_path is not None:
        lineage["log"] = {
            "file": project.log,
            "sha256": hashlib.sha256(inputs.log_path.read_bytes()).hexdigest(),
            "rows": len(inputs.rows),
            "added": added,
        }
    return lineage


def _register(
    project: BanditProject, bundle_dir: Path, actor: str, registry_uri: str | None
) -> Any:
    """Register the bundle as a new, unpromoted version of the model named after the bandit."""
    from civicml.registry import open_registry

    with open_registry(registry_uri, project_dir=project.base_dir) as registry:
        return registry.register(bundle_dir, project.bandit.name, actor=actor, reason="civicml run")


def write_bandit_report(bundle_dir: str | Path, out_dir: str | Path, *, pdf: bool = True) -> Any:
    """Write report.html (and PDF), model_card.md, atrs.json and atrs.html for a bandit bundle.

    The page uses the main report's GOV.UK layout and stylesheet. Returns
    :class:`civicml.report.ReportPaths`.
    """
    from civicml.bandits import bandit_summary
    from civicml.bundle import load_bundle
    from civicml.report import (
        ReportPaths,
        bandit_model_card,
        build_bandit_atrs,
        page_context,
        print_pdf,
        report_env,
        write_atrs,
    )

    bundle = load_bundle(bundle_dir)
    if bundle.info.get("task") != "bandit":
        raise BundleError.build(
            f"Bundle {str(bundle.path)!r} is not a bandit bundle",
            got=bundle.info.get("task"),
            fix="Use civicml.report.write_report for other models",
        )
    report = bundle.read_json("report.json")
    report.setdefault("ope_skipped", [])
    checks = bundle.read_json("checks.json").get("checks", [])
    lineage = bundle.read_json("lineage.json") if bundle.has("lineage.json") else {}
    summary = bandit_summary(report, checks)
    out = create_private_dir(out_dir)
    common = {**page_context(), "digest": bundle.digest}
    env = report_env()
    html_path = write_private_text(
        out / "report.html",
        env.get_template("bandit_report.html.j2").render(
            report=report,
            checks=checks,
            summary=summary,
            lineage=lineage,
            fairness=report.get("fairness"),
            gate=report.get("gate") or {"estimator": "dr", "margin": 0.0},
            **common,
        ),
    )
    card = write_private_text(
        out / "model_card.md",
        bandit_model_card(
            {"report": report, "checks": checks, "summary": summary, "digest": bundle.digest}
        ),
    )
    record = build_bandit_atrs(report=report, checks=checks, lineage=lineage, digest=bundle.digest)
    atrs_json, atrs_html = write_atrs(out, record, common)
    return ReportPaths(html_path, card, atrs_json, atrs_html, *print_pdf(html_path, pdf))
