"""``civicml models …`` and ``civicml tokens …`` through Typer's test runner (embedded mode).

Who acts is the OS login the CLI sees; the ``login`` fixture (tests/conftest.py) sets it, so a
test acts as two or three different people. ``--by`` is refused.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from atrs_gate import cli_exempt
from civicml.bundle import save_bundle
from civicml.cli._models import app as models_app
from civicml.cli._tokens import app as tokens_app

SPEC = {
    "owner": {
        "team": "Benefits Analytics",
        "senior_responsible_owner": "Jo Bloggs",
        "contact": "benefits-ml@example.gov.uk",
    },
    "intended_use": "Prioritise claims for review",
    "out_of_scope_uses": ["Deciding entitlement"],
}


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("CIVICML_REGISTRY", f"sqlite:///{tmp_path / 'reg.db'}")
    monkeypatch.setenv("CIVICML_ARTIFACTS", str(tmp_path / "artifacts"))
    monkeypatch.delenv("CIVICML_DEBUG", raising=False)
    monkeypatch.setenv("COLUMNS", "160")
    runner = CliRunner()

    def run(*args, app=models_app, code=0):
        result = runner.invoke(app, [str(a) for a in args])
        assert result.exit_code == code, (result.output, result.exception)
        return result

    return run


def _bundle(tmp_path, tag, checks=True):
    docs = {
        "model_info.json": {"task": "binary", "tag": tag},
        "spec.json": SPEC,
        "checks.json": {"checks": [{"name": "auc", "passed": checks, "evidence": "0.8"}]},
    }
    return save_bundle(tmp_path / tag, documents=docs).path


def test_full_cycle(cli, tmp_path, login):
    login("Rosa Parks")
    out = cli(
        "register",
        _bundle(tmp_path, "a"),
        "--name",
        "benefits",
        "--oversight",
        "human-in-the-loop",
        "--json",
    )
    assert json.loads(out.stdout)["version"] == 1
    cli(
        "register",
        _bundle(tmp_path, "b"),
        "--name",
        "benefits",
        "--oversight",
        "advisory",
    )
    for v in (1, 2):
        cli("request-approval", "benefits", v, "--reason", "ready")
    refused = cli("approve", "benefits", 1, "--reason", "mine", code=2)
    assert (
        "Rosa Parks registered benefits v1, so Rosa Parks cannot approve it (two-person rule)"
        in refused.output
    )
    assert "Traceback" not in refused.output
    login("Ada Lovelace")
    for v in (1, 2):
        cli("approve", "benefits", v, "--reason", "reviewed")
        # these bundles carry no assessment, so no ATRS record can be built: serving needs an
        # exemption (tests/cli/test_atrs_cli.py promotes a completed record)
        refused = cli("promote", "benefits", v, code=2).output
        assert "ATRS record that could not be built" in refused
        cli_exempt("benefits", v)
        cli("promote", "benefits", v)
    shown = json.loads(cli("show", "benefits", "--json").stdout)
    assert shown["aliases"] == {"production": 2} and len(shown["versions"]) == 2
    assert "production" in cli("show", "benefits").stdout
    detail = json.loads(cli("show", "benefits@production", "--json").stdout)
    assert detail["version"] == 2 and [d["kind"] for d in detail["decisions"]] == [
        "request",
        "approve",
    ]
    assert "Benefits Analytics" in cli("show", "benefits/1").stdout
    login("Grace Hopper")
    rolled = cli("rollback", "benefits", "--reason", "v2 over-flags")
    assert "rolled back to v1" in rolled.stdout
    listed = json.loads(cli("list", "--json").stdout)["models"]
    assert listed[0]["name"] == "benefits" and listed[0]["aliases"]["production"] == 1
    assert "benefits" in cli("list").stdout
    events = json.loads(cli("audit", "--json").stdout)["events"]
    assert events[-1]["action"] == "rollback" and events[-1]["reason"] == "v2 over-flags"
    assert "Audit log verified" in cli("audit", "--verify").stdout


def test_reject_and_override(cli, tmp_path, login):
    login("Rosa")
    cli(
        "register",
        _bundle(tmp_path, "c", checks=False),
        "--name",
        "m",
        "--oversight",
        "advisory",
    )
    login("Grace")
    cli("override", "m", 1, "--reason", "agreed with the DPO")
    login("Rosa")
    cli("request-approval", "m", 1, "--reason", "ready")
    login("Ada")
    out = cli("reject", "m", 1, "--reason", "wrong threshold", "--json")
    assert json.loads(out.stdout)["status"] == "rejected"
    err = cli("promote", "m", 1, code=2)
    assert "cannot take the 'production' alias" in err.output


@pytest.mark.parametrize("alias", ["prod", "Production", "LIVE", "Pr\u03bfduction"])
def test_promoting_an_unapproved_version_to_a_serving_alias_is_refused(cli, tmp_path, alias, login):
    login("Rosa")
    cli("register", _bundle(tmp_path, "s"), "--name", "m")
    login("Ada")
    err = cli("promote", "m", 1, "--alias", alias, code=2)
    lines = err.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err.output
    if alias.isascii():
        assert f"cannot take the {alias.lower()!r} alias, which is a serving alias" in lines[0]
    else:
        assert "GREEK SMALL LETTER OMICRON" in lines[0]
    assert json.loads(cli("show", "m", "--json").stdout)["aliases"] == {}


def test_staging_takes_an_unapproved_version_and_the_help_says_why(cli, tmp_path):
    cli("register", _bundle(tmp_path, "t"), "--name", "m")
    out = cli("promote", "m", 1, "--alias", "Staging")
    assert "m@staging now points at v1" in out.stdout
    assert json.loads(cli("show", "m", "--json").stdout)["aliases"] == {"staging": 1}
    helped = " ".join(cli("promote", "--help").stdout.split())
    assert "CIVICML_NON_SERVING_ALIASES" in helped and "serving alias" in helped


def test_missing_reason_is_a_usage_error(cli, tmp_path):
    cli("register", _bundle(tmp_path, "d"), "--name", "m")
    cli("approve", "m", 1, code=2)  # --reason is required


def test_audit_verify_catches_an_edited_row(cli, tmp_path):
    cli("register", _bundle(tmp_path, "e"), "--name", "m")
    cli("register", _bundle(tmp_path, "f"), "--name", "m")
    import sqlite3

    with sqlite3.connect(tmp_path / "reg.db") as conn:
        conn.execute("UPDATE registry_audit SET actor = 'Mallory' WHERE seq = 1")
    broken = cli("audit", "--verify", code=1)
    assert "does not verify: event 1 was edited" in " ".join(broken.output.split())
    assert json.loads(cli("audit", "--verify", "--json", code=1).stdout)["first_bad_event_id"] == 1


def test_errors_are_one_line_exit_2(cli, tmp_path):
    out = cli("show", "nope", code=2)
    assert "no model named 'nope'" in out.output and len(out.output.strip().splitlines()) == 1
    cli("register", tmp_path / "missing", "--name", "m", code=2)
    cli("register", _bundle(tmp_path, "g"), "--name", "../etc", code=2)


def test_tokens(cli):
    out = cli(
        "create",
        "--name",
        "serving",
        "--scope",
        "predict",
        "--rate-limit",
        "50/s",
        app=tokens_app,
    )
    token = out.stdout.strip().splitlines()[-1]
    assert token.startswith("cml_")
    listed = cli("list", "--json", app=tokens_app).stdout
    assert token not in listed and json.loads(listed)["tokens"][0]["rate_limit"] == "50/s"
    assert "serving" in cli("list", app=tokens_app).stdout
    cli("create", "--name", "x", "--scope", "root", app=tokens_app, code=2)
    cli("revoke", "serving", "--reason", "rotated", app=tokens_app)
    cli("revoke", "serving", "--reason", "again", app=tokens_app, code=2)
    actions = [e["action"] for e in json.loads(cli("audit", "--json").stdout)["events"]]
    assert actions == ["token.issue", "token.revoke"]


@pytest.mark.parametrize("bad", ["x", "public interest", ""])
def test_a_lawful_basis_off_the_list_is_refused_exit_2(cli, tmp_path, bad):
    err = cli(
        "register",
        _bundle(tmp_path, "l"),
        "--name",
        "m",
        "--lawful-basis",
        bad,
        code=2,
    )
    lines = err.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err.output
    assert f"The lawful basis {bad!r} is not one of UK GDPR Art. 6(1)(a)" in lines[0]
    assert "public-task" in lines[0]
    cli("register", _bundle(tmp_path, "l2"), "--name", "m")
    cli("request-approval", "m", 1, "--reason", "r", "--lawful-basis", bad, code=2)
    assert json.loads(cli("show", "m/1", "--json").stdout)["lawful_basis"] is None


@pytest.mark.parametrize("given", ["Public-Task", "6(1)(e)"])
def test_a_lawful_basis_is_stored_as_its_canonical_id(cli, tmp_path, given, login):
    login("Rosa")
    cli("register", _bundle(tmp_path, "p"), "--name", "m", "--lawful-basis", given)
    assert json.loads(cli("show", "m/1", "--json").stdout)["lawful_basis"] == "public-task"
    cli(
        "request-approval",
        "m",
        1,
        "--reason",
        "ready",
        "--oversight",
        "human-in-the-loop",
        "--lawful-basis",
        given,
    )
    login("Ada")
    cli("approve", "m", 1, "--reason", "ok")
    cli_exempt("m", 1)  # about the lawful basis, not the ATRS record
    cli("promote", "m", 1)
    assert json.loads(cli("show", "m", "--json").stdout)["aliases"] == {"production": 1}


def test_a_legacy_lawful_basis_blocks_promotion_and_the_help_lists_the_bases(cli, tmp_path, login):
    login("Rosa")
    cli("register", _bundle(tmp_path, "q"), "--name", "m")
    cli("request-approval", "m", 1, "--reason", "ready", "--oversight", "advisory")
    login("Ada")
    cli("approve", "m", 1, "--reason", "ok")
    import sqlite3

    with sqlite3.connect(tmp_path / "reg.db") as conn:
        conn.execute("UPDATE registry_versions SET lawful_basis = 'x'")
    assert json.loads(cli("show", "m/1", "--json").stdout)["lawful_basis"] == "x"
    err = cli("promote", "m", 1, code=2)
    # refused either for the off-list basis or, where the registry replays its audit log, for
    # the row that differs from it (this test edits the table behind the registry's back)
    line = " ".join(err.output.split())
    assert "lawful basis 'x' is not one of UK GDPR Art. 6(1)(a)\u2013(f)" in line or (
        "audit log is broken" in line and "lawful_basis" in line
    )
    assert json.loads(cli("show", "m", "--json").stdout)["aliases"] == {}
    helped = " ".join(cli("request-approval", "--help").stdout.split())
    assert "public-task" in helped and "legitimate-interests" in helped and "6(1)" in helped


# -- who acts: the OS login, never a flag ---------------------------------------------------
BY_LINE = (
    "--by is no longer accepted: civicml records who acts from your OS login in embedded mode "
    "(not verified) or from your sign-in in server mode (civicml server)"
)


def _ready(cli, tmp_path, login, tag="w"):
    """alice registers m v1 and asks for its approval."""
    login("alice")
    out = cli("register", _bundle(tmp_path, tag), "--name", "m", "--oversight", "advisory")
    assert "as alice (OS login, not verified by a server)" in " ".join(out.stdout.split())
    cli("request-approval", "m", 1, "--reason", "ready")


def test_the_registrant_cannot_approve_under_their_own_login_or_another_name(cli, tmp_path, login):
    _ready(cli, tmp_path, login)
    own = cli("approve", "m", 1, "--reason", "mine", code=2)
    line = " ".join(own.output.split())
    assert "alice registered m v1, so alice cannot approve it (two-person rule)" in line
    assert len(own.output.strip().splitlines()) == 1 and "Traceback" not in own.output
    named = cli("approve", "m", 1, "--by", "someone else", "--reason", "mine", code=2)
    assert BY_LINE in " ".join(named.output.split())
    # refused before it runs, whatever else is (or is not) given, and hidden from --help
    assert BY_LINE in " ".join(cli("approve", "m", 1, "--by", "x", code=2).output.split())
    assert "--by" not in cli("approve", "--help").stdout
    shown = json.loads(cli("show", "m/1", "--json").stdout)
    assert shown["status"] == "pending_approval" and shown["approved_by"] is None


@pytest.mark.parametrize(
    "args",
    [
        ["register", "BUNDLE", "--name", "m"],
        ["request-approval", "m", "1", "--reason", "r"],
        ["reject", "m", "1", "--reason", "r"],
        ["override", "m", "1", "--reason", "r"],
        ["promote", "m", "1"],
        ["rollback", "m", "--reason", "r"],
    ],
)
def test_every_write_refuses_by(cli, tmp_path, args):
    args = [str(_bundle(tmp_path, "z")) if a == "BUNDLE" else a for a in args]
    out = cli(*args, "--by", "Ada", code=2)
    assert BY_LINE in " ".join(out.output.split()) and "Traceback" not in out.output
    assert json.loads(cli("list", "--json").stdout)["models"] == []


def test_tokens_refuse_by(cli):
    out = cli("create", "--name", "t", "--scope", "predict", "--by", "Ada", app=tokens_app, code=2)
    assert BY_LINE in " ".join(out.output.split())
    assert json.loads(cli("list", "--json", app=tokens_app).stdout)["tokens"] == []


def test_the_requester_cannot_approve_and_a_third_person_can(cli, tmp_path, login):
    login("alice")
    cli("register", _bundle(tmp_path, "r"), "--name", "m", "--oversight", "advisory")
    login("bob")
    cli("request-approval", "m", 1, "--reason", "ready")
    refused = cli("approve", "m", 1, "--reason", "mine", code=2)
    assert "bob" in refused.output and "Traceback" not in refused.output
    assert json.loads(cli("show", "m/1", "--json").stdout)["status"] == "pending_approval"
    login("carol")
    out = cli("approve", "m", 1, "--reason", "reviewed the report")
    assert "m v1 approved by carol (OS login, not verified by a server)." in " ".join(
        out.stdout.split()
    )
    shown = json.loads(cli("show", "m/1", "--json").stdout)
    assert shown["status"] == "approved" and shown["approved_by"] == "carol"
    events = json.loads(cli("audit", "--json").stdout)["events"]
    assert [(e["action"], e["actor"]) for e in events] == [
        ("register", "alice"),
        ("request_approval", "bob"),
        ("approve", "carol"),
    ]
    assert all(e["details"]["identity"] == {"verified": False, "via": "os-login"} for e in events)


def test_the_environment_cannot_choose_the_actor(cli, tmp_path, login, monkeypatch):
    login("alice")
    monkeypatch.setenv("CIVICML_ACTOR", "someone else")
    monkeypatch.setenv("USER", "someone else")
    monkeypatch.setenv("LOGNAME", "someone else")
    cli("register", _bundle(tmp_path, "env"), "--name", "m")
    assert json.loads(cli("show", "m/1", "--json").stdout)["created_by"] == "alice"


def test_the_cli_acts_as_the_real_os_login_by_default(cli, tmp_path, monkeypatch):
    from civicml.registry import os_login

    monkeypatch.setenv("USER", "someone else")
    cli("register", _bundle(tmp_path, "os"), "--name", "m")
    assert json.loads(cli("show", "m/1", "--json").stdout)["created_by"] == os_login()


def test_models_show_puts_one_value_under_each_header(cli, tmp_path, login) -> None:
    login("Rosa")
    cli("register", _bundle(tmp_path, "s"), "--name", "m")
    out = cli("show", "m").stdout
    header = next(line for line in out.splitlines() if "registered by" in line)
    row = next(line for line in out.splitlines() if line.startswith("│ 1"))
    assert header.count("┃") == row.count("│") == 9  # eight columns, eight values
    assert "m: 1 version" in out and "1 versions" not in out
