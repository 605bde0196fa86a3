"""The report, model card and ATRS record say who approved a version and how far a server
checked them (issue 17, section 1): in embedded mode, plainly that no server verified the names;
without a registry, "Not yet approved in a registry."

The model card and ATRS record are rendered directly (fast); one real report and the
``civicml report`` command run against an embedded registry holding the test bundle.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from civicml.report import NEEDS_HUMAN, build_bandit_atrs, model_card, write_atrs
from civicml.report._atrs_fill import record_approval

#: what an embedded record must never say about its names
CLAIMS = ("verified by civicml server", "signed in and verified")

EMBEDDED = {
    "model": "benefits",
    "version": 3,
    "ref": "benefits/3",
    "status": "approved",
    "mode": "embedded",
    "registered": {
        "by": "rosa",
        "at": "2026-12-05T10:00:00.000000Z",
        "reason": None,
        "verified": False,
        "via": "os-login",
        "event": 1,
    },
    "requested": {
        "by": "sam",
        "at": "2026-12-05T11:00:00.000000Z",
        "reason": "Ready",
        "verified": False,
        "via": "os-login",
        "event": 2,
    },
    "approved": {
        "by": "alice",
        "at": "2026-12-06T09:00:00.000000Z",
        "reason": "Read the report",
        "verified": False,
        "via": "os-login",
        "event": 3,
    },
    "rejected": None,
    "checks_overridden": None,
    "verified": False,
    "sentence": "Approved by alice on 6 December 2026. civicml ran in embedded mode, so this "
    "name is the approver's computer login and was not verified by a server.",
}
SERVER = {
    **EMBEDDED,
    "mode": "server",
    "approved": {
        **EMBEDDED["approved"],
        "by": "bob@dept.gov.uk",
        "verified": True,
        "via": "oidc",
    },
    "verified": True,
    "sentence": "Approved by bob@dept.gov.uk on 6 December 2026, signed in and verified by "
    "civicml server.",
}
CTX = {
    "info": {"name": "benefits", "task": "binary", "target": "y", "candidate": "linear"},
    "spec": {},
    "assessment": {},
    "summary": ["Hello."],
    "risks": [],
    "checks": [],
    "lineage": {},
    "digest": "ab" * 32,
}
TRIAL = {"name": "letters", "spec": {"arms": ["a", "b"]}, "policy": {}}


def _section(card: str) -> str:
    return card.split("## Approval", 1)[1]


def test_model_card_without_a_registry_says_not_yet_approved() -> None:
    card = model_card(CTX)
    assert "## Approval\n\nNot yet approved in a registry." in card


def test_model_card_embedded_names_logins_and_never_claims_verification() -> None:
    section = _section(model_card({**CTX, "approval": EMBEDDED}))
    assert EMBEDDED["sentence"] in section
    assert "Registry version `benefits/3`, embedded mode (one computer)." in section
    assert (
        "| Approved | alice | 6 December 2026 | not verified by a server "
        "(computer login, embedded mode) |"
    ) in section
    assert "| Registered | rosa | 5 December 2026 |" in section
    assert not any(c in section for c in CLAIMS)


def test_model_card_server_says_verified() -> None:
    section = _section(model_card({**CTX, "approval": SERVER}))
    assert SERVER["sentence"] in section
    assert "| Approved | bob@dept.gov.uk | 6 December 2026 | verified by civicml server" in section
    # the registrant's login from before is still shown as not verified
    assert "| Registered | rosa | 5 December 2026 | not verified by a server" in section


def test_a_forged_verified_flag_without_a_server_sign_in_is_not_shown_as_verified() -> None:
    forged = {**EMBEDDED, "approved": {**EMBEDDED["approved"], "verified": True}}
    section = _section(model_card({**CTX, "approval": forged}))
    assert not any(c in section for c in CLAIMS)


def _risk(record: Any) -> Any:
    return record.tier2.risks_mitigations_and_impact_assessments.risks[-1]


def test_atrs_without_approval_leaves_sign_off_for_a_person(tmp_path: Path) -> None:
    record = build_bandit_atrs(report=TRIAL, checks=[], lineage={}, digest="ab" * 32)
    risk = _risk(record)
    assert "approved by someone whose identity nobody checked" in str(risk.risk)
    assert risk.mitigation == (
        f"{NEEDS_HUMAN}: Not yet approved in a registry. Record who approved this version and "
        "how their identity was checked"
    )
    path = "tier2.risks_mitigations_and_impact_assessments.risks"
    assert any(
        f.startswith(path) and f.endswith(".mitigation") for f in record.civicml["needs_human"]
    )
    _, html_path = write_atrs(
        tmp_path, record, {"css": "", "version": "t", "generated": "now", "digest": "ab" * 32}
    )
    html = html_path.read_text(encoding="utf-8")
    assert 'id="approval"' in html and "Not yet approved in a registry." in html


def test_atrs_embedded_approval_goes_in_2_5_and_never_claims_verification(tmp_path: Path) -> None:
    record = record_approval(
        build_bandit_atrs(report=TRIAL, checks=[], lineage={}, digest="ab" * 32), EMBEDDED
    )
    risks = record.tier2.risks_mitigations_and_impact_assessments.risks
    assert sum("accountable people" in str(r.risk) for r in risks) == 1  # replaced, not added
    mitigation = str(_risk(record).mitigation)
    assert mitigation.startswith(EMBEDDED["sentence"] + " (civicml registry, version benefits/3.)")
    assert not any(c in mitigation for c in CLAIMS)
    sign_off = f".risks[{len(risks) - 1}].mitigation"  # the other risks still need a person
    assert not any(f.endswith(sign_off) for f in record.civicml["needs_human"])
    json_path, html_path = write_atrs(
        tmp_path, record, {"css": "", "version": "t", "generated": "now", "digest": "ab" * 32}
    )
    doc = json.loads(json_path.read_text(encoding="utf-8"))
    assert doc["_civicml"]["approval"] == EMBEDDED
    html = html_path.read_text(encoding="utf-8")
    approval = html.split('id="approval"', 1)[1]
    assert "not verified by a server (computer login, embedded mode)" in approval
    assert "embedded mode: a registry on one computer, where no server checks names" in approval
    assert not any(c in html for c in CLAIMS)


def test_atrs_server_approval_is_shown_as_verified(tmp_path: Path) -> None:
    record = record_approval(
        build_bandit_atrs(report=TRIAL, checks=[], lineage={}, digest="ab" * 32), SERVER
    )
    assert str(_risk(record).mitigation).startswith(SERVER["sentence"])
    _, html_path = write_atrs(
        tmp_path, record, {"css": "", "version": "t", "generated": "now", "digest": "ab" * 32}
    )
    assert "verified by civicml server (signed in)" in html_path.read_text(encoding="utf-8")


# -- the real report and the command, against an embedded registry -----------------------------
@pytest.fixture
def approved(bundle_dir: Path, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """The test bundle registered, put forward and approved by three OS logins in an embedded
    registry in ``tmp_path`` (the project folder)."""
    from civicml.registry import Actor, approval_record, open_registry

    with open_registry(project_dir=tmp_path) as reg:
        v = reg.register(
            bundle_dir,
            "benefits",
            actor=Actor("rosa", via="os-login"),
            oversight="human-in-the-loop",
        )
        reg.request_approval("benefits", v.version, actor=Actor("sam", via="os-login"), reason="ok")
        reg.approve("benefits", v.version, by=Actor("alice", via="os-login"), reason="Read it")
        return tmp_path, approval_record(reg, "benefits", v.version)


def test_report_html_shows_the_embedded_approval(bundle_dir: Path, approved: Any) -> None:
    from civicml.report import write_report

    project, rec = approved
    paths = write_report(bundle_dir, project / "out", pdf=False, approval=rec)
    html = paths.html.read_text(encoding="utf-8")
    section = html.split('<section id="approval"', 1)[1].split("</section>", 1)[0]
    assert rec["sentence"].replace("'", "&#39;") in section
    assert "Approved by alice on " in section and "computer login" in section
    assert section.count("<caption") == section.count("<table") == 1
    card = paths.model_card.read_text(encoding="utf-8")
    atrs = paths.atrs_html.read_text(encoding="utf-8")
    for text in (html, card, atrs):
        assert not any(c in text for c in CLAIMS)
        assert "was not verified by a server" in text.replace("&#39;", "'")
    assert json.loads(paths.atrs_json.read_text())["_civicml"]["approval"]["ref"] == "benefits/1"


def _cli(args: list[str]) -> Any:
    import typer
    from typer.testing import CliRunner

    from civicml.cli._report import report

    app = typer.Typer()
    app.command()(report)
    app.command("noop")(lambda: None)
    return CliRunner().invoke(app, ["report", *args], env={"CIVICML_REGISTRY": ""})


def test_cli_report_finds_the_registered_version_and_takes_model(
    bundle_dir: Path, approved: Any
) -> None:
    project, rec = approved
    out = project / "auto"
    res = _cli([str(bundle_dir), "-o", str(out), "--no-pdf", "--project-dir", str(project)])
    assert res.exit_code == 0, res.output
    assert f"approval benefits/1: {rec['sentence']}" in " ".join(res.output.split())
    assert rec["sentence"] in (out / "model_card.md").read_text(encoding="utf-8")

    res = _cli(
        [str(bundle_dir), "-o", str(project / "m"), "--no-pdf", "--project-dir", str(project),
         "--model", "benefits/1"]
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "Approved by alice on" in (project / "m" / "atrs.json").read_text(encoding="utf-8")


def test_cli_report_refuses_a_model_that_is_not_this_bundle(
    bundle_dir: Path, approved: Any
) -> None:
    from civicml.bundle import save_bundle
    from civicml.registry import Actor, open_registry

    project, _ = approved
    other = save_bundle(project / "other", documents={"model_info.json": {"task": "binary"}})
    with open_registry(project_dir=project) as reg:
        reg.register(other.path, "benefits", actor=Actor("rosa", via="os-login"))
    res = _cli(
        [str(bundle_dir), "-o", str(project / "x"), "--no-pdf", "--project-dir", str(project),
         "--model", "benefits/2"]
    )  # fmt: skip
    assert res.exit_code == 2
    assert "is not benefits/2" in res.output


def test_cli_report_without_a_registry_says_not_yet_approved(
    bundle_dir: Path, tmp_path: Path
) -> None:
    res = _cli(
        [str(bundle_dir), "-o", str(tmp_path / "r"), "--no-pdf", "--project-dir", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    assert "approval     Not yet approved in a registry." in res.output
    assert not (tmp_path / ".civicml").exists()  # a report never creates a registry
    assert "Not yet approved in a registry." in (tmp_path / "r" / "model_card.md").read_text()
