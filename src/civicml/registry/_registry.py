"""The registry facade: versions, aliases, governance, rollback, audit and tokens.

:func:`open_registry` connects a store and an artifact store; :class:`Registry` holds the rules.
Every change names its actor and lands in the hash-chained audit log in the same transaction.

Examples
--------
>>> import tempfile, pathlib
>>> from civicml.bundle import save_bundle
>>> from civicml.registry import open_registry
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> reg = open_registry("sqlite://", project_dir=tmp)
>>> b = save_bundle(tmp / "b1", documents={
...     "model_info.json": {"task": "binary"},
...     "checks.json": {"checks": [{"name": "auc", "passed": True, "evidence": "0.81"}]},
...     "spec.json": {"owner": {"team": "Benefits", "senior_responsible_owner": "Jo Bloggs",
...                             "contact": "b@example.gov.uk"},
...                   "intended_use": "Triage claims", "out_of_scope_uses": ["Sanctions"]}})
>>> v = reg.register(b.path, "benefits", actor="Rosa Parks", oversight="human-in-the-loop")
>>> v.ref, v.status
('benefits/1', 'registered')
>>> _ = reg.request_approval("benefits", 1, actor="Rosa Parks", reason="Beats the rules")
>>> reg.approve("benefits", 1, by="Rosa Parks", reason="mine")
Traceback (most recent call last):
...
civicml._errors.GovernanceError: Rosa Parks registered benefits v1, so Rosa Parks cannot approve it (two-person rule). Ask another person who holds the approver role to run 'civicml models approve benefits 1 --reason TEXT' as themselves.
>>> _ = reg.approve("benefits", 1, by="Ada Lovelace", reason="Reviewed the report")
>>> reg.serving_problems("benefits", 1)  # doctest: +ELLIPSIS
['an ATRS record this process cannot check ...']
>>> reg.atrs_check = lambda registry, version: []  # civicml.web.atrs_gaps builds the record
>>> reg.promote("benefits", 1, actor="Ada Lovelace").aliases
('production',)
>>> reg.resolve("benefits@production").version, reg.verify_audit().ok
(1, True)
>>> reg.close()
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import civicml.registry._atrs_answers as answers
import civicml.registry._governance as gov
import civicml.registry._lifecycle as life
import civicml.registry._signing_keys as keys
from civicml._errors import (
    AuditBrokenError,
    ConflictError,
    GovernanceError,
    IntegrityError,
    NotFoundError,
)
from civicml._scopes import check_model_scope
from civicml.registry._artifacts import ArtifactStore, check_signed_by
from civicml.registry._atrs_answers import AtrsCheck
from civicml.registry._audit import AuditKey, broken_chain
from civicml.registry._identity import Actor, as_actor
from civicml.registry._identity import event_draft as _event
from civicml.registry._lifecycle import refuse_if_retired
from civicml.registry._names import (
    alias_skeleton,
    check_alias,
    check_model_name,
    check_text,
    check_token_name,
    parse_ref,
)
from civicml.registry._records import (
    AuditEvent,
    AuditVerification,
    Decision,
    EventDraft,
    KeyInfo,
    ModelSummary,
    ModelVersion,
    TokenInfo,
)
from civicml.registry._store import (
    AliasMove,
    RegistryStore,
    TokenSecret,
    VersionChange,
    expect_of,
)
from civicml.registry._tokens import (
    TokenCache,
    check_rate_limit,
    check_scopes,
    hash_secret,
    new_token,
    secret_matches,
    split_token,
)
from civicml.registry._verify import chain_head, record_repair, verify_registry
from civicml.storage import utc_now

if TYPE_CHECKING:
    from civicml.bundle import Bundle

__all__ = ["Registry"]

_KEY_FIX = (
    "Restore the audit key file (or set CIVICML_AUDIT_KEY_FILE / CIVICML_AUDIT_KEY to it); "
    "the key is never stored in the database, so a backup of the database does not hold it"
)


class Registry:
    """Models, their immutable versions, aliases, governance decisions, audit log and tokens.

    Create one with :func:`open_registry`; the constructor does no I/O.
    """

    def __init__(
        self,
        store: RegistryStore,
        artifacts: ArtifactStore,
        *,
        cache_dir: str | Path,
        token_ttl: float = 30.0,
        non_serving_aliases: str | Iterable[str] | None = None,
        server: bool = False,
        atrs_check: AtrsCheck | None = None,
    ) -> None:
        #: what finds the gaps of a version's ATRS record before it takes a serving alias (the
        #: CLI, server and dashboard set :func:`civicml.web.atrs_gaps`); None fails closed
        self.atrs_check = atrs_check
        #: True when ``civicml server`` owns this registry: every write needs a verified actor
        self.server = server
        #: the key that MACs every audit event (see :func:`open_registry`)
        self.audit_key: AuditKey | None = None
        #: why the audit key cannot be used (writes are refused while this is set)
        self.key_problem: str | None = None
        self._broken: AuditVerification | None = None
        self.store = store
        self.artifacts = artifacts
        self.cache_dir = Path(cache_dir)
        self._tokens = TokenCache(ttl=token_ttl)
        #: the normalised aliases that never serve (see :func:`open_registry`)
        self.non_serving_aliases = gov.non_serving_aliases(non_serving_aliases)

    def _who(self, actor: str | Actor, what: str) -> Actor:
        """The acting :class:`Actor`, its name checked; in server mode it must be verified."""
        self._refuse_while_broken()
        who = as_actor(actor)
        name = check_text(who.name, what, limit=200)
        if self.server and not who.verified:
            raise GovernanceError.build(
                f"This registry is run by 'civicml server', which records only people it "
                f"verified, and {name!r} was not signed in",
                fix="Sign in to the server (or use an API token issued to you) and act through it",
            )
        if not self.server and who.verified:
            # only a server verifies: an embedded registry never records a claim of it
            who = replace(who, verified=False)
        return who if name == who.name else replace(who, name=name)

    def is_serving(self, alias: str) -> bool:
        """Whether ``alias`` (any case) is a serving alias: every alias but the non-serving set.

        A serving alias takes only an approved version with the full governance record.
        """
        return check_alias(alias) not in self.non_serving_aliases

    def close(self) -> None:
        """Release the database connections."""
        self.store.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- registering ----------------------------------------------------------------------
    def register(
        self,
        bundle_path: str | Path,
        name: str,
        *,
        actor: str | Actor,
        reason: str | None = None,
        oversight: str | None = None,
        lawful_basis: str | None = None,
        owner: Mapping[str, str] | None = None,
        intended_use: str | None = None,
        out_of_scope_uses: Sequence[str] | None = None,
        legal: Mapping[str, Any] | None = None,
    ) -> ModelVersion:
        """Copy a bundle into the artifact store and add it as the model's next version.

        Owner, intended use and out-of-scope uses come from the bundle's ``spec.json`` unless
        given here; the assessment checks come from its ``checks.json``. The new version is not
        promoted. Registering a bundle this model already holds raises ConflictError.

        The bundle's signature (``signature.json``) is verified and its key's fingerprint
        recorded as the version's ``signer``. A forged signature or a revoked key is refused;
        in server mode so is an unsigned bundle and one whose key is not registered to the
        actor (:meth:`register_key`).
        """
        check_model_name(name)
        actor = self._who(actor, "actor")
        reason = check_text(reason, "reason", required=False) or None
        from civicml.bundle import verify_bundle

        bundle = verify_bundle(bundle_path)
        signer = keys.check_signer(self, bundle, actor)
        found = gov.governance_from_bundle(bundle)
        fields = gov.governance_changes(
            found.get("owner"),
            found.get("intended_use"),
            found.get("out_of_scope_uses"),
            found.get("oversight"),
            found.get("lawful_basis"),
        )
        fields.update(
            gov.governance_changes(
                owner,
                intended_use,
                out_of_scope_uses,
                oversight,
                lawful_basis,
                current_owner=fields.get("owner"),
                legal=legal or {},
                current_legal=found.get("legal"),
            )
        )
        checks, passed = gov.checks_from_bundle(bundle)
        fields.update(
            checks=checks, checks_passed=passed, task=bundle.info.get("task"), signer=signer
        )
        key = self.artifacts.put(bundle)  # before the row commits: a crash leaves an orphan blob
        return self.store.create_version(
            name,
            digest=bundle.digest,
            artifact_key=key,
            created_by=actor.name,
            reason=reason,
            fields=fields,
            make_event=lambda v: _event(
                actor,
                "register",
                v.ref,
                reason,
                digest=v.digest,
                artifact_key=key,
                checks_passed=passed,
                signer=signer,
            ),
        )

    # -- reading --------------------------------------------------------------------------
    def get_model(self, name: str) -> ModelSummary:
        """One model's summary (newest version, count, aliases)."""
        found = self.store.get_model(check_model_name(name))
        if found is None:
            raise NotFoundError.build(
                f"There is no model named {name!r} in the registry",
                fix="Run 'civicml models list' to see the registered models",
            )
        return found

    def get_version(self, name: str, version: int) -> ModelVersion:
        """One version, or NotFoundError."""
        found = self.store.get_version(check_model_name(name), int(version))
        if found is None:
            self.get_model(name)
            raise NotFoundError.build(
                f"Model {name!r} has no version {version}",
                fix=f"Run 'civicml models show {name}' to see its versions",
            )
        return found

    def get_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points at, or NotFoundError."""
        found = self.store.get_alias_version(check_model_name(name), check_alias(alias))
        if found is None:
            self.get_model(name)
            raise NotFoundError.build(
                f"Model {name!r} has no alias {alias!r}",
                fix=f"Run 'civicml models promote {name} VERSION --alias {alias}' to set it",
            )
        return found

    def resolve(self, ref: str) -> ModelVersion:
        """``name@alias``, ``name/3`` or ``name`` (its production version) to a version."""
        name, version, alias = parse_ref(ref)
        if version is not None:
            return self.get_version(name, version)
        return self.get_alias(name, alias or gov.PRODUCTION)

    def list_models(
        self,
        *,
        search: str | None = None,
        limit: int = 100,
        offset: int = 0,
        scope: Sequence[str] = (),
    ) -> list[ModelSummary]:
        """Models by name, a page at a time; ``search`` keeps names containing it, ``scope``
        (model names or ``prefix*`` patterns; empty: all) the models a scoped token reaches."""
        return self.store.list_models(
            search=search,
            limit=_page(limit),
            offset=max(0, offset),
            scope=check_model_scope(scope),
        )

    def list_versions(
        self,
        name: str,
        *,
        limit: int = 50,
        offset: int = 0,
        before: int | None = None,
        status: str | None = None,
    ) -> list[ModelVersion]:
        """Versions newest first. Pass the last version seen as ``before`` for the next page."""
        return self.store.list_versions(
            check_model_name(name),
            limit=_page(limit),
            offset=max(0, offset),
            before=before,
            status=status,
        )

    def decisions(self, name: str, version: int) -> list[Decision]:
        """Requests, approvals, rejections and overrides of a version, oldest first."""
        self.get_version(name, version)
        return self.store.decisions(name, int(version))

    def load_version(self, ref: str) -> Bundle:
        """Fetch a version's bundle into the local cache and verify every hash, and its
        signature: it must be by the key the version records as ``signer`` (else refused)."""
        version = self.resolve(ref)
        bundle = self.artifacts.fetch(version.digest, self.cache_dir, signer=version.signer)
        if bundle.digest != version.digest:  # pragma: no cover - fetch checks it already
            raise IntegrityError.build(f"{version.ref} fetched the wrong bundle")
        return check_signed_by(bundle, version.signer, version.ref)

    # -- governance -----------------------------------------------------------------------
    def set_governance(
        self,
        name: str,
        version: int,
        *,
        actor: str | Actor,
        reason: str | None = None,
        oversight: str | None = None,
        lawful_basis: str | None = None,
        owner: Mapping[str, str] | None = None,
        intended_use: str | None = None,
        out_of_scope_uses: Sequence[str] | None = None,
        legal: Mapping[str, Any] | None = None,
    ) -> ModelVersion:
        """Record owner, uses, oversight mode and lawful basis on a version not yet approved.

        ``lawful_basis`` is one of UK GDPR Art. 6(1)(a)-(f): ``consent``, ``contract``,
        ``legal-obligation``, ``vital-interests``, ``public-task`` or ``legitimate-interests``
        (any case, or ``6(1)(e)`` / ``art6-1-e``), stored as that canonical id; anything else
        raises RegistryError. A value stored before this rule is read as it is, and blocks a
        serving alias (:func:`promotion_problems`) until replaced.

        ``legal`` records the Art. 22C safeguards (``{"safeguards": {"information": ...,
        "contest": ..., "human_intervention": ...}}``), the Art. 9(2) condition
        (``{"special_category": {"condition": ..., "schedule1": ...}}``) and the DPIA
        (``{"dpia": {"reference": ..., "date": "YYYY-MM-DD"}}``, which may also be recorded
        after approval), merged into what is recorded (see
        :func:`civicml.registry.check_legal`).
        """
        actor = self._who(actor, "actor")
        # a DPIA's reference and date may be recorded after approval: they add a record and
        # change nothing that was approved
        only_dpia = (
            legal is not None
            and set(legal) <= {"dpia"}
            and (oversight, lawful_basis, owner, intended_use, out_of_scope_uses)
            == (None, None, None, None, None)
        )

        def apply(v: ModelVersion) -> VersionChange:
            refuse_if_retired(v, "change its governance record")
            if not only_dpia:
                self._refuse_if_approved(v, "change its governance record")
            changes = gov.governance_changes(
                owner,
                intended_use,
                out_of_scope_uses,
                oversight,
                lawful_basis,
                v.owner,
                legal,
                v.legal,
            )
            if v.status == "pending_approval":  # what is put forward stays complete
                gov.check_oversight(v.oversight, None, replace(v, **changes))
            return VersionChange(
                _event(actor, "governance", v.ref, reason, fields=sorted(changes)), changes
            )

        return self.store.update_version(check_model_name(name), int(version), apply)

    @staticmethod
    def _refuse_if_approved(v: ModelVersion, doing: str) -> None:
        if v.status == "approved":
            raise ConflictError.build(
                f"{v.name} v{v.version} was approved by {v.approved_by}, so you cannot {doing}",
                fix=f"To change what was approved, an approver rejects it ('civicml models "
                f"reject {v.name} {v.version} --reason TEXT') and you request approval again; "
                "failing checks need only an approver's 'civicml models override'",
            )

    def request_approval(
        self,
        name: str,
        version: int,
        *,
        actor: str | Actor,
        reason: str,
        oversight: str | None = None,
        lawful_basis: str | None = None,
        owner: Mapping[str, str] | None = None,
        intended_use: str | None = None,
        out_of_scope_uses: Sequence[str] | None = None,
        legal: Mapping[str, Any] | None = None,
    ) -> ModelVersion:
        """Ask for approval (optionally recording governance fields at the same time)."""
        actor = self._who(actor, "actor")
        reason = check_text(reason, "reason")

        def apply(v: ModelVersion) -> VersionChange:
            refuse_if_retired(v, "request approval again")
            self._refuse_if_approved(v, "request approval again")
            if v.status == "pending_approval":
                raise ConflictError.build(
                    f"{v.name} v{v.version} is already waiting for approval",
                    fix=f"Ask an approver to run 'civicml models approve {v.name} {v.version} "
                    "--reason TEXT' as themselves",
                )
            changes = gov.governance_changes(
                owner,
                intended_use,
                out_of_scope_uses,
                oversight,
                lawful_basis,
                v.owner,
                legal,
                v.legal,
            )
            changes["status"] = "pending_approval"
            gov.check_oversight(v.oversight, None, replace(v, **changes))
            return VersionChange(
                _event(actor, "request_approval", v.ref, reason),
                changes,
                Decision("request", actor.name, reason, utc_now()),
            )

        return self.store.update_version(check_model_name(name), int(version), apply)

    def approve(self, name: str, version: int, *, by: str | Actor, reason: str) -> ModelVersion:
        """Approve a version: ``by`` is neither its registrant nor whoever asked for the
        approval, and in server mode is verified and holds the approver role."""
        by = self._who(by, "approver name")
        reason = check_text(reason, "reason")
        requests = [d for d in self.decisions(name, version) if d.kind == "request"]
        requester = requests[-1].actor if requests else None

        def apply(v: ModelVersion) -> VersionChange:
            gov.check_two_person(v, by, requester=requester, server=self.server)
            if v.status == "approved":
                raise ConflictError.build(
                    f"{v.name} v{v.version} is already approved by {v.approved_by}"
                )
            if v.status == "rejected":
                raise ConflictError.build(
                    f"{v.name} v{v.version} was rejected",
                    fix=f"Run 'civicml models request-approval {v.name} {v.version}' first",
                )
            if v.status != "pending_approval":
                # the request records what is approved (oversight, lawful basis, owner): an
                # approval without one would leave a version nobody can ever promote
                raise ConflictError.build(
                    f"{v.name} v{v.version} has not been put forward for approval",
                    got=f"status {v.status!r}",
                    fix=f"Its registrant runs 'civicml models request-approval {v.name} "
                    f"{v.version} --oversight MODE --reason TEXT' first",
                )
            now = utc_now()
            return VersionChange(
                _event(by, "approve", v.ref, reason),
                {"status": "approved", "approved_by": by.name, "approved_at": now},
                Decision("approve", by.name, reason, now),
            )

        return self.store.update_version(check_model_name(name), int(version), apply)

    def reject(self, name: str, version: int, *, by: str | Actor, reason: str) -> ModelVersion:
        """Reject a version (an approved one too, unless it is serving as production)."""
        by = self._who(by, "reviewer name")
        reason = check_text(reason, "reason")

        def apply(v: ModelVersion) -> VersionChange:
            refuse_if_retired(v, "reject it")
            if v.status == "rejected":
                raise ConflictError.build(f"{v.name} v{v.version} is already rejected")
            serving = [a for a in v.aliases if self.is_serving(a)]
            if serving:
                raise ConflictError.build(
                    f"{v.name} v{v.version} is serving as {', '.join(serving)}",
                    fix=f"Run 'civicml models rollback {v.name} --alias {serving[0]}' or promote "
                    "another version first",
                )
            return VersionChange(
                _event(by, "reject", v.ref, reason),
                {"status": "rejected", "approved_by": None, "approved_at": None},
                Decision("reject", by.name, reason, utc_now()),
            )

        return self.store.update_version(check_model_name(name), int(version), apply)

    def override_checks(
        self, name: str, version: int, *, by: str | Actor, reason: str
    ) -> ModelVersion:
        """Record an explicit, reasoned override of failing or missing assessment checks."""
        by = self._who(by, "name")
        reason = check_text(reason, "reason")

        def apply(v: ModelVersion) -> VersionChange:
            refuse_if_retired(v, "override its checks")
            # an approved version may still get an override: the approver's reasoned acceptance
            # of checks that fail is what lets it serve (else only rejection and a new request)
            if gov.same_person(by.name, v.created_by):
                raise GovernanceError.build(
                    f"{by.name} registered {v.name} v{v.version}, so {by.name} cannot override "
                    "its checks (two-person rule)",
                    fix=f"Ask an approver to run 'civicml models override {v.name} {v.version} "
                    "--reason TEXT' as themselves",
                )
            if v.checks_passed is True:
                raise ConflictError.build(
                    f"Every check of {v.name} v{v.version} passed, so there is nothing to override"
                )
            failed = [c["name"] for c in v.checks if not c.get("passed")]
            return VersionChange(
                _event(by, "override", v.ref, reason, failed_checks=failed),
                {"override_by": by.name, "override_reason": reason},
                Decision("override", by.name, reason, utc_now()),
            )

        return self.store.update_version(check_model_name(name), int(version), apply)

    # -- aliases --------------------------------------------------------------------------
    def set_alias(
        self,
        name: str,
        alias: str,
        version: int,
        *,
        actor: str | Actor,
        reason: str | None = None,
        expect: int | str | None = None,
    ) -> ModelVersion:
        """Point ``alias`` at ``version`` atomically.

        The alias is normalised (NFKC, case-folded), and one that looks like another alias of
        the model (:func:`~civicml.registry.alias_skeleton`) is refused. A serving alias (any
        but :attr:`non_serving_aliases`) needs an approved version with full governance.

        ``expect`` makes the move a compare-and-set: the version the alias points at now
        (``"none"``: it must be empty). When the alias has moved since, nothing changes and
        :class:`~civicml.ConflictError` says where it points. Without ``expect`` the move
        replaces whatever the alias holds at that moment (the audit event records which).
        """
        check_model_name(name)
        alias = check_alias(alias)
        expected = expect_of(expect)
        serving = self.is_serving(alias)
        actor = self._who(actor, "actor")
        reason = check_text(reason, "reason", required=False) or None
        version = int(version)

        atrs = self._atrs_problems(name, version) if serving else []

        def choose(state: AliasMove) -> tuple[int | None, EventDraft]:
            target = state.version(version)
            if target is None:
                raise NotFoundError.build(
                    f"Model {name!r} has no version {version}",
                    fix=f"Run 'civicml models show {name}' to see its versions",
                )
            _refuse_look_alike(name, alias, state.aliases)
            if serving:
                gov.require_promotable(target, alias, atrs)
            elif target.status in ("rejected", "retired"):
                raise GovernanceError.build(
                    f"{name} v{version} was {target.status}, so it cannot take the {alias!r} alias"
                )
            return version, _event(
                actor,
                "alias",
                f"{name}@{alias}",
                reason,
                alias=alias,
                previous=state.current,
                version=version,
                serving=serving,
                expected=None if expected is None else expected.describe(),
            )

        self.store.move_alias(name, alias, choose, expect=expected)
        return self.get_version(name, version)

    def _atrs_problems(self, name: str, version: int) -> list[str]:
        try:
            v = self.get_version(name, version)
        except NotFoundError:
            return []  # named by the move itself
        return answers.atrs_problems(self, v, self.atrs_check)

    def serving_problems(self, name: str, version: int) -> list[str]:
        """Everything that stops ``name`` version ``version`` from taking a serving alias now:
        :func:`promotion_problems` and its ATRS record (gaps, unless exempt)."""
        v = self.get_version(name, version)
        return [*gov.promotion_problems(v), *answers.atrs_problems(self, v, self.atrs_check)]

    def record_atrs_exemption(
        self, name: str, version: int, *, reason: str | None, actor: str | Actor
    ) -> dict[str, Any] | None:
        """Record (``reason=None``: withdraw) an exemption from the ATRS record; see
        :func:`civicml.registry.record_atrs_exemption`."""
        return answers.record_atrs_exemption(self, name, version, reason=reason, actor=actor)

    def atrs_exemption(self, name: str, version: int) -> dict[str, Any] | None:
        """The recorded ATRS exemption of a version (its row), or None."""
        self.get_version(name, version)
        return answers.atrs_exemption(self, name, version)

    # -- after approval: reviews and retirement ----------------------------------------------
    def review(self, name: str, version: int, *, actor: str | Actor, notes: str) -> ModelVersion:
        """Record a scheduled review of an approved version (its notes, audited); the next is
        due ``review_every`` months later (see :func:`civicml.registry.review_state`)."""
        return life.review_version(self, name, version, actor=actor, notes=notes)

    def review_state(self, name: str, version: int) -> dict[str, Any]:
        """``{"due", "overdue", "last_review"}`` of a version (due None unless approved)."""
        v = self.get_version(name, version)
        return life.review_state(v, self.decisions(name, version))

    def retire(
        self, name: str, version: int, *, actor: str | Actor, reason: str, force: bool = False
    ) -> ModelVersion:
        """Take a version out of use for good (see :func:`civicml.registry.retire_version`)."""
        return life.retire_version(self, name, version, actor=actor, reason=reason, force=force)

    def promote(
        self,
        name: str,
        version: int,
        alias: str = gov.PRODUCTION,
        *,
        actor: str | Actor,
        reason: str | None = None,
        expect: int | str | None = None,
    ) -> ModelVersion:
        """Move ``alias`` (``production`` by default) to ``version``; see :meth:`set_alias`
        (``expect``: the version it must point at now, for a compare-and-set).

        Every alias but the non-serving ones (default ``staging`` and ``challenger``) is a
        serving alias, so ``prod``, ``live`` or ``Production`` are governed like ``production``.
        """
        return self.set_alias(name, alias, version, actor=actor, reason=reason, expect=expect)

    def remove_alias(self, name: str, alias: str, *, actor: str | Actor, reason: str) -> None:
        """Remove an alias (its history stays in the audit log)."""
        alias = check_alias(alias)
        actor = self._who(actor, "actor")
        reason = check_text(reason, "reason")

        def choose(state: AliasMove) -> tuple[int | None, EventDraft]:
            if state.current is None:
                raise NotFoundError.build(f"Model {name!r} has no alias {alias!r}")
            return None, _event(
                actor, "alias", f"{name}@{alias}", reason, alias=alias, previous=state.current
            )

        self.store.move_alias(check_model_name(name), check_alias(alias), choose)

    def rollback(
        self, name: str, *, actor: str | Actor, reason: str, alias: str = gov.PRODUCTION
    ) -> ModelVersion:
        """Move ``production`` back to the approved version that held it before."""
        check_model_name(name)
        alias = check_alias(alias)
        actor = self._who(actor, "actor")
        reason = check_text(reason, "reason")
        now = self.get_alias(name, alias).version
        below = self.store.list_versions(name, limit=1, before=now, status="approved")
        fallback = below[0].version if below else None

        def choose(state: AliasMove) -> tuple[int | None, EventDraft]:
            if state.current is None:
                raise NotFoundError.build(f"Model {name!r} has no alias {alias!r} to roll back")
            stack = _promotion_stack(state.history)
            candidates = [v for v in reversed(stack) if v != state.current]
            if fallback is not None:
                candidates.append(fallback)
            for number in candidates:
                target = state.version(number)
                if target is not None and target.status == "approved":
                    gov.require_promotable(target, alias)
                    return number, _event(
                        actor,
                        "rollback",
                        f"{name}@{alias}",
                        reason,
                        alias=alias,
                        previous=state.current,
                        version=number,
                    )
            raise NotFoundError.build(
                f"{name}@{alias} is v{state.current} and no earlier approved version exists",
                fix="Approve and promote another version instead",
            )

        target = self.store.move_alias(name, alias, choose)
        assert target is not None
        return self.get_version(name, target)

    # -- audit ----------------------------------------------------------------------------
    def audit_events(
        self, *, after: int = 0, limit: int | None = None, subject: str | None = None
    ) -> list[AuditEvent]:
        """Audit events in order (``after`` a sequence number; ``subject`` e.g. 'benefits/3')."""
        return self.store.audit_events(after=after, limit=limit, subject=subject)

    def verify_audit(self, *, against: Mapping[str, Any] | None = None) -> AuditVerification:
        """Check the whole chain (links, hashes, MACs under the audit key), replay the state
        its events record and compare it with the tables; name every event and row that does
        not fit. ``against`` is a head exported earlier (:meth:`audit_head`).

        While the result is not ok this registry refuses writes (see :meth:`repair_audit`).
        """
        found = verify_registry(
            self.store, self.audit_key, key_problem=self.key_problem, against=against
        )
        self._broken = None if found.ok else found
        return found

    def audit_head(self) -> dict[str, Any]:
        """The newest event's ``seq``, ``hash``, ``mac`` and time, and the key's id: export it
        (``civicml models audit --head``) and keep it where the database is not."""
        return chain_head(self.store, self.audit_key)

    def repair_audit(self, actor: str | Actor, reason: str) -> AuditEvent:
        """Record an admin's repair of a broken audit log after investigating it.

        Nothing is deleted or rewritten: the ``audit.repair`` event lists every problem event
        and differing row as they stand now, and later verifications accept exactly those. In
        server mode only an admin may do this. A missing audit key cannot be repaired this
        way: restore the key.
        """
        who = as_actor(actor)
        if self.server and not (who.verified and who.holds("admin")):
            raise GovernanceError.build(
                f"{who.name} is not an admin, so cannot record a repair of the audit log"
            )
        name = check_text(who.name, "actor", limit=200)
        reason = check_text(reason, "reason")
        if self.key_problem:
            raise IntegrityError.build(self.key_problem, fix=_KEY_FIX)
        found = self.verify_audit()
        event = record_repair(self.store, found, actor=name, reason=reason, identity=who.identity())
        self._broken = None
        return event

    def _refuse_while_broken(self) -> None:
        if self.key_problem:
            raise AuditBrokenError.build(
                f"{self.key_problem}, so this registry refuses writes", fix=_KEY_FIX
            )
        if self._broken is not None:
            raise broken_chain(self._broken.reason or "see 'civicml models audit --verify'")

    # -- tokens ---------------------------------------------------------------------------
    def create_token(
        self,
        name: str,
        scopes: Sequence[str] | str,
        actor: str | Actor,
        *,
        rate_limit: str | None = None,
        reason: str | None = None,
        owner: str | None = None,
        models: Sequence[str] | str | None = None,
    ) -> str:
        """Issue an API token and return its plaintext: it is shown this once only.

        The token acts as ``owner`` (a person or service; default: ``actor``). In server mode
        only an authenticated admin may issue one (the server checks the role). ``models``
        limits it to model names or team prefixes (``benefits-*``); by default it reaches
        every model.
        """
        check_token_name(name)
        actor = self._who(actor, "actor")
        scopes = check_scopes(scopes)
        limited = check_model_scope(models)
        rate_limit = check_rate_limit(rate_limit)
        plaintext, token_id = new_token()
        secret = split_token(plaintext)
        assert secret is not None
        salt, digest = hash_secret(secret[1])
        info = TokenInfo(
            token_id,
            name,
            scopes,
            utc_now(),
            actor.name,
            rate_limit,
            owner=owner or actor.name,
            models=limited,
        )
        self.store.insert_token(
            TokenSecret(info, salt, digest),
            _event(
                actor,
                "token.issue",
                f"token:{name}",
                reason,
                id=token_id,
                scopes=list(scopes),
                rate_limit=rate_limit,
                models=list(limited) or None,
            ),
        )
        return plaintext

    def verify_token(self, token: str) -> TokenInfo | None:
        """The token's facts if it is valid and not revoked, else ``None`` (cached briefly)."""
        cached = self._tokens.get(token) if isinstance(token, str) else None
        if cached is not None:
            return cached
        parts = split_token(token)
        if parts is None:
            return None
        stored = self.store.get_token(parts[0])
        if stored is None or stored.info.revoked_at is not None:
            return None
        if not secret_matches(parts[1], stored.salt, stored.hash):
            return None
        self._tokens.put(token, stored.info)
        return stored.info

    def token_scope(self, token_id: str) -> tuple[str, ...] | None:
        """The model scope of a stored, unrevoked token (``()``: every model), else ``None``."""
        stored = self.store.get_token(str(token_id))
        if stored is None or stored.info.revoked_at is not None:
            return None
        return stored.info.models

    def revoke_token(self, name_or_id: str, actor: str | Actor, reason: str) -> TokenInfo:
        """Revoke a token by name or id; this process stops accepting it at once."""
        actor = self._who(actor, "actor")
        reason = check_text(reason, "reason")
        info = self.store.revoke_token(
            name_or_id,
            actor.name,
            lambda t: _event(actor, "token.revoke", f"token:{t.name}", reason, id=t.id),
        )
        self._tokens.drop_id(info.id)
        return info

    def list_tokens(self) -> list[TokenInfo]:
        """Every token's public facts (never a secret)."""
        return self.store.list_tokens()

    # -- signing keys (civicml.registry._signing_keys) ------------------------------------
    def register_key(
        self,
        public_key_pem: str | bytes,
        actor: str | Actor,
        *,
        owner: str | None = None,
        reason: str | None = None,
    ) -> KeyInfo:
        """Register an Ed25519 public key (PEM) that signs bundles for ``owner`` (default: the
        actor). In server mode only an admin registers a key for someone else.

        The ``key.register`` audit event carries the whole key record under ``state``.
        """
        return keys.register_key(self, public_key_pem, actor, owner=owner, reason=reason)

    def get_key(self, fingerprint: str) -> KeyInfo:
        """The signing key with this fingerprint (or a unique prefix of 8+ characters)."""
        return keys.find_key(self, fingerprint)

    def list_keys(self) -> list[KeyInfo]:
        """Every signing key, revoked ones included, newest first."""
        return self.store.list_keys()

    def revoke_key(self, fingerprint: str, actor: str | Actor, reason: str) -> KeyInfo:
        """Revoke a signing key: bundles it signs are refused from now on. In server mode only
        its owner or an admin revokes it."""
        return keys.revoke_key(self, fingerprint, actor, reason)


