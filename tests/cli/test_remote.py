"""The CLI as a client of a live ``civicml server`` on 127.0.0.1, over real HTTP.

The server runs in a thread under uvicorn, in server mode over its own SQLite registry
(``civicml_server`` in tests/live_server.py). The first admin token comes from the server's
break-glass path (:func:`issue_admin_token`); every other token is created by that admin through
``civicml tokens create`` over HTTP. Each person then acts with their own token
(``CIVICML_TOKEN``): the server, not the client, decides who acts, and ``--by`` is refused.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from civicml._errors import AuthError, IntegrityError, RegistryError
from civicml.bundle import KeyFiles, save_bundle, sign_bundle, write_keypair
from civicml.cli._atrs import app as atrs_app
from civicml.cli._keys import app as keys_app
from civicml.cli._models import app as models_app
from civicml.cli._runs import app as runs_app
from civicml.cli._tokens import app as tokens_app
from civicml.registry import RemoteRegistry
from civicml.registry._remote import bundle_tar, extract_bundle_tar
from live_server import Served, civicml_server, free_port, training_project

pytest.importorskip("uvicorn")
pytest.importorskip("civicml.server")

SPEC = {
    "owner": {
        "team": "Benefits Analytics",
        "senior_responsible_owner": "Jo Bloggs",
        "contact": "benefits-ml@example.gov.uk",
    },
    "intended_use": "Prioritise claims for review",
    "out_of_scope_uses": ["Deciding entitlement"],
}
BY_LINE = (
    "--by is no longer accepted: civicml records who acts from your OS login in embedded mode "
    "(not verified) or from your sign-in in server mode (civicml server)"
)
runner = CliRunner()


class CLIServed(Served):
    """A running server (tests/live_server.py) whose people act through the CLI: tokens come
    from ``civicml tokens create`` and keys from ``civicml keys register``, over HTTP."""

    def token(self, name: str, owner: str, *scopes: str) -> str:
        """An API token for ``owner``, issued by the admin over HTTP."""
        args = ["create", "--name", name, "--owner", owner, "--reason", "test"]
        for s in scopes:
            args += ["--scope", s]
        out = self.cli(*args, token=self.admin, app=tokens_app, code=0)
        assert "issued by root (verified by civicml server, via token:first-admin)" in " ".join(
            out.stdout.split()
        )
        return str(out.stdout.strip().splitlines()[-1])

    def key(self, token: str, tag: str) -> KeyFiles:
        """A signing key pair that the token's holder registers as theirs over HTTP."""
        keys = write_keypair(self.tmp / f"keys-{tag}")
        self.cli("register", keys.public, token=token, app=keys_app)
        return keys

    def signed_bundle(self, token: str, tag: str, checks: bool = True) -> Path:
        """A bundle signed by a key the token's holder registers over HTTP."""
        keys = self.key(token, tag)
        docs = {
            "model_info.json": {"task": "binary", "tag": tag},
            "spec.json": SPEC,
            "checks.json": {"checks": [{"name": "auc", "passed": checks, "evidence": "0.8"}]},
        }
        path = save_bundle(self.tmp / tag, documents=docs).path
        sign_bundle(path, keys.private)
        return path


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CLIServed]:
    # run from tmp_path: the client's download cache lands in tmp_path/.civicml
    with civicml_server(tmp_path, monkeypatch, CLIServed) as live:
        yield live


def _line(result: Any) -> str:
    return " ".join(result.output.split())


