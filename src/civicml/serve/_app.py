"""The serving app: a small raw-ASGI application on the foundation (no framework on the hot path).

Authentication, the error body, request ids, the request log, metrics and the lifespan come from
:mod:`civicml.asgi`, called inline so a request allocates nothing the foundation adds.

Routes
------
``GET /v2/health/live``, ``GET /v2/health/ready`` (no token), ``GET /v2``,
``GET /v2/models/{name}[/versions/{v}]``, ``…/ready``, ``POST …/infer`` (Open Inference
Protocol v2, JSON and binary tensors), ``POST /predict`` (JSON records or CSV),
``POST /invocations`` (MLflow's formats), ``GET /metrics`` (Prometheus), ``GET /openapi.json``,
and the cases of :mod:`civicml.serve._cases`: ``POST /decisions/{case_id}/contest``,
``POST /decisions/{case_id}/review``, ``GET /decisions/queue``, ``GET /decisions/{case_id}``.

Every decision gets a server-assigned case id (``X-Case-Id``; ``case_ids`` in ``/predict``'s
body); the client's ``X-Request-Id`` is kept in the log only as a reference. The old
``POST /decisions/{request_id}`` answers 410 naming the new routes.

Every error is ``{"error": "..."}`` with a 4xx status (422 adds ``errors``, one per field); a
bug is a 500 with the request id, never a stack trace.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as _dt
import io
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from civicml.asgi import (
    JSON,
    PROMETHEUS_TEXT,
    Authenticator,
    HTTPError,
    Mounts,
    RequestContext,
    RequestIds,
    TokenVerifier,
    allow_method,
    error_response,
    headers_of,
    hsts_headers,
    log_request,
    run_lifespan,
)
from civicml.serve._batching import MicroBatcher
from civicml.serve._cases import CaseDesk
from civicml.serve._content import CSV_OR_JSON, INFER_TYPES, JSON_ONLY, media_type, read_request
from civicml.serve._decision_log import REDACTED, DecisionLog
from civicml.serve._metrics import Metrics
from civicml.serve._oip import BadRequest, loads_json, parse_infer, render_infer
from civicml.serve._openapi import openapi_document
from civicml.serve._reload import ModelHolder
from civicml.serve._reviews import ReviewQueue
from civicml.serve._routes import DECISION_ROUTE, MLFLOW_PROBES, MODEL_ROUTE, route_of
from civicml.serve._runtime import ModelRuntime
from civicml.serve._validate import ValidationFailed

__all__ = ["ServingApp"]

_log = logging.getLogger("civicml.serve")
Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]

_GONE = (
    "POST /decisions/{request_id} was replaced: a reviewer (a token with the 'review' scope) "
    "posts the outcome to /decisions/{case_id}/review, and the service that asked for a "
    "decision contests it at /decisions/{case_id}/contest. The case id is the X-Case-Id the "
    "prediction returned."
)
_JSON = JSON
_METRICS_TYPE = [(b"content-type", PROMETHEUS_TEXT)]
_TEXT = [(b"content-type", b"text/plain; charset=utf-8")]
_TOO_BIG = "Send fewer rows per request."
_MLFLOW_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
_MAX_EXPLAIN_ROWS = 100


class ServingApp:
    """The ASGI application. Build it with :func:`civicml.serve.create_app`.

    Parameters
    ----------
    holder : ModelHolder
        The current model (and its hot-reload poller).
    verifier : TokenVerifier or None
        Checks bearer tokens; ``None`` refuses every authenticated route.
    decision_log : DecisionLog, optional
        Where predictions are recorded.
    access_log : bool
        Log one JSON line per request (errors are always logged).
    review_queue : ReviewQueue, path or URL, optional
        Where cases for a person are kept (default: ``review_queue.db`` in the decision-log
        folder; without a decision log there is no queue).
    """

    def __init__(
        self,
        holder: ModelHolder,
        verifier: TokenVerifier | None,
        *,
        decision_log: DecisionLog | None = None,
        access_log: bool = False,
        review_queue: ReviewQueue | str | None = None,
    ) -> None:
        self.holder = holder
        self.decision_log = decision_log
        self.access_log = access_log
        self.auth = Authenticator(verifier)
        self.limiter = self.auth.limiter
        self.metrics = Metrics()
        self.options = holder.options
        self.batcher: MicroBatcher | None = None
        if self.options.max_batch_size > 1:
            self.batcher = MicroBatcher(self.options.max_batch_size, self.options.max_batch_time_ms)
        self.inflight = 0
        self.ids = RequestIds()
        self.cases = CaseDesk(decision_log, review_queue)
        self._log_policy: tuple[Any, frozenset[str]] = (None, frozenset())
        self.mounts = Mounts()
        holder.on_reload = self._on_reload

    @property
    def verifier(self) -> TokenVerifier | Callable[[str], Any] | None:
        """The token verifier behind :attr:`auth` (what a mounted app should check tokens with)."""
        return self.auth.verify

    @verifier.setter
    def verifier(self, value: TokenVerifier | Callable[[str], Any] | None) -> None:
        self.auth.verify = value

    def mount(self, prefix: str, app: Any, *, route: Callable[[str], str] | None = None) -> None:
        """Serve every path under ``prefix`` (e.g. ``"/bandits/"``) with another ASGI app.

        The mounted app authenticates with the same tokens (build it with this app's
        ``auth``); it shares this app's request ids, request log and ``/metrics`` through the
        foundation's :class:`~civicml.asgi.RequestContext` (``route`` labels its paths).
        """
        wrapped = RequestContext(
            app,
            logger=_log,
            metrics=self.metrics,
            ids=self.ids,
            access_log=self.access_log,
            route=route or getattr(app, "route_of", None),
        )
        self.mounts.add(prefix, wrapped)

    # -- lifecycle ------------------------------------------------------------------------
    def startup(self) -> None:
        if self.holder.runtime is None:
            self.holder.load()
        if self.decision_log is not None:
            self.decision_log.start()
        self.cases.start()
        self.holder.start()
        rt = self.holder.runtime
        _log.info(
            "serving",
            extra={
                "event": "start",
                "model": rt.name if rt else None,
                "model_version": rt.version if rt else None,
                "runtime": rt.runtime_name if rt else None,
            },
        )

    async def shutdown(self) -> None:
        for _ in range(300):  # let in-flight requests finish (up to 30 s)
            if self.inflight == 0:
                break
            await asyncio.sleep(0.1)
        self.holder.stop()
        if self.decision_log is not None:
            self.decision_log.close()
        self.cases.close()
        _log.info("stopped", extra={"event": "stop"})

    def _on_reload(self, ok: bool, message: str) -> None:
        if ok:
            self.metrics.reloads += 1
        else:
            self.metrics.reload_failures += 1

    # -- ASGI -----------------------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            if self.mounts:
                sub = self.mounts.find(scope.get("path", ""))
                if sub is not None:
                    await sub(scope, receive, send)
                    return
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await run_lifespan(receive, send, startup=self.startup, shutdown=self.shutdown)

    async def _http(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        headers = headers_of(scope)
        rid = self.ids(headers.get("x-request-id"))
        path: str = scope["path"]
        method: str = scope["method"]
        route = route_of(path)
        extra: list[tuple[bytes, bytes]] = []
        self.inflight += 1
        try:
            status, body, ctype, route, extra = await self._dispatch(
                method, path, headers, receive, rid, started
            )
        except Exception as exc:
            status, body, extra = error_response(exc, rid, path=path, logger=_log)
            ctype = _JSON
        finally:
            self.inflight -= 1
        out = [
            *ctype,
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", rid.encode()),
            *extra,
            *hsts_headers(scope),
        ]
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": body})
        elapsed = time.perf_counter() - started
        self.metrics.observe(route, status, elapsed)
        if status >= 400 or self.access_log:
            log_request(
                _log,
                request_id=rid,
                method=method,
                route=route,
                status=status,
                seconds=elapsed,
                access_log=self.access_log,
            )

    async def _dispatch(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        receive: Receive,
        rid: str,
        started: float,
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]], str, list[tuple[bytes, bytes]]]:
        if path == "/v2/health/live":
            return 200, b'{"live":true}', _JSON, path, []
        if path == "/v2/health/ready":
            ready = self.holder.runtime is not None
            return (200 if ready else 503), orjson.dumps({"ready": ready}), _JSON, path, []
        if path in MLFLOW_PROBES:
            return self._mlflow_probe(method, path)
        if path == "/predict" or path == "/invocations":
            self._allow_method(method, "POST")
            token = self._auth(headers, "predict")
            is_csv = media_type(headers, CSV_OR_JSON) == "text/csv"
            body = await self._body(receive, headers)
            return await self._predict(
                body, is_csv, rid, started, token, mlflow=path == "/invocations"
            )
        if path == "/explain":
            self._allow_method(method, "POST")
            self._auth(headers, "predict")
            media_type(headers, JSON_ONLY)
            body = await self._body(receive, headers)
            return (*self._explain(body, rid), path, [])
        m = MODEL_ROUTE.match(path)
        if m:
            name, version, tail = m.group(1), m.group(2), m.group(3)
            route = "/v2/models/{name}" + ("/versions/{v}" if version else "") + (tail or "")
            token = self._auth(headers, "predict")
            runtime = self._model(name, version)
            if tail == "/infer":
                self._allow_method(method, "POST")
                media_type(headers, INFER_TYPES)
                body = await self._body(receive, headers)
                status, out, ctype, extra = await self._infer(
                    runtime, body, headers, rid, started, token
                )
                return status, out, ctype, route, extra
            self._allow_method(method, "GET")
            if tail == "/ready":
                return 200, orjson.dumps({"name": runtime.name, "ready": True}), _JSON, route, []
            return 200, orjson.dumps(runtime.metadata()), _JSON, route, []
        if path == "/v2":
            self._allow_method(method, "GET")
            self._auth(headers, "predict")
            from civicml import __version__

            doc = {"name": "civicml", "version": __version__, "extensions": ["binary_tensor_data"]}
            return 200, orjson.dumps(doc), _JSON, path, []
        if path.startswith("/decisions/"):
            return await self._decisions(method, path, headers, receive)
        if path == "/metrics":
            self._allow_method(method, "GET")
            self._auth(headers, "admin", also="viewer")
            rt = self._runtime()
            text = self.metrics.render(
                model=rt.name, version=rt.version, sha256=rt.sha256, runtime=rt.runtime_name
            )
            return 200, text.encode(), _METRICS_TYPE, path, []
        if path == "/openapi.json":
            self._allow_method(method, "GET")
            self._auth(headers, "predict")
            return 200, orjson.dumps(openapi_document(self._runtime())), _JSON, path, []
        raise HTTPError(
            404, "not_found", f"There is no endpoint {path[:100]!r}. See /openapi.json."
        )

    async def _decisions(
        self, method: str, path: str, headers: dict[str, str], receive: Receive
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]], str, list[tuple[bytes, bytes]]]:
        """The case routes (see :mod:`civicml.serve._cases`)."""
        if path == "/decisions/queue":
            self._allow_method(method, "GET")
            self._auth(headers, "review")
            return 200, orjson.dumps(await self.cases.list_open()), _JSON, path, []
        m = DECISION_ROUTE.match(path)
        if m is None:
            raise HTTPError(404, "not_found", "There is no such case route. See /openapi.json.")
        case_id, action = m.group(1), m.group(2)
        if action == "/contest":
            self._allow_method(method, "POST")
            token = self._auth(headers, "predict", also="review")
            media_type(headers, JSON_ONLY)
            body = await self._body(receive, headers)
            doc = await self.cases.contest(case_id, body, token)
            return 201, orjson.dumps(doc), _JSON, "/decisions/{case_id}/contest", []
        if action == "/review":
            self._allow_method(method, "POST")
            token = self._auth(headers, "review")
            media_type(headers, JSON_ONLY)
            body = await self._body(receive, headers)
            doc = await self.cases.review(case_id, body, token)
            return 200, orjson.dumps(doc), _JSON, "/decisions/{case_id}/review", []
        if method == "POST":  # the old review route
            self._auth(headers, "predict", also="review")
            raise HTTPError(410, "gone", _GONE)
        self._allow_method(method, "GET")
        self._auth(headers, "review")
        doc = await self.cases.show(case_id)
        return 200, orjson.dumps(doc), _JSON, "/decisions/{case_id}", []

    # -- helpers --------------------------------------------------------------------------
    _allow_method = staticmethod(allow_method)

    def _runtime(self) -> ModelRuntime:
        rt = self.holder.runtime
        if rt is None:
            raise HTTPError(503, "unavailable", "The model is not loaded yet. Try again shortly.")
        return rt

    def _model(self, name: str, version: str | None) -> ModelRuntime:
        rt = self._runtime()
        if name != rt.name:
            raise HTTPError(
                404,
                "not_found",
                f"Model {name[:100]!r} is not served here; this server serves {rt.name!r}.",
            )
        if version is not None and version != rt.version:
            raise HTTPError(
                404,
                "not_found",
                f"Version {version[:50]!r} of {rt.name!r} is not served; the "
                f"served version is {rt.version!r}.",
            )
        return rt

    def _auth(self, headers: dict[str, str], scope: str, also: str | None = None) -> Any:
        return self.auth.bearer(headers.get("authorization"), scope, also)

    async def _body(self, receive: Receive, headers: dict[str, str]) -> bytes:
        """The request body, its ``Content-Encoding`` undone; sent and decoded bytes are each
        capped at ``max_body_bytes`` (413)."""
        return await read_request(receive, headers, self.options.max_body_bytes, fix=_TOO_BIG)

    def _mlflow_probe(
        self, method: str, path: str
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]], str, list[tuple[bytes, bytes]]]:
        """``/ping``, ``/health`` and ``/version`` as MLflow's scoring server answers them (no
        token): 200 and a newline once the model is loaded and warmed (503 before), and the
        server's version as plain text."""
        self._allow_method(method, "GET")
        if path == "/version":
            from civicml import __version__

            return 200, __version__.encode(), _TEXT, path, []
        ready = self.holder.runtime is not None
        return (200 if ready else 503), b"\n", _TEXT, path, []

    async def _score(self, rt: ModelRuntime, columns: dict[str, list[Any]], n: int) -> Any:
        if n > self.options.max_rows:
            raise HTTPError(
                413,
                "too_large",
                f"The request has {n} rows; the limit is "
                f"{self.options.max_rows}. Send fewer rows per request.",
            )
        try:
            if self.batcher is not None and n < self.options.max_batch_size:
                out = await self.batcher.predict(rt, columns, n)
            else:
                out = rt.predict_columns(columns)
        except (ValueError, TypeError) as exc:
            first = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
            raise HTTPError(
                422,
                "unscorable",
                f"The model could not score these rows ({first}). Check the values sent.",
            ) from None
        self.metrics.rows += n
        return out

    async def _predict(
        self,
        body: bytes,
        is_csv: bool,
        rid: str,
        started: float,
        token: Any,
        *,
        mlflow: bool,
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]], str, list[tuple[bytes, bytes]]]:
        rt = self._runtime()
        route = "/invocations" if mlflow else "/predict"
        if is_csv:
            columns, n = _parse_csv(body, rt)
        else:
            doc = _loads(body)
            columns, n = _mlflow_columns(doc, rt) if mlflow else _records_columns(doc, rt)
        out = await self._score(rt, columns, n)
        rows = _rows(out, n)
        case_ids = await self._decided(rt, rid, columns, out, n, started, token)
        if mlflow:
            doc_out: dict[str, Any] = {"predictions": rows}
        else:
            doc_out = {
                "request_id": rid,
                "model_name": rt.name,
                "model_version": rt.version,
                "predictions": rows,
                "case_ids": case_ids,
            }
        return 200, orjson.dumps(doc_out), _JSON, route, [_case_header(case_ids)]

    async def _infer(
        self,
        rt: ModelRuntime,
        body: bytes,
        headers: dict[str, str],
        rid: str,
        started: float,
        token: Any,
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]], list[tuple[bytes, bytes]]]:
        req = parse_infer(body, headers.get("inference-header-content-length"), rt)
        columns = rt.schema.validate_columns(req.columns, req.n_rows)
        out = await self._score(rt, columns, req.n_rows)
        case_ids = await self._decided(rt, req.id or rid, columns, out, req.n_rows, started, token)
        data, hdrs = render_infer(rt, req, out)
        ctype = [(b"content-type", hdrs.pop("content-type").encode())]
        extra = [(k.encode(), v.encode()) for k, v in hdrs.items()]
        return 200, data, ctype, [*extra, _case_header(case_ids)]

    def _explain(self, body: bytes, rid: str) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        """Per-row reasons: the features that moved each row's score most, in plain words."""
        # Imported at the first explain request: civicml.assess (pandas, scikit-learn; not
        # fairlearn, not civicml.learn) adds ~60 ms once, and no serving process pays it unless
        # it explains (measured with -X importtime).
        from civicml.assess import explain_rows

        rt = self._runtime()
        columns, n = _records_columns(_loads(body), rt)
        if n > _MAX_EXPLAIN_ROWS:
            raise BadRequest(f"Explain at most {_MAX_EXPLAIN_ROWS} rows per request; got {n}.")
        frame = rt.frame(columns)
        out = rt.predict_columns(columns)
        reasons = explain_rows(
            rt.predictor.model,
            frame,
            features=rt.features,
            reference=rt.reference,
            classes=rt.classes or None,
        )
        rows = _rows(out, n)
        for row, why in zip(rows, reasons, strict=True):
            row["reasons"] = [r.to_dict() for r in why]
        doc = {
            "request_id": rid,
            "model_name": rt.name,
            "model_version": rt.version,
            "predictions": rows,
        }
        return 200, orjson.dumps(doc), _JSON

    async def _decided(
        self,
        rt: ModelRuntime,
        rid: str,
        columns: dict[str, list[Any]],
        out: dict[str, list[Any]],
        n: int,
        started: float,
        token: Any,
    ) -> list[str]:
        """Give each decided row a case id, remember it, log it, and queue it for a reviewer
        when the deployment is human-in-the-loop (the only SQL write on the prediction path)."""
        base = self.cases.new_id()
        case_ids = [base] if n == 1 else [f"{base}-{i}" for i in range(n)]
        self._log_rows(rt, rid, case_ids, columns, out, started, token)
        if rt.oversight == "human-in-the-loop":
            await self.cases.open_for_review(case_ids)
        return case_ids

    def _policy(self, rt: ModelRuntime) -> frozenset[str]:
        """The special-category columns of ``rt`` (pseudonymised in the log), cached per load."""
        if self._log_policy[0] is not rt:
            spec = rt.bundle.read_json("spec.json") if rt.bundle.has("spec.json") else {}
            special = ((spec or {}).get("columns") or {}).get("special_category") or {}
            self._log_policy = (rt, frozenset(str(c) for c in special) - rt.personal_columns)
        return self._log_policy[1]

    def _log_rows(
        self,
        rt: ModelRuntime,
        rid: str,
        case_ids: list[str],
        columns: dict[str, list[Any]],
        out: dict[str, list[Any]],
        started: float,
        token: Any,
    ) -> None:
        now = _dt.datetime.now(_dt.UTC)
        caller = str(getattr(token, "name", "") or "")
        caller_id = str(getattr(token, "id", "") or "")
        remember = self.cases.remember
        for i, case_id in enumerate(case_ids):
            remember(case_id, (rid, caller, caller_id, rt, out, i, now))
        log = self.decision_log
        if log is None:
            return
        latency = round((time.perf_counter() - started) * 1000, 3)
        names = rt.schema.names
        redact = rt.personal_columns
        special = self._policy(rt)
        hasher = log.hasher
        governance = rt.log_fields
        n = len(case_ids)
        for i, case_id in enumerate(case_ids):
            rec: dict[str, Any] = {
                "case_id": case_id,
                "request_id": rid if n == 1 else f"{rid}:{i}",
                "time": now,
                "model_version": rt.version,
                "model_sha256": rt.sha256,
                "caller": caller,
                "caller_id": caller_id,
            }
            values = [columns[c][i] for c in names]
            rec["input_hmac"] = hasher.input_hmac(values)
            for c, v in zip(names, values, strict=True):
                if v is None:
                    rec[c] = None
                elif c in redact:
                    rec[c] = REDACTED
                elif c in special:
                    rec[c] = hasher.pseudonym(c, v)
                else:
                    rec[c] = v
            for k, v in out.items():
                rec[k] = v[i]
            rec["latency_ms"] = latency
            rec.update(governance)
            log.append(rec)