def _refuse_look_alike(name: str, alias: str, existing: Iterable[str]) -> None:
    """Refuse a new alias that differs from an existing one only by confusable characters."""
    if alias in existing:
        return
    skeleton = alias_skeleton(alias)
    for other in existing:
        if alias_skeleton(other) == skeleton:
            raise ConflictError.build(
                f"The alias {alias!r} of model {name!r} looks like its existing alias {other!r}",
                expected="an alias that differs by more than case, 0/o, 1/l/i or '_'/'.'/'-'",
                got=alias,
                fix=f"Use the existing alias ('--alias {other}') or choose a clearly different "
                "name",
            )


def _promotion_stack(history: Sequence[tuple[str, int | None]]) -> list[int]:
    """Replay alias moves: a move pushes, a rollback pops back to its target, a removal clears.

    >>> _promotion_stack([("alias", 1), ("alias", 2), ("alias", 3), ("rollback", 2)])
    [1, 2]
    >>> _promotion_stack([("alias", 1), ("alias", 2), ("alias", 3), ("rollback", 1)])
    [1]
    """
    stack: list[int] = []
    for action, version in history:
        if version is None:
            stack.clear()
        elif action == "rollback":
            while stack and stack[-1] != version:
                stack.pop()
            if not stack:
                stack.append(version)
        elif not stack or stack[-1] != version:
            stack.append(version)
    return stack


def _page(limit: int) -> int:
    return max(1, min(int(limit), 10_000))
