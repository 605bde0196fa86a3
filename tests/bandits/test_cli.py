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
