"""The one ASGI foundation under every civicml HTTP surface (prediction, bandits, dashboard).

One authentication (bearer tokens, dashboard sessions, OpenID Connect sign-in, scopes and
roles), one error type and
JSON error body, one request-id, HSTS and logging middleware, one metrics registry (labelled by
route template, with the process's own metrics), one lifespan.
Each surface is a mountable app built on it; raw hot paths call the same pieces inline.
"""

from civicml.asgi._app import (
    JSONApp,
    Mounts,
    allow_method,
    headers_of,
    read_body,
    relative_path,
)
from civicml.asgi._auth import (
    Authenticator,
    HashedTokenVerifier,
    Principal,
    RateLimiter,
    StaticToken,
    TokenInfoLike,
    TokenLookup,
    TokenVerifier,
    bearer,
    has_scope,
    hash_token,
    parse_rate,
)
from civicml.asgi._errors import (
    Forbidden,
    HTTPError,
    RateLimited,
    Unauthorized,
    error_body,
    error_code,
    error_response,
)
from civicml.asgi._lifespan import lifespan_context, run_lifespan
from civicml.asgi._logging import JsonFormatter, configure_logging
from civicml.asgi._metrics import (
    BUCKETS,
    PROMETHEUS_TEXT,
    UNMATCHED,
    MetricsRegistry,
    RouteTemplates,
)
from civicml.asgi._middleware import (
    HSTS,
    JSON,
    REQUEST_ID_KEY,
    RequestContext,
    RequestIds,
    hsts_headers,
    log_request,
    request_id_of,
    send_response,
)
from civicml.asgi._oidc import (
    OIDC_ROLES,
    OIDCClient,
    OIDCIdentity,
    OIDCSettings,
    SignInRefused,
    parse_role_map,
)
from civicml.asgi._process import process_lines
from civicml.asgi._sessions import (
    COOKIE,
    IDLE_SECONDS,
    PENDING_COOKIE,
    SessionCodec,
    SessionStore,
    WebSession,
)

__all__ = [
    "BUCKETS",
    "COOKIE",
    "HSTS",
    "IDLE_SECONDS",
    "JSON",
    "PROMETHEUS_TEXT",
    "REQUEST_ID_KEY",
    "Authenticator",
    "Forbidden",
    "HTTPError",
    "HashedTokenVerifier",
    "JSONApp",
    "JsonFormatter",
    "MetricsRegistry",
    "Mounts",
    "OIDC_ROLES",
    "OIDCClient",
    "OIDCIdentity",
    "OIDCSettings",
    "PENDING_COOKIE",
    "Principal",
    "RateLimited",
    "RateLimiter",
    "RequestContext",
    "RequestIds",
    "RouteTemplates",
    "SessionCodec",
    "SessionStore",
    "SignInRefused",
    "StaticToken",
    "TokenInfoLike",
    "TokenLookup",
    "TokenVerifier",
    "UNMATCHED",
    "Unauthorized",
    "WebSession",
    "allow_method",
    "bearer",
    "configure_logging",
    "error_body",
    "error_code",
    "error_response",
    "hash_token",
    "has_scope",
    "headers_of",
    "hsts_headers",
    "lifespan_context",
    "log_request",
    "parse_rate",
    "parse_role_map",
    "process_lines",
    "read_body",
    "relative_path",
    "request_id_of",
    "run_lifespan",
    "send_response",
]
