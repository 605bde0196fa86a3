"""Handlers for models, versions, bundles, governance decisions and aliases.

Each takes one :class:`~civicml.server._table.Call` and calls the registry; the actor of
every write is ``call.who``, the authenticated caller, never a name from the request.
"""

from __future__ import annotations

import inspect
import tempfile
from pathlib import Path
from typing import Any

from civicml._errors import CivicMLError
from civicml.bundle import MANIFEST
from civicml.registry import check_model_name
from civicml.server._problems import invalid
from civicml.server._table import Call, Download
from civicml.server._tar import bundle_root, pack_folder, unpack_tar

__all__ = [
    "approve",
    "atrs_answers",
    "atrs_exemption",
    "atrs_record",
    "decisions",
    "delete_alias",
    "delete_atrs_exemption",
    "download_bundle",
    "get_alias",
    "get_model",
    "get_version",
    "governance",
    "list_models",
    "list_versions",
    "override",
    "put_alias",
    "put_atrs_answers",
    "put_atrs_exemption",
    "register_version",
    "reject",
    "request_approval",
    "resolve",
    "retire",
    "review",
    "review_state",
    "rollback",
]

#: the governance fields a version's record takes (besides ``reason``)
GOVERNANCE_FIELDS = (
    "oversight",
    "lawful_basis",
    "owner",
    "intended_use",
    "out_of_scope_uses",
    "legal",
)


def _doc(record: Any) -> dict[str, Any]:
    out: dict[str, Any] = record.to_dict()
    return out


def list_models(call: Call) -> list[dict[str, Any]]:
    q = call.query
    found = call.registry.list_models(
        search=q.get("search") or None,
        limit=q.get("limit", 100),
        offset=q.get("offset", 0),
        scope=call.actor.models if call.actor is not None else (),
    )
    return [_doc(m) for m in found]


def get_model(call: Call) -> dict[str, Any]:
    return _doc(call.registry.get_model(call.path["name"]))


def list_versions(call: Call) -> list[dict[str, Any]]:
    q = call.query
    found = call.registry.list_versions(
        call.path["name"],
        limit=q.get("limit", 50),
        offset=q.get("offset", 0),
        before=q.get("before"),
        status=q.get("status") or None,
    )
    return [_doc(v) for v in found]


def get_version(call: Call) -> dict[str, Any]:
    return _doc(call.registry.get_version(call.path["name"], call.version()))


def decisions(call: Call) -> list[dict[str, Any]]:
    return [_doc(d) for d in call.registry.decisions(call.path["name"], call.version())]


def register_version(call: Call) -> dict[str, Any]:
    """Unpack the uploaded tar (unsafe members refused) and register it as the next version."""
    name = check_model_name(call.path["name"])
    assert call.upload is not None
    dest = call.upload.parent / "bundle"
    dest.mkdir()
    with call.upload.open("rb") as fh:
        unpack_tar(fh, dest)
    call.upload.unlink()  # the unpacked copy is enough: halve the disk held
    root = bundle_root(dest, MANIFEST)
    kwargs = {k: v for k, v in call.query.items() if k in ("reason", "oversight", "lawful_basis")}
    try:
        version = call.registry.register(root, name, actor=call.who, **kwargs)
    except CivicMLError as exc:  # never show the server's temporary paths to the caller
        for where in (str(root), str(dest)):
            for text in (repr(where), where):
                exc.args = tuple(
                    a.replace(text, "the uploaded bundle") if isinstance(a, str) else a
                    for a in exc.args
                )
        raise
    return _doc(version)


def download_bundle(call: Call) -> Download:
    """The verified bundle as an uncompressed tar, its files at the top of the archive."""
    version = call.registry.get_version(call.path["name"], call.version())
    bundle = call.registry.load_version(version.ref)
    work = Path(tempfile.mkdtemp(prefix="civicml-download-"))
    out = work / "bundle.tar"
    try:
        with out.open("wb") as fh:
            pack_folder(bundle.path, fh)
    except BaseException:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
        raise
    return Download(out, work, f"{version.name}-v{version.version}.tar")


def _governance_kwargs(call: Call, method: Any) -> dict[str, Any]:
    """The governance fields sent, refusing ``legal`` where this registry cannot take it."""
    kwargs = call.fields(*GOVERNANCE_FIELDS)
    if "legal" in kwargs and "legal" not in inspect.signature(method).parameters:
        raise invalid("This server's registry does not record a 'legal' field yet; leave it out.")
    return kwargs


def governance(call: Call) -> dict[str, Any]:
    reg = call.registry
    kwargs = _governance_kwargs(call, reg.set_governance)
    version = reg.set_governance(
        call.path["name"],
        call.version(),
        actor=call.who,
        reason=call.body.get("reason"),
        **kwargs,
    )
    return _doc(version)


def request_approval(call: Call) -> dict[str, Any]:
    reg = call.registry
    kwargs = _governance_kwargs(call, reg.request_approval)
    version = reg.request_approval(
        call.path["name"], call.version(), actor=call.who, reason=call.body["reason"], **kwargs
    )
    return _doc(version)


