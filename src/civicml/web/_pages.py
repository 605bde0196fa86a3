"""The pages people read: projects, runs, models, versions, approvals, audit, monitoring,
ATRS gaps, sign-in and the accessibility statement. Handlers call the library and render."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from civicml.web._context import Ctx, endpoint

if TYPE_CHECKING:
    from starlette.responses import Response

    from civicml.registry import ModelSummary, ModelVersion

__all__ = ["DONE_MESSAGES", "atrs_answers_view", "field_text", "routes"]

#: the only texts a redirect may ask a page to show (``?done=KEY``); nothing is reflected
DONE_MESSAGES = {
    "approved": "Version approved.",
    "rejected": "Version rejected.",
    "changes": "Changes requested. The registrant can ask for approval again.",
    "requested": "Approval requested. It is now in the approval queue.",
    "promoted": "Alias moved.",
    "rolled-back": "Rolled back to the previous approved version.",
    "signed-in": "You are signed in.",
    "atrs-saved": "ATRS answers saved.",
}
AUDIT_PAGE = 100


def _done(ctx: Ctx) -> str | None:
    return DONE_MESSAGES.get(ctx.request.query_params.get("done", ""))


def _models(ctx: Ctx) -> list[ModelSummary]:
    return ctx.registry.list_models(limit=500)


@endpoint()
def projects(ctx: Ctx) -> Response:
    """Projects (a spec's name) with their latest status and newest runs."""
    from civicml.web._runs import project_groups

    groups = project_groups(ctx.runs, ctx.registry)
    return ctx.render("projects.html", projects=groups, done=_done(ctx))


def _page_number(ctx: Ctx) -> int:
    raw = ctx.request.query_params.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 100_000 else 1


@endpoint()
def runs(ctx: Ctx) -> Response:
    """Every recorded run, newest first, filtered by project and status (plain GET), paged."""
    from civicml.tracking import RUN_STATUSES
    from civicml.web._runs import list_page

    query = ctx.request.query_params
    project = (query.get("project") or "").strip() or None
    status = query.get("status") if query.get("status") in RUN_STATUSES else None
    page = _page_number(ctx)
    rows, more = list_page(ctx.runs, ctx.registry, project=project, status=status, page=page)
    keep = {k: v for k, v in (("project", project), ("status", status)) if v}
    return ctx.render(
        "runs.html",
        rows=rows,
        page=page,
        more=more,
        project=project,
        status_filter=status,
        statuses=RUN_STATUSES,
        projects=sorted({g.project for g in ctx.runs.list_runs(limit=2000)}),
        keep=keep,
    )


@endpoint()
def run_page(ctx: Ctx) -> Response:
    """A recorded run: leaderboard with intervals, metrics, data and code versions, timings,
    artifacts, and (``?compare=ID``) its comparison with another run."""
    from civicml.web._runs import compare_view, run_view

    view = run_view(ctx.runs, ctx.registry, ctx.param("ref"))
    assert view.run is not None
    other, comparison = None, None
    ref = (ctx.request.query_params.get("compare") or "").strip().lower()
    if ref:
        other, comparison = compare_view(ctx.runs, view.run, ref)
    choices = [r for r in ctx.runs.list_runs(limit=200) if r.id != view.run.id]
    return ctx.render("run.html", run=view, other=other, comparison=comparison, choices=choices)


@endpoint()
def version_run_page(ctx: Ctx) -> Response:
    """A version's training run: the recorded run when there is one, else its bundle's."""
    from civicml.web._runs import bundle_run_view, run_for_version

    v = ctx.registry.get_version(ctx.param("name"), int(ctx.param("version")))
    recorded = run_for_version(ctx.runs, v)
    if recorded is not None:
        return ctx.redirect(f"/runs/{recorded.id}")
    return ctx.render("bundle_run.html", run=bundle_run_view(ctx.registry, v.name, v.version))


@endpoint()
def models(ctx: Ctx) -> Response:
    """Every model with its versions count and aliases."""
    return ctx.render("models.html", models=_models(ctx))


@endpoint()
def model_page(ctx: Ctx) -> Response:
    """One model's versions with their aliases and status."""
    name = ctx.param("name")
    model = ctx.registry.get_model(name)
    versions = ctx.registry.list_versions(name, limit=200)
    return ctx.render("model.html", model=model, versions=versions, done=_done(ctx))


def _serving_problems(ctx: Ctx, v: ModelVersion) -> list[str]:
    """What stops ``v`` from serving, the ATRS record's gaps included (read from the cached
    report files, so the page does not build the record again), or why it cannot be read."""
    from civicml._errors import CivicMLError
    from civicml.registry import atrs_problems, promotion_problems

    def cached_gaps(registry: Any, version: ModelVersion) -> list[str]:
        try:
            files = ctx.web.reports.files(registry, version)
        except OSError as exc:
            raise CivicMLError(f"the report files could not be written ({exc})") from exc
        return [f"{g.id} ({g.problem})" for g in files.gaps()]

    return [*promotion_problems(v), *atrs_problems(ctx.registry, v, cached_gaps)]


def version_context(ctx: Ctx, v: ModelVersion) -> dict[str, Any]:
    """What the version page shows besides the version itself (also used to re-render forms)."""
    from civicml.registry import (
        ART9_CONDITIONS,
        LAWFUL_BASES,
        OVERSIGHT_MODES,
        SCHEDULE_1_PART_2,
        approval_record,
        review_state,
    )
    from civicml.web._runs import run_for_version

    decisions = ctx.registry.decisions(v.name, v.version)
    return {
        "v": v,
        "lawful_bases": LAWFUL_BASES,
        "art9_conditions": ART9_CONDITIONS,
        "schedule1_paragraphs": SCHEDULE_1_PART_2,
        "approval": approval_record(ctx.registry, v.name, v.version),
        "run": run_for_version(ctx.runs, v),
        "decisions": decisions,
        "problems": _serving_problems(ctx, v),
        "review": review_state(v, decisions),
        "oversight_modes": OVERSIGHT_MODES,
        "events": ctx.registry.audit_events(subject=v.ref)[-20:],
    }


@endpoint()
def version_page(ctx: Ctx) -> Response:
    """A version: governance, checks, decisions, links to its report, model card and ATRS."""
    v = ctx.registry.get_version(ctx.param("name"), int(ctx.param("version")))
    return ctx.render("version.html", done=_done(ctx), errors=[], **version_context(ctx, v))


def _report_file(ctx: Ctx, which: str) -> Response:
    from starlette.responses import HTMLResponse

    v = ctx.registry.get_version(ctx.param("name"), int(ctx.param("version")))
    files = ctx.web.reports.files(ctx.registry, v)
    path = files.html if which == "report" else files.atrs_html
    return HTMLResponse(path.read_text(encoding="utf-8"))


@endpoint()
def report_page(ctx: Ctx) -> Response:
    """The version's self-contained HTML report, as ``civicml report`` writes it."""
    return _report_file(ctx, "report")


@endpoint()
def atrs_record_page(ctx: Ctx) -> Response:
    """The version's ATRS record (HTML), as ``civicml report`` writes it."""
    return _report_file(ctx, "atrs")


def field_text(value: Any) -> str:
    """A record field's value as a textarea holds it (a list one item a line)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "\n".join(str(x) for x in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def atrs_answers_view(
    ctx: Ctx,
    name: str,
    version: int,
    *,
    errors: list[dict[str, str]] | None = None,
    entered: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """The form of the version's ATRS gaps (one textarea each, holding the field's current
    text or what was entered), and the answers stored so far."""
    from civicml.registry import atrs_answers
    from civicml.report import find_gaps, record_fields
    from civicml.web._reports import version_atrs

    v = ctx.registry.get_version(name, version)
    _, record = version_atrs(ctx.registry, name, version)
    fields = {f.id: f for f in record_fields(record)}
    values = {k: field_text(f.value) for k, f in fields.items()}
    rows = atrs_answers(ctx.registry, name, version)
    answered = [
        {
            "label": fields[k].label if k in fields else k,
            "by": r["answered_by"],
            "at": str(r["answered_at"])[:16].replace("T", " "),
            "revision": r["revision"],
        }
        for k, r in sorted(rows.items())
    ]
    return ctx.render(
        "atrs_answers.html",
        status=status,
        v=v,
        gaps=find_gaps(record),
        values={**values, **(entered or {})},
        answered=answered,
        errors=errors or [],
        reason=ctx.form.get("reason", ""),
        can_answer=ctx.user is not None and ctx.user.can_request,
        done=_done(ctx),
    )


@endpoint()
def atrs_answers_page(ctx: Ctx) -> Response:
    """The form where a trainer or approver completes the version's ATRS record."""
    return atrs_answers_view(ctx, ctx.param("name"), int(ctx.param("version")))


