"""``civicml server``: one process for a team, the versioned JSON API (``/api/v1``) and the
dashboard over one registry in server mode. Identity comes from authentication (API tokens,
dashboard sign-in), never from a name in a request; the server alone holds the database URL
and the artifact-store credentials."""

from civicml.server._api import ApiApp
from civicml.server._app import ServerApp, create_server_app, web_config
from civicml.server._bootstrap import issue_admin_token
from civicml.server._identity import permits, principal_actor, roles_from_scopes, token_actor
from civicml.server._openapi import API_PREFIX, openapi_document
from civicml.server._options import DEFAULT_MAX_UPLOAD, ServerOptions
from civicml.server._routes import ROUTES
from civicml.server._tar import pack_folder, unpack_tar

__all__ = [
    "API_PREFIX",
    "DEFAULT_MAX_UPLOAD",
    "ROUTES",
    "ApiApp",
    "ServerApp",
    "ServerOptions",
    "create_server_app",
    "issue_admin_token",
    "openapi_document",
    "pack_folder",
    "permits",
    "principal_actor",
    "roles_from_scopes",
    "token_actor",
    "unpack_tar",
    "web_config",
]