def test_register_request_approve_promote_as_two_signed_in_people(served: CLIServed) -> None:
    alice = served.token("alice-laptop", "alice", "trainer")
    bob = served.token("bob-laptop", "bob", "approver")
    bundle = served.signed_bundle(alice, "a")

    out = served.cli(
        "register", bundle, "--name", "benefits", "--oversight", "advisory", token=alice
    )
    assert "Registered benefits v1" in out.stdout
    assert "as alice (verified by civicml server, via token:alice-laptop)" in _line(out)
    served.cli("request-approval", "benefits", 1, "--reason", "ready for review", token=alice)

    # alice cannot approve: she registered it, and holds no approver role
    own = served.cli("approve", "benefits", 1, "--reason", "mine", token=alice, code=2)
    assert "alice" in own.output and "Traceback" not in own.output
    assert len(own.output.strip().splitlines()) == 1
    # nor can anyone name another person: --by is refused before anything is sent
    named = served.cli(
        "approve", "benefits", 1, "--by", "bob", "--reason", "x", token=alice, code=2
    )
    assert BY_LINE in _line(named)

    done = served.cli("approve", "benefits", 1, "--reason", "read the report", token=bob)
    assert "benefits v1 approved by bob (verified by civicml server, via token:bob-laptop)." in (
        _line(done)
    )
    # no assessment in this bundle, so no ATRS record: the server wants an exemption first
    refused = served.cli("promote", "benefits", 1, "--reason", "go live", token=alice, code=2)
    assert "ATRS record that could not be built" in _line(refused)
    exempt = ("exempt", "benefits", 1, "--reason", "Crime prevention exemption")
    served.cli(*exempt, token=alice, app=atrs_app, code=2)  # a trainer may not
    done = served.cli(*exempt, token=bob, app=atrs_app)
    assert "is exempt from the ATRS record: Crime prevention exemption" in _line(done)
    assert "verified by civicml server" in _line(done)
    promoted = served.cli("promote", "benefits", 1, "--reason", "go live", token=alice)
    assert "benefits@production now points at v1" in _line(promoted)

    shown = json.loads(served.cli("show", "benefits@production", "--json", token=bob).stdout)
    assert shown["version"] == 1 and shown["approved_by"] == "bob"
    assert shown["created_by"] == "alice" and shown["signer"]
    assert [(d["kind"], d["actor"]) for d in shown["decisions"]] == [
        ("request", "alice"),
        ("approve", "bob"),
    ]
    assert "production" in served.cli("show", "benefits", token=bob).stdout
    listed = json.loads(served.cli("list", "--json", token=bob).stdout)["models"]
    assert listed[0]["name"] == "benefits" and listed[0]["aliases"] == {"production": 1}

    events = json.loads(served.cli("audit", "--json", token=bob).stdout)["events"]
    acts = [(e["actor"], e["action"]) for e in events if e["subject"].startswith("benefits")]
    assert acts == [
        ("alice", "register"),
        ("alice", "request_approval"),
        ("bob", "approve"),
        ("bob", "atrs.exemption"),
        ("alice", "alias"),
    ]
    for e in events:
        if e["subject"].startswith("benefits"):
            assert e["details"]["identity"]["verified"] is True
    assert "Audit log verified" in served.cli("audit", "--verify", token=bob).stdout
    head = json.loads(served.cli("audit", "--head", token=bob).stdout)
    assert head["seq"] == events[-1]["seq"] and head["hash"] == events[-1]["hash"]
    saved = served.tmp / "head.json"
    saved.write_text(json.dumps(head))
    served.cli("audit", "--verify", "--against", saved, token=bob)
    saved.write_text(json.dumps({**head, "hash": "0" * 64}))
    moved = served.cli("audit", "--verify", "--against", saved, token=bob, code=1)
    assert "is not in the server's audit log as it was" in _line(moved)
    # a repair is recorded over HTTP by an admin, and only when something is broken
    repair = served.cli("audit", "--repair", "--reason", "x", token=bob, code=2)
    assert "admin" in _line(repair)
    repair = served.cli("audit", "--repair", "--reason", "x", token=served.admin, code=2)
    assert "nothing to repair" in _line(repair)

    # the client downloads the verified bundle of what is served
    with served.registry(bob) as reg:
        fetched = reg.load_version("benefits@production")
        assert fetched.digest == shown["digest"]
        assert reg.me().name == "bob" and reg.me().roles == ("approver",)
        again = reg.load_version("benefits/1")  # from the cache, verified again
        assert again.path == fetched.path


def test_the_requester_cannot_approve_over_http(served: CLIServed) -> None:
    alice = served.token("alice-laptop", "alice", "trainer")
    dave = served.token("dave-laptop", "dave", "trainer", "approver")
    carol = served.token("carol-laptop", "carol", "approver")
    bundle = served.signed_bundle(alice, "r")
    served.cli("register", bundle, "--name", "m", "--oversight", "advisory", token=alice)
    served.cli("request-approval", "m", 1, "--reason", "ready", token=dave)
    refused = served.cli("approve", "m", 1, "--reason", "mine", token=dave, code=2)
    assert "dave" in refused.output and "Traceback" not in refused.output
    assert json.loads(served.cli("show", "m/1", "--json", token=carol).stdout)["status"] == (
        "pending_approval"
    )
    served.cli("approve", "m", 1, "--reason", "reviewed", token=carol)
    assert json.loads(served.cli("show", "m/1", "--json", token=carol).stdout)["approved_by"] == (
        "carol"
    )


