"""Human review as a workflow: server case ids, a persistent queue, contest, review, re-review."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from serve._support import ADMIN_TOKEN, OTHER_SERVICE, REVIEW_TOKEN, ROW, auth


def _app(bundle_dir: Path, verifier: Any, log: Path, oversight: str) -> Any:
    from civicml.serve import ServeOptions, create_app

    return create_app(
        bundle_dir,
        verifier=verifier,
        decision_log=log,
        poll_seconds=0,
        options=ServeOptions(oversight=oversight),
    )


def test_review_is_authenticated_persistent_and_lands_on_the_right_case(
    bundle_dir: Path, verifier: Any, tmp_path: Path
) -> None:
    from starlette.testclient import TestClient

    from civicml.serve import read_decision_log

    log = tmp_path / "log"
    same_ref = {**auth(), "X-Request-ID": "dup"}
    with TestClient(_app(bundle_dir, verifier, log, "human-in-the-loop")) as c:
        first = c.post("/predict", json=ROW, headers=same_ref)
        second = c.post("/predict", json={**ROW, "age": 20}, headers=same_ref)
        a, b = first.headers["x-case-id"], second.headers["x-case-id"]
        assert a != b and "dup" not in (a, b)  # the server assigns the case ids
        model_a = first.json()["predictions"][0]["decision"]
        queue = c.get("/decisions/queue", headers=auth(REVIEW_TOKEN)).json()
        assert [x["case_id"] for x in queue["cases"]] == [a, b]
        assert all(x["age_seconds"] >= 0 for x in queue["cases"])
        assert queue["cases"][0]["explanation"]["score"] == first.json()["predictions"][0]["score"]
        # the reviewer is who the token says: a name in the body is refused, not trusted
        forged = {"decision": 1 - model_a, "reason": "Seen", "reviewer": "the-director"}
        r = c.post(f"/decisions/{a}/review", json=forged, headers=auth(REVIEW_TOKEN))
        assert r.status_code == 422 and "'reviewer'" in r.json()["error"]
        r = c.post(f"/decisions/{a}/review", json={"decision": 0}, headers=auth())
        assert r.status_code == 403  # a predict token cannot review
        body = {"decision": 1 - model_a, "reason": "Evidence of work"}
        r = c.post(f"/decisions/{a}/review", json=body, headers=auth(REVIEW_TOKEN))
        assert r.status_code == 200, r.text
        assert r.json()["event"] == "reviewed" and r.json()["reviewer"] == "caseworker-7"

    # a restart: a new app over the same folder finds the queue as it was
    with TestClient(_app(bundle_dir, verifier, log, "human-in-the-loop")) as c:
        case = c.get(f"/decisions/{a}", headers=auth(REVIEW_TOKEN)).json()
        assert case["status"] == "closed" and case["reviewed_by"] == "caseworker-7"
        assert case["outcome"] == 1 - model_a and case["overridden"] is True
        open_now = c.get("/decisions/queue", headers=auth(REVIEW_TOKEN)).json()["cases"]
        assert [x["case_id"] for x in open_now] == [b]
        # a re-review is a new event that says what changed
        again = {"decision": model_a, "reason": "The evidence was withdrawn"}
        r = c.post(f"/decisions/{a}/review", json=again, headers=auth(ADMIN_TOKEN))
        assert r.status_code == 200 and r.json()["event"] == "re-reviewed"
        assert r.json()["changed"]["decision"] == {"from": 1 - model_a, "to": model_a}
        assert r.json()["changed"]["reviewer"] == {"from": "caseworker-7", "to": "ops"}
        events = c.get(f"/decisions/{a}", headers=auth(REVIEW_TOKEN)).json()["events"]
        assert [e["kind"] for e in events] == ["opened", "reviewed", "re-reviewed"]
        assert [e["actor"] for e in events] == ["model", "caseworker-7", "ops"]
    df = read_decision_log(log).set_index("case_id")
    assert list(df.loc[[a, b], "request_id"]) == ["dup", "dup"]
    assert df.loc[a, "reviewer_decision"] == model_a  # the latest review, on case a only
    assert df.loc[b, "reviewer_decision"] is None and df["overridden"].isna()[b]


def test_contest_opens_a_case_for_the_service_that_asked(
    bundle_dir: Path, verifier: Any, tmp_path: Path
) -> None:
    from starlette.testclient import TestClient

    log = tmp_path / "log"
    with TestClient(_app(bundle_dir, verifier, log, "advisory")) as c:
        r = c.post("/predict", json=[ROW, {**ROW, "age": 30}], headers=auth())
        first, second = r.json()["case_ids"]
        assert r.headers["x-case-id"] == first.rsplit("-", 1)[0]
        # advisory decisions open no case: nothing was written to the queue
        assert c.get("/decisions/queue", headers=auth(REVIEW_TOKEN)).json()["open"] == 0
        reason = {"reason": "My income was recorded wrongly"}
        r = c.post(f"/decisions/{first}/contest", json=reason, headers=auth(OTHER_SERVICE))
        assert r.status_code == 403  # another service cannot contest someone else's decision
        r = c.post(f"/decisions/{first}/contest", json={}, headers=auth())
        assert r.status_code == 422 and "reason" in r.json()["error"]
        r = c.post(f"/decisions/{first}/contest", json={**reason, "by": "x"}, headers=auth())
        assert r.status_code == 422
        r = c.post(f"/decisions/{first}/contest", json=reason, headers=auth())
        assert r.status_code == 201 and r.json()["status"] == "open"
        r = c.post("/decisions/no-such-case/contest", json=reason, headers=auth())
        assert r.status_code == 404
        cases = c.get("/decisions/queue", headers=auth(REVIEW_TOKEN)).json()["cases"]
        assert [(x["case_id"], x["opened_because"]) for x in cases] == [(first, "contest")]
        assert cases[0]["contest_reason"] == reason["reason"]
    # after a restart the decision is found in the log, and its caller still checked
    with TestClient(_app(bundle_dir, verifier, log, "advisory")) as c:
        r = c.post(f"/decisions/{second}/contest", json=reason, headers=auth(OTHER_SERVICE))
        assert r.status_code == 403
        r = c.post(f"/decisions/{second}/contest", json=reason, headers=auth())
        assert r.status_code == 201, r.text
        case = c.get(f"/decisions/{second}", headers=auth(REVIEW_TOKEN)).json()
        assert case["model_decision"] in (0, 1) and case["caller"] == "predictor"
        r = c.post(
            f"/decisions/{second}/review",
            json={"decision": case["model_decision"], "reason": "Checked"},
            headers=auth(REVIEW_TOKEN),
        )
        assert r.status_code == 200 and r.json()["overridden"] is False


def test_review_scope_is_a_token_scope() -> None:
    from civicml.registry._tokens import check_scopes

    assert check_scopes(["review", "predict"]) == ("review", "predict")
