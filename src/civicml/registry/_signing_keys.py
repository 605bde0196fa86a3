"""The Ed25519 public keys that may sign bundles, each registered to a person or service, and
the check of a bundle's signer at registration.

:class:`~civicml.registry.Registry` delegates here (``register_key``, ``revoke_key``,
``get_key``); every change is an audit event carrying the key's whole record under ``state``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from civicml._errors import GovernanceError, NotFoundError
from civicml.registry._identity import Actor
from civicml.registry._identity import event_draft as _event
from civicml.registry._names import check_text
from civicml.registry._records import EventDraft, KeyInfo
from civicml.storage import utc_now

if TYPE_CHECKING:
    from civicml.bundle import Bundle
    from civicml.registry._registry import Registry

__all__ = ["check_signer", "find_key", "register_key", "revoke_key"]


def register_key(
    registry: Registry,
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
    from civicml.bundle import fingerprint
    from civicml.bundle import public_key_pem as canonical_pem

    actor = registry._who(actor, "actor")
    reason = check_text(reason, "reason", required=False) or None
    holder = check_text(owner, "key owner", limit=200) if owner else actor.name
    if registry.server and holder != actor.name and not actor.holds("admin"):
        raise GovernanceError.build(
            f"{actor.name} cannot register a signing key for {holder}: only an admin "
            "registers a key for someone else",
            fix=f"Ask {holder} to run 'civicml keys register PUBKEY' themselves",
        )
    pem = canonical_pem(public_key_pem)
    info = KeyInfo(fingerprint(pem), holder, pem, utc_now(), actor.name)
    event = _event(
        actor,
        "key.register",
        f"key:{info.fingerprint}",
        reason,
        fingerprint=info.fingerprint,
        owner=holder,
        public_key=pem,
        state=info.state(),
    )
    return registry.store.insert_key(info, event)


def revoke_key(registry: Registry, fingerprint: str, actor: str | Actor, reason: str) -> KeyInfo:
    """Revoke a signing key: bundles it signs are refused from now on. In server mode only
    its owner or an admin revokes it."""
    actor = registry._who(actor, "actor")
    reason = check_text(reason, "reason")
    found = find_key(registry, fingerprint)

    def make_event(k: KeyInfo) -> EventDraft:
        if registry.server and k.owner != actor.name and not actor.holds("admin"):
            raise GovernanceError.build(
                f"The signing key {k.fingerprint[:16]}… belongs to {k.owner}, so "
                f"{actor.name} cannot revoke it",
                fix=f"Ask {k.owner} or an admin to revoke it",
            )
        return _event(
            actor,
            "key.revoke",
            f"key:{k.fingerprint}",
            reason,
            fingerprint=k.fingerprint,
            owner=k.owner,
            state=k.state(),
        )

    return registry.store.revoke_key(found.fingerprint, actor.name, make_event)


def find_key(registry: Registry, fingerprint: str) -> KeyInfo:
    text = str(fingerprint).strip().lower()
    if len(text) == 64:
        found = registry.store.get_key(text)
        matches = [found] if found is not None else []
    elif len(text) >= 8 and set(text) <= set("0123456789abcdef"):
        matches = [k for k in registry.store.list_keys() if k.fingerprint.startswith(text)]
    else:
        raise NotFoundError.build(
            "A signing key is named by its fingerprint (64 hex characters, or the first 8+)",
            got=fingerprint,
            fix="Run 'civicml keys list' to see the fingerprints",
        )
    if len(matches) != 1:
        raise NotFoundError.build(
            f"{'No' if not matches else 'More than one'} signing key has the fingerprint "
            f"{fingerprint!r}",
            fix="Run 'civicml keys list' and give the whole fingerprint",
        )
    return matches[0]


def check_signer(registry: Registry, bundle: Bundle, actor: Actor) -> str | None:
    """The fingerprint that signed ``bundle`` (``None``: unsigned), refusing a revoked key,
    and in server mode an unsigned bundle or a key not registered to ``actor``."""
    from civicml.bundle import read_signature

    sig = read_signature(bundle)  # IntegrityError when forged or the manifest was rewritten
    setup = (
        "create a key with 'civicml keys create', register it with 'civicml keys register "
        "PUBKEY', then train again or sign with 'civicml keys sign BUNDLE'"
    )
    if sig is None:
        if registry.server:
            raise GovernanceError.build(
                f"The bundle {str(bundle.path)!r} is not signed, and this server registers "
                "only bundles signed by a key registered to the person registering them",
                fix=setup[0].upper() + setup[1:],
            )
        return None
    key = registry.store.get_key(sig.fingerprint)
    if key is not None and key.revoked_at is not None:
        raise GovernanceError.build(
            f"The bundle {str(bundle.path)!r} was signed by key {sig.fingerprint[:16]}…, "
            f"which {key.revoked_by} revoked at {key.revoked_at}",
            fix=f"Use a key that is not revoked: {setup}",
        )
    if registry.server and (key is None or key.owner != actor.name):
        whose = "is not registered" if key is None else f"is registered to {key.owner}"
        raise GovernanceError.build(
            f"The bundle {str(bundle.path)!r} was signed by key {sig.fingerprint[:16]}…, "
            f"which {whose}, not to {actor.name}",
            fix=f"Sign with your own key: {setup}",
        )
    return sig.fingerprint
