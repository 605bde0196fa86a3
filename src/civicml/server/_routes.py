"""The one route table of ``/api/v1``: it dispatches every request and writes the OpenAPI
document.

Roles: every role may read (``viewer``); ``trainer`` registers versions, records governance
and asks for approval; ``approver`` approves, rejects and overrides; aliases move with
``trainer`` or ``approver`` (a serving alias takes only an approved version either way);
``admin`` holds every role and alone manages tokens.
"""

from __future__ import annotations

from typing import Any

import civicml.server._admin as a
import civicml.server._models as m
from civicml.server._openapi import openapi_document
from civicml.server._table import PUBLIC, Call, Param, Route

__all__ = ["ROUTES"]

ANY: tuple[str, ...] = ()
VIEW = ("viewer",)
TRAIN = ("trainer",)
DECIDE = ("approver",)
ADMIN = ("admin",)
ALIAS = ("trainer", "approver")
ANSWER = ("trainer", "approver")

LIMIT = Param("limit", "integer", description="How many to return.")
OFFSET = Param("offset", "integer", description="How many to skip.")
REASON = Param("reason", description="Why, for the audit log.")
NEEDS_REASON = Param("reason", required=True, description="Why, for the audit log.")
GOVERNANCE = (
    Param("oversight", description="advisory, human-in-the-loop or solely-automated."),
    Param("lawful_basis", description="UK GDPR Art. 6(1)(a)-(f), e.g. public-task."),
    Param("owner", "object:string", description="organisation, team, SRO, contact."),
    Param("intended_use"),
    Param("out_of_scope_uses", "array:string"),
    Param(
        "legal",
        "object",
        description="Art. 22A-22D safeguards, Art. 9 conditions and the DPIA record "
        "({dpia: {reference, date}}).",
    ),
)
VERSION = "/models/{name}/versions/{v}"
ALIAS_PATH = "/models/{name}/aliases/{alias}"


def openapi(call: Call) -> dict[str, Any]:
    """This document."""
    from civicml import __version__

    return openapi_document(ROUTES, __version__)


