"""The serving app's routes as metrics labels: each path is labelled by its route template.

A path no route serves (a scanner, a typo, a model name that is not served) is labelled
``"other"``, so however many distinct paths arrive, the number of Prometheus series stays fixed.

Examples
--------
>>> route_of("/v2/models/claims/versions/3/infer"), route_of("/decisions/c-1/review")
('/v2/models/{name}/versions/{v}/infer', '/decisions/{case_id}/review')
>>> route_of("/predict"), route_of("/wp-admin/setup.php"), route_of("/ping")
('/predict', 'other', '/ping')
"""

from __future__ import annotations

import re

__all__ = [
    "DECISION_ROUTE",
    "MLFLOW_PROBES",
    "MODEL_ROUTE",
    "ROUTES",
    "TEMPLATES",
    "UNMATCHED",
    "route_of",
]

MODEL_ROUTE = re.compile(r"^/v2/models/([^/]+)(?:/versions/([^/]+))?(/ready|/infer)?$")
DECISION_ROUTE = re.compile(r"^/decisions/([A-Za-z0-9_.:\-]{1,128})(/review|/contest)?$")
#: MLflow's scoring-server probes (its client waits on /ping; /health is the same; /version)
MLFLOW_PROBES = frozenset({"/ping", "/health", "/version"})
#: the fixed paths the app serves (each its own label)
ROUTES = frozenset(
    {
        "/v2/health/live",
        "/v2/health/ready",
        "/v2",
        "/predict",
        "/invocations",
        "/explain",
        "/metrics",
        "/openapi.json",
        "/decisions/queue",
        *MLFLOW_PROBES,
    }
)
#: the one label of every path no route serves
UNMATCHED = "other"
#: every label :func:`route_of` gives (the fixed paths, then the templates), plus the bandit
#: routes a server mounts beside a model: declared to the metrics registry
TEMPLATES: tuple[str, ...] = (
    *sorted(ROUTES),
    "/v2/models/{name}",
    "/v2/models/{name}/ready",
    "/v2/models/{name}/infer",
    "/v2/models/{name}/versions/{v}",
    "/v2/models/{name}/versions/{v}/ready",
    "/v2/models/{name}/versions/{v}/infer",
    "/decisions/{case_id}",
    "/decisions/{case_id}/contest",
    "/decisions/{case_id}/review",
    "/bandits/{name}",
    "/bandits/{name}/choose",
    "/bandits/{name}/reward",
)


def route_of(path: str) -> str:
    """The metrics label of ``path``: its route template, or :data:`UNMATCHED`."""
    if path in ROUTES:
        return path
    m = MODEL_ROUTE.match(path)
    if m:
        return "/v2/models/{name}" + ("/versions/{v}" if m.group(2) else "") + (m.group(3) or "")
    m = DECISION_ROUTE.match(path)
    if m:
        return "/decisions/{case_id}" + (m.group(2) or "")
    return UNMATCHED