def approve(call: Call) -> dict[str, Any]:
    version = call.registry.approve(
        call.path["name"], call.version(), by=call.who, reason=call.body["reason"]
    )
    return _doc(version)


def reject(call: Call) -> dict[str, Any]:
    version = call.registry.reject(
        call.path["name"], call.version(), by=call.who, reason=call.body["reason"]
    )
    return _doc(version)


def override(call: Call) -> dict[str, Any]:
    version = call.registry.override_checks(
        call.path["name"], call.version(), by=call.who, reason=call.body["reason"]
    )
    return _doc(version)


def review(call: Call) -> dict[str, Any]:
    version = call.registry.review(
        call.path["name"], call.version(), actor=call.who, notes=call.body["notes"]
    )
    return _doc(version)


def review_state(call: Call) -> dict[str, Any]:
    return dict(call.registry.review_state(call.path["name"], call.version()))


def retire(call: Call) -> dict[str, Any]:
    force = call.body.get("force", False)
    if not isinstance(force, bool):
        raise invalid("'force' must be true or false.")
    version = call.registry.retire(
        call.path["name"], call.version(), actor=call.who, reason=call.body["reason"], force=force
    )
    return _doc(version)


def resolve(call: Call) -> dict[str, Any]:
    return _doc(call.registry.resolve(call.query["ref"]))


def get_alias(call: Call) -> dict[str, Any]:
    return _doc(call.registry.get_alias(call.path["name"], call.path["alias"]))


def put_alias(call: Call) -> dict[str, Any]:
    version = call.registry.set_alias(
        call.path["name"],
        call.path["alias"],
        call.body["version"],
        actor=call.who,
        reason=call.body.get("reason"),
        expect=call.body.get("expected_version"),
    )
    return _doc(version)


def delete_alias(call: Call) -> dict[str, Any]:
    name, alias = call.path["name"], call.path["alias"]
    call.registry.remove_alias(name, alias, actor=call.who, reason=call.body["reason"])
    return {"name": name, "alias": alias, "removed": True}


def rollback(call: Call) -> dict[str, Any]:
    version = call.registry.rollback(
        call.path["name"], actor=call.who, reason=call.body["reason"], alias=call.path["alias"]
    )
    return _doc(version)


def _atrs_doc(call: Call) -> dict[str, Any]:
    """The version's ATRS record (generated part plus stored answers) and its gaps."""
    from civicml.web import version_atrs

    name, version = call.path["name"], call.version()
    _, record = version_atrs(call.registry, name, version)
    gaps = record.civicml.get("gaps") or []
    return {
        "name": name,
        "version": version,
        "complete": not gaps,
        "gaps": gaps,
        "record": record.to_json_dict(),
    }


def atrs_record(call: Call) -> dict[str, Any]:
    return _atrs_doc(call)


def _answers_doc(call: Call) -> dict[str, Any]:
    from civicml.registry import atrs_answers as stored

    name, version = call.path["name"], call.version()
    return {"name": name, "version": version, "answers": stored(call.registry, name, version)}


def atrs_answers(call: Call) -> dict[str, Any]:
    return _answers_doc(call)


def _answer_ok(value: Any) -> bool:
    if value is None or isinstance(value, str | bool | int | float):
        return True
    return isinstance(value, list) and all(isinstance(x, str) for x in value)


def _exemption_doc(call: Call) -> dict[str, Any]:
    name, version = call.path["name"], call.version()
    row = call.registry.atrs_exemption(name, version)
    return {"name": name, "version": version, "exemption": row}


def atrs_exemption(call: Call) -> dict[str, Any]:
    return _exemption_doc(call)


def put_atrs_exemption(call: Call) -> dict[str, Any]:
    """Record an exemption from the ATRS record (its reason required), as the caller."""
    reason = call.body["reason"]
    call.registry.record_atrs_exemption(
        call.path["name"], call.version(), reason=reason, actor=call.who
    )
    return _exemption_doc(call)


def delete_atrs_exemption(call: Call) -> dict[str, Any]:
    """Withdraw a recorded exemption (the record then needs to be complete to serve)."""
    call.registry.record_atrs_exemption(
        call.path["name"], call.version(), reason=None, actor=call.who
    )
    return _exemption_doc(call)


def put_atrs_answers(call: Call) -> dict[str, Any]:
    """Store a person's answers (checked against the record's field ids) as the caller."""
    from civicml.web import store_atrs_answers

    answers = call.body["answers"]
    if not isinstance(answers, dict) or not answers:
        raise invalid(
            "'answers' must be an object of field id to answer, e.g. {'owner.team': 'x'}."
        )
    bad = sorted(str(k) for k, v in answers.items() if not _answer_ok(v))[:10]
    if bad:
        raise invalid(f"These answers are not text, yes/no, a number or a list of text: {bad}.")
    name, version = call.path["name"], call.version()
    try:
        rows = store_atrs_answers(
            call.registry, name, version, answers, actor=call.who, reason=call.body.get("reason")
        )
    except CivicMLError as exc:
        from civicml._errors import GovernanceError

        if isinstance(exc, GovernanceError) and "not fields of this ATRS record" in str(exc):
            raise invalid(str(exc)) from None
        raise
    return {**_answers_doc(call), "written": rows}
