"""The dashboard and roles limited to some models (issue 23): its pages show every model, so a
person signed in through OpenID Connect acts there only with the roles that reach every model;
one whose roles are all limited is signed in to no page (the same rule as a scoped token)."""

from __future__ import annotations

from typing import Any

from civicml.asgi import OIDCClient, OIDCSettings, Principal, WebSession
from civicml.web._auth import READ_SCOPES, actor_of, registry_authenticator, wide_roles

ROLE_MAP = {
    "staff": "viewer",
    "benefits-approvers": "approver@benefits-*",
    "benefits-admins": "admin@benefits-*",
    "reviewers": "approver",
}


class _NoTokens:
    """A registry that knows no token (only OpenID sessions are tried here)."""

    store = type("Store", (), {"get_token": staticmethod(lambda token_id: None)})()

    def verify_token(self, token: str) -> Any:
        return None


def _person(*groups: str) -> Principal:
    client = OIDCClient(OIDCSettings("https://id.example.gov.uk", "c", "s", role_map=ROLE_MAP))
    claims = {"sub": "s-" + "-".join(groups), "email": "p@example.gov.uk", "groups": list(groups)}
    return client.identity(claims).principal()


def _dashboard_user(person: Principal) -> Any:
    auth = registry_authenticator(_NoTokens())
    return auth.session(WebSession(sid=auth.open_session(person)), READ_SCOPES)


def test_a_person_whose_roles_are_all_limited_opens_no_page() -> None:
    assert _dashboard_user(_person("benefits-approvers")) is None
    assert _dashboard_user(_person("benefits-approvers", "benefits-admins")) is None


def test_a_person_with_a_viewer_group_too_is_a_viewer_on_the_dashboard() -> None:
    user = _dashboard_user(_person("staff", "benefits-approvers", "benefits-admins"))
    assert user is not None and user.roles == ("viewer",)
    assert not user.can_decide and not user.can_request and user.role == "viewer"
    actor = actor_of(user, server=True)
    assert (actor.roles, actor.models, actor.via, actor.verified) == (("viewer",), (), "oidc", True)


def test_a_role_over_every_model_is_honoured_as_before() -> None:
    user = _dashboard_user(_person("reviewers", "benefits-admins"))
    assert user is not None and user.can_decide and user.roles == ("approver",)
    assert actor_of(user, server=True).roles == ("approver",)  # never the limited admin


def test_limited_roles_put_in_scopes_by_mistake_still_do_not_act() -> None:
    """Belt and braces: a principal whose scopes hold a limited role (built by hand) acts on
    the dashboard without it."""
    from dataclasses import replace

    careless = replace(_person("staff", "benefits-admins"), scopes=("viewer", "admin"))
    assert wide_roles(careless) == ("viewer",)
    assert actor_of(careless, server=True).roles == ("viewer",)
    token = Principal(
        "ci", ("trainer", "approver"), acts_as="bob"
    )  # a token: its roles as they are
    assert wide_roles(token) == ("trainer", "approver")
