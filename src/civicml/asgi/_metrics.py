"""One metrics registry for every surface, in the Prometheus text format, hand-rolled so that
recording a request costs two dict updates.

Requests are labelled by route *template* only (``/v2/models/{name}/infer``), never by the path
a client sent: a surface declares its templates (:class:`RouteTemplates`), a path is labelled by
the template it matches, and every other path (an unknown address, a scanner, an
unauthenticated probe) goes under the one label ``<unmatched>``. However many distinct paths
arrive, the number of series stays fixed. The page also carries the process's own metrics
(resident memory, CPU seconds, open file descriptors, start time: :func:`process_lines`).

Examples
--------
>>> m = MetricsRegistry(["/predict", "/v2/models/{name}/infer"])
>>> m.observe("/predict", 200, 0.0012)
>>> m.observe("/predict", 422, 0.0004)
>>> m.observe("/v2/models/benefits/infer", 401, 0.0001)   # a path: labelled by its template
>>> m.observe("/wp-admin/setup.php", 404, 0.0001)         # no template: one shared label
>>> text = m.text()
>>> 'civicml_requests_total{route="/predict",code="200"} 1' in text
True
>>> 'civicml_errors_total{route="/predict",code="422"} 1' in text
True
>>> 'civicml_request_seconds_count{route="/predict"} 2' in text
True
>>> 'route="/v2/models/{name}/infer",code="401"' in text, "wp-admin" in text
(True, False)
>>> 'civicml_requests_total{route="<unmatched>",code="404"} 1' in text
True
"""

from __future__ import annotations

import bisect
import re
import threading
import time
from collections.abc import Iterable

from civicml.asgi._process import process_lines

__all__ = [
    "BUCKETS",
    "MAX_UNDECLARED_ROUTES",
    "PROMETHEUS_TEXT",
    "UNMATCHED",
    "MetricsRegistry",
    "RouteTemplates",
]

#: the one label of every path that matches no declared route template
UNMATCHED = "<unmatched>"
#: the most distinct route labels a registry with no declared templates keeps (then
#: :data:`UNMATCHED`): a bound for surfaces that label requests themselves
MAX_UNDECLARED_ROUTES = 64
#: labels surfaces used for "no route" before :data:`UNMATCHED`
_LEGACY_UNMATCHED = frozenset({"other", ""})
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


class RouteTemplates:
    """A surface's route templates, in order: ``path -> template`` (or :data:`UNMATCHED`).

    A ``{name}`` part matches one path segment (anything but ``/``). A template without
    parameters matches only itself and wins over a parameterised one
    (``/decisions/queue`` before ``/decisions/{case_id}``); otherwise the first declared wins.

    Examples
    --------
    >>> routes = RouteTemplates(["/decisions/{case_id}", "/decisions/queue"])
    >>> routes("/decisions/queue"), routes("/decisions/c-1"), routes("/decisions/c-1/x")
    ('/decisions/queue', '/decisions/{case_id}', '<unmatched>')
    >>> "/decisions/{case_id}" in routes, len(routes)
    (True, 2)
    """

    def __init__(self, templates: Iterable[str] = ()) -> None:
        self._static: set[str] = set()
        self._patterns: list[tuple[re.Pattern[str], str]] = []
        self._all: dict[str, None] = {}
        self.add(templates)

    def add(self, templates: Iterable[str]) -> None:
        """Declare more templates (ones already declared are ignored)."""
        for template in templates:
            if template in self._all:
                continue
            self._all[template] = None
            if "{" not in template:
                self._static.add(template)
                continue
            parts = re.split(r"\{[^{}/]*\}", template)
            regex = "[^/]+".join(re.escape(p) for p in parts)
            self._patterns.append((re.compile(f"^{regex}$"), template))

    def __call__(self, path: str) -> str:
        if path in self._static:
            return path
        for regex, template in self._patterns:
            if regex.match(path):
                return template
        return UNMATCHED

    def __contains__(self, template: object) -> bool:
        return template in self._all

    def __len__(self) -> int:
        return len(self._all)

    @property
    def templates(self) -> tuple[str, ...]:
        """The declared templates, in declaration order."""
        return tuple(self._all)


class MetricsRegistry:
    """Request counts by route template and status, error counts, a latency histogram per
    route template, and the process's own metrics.

    A surface with more to say (rows scored, model info) subclasses it and passes its own lines
    to :meth:`text`, which writes the whole page.

    Parameters
    ----------
    routes : iterable of str
        The surface's route templates (more with :meth:`declare`). Once any are declared, a
        request is labelled by the template it matches and every other path by
        :data:`UNMATCHED`. A registry with none keeps the labels it is given, up to
        :data:`MAX_UNDECLARED_ROUTES` distinct ones (then :data:`UNMATCHED`).
    """

    def __init__(self, routes: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, int], int] = {}
        self.hist: dict[str, list[int]] = {}
        self.sums: dict[str, float] = {}
        self.started = time.time()
        self.routes = RouteTemplates(routes)
        self._labels: dict[str, str] = {}

    def declare(self, templates: Iterable[str]) -> None:
        """Declare more route templates (e.g. those of an app mounted in this surface)."""
        new = [t for t in templates if t not in self.routes]
        if new:
            with self._lock:
                self.routes.add(new)
                self._labels.clear()

    def label(self, route: str) -> str:
        """The label ``route`` (a template or a path) is recorded under."""
        known = self._labels.get(route)
        if known is not None:
            return known
        if route in _LEGACY_UNMATCHED:
            return UNMATCHED
        if len(self.routes):
            found = route if route in self.routes else self.routes(route)
            if found != UNMATCHED and len(self._labels) < 10_000:  # never unmatched paths
                self._labels[route] = found
            return found
        if len(self._labels) < MAX_UNDECLARED_ROUTES:
            self._labels[route] = route
            return route
        return UNMATCHED

    def observe(self, route: str, code: int, seconds: float) -> None:
        """Record one finished request: ``route`` is its template, or the path it asked for
        (labelled by :meth:`label`)."""
        route = self.label(route)
        key = (route, code)
        self.requests[key] = self.requests.get(key, 0) + 1
        h = self.hist.get(route)
        if h is None:
            h = self.hist[route] = [0] * (len(BUCKETS) + 1)
            self.sums[route] = 0.0
        h[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.sums[route] += seconds

    def series(self) -> int:
        """How many request series the page holds (counters and histograms)."""
        return len(self.requests) + len(self.hist)

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
        """The process's own metrics, then the start time gauge."""
        return [
            *process_lines(),
            "# HELP civicml_start_time_seconds Process start time.",
            "# TYPE civicml_start_time_seconds gauge",
            f"civicml_start_time_seconds {self.started:.3f}",
        ]

    def text(self, extra: Iterable[str] = ()) -> str:
        """The metrics page: requests, ``extra`` lines, then the process and start time."""
        return "\n".join([*self.request_lines(), *extra, *self.start_lines()]) + "\n"
