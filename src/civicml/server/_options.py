"""How ``civicml server`` is set up: one frozen option object the command line fills in.

The server alone holds the database URL and the artifact-store location (with any
credentials in them); :meth:`ServerOptions.describe` is the form fit to print or log, with
passwords hidden.

Examples
--------
>>> opts = ServerOptions(registry="postgresql://ann:s3cret@db/registry", role_map=("ops=admin",))
>>> opts.describe()["registry"]
'postgresql://ann:***@db/registry'
>>> opts.role_mapping()
{'ops': 'admin'}
>>> ServerOptions(role_map=("staff=viewer", "ben-approvers=approver@benefits-*")).role_mapping()
{'staff': 'viewer', 'ben-approvers': 'approver@benefits-*'}
>>> "s3cret" in repr(opts)
False
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from civicml._errors import SpecError
from civicml.asgi import OIDCSettings, parse_role_map

__all__ = ["DEFAULT_MAX_UPLOAD", "ServerOptions"]

#: the default largest bundle upload: 2 GiB
DEFAULT_MAX_UPLOAD = 2 * 1024**3


@dataclass(frozen=True)
class ServerOptions:
    """Everything ``civicml server`` needs, in one place.

    Parameters
    ----------
    registry : str, optional
        The registry database URL (``$CIVICML_REGISTRY``; default the project's SQLite file).
    artifacts : str, optional
        The artifact store (``$CIVICML_ARTIFACTS``; default the project's folder).
    project_dir : path
        The project folder holding ``.civicml/`` (caches, the default registry).
    host, port : str, int
        Where to listen (default loopback only).
    max_upload_bytes : int
        The largest bundle upload accepted (default 2 GiB).
    session_secret : str, optional
        The dashboard's cookie-signing key (default ``$CIVICML_UI_SECRET`` or random).
    oidc_issuer, oidc_client_id, oidc_client_secret : str, optional
        OpenID Connect sign-in for the dashboard (the secret from
        ``$CIVICML_OIDC_CLIENT_SECRET``; never printed).
    role_claim : str
        The ID-token claim whose values map to civicml roles (default ``groups``).
    role_map : tuple of str
        ``GROUP=ROLE`` entries, or ``GROUP=ROLE@SCOPE`` for a role that reaches only the models
        in ``SCOPE`` (names or team prefixes such as ``benefits-*``, comma-separated; see
        :func:`civicml.asgi.parse_role_map`). A malformed entry is refused at start.
    decision_log : path, optional
        Decision logs the dashboard's monitoring pages read.
    """

    registry: str | None = field(default=None, repr=False)
    artifacts: str | None = field(default=None, repr=False)
    project_dir: str | Path = "."
    host: str = "127.0.0.1"
    port: int = 8000
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD
    session_secret: str | None = field(default=None, repr=False)
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = field(default=None, repr=False)
    role_claim: str = "groups"
    role_map: tuple[str, ...] = ()
    decision_log: str | Path | None = None

    def __post_init__(self) -> None:
        if int(self.max_upload_bytes) < 1:
            raise SpecError.build(
                "The upload limit must be positive",
                got=self.max_upload_bytes,
                fix="Pass --max-upload-mb with a positive number",
            )
        parse_role_map(self.role_map)
        self.oidc_settings()  # an issuer without a client id and secret fails here, at start

    def role_mapping(self) -> dict[str, str]:
        """The ``--role-map`` entries as ``{group: role}`` (``role@scope`` for a limited role)."""
        return parse_role_map(self.role_map)

    def oidc_settings(self) -> OIDCSettings | None:
        """The dashboard's OpenID Connect settings (``None`` without ``oidc_issuer``); an
        issuer without a client id and secret is refused with one line."""
        if not self.oidc_issuer:
            return None
        return OIDCSettings(
            issuer=self.oidc_issuer,
            client_id=self.oidc_client_id or "",
            client_secret=self.oidc_client_secret or "",
            role_claim=self.role_claim,
            role_map=self.role_mapping(),
        )

    def describe(self) -> dict[str, Any]:
        """The settings fit to print or log: URLs with passwords hidden, no secrets."""
        from civicml.storage import display_url

        return {
            "registry": display_url(self.registry) if self.registry else "(project default)",
            "artifacts": display_url(self.artifacts) if self.artifacts else "(project default)",
            "listen": f"{self.host}:{self.port}",
            "max_upload_bytes": int(self.max_upload_bytes),
            "oidc_issuer": self.oidc_issuer,
            "oidc_client_id": self.oidc_client_id,
            "oidc_client_secret": "***" if self.oidc_client_secret else None,
            "role_claim": self.role_claim,
            "role_map": self.role_mapping(),
        }
