"""ServerOptions: secrets never shown, OpenID Connect settings checked at start."""

from __future__ import annotations

import pytest

from civicml._errors import SpecError
from civicml.server import ServerOptions


def test_secrets_are_never_shown() -> None:
    opts = ServerOptions(
        registry="postgresql://ann:s3cret@db.internal/registry",
        artifacts="s3://models/prod",
        oidc_issuer="https://login.example.gov.uk/realms/civicml",
        oidc_client_id="civicml",
        oidc_client_secret="very-secret",
        role_map=("ml-approvers=approver", "ml-team=trainer"),
        session_secret="cookie-key",
    )
    shown = opts.describe()
    assert shown["registry"] == "postgresql://ann:***@db.internal/registry"
    assert shown["oidc_client_secret"] == "***"
    for text in (repr(opts), str(shown)):
        assert "s3cret" not in text and "very-secret" not in text and "cookie-key" not in text
    oidc = opts.oidc_settings()
    assert oidc is not None and oidc.client_secret == "very-secret"
    assert oidc.roles_for({"groups": ["ml-team", "other"]}) == ("trainer",)


def test_oidc_and_role_map_are_checked_when_the_options_are_made() -> None:
    assert ServerOptions().oidc_settings() is None
    with pytest.raises(SpecError, match="client id and a client secret"):
        ServerOptions(oidc_issuer="https://login.example.gov.uk", oidc_client_id="civicml")
    with pytest.raises(SpecError, match="unknown role"):
        ServerOptions(role_map=("ops=root",))
    with pytest.raises(SpecError, match="upload limit must be positive"):
        ServerOptions(max_upload_bytes=0)
