"""Metrics that cannot be flooded: labelled by route template only, every unmatched path under
one label, and the process's own metrics on the page."""

from __future__ import annotations

import asyncio
import logging
import random
import re
import string
from typing import Any

import pytest

from civicml.asgi import (
    UNMATCHED,
    HTTPError,
    JSONApp,
    MetricsRegistry,
    RequestContext,
    RouteTemplates,
    bearer,
)

LOG = logging.getLogger("civicml.asgi.test")
#: a surface like ``civicml serve``'s: one endpoint reachable by two templates
TEMPLATES = [
    "/predict",
    "/v2/models/{name}",
    "/v2/models/{name}/infer",
    "/v2/models/{name}/versions/{v}",
    "/v2/models/{name}/versions/{v}/infer",
    "/decisions/queue",
    "/decisions/{case_id}",
]
_INFER = re.compile(r"^/v2/models/[^/]+(/versions/[^/]+)?/infer$")


class Surface(JSONApp):
    """Labels like serve's hot path did: the template once routed, the raw path on an error
    raised before (401 without a token, 404 for an unknown path)."""

    def __init__(self, metrics: MetricsRegistry) -> None:
        super().__init__()
        self.metrics = metrics

    async def handle(self, scope: dict[str, Any], headers: dict[str, str], receive: Any) -> Any:
        path = scope["path"]
        if not _INFER.match(path) and path != "/predict":
            raise HTTPError(404, "not_found", "There is no such endpoint.")
        if bearer(headers.get("authorization")) != "good":
            raise HTTPError(401, "unauthorized", "Send a token.")
        return 200, {"ok": True}


def _run(app: Any, requests: list[tuple[str, dict[str, str]]]) -> list[int]:
    """Call a raw ASGI app directly (no HTTP client: 10,000 requests in well under a second)."""

    async def one(path: str, headers: dict[str, str]) -> int:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "method": "GET",
            "path": path,
            "scheme": "http",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        }
        await app(scope, receive, send)
        return int(sent[0]["status"])

    async def all_of() -> list[int]:
        return [await one(p, h) for p, h in requests]

    return asyncio.run(all_of())


def _labels(text: str) -> set[str]:
    return set(re.findall(r'route="([^"]*)"', text))


def _random_path(rng: random.Random) -> str:
    chars = string.ascii_letters + string.digits + "-_.%~"
    depth = rng.randint(1, 4)
    return "/" + "/".join("".join(rng.choices(chars, k=rng.randint(1, 24))) for _ in range(depth))


def test_ten_thousand_unknown_paths_add_no_series() -> None:
    metrics = MetricsRegistry()
    app = RequestContext(Surface(metrics), logger=LOG, metrics=metrics, templates=TEMPLATES)
    _run(app, [("/predict", {"Authorization": "Bearer good"}), ("/nope", {})])
    before_series, before_labels = metrics.series(), _labels(metrics.text())
    assert before_labels == {"/predict", UNMATCHED}

    rng = random.Random(0)
    paths = [_random_path(rng) for _ in range(10_000)]
    statuses = _run(app, [(p, {}) for p in paths])
    assert set(statuses) == {404}
    text = metrics.text()
    assert metrics.series() == before_series
    assert _labels(text) == before_labels
    assert f'civicml_requests_total{{route="{UNMATCHED}",code="404"}} 10001' in text
    assert not any(p in text for p in paths[:100])


def test_one_endpoint_reached_by_two_paths_is_labelled_by_its_templates() -> None:
    metrics = MetricsRegistry()
    app = RequestContext(Surface(metrics), logger=LOG, metrics=metrics, templates=TEMPLATES)
    good = {"Authorization": "Bearer good"}
    _run(
        app,
        [
            ("/v2/models/m/infer", good),
            ("/v2/models/m/infer", {}),  # 401 before routing: still its template
            ("/v2/models/other/infer", {}),
            ("/v2/models/m/versions/1/infer", good),
            ("/v2/models/m/versions/7/infer", {}),
        ],
    )
    text = metrics.text()
    assert _labels(text) == {"/v2/models/{name}/infer", "/v2/models/{name}/versions/{v}/infer"}
    assert 'civicml_requests_total{route="/v2/models/{name}/infer",code="200"} 1' in text
    assert 'civicml_requests_total{route="/v2/models/{name}/infer",code="401"} 2' in text
    assert (
        'civicml_requests_total{route="/v2/models/{name}/versions/{v}/infer",code="401"} 1' in text
    )
    assert "/v2/models/m/" not in text and "/v2/models/other/" not in text


def test_a_surface_that_labels_requests_itself_is_still_bounded() -> None:
    """A registry with no declared templates keeps the labels it is given, up to a bound."""
    from civicml.asgi._metrics import MAX_UNDECLARED_ROUTES

    metrics = MetricsRegistry()
    for i in range(1_000):
        metrics.observe(f"/scan/{i}", 404, 0.001)
    metrics.observe("other", 404, 0.001)  # the old "no route" label is the one unmatched label
    labels = _labels(metrics.text())
    assert len(labels) == MAX_UNDECLARED_ROUTES + 1 and UNMATCHED in labels
    assert "other" not in labels


def test_a_mounted_app_declares_its_own_templates() -> None:
    metrics = MetricsRegistry(TEMPLATES)
    RequestContext(Surface(metrics), logger=LOG, metrics=metrics, templates=["/bandits/{name}"])
    metrics.observe("/bandits/{name}", 200, 0.001)  # a mounted app's route function's label
    metrics.observe("/bandits/letters", 200, 0.001)  # or its path
    metrics.observe("/bandits/letters/x", 404, 0.001)
    text = metrics.text()
    assert 'civicml_requests_total{route="/bandits/{name}",code="200"} 2' in text
    assert f'civicml_requests_total{{route="{UNMATCHED}",code="404"}} 1' in text


@pytest.mark.parametrize(
    ("path", "label"),
    [
        ("/decisions/queue", "/decisions/queue"),
        ("/decisions/c-1", "/decisions/{case_id}"),
        ("/decisions/", UNMATCHED),
        ("/decisions/a/b", UNMATCHED),
        ("/v2/models/{name}/infer", "/v2/models/{name}/infer"),
        ("/predict/", UNMATCHED),
        ("/PREDICT", UNMATCHED),
    ],
)
def test_route_templates(path: str, label: str) -> None:
    assert RouteTemplates(TEMPLATES)(path) == label


def test_the_page_carries_process_metrics() -> None:
    import os
    import sys
    import time

    text = MetricsRegistry(TEMPLATES).text()
    cpu = re.search(r"^process_cpu_seconds_total ([0-9.e+]+)$", text, re.M)
    assert cpu and float(cpu.group(1)) > 0
    assert re.search(r'^python_info\{implementation="\w+",major="3",', text, re.M)
    if sys.platform.startswith("linux"):
        rss = re.search(r"^process_resident_memory_bytes ([0-9]+)$", text, re.M)
        assert rss and int(rss.group(1)) > 10 * 1024 * 1024
        fds = re.search(r"^process_open_fds ([0-9]+)$", text, re.M)
        assert fds and abs(int(fds.group(1)) - len(os.listdir("/proc/self/fd"))) <= 2
        start = re.search(r"^process_start_time_seconds ([0-9.]+)$", text, re.M)
        assert start and float(start.group(1)) <= time.time()
        psutil = pytest.importorskip("psutil")
        assert abs(float(start.group(1)) - psutil.Process().create_time()) < 1.0
    for family in ("process_cpu_seconds_total", "process_resident_memory_bytes"):
        if family in text:
            assert f"# TYPE {family} " in text
