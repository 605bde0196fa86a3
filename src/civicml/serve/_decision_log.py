"""The decision log: every prediction, written off the hot path to rolled Parquet files.

The app hands each record to :meth:`DecisionLog.append`, which only puts it on a bounded queue;
a background thread writes ``predictions/part-*.parquet`` whenever ``max_rows`` records are
waiting or ``max_seconds`` have passed, and drains everything on :meth:`DecisionLog.close`, so a
graceful shutdown loses nothing. Reviewers' final decisions (human-in-the-loop) go to
``reviews/part-*.parquet`` the same way. :func:`read_decision_log` merges both for ``monitor/``.

Nothing in the log is reversible: each record keeps ``input_hmac``, a keyed hash of the input
(see :mod:`civicml.serve._log_key`; logs written before keep their ``input_sha256`` column and
still read), personal-data and free-text columns are removed (``"[redacted]"``) and
special-category columns pseudonymised under the same key. Folders are ``0700`` and files
``0600`` whatever the umask, and parts older than the retention period are deleted (see
:mod:`civicml.serve._retention`).

Examples
--------
>>> import tempfile, datetime as dt
>>> folder = tempfile.mkdtemp()
>>> log = DecisionLog(folder).start()
>>> log.append({"case_id": "c1", "request_id": "r1", "time": dt.datetime.now(dt.UTC),
...             "model_version": "1", "model_sha256": "ab", "input_hmac": "cd", "age": 30.0,
...             "score": 0.7, "prediction": "yes", "decision": 1, "latency_ms": 1.2})
>>> log.review("c1", reviewer_decision=0, reason="Evidence of work", reviewer="ops")
>>> log.close()
>>> df = read_decision_log(folder)
>>> df[["case_id", "decision", "reviewer_decision", "overridden"]].values.tolist()
[['c1', 1, 0, True]]
"""

from __future__ import annotations

import collections
import datetime as _dt
import io
import logging
import os
import queue
import re
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from civicml._files import private_dir, write_private_bytes
from civicml.serve._log_key import LogHasher, load_log_key
from civicml.serve._retention import apply_retention, check_retention_days, retention_days_from_env

__all__ = ["REDACTED", "DecisionLog", "read_decision_log"]

#: this host's name as it may stand in a file name (a Kubernetes pod's name): whose stream
_WRITER = re.sub(r"[^A-Za-z0-9.]+", "_", socket.gethostname())[:63] or "host"

REDACTED = "[redacted]"
_log = logging.getLogger("civicml.serve")
_STOP = object()
_DAY = 86_400.0


