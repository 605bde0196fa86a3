"""One metrics registry for every surface, in the Prometheus text format, hand-rolled so that
recording a request costs two dict updates.

Examples
--------
>>> m = MetricsRegistry()
>>> m.observe("/predict", 200, 0.0012)
>>> m.observe("/predict", 422, 0.0004)
>>> text = m.text()
>>> 'civicml_requests_total{route="/predict",code="200"} 1' in text
True
>>> 'civicml_errors_total{route="/predict",code="422"} 1' in text
True
>>> 'civicml_request_seconds_count{route="/predict"} 2' in text
True
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Iterable

__all__ = ["BUCKETS", "PROMETHEUS_TEXT", "MetricsRegistry"]

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
#: the content type of the metrics page
PROMETHEUS_TEXT = b"text/plain; version=0.0.4; charset=utf-8"


class MetricsRegistry:
    """Request counts by route and status, error counts, and a latency histogram per route.

    A surface with more to say (rows scored, model info) subclasses it and passes its own lines
    to :meth:`text`, which writes the whole page.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, int], int] = {}
        self.hist: dict[str, list[int]] = {}
        self.sums: dict[str, float] = {}
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

    def request_lines(self) -> list[str]:
        """The request, error and latency families."""
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
        return lines

    def start_lines(self) -> list[str]:
        """The process start time gauge."""
        return [
            "# HELP civicml_start_time_seconds Process start time.",
            "# TYPE civicml_start_time_seconds gauge",
            f"civicml_start_time_seconds {self.started:.3f}",
        ]

    def text(self, extra: Iterable[str] = ()) -> str:
        """The metrics page: requests, ``extra`` lines, then the start time."""
        return "\n".join([*self.request_lines(), *extra, *self.start_lines()]) + "\n"
