"""The dashboard's ATRS pages: the to-do list names fields for people (never JSON paths), a
trainer or approver completes the gaps in a form (CSRF, errors GOV.UK style, nothing stored
while any answer is invalid), answers are stored with their name and audited, and the record
page and ``civicml report`` show them at once."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from typer.testing import CliRunner

from web.test_app import _csrf, sign_in
from web.test_browser import axe_js, browser, server, shots, visit  # noqa: F401 (fixtures)

if TYPE_CHECKING:
    from web.conftest import Site

FORM = "/models/outreach/2/atrs/answers"


def _fields(html: str) -> list[str]:
    return re.findall(r'name="answer:([^"]+)"', html)


def test_todo_list_shows_labels_not_json_paths(site: Site) -> None:
    from starlette.testclient import TestClient

    from civicml.web import create_app

    with TestClient(create_app(site.config())) as c:
        sign_in(c, site.tokens["vera"])
        page = c.get("/atrs").text
        assert "Appeals and review" in page and "2.3 Decision-making process" in page
        assert "tier2." not in page and "tier1." not in page
        assert f'href="{FORM}"' in page
        # a viewer sees what is missing but no form to answer it
        form = c.get(FORM)
        assert form.status_code == 200 and "Appeals and review" in form.text
        assert _fields(form.text) == [] and "trainer, approver or admin role" in form.text
        r = c.post(FORM, data={"csrf_token": _csrf(form.text), "answer:metadata.region": "x"})
        assert r.status_code == 403 and "This needs the trainer, approver or admin role" in r.text


def test_a_person_fills_gaps_and_the_record_and_report_show_them(
    fresh_site: Site, tmp_path: Path
) -> None:
    from starlette.testclient import TestClient

    from civicml.cli._app import app as cli_app
    from civicml.registry import atrs_answers, open_registry
    from civicml.web import create_app

    with TestClient(create_app(fresh_site.config())) as c:
        sign_in(c, fresh_site.tokens["bob"])
        before = c.get("/models/outreach/2/atrs").text  # cached before any answer
        assert "Yorkshire and the Humber" not in before
        page = c.get(FORM)
        fields = _fields(page.text)
        assert "metadata.region" in fields and "impact_assessment.1.date" in fields
        assert len(re.findall(r"<textarea", page.text)) == len(fields) + 1  # and the reason
        token = _csrf(page.text)

        r = c.post(FORM, data={"csrf_token": "wrong", "answer:metadata.region": "x"})
        assert r.status_code == 403 and "Your form has expired" in r.text
        r = c.post(FORM, data={"csrf_token": token, "reason": "nothing yet"})
        assert r.status_code == 400 and "Enter at least one answer" in r.text
        assert "govuk-error-summary" in r.text and "Error: " in r.text

        bad = {
            "csrf_token": token,
            "answer:metadata.region": "Yorkshire and the Humber",
            "answer:impact_assessment.1.date": "last Tuesday",
        }
        r = c.post(FORM, data=bad)
        assert r.status_code == 400 and "There is a problem" in r.text
        n = fields.index("impact_assessment.1.date") + 1
        assert f'<a href="#answer-{n}">' in r.text and "is not a date" in r.text
        assert f'id="answer-{n}-error"' in r.text and "govuk-textarea--error" in r.text
        assert "last Tuesday" in r.text and "Yorkshire and the Humber" in r.text  # kept
        with open_registry(fresh_site.uri, project_dir=fresh_site.root) as reg:
            assert atrs_answers(reg, "outreach", 2) == {}  # nothing stored while any is wrong

        good = {**bad, "answer:impact_assessment.1.date": "2026-11-01", "reason": "DPIA done"}
        r = c.post(FORM, data=good, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == FORM + "?done=atrs-saved"
        after = c.get(r.headers["location"]).text
        assert "ATRS answers saved." in after and "Answers stored" in after
        assert "metadata.region" not in _fields(after)  # no longer a gap
        record = c.get("/models/outreach/2/atrs").text  # a new cache entry, with the answer
        assert "Yorkshire and the Humber" in record and "2026-11-01" in record
        gaps = c.get("/atrs").text
        assert gaps.count("Region") < before.count("Region") or "Region" not in gaps

    with open_registry(fresh_site.uri, project_dir=fresh_site.root) as reg:
        stored = atrs_answers(reg, "outreach", 2)
        assert stored["metadata.region"]["answer"] == "Yorkshire and the Humber"
        assert stored["metadata.region"]["answered_by"] == "bob"
        events = [e for e in reg.audit_events(subject="outreach/2") if e.action == "atrs.answers"]
        assert [(e.actor, e.reason) for e in events] == [("bob", "DPIA done")]
        assert reg.verify_audit().ok

    # civicml report on v1's bundle: the region is about the tool, so v2's answer applies
    out = tmp_path / "report"
    args = ["report", str(fresh_site.root / "out" / "bundle"), "-o", str(out), "--no-pdf"]
    args += ["--registry", fresh_site.uri, "--project-dir", str(fresh_site.root)]
    result = CliRunner().invoke(cli_app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "atrs.json").read_text(encoding="utf-8"))
    assert doc["metadata"]["region"] == "Yorkshire and the Humber"
    assert doc["_civicml"]["answers"]["metadata.region"]["answered_by"] == "bob"
    assert "Yorkshire and the Humber" in (out / "atrs.html").read_text(encoding="utf-8")


def test_the_form_and_its_errors_are_accessible_and_reflow(visit: Any, server: Any) -> None:  # noqa: F811
    """axe-core (WCAG 2.2 AA) on the form and on its error state; no sideways scroll at 320 px."""
    v = visit()
    v.sign_in(server[1].tokens["alice"])
    v.go(FORM)
    v.check("atrs-answers")
    n = _fields(v.page.content()).index("impact_assessment.1.date") + 1
    v.page.fill(f"#answer-{n}", "last Tuesday")
    with v.page.expect_navigation():
        v.page.click("button[type=submit] >> text=Save answers")
    assert v.page.locator(".govuk-error-summary").is_visible()
    v.check("atrs-answers-error")
    v.page.set_viewport_size({"width": 320, "height": 800})
    wide = v.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    culprits = v.page.evaluate(
        "Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right"
        " > window.innerWidth + 1).map(e => e.tagName + '.' + e.className + ':' + "
        "(e.textContent || '').slice(0, 60)).slice(-8)"
    )
    assert wide <= 0, f"the ATRS answers page scrolls sideways by {wide}px at 320px: {culprits}"
