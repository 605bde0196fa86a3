"""``civicml atrs fill / check / publish`` against a live ``civicml server`` over real HTTP: the
server builds the record and stores the answers as the token's holder (verified, audited), and
the client publishes the finished record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_atrs_cli import ANSWERS, ASSESSMENT, FRESH_GAPS, INFO, LINEAGE, SPEC

from civicml.bundle import save_bundle
from civicml.cli._atrs import app as atrs_app
from live_server import Served, civicml_server

pytest.importorskip("uvicorn")
pytest.importorskip("civicml.server")


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    with civicml_server(tmp_path, monkeypatch, Served) as live:
        yield live


def _register(served: Served, token: str) -> None:
    docs = {
        "model_info.json": INFO,
        "spec.json": SPEC,
        "assessment.json": ASSESSMENT,
        "checks.json": {"checks": []},
        "lineage.json": LINEAGE,
    }
    bundle = save_bundle(served.tmp / "b1", documents=docs).path
    signed, _ = served.signed_copy(token, bundle, "alice")
    with served.registry(token) as reg:
        reg.register(signed, "benefits", reason="first")


def _atrs(served: Served, *args: Any, token: str, code: int = 0) -> Any:
    return served.cli(*args, token=token, app=atrs_app, code=code)


def _write(path: Path, answers: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(answers), encoding="utf-8")
    return path


def test_fill_check_and_publish_against_a_server(served: Served, tmp_path: Path) -> None:
    alice = served.token("alice-laptop", "alice", "trainer")
    vera = served.token("vera-laptop", "vera", "viewer")
    _register(served, alice)

    fresh = json.loads(_atrs(served, "check", "benefits", 1, "--json", token=vera, code=1).stdout)
    assert fresh["complete"] is False and len(fresh["gaps"]) == FRESH_GAPS
    refused = _atrs(served, "publish", "benefits", 1, "-o", tmp_path / "x", token=vera, code=2)
    assert len(refused.output.strip().splitlines()) == 1

    # a viewer cannot answer; an unknown id is refused listing the valid ones; nothing stored
    some = _write(tmp_path / "some.yaml", {"metadata.region": "England"})
    denied = _atrs(served, "fill", "benefits", 1, "--from", some, token=vera, code=2)
    assert "trainer or approver" in denied.output and "Traceback" not in denied.output
    bad = _write(tmp_path / "bad.yaml", {"owner.tea": "Earl Grey"})
    out = _atrs(served, "fill", "benefits", 1, "--from", bad, token=alice, code=2).output
    assert "1 answer id(s) are not fields of this ATRS record" in out and "owner.tea" in out
    with served.registry(vera) as reg:
        assert reg.atrs_answers("benefits", 1) == {}

    done = _atrs(
        served,
        "fill",
        "benefits",
        1,
        "--from",
        _write(tmp_path / "a.yaml", ANSWERS),
        "--reason",
        "board review",
        token=alice,
    )
    line = " ".join(done.output.split())
    assert f"{len(ANSWERS)} answer(s) stored for benefits v1 by alice" in line
    assert "verified by civicml server, via token:alice-laptop" in line
    assert "No gaps remain" in line
    checked = json.loads(_atrs(served, "check", "benefits", 1, "--json", token=vera).stdout)
    assert checked == {"name": "benefits", "version": 1, "complete": True, "gaps": []}

    _atrs(served, "publish", "benefits", 1, "-o", tmp_path / "pub", token=vera)
    record = json.loads((tmp_path / "pub" / "atrs.json").read_text(encoding="utf-8"))
    assert record["metadata"]["region"] == "England" and record["complete"] is True
    assert (tmp_path / "pub" / "atrs.html").is_file() and (tmp_path / "pub" / "atrs.xlsx").is_file()

    with served.registry(vera) as reg:
        stored = reg.atrs_answers("benefits", 1)
        events = [e for e in reg.audit_events(subject="benefits/1") if e.action == "atrs.answers"]
    assert stored["metadata.region"]["answered_by"] == "alice"
    assert [(e.actor, e.reason) for e in events] == [("alice", "board review")]
