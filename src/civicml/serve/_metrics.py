"""The serving process's metrics: the foundation's request metrics plus rows, model and reloads.

Examples
--------
>>> m = Metrics()
>>> m.observe("/predict", 200, 0.0012)
>>> m.observe("/predict", 422, 0.0004)
>>> text = m.render(model="benefits", version="3", sha256="ab")
>>> 'civicml_requests_total{route="/predict",code="200"} 1' in text
True
>>> 'civicml_errors_total{route="/predict",code="422"} 1' in text
True
>>> m.observe("/v2/models/benefits/versions/3/infer", 200, 0.001)
>>> m.observe("/wp-admin/setup.php", 404, 0.0001)
>>> text = m.render(model="benefits", version="3", sha256="ab")
>>> 'route="/v2/models/{name}/versions/{v}/infer",code="200"' in text
True
>>> 'route="<unmatched>",code="404"' in text and "wp-admin" not in text
True
"""

from __future__ import annotations

from civicml.asgi import BUCKETS, MetricsRegistry
from civicml.serve._routes import TEMPLATES

__all__ = ["BUCKETS", "SERVE_ROUTES", "Metrics"]

#: the serving app's route templates (:data:`civicml.serve._routes.TEMPLATES`): every request
#: is counted under one of these, and any other path under ``<unmatched>``
SERVE_ROUTES = TEMPLATES


class Metrics(MetricsRegistry):
    """Request counts, errors by status code, latency histogram, rows predicted, reloads."""

    def __init__(self) -> None:
        super().__init__(SERVE_ROUTES)
        self.rows = 0
        self.reloads = 0
        self.reload_failures = 0

    def render(self, *, model: str, version: str, sha256: str, runtime: str = "skops") -> str:
        """The metrics page."""
        return self.text(
            [
                "# HELP civicml_rows_predicted_total Rows scored.",
                "# TYPE civicml_rows_predicted_total counter",
                f"civicml_rows_predicted_total {self.rows}",
                "# HELP civicml_model_info The model version being served.",
                "# TYPE civicml_model_info gauge",
                f'civicml_model_info{{model="{model}",version="{version}",sha256="{sha256}"}} 1',
                "# HELP civicml_model_runtime What scores rows: onnxruntime or skops.",
                "# TYPE civicml_model_runtime gauge",
                f'civicml_model_runtime{{runtime="{runtime}"}} 1',
                "# HELP civicml_reloads_total Hot reloads by outcome.",
                "# TYPE civicml_reloads_total counter",
                f'civicml_reloads_total{{outcome="ok"}} {self.reloads}',
                f'civicml_reloads_total{{outcome="refused"}} {self.reload_failures}',
            ]
        )
