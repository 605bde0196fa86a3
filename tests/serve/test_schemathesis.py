"""Property-based tests of the app's own OpenAPI document: no 5xx, every error a JSON body."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402

from serve._support import PREDICT_TOKEN, make_bundle  # noqa: E402


def _build(tmp: Path) -> Any:
    from civicml.serve import ServeOptions, create_app
    from civicml.serve._openapi import openapi_document
    from serve._support import StaticTokens

    app = create_app(
        make_bundle(tmp / "bundle").path,
        verifier=StaticTokens(),
        poll_seconds=0,
        options=ServeOptions(oversight="human-in-the-loop"),
    )
    app.startup()
    doc = openapi_document(app.holder.runtime)
    return app, doc


_TMP = Path(__import__("tempfile").mkdtemp(prefix="civicml-schemathesis-"))
APP, DOC = _build(_TMP)
schema = schemathesis.openapi.from_dict(DOC)
schema.app = APP


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_api(case: Any) -> None:
    if case.path == "/metrics":
        return
    response = case.call(app=APP, headers={"Authorization": f"Bearer {PREDICT_TOKEN}"})
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body, dict) and isinstance(body.get("error"), str), response.text


def test_schemathesis_reached_the_app() -> None:
    counts = APP.metrics.requests
    assert sum(counts.values()) > 50
    assert any(code == 200 for (_, code) in counts)
    assert not any(code >= 500 for (_, code) in counts)
