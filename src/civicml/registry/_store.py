"""The storage interface every registry backend implements (Optuna-style).

The :class:`~civicml.registry.Registry` facade holds the rules (governance, two-person approval,
rollback); a store holds the data and makes each change atomic: the change and the audit event
that records it commit together or not at all, and version numbers are allocated under a lock.

Changes that depend on current state take a callback that runs *inside* the store's write
transaction, on freshly read state, so a check and the change it guards cannot be split by another
process. A callback raises a :class:`~civicml.CivicMLError` to refuse; the transaction then rolls
back and nothing is written.

Constructors do no I/O; :meth:`RegistryStore.connect` opens connections and migrates.

Examples
--------
>>> from civicml.registry import SQLStore
>>> store = SQLStore("sqlite://")          # nothing is opened yet
>>> store.connect()
>>> store.list_models()
[]
>>> store.close()
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from civicml._errors import RegistryError
from civicml.registry._records import (
    AuditEvent,
    Decision,
    EventDraft,
    KeyInfo,
    ModelSummary,
    ModelVersion,
    TokenInfo,
)
from civicml.registry._replay import TableState

__all__ = ["AliasMove", "Expect", "RegistryStore", "TokenSecret", "VersionChange", "expect_of"]


@dataclass(frozen=True)
class Expect:
    """What a compare-and-set alias move expects the alias to point at now (``None``: empty)."""

    version: int | None

    def describe(self) -> str:
        """``v3`` or ``nothing``."""
        return "nothing" if self.version is None else f"v{self.version}"


def expect_of(value: object) -> Expect | None:
    """The expectation of a ``promote``: a version number, ``"none"`` (the alias must be
    empty), or ``None`` (no expectation: the move is unconditional).

    >>> expect_of(3), expect_of("none"), expect_of("4"), expect_of(None)
    (Expect(version=3), Expect(version=None), Expect(version=4), None)
    >>> expect_of("latest")
    Traceback (most recent call last):
    ...
    civicml._errors.RegistryError: The expected version of the alias is not valid. Expected a version number (1, 2, ...) or 'none' for an alias that points at nothing yet; got 'latest'. Pass the version the alias points at now, e.g. --expect 3.
    """
    if value is None or isinstance(value, Expect):
        return value
    if isinstance(value, str) and value.strip().lower() == "none":
        return Expect(None)
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str) and text.isdigit() and len(text) <= 12:
        text = int(text)
    if isinstance(text, int) and not isinstance(text, bool) and text >= 1:
        return Expect(text)
    raise RegistryError.build(
        "The expected version of the alias is not valid",
        expected="a version number (1, 2, ...) or 'none' for an alias that points at nothing yet",
        got=value,
        fix="Pass the version the alias points at now, e.g. --expect 3",
    )


@dataclass(frozen=True)
class VersionChange:
    """What :meth:`RegistryStore.update_version`'s callback returns: the new column values, an
    optional decision to record, and the audit event."""

    event: EventDraft
    changes: Mapping[str, Any] = field(default_factory=dict)
    decision: Decision | None = None


@dataclass
class AliasMove:
    """State handed to :meth:`RegistryStore.move_alias`'s callback, read under the write lock.

    Attributes
    ----------
    current : int or None
        The version the alias points at now.
    history : list of (str, int or None)
        The alias's recent moves, oldest first: the audit action that moved it (``alias`` or
        ``rollback``) and the version it then pointed at (``None``: removed).
    version : callable
        ``version(n)`` reads version ``n`` of the model inside the transaction (or ``None``).
    aliases : mapping of str to int
        Every alias of the model now (normalised), read in the same transaction.
    """

    name: str
    alias: str
    current: int | None
    history: list[tuple[str, int | None]]
    version: Callable[[int], ModelVersion | None]
    aliases: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class TokenSecret:
    """A stored token: its public facts and the salted hash to compare against."""

    info: TokenInfo
    salt: str
    hash: str


class RegistryStore(ABC):
    """Where the registry keeps models, versions, aliases, decisions, audit events and tokens."""

    @abstractmethod
    def connect(self) -> None:
        """Open connections and bring the schema to the newest migration."""

    @abstractmethod
    def close(self) -> None:
        """Release every connection."""

    # -- versions -------------------------------------------------------------------------
    @abstractmethod
    def create_version(
        self,
        name: str,
        *,
        digest: str,
        artifact_key: str,
        created_by: str,
        reason: str | None,
        fields: Mapping[str, Any],
        make_event: Callable[[ModelVersion], EventDraft],
    ) -> ModelVersion:
        """Create the model if new and add the next version number, with its audit event.

        Raises :class:`~civicml.ConflictError` when this model already holds ``digest``.
        """

    @abstractmethod
    def get_version(self, name: str, version: int) -> ModelVersion | None:
        """One version with its aliases, or ``None``."""

    @abstractmethod
    def get_alias_version(self, name: str, alias: str) -> ModelVersion | None:
        """The version a normalised alias points at (one query), or ``None``; a stored alias
        that folds to it (``Production``) matches too."""

    @abstractmethod
    def list_versions(
        self,
        name: str,
        *,
        limit: int = 50,
        offset: int = 0,
        before: int | None = None,
        status: str | None = None,
    ) -> list[ModelVersion]:
        """Versions newest first; ``before`` is a keyset cursor (versions below it)."""

    @abstractmethod
    def update_version(
        self, name: str, version: int, apply: Callable[[ModelVersion], VersionChange]
    ) -> ModelVersion:
        """Apply the callback's change to one version atomically, with its audit event."""

    @abstractmethod
    def decisions(self, name: str, version: int) -> list[Decision]:
        """Requests, approvals, rejections and overrides of one version, oldest first."""

    # -- models and aliases ---------------------------------------------------------------
    @abstractmethod
    def get_model(self, name: str) -> ModelSummary | None:
        """One model's summary, or ``None``."""

    @abstractmethod
    def list_models(
        self,
        *,
        search: str | None = None,
        limit: int = 100,
        offset: int = 0,
        scope: Sequence[str] = (),
    ) -> list[ModelSummary]:
        """Models by name; ``search`` keeps names containing it (case-insensitive) and
        ``scope`` (names or ``prefix*`` patterns, empty: all) keeps the models it reaches."""

    @abstractmethod
    def move_alias(
        self,
        name: str,
        alias: str,
        choose: Callable[[AliasMove], tuple[int | None, EventDraft]],
        *,
        expect: Expect | None = None,
    ) -> int | None:
        """Point ``alias`` at the version the callback chooses (``None`` removes it).

        ``alias`` is normalised; a stored row whose alias folds to it (written before aliases
        were normalised, e.g. ``Production``) is the same alias and is rewritten in normal form.

        With ``expect``, the move is a compare-and-set: it raises
        :class:`~civicml.ConflictError` unless the alias points at ``expect.version`` when the
        write happens (the check and the write are one atomic step in the store). Without it,
        the move applies to whatever the alias holds at that moment.
        """

    # -- audit ----------------------------------------------------------------------------
    @abstractmethod
    def append_event(self, event: EventDraft) -> AuditEvent:
        """Append a standalone event to the chain."""

    @abstractmethod
    def audit_events(
        self, *, after: int = 0, limit: int | None = None, subject: str | None = None
    ) -> list[AuditEvent]:
        """Events with ``seq > after`` in ascending order."""

    @abstractmethod
    def audit_head(self) -> tuple[int, str] | None:
        """``(seq, hash)`` of the newest event as the store recorded it; ``None`` if empty."""

    @abstractmethod
    def audit_events_text(
        self, *, after: int = 0, limit: int = 5000
    ) -> list[tuple[AuditEvent, str]]:
        """Events in order with their details text exactly as stored."""

    @abstractmethod
    def has_keyed_events(self) -> bool:
        """Whether any audit event carries a MAC."""

    @abstractmethod
    def table_state(self) -> TableState:
        """Every governed row as the audit replay keys it."""

    @abstractmethod
    def append_repair(self, make_event: Callable[[int], EventDraft]) -> AuditEvent:
        """Append a repair event after the newest existing event (resetting the head row)."""

    # -- tokens ---------------------------------------------------------------------------
    @abstractmethod
    def insert_token(self, secret: TokenSecret, event: EventDraft) -> TokenInfo:
        """Store a new token's hash with its audit event; its name must be new."""

    @abstractmethod
    def get_token(self, token_id: str) -> TokenSecret | None:
        """The stored token with this id (revoked ones included), or ``None``."""

    @abstractmethod
    def list_tokens(self) -> list[TokenInfo]:
        """Every token's public facts, newest first."""

    @abstractmethod
    def revoke_token(
        self, name_or_id: str, actor: str, make_event: Callable[[TokenInfo], EventDraft]
    ) -> TokenInfo:
        """Mark a token revoked, with its audit event."""

    # -- signing keys ---------------------------------------------------------------------
    @abstractmethod
    def insert_key(self, info: KeyInfo, event: EventDraft) -> KeyInfo:
        """Store a new signing key with its audit event; its fingerprint must be new (a
        revoked key cannot come back)."""

    @abstractmethod
    def get_key(self, fingerprint: str) -> KeyInfo | None:
        """The key with this fingerprint (revoked ones included), or ``None``."""

    @abstractmethod
    def list_keys(self) -> list[KeyInfo]:
        """Every signing key, newest first."""

    @abstractmethod
    def revoke_key(
        self, fingerprint: str, actor: str, make_event: Callable[[KeyInfo], EventDraft]
    ) -> KeyInfo:
        """Mark a key revoked, with its audit event; the callback sees the revoked record
        inside the transaction and may raise to refuse."""

    # -- ATRS answers ---------------------------------------------------------------------
    def atrs_answer_rows(self, name: str, versions: tuple[int, ...]) -> list[dict[str, Any]]:
        """The stored ATRS answer rows of ``name`` for these versions (0: every version's),
        as :func:`civicml.registry._replay.atrs_answer_state` records them."""
        raise NotImplementedError

    def set_atrs_answer_rows(
        self,
        name: str,
        make_rows: Callable[[dict[str, dict[str, Any]]], dict[str, dict[str, Any]]],
        make_event: Callable[[dict[str, dict[str, Any]]], EventDraft | None],
    ) -> dict[str, dict[str, Any]]:
        """Write ATRS answer rows with their audit event in one transaction. ``make_rows`` gets
        the model's current rows (keyed ``name/N:field``) and returns the rows to write;
        ``make_event`` gets those and returns the event (``None``: nothing changed)."""
        raise NotImplementedError