class DecisionLog:
    """Append-only, rolled Parquet log of predictions and reviews.

    Parameters
    ----------
    folder : path
        Where ``predictions/`` and ``reviews/`` are written.
    max_rows : int
        Roll a file once this many records are waiting.
    max_seconds : float
        Roll at least this often while records are waiting.
    max_queue : int
        Bound of the in-memory queue; when full, ``append`` waits (back-pressure, never loss).
    retention_days : float, optional
        Delete parts older than this at start and daily (default ``$CIVICML_LOG_RETENTION_DAYS``;
        unset: kept).
    on_delete : callable, optional
        Called with each deletion's record (e.g. to audit it in the registry).
    """

    def __init__(
        self,
        folder: str | Path,
        *,
        max_rows: int = 10_000,
        max_seconds: float = 10.0,
        max_queue: int = 100_000,
        retention_days: float | None = None,
        on_delete: Callable[[dict[str, Any]], Any] | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.max_rows = max_rows
        self.max_seconds = max_seconds
        self.max_queue = max_queue
        self.retention_days = (
            retention_days_from_env()
            if retention_days is None
            else check_retention_days(retention_days)
        )
        self.on_delete = on_delete
        self._hasher: LogHasher | None = None
        # Prediction records go into a deque: append is atomic and wakes no thread, so the
        # request path never pays for a context switch; the writer drains it when it wakes.
        self._pending: collections.deque[dict[str, Any]] = collections.deque()
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._seq = 0
        self.written = 0
        self.failed = 0

    @property
    def hasher(self) -> LogHasher:
        """Keyed hashes under this deployment's log key (loaded, or created, on first use)."""
        if self._hasher is None:
            self._hasher = LogHasher(load_log_key(self.folder))
        return self._hasher

    def start(self) -> DecisionLog:
        """Start the writer thread (idempotent); returns ``self``."""
        if self._thread is None or not self._thread.is_alive():
            private_dir(self.folder)  # and the parents it creates (.civicml/decisions)
            private_dir(self.folder / "predictions")
            private_dir(self.folder / "reviews")
            _ = self.hasher
            self._thread = threading.Thread(
                target=self._run, name="civicml-decision-log", daemon=True
            )
            self._thread.start()
        return self

    def append(self, record: dict[str, Any]) -> None:
        """Queue one prediction record (cheap; never blocks unless ``max_queue`` are waiting)."""
        pending = self._pending
        pending.append(record)
        if len(pending) >= self.max_queue:
            self._queue.put(("w", None))  # wake the writer, then wait for it to catch up
            while len(pending) >= self.max_queue and self._thread is not None:
                time.sleep(0.001)

    def extend(self, records: list[dict[str, Any]]) -> None:
        for r in records:
            self.append(r)

    def review(
        self,
        case_id: str,
        *,
        reviewer_decision: Any,
        reason: str | None,
        reviewer: str,
        overridden: bool | None = None,
        model_decision: Any = None,
        request_id: str | None = None,
    ) -> None:
        """Queue a reviewer's final decision for a logged case (``request_id``: the client's
        reference, kept for reading only)."""
        if overridden is None:
            overridden = model_decision is None or reviewer_decision != model_decision
        self._queue.put(
            (
                "r",
                {
                    "case_id": case_id,
                    "request_id": request_id,
                    "review_time": _dt.datetime.now(_dt.UTC),
                    "reviewer_decision": reviewer_decision,
                    "overridden": bool(overridden),
                    "override_reason": reason,
                    "reviewer": reviewer,
                },
            )
        )

    def close(self, timeout: float = 30.0) -> None:
        """Write everything queued and stop the writer thread."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout)
        self._thread = None

    def flush(self, timeout: float = 10.0) -> None:
        """Write what is queued now (for tests and shutdown hooks)."""
        done = threading.Event()
        self._queue.put(("f", done))
        done.wait(timeout)

    # -- writer thread --------------------------------------------------------------------
    def _retain(self) -> None:
        """Apply the retention period (never fatal: a failure is logged and retried daily)."""
        if self.retention_days is None:
            return
        try:
            apply_retention(self.folder, self.retention_days, on_delete=self.on_delete)
        except Exception as exc:
            _log.error(
                "decision log retention failed",
                extra={"event": "retention_error", "error": f"{type(exc).__name__}: {exc}"},
            )

    def _run(self) -> None:
        preds: list[dict[str, Any]] = []
        reviews: list[dict[str, Any]] = []
        last = time.monotonic()
        self._retain()
        next_retention = last + _DAY
        while True:
            if time.monotonic() >= next_retention:
                self._retain()
                next_retention = time.monotonic() + _DAY
            try:
                item = self._queue.get(timeout=max(0.05, self.max_seconds / 4))
            except queue.Empty:
                item = None
            stop = item is _STOP
            flush_now = False
            if item is not None and not stop:
                kind, payload = item
                if kind == "p":
                    preds.append(payload)
                elif kind == "r":
                    reviews.append(payload)
                elif kind == "f":
                    flush_now = True
            self._take(preds)
            due = time.monotonic() - last >= self.max_seconds
            if stop or flush_now or len(preds) >= self.max_rows or (due and (preds or reviews)):
                if stop or flush_now:
                    preds.extend(self._drain(reviews))
                    self._take(preds)
                self._write("predictions", preds)
                self._write("reviews", reviews)
                preds, reviews = [], []
                last = time.monotonic()
                if flush_now:
                    payload.set()
            if stop:
                return

    def _take(self, preds: list[dict[str, Any]]) -> None:
        pending = self._pending
        while True:
            try:
                preds.append(pending.popleft())
            except IndexError:
                return

    def _drain(self, reviews: list[dict[str, Any]]) -> list[dict[str, Any]]:
        more: list[dict[str, Any]] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return more
            if item is _STOP:
                self._queue.put(_STOP)
                return more
            kind, payload = item
            if kind == "p":
                more.append(payload)
            elif kind == "r":
                reviews.append(payload)
            elif kind == "f":
                payload.set()

    def _write(self, sub: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        import pandas as pd

        self._seq += 1
        stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        # one stream per replica and process: the host (a pod's name) and pid name the writer,
        # so replicas sharing a volume never write the same file; monitor merges them all
        path = self.folder / sub / f"part-{stamp}-{_WRITER}-{os.getpid()}-{self._seq:06d}.parquet"
        try:
            frame = pd.DataFrame.from_records(rows)
            for col in frame.columns:
                if frame[col].dtype == object and col not in ("time", "review_time"):
                    frame[col] = _uniform(frame[col])
            buffer = io.BytesIO()
            frame.to_parquet(buffer, index=False)
            write_private_bytes(path, buffer.getvalue())  # 0600, renamed into place
            self.written += len(rows)
        except Exception as exc:  # never crash the server for a log write; say so loudly
            self.failed += len(rows)
            _log.error(
                "decision log write failed",
                extra={"event": "decision_log_error", "error": f"{type(exc).__name__}: {exc}"},
            )


def _uniform(col: Any) -> Any:
    """Mixed-type object columns become text (Parquet needs one type per column)."""
    kinds = {type(v) for v in col if v is not None}
    if len(kinds) <= 1:
        return col
    if kinds <= {int, float, bool}:
        return col.astype("float64")
    return col.map(lambda v: None if v is None else str(v)).astype("str")


def read_decision_log(
    folder: str | Path,
    since: _dt.datetime | str | None = None,
    until: _dt.datetime | str | None = None,
    *,
    model_sha256: str | None = None,
    max_rows: int | None = None,
    seed: int = 0,
) -> Any:
    """Every logged prediction in ``[since, until)``, joined with reviewers' decisions.

    With ``model_sha256`` or ``max_rows`` the log is read through DuckDB, in bounded memory
    whatever its size: the period and the model version (``model_sha256``; logs without that
    column are not filtered) are filtered in SQL, and when more than ``max_rows`` rows are
    left, a uniform random sample of ``max_rows`` of them is returned (reproducible: the rows
    with the lowest hashes of ``seed`` and their place in the log); only the reviews of the rows returned are read. Without either, every part is
    read whole with pandas.

    Returns
    -------
    pandas.DataFrame
        ``case_id`` (assigned by the server), ``request_id`` (the client's reference),
        ``time`` (tz-aware UTC), ``model_version``, ``model_sha256``, ``input_hmac`` (older
        logs: ``input_sha256``), the input features (personal data as ``"[redacted]"``,
        special-category data as keyed pseudonyms), ``score``, ``prediction``, ``decision``,
        ``latency_ms``, and ``reviewer_decision``, ``overridden``, ``override_reason`` (empty
        where no review was recorded). Read through DuckDB, ``attrs["decision_log"]`` holds
        the true counts: ``rows_in_period`` (every model), ``rows`` (this model's rows in the
        period), ``rows_read``, ``sampled``, ``method`` and ``seed``.

    Examples
    --------
    >>> import tempfile, datetime as dt
    >>> folder = tempfile.mkdtemp()
    >>> log = DecisionLog(folder).start()
    >>> t0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    >>> for i in range(50):
    ...     log.append({"case_id": f"c{i}", "time": t0 + dt.timedelta(minutes=i),
    ...                 "model_sha256": "ab" if i % 5 else "old", "score": i / 50})
    >>> log.close()
    >>> df = read_decision_log(folder, model_sha256="ab", max_rows=10)
    >>> len(df), df.attrs["decision_log"]["rows"], df.attrs["decision_log"]["method"]
    (10, 40, 'uniform random sample')
    >>> df["time"].is_monotonic_increasing, set(df["model_sha256"])
    (True, {'ab'})
    """
    import pandas as pd

    root = Path(folder)
    lo = _utc(since) if since is not None else None
    hi = _utc(until) if until is not None else None
    counts: dict[str, Any] | None = None
    if model_sha256 is None and max_rows is None:
        df = _read_whole(root, lo, hi)
        rv = _read_reviews(root)
    else:
        df, counts = _read_duckdb(root, lo, hi, model_sha256, max_rows, seed)
        rv = _read_reviews(root, keys=df) if counts["rows_read"] else None
    if rv is not None and len(rv):
        df = _join_reviews(df, rv.sort_values("review_time", kind="stable"))
    else:
        df["reviewer_decision"] = None
        df["overridden"] = pd.Series([pd.NA] * len(df), dtype="boolean", index=df.index)
        df["override_reason"] = None
    df = df.sort_values("time", kind="stable").reset_index(drop=True)
    if counts is not None:
        df.attrs["decision_log"] = counts
    return df


def _empty_log() -> Any:
    import pandas as pd

    df = pd.DataFrame(
        {c: pd.Series(dtype="object") for c in ("request_id", "model_version", "prediction")}
    )
    df["time"] = pd.Series(dtype="datetime64[us, UTC]")
    return df


def _read_whole(root: Path, lo: Any, hi: Any) -> Any:
    """Every prediction part read with pandas, then the period kept (small logs)."""
    import pandas as pd

    parts = sorted((root / "predictions").glob("part-*.parquet"))
    frames = [pd.read_parquet(p) for p in parts]
    frames = [f for f in frames if len(f)]
    df = pd.concat(frames, ignore_index=True, sort=False) if frames else _empty_log()
    df["time"] = pd.to_datetime(df["time"], utc=True)
    if lo is not None:
        df = df[df["time"] >= lo]
    if hi is not None:
        df = df[df["time"] < hi]
    return df


#: DuckDB's memory cap when reading a log: above it, its hash tables spill to a temporary folder.
_DUCKDB_MEMORY = "2GB"


def _duckdb() -> Any:
    import tempfile

    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {min(4, os.cpu_count() or 1)}")
    con.execute(f"SET memory_limit = '{_DUCKDB_MEMORY}'")
    spill = str(Path(tempfile.gettempdir()) / "civicml-duckdb").replace("'", "''")
    con.execute(f"SET temp_directory = '{spill}'")
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET TimeZone = 'UTC'")
    return con


def _parquet_scan(parts: list[Path]) -> str:
    files = ", ".join("'" + str(p).replace("'", "''") + "'" for p in parts)
    return f"read_parquet([{files}], union_by_name = true)"


def _read_duckdb(
    root: Path, lo: Any, hi: Any, model_sha256: str | None, max_rows: int | None, seed: int
) -> tuple[Any, dict[str, Any]]:
    """The period's rows of one model version, or a uniform sample of them, and the counts."""
    import pandas as pd

    parts = sorted((root / "predictions").glob("part-*.parquet"))
    counts: dict[str, Any] = {
        "rows_in_period": 0,
        "rows": 0,
        "rows_read": 0,
        "sampled": False,
        "method": "every row",
        "seed": int(seed),
    }
    if not parts:
        return _empty_log(), counts
    con = _duckdb()
    try:
        scan = _parquet_scan(parts)
        names = {str(r[0]) for r in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()}
        if "time" not in names:
            from civicml._errors import DataError

            raise DataError.build(
                f"The decision log in {root} has no 'time' column",
                got=sorted(names)[:12],
                fix="Point --log-dir at a folder 'civicml serve' wrote",
            )
        where, params = ["TRUE"], []
        if lo is not None:
            where.append('"time" >= ?::TIMESTAMPTZ')
            params.append(lo.to_pydatetime())
        if hi is not None:
            where.append('"time" < ?::TIMESTAMPTZ')
            params.append(hi.to_pydatetime())
        period = " AND ".join(where)
        model, model_params = "TRUE", []
        if model_sha256 is not None and "model_sha256" in names:
            model, model_params = '"model_sha256" = ?', [model_sha256]
        n_period, n_mine = (
            int(v)
            for v in con.execute(
                f"SELECT count(*), count(*) FILTER (WHERE {model}) FROM {scan} WHERE {period}",
                [*model_params, *params],
            ).fetchall()[0]
        )
        mine, model_params = f"{period} AND {model}", [*params, *model_params]
        sampled = max_rows is not None and n_mine > int(max_rows)
        if sampled and not names & {"filename", "file_row_number", "__civicml_rank"}:
            df = _hash_sample(con, parts, mine, model_params, n_mine, int(max_rows or 0), seed)
        elif sampled:  # a logged column shadows DuckDB's row address: its (slower) reservoir
            sql = (
                f"SELECT * FROM (SELECT * FROM {scan} WHERE {mine}) "
                f"USING SAMPLE reservoir({int(max_rows or 0)} ROWS) REPEATABLE ({int(seed)})"
            )
            con.execute("SET threads = 1")  # REPEATABLE is reproducible on one thread only
            df = con.sql(sql, params=model_params).to_arrow_table().to_pandas()
        else:
            sql = f"SELECT * FROM {scan} WHERE {mine}"
            df = con.sql(sql, params=model_params).to_arrow_table().to_pandas()
    finally:
        con.close()
    df["time"] = pd.to_datetime(df["time"], utc=True)  # a naive TIMESTAMP is UTC
    counts.update(
        rows_in_period=n_period,
        rows=n_mine,
        rows_read=len(df),
        sampled=sampled,
        method="uniform random sample" if sampled else "every row",
    )
    return df, counts


def _hash_sample(
    con: Any, parts: list[Path], where: str, params: list[Any], n: int, k: int, seed: int
) -> Any:
    """``k`` of the ``n`` rows matching ``where``, uniformly at random and reproducibly: the
    ``k`` lowest seeded hashes of each row's address (file name, row number in the file).
    A hash does not depend on the order DuckDB's threads read the parts, so the sample is the
    same on any machine; the rows past a threshold that keeps ``k`` of them with a margin of
    10 standard deviations are dropped while reading, so only about ``k`` rows are sorted."""
    scan = _parquet_scan(parts).replace(
        "union_by_name = true", "union_by_name = true, filename = true, file_row_number = true"
    )
    ranked = (
        "SELECT *, hash(parse_filename(filename), file_row_number, ?::BIGINT) AS __civicml_rank "
        f"FROM {scan} WHERE {where}"
    )
    share = min(1.0, (k + 10 * k**0.5 + 10) / max(n, 1))
    cut = f"WHERE __civicml_rank < {int(share * 2**64 - 1)}::UBIGINT" if share < 1 else ""
    sql = (
        f"SELECT * EXCLUDE (filename, file_row_number, __civicml_rank) FROM ({ranked}) {cut} "
        f"ORDER BY __civicml_rank LIMIT {int(k)}"
    )
    table = con.sql(sql, params=[int(seed), *params]).to_arrow_table()
    if table.num_rows < k and cut:  # fewer past the threshold than k: 1 in 10^23; rank all
        sql = sql.replace(cut, "")
        table = con.sql(sql, params=[int(seed), *params]).to_arrow_table()
    return table.to_pandas()


def _read_reviews(root: Path, keys: Any = None) -> Any:
    """The review parts; with ``keys`` (a log frame) only the reviews of its rows, selected by
    DuckDB so a long review history is never loaded whole."""
    import pandas as pd

    parts = sorted((root / "reviews").glob("part-*.parquet"))
    if not parts:
        return None
    if keys is None:
        return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    con = _duckdb()
    try:
        scan = _parquet_scan(parts)
        names = {str(r[0]) for r in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()}
        conds = []
        for key in ("case_id", "request_id"):
            if key in names and key in keys.columns:
                wanted = pd.DataFrame({"k": keys[key].dropna().astype(str).unique()})
                con.register(f"wanted_{key}", wanted)
                conds.append(f'CAST("{key}" AS VARCHAR) IN (SELECT k FROM wanted_{key})')
        if not conds:
            return None
        sql = f"SELECT * FROM {scan} WHERE {' OR '.join(conds)}"
        return con.sql(sql).to_arrow_table().to_pandas()
    finally:
        con.close()


_REVIEW_COLUMNS = ("reviewer_decision", "overridden", "override_reason")


def _join_reviews(df: Any, rv: Any) -> Any:
    """Each prediction's latest review: by ``case_id``, or by ``request_id`` for reviews written
    before the server assigned case ids (a client's request id is not unique, so a review that
    has a case id is never matched on it)."""
    import pandas as pd

    has_case = rv["case_id"].notna() if "case_id" in rv.columns else pd.Series(False, rv.index)
    found = {c: pd.Series([None] * len(df), index=df.index, dtype=object) for c in _REVIEW_COLUMNS}
    for key, rows in (("request_id", rv[~has_case]), ("case_id", rv[has_case])):
        if not len(rows) or key not in df.columns:
            continue
        latest = rows.drop_duplicates(key, keep="last").set_index(key)
        hit = df[key].isin(latest.index)
        for c in _REVIEW_COLUMNS:
            if c in latest.columns:
                found[c][hit] = df.loc[hit, key].map(latest[c]).to_numpy()
    out = df.copy()
    out["reviewer_decision"] = found["reviewer_decision"]
    out["overridden"] = found["overridden"].astype("boolean")
    out["override_reason"] = found["override_reason"]
    return out


def _utc(ts: Any) -> Any:
    import pandas as pd

    t = pd.Timestamp(ts)
    return t.tz_convert("UTC") if t.tzinfo else t.tz_localize("UTC")
