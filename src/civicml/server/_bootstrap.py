"""The break-glass path: the first admin token, issued on the server's host.

Tokens are otherwise issued only by an authenticated admin through the API. The very first
one cannot be: whoever runs ``civicml server admin-token`` on the host with direct access to
the database issues it. Its audit event says so plainly: the actor is the host's OS login,
``verified: false``, ``via: os-login`` (the database's own access control is what guards this
path). Use it once to start, and again only to recover when every admin token is lost.
"""

from __future__ import annotations

from civicml.registry import Actor, TokenInfo, open_registry, os_login
from civicml.server._options import ServerOptions

__all__ = ["issue_admin_token"]


def issue_admin_token(
    options: ServerOptions,
    name: str,
    owner: str,
    *,
    reason: str | None = None,
) -> tuple[str, TokenInfo]:
    """Issue an ``admin`` token acting as ``owner``, straight into the database.

    Returns the plaintext (shown once) and the token's public facts.

    Examples
    --------
    >>> import tempfile
    >>> tmp = tempfile.mkdtemp()
    >>> opts = ServerOptions(registry=f"sqlite:///{tmp}/r.db", artifacts=f"{tmp}/a")
    >>> token, info = issue_admin_token(opts, "first-admin", "ada@example.gov.uk")
    >>> info.scopes, info.acts_as, token.startswith("cml_")
    (('admin',), 'ada@example.gov.uk', True)
    """
    host = Actor(os_login(), verified=False, via="os-login")
    why = reason or f"break-glass admin token issued on the server host by {host.name}"
    with open_registry(
        options.registry, artifacts=options.artifacts, project_dir=options.project_dir
    ) as reg:
        plaintext = reg.create_token(name, ("admin",), host, reason=why, owner=owner)
        info = reg.verify_token(plaintext)
    assert info is not None
    return plaintext, info
