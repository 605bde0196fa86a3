"""The approval record (issue 17, section 1): who registered, requested and approved a version,
read from its audit events, and a plain sentence that never claims more than a server checked.

Embedded mode names computer logins that nobody verified; ``server=True`` records only verified
actors, and the record says so.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from civicml._errors import NotFoundError
from civicml.bundle import Bundle, sign_bundle, write_keypair
from civicml.registry import (
    Actor,
    AuditEvent,
    ModelVersion,
    approval_record,
    approval_sentence,
    open_registry,
)

ROSA = Actor("rosa", via="os-login")
SAM = Actor("sam", via="os-login")
ALICE = Actor("alice", via="os-login")


def _day(iso: str) -> str:
    t = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return f"{t.day} {t:%B %Y}"


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[Any]:
    reg = open_registry("sqlite://", artifacts="memory://approval-test", project_dir=tmp_path)
    try:
        yield reg
    finally:
        reg.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Any]:
    reg = open_registry("sqlite://", project_dir=tmp_path, server=True)
    try:
        yield reg
    finally:
        reg.close()


def _put_forward(reg: Any, bundle: Bundle, registrant: Any, requester: Any) -> ModelVersion:
    v = reg.register(bundle.path, "benefits", actor=registrant, oversight="human-in-the-loop")
    return reg.request_approval("benefits", v.version, actor=requester, reason="Ready for review")


def test_embedded_record_names_os_logins_and_says_they_were_not_verified(
    embedded: Any, make_bundle: Callable[..., Bundle]
) -> None:
    _put_forward(embedded, make_bundle(), ROSA, SAM)
    pending = approval_record(embedded, "benefits", 1)
    assert pending["sentence"] == "Not approved yet."
    assert pending["status"] == "pending_approval" and pending["approved"] is None
    assert pending["verified"] is False

    embedded.approve("benefits", 1, by=ALICE, reason="Read the assessment report")
    rec = approval_record(embedded, "benefits", 1)
    events = {e.action: e for e in embedded.audit_events(subject="benefits/1")}
    assert rec["mode"] == "embedded" and rec["ref"] == "benefits/1" and rec["status"] == "approved"
    assert rec["registered"] == {
        "by": "rosa",
        "at": events["register"].time,
        "reason": None,
        "verified": False,
        "via": "os-login",
        "event": events["register"].seq,
    }
    assert (rec["requested"]["by"], rec["requested"]["reason"]) == ("sam", "Ready for review")
    assert rec["approved"]["by"] == "alice" and rec["approved"]["at"] == events["approve"].time
    assert [rec[k]["verified"] for k in ("registered", "requested", "approved")] == [False] * 3
    assert rec["verified"] is False and rec["rejected"] is None
    assert rec["sentence"] == (
        f"Approved by alice on {_day(events['approve'].time)}. civicml ran in embedded mode, so "
        "this name is the approver's computer login and was not verified by a server."
    )
    assert json.loads(json.dumps(rec)) == rec  # plain JSON-able data


def test_a_name_given_to_the_python_api_is_not_called_a_login(
    embedded: Any, make_bundle: Callable[..., Bundle]
) -> None:
    _put_forward(embedded, make_bundle(), "rosa", "sam")
    embedded.approve("benefits", 1, by="alice", reason="ok")
    rec = approval_record(embedded, "benefits", 1)
    assert rec["approved"]["via"] == "api"
    assert rec["sentence"].endswith(
        "civicml ran in embedded mode, so this name was given to civicml's Python API and was "
        "not verified by a server."
    )


def test_an_embedded_actor_claiming_verification_is_not_called_verified(
    embedded: Any, make_bundle: Callable[..., Bundle]
) -> None:
    """An Actor built by hand with verified=True is recorded as not verified by an embedded
    registry (only a server verifies), and the approval record does not repeat the claim."""
    _put_forward(embedded, make_bundle(), ROSA, SAM)
    embedded.approve(
        "benefits", 1, by=Actor("mallory", verified=True, via="os-login"), reason="trust me"
    )
    event = embedded.audit_events(subject="benefits/1")[-1]
    assert event.details["identity"] == {"verified": False, "via": "os-login"}
    rec = approval_record(embedded, "benefits", 1)
    assert rec["approved"]["verified"] is False and rec["verified"] is False
    assert "verified by civicml server" not in rec["sentence"]
    assert "was not verified by a server" in rec["sentence"]


def test_server_record_says_signed_in_and_verified(
    server: Any, make_bundle: Callable[..., Bundle], tmp_path: Path
) -> None:
    ada = Actor("ada", verified=True, via="token:ada", roles=("trainer",))
    sam = Actor("sam@dept.gov.uk", verified=True, via="oidc", roles=("trainer",))
    bob = Actor("bob@dept.gov.uk", verified=True, via="oidc", roles=("approver",))
    keys = write_keypair(tmp_path / "keys" / "ada")
    server.register_key(keys.public.read_bytes(), ada)
    bundle = make_bundle()
    sign_bundle(bundle.path, keys.private)
    _put_forward(server, bundle, ada, sam)
    server.approve("benefits", 1, by=bob, reason="Read the assessment report")

    rec = approval_record(server, "benefits", 1)
    when = _day(rec["approved"]["at"])
    assert rec["mode"] == "server" and rec["verified"] is True
    assert (rec["registered"]["by"], rec["registered"]["via"]) == ("ada", "token:ada")
    assert rec["registered"]["verified"] and rec["requested"]["verified"]
    assert (rec["approved"]["by"], rec["approved"]["via"]) == ("bob@dept.gov.uk", "oidc")
    assert rec["sentence"] == (
        f"Approved by bob@dept.gov.uk on {when}, signed in and verified by civicml server."
    )
    assert "not verified" not in rec["sentence"]


def test_server_rejection_and_token_wording(
    server: Any, make_bundle: Callable[..., Bundle], tmp_path: Path
) -> None:
    ada = Actor("ada", verified=True, via="token:ada", roles=("trainer",))
    bot = Actor("review-bot", verified=True, via="token:ci", roles=("approver",))
    keys = write_keypair(tmp_path / "keys" / "ada")
    server.register_key(keys.public.read_bytes(), ada)
    bundle = make_bundle()
    sign_bundle(bundle.path, keys.private)
    _put_forward(server, bundle, ada, Actor("sam", verified=True, via="oidc", roles=("trainer",)))
    server.reject("benefits", 1, by=bot, reason="Fairness gap too wide")
    rec = approval_record(server, "benefits", 1)
    assert rec["status"] == "rejected" and rec["approved"] is None
    assert rec["rejected"]["reason"] == "Fairness gap too wide"
    assert rec["sentence"] == (
        f"Rejected by review-bot on {_day(rec['rejected']['at'])}, verified by civicml server "
        "through the API token 'ci'."
    )


def test_unknown_version_is_refused(embedded: Any) -> None:
    with pytest.raises(NotFoundError):
        approval_record(embedded, "benefits", 7)


class _Remote:
    """The two methods approval_record reads, shaped as RemoteRegistry answers them."""

    server = True

    def __init__(self, events: list[AuditEvent]) -> None:
        self.events = events

    def get_version(self, name: str, version: int) -> ModelVersion:
        return ModelVersion(name, version, "a" * 64, "approved", "t", "rosa")

    def audit_events(self, *, subject: str | None = None, **_: Any) -> list[AuditEvent]:
        return [e for e in self.events if e.subject == subject]


def _event(seq: int, actor: str, action: str, details: dict[str, Any]) -> AuditEvent:
    return AuditEvent(seq, "2026-12-06T09:00:00Z", actor, action, "m/1", "r", details, "", "")


def test_over_http_an_unverified_or_unrecorded_identity_is_never_called_verified() -> None:
    """A server's registry may hold events from before it ran (embedded OS logins, or events
    older than identities): mode is "server" but those names read as not verified."""
    remote = _Remote(
        [
            _event(1, "rosa", "register", {}),
            _event(
                2, "sam", "request_approval", {"identity": {"verified": False, "via": "os-login"}}
            ),
            _event(3, "alice", "approve", {"identity": {"verified": True, "via": "api"}}),
            _event(4, "x", "promote", {"identity": {"verified": True, "via": "oidc"}}),
        ]
    )
    rec = approval_record(remote, "m", 1)  # type: ignore[arg-type]
    assert rec["mode"] == "server" and rec["verified"] is False
    assert rec["registered"]["via"] == "not recorded" and not rec["registered"]["verified"]
    assert rec["sentence"] == (
        "Approved by alice on 6 December 2026. This name was given to civicml's Python API and "
        "was not verified by a server."
    )
    assert approval_sentence({**rec, "approved": {**rec["approved"], "via": "os-login"}}) == (
        "Approved by alice on 6 December 2026. This name is a computer login and was not "
        "verified by a server."
    )