def test_reject_override_and_rollback_over_http(served: CLIServed) -> None:
    alice = served.token("alice-laptop", "alice", "trainer")
    bob = served.token("bob-laptop", "bob", "approver")
    for tag in ("v1", "v2"):
        bundle = served.signed_bundle(alice, tag, checks=tag == "v1")
        served.cli("register", bundle, "--name", "m", "--oversight", "advisory", token=alice)
    over = served.cli("override", "m", 2, "--reason", "agreed with the DPO", token=bob)
    assert "m v2 checks overridden by bob (verified by civicml server" in _line(over)
    for v in (1, 2):
        served.cli("request-approval", "m", v, "--reason", "ready", token=alice)
        served.cli("approve", "m", v, "--reason", "reviewed", token=bob)
        served.cli("exempt", "m", v, "--reason", "Test: exempt", token=bob, app=atrs_app)
        served.cli("promote", "m", v, token=alice)
    rolled = served.cli("rollback", "m", "--reason", "v2 over-flags", token=bob)
    assert "m@production rolled back to v1 (by bob" in _line(rolled)
    rejected = json.loads(
        served.cli("reject", "m", 2, "--reason", "over-flags", "--json", token=bob).stdout
    )
    assert rejected["status"] == "rejected"
    # a trainer cannot decide: the server checks the role
    served.cli("reject", "m", 1, "--reason", "x", token=alice, code=2)
    assert json.loads(served.cli("show", "m", "--json", token=bob).stdout)["aliases"] == {
        "production": 1
    }


def test_refusals_are_one_line_exit_2(served: CLIServed) -> None:
    alice = served.token("alice-laptop", "alice", "trainer")
    bundle = served.signed_bundle(alice, "u")
    # no token at all, a wrong token, a server that is not there
    none = served.cli("list", token=None, code=2)
    assert "CIVICML_TOKEN" in none.output and len(none.output.strip().splitlines()) == 1
    bad = served.cli("list", token="cml_not_a_real_token", code=2)
    assert "did not accept the token in CIVICML_TOKEN" in _line(bad)
    gone = runner.invoke(
        models_app,
        ["list", "--registry", f"http://127.0.0.1:{free_port()}"],
        env={"CIVICML_TOKEN": alice},
    )
    assert gone.exit_code == 2 and "Cannot reach the civicml server" in " ".join(
        gone.output.split()
    )
    # the server's own refusals come back as its one line
    missing = served.cli("show", "nope", token=alice, code=2)
    assert "There is no model named 'nope' in the registry" in _line(missing)
    # an unapproved version cannot take a serving alias, by any name
    served.cli("register", bundle, "--name", "m", token=alice)
    prod = served.cli("promote", "m", 1, "--alias", "Prod", token=alice, code=2)
    assert "serving alias" in _line(prod) and "Traceback" not in prod.output
    # an unsigned bundle is refused by the server
    unsigned = save_bundle(served.tmp / "unsigned", documents={"model_info.json": {"x": 1}}).path
    refused = served.cli("register", unsigned, "--name", "m", token=alice, code=2)
    assert "not signed" in _line(refused)
    # tokens are for admins only
    served.cli("list", token=alice, app=tokens_app, code=2)
    served.cli("create", "--name", "x", "--scope", "admin", token=alice, app=tokens_app, code=2)
    listed = json.loads(served.cli("list", "--json", token=served.admin, app=tokens_app).stdout)
    assert {t["name"]: t["owner"] for t in listed["tokens"]} == {
        "first-admin": "root",
        "alice-laptop": "alice",
    }
    revoked = served.cli(
        "revoke", "alice-laptop", "--reason", "left", token=served.admin, app=tokens_app
    )
    assert "Revoked token 'alice-laptop'" in revoked.stdout
    after = served.cli("list", token=alice, code=2)
    assert "did not accept the token" in _line(after)


def test_runs_are_read_over_http(served: CLIServed) -> None:
    viewer = served.token("viewer", "vera", "viewer")
    assert json.loads(served.cli("list", "--json", token=viewer, app=runs_app).stdout) == []
    assert "No runs recorded yet" in served.cli("list", token=viewer, app=runs_app).stdout
    missing = served.cli("show", "deadbeef", token=viewer, app=runs_app, code=2)
    assert "has no recent run with the id 'deadbeef'" in _line(missing)


def test_civicml_run_registers_on_the_server(served: CLIServed) -> None:
    from civicml.cli import app

    alice = served.token("alice-laptop", "alice", "trainer")
    keys = served.key(alice, "run")
    project = served.tmp / "project"
    config = training_project(project, rows=200, max_trials=2, cv_folds=3)
    env = {
        "CIVICML_REGISTRY": served.url,
        "CIVICML_TOKEN": alice,
        "CIVICML_SIGNING_KEY": str(keys.private),
    }
    args = ["run", str(config), "--out", str(served.tmp / "out"), "--no-pdf"]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    assert "t version 1 (not promoted)" in result.stdout
    shown = json.loads(served.cli("show", "t/1", "--json", token=alice).stdout)
    assert shown["created_by"] == "alice" and shown["signer"] == keys.fingerprint
    refused = runner.invoke(app, [*args, "--by", "bob"], env=env)
    assert refused.exit_code == 2 and BY_LINE in " ".join(refused.output.split())
    # the run itself is recorded in the project's own database; the server's runs are read only
    from civicml.tracking import open_runs

    with open_runs(f"sqlite:///{project / '.civicml' / 'registry.db'}") as store:
        assert [r.kind for r in store.list_runs()] == ["run"]

    # pipeline run registers the same way, once its other steps have finished
    pipe = ["pipeline", "run", str(config), "--out", str(served.tmp / "p")]
    result = runner.invoke(app, pipe, env=env)
    assert result.exit_code == 0, result.output
    shown = json.loads(served.cli("show", "t/2", "--json", token=alice).stdout)
    assert shown["created_by"] == "alice" and shown["reason"] == "civicml pipeline run"


