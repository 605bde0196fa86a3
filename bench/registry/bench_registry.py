"""Registry latency at scale: 10,000 versions of one model and 1,000 models.

See README.md beside this file for the command. Prints a Markdown table and, with ``--write``,
replaces the ``## Registry`` section of the given Markdown file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from civicml.bundle import save_bundle
from civicml.registry import GENESIS_HASH, open_registry
from civicml.registry import _schema as t
from civicml.registry._audit import canonical_json, chain_event
from civicml.registry._replay import VERSION_STATE_FIELDS
from civicml.registry._sql import utc_now

SPEC = {
    "owner": {"team": "T", "senior_responsible_owner": "S", "contact": "c@example.gov.uk"},
    "intended_use": "Benchmarking",
    "out_of_scope_uses": ["Anything real"],
}


def _state(row: dict) -> dict:
    """The full-state record a register event carries for a seeded version row."""
    state = {k: row[k] for k in VERSION_STATE_FIELDS if k in row}
    for key in ("owner", "out_of_scope_uses", "checks", "legal"):
        state[key] = json.loads(row[key])
    return {**state, "signer": None}


def seed(reg, n_models: int, n_versions: int, extra_events: int = 0) -> None:
    """Bulk-insert models, versions, aliases and a valid keyed audit chain whose events carry
    the full state (as the registry writes them), so ``verify_audit`` replays and compares
    every row. ``extra_events`` adds governance events (same state) cycling over the versions.
    """
    now = utc_now()
    models, versions, events = [], [], []
    prev = GENESIS_HASH
    seq = 0
    identity = {"verified": False, "via": "api"}

    def event(action: str, subject: str, details: dict) -> None:
        nonlocal prev, seq
        seq += 1
        details = {**details, "identity": identity}
        ev = chain_event(seq, now, "seed", action, subject, None, details, prev, reg.audit_key)
        prev = ev.hash
        events.append(
            {
                "seq": ev.seq,
                "time": ev.time,
                "actor": ev.actor,
                "action": ev.action,
                "subject": ev.subject,
                "reason": None,
                "details": canonical_json(details),
                "prev_hash": ev.prev_hash,
                "hash": ev.hash,
                "mac": ev.mac,
            }
        )

    def version_row(mid: int, number: int) -> dict:
        digest = secrets.token_hex(32)
        return {
            "model_id": mid,
            "version": number,
            "digest": digest,
            "artifact_key": f"{digest[:2]}/{digest}",
            "status": "approved",
            "created_at": now,
            "created_by": "seed",
            "reason": None,
            "task": "binary",
            "owner": canonical_json(SPEC["owner"]),
            "intended_use": SPEC["intended_use"],
            "out_of_scope_uses": canonical_json(SPEC["out_of_scope_uses"]),
            "oversight": "advisory",
            "lawful_basis": None,
            "checks": "[]",
            "checks_passed": True,
            "override_by": None,
            "override_reason": None,
            "approved_by": "reviewer",
            "approved_at": now,
            "legal": "{}",
        }

    for mid in range(1, n_models + 1):
        models.append(
            {
                "id": mid,
                "name": f"model-{mid:04d}",
                "created_at": now,
                "created_by": "seed",
                "latest_version": 1,
            }
        )
        versions.append(version_row(mid, 1))
        event("register", f"model-{mid:04d}/1", {"state": _state(versions[-1])})
    big = n_models + 1
    models.append(
        {
            "id": big,
            "name": "big",
            "created_at": now,
            "created_by": "seed",
            "latest_version": n_versions,
        }
    )
    for number in range(1, n_versions + 1):
        versions.append(version_row(big, number))
        event("register", f"big/{number}", {"state": _state(versions[-1])})
    aliases = [
        {
            "model_id": mid,
            "alias": "production",
            "version": 1,
            "updated_at": now,
            "updated_by": "seed",
        }
        for mid in range(1, n_models + 1)
    ]
    aliases.append(
        {
            "model_id": big,
            "alias": "production",
            "version": n_versions - 1,
            "updated_at": now,
            "updated_by": "seed",
        }
    )
    for a in aliases:
        name = models[a["model_id"] - 1]["name"]
        event("alias", f"{name}@production", {"alias": "production", "version": a["version"]})
    for i in range(extra_events):
        row = versions[i % len(versions)]
        name = models[row["model_id"] - 1]["name"]
        event("governance", f"{name}/{row['version']}", {"fields": [], "state": _state(row)})
    with reg.store.engine.begin() as conn:
        conn.execute(t.models.insert(), models)
        for i in range(0, len(versions), 2000):
            conn.execute(t.versions.insert(), versions[i : i + 2000])
        conn.execute(t.aliases.insert(), aliases)
        for i in range(0, len(events), 2000):
            conn.execute(t.audit.insert(), events[i : i + 2000])
        conn.execute(t.audit_head.update().where(t.audit_head.c.id == 1).values(seq=seq, hash=prev))
        conn.exec_driver_sql("ANALYZE")


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    fn()  # warm
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def run_backend(
    kind: str, url: str, tmp: Path, n_models: int, n_versions: int
) -> dict[str, tuple[float, float]]:
    reg = open_registry(url, artifacts=str(tmp / f"artifacts-{kind}"), project_dir=tmp)
    try:
        start = time.perf_counter()
        seed(reg, n_models, n_versions)
        print(f"[{kind}] seeded in {time.perf_counter() - start:.1f}s", file=sys.stderr)
        bundles = iter(
            save_bundle(
                tmp / f"b-{kind}-{i}",
                documents={"model_info.json": {"i": i}, "spec.json": SPEC},
                files={"model.bin": os.urandom(50_000)},
            ).path
            for i in range(10_000)
        )
        results = {
            "register (new version of `big`, 50 KB bundle)": timed(
                lambda: reg.register(next(bundles), "big", actor="bench"), 40
            ),
            "resolve `big@production`": timed(lambda: reg.resolve("big@production"), 300),
            f"get_version `big/{n_versions // 2}`": timed(
                lambda: reg.get_version("big", n_versions // 2), 300
            ),
            "list_versions `big` first page (50)": timed(lambda: reg.list_versions("big"), 100),
            "list_versions `big` page after cursor 200 (50)": timed(
                lambda: reg.list_versions("big", before=200), 100
            ),
            f"list_versions `big` offset {n_versions * 9 // 10:,} (50)": timed(
                lambda: reg.list_versions("big", offset=n_versions * 9 // 10), 100
            ),
            "list_models first page (100)": timed(lambda: reg.list_models(limit=100), 100),
            "list_models search 'model-09' (100)": timed(
                lambda: reg.list_models(search="model-09"), 100
            ),
            f"verify_audit (~{n_versions + n_models:,} events)": timed(
                lambda: reg.verify_audit(), 3
            ),
        }
        ok = reg.verify_audit()
        assert ok.ok, ok
        return results
    finally:
        reg.close()


def _pg_schema(base: str) -> tuple[str, Callable[[], None]]:
    import psycopg

    schema = f"civicml_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    return f"{base}?options=-csearch_path%3D{schema}", drop


def to_markdown(
    results: dict[str, dict[str, tuple[float, float]]], args: argparse.Namespace
) -> str:
    kinds = list(results)
    lines = [
        "## Registry",
        "",
        f"Registry latency with {args.versions:,} versions of one model and {args.models:,} other "
        "models (one version each), through the public `Registry` API. Milliseconds, p50 / p95.",
        "",
        "| operation | " + " | ".join(kinds) + " |",
        "|---|" + "---|" * len(kinds),
    ]
    for op in results[kinds[0]]:
        cells = [f"{results[k][op][0]:.2f} / {results[k][op][1]:.2f}" for k in kinds]
        lines.append(f"| {op} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}; SQLite file in WAL mode; PostgreSQL 127.0.0.1 "
        f"(psycopg 3). Measured {time.strftime('%Y-%m-%d')}.",
        "",
        "Command:",
        "",
        "```",
        "OMP_NUM_THREADS=1 .venv/bin/python bench/registry/bench_registry.py --backend both "
        "--write docs/benchmarks.md",
        "```",
        "",
    ]
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    start = text.find("## Registry")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + ("" if end == -1 else text[end + 1 :])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--models", type=int, default=1_000)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--write", type=Path, default=None, help="Markdown file to update.")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        if args.backend in ("sqlite", "both"):
            url = f"sqlite:///{tmp / 'registry.db'}"
            results["SQLite"] = run_backend("sqlite", url, tmp, args.models, args.versions)
        if args.backend in ("postgres", "both"):
            url, drop = _pg_schema(args.pg_url)
            try:
                results["PostgreSQL"] = run_backend(
                    "postgres", url, tmp, args.models, args.versions
                )
            finally:
                drop()
    section = to_markdown(results, args)
    print(section)
    if args.write:
        write_section(args.write, section)


if __name__ == "__main__":
    main()