@endpoint()
def model_card_page(ctx: Ctx) -> Response:
    """The version's model card (Markdown, rendered without raw HTML)."""
    from markdown_it import MarkdownIt

    from civicml.report import split_front_matter, wrap_tables

    v = ctx.registry.get_version(ctx.param("name"), int(ctx.param("version")))
    text = ctx.web.reports.files(ctx.registry, v).model_card.read_text(encoding="utf-8")
    _, text = split_front_matter(text)  # the YAML header is for model hubs, not people
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    # wide tables scroll in a labelled region, so the page reflows at 320 px (WCAG 1.4.10)
    return ctx.render("model_card.html", v=v, card=wrap_tables(md.render(text)))


@endpoint()
def approvals(ctx: Ctx) -> Response:
    """Versions waiting for approval, each with its decision form."""
    pending = [
        v
        for m in _models(ctx)
        for v in ctx.registry.list_versions(m.name, limit=200, status="pending_approval")
    ]
    return ctx.render("approvals.html", pending=pending, done=_done(ctx), errors=[])


@endpoint()
def audit(ctx: Ctx) -> Response:
    """The hash-chained audit trail, newest first, with the chain's verification."""
    subject = ctx.request.query_params.get("subject") or None
    events = ctx.registry.audit_events(subject=subject)
    shown = list(reversed(events))[:AUDIT_PAGE]
    return ctx.render(
        "audit.html",
        events=shown,
        total=len(events),
        subject=subject,
        check=ctx.registry.verify_audit(),
    )