ROUTES: tuple[Route, ...] = (
    Route("GET", "/health", a.health, "Is the server up", PUBLIC, response="Health"),
    Route("GET", "/openapi.json", openapi, "This OpenAPI document", PUBLIC, response=None),
    Route("GET", "/me", a.me, "Who the server says you are", ANY, response="Me"),
    Route(
        "GET",
        "/models",
        m.list_models,
        "Models by name",
        VIEW,
        query=(Param("search", description="Keep names containing this."), LIMIT, OFFSET),
        response="ModelSummary",
        many=True,
    ),
    Route("GET", "/models/{name}", m.get_model, "One model", VIEW, response="ModelSummary"),
    Route(
        "GET",
        "/models/{name}/versions",
        m.list_versions,
        "A model's versions, newest first",
        VIEW,
        query=(
            LIMIT,
            OFFSET,
            Param("before", "integer", description="Versions below this number."),
            Param("status", description="registered, pending_approval, approved or rejected."),
        ),
        many=True,
    ),
    Route(
        "POST",
        "/models/{name}/versions",
        m.register_version,
        "Register a bundle (an uncompressed tar) as the model's next version",
        TRAIN,
        query=(REASON, GOVERNANCE[0], GOVERNANCE[1]),
        upload=True,
        status=201,
    ),
    Route("GET", VERSION, m.get_version, "One version", VIEW),
    Route(
        "GET",
        VERSION + "/bundle",
        m.download_bundle,
        "The version's verified bundle as a tar",
        VIEW,
        response=None,
        download=True,
    ),
    Route(
        "GET",
        VERSION + "/decisions",
        m.decisions,
        "Requests, approvals, rejections and overrides",
        VIEW,
        response="Decision",
        many=True,
    ),
    Route(
        "POST",
        VERSION + "/governance",
        m.governance,
        "Record the governance details",
        TRAIN,
        body=(REASON, *GOVERNANCE),
    ),
    Route(
        "POST",
        VERSION + "/request-approval",
        m.request_approval,
        "Ask for approval",
        TRAIN,
        body=(NEEDS_REASON, *GOVERNANCE),
    ),
    Route("POST", VERSION + "/approve", m.approve, "Approve", DECIDE, body=(NEEDS_REASON,)),
    Route("POST", VERSION + "/reject", m.reject, "Reject", DECIDE, body=(NEEDS_REASON,)),
    Route(
        "POST",
        VERSION + "/review",
        m.review,
        "Record a scheduled review of an approved version (notes audited)",
        DECIDE,
        body=(Param("notes", required=True, description="What the review found."),),
    ),
    Route(
        "GET",
        VERSION + "/review",
        m.review_state,
        "When the version's next review is due, whether it is overdue, the last review",
        VIEW,
        response=None,
    ),
    Route(
        "POST",
        VERSION + "/retire",
        m.retire,
        "Retire a version for good (its aliases removed; a serving one only with force)",
        DECIDE,
        body=(NEEDS_REASON, Param("force", "boolean", description="Retire it while it serves.")),
    ),
    Route(
        "POST",
        VERSION + "/override",
        m.override,
        "Override failing or missing checks",
        DECIDE,
        body=(NEEDS_REASON,),
    ),
    Route(
        "GET",
        VERSION + "/atrs",
        m.atrs_record,
        "The ATRS record (generated part plus stored answers) and its gaps",
        VIEW,
        response=None,
    ),
    Route(
        "GET",
        VERSION + "/atrs/answers",
        m.atrs_answers,
        "The ATRS answers a person stored for the version",
        VIEW,
        response=None,
    ),
    Route(
        "PUT",
        VERSION + "/atrs/answers",
        m.put_atrs_answers,
        "Store ATRS answers (field id to text), versioned and audited",
        ANSWER,
        body=(
            Param("answers", "object", required=True, description="Field id to answer."),
            REASON,
        ),
        response=None,
    ),
    Route(
        "GET",
        VERSION + "/atrs/exemption",
        m.atrs_exemption,
        "The version's recorded exemption from the ATRS record (null: none)",
        VIEW,
        response=None,
    ),
    Route(
        "PUT",
        VERSION + "/atrs/exemption",
        m.put_atrs_exemption,
        "Exempt the version from the ATRS record (an approver, not its registrant; audited)",
        DECIDE,
        body=(NEEDS_REASON,),
        response=None,
    ),
    Route(
        "DELETE",
        VERSION + "/atrs/exemption",
        m.delete_atrs_exemption,
        "Withdraw the version's exemption from the ATRS record",
        DECIDE,
        response=None,
    ),
    Route(
        "GET",
        "/resolve",
        m.resolve,
        "Resolve name@alias, name/3 or name (its production version)",
        VIEW,
        query=(Param("ref", required=True, description="name@alias, name/3 or name."),),
    ),
    Route("GET", ALIAS_PATH, m.get_alias, "The version an alias points at", VIEW),
    Route(
        "PUT",
        ALIAS_PATH,
        m.put_alias,
        "Point an alias at a version (a serving alias needs an approved version)",
        ALIAS,
        body=(
            Param("version", "integer", required=True),
            Param(
                "expected_version",
                "version",
                description="The version the alias points at now ('none': it is empty); the "
                "move is then a compare-and-set and answers 409 if the alias moved meanwhile. "
                "Left out: the move replaces whatever the alias holds.",
            ),
            REASON,
        ),
    ),
    Route(
        "DELETE",
        ALIAS_PATH,
        m.delete_alias,
        "Remove an alias",
        ALIAS,
        body=(NEEDS_REASON,),
        response="AliasRemoved",
    ),
    Route(
        "POST",
        ALIAS_PATH + "/rollback",
        m.rollback,
        "Move the alias back to the approved version that held it before",
        ALIAS,
        body=(NEEDS_REASON,),
    ),
    Route(
        "GET",
        "/audit",
        a.audit,
        "Audit events in order",
        VIEW,
        query=(
            Param("after", "integer", description="Events after this sequence number."),
            LIMIT,
            Param("subject", description="e.g. benefits/3 or token:ci."),
        ),
        response="AuditEvent",
        many=True,
    ),
    Route(
        "GET",
        "/audit/verify",
        a.audit_verify,
        "Check the whole audit chain (and against an exported head)",
        VIEW,
        query=(
            Param("seq", "integer", description="An exported head's sequence number."),
            Param("hash", description="An exported head's hash."),
        ),
        response="AuditVerification",
    ),
    Route("GET", "/audit/head", a.audit_head, "The chain head", VIEW, response="AuditHead"),
    Route(
        "POST",
        "/audit/repair",
        a.audit_repair,
        "Record an admin's repair of a broken audit log, after investigating it",
        ADMIN,
        body=(NEEDS_REASON,),
        response="AuditEvent",
    ),
    Route(
        "GET",
        "/tokens",
        a.list_tokens,
        "Every token (never a secret)",
        ADMIN,
        response="TokenInfo",
        many=True,
    ),
    Route(
        "POST",
        "/tokens",
        a.create_token,
        "Issue a token; its plaintext is in this answer only",
        ADMIN,
        body=(
            Param("name", required=True),
            Param("scopes", "array:string", required=True, description="viewer, trainer, ..."),
            Param("rate_limit", description="e.g. 50/s."),
            Param("owner", description="Who the token acts as (default: you)."),
            Param(
                "models",
                "array:string",
                description="Limit the token to these model names or team prefixes "
                "('benefits-*'); left out: every model.",
            ),
            REASON,
        ),
        response="NewToken",
        status=201,
    ),
    Route(
        "DELETE",
        "/tokens/{name_or_id}",
        a.revoke_token,
        "Revoke a token",
        ADMIN,
        body=(NEEDS_REASON,),
        response="TokenInfo",
    ),
    Route(
        "GET",
        "/keys",
        a.list_keys,
        "Registered signing keys",
        VIEW,
        response="KeyInfo",
        many=True,
    ),
    Route(
        "POST",
        "/keys",
        a.create_key,
        "Register a public signing key (yours; an admin's for anyone)",
        VIEW,
        body=(
            Param("public_key", required=True, description="The Ed25519 public key as PEM."),
            Param("owner", description="Whose key (default: you; others: admin only)."),
            REASON,
        ),
        response="KeyInfo",
        status=201,
    ),
    Route(
        "DELETE",
        "/keys/{fingerprint}",
        a.revoke_key,
        "Revoke a signing key (yours; an admin's for anyone)",
        VIEW,
        body=(NEEDS_REASON,),
        response="KeyInfo",
    ),
    Route(
        "GET",
        "/runs",
        a.list_runs,
        "Recorded training runs, newest first",
        VIEW,
        query=(LIMIT, Param("project"), Param("status", description="running, finished, failed.")),
        response="Run",
        many=True,
    ),
    Route(
        "GET", "/runs/{run_id}", a.get_run, "One run (id or unique prefix)", VIEW, response="Run"
    ),
)
