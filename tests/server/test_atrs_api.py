"""The ATRS record over /api/v1: the record (generated part plus stored answers) with its gaps,
the stored answers, and storing answers as the authenticated caller (trainer or approver),
audited; unknown field ids and a viewer are refused with their messages."""

from __future__ import annotations

from typing import Any

from server._support import Site, bundle_tar

INFO = {
    "name": "benefits",
    "task": "binary",
    "target": "ui",
    "metric": "roc_auc",
    "candidate": "linear",
    "features": ["tenure", "region"],
    "classes": ["no", "yes"],
    "positive_label": "yes",
    "threshold": 0.4,
    "n_train": 400,
    "n_test": 100,
}
DOCS = {
    "model_info.json": INFO,
    "assessment.json": {
        "task": "binary",
        "n_test": 100,
        "metrics": {"roc_auc": {"value": 0.71, "ci": [0.6, 0.8]}},
        "fairness": {"characteristics": []},
    },
    "lineage.json": {"data": {"source": "benefits.csv"}},
}
ATRS = "/models/benefits/versions/1/atrs"


def _error(r: Any) -> str:
    body = r.json()
    assert isinstance(body.get("error"), str), r.text
    return str(body["error"])


def _registered(site: Site) -> None:
    site.person("alice", "trainer")
    site.person("bob", "approver")
    site.person("vera", "viewer")
    site.register_key("alice")
    r = site.upload("alice", bundle_tar(site.bundle(signer="alice", **DOCS).path))
    assert r.status_code == 201, r.text


def test_record_answers_and_storing_them_as_the_caller(site: Site) -> None:
    _registered(site)
    fresh = site.call("GET", ATRS, "vera")
    assert fresh.status_code == 200, fresh.text
    doc = fresh.json()
    assert doc["complete"] is False and doc["name"] == "benefits" and doc["version"] == 1
    ids = {g["id"] for g in doc["gaps"]}
    assert "metadata.region" in ids and "decisions.appeals_and_review" in ids
    assert all(g["label"] and g["problem"] for g in doc["gaps"])
    assert doc["record"]["tier2"]["owner_and_responsibility"]["team"] == "Benefits Analytics"
    assert site.call("GET", ATRS + "/answers", "vera").json()["answers"] == {}

    body = {
        "answers": {"metadata.region": "England", "model.1.performance": "As measured."},
        "reason": "first draft",
    }
    r = site.call("PUT", ATRS + "/answers", "alice", json=body)
    assert r.status_code == 200, r.text
    assert sorted(w["field"] for w in r.json()["written"]) == [
        "metadata.region",
        "model.1.performance",
    ]
    stored = site.call("GET", ATRS + "/answers", "vera").json()["answers"]
    assert stored["metadata.region"]["answer"] == "England"
    assert stored["metadata.region"]["answered_by"] == "alice@example.gov.uk"
    assert stored["metadata.region"]["revision"] == 1

    after = site.call("GET", ATRS, "vera").json()
    assert after["record"]["metadata"]["region"] == "England"
    assert "metadata.region" not in {g["id"] for g in after["gaps"]}
    assert len(after["gaps"]) == len(doc["gaps"]) - 1  # the performance text was generated

    # an approver may answer too; the same answer again writes nothing
    r = site.call("PUT", ATRS + "/answers", "bob", json={"answers": {"metadata.region": "Wales"}})
    assert r.status_code == 200 and r.json()["answers"]["metadata.region"]["revision"] == 2
    r = site.call("PUT", ATRS + "/answers", "bob", json={"answers": {"metadata.region": "Wales"}})
    assert r.status_code == 200 and r.json()["written"] == []

    events = site.call("GET", "/audit", "vera", params={"subject": "benefits/1"}).json()
    answered = [e for e in events if e["action"] == "atrs.answers"]
    assert [e["actor"] for e in answered] == ["alice@example.gov.uk", "bob@example.gov.uk"]
    assert answered[0]["reason"] == "first draft"
    assert site.call("GET", "/audit/verify", "vera").json()["ok"] is True


def test_refusals_name_the_problem(site: Site) -> None:
    _registered(site)
    r = site.call("PUT", ATRS + "/answers", "vera", json={"answers": {"metadata.region": "x"}})
    assert r.status_code == 403 and "trainer or approver" in _error(r)
    r = site.call("PUT", ATRS + "/answers", "alice", json={"answers": {"owner.tea": "Earl Grey"}})
    assert r.status_code == 422
    assert "1 answer id(s) are not fields of this ATRS record" in _error(r)
    assert "owner.senior_responsible_owner_role" in _error(r)
    r = site.call("PUT", ATRS + "/answers", "alice", json={"answers": {}})
    assert r.status_code == 422 and "field id to answer" in _error(r)
    r = site.call(
        "PUT", ATRS + "/answers", "alice", json={"answers": {"metadata.region": {"a": 1}}}
    )
    assert r.status_code == 422 and "metadata.region" in _error(r)
    assert site.call("GET", "/models/benefits/versions/9/atrs", "vera").status_code == 404
    assert site.call("GET", ATRS + "/answers", "vera").json()["answers"] == {}
    r = site.call("GET", "/openapi.json").json()["paths"]
    assert {"get", "put"} <= set(r["/api/v1/models/{name}/versions/{v}/atrs/answers"])