def _case_header(case_ids: list[str]) -> tuple[bytes, bytes]:
    """``X-Case-Id``: the case id of a one-row request; for more rows their shared stem
    (row ``i`` is ``STEM-i``)."""
    first = case_ids[0] if case_ids else ""
    return b"x-case-id", (first if len(case_ids) == 1 else first.rsplit("-", 1)[0]).encode()


def _loads(body: bytes) -> Any:
    if not body:
        raise BadRequest(
            "The request body is empty. Send JSON (or CSV with Content-Type text/csv)."
        )
    try:
        return loads_json(body)  # one nesting bound for every JSON body
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"The request body is not valid JSON ({str(exc)[:120]}).") from None


def _records_columns(doc: Any, rt: ModelRuntime) -> tuple[dict[str, list[Any]], int]:
    if isinstance(doc, dict) and "records" in doc:
        doc = doc["records"]
    elif isinstance(doc, dict) and any(k in doc for k in _MLFLOW_KEYS):
        return _mlflow_columns(doc, rt)
    if isinstance(doc, dict):
        doc = [doc]
    if not isinstance(doc, list):
        raise BadRequest('Send a JSON object (one row), a list of objects, or {"records": [...]}.')
    return rt.schema.validate_records(doc), len(doc)


def _mlflow_columns(doc: Any, rt: ModelRuntime) -> tuple[dict[str, list[Any]], int]:
    if not isinstance(doc, dict):
        raise BadRequest("Send a JSON object with one of " + ", ".join(_MLFLOW_KEYS) + ".")
    keys = [k for k in _MLFLOW_KEYS if k in doc]
    if len(keys) != 1:
        raise BadRequest(f"Send exactly one of {list(_MLFLOW_KEYS)}; got {sorted(doc)[:10]}.")
    key = keys[0]
    data = doc[key]
    schema = rt.schema
    if key == "dataframe_split":
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            raise BadRequest('\'dataframe_split\' needs {"columns": [...], "data": [[...]]}.')
        cols = data.get("columns")
        rows = data["data"]
        if cols is None:
            cols = schema.names
        if not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
            raise BadRequest("'dataframe_split.columns' must be a list of column names.")
        if not all(isinstance(r, list) and len(r) == len(cols) for r in rows):
            raise BadRequest(f"Each row of 'dataframe_split.data' must list {len(cols)} values.")
        if not rows:
            raise ValidationFailed([{"field": "(body)", "problem": "holds no rows"}])
        columns = {c: [r[j] for r in rows] for j, c in enumerate(cols)}
        return schema.validate_columns(columns, len(rows)), len(rows)
    if key == "dataframe_records":
        if not isinstance(data, list):
            raise BadRequest("'dataframe_records' must be a list of row objects.")
        return schema.validate_records(data), len(data)
    # instances / inputs: a list of row objects, or a dict of column -> values
    if isinstance(data, dict):
        lengths = {len(v) if isinstance(v, list) else 1 for v in data.values()}
        if len(lengths) != 1:
            raise BadRequest(f"Every column in '{key}' must have the same number of values.")
        n = lengths.pop()
        columns = {k: (v if isinstance(v, list) else [v]) for k, v in data.items()}
        return schema.validate_columns(columns, n), n
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        return schema.validate_records(data), len(data)
    raise BadRequest(f"'{key}' must be a list of row objects or an object of column lists.")


def _parse_csv(body: bytes, rt: ModelRuntime) -> tuple[dict[str, list[Any]], int]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("The CSV body is not UTF-8 text.") from None
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
        rows = list(reader)
    except (StopIteration, csv.Error):
        raise BadRequest("The CSV body has no header row.") from None
    rows = [r for r in rows if r]
    if not all(len(r) == len(header) for r in rows):
        raise BadRequest(f"Every CSV row must have {len(header)} values, like the header.")
    if not rows:
        raise ValidationFailed([{"field": "(body)", "problem": "holds no rows"}])
    columns = {c: [r[j] if r[j] != "" else None for r in rows] for j, c in enumerate(header)}
    return rt.schema.validate_columns(columns, len(rows)), len(rows)


def _rows(out: dict[str, list[Any]], n: int) -> list[dict[str, Any]]:
    keys = list(out)
    cols = [out[k] for k in keys]
    return [{k: c[i] for k, c in zip(keys, cols, strict=True)} for i in range(n)]