def _deployed(ctx: Ctx) -> list[ModelVersion]:
    from civicml.registry import PRODUCTION

    return [
        ctx.registry.get_version(m.name, m.aliases[PRODUCTION])
        for m in _models(ctx)
        if PRODUCTION in m.aliases
    ]


@endpoint()
def monitoring(ctx: Ctx) -> Response:
    """Monitoring status of every deployed (production) model."""
    from civicml.web._monitoring import monitoring_status

    log = ctx.web.config.decision_log
    project = ctx.web.config.project_dir
    rows = [
        monitoring_status(ctx.registry, v, log, plots=False, project_dir=project)
        for v in _deployed(ctx)
    ]
    return ctx.render("monitoring.html", rows=rows)


@endpoint()
def monitoring_model(ctx: Ctx) -> Response:
    """One deployed model's drift, column by column, with reference-against-current plots."""
    from civicml.registry import PRODUCTION
    from civicml.web._monitoring import monitoring_status

    v = ctx.registry.get_alias(ctx.param("name"), PRODUCTION)
    status = monitoring_status(
        ctx.registry, v, ctx.web.config.decision_log, project_dir=ctx.web.config.project_dir
    )
    return ctx.render("monitoring_model.html", s=status)


@endpoint()
def atrs_gaps(ctx: Ctx) -> Response:
    """Every ATRS field still waiting for a person, for each model's newest and live versions."""
    wanted: dict[tuple[str, int], ModelVersion] = {}
    for m in _models(ctx):
        for number in {m.latest_version, *m.aliases.values()}:
            v = ctx.registry.get_version(m.name, number)
            wanted[(v.name, v.version)] = v
    gaps = ctx.web.reports.gaps(ctx.registry, [wanted[k] for k in sorted(wanted)])
    return ctx.render("atrs_gaps.html", gaps=gaps)


@endpoint(public=True)
def sign_in_page(ctx: Ctx) -> Response:
    """The sign-in form (an API token with the viewer, approver or admin scope)."""
    if ctx.user is not None:
        return ctx.redirect("/")
    nxt = ctx.request.query_params.get("next", "/")
    return ctx.render("sign_in.html", next=nxt, error=None)


@endpoint(public=True)
def accessibility(ctx: Ctx) -> Response:
    """The accessibility statement (public)."""
    return ctx.render("accessibility.html")


def routes() -> list[Any]:
    """The Starlette routes of these handlers (Starlette is imported only here)."""
    from starlette.routing import Route

    return [
        Route("/", projects),
        Route("/runs", runs),
        Route("/runs/{ref}", run_page),
        Route("/runs/{name}/{version:int}", version_run_page),
        Route("/models", models),
        Route("/models/{name}", model_page),
        Route("/models/{name}/{version:int}", version_page),
        Route("/models/{name}/{version:int}/report", report_page),
        Route("/models/{name}/{version:int}/atrs", atrs_record_page),
        Route("/models/{name}/{version:int}/atrs/answers", atrs_answers_page, methods=["GET"]),
        Route("/models/{name}/{version:int}/model-card", model_card_page),
        Route("/approvals", approvals),
        Route("/audit", audit),
        Route("/monitoring", monitoring),
        Route("/monitoring/{name}", monitoring_model),
        Route("/atrs", atrs_gaps),
        Route("/sign-in", sign_in_page, methods=["GET"]),
        Route("/accessibility", accessibility),
    ]
