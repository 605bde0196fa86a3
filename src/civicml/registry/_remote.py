"""The registry of a ``civicml server``, over its ``/api/v1`` JSON API.

:class:`RemoteRegistry` has the methods and return types of :class:`~civicml.registry.Registry`
that the CLI uses, so every ``civicml models`` and ``civicml tokens`` command works unchanged
when ``--registry`` (or ``$CIVICML_REGISTRY``) is an ``http(s)://`` URL. It authenticates with
the API token in ``$CIVICML_TOKEN`` (``Authorization: Bearer``); the server decides who acts
from that token, so the ``actor=``/``by=`` arguments are accepted and never sent. A refusal
comes back as the server's one-line message in the same civicml error class the embedded
registry raises (by HTTP status), so the CLI prints that line and exits 2.

Examples
--------
>>> RemoteRegistry("https://models.example.gov.uk", token="")
Traceback (most recent call last):
...
civicml._errors.AuthError: No API token for the civicml server at https://models.example.gov.uk. Set CIVICML_TOKEN to an API token an admin issued you (civicml tokens create --registry URL, run by an admin).
>>> api_base("https://models.example.gov.uk/"), api_base("http://127.0.0.1:8080/api/v1")
('https://models.example.gov.uk/api/v1', 'http://127.0.0.1:8080/api/v1')
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from civicml._errors import (
    AuthError,
    BundleError,
    CivicMLError,
    ConflictError,
    GovernanceError,
    IntegrityError,
    NotFoundError,
    RegistryError,
)
from civicml._files import create_private_dir
from civicml._scopes import check_model_scope
from civicml.registry._artifacts import check_signed_by
from civicml.registry._governance import PRODUCTION, non_serving_aliases
from civicml.registry._identity import Actor
from civicml.registry._names import check_alias, check_model_name, parse_ref
from civicml.registry._records import (
    AuditEvent,
    AuditVerification,
    Decision,
    KeyInfo,
    ModelSummary,
    ModelVersion,
    TokenInfo,
)
from civicml.registry._store import expect_of

if TYPE_CHECKING:
    import httpx

    from civicml.bundle import Bundle

__all__ = [
    "RemoteRegistry",
    "api_base",
    "bundle_tar",
    "check_transport_security",
    "extract_bundle_tar",
]

R = TypeVar("R")
TOKEN_ENV = "CIVICML_TOKEN"
#: set to 1 to send the token over plain http to a host that is not this machine
INSECURE_ENV = "CIVICML_ALLOW_INSECURE_HTTP"
_LOOPBACK = ("localhost", "127.0.0.1", "::1", "[::1]")
_CHUNK = 1 << 20
#: the most a downloaded bundle may unpack to (bytes), so a hostile server cannot fill the disk
MAX_BUNDLE_BYTES = 20 << 30
_BY_STATUS: dict[int, type[CivicMLError]] = {
    401: AuthError,
    403: GovernanceError,
    404: NotFoundError,
    409: ConflictError,
    429: AuthError,
}


def api_base(url: str) -> str:
    """The ``/api/v1`` root of the server at ``url`` (which may already end in it)."""
    url = url.rstrip("/")
    return url if url.endswith("/api/v1") else f"{url}/api/v1"


def check_transport_security(url: str) -> None:
    """Refuse to send a token over plain ``http://`` to another machine, where anyone on the
    network could read it, unless ``$CIVICML_ALLOW_INSECURE_HTTP=1``.

    >>> check_transport_security("http://127.0.0.1:8000")
    >>> check_transport_security("http://models.internal:8000")
    Traceback (most recent call last):
    ...
    civicml._errors.AuthError: The civicml server at http://models.internal:8000 is plain http, so your token would cross the network unencrypted. Use https://, or set CIVICML_ALLOW_INSECURE_HTTP=1 on a network you trust.
    """
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme.lower() != "http" or (parts.hostname or "") in _LOOPBACK:
        return
    if os.environ.get(INSECURE_ENV, "") == "1":
        return
    raise AuthError.build(
        f"The civicml server at {url} is plain http, so your token would cross the network "
        "unencrypted",
        fix=f"Use https://, or set {INSECURE_ENV}=1 on a network you trust",
    )


def _record(cls: type[R], doc: Mapping[str, Any]) -> R:
    """A record dataclass from its ``to_dict()`` JSON (lists back to tuples where declared)."""
    if not isinstance(doc, Mapping):
        raise RegistryError.build(
            f"The civicml server answered with something that is not a {cls.__name__}",
            got=type(doc).__name__,
        )
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in doc:
            value = doc[f.name]
            if isinstance(value, list) and str(f.type).startswith("tuple"):
                value = tuple(value)
            kwargs[f.name] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise RegistryError.build(
            f"The civicml server's {cls.__name__} could not be read ({exc})",
            fix="Use a civicml client of the same version as the server",
        ) from None


def _seg(value: str) -> str:
    return quote(str(value), safe="")


def bundle_tar(path: str | Path, out: IO[bytes]) -> int:
    """Write the bundle folder at ``path`` to ``out`` as an uncompressed POSIX tar and return
    its size. Only regular files go in, with neutral owners and times; a link is refused."""
    root = Path(path)
    if not root.is_dir():
        raise BundleError.build(f"{root} is not a bundle folder", fix="Pass the bundle's folder")
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for file in sorted(root.rglob("*")):
            rel = file.relative_to(root).as_posix()
            if file.is_symlink() or not (file.is_file() or file.is_dir()):
                raise BundleError.build(
                    f"The bundle {root} holds {rel!r}, which is not a plain file",
                    fix="Save the bundle again with 'civicml train' (bundles hold only files)",
                )
            if file.is_dir():
                continue
            info = tarfile.TarInfo(rel)
            info.size = file.stat().st_size
            info.mode = 0o644
            with file.open("rb") as fh:
                tar.addfile(info, fh)
    return out.tell()


def _safe_member(member: tarfile.TarInfo, seen: set[str]) -> str:
    """The member's relative path, or IntegrityError for anything that could escape or hide."""
    name = member.name
    parts = PurePosixPath(name).parts
    unsafe = (
        not name
        or name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or ".." in parts
        or (parts and ":" in parts[0])
        or not (member.isfile() or member.isdir())
        or name in seen
    )
    if unsafe:
        raise IntegrityError.build(
            "The bundle the civicml server sent holds an unsafe member",
            expected="plain files with relative paths",
            got=name,
            fix="Report this to the server's admin; nothing was written",
        )
    seen.add(name)
    return name


