"""One small registry for every web test: a synthetic project trained once per session (two
versions, v1 in production, v2 waiting for approval), its recorded runs (the finished run that
registered v1, and a failed run whose target is missing), four tokens and a decision log."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from atrs_gate import exempt

SPEC = """name: outreach
description: Synthetic test project for the dashboard.
data:
  path: data.csv
target: ui
task: binary
metric: roc_auc
max_trials: 2
seed: 0
cv_folds: 3
protected:
  sex: sex
owner:
  organisation: Example Department
  team: Analytics
  senior_responsible_owner: Director of Analytics
  contact: team@example.gov.uk
intended_use: Prioritising outreach to people likely to be eligible.
out_of_scope_uses:
  - Deciding anyone's entitlement
"""


#: a run of the same project that fails: its target column is not in the data
FAILING_TARGET = "outcome_missing"


@dataclass(frozen=True)
class Site:
    """The test registry, its tokens and its recorded runs."""

    root: Path
    uri: str
    tokens: dict[str, str]
    decision_log: Path
    finished_run: str = ""
    failed_run: str = ""

    def config(self, **kw: object):
        from civicml.web import WebConfig

        return WebConfig(
            registry_uri=self.uri,
            project_dir=self.root,
            decision_log=self.decision_log,
            secret="test-secret",
            cache_dir=self.root / "ui-cache",
            **kw,  # type: ignore[arg-type]
        )


def _frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "tenure": rng.integers(1, 30, n).astype(float),
            "age": rng.integers(18, 70, n),
            "sex": rng.choice(["female", "male"], n),
            "region": rng.choice(["north", "south", "east"], n),
        }
    )
    logit = 0.12 * (df["tenure"] - 10) + (df["region"] == "north") * 0.8
    df["ui"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return df


def _copy_bundle(src: Path, dest: Path) -> Path:
    """The same model as a different bundle (a second run with a later timestamp)."""
    from civicml.bundle import load_bundle, save_bundle

    b = load_bundle(src)
    files = {n: b.read_bytes(n) for n in b.files if n != "manifest.json"}
    lineage = json.loads(files.pop("lineage.json"))
    lineage["seconds"] = float(lineage.get("seconds", 0)) + 1.0
    save_bundle(dest, files=files, documents={"lineage.json": lineage})
    return dest


def _decision_log(folder: Path, reference: pd.DataFrame, digest: str) -> None:
    import datetime as dt

    from civicml.serve import DecisionLog

    log = DecisionLog(folder).start()
    rng = np.random.default_rng(1)
    now = dt.datetime.now(dt.UTC)
    for i, row in enumerate(reference.head(150).to_dict("records")):
        rec = {k: v for k, v in row.items() if k != "ui"}
        if "tenure" in rec:
            rec["tenure"] = float(rec["tenure"]) + 8.0  # a shift the monitor should see
        rec.update(
            request_id=f"r{i}",
            time=now,
            model_version="1",
            model_sha256=digest,
            input_sha256="x",
            score=float(rng.random()),
            prediction="yes",
            decision=1,
            latency_ms=1.0,
        )
        log.append(rec)
    log.close()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    import civicml
    from civicml.registry import open_registry
    from civicml.workflow import run_project

    root = tmp_path_factory.mktemp("webproject")
    _frame().to_csv(root / "data.csv", index=False)
    (root / "civicml.yaml").write_text(SPEC, encoding="utf-8")
    uri = f"sqlite:///{root / 'registry.db'}"
    spec = civicml.load_spec(root / "civicml.yaml")
    outcome = run_project(spec, root / "out", pdf=False, register_as="alice", registry_uri=uri)
    assert outcome.registered is not None and outcome.training.run_id is not None
    failed_run = _failed_run(root, uri)
    with open_registry(uri, project_dir=root) as reg:
        reg.register(_copy_bundle(root / "out" / "bundle", root / "b2"), "outreach", actor="alice")
        for n in (1, 2):
            v = reg.get_version("outreach", n)
            if v.checks_passed is not True:
                reg.override_checks("outreach", n, by="carol", reason="Gap reviewed by the board")
            reg.request_approval(
                "outreach", n, actor="alice", reason="Ready", oversight="human-in-the-loop"
            )
        reg.approve("outreach", 1, by="carol", reason="Report reviewed")
        for n in (1, 2):  # the dashboard tests are not about the ATRS record's gaps
            exempt(reg, "outreach", n, by="carol")
        reg.promote("outreach", 1, actor="carol", reason="First release")
        tokens = {
            "alice": reg.create_token("alice", "approver", "admin", owner="alice"),
            "bob": reg.create_token("bob", "approver", "admin", owner="bob"),
            "vera": reg.create_token("vera", "viewer", "admin", owner="vera"),
            "svc": reg.create_token("svc", "predict", "admin", owner="svc"),
        }
        v1 = reg.get_version("outreach", 1)
        ref = reg.load_version("outreach/1").read_table("reference.parquet")
    log = root / "logs"
    _decision_log(log, ref, v1.digest)
    shutil.rmtree(root / "out" / "report", ignore_errors=True)
    return Site(root, uri, tokens, log, outcome.training.run_id, failed_run)


def _failed_run(root: Path, uri: str) -> str:
    """Train with a target that is not in the data: the run is recorded as failed."""
    import civicml
    from civicml._errors import CivicMLError
    from civicml.tracking import open_runs
    from civicml.workflow import run_training

    (root / "failing.yaml").write_text(
        SPEC.replace("target: ui", f"target: {FAILING_TARGET}"), encoding="utf-8"
    )
    spec = civicml.load_spec(root / "failing.yaml")
    with pytest.raises(CivicMLError):
        run_training(spec, root / "failed-bundle", runs_uri=uri)
    with open_runs(uri, project_dir=root) as runs:
        failed = runs.list_runs(status="failed", limit=1)
    assert failed and FAILING_TARGET in (failed[0].error or "")
    return failed[0].id


@pytest.fixture
def fresh_site(site: Site, tmp_path: Path) -> Site:
    """A copy of the site's registry that a test may change."""
    root = tmp_path / "copy"
    shutil.copytree(site.root, root)
    return Site(
        root,
        f"sqlite:///{root / 'registry.db'}",
        site.tokens,
        root / "logs",
        site.finished_run,
        site.failed_run,
    )


# The real OpenID Provider (node, oidc-provider) and the dashboard signing people in through it.
from .oidc_fixture import oidc_dashboard  # noqa: E402, F401
