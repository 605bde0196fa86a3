"""Sign-in through an OpenID Provider: authorization code with PKCE (S256), with ``authlib``.

:class:`OIDCClient` does the relying party's half of OpenID Connect: discovery
(``/.well-known/openid-configuration``), the authorization request (``state``, ``nonce`` and
a PKCE verifier, kept by the caller in a signed cookie), the code exchange, and ID token
validation (signature through the provider's JWKS, ``iss``, ``aud``, ``azp``, ``exp``, ``iat``,
``nonce``). The person's civicml roles come from one claim (``groups`` by default) through
:attr:`OIDCSettings.role_map`; a person whose groups map to no role cannot sign in.

The role map
------------
Each item is ``GROUP=ROLE`` (the role reaches every model) or ``GROUP=ROLE@SCOPE``, where
``SCOPE`` is one or more model names or team prefixes ending in one ``*``, comma-separated, as
a token's ``--models`` (``benefits-approvers=approver@benefits-*``,
``housing-team=trainer@housing-*,housing-triage``). A person holds one :class:`RoleGrant` per
role their groups give: its models are the union of the scopes of the groups that gave that
role, and a group that gives the role with no scope wins (the role then reaches every model).
Each grant is checked on its own: a role reaches a model only through a grant whose scope holds
that model, so a person in ``staff=viewer`` and ``benefits-approvers=approver@benefits-*`` reads
every model and approves only ``benefits-*`` ones, never an unscoped approver.
:meth:`OIDCSettings.roles_for` (and :attr:`OIDCIdentity.roles`) are the roles that reach every
model, the only ones a surface that shows every model (the dashboard) may honour.

Examples
--------
>>> s = OIDCSettings("https://id.example.gov.uk", "civicml", "s3cret",
...                  role_map={"ml-approvers": "approver", "ml-team": "trainer"})
>>> s.roles_for({"groups": ["ml-team", "finance", "ml-approvers"]})
('trainer', 'approver')
>>> s.roles_for({"groups": "finance"})
()
>>> s
OIDCSettings(issuer='https://id.example.gov.uk', client_id='civicml', role_claim='groups')
>>> parse_role_map(["civicml-admins=admin", "Readers = viewer"])
{'civicml-admins': 'admin', 'Readers': 'viewer'}
>>> parse_role_map(["x=root"])
Traceback (most recent call last):
civicml._errors.SpecError: The role map gives 'x' an unknown role. Expected one of viewer, trainer, approver, admin; got 'root'. Map each group to one of those roles.

Roles limited to some models:

>>> teams = OIDCSettings("https://id.example.gov.uk", "civicml", "s3cret", role_map=parse_role_map(
...     ["staff=viewer", "benefits-approvers=approver@benefits-*",
...      "housing-team=trainer@housing-*, housing-triage", "fraud-team=trainer@fraud-*"]))
>>> teams.role_map["housing-team"]
'trainer@housing-*,housing-triage'
>>> teams.grants_for({"groups": ["staff", "benefits-approvers", "housing-team", "fraud-team"]})
(RoleGrant(role='viewer', models=()), RoleGrant(role='trainer', models=('housing-*', 'housing-triage', 'fraud-*')), RoleGrant(role='approver', models=('benefits-*',)))
>>> teams.roles_for({"groups": ["staff", "benefits-approvers"]})  # reach every model
('viewer',)
>>> teams.roles_for({"groups": ["benefits-approvers"]})
()
>>> parse_role_map(["x=approver@*"])
Traceback (most recent call last):
civicml._errors.SpecError: The role map limits 'x' to a model scope that is not allowed. Expected model names, or a team prefix ending in one '*' such as 'benefits-*', comma-separated; got 'approver@*'. Write GROUP=ROLE@benefits-* (or GROUP=ROLE for every model).
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from civicml._errors import AuthError, SpecError
from civicml.asgi._auth import Principal

__all__ = [
    "OIDC_ROLES",
    "OIDCClient",
    "OIDCIdentity",
    "OIDCPrincipal",
    "OIDCSettings",
    "RoleGrant",
    "SignInRefused",
    "parse_grant",
    "parse_role_map",
]

#: civicml's roles, weakest first (the registry's ``ROLES``)
OIDC_ROLES = ("viewer", "trainer", "approver", "admin")
#: signature algorithms accepted for ID tokens (never ``none``, never HMAC with the secret)
ID_TOKEN_ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA", "Ed25519", "RS384", "RS512", "ES384")
LEEWAY_SECONDS = 60
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class SignInRefused(AuthError):
    """The provider or its answer refused the sign-in (one line, safe to show the person)."""


@dataclass(frozen=True)
class RoleGrant:
    """One civicml role a signed-in person holds and the models it reaches.

    Parameters
    ----------
    role : str
        One of :data:`OIDC_ROLES`.
    models : tuple of str
        Model names or team prefixes ending in one ``*`` (``benefits-*``); empty: every model.
    """

    role: str
    models: tuple[str, ...] = ()

    @property
    def spec(self) -> str:
        """The grant as the role map writes it: ``approver`` or ``approver@benefits-*``.

        >>> RoleGrant("trainer", ("housing-*", "housing-triage")).spec
        'trainer@housing-*,housing-triage'
        """
        return self.role if not self.models else f"{self.role}@{','.join(self.models)}"


def parse_role_map(items: Iterable[str] | Mapping[str, str]) -> dict[str, str]:
    """``GROUP=ROLE`` or ``GROUP=ROLE@SCOPE`` items (or a mapping of group to ``ROLE`` or
    ``ROLE@SCOPE``) as ``{group: grant}``, each role and scope checked and written the one way
    (:attr:`RoleGrant.spec`)."""
    pairs = items.items() if isinstance(items, Mapping) else (_split(i) for i in items)
    out: dict[str, str] = {}
    for group, value in pairs:
        group = str(group).strip()
        if not group:
            raise SpecError.build(
                "A role map entry names no group",
                got=f"={value}",
                fix="Write it as GROUP=ROLE, or GROUP=ROLE@benefits-* for some models only",
            )
        out[group] = parse_grant(group, str(value)).spec
    return out


def parse_grant(group: str, value: str) -> RoleGrant:
    """The grant ``ROLE`` or ``ROLE@SCOPE`` that the role map gives ``group``.

    >>> parse_grant("g", "Approver @ benefits-*, fraud-triage")
    RoleGrant(role='approver', models=('benefits-*', 'fraud-triage'))
    >>> parse_grant("g", "approver@")
    Traceback (most recent call last):
    civicml._errors.SpecError: The role map limits 'g' to a model scope that is not allowed. Expected model names, or a team prefix ending in one '*' such as 'benefits-*', comma-separated; got 'approver@'. Write GROUP=ROLE@benefits-* (or GROUP=ROLE for every model).
    """
    role, sep, scope = str(value).partition("@")
    role = role.strip().lower()
    if role not in OIDC_ROLES:
        raise SpecError.build(
            f"The role map gives {group!r} an unknown role",
            expected="one of " + ", ".join(OIDC_ROLES),
            got=role,
            fix="Map each group to one of those roles",
        )
    if not sep:
        return RoleGrant(role)
    return RoleGrant(role, _check_scope(group, value, [p.strip() for p in scope.split(",")]))


def _check_scope(group: str, value: str, patterns: list[str]) -> tuple[str, ...]:
    """The patterns of a scoped grant, checked by the registry's one rule for model scopes. An
    empty pattern is refused here: an empty scope must never read as *every model*."""
    from civicml._errors import CivicMLError
    from civicml._scopes import check_model_scope

    try:
        if not all(patterns):
            raise SpecError("an empty pattern")
        return check_model_scope(patterns)
    except CivicMLError as exc:
        raise SpecError.build(
            f"The role map limits {group!r} to a model scope that is not allowed",
            expected="model names, or a team prefix ending in one '*' such as 'benefits-*', "
            "comma-separated",
            got=value,
            fix="Write GROUP=ROLE@benefits-* (or GROUP=ROLE for every model)",
        ) from exc


def _split(item: str) -> tuple[str, str]:
    group, sep, role = str(item).rpartition("=")
    if not sep:
        raise SpecError.build(
            "A role map entry is not GROUP=ROLE or GROUP=ROLE@SCOPE",
            got=item,
            fix="Write it as GROUP=ROLE, or GROUP=ROLE@benefits-* to limit the role to some models",
        )
    return group, role


@dataclass(frozen=True)
class OIDCSettings:
    """How the dashboard signs people in through an OpenID Provider.

    Parameters
    ----------
    issuer : str
        The provider's issuer URL (exactly as its discovery document states it).
    client_id, client_secret : str
        This relying party's registration at the provider (a confidential client).
    role_claim : str
        The claim that lists the person's groups or roles (``groups``, ``roles``...).
    role_map : mapping of str to str
        ``{group: civicml role}``, a role written ``ROLE@SCOPE`` reaching only the models in
        ``SCOPE`` (see the module's rule); groups not listed give no role.
    redirect_url : str, optional
        The callback URL registered at the provider (``https://HOST/auth/callback``); by default
        it is built from the request's own address.
    scopes : tuple of str
        Scopes asked for; the role claim's own scope is added when the provider offers one.
    timeout : float
        Seconds to wait for the provider.
    """

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    role_claim: str = "groups"
    role_map: Mapping[str, str] = field(default_factory=dict, repr=False)
    redirect_url: str | None = field(default=None, repr=False)
    scopes: tuple[str, ...] = field(default=("openid", "email", "profile"), repr=False)
    timeout: float = field(default=10.0, repr=False)

    def __post_init__(self) -> None:
        from urllib.parse import urlsplit

        url = urlsplit(self.issuer)
        if url.scheme not in ("https", "http") or not url.hostname:
            raise SpecError.build(
                "The OpenID issuer must be a URL", got=self.issuer, fix="Give https://..."
            )
        if url.scheme == "http" and url.hostname not in _LOOPBACK:
            raise SpecError.build(
                "The OpenID issuer must use https (plain http only on this machine's loopback)",
                got=self.issuer,
                fix="Give the provider's https:// issuer URL",
            )
        if not self.client_id or not self.client_secret:
            raise SpecError.build(
                "OpenID Connect needs a client id and a client secret",
                fix="Set --oidc-client-id and CIVICML_OIDC_CLIENT_SECRET",
            )
        object.__setattr__(self, "issuer", self.issuer.rstrip("/"))
        object.__setattr__(self, "role_map", parse_role_map(self.role_map))

    @property
    def label(self) -> str:
        """The provider's name for the sign-in button (its host)."""
        from urllib.parse import urlsplit

        return urlsplit(self.issuer).netloc or self.issuer

    def grants_for(self, claims: Mapping[str, Any]) -> tuple[RoleGrant, ...]:
        """The person's grants, one per role, weakest first: the union of the scopes of the
        groups that gave the role, or every model when any of them gave it unscoped."""
        value = claims.get(self.role_claim)
        groups = set(map(str, value.split() if isinstance(value, str) else list(value or ())))
        scopes: dict[str, list[str] | None] = {}  # role -> patterns; None: every model
        for group, spec in self.role_map.items():
            if group not in groups:
                continue
            grant = parse_grant(group, spec)
            held = scopes.setdefault(grant.role, [])
            if not grant.models or held is None:
                scopes[grant.role] = None  # an unscoped group wins
            else:
                held.extend(m for m in grant.models if m not in held)
        return tuple(RoleGrant(r, tuple(scopes[r] or ())) for r in OIDC_ROLES if r in scopes)

    def roles_for(self, claims: Mapping[str, Any]) -> tuple[str, ...]:
        """The civicml roles the claims give over every model, weakest first (a role some group
        gives only for some models is not among them; empty: no registry-wide role)."""
        return tuple(g.role for g in self.grants_for(claims) if not g.models)


@dataclass(frozen=True)
class OIDCIdentity:
    """A person the provider vouched for: who (``name``: e-mail, else username, else subject),
    their subject id, their civicml roles over every model (``roles``), every claim that was
    checked, and every role they hold with the models it reaches (``grants``)."""

    name: str
    subject: str
    roles: tuple[str, ...]
    claims: Mapping[str, Any] = field(repr=False)
    grants: tuple[RoleGrant, ...] = ()

    def principal(self) -> OIDCPrincipal:
        """The session principal of this person: verified, via OIDC; its ``scopes`` are the
        roles that reach every model and its ``grants`` every role with its models.

        >>> who = OIDCIdentity("ann@x.gov.uk", "s1", ("viewer",), {},
        ...                    (RoleGrant("viewer"), RoleGrant("approver", ("benefits-*",))))
        >>> p = who.principal()
        >>> p.id, p.verified, p.via, p.roles, p.can_decide, p.scoped
        ('oidc:s1', True, 'oidc', ('viewer',), False, True)
        """
        return OIDCPrincipal(
            self.name,
            tuple(self.roles),
            id=f"oidc:{self.subject}",
            kind="session",
            verified=True,
            via="oidc",
            grants=tuple(self.grants) or tuple(RoleGrant(r) for r in self.roles),
        )


@dataclass(frozen=True, slots=True)
class OIDCPrincipal(Principal):
    """A person an OpenID Provider signed in, as a session :class:`~civicml.asgi.Principal`.

    ``scopes`` holds only the roles that reach every model, so whatever reads a principal's
    scopes (the dashboard, which shows every model) honours no role limited to some models;
    ``grants`` holds every role with the models it reaches, for the surfaces that check a
    model scope route by route (``/api/v1``).
    """

    grants: tuple[RoleGrant, ...] = ()

    @property
    def scoped(self) -> bool:
        """True when some role of this person reaches only some models."""
        return any(g.models for g in self.grants)


class OIDCClient:
    """The relying party: discovery, authorization request, code exchange, ID token checks.

    Parameters
    ----------
    settings : OIDCSettings
    """

    def __init__(self, settings: OIDCSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._meta: dict[str, Any] | None = None
        self._jwks: dict[str, Any] | None = None
        self._jwks_at = 0.0

    # -- provider documents ------------------------------------------------------------------
    def _get_json(self, url: str, token: str | None = None) -> dict[str, Any]:
        import httpx

        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            r = httpx.get(url, headers=headers, timeout=self.settings.timeout)
            r.raise_for_status()
            data = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SignInRefused.build(
                "The sign-in provider could not be reached or answered badly",
                got=f"{url}: {type(exc).__name__}",
                fix="Try again; if it persists, tell the service's administrator",
            ) from exc
        if not isinstance(data, dict):
            raise SignInRefused.build("The sign-in provider answered badly", got=url)
        return data

    def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (fetched once, its issuer checked)."""
        with self._lock:
            if self._meta is None:
                issuer = self.settings.issuer
                meta = self._get_json(issuer + "/.well-known/openid-configuration")
                if str(meta.get("issuer", "")).rstrip("/") != issuer:
                    raise SignInRefused.build(
                        "The provider's discovery document names another issuer",
                        expected=issuer,
                        got=meta.get("issuer"),
                        fix="Set the issuer URL exactly as the provider states it",
                    )
                self._meta = meta
            return self._meta

    def _keys(self, refresh: bool = False) -> Any:
        from joserfc.jwk import KeySet

        with self._lock:
            stale = refresh and time.monotonic() - self._jwks_at > 30
            if self._jwks is None or stale:
                jwks_uri = str((self._meta or {}).get("jwks_uri", ""))
                self._jwks = self._get_json(jwks_uri)
                self._jwks_at = time.monotonic()
            return KeySet.import_key_set(self._jwks)  # type: ignore[arg-type]

    def scope(self) -> str:
        """The scopes asked for: the configured ones plus the role claim's scope if offered."""
        wanted = list(self.settings.scopes)
        offered = self.metadata().get("scopes_supported") or []
        if self.settings.role_claim in offered and self.settings.role_claim not in wanted:
            wanted.append(self.settings.role_claim)
        return " ".join(wanted)

    def _client(self, redirect_uri: str) -> Any:
        from authlib.integrations.httpx_client import OAuth2Client

        return OAuth2Client(
            client_id=self.settings.client_id,
            client_secret=self.settings.client_secret,
            token_endpoint_auth_method="client_secret_basic",
            scope=self.scope(),
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=self.settings.timeout,
        )

    # -- the flow ------------------------------------------------------------------------------
    def begin(self, redirect_uri: str) -> tuple[str, dict[str, str]]:
        """The provider's authorization URL and what the callback must check later
        (``state``, ``nonce``, PKCE ``verifier``): keep that in a signed cookie."""
        from authlib.common.security import generate_token

        meta = self.metadata()
        pending = {
            "state": generate_token(32),
            "nonce": generate_token(32),
            "verifier": generate_token(64),
        }
        with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                meta["authorization_endpoint"],
                state=pending["state"],
                code_verifier=pending["verifier"],
                nonce=pending["nonce"],
            )
        return str(url), pending

    def finish(
        self, params: Mapping[str, str], pending: Mapping[str, str], redirect_uri: str
    ) -> OIDCIdentity:
        """Check the provider's answer against ``pending``, exchange the code and validate the
        ID token; the person and their roles. Raises :class:`SignInRefused`."""
        if params.get("error"):
            raise SignInRefused.build(
                "The sign-in provider did not sign you in",
                got=str(params.get("error_description") or params["error"])[:200],
                fix="Try again",
            )
        state = str(params.get("state") or "")
        complete = all(pending.get(k) for k in ("state", "nonce", "verifier"))
        if not complete or not hmac.compare_digest(state, pending["state"]):
            raise SignInRefused.build(
                "This sign-in answer does not belong to this browser's sign-in",
                fix="Start again from the sign-in page",
            )
        meta = self.metadata()
        iss = params.get("iss")
        if iss is not None and iss.rstrip("/") != self.settings.issuer:
            raise SignInRefused.build(
                "The sign-in answer came from another issuer",
                expected=self.settings.issuer,
                got=iss,
            )
        if not params.get("code"):
            raise SignInRefused.build("The sign-in answer has no code", fix="Start again")
        token = self._exchange(meta, params["code"], pending["verifier"], redirect_uri)
        claims = self.validate_id_token(str(token.get("id_token") or ""), pending["nonce"])
        if self.settings.role_claim not in claims or not (
            claims.get("email") or claims.get("preferred_username")
        ):
            claims = {**self._userinfo(meta, token, claims["sub"]), **claims}
        return self.identity(claims)

    def _exchange(
        self, meta: Mapping[str, Any], code: str, verifier: str, redirect_uri: str
    ) -> dict[str, Any]:
        from authlib.common.errors import AuthlibBaseError
        from httpx import HTTPError

        try:
            with self._client(redirect_uri) as client:
                token = client.fetch_token(
                    meta["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=verifier,
                )
        except (AuthlibBaseError, HTTPError, ValueError) as exc:
            raise SignInRefused.build(
                "The sign-in provider refused the code exchange",
                got=str(exc)[:200],
                fix="Start again from the sign-in page",
            ) from exc
        return dict(token)

    def validate_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The ID token's claims once its signature (JWKS), ``iss``, ``aud``, ``azp``, ``exp``,
        ``iat`` and ``nonce`` are checked."""
        from joserfc import jwt
        from joserfc.errors import JoseError

        if not id_token:
            raise SignInRefused.build("The provider sent no ID token", fix="Check 'openid' scope")
        try:
            try:
                decoded = jwt.decode(id_token, self._keys(), algorithms=list(ID_TOKEN_ALGORITHMS))
            except (JoseError, ValueError):  # the provider may have rotated keys: fetch once more
                decoded = jwt.decode(
                    id_token, self._keys(refresh=True), algorithms=list(ID_TOKEN_ALGORITHMS)
                )
            claims = dict(decoded.claims)
            registry = jwt.JWTClaimsRegistry(
                leeway=LEEWAY_SECONDS,
                iss={"essential": True, "value": self.settings.issuer},
                aud={"essential": True, "value": self.settings.client_id},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            )
            registry.validate(claims)
        except (JoseError, ValueError) as exc:
            raise SignInRefused.build(
                "The ID token from the sign-in provider failed its checks",
                got=f"{type(exc).__name__}: {exc}"[:200],
                fix="Start again from the sign-in page",
            ) from exc
        aud = claims.get("aud")
        if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != self.settings.client_id:
            raise SignInRefused.build(
                "The ID token was issued to another party", got=claims.get("azp")
            )
        return claims

    def _userinfo(
        self, meta: Mapping[str, Any], token: Mapping[str, Any], subject: str
    ) -> dict[str, Any]:
        endpoint = meta.get("userinfo_endpoint")
        access = token.get("access_token")
        if not endpoint or not access:
            return {}
        info = self._get_json(str(endpoint), token=str(access))
        if str(info.get("sub")) != str(subject):  # OIDC Core 5.3.2: must match the ID token
            raise SignInRefused.build("The provider's userinfo names another person")
        return info

    def identity(self, claims: Mapping[str, Any]) -> OIDCIdentity:
        """The person in validated claims, with their civicml roles."""
        subject = str(claims["sub"])
        email = claims.get("email") if claims.get("email_verified", True) is not False else None
        name = str(email or claims.get("preferred_username") or subject)
        grants = self.settings.grants_for(claims)
        roles = tuple(g.role for g in grants if not g.models)
        return OIDCIdentity(name, subject, roles, dict(claims), grants)