def extract_bundle_tar(tar_file: IO[bytes], dest: str | Path) -> None:
    """Unpack a bundle tar into the empty folder ``dest``: plain files only, no absolute
    paths, no ``..``, no links or devices, no duplicates, at most :data:`MAX_BUNDLE_BYTES`."""
    dest = Path(dest)
    total = 0
    seen: set[str] = set()
    try:
        with tarfile.open(fileobj=tar_file, mode="r:") as tar:
            for member in tar:
                name = _safe_member(member, seen)
                target = dest / name
                if member.isdir():
                    create_private_dir(target)
                    continue
                total += member.size
                if total > MAX_BUNDLE_BYTES:
                    raise IntegrityError.build(
                        "The bundle the civicml server sent is too large",
                        expected=f"at most {MAX_BUNDLE_BYTES} bytes",
                    )
                source = tar.extractfile(member)
                assert source is not None  # a regular file always has content
                create_private_dir(target.parent)
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with source, os.fdopen(fd, "wb") as fh:
                    shutil.copyfileobj(source, fh, _CHUNK)
    except tarfile.TarError as exc:
        raise IntegrityError.build(
            "The bundle the civicml server sent is not a readable tar", got=str(exc)
        ) from None


class RemoteRegistry:
    """A client of ``civicml server``'s registry API, shaped like :class:`Registry`.

    Parameters
    ----------
    url : str
        The server, ``http(s)://HOST[:PORT]`` (``/api/v1`` is added).
    token : str, optional
        The API token; default ``$CIVICML_TOKEN``. Without one, AuthError says how to get one.
    cache_dir : path, optional
        Where :meth:`load_version` keeps downloaded bundles (default ``.civicml/cache``).
    transport : httpx.BaseTransport, optional
        An httpx transport instead of the network (e.g. ``httpx.MockTransport`` in tests).
    timeout : float
        Seconds to wait for the server.

    A plain ``http://`` URL is refused for any host but this machine (see
    :func:`check_transport_security`).
    """

    #: a server's registry: writes are verified by the server
    server = True

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        cache_dir: str | Path = Path(".civicml") / "cache",
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.url = url.rstrip("/")
        token = os.environ.get(TOKEN_ENV, "") if token is None else token
        if not token.strip():
            raise AuthError.build(
                f"No API token for the civicml server at {self.url}",
                fix=f"Set {TOKEN_ENV} to an API token an admin issued you (civicml tokens "
                "create --registry URL, run by an admin)",
            )
        check_transport_security(self.url)
        import httpx

        self.cache_dir = Path(cache_dir)
        self.non_serving_aliases = non_serving_aliases(None)
        self._http = httpx.Client(
            base_url=api_base(self.url),
            headers={"Authorization": f"Bearer {token.strip()}", "Accept": "application/json"},
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
        )

    # -- plumbing -------------------------------------------------------------------------
    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def __enter__(self) -> RemoteRegistry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; a refusal becomes the civicml error its status stands for."""
        import httpx

        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise RegistryError.build(
                f"Cannot reach the civicml server at {self.url} ({type(exc).__name__}: "
                f"{str(exc) or 'no answer'})",
                fix="Check that 'civicml server' is running there and that --registry or "
                "CIVICML_REGISTRY names it",
            ) from None
        if response.status_code >= 400:
            raise self._error(response)
        return response

    def _error(self, response: httpx.Response) -> CivicMLError:
        status = response.status_code
        try:
            response.read()
            doc = response.json()
            message = str(doc.get("error") or "").strip() if isinstance(doc, dict) else ""
        except Exception:  # not the civicml error body: a proxy's page, say
            doc, message = None, ""
        if not message:
            text = response.text.strip().splitlines()
            message = text[0][:300] if text else response.reason_phrase
        if status == 401:
            return AuthError.build(
                f"The civicml server at {self.url} did not accept the token in {TOKEN_ENV} "
                f"({message.rstrip('.')})",
                fix="Ask an admin for a new token and set CIVICML_TOKEN to it",
            )
        if status >= 500:
            return RegistryError.build(
                f"The civicml server at {self.url} failed (HTTP {status}: {message.rstrip('.')})",
                fix="Try again; if it persists, send the server's admin this line",
            )
        code = doc.get("code") if isinstance(doc, dict) else None
        cls = AuthError if code == "forbidden" else _BY_STATUS.get(status, RegistryError)
        return cls(message)

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._send(method, path, **kwargs).json()

    @staticmethod
    def _version_path(name: str, version: int) -> str:
        return f"/models/{_seg(check_model_name(name))}/versions/{int(version)}"

    def _alias_path(self, name: str, alias: str) -> str:
        return f"/models/{_seg(check_model_name(name))}/aliases/{_seg(check_alias(alias))}"

    def me(self) -> Actor:
        """Who the server says this token belongs to (``GET /me``): a verified Actor."""
        doc = self._json("GET", "/me")
        return Actor(
            str(doc["name"]),
            verified=bool(doc.get("verified")),
            via=str(doc.get("via") or "token"),
            roles=tuple(doc.get("roles") or ()),
        )

    def is_serving(self, alias: str) -> bool:
        """Whether ``alias`` is a serving alias under the default rule (the server decides)."""
        return check_alias(alias) not in self.non_serving_aliases

    # -- reading --------------------------------------------------------------------------
    def get_model(self, name: str) -> ModelSummary:
        """One model's summary."""
        return _record(ModelSummary, self._json("GET", f"/models/{_seg(check_model_name(name))}"))

    def get_version(self, name: str, version: int) -> ModelVersion:
        """One version, or NotFoundError."""
        return _record(ModelVersion, self._json("GET", self._version_path(name, version)))

    def get_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points at, or NotFoundError."""
        return _record(ModelVersion, self._json("GET", self._alias_path(name, alias)))

    def resolve(self, ref: str) -> ModelVersion:
        """``name@alias``, ``name/3`` or ``name`` to a version."""
        parse_ref(ref)  # the same local refusal for a malformed reference
        return _record(ModelVersion, self._json("GET", "/resolve", params={"ref": ref}))

    def list_models(
        self, *, search: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[ModelSummary]:
        """Models by name, a page at a time."""
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if search:
            params["search"] = search
        return [_record(ModelSummary, d) for d in self._json("GET", "/models", params=params)]

    def list_versions(
        self,
        name: str,
        *,
        limit: int = 50,
        offset: int = 0,
        before: int | None = None,
        status: str | None = None,
    ) -> list[ModelVersion]:
        """Versions newest first."""
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if before is not None:
            params["before"] = int(before)
        if status:
            params["status"] = status
        path = f"/models/{_seg(check_model_name(name))}/versions"
        return [_record(ModelVersion, d) for d in self._json("GET", path, params=params)]

    def decisions(self, name: str, version: int) -> list[Decision]:
        """Requests, approvals, rejections and overrides of a version, oldest first."""
        path = self._version_path(name, version) + "/decisions"
        return [_record(Decision, d) for d in self._json("GET", path)]

    def load_version(self, ref: str) -> Bundle:
        """Download a version's bundle into the cache, unpack it safely and verify every hash."""
        from civicml.bundle import verify_bundle

        version = self.resolve(ref)
        dest = self.cache_dir / version.digest
        if dest.is_dir():
            try:
                cached = verify_bundle(dest)
                if cached.digest == version.digest and cached.signer == version.signer:
                    return cached
            except CivicMLError:
                pass
            shutil.rmtree(dest, ignore_errors=True)
        create_private_dir(self.cache_dir)
        tmp = Path(tempfile.mkdtemp(prefix=f".{version.digest[:12]}.", dir=self.cache_dir))
        try:
            with tempfile.TemporaryFile() as spool:
                self._download(self._version_path(version.name, version.version), spool)
                spool.seek(0)
                extract_bundle_tar(spool, tmp)
            bundle = verify_bundle(tmp)
            if bundle.digest != version.digest:
                raise IntegrityError.build(
                    f"The bundle the civicml server sent for {version.ref} has another digest",
                    expected=version.digest,
                    got=bundle.digest,
                    fix="Report this to the server's admin",
                )
            check_signed_by(bundle, version.signer, version.ref)  # the key the server recorded
            try:
                os.replace(tmp, dest)
            except OSError:  # another process filled the cache first
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return verify_bundle(dest)

    def _download(self, version_path: str, out: IO[bytes]) -> None:
        import httpx

        headers = {"Accept": "application/x-tar"}
        try:
            with self._http.stream("GET", version_path + "/bundle", headers=headers) as response:
                if response.status_code >= 400:
                    raise self._error(response)
                for chunk in response.iter_bytes(_CHUNK):
                    out.write(chunk)
        except httpx.TransportError as exc:
            raise RegistryError.build(
                f"The download from the civicml server at {self.url} broke off "
                f"({type(exc).__name__})",
                fix="Try again",
            ) from None

    # -- writing --------------------------------------------------------------------------
    def register(
        self,
        bundle_path: str | Path,
        name: str,
        *,
        actor: str | Actor | None = None,
        reason: str | None = None,
        oversight: str | None = None,
        lawful_basis: str | None = None,
        owner: Mapping[str, str] | None = None,
        intended_use: str | None = None,
        out_of_scope_uses: Sequence[str] | None = None,
        legal: Mapping[str, Any] | None = None,
    ) -> ModelVersion:
        """Send the bundle folder as a tar; the server verifies and registers it as the token's
        holder. Owner, uses and legal record, when given, follow as one governance change."""
        from civicml.bundle import verify_bundle

        check_model_name(name)
        verify_bundle(bundle_path)  # a broken bundle is refused here, before any upload
        params = {
            k: v
            for k, v in {
                "reason": reason,
                "oversight": oversight,
                "lawful_basis": lawful_basis,
            }.items()
            if v is not None
        }
        with tempfile.TemporaryFile() as spool:
            size = bundle_tar(bundle_path, spool)
            spool.seek(0)
            doc = self._json(
                "POST",
                f"/models/{_seg(name)}/versions",
                params=params,
                content=_chunks(spool),
                headers={"Content-Type": "application/x-tar", "Content-Length": str(size)},
            )
        version = _record(ModelVersion, doc)
        extra = _fields(owner=owner, intended_use=intended_use, legal=legal)
        if out_of_scope_uses is not None:
            extra["out_of_scope_uses"] = list(out_of_scope_uses)
        if extra:
            version = self.set_governance(name, version.version, reason=reason, **extra)
        return version

    def _version_post(self, name: str, version: int, what: str, body: Mapping[str, Any]) -> Any:
        return self._json("POST", self._version_path(name, version) + what, json=dict(body))

    def set_governance(
        self,
        name: str,
        version: int,
        *,
        actor: str | Actor | None = None,
        reason: str | None = None,
        oversight: str | None = None,
        lawful_basis: str | None = None,
        owner: Mapping[str, str] | None = None,
        intended_use: str | None = None,
        out_of_scope_uses: Sequence[str] | None = None,
        legal: Mapping[str, Any] | None = None,
    ) -> ModelVersion:
        """Record governance fields on a version not yet approved."""
        body = _fields(
            reason=reason,
            oversight=oversight,
            lawful_basis=lawful_basis,
            owner=owner,
            intended_use=intended_use,
            out_of_scope_uses=out_of_scope_uses,
            legal=legal,
        )
        return _record(ModelVersion, self._version_post(name, version, "/governance", body))

    def request_approval(
        self,
        name: str,
        version: int,
        *,
        actor: str | Actor | None = None,
        reason: str,
        oversight: str | None = None,
        lawful_basis: str | None = None,
        owner: Mapping[str, str] | None = None,
        intended_use: str | None = None,
        out_of_scope_uses: Sequence[str] | None = None,
        legal: Mapping[str, Any] | None = None,
    ) -> ModelVersion:
        """Ask for approval as the token's holder."""
        body = _fields(
            reason=reason,
            oversight=oversight,
            lawful_basis=lawful_basis,
            owner=owner,
            intended_use=intended_use,
            out_of_scope_uses=out_of_scope_uses,
            legal=legal,
        )
        return _record(ModelVersion, self._version_post(name, version, "/request-approval", body))

    def approve(
        self, name: str, version: int, *, by: str | Actor | None = None, reason: str
    ) -> ModelVersion:
        """Approve as the token's holder (the server checks the role and the three people)."""
        doc = self._version_post(name, version, "/approve", {"reason": reason})
        return _record(ModelVersion, doc)

    def reject(
        self, name: str, version: int, *, by: str | Actor | None = None, reason: str
    ) -> ModelVersion:
        """Reject as the token's holder."""
        return _record(
            ModelVersion, self._version_post(name, version, "/reject", {"reason": reason})
        )

    def override_checks(
        self, name: str, version: int, *, by: str | Actor | None = None, reason: str
    ) -> ModelVersion:
        """Override failing or missing checks as the token's holder."""
        doc = self._version_post(name, version, "/override", {"reason": reason})
        return _record(ModelVersion, doc)

    def review(
        self, name: str, version: int, *, actor: str | Actor | None = None, notes: str
    ) -> ModelVersion:
        """Record a scheduled review as the token's holder (``POST …/review``)."""
        doc = self._version_post(name, version, "/review", {"notes": notes})
        return _record(ModelVersion, doc)

    def review_state(self, name: str, version: int) -> dict[str, Any]:
        """``{"due", "overdue", "last_review"}`` of a version (``GET …/review``)."""
        doc = self._json("GET", self._version_path(name, version) + "/review")
        return dict(doc) if isinstance(doc, dict) else {}

    def retire(
        self,
        name: str,
        version: int,
        *,
        actor: str | Actor | None = None,
        reason: str,
        force: bool = False,
    ) -> ModelVersion:
        """Retire a version as the token's holder, an approver (``POST …/retire``)."""
        doc = self._version_post(name, version, "/retire", {"reason": reason, "force": force})
        return _record(ModelVersion, doc)

    # -- aliases --------------------------------------------------------------------------
    def set_alias(
        self,
        name: str,
        alias: str,
        version: int,
        *,
        actor: str | Actor | None = None,
        reason: str | None = None,
        expect: int | str | None = None,
    ) -> ModelVersion:
        """Point ``alias`` at ``version`` (the server applies the serving-alias rules);
        ``expect`` (a version or ``"none"``) makes it a compare-and-set, 409 when moved."""
        expected = expect_of(expect)
        body = _fields(version=int(version), reason=reason)
        if expected is not None:
            body["expected_version"] = "none" if expected.version is None else expected.version
        return _record(ModelVersion, self._json("PUT", self._alias_path(name, alias), json=body))

    def promote(
        self,
        name: str,
        version: int,
        alias: str = PRODUCTION,
        *,
        actor: str | Actor | None = None,
        reason: str | None = None,
        expect: int | str | None = None,
    ) -> ModelVersion:
        """Move ``alias`` (``production`` by default) to ``version`` (``expect``: see
        :meth:`set_alias`)."""
        return self.set_alias(name, alias, version, reason=reason, expect=expect)

    def remove_alias(
        self, name: str, alias: str, *, actor: str | Actor | None = None, reason: str
    ) -> None:
        """Remove an alias."""
        self._send("DELETE", self._alias_path(name, alias), json={"reason": reason})

    def rollback(
        self,
        name: str,
        *,
        actor: str | Actor | None = None,
        reason: str,
        alias: str = PRODUCTION,
    ) -> ModelVersion:
        """Move the alias back to the approved version that held it before."""
        path = self._alias_path(name, alias) + "/rollback"
        return _record(ModelVersion, self._json("POST", path, json={"reason": reason}))

    # -- audit ----------------------------------------------------------------------------
    def audit_events(
        self, *, after: int = 0, limit: int | None = None, subject: str | None = None
    ) -> list[AuditEvent]:
        """Audit events in order."""
        params: dict[str, Any] = {"after": int(after)}
        if limit is not None:
            params["limit"] = int(limit)
        if subject:
            params["subject"] = subject
        return [_record(AuditEvent, d) for d in self._json("GET", "/audit", params=params)]

    def verify_audit(self, *, against: Mapping[str, Any] | None = None) -> AuditVerification:
        """The server's check of the whole audit log; ``against``, a head exported earlier
        (:meth:`audit_head`), must still be in the log the server returns, unchanged."""
        found = _record(AuditVerification, self._json("GET", "/audit/verify"))
        if against is None or not found.ok:
            return found
        seq, digest = int(against["seq"]), str(against["hash"])
        held = self.audit_events(after=seq - 1, limit=1) if seq > 0 else []
        if seq > 0 and (not held or held[0].seq != seq or held[0].hash != digest):
            why = (
                f"the exported head (event {seq}, hash {digest[:16]}…) is not in the server's "
                "audit log as it was: events were rewritten or removed since it was exported"
            )
            return dataclasses.replace(found, ok=False, first_bad_event_id=seq, reason=why)
        return found

    def audit_head(self) -> dict[str, Any]:
        """The newest event's ``seq``, ``hash`` and ``mac`` as the server reports them."""
        doc = self._json("GET", "/audit/head")
        if not isinstance(doc, dict) or "seq" not in doc:
            raise RegistryError.build("The civicml server's audit head could not be read")
        return doc

    def repair_audit(self, actor: str | Actor | None, reason: str) -> AuditEvent:
        """Record the repair of the server's broken audit log (admin only; the server takes
        who from the token and writes the ``audit.repair`` event)."""
        doc = self._json("POST", "/audit/repair", json={"reason": reason})
        return _record(AuditEvent, doc)

    # -- tokens ---------------------------------------------------------------------------
    def create_token(
        self,
        name: str,
        scopes: Sequence[str] | str,
        actor: str | Actor | None = None,
        *,
        rate_limit: str | None = None,
        reason: str | None = None,
        owner: str | None = None,
        models: Sequence[str] | str | None = None,
    ) -> str:
        """Issue an API token (admin only) and return its plaintext, shown this once;
        ``models`` limits it to model names or team prefixes (``benefits-*``)."""
        body = _fields(
            name=name,
            scopes=[scopes] if isinstance(scopes, str) else list(scopes),
            rate_limit=rate_limit,
            reason=reason,
            owner=owner,
            models=list(check_model_scope(models)) or None,
        )
        return str(self._json("POST", "/tokens", json=body)["token"])

    def revoke_token(
        self, name_or_id: str, actor: str | Actor | None = None, reason: str = ""
    ) -> TokenInfo:
        """Revoke a token by name or id (admin only)."""
        doc = self._json("DELETE", f"/tokens/{_seg(name_or_id)}", json={"reason": reason})
        return _record(TokenInfo, doc)

    def list_tokens(self) -> list[TokenInfo]:
        """Every token's public facts (admin only)."""
        return [_record(TokenInfo, d) for d in self._json("GET", "/tokens")]

    # -- signing keys ---------------------------------------------------------------------
    def register_key(
        self,
        public_key_pem: str | bytes,
        actor: str | Actor | None = None,
        *,
        owner: str | None = None,
        reason: str | None = None,
    ) -> KeyInfo:
        """Register an Ed25519 public key (PEM) for the token's holder (an admin may name
        another ``owner``)."""
        pem = (
            public_key_pem.decode("ascii") if isinstance(public_key_pem, bytes) else public_key_pem
        )
        body = _fields(public_key=pem, owner=owner, reason=reason)
        return _record(KeyInfo, self._json("POST", "/keys", json=body))

    def list_keys(self) -> list[KeyInfo]:
        """Every signing key, revoked ones included."""
        return [_record(KeyInfo, d) for d in self._json("GET", "/keys")]

    def revoke_key(
        self, fingerprint: str, actor: str | Actor | None = None, reason: str = ""
    ) -> KeyInfo:
        """Revoke a signing key (its owner or an admin)."""
        doc = self._json("DELETE", f"/keys/{_seg(fingerprint)}", json={"reason": reason})
        return _record(KeyInfo, doc)

    # -- ATRS answers ---------------------------------------------------------------------
    def atrs_record(self, name: str, version: int) -> dict[str, Any]:
        """The version's ATRS record (generated part plus stored answers) as the server builds
        it: ``{"name", "version", "complete", "gaps", "record"}`` (``GET …/atrs``)."""
        doc = self._json("GET", self._version_path(name, version) + "/atrs")
        if not isinstance(doc, dict) or not isinstance(doc.get("record"), dict):
            raise RegistryError.build(
                "The civicml server's answer holds no ATRS record",
                fix="Upgrade the server to a civicml release with ATRS answers",
            )
        return doc

    def atrs_answers(self, name: str, version: int) -> dict[str, dict[str, Any]]:
        """The answers stored for the version, by field id (``GET …/atrs/answers``)."""
        doc = self._json("GET", self._version_path(name, version) + "/atrs/answers")
        answers = doc.get("answers") if isinstance(doc, dict) else None
        return dict(answers) if isinstance(answers, dict) else {}

    def set_atrs_answers(
        self,
        name: str,
        version: int,
        answers: Mapping[str, Any],
        *,
        actor: str | Actor | None = None,
        reason: str | None = None,
    ) -> list[dict[str, Any]]:
        """Store answers as the token's holder (the server checks the ids against the record
        and the role); the rows written (``PUT …/atrs/answers``)."""
        body = _fields(answers=dict(answers), reason=reason)
        doc = self._json("PUT", self._version_path(name, version) + "/atrs/answers", json=body)
        written = doc.get("written") if isinstance(doc, dict) else None
        return [r for r in written if isinstance(r, dict)] if isinstance(written, list) else []

    def atrs_exemption(self, name: str, version: int) -> dict[str, Any] | None:
        """The version's recorded ATRS exemption, or None (``GET …/atrs/exemption``)."""
        doc = self._json("GET", self._version_path(name, version) + "/atrs/exemption")
        row = doc.get("exemption") if isinstance(doc, dict) else None
        return dict(row) if isinstance(row, dict) else None

    def record_atrs_exemption(
        self, name: str, version: int, *, reason: str | None, actor: str | Actor | None = None
    ) -> dict[str, Any] | None:
        """Record (``reason=None``: withdraw) an exemption from the ATRS record as the token's
        holder, who needs the approver role (``PUT``/``DELETE …/atrs/exemption``)."""
        path = self._version_path(name, version) + "/atrs/exemption"
        if reason is None:
            doc = self._json("DELETE", path)
        else:
            doc = self._json("PUT", path, json={"reason": reason})
        row = doc.get("exemption") if isinstance(doc, dict) else None
        return dict(row) if isinstance(row, dict) else None

    # -- runs (read only) -----------------------------------------------------------------
    def list_runs(self, *, limit: int = 20, **filters: str | None) -> list[dict[str, Any]]:
        """Recorded training runs as JSON documents, newest first (``GET /runs``)."""
        params: dict[str, Any] = {"limit": int(limit)}
        params.update({k: v for k, v in filters.items() if v})
        found = self._json("GET", "/runs", params=params)
        runs = found.get("runs", []) if isinstance(found, dict) else found
        return [r for r in runs if isinstance(r, dict)]

    def get_run(self, run_id: str) -> dict[str, Any]:
        """One run by id or unique prefix (``GET /runs/{id}``)."""
        doc = self._json("GET", f"/runs/{_seg(run_id)}")
        if not isinstance(doc, dict):
            raise NotFoundError.build(f"The civicml server has no run {run_id!r}")
        return doc


def _fields(**values: Any) -> dict[str, Any]:
    """The given (not None) fields, mappings and sequences as plain JSON types."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, Mapping):
            value = dict(value)
        elif isinstance(value, (tuple, list)):
            value = list(value)
        out[key] = value
    return out


def _chunks(fh: IO[bytes]) -> Iterator[bytes]:
    while chunk := fh.read(_CHUNK):
        yield chunk
