"""Prometheus metrics in the text exposition format, hand-rolled to keep the hot path cheap.

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
"""

from __future__ import annotations

import bisect
import threading
import time

__all__ = ["BUCKETS", "Metrics"]

#: latency histogram bucket bounds in seconds
BUCKETS: tuple[float, ...] = (
    0.0005,
    0.001,
    0.002,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)


class Metrics:
    """Request counts, errors by status code, latency histogram, rows predicted, reloads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, int], int] = {}
        self.hist: dict[str, list[int]] = {}
        self.sums: dict[str, float] = {}
        self.rows = 0
        self.reloads = 0
        self.reload_failures = 0
        self.started = time.time()

    def observe(self, route: str, code: int, seconds: float) -> None:
        """Record one finished request."""
        key = (route, code)
        self.requests[key] = self.requests.get(key, 0) + 1
        h = self.hist.get(route)
        if h is None:
            h = self.hist[route] = [0] * (len(BUCKETS) + 1)
            self.sums[route] = 0.0
        h[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.sums[route] += seconds

    def render(self, *, model: str, version: str, sha256: str, runtime: str = "skops") -> str:
        """The metrics page."""
        lines = [
            "# HELP civicml_requests_total Requests by route and HTTP status.",
            "# TYPE civicml_requests_total counter",
        ]
        items = sorted(self.requests.items())
        for (route, code), n in items:
            lines.append(f'civicml_requests_total{{route="{route}",code="{code}"}} {n}')
        lines += [
            "# HELP civicml_errors_total Error responses by route and HTTP status.",
            "# TYPE civicml_errors_total counter",
        ]
        for (route, code), n in items:
            if code >= 400:
                lines.append(f'civicml_errors_total{{route="{route}",code="{code}"}} {n}')
        lines += [
            "# HELP civicml_request_seconds Request latency.",
            "# TYPE civicml_request_seconds histogram",
        ]
        for route, h in sorted(self.hist.items()):
            acc = 0
            for bound, n in zip((*BUCKETS, float("inf")), h, strict=True):
                acc += n
                le = "+Inf" if bound == float("inf") else repr(bound)
                lines.append(f'civicml_request_seconds_bucket{{route="{route}",le="{le}"}} {acc}')
            lines.append(f'civicml_request_seconds_sum{{route="{route}"}} {self.sums[route]:.6f}')
            lines.append(f'civicml_request_seconds_count{{route="{route}"}} {acc}')
        lines += [
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
            "# HELP civicml_start_time_seconds Process start time.",
            "# TYPE civicml_start_time_seconds gauge",
            f"civicml_start_time_seconds {self.started:.3f}",
        ]
        return "\n".join(lines) + "\n"