# -- the client's own pieces -----------------------------------------------------------------
def test_no_token_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CIVICML_TOKEN", raising=False)
    with pytest.raises(AuthError, match="Set CIVICML_TOKEN to an API token"):
        RemoteRegistry("http://127.0.0.1:9")


def test_a_token_is_not_sent_over_plain_http_to_another_machine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CIVICML_ALLOW_INSECURE_HTTP", raising=False)
    with pytest.raises(AuthError, match="plain http, so your token would cross the network"):
        RemoteRegistry("http://models.internal:8000", token="cml_x")
    out = runner.invoke(
        models_app,
        ["list", "--registry", "http://models.internal:8000"],
        env={"CIVICML_TOKEN": "cml_x"},
    )
    assert out.exit_code == 2 and "CIVICML_ALLOW_INSECURE_HTTP=1" in " ".join(out.output.split())
    for url in ("https://models.internal", "http://localhost:8000", "http://[::1]:8000"):
        RemoteRegistry(url, token="cml_x").close()
    monkeypatch.setenv("CIVICML_ALLOW_INSECURE_HTTP", "1")
    RemoteRegistry("http://models.internal:8000", token="cml_x").close()


def test_a_bundle_with_a_link_is_not_sent(tmp_path: Path) -> None:
    path = save_bundle(tmp_path / "b", documents={"model_info.json": {"x": 1}}).path
    (path / "link").symlink_to("/etc/passwd")
    with pytest.raises(Exception, match="not a plain file"):
        bundle_tar(path, io.BytesIO())


def _tar(*members: tuple[tarfile.TarInfo, bytes]) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for info, data in members:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    buf.seek(0)
    return buf


@pytest.mark.parametrize(
    "name,kind",
    [
        ("../evil", tarfile.REGTYPE),
        ("/etc/evil", tarfile.REGTYPE),
        ("a/../../evil", tarfile.REGTYPE),
        ("link", tarfile.SYMTYPE),
        ("hard", tarfile.LNKTYPE),
        ("dev", tarfile.CHRTYPE),
        ("c:evil", tarfile.REGTYPE),
    ],
)
def test_an_unsafe_download_is_refused_and_nothing_escapes(
    tmp_path: Path, name: str, kind: bytes
) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
        info.linkname = "/etc/passwd"
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(IntegrityError, match="unsafe member"):
        extract_bundle_tar(_tar((info, b"x")), dest)
    assert not (tmp_path / "evil").exists() and not list(dest.iterdir())


def test_a_duplicate_member_and_a_broken_tar_are_refused(tmp_path: Path) -> None:
    one, two = tarfile.TarInfo("model_info.json"), tarfile.TarInfo("model_info.json")
    with pytest.raises(IntegrityError, match="unsafe member"):
        extract_bundle_tar(_tar((one, b"{}"), (two, b"{}")), tmp_path)
    with pytest.raises(IntegrityError, match="not a readable tar"):
        extract_bundle_tar(io.BytesIO(b"not a tar at all" * 100), tmp_path / "x")


def test_a_bundle_round_trips_through_tar(tmp_path: Path) -> None:
    from civicml.bundle import verify_bundle

    b = save_bundle(tmp_path / "b", documents={"model_info.json": {"task": "binary"}})
    buf = io.BytesIO()
    size = bundle_tar(b.path, buf)
    assert size == len(buf.getvalue())
    buf.seek(0)
    extract_bundle_tar(buf, tmp_path / "copy")
    assert verify_bundle(tmp_path / "copy").digest == b.digest


def test_a_server_error_is_one_line(served: CLIServed) -> None:
    import httpx

    def boom(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, text="<html>upstream down</html>")

    reg = RemoteRegistry(served.url, token="t", transport=httpx.MockTransport(boom))
    with pytest.raises(RegistryError, match=r"failed \(HTTP 503: <html>upstream down</html>\)"):
        reg.list_models()
