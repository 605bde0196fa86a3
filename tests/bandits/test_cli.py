from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from civicml.bandits import BanditService, LetterEnvironment, open_bandit_store
from civicml.cli._bandits import bandits_app

SPEC = Path(__file__).resolve().parents[2] / "examples" / "letters" / "bandit.yaml"
runner = CliRunner()


def test_create_status_evaluate(db_uri):
    out = runner.invoke(bandits_app, ["create", "letters", "--spec", str(SPEC), "--db", db_uri])
    assert out.exit_code == 0, out.output
    again = runner.invoke(bandits_app, ["create", "letters", "--spec", str(SPEC), "--db", db_uri])
    assert again.exit_code == 2 and "already exists" in again.output

    store = open_bandit_store(db_uri)
    service, env, rng = BanditService(store, seed=0), LetterEnvironment(), np.random.default_rng(0)
    for x in env.sample_contexts(400, rng):
        o = service.choose("letters", dict(zip(env.features, x, strict=True)))
        arm = np.array([env.arms.index(o["arm"])])
        service.reward("letters", o["decision_id"], float(env.rewards(x[None], arm, rng)[0]))
    store.close()

    status = runner.invoke(bandits_app, ["status", "letters", "--db", db_uri, "--json"])
    assert status.exit_code == 0, status.output
    assert json.loads(status.stdout)["rewarded"] == 400
    human = runner.invoke(bandits_app, ["status", "letters", "--db", db_uri])
    assert "deadline" in human.output

    ev = runner.invoke(
        bandits_app,
        ["evaluate", "letters", "--policy", "linucb", "--alpha", "0.5", "--n-boot", "200",
         "--db", db_uri, "--json"],
    )  # fmt: skip
    assert ev.exit_code == 0, ev.output
    doc = json.loads(ev.stdout)
    assert set(doc["candidate"]["estimates"]) == {"ips", "snips", "dr"}
    assert isinstance(doc["replace"], bool) and doc["reason"]
    human = runner.invoke(bandits_app, ["evaluate", "letters", "--n-boot", "100", "--db", db_uri])
    assert human.exit_code == 0 and ("KEEP" in human.output or "REPLACE" in human.output)

    missing = runner.invoke(bandits_app, ["status", "nobody", "--db", db_uri])
    assert missing.exit_code == 2 and "no bandit" in missing.output


def test_register_like_any_model(db_uri, tmp_path, login):
    from civicml.registry import open_registry

    assert (
        runner.invoke(
            bandits_app, ["create", "letters", "--spec", str(SPEC), "--db", db_uri]
        ).exit_code
        == 0
    )
    store = open_bandit_store(db_uri)
    service, env, rng = BanditService(store, seed=0), LetterEnvironment(), np.random.default_rng(1)
    for x in env.sample_contexts(300, rng):
        o = service.choose("letters", dict(zip(env.features, x, strict=True)))
        arm = np.array([env.arms.index(o["arm"])])
        service.reward("letters", o["decision_id"], float(env.rewards(x[None], arm, rng)[0]))
    store.close()
    uri = f"sqlite:///{tmp_path / 'registry.db'}"
    args = [
        "register",
        "letters",
        "--db",
        db_uri,
        "--registry",
        uri,
        "--project-dir",
        str(tmp_path),
    ]
    refused = runner.invoke(bandits_app, [*args, "--by", "Ada"])
    assert refused.exit_code == 2 and "--by is no longer accepted" in refused.output
    login("Ada")
    res = runner.invoke(bandits_app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["version"] == 1
    with open_registry(uri, project_dir=tmp_path) as reg:
        v = reg.get_version("letters", 1)
        bundle = reg.load_version("letters/1")
        assert bundle.info["task"] == "bandit"
        checks = bundle.read_json("checks.json")["checks"]
        assert {c["name"] for c in checks} == {"every_arm_explored", "exploration_floor"}
        assert b"<table" in bundle.read_bytes("report.html")
        assert reg.verify_audit().ok and v.created_by == "Ada"
