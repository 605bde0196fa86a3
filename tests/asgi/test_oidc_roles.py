"""The role map's roles limited to some models (``GROUP=ROLE@SCOPE``, issue 23): the syntax, its
refusals, and how a person's groups add up to one grant per role (an unscoped group wins)."""

from __future__ import annotations

import pytest

from civicml._errors import SpecError
from civicml.asgi import OIDCClient, OIDCSettings, parse_role_map
from civicml.asgi._oidc import OIDCPrincipal, RoleGrant

TEAMS = {
    "staff": "viewer",
    "benefits-approvers": "approver@benefits-*",
    "housing-team": "trainer@housing-*,housing-triage",
    "fraud-team": "trainer@fraud-*",
    "fraud-leads": "trainer",
    "benefits-admins": "admin@benefits-*",
}


def _settings(role_map: dict[str, str] | None = None) -> OIDCSettings:
    return OIDCSettings("https://id.example.gov.uk", "civicml", "s", role_map=role_map or TEAMS)


def test_the_role_map_takes_a_scope_and_writes_it_one_way() -> None:
    parsed = parse_role_map(
        [
            "staff=Viewer",
            "benefits-approvers = approver @ benefits-* ",
            "housing-team=trainer@housing-*, housing-triage,housing-*",
            "cn=ml,ou=groups,dc=gov=approver@fraud-triage",  # an LDAP group: split at the last =
        ]
    )
    assert parsed == {
        "staff": "viewer",
        "benefits-approvers": "approver@benefits-*",
        "housing-team": "trainer@housing-*,housing-triage",
        "cn=ml,ou=groups,dc=gov": "approver@fraud-triage",
    }
    assert parse_role_map(parsed) == parsed  # a mapping, as OIDCSettings gets it, is the same
    assert _settings(parsed).role_map == parsed


@pytest.mark.parametrize(
    "item, words",
    [
        ("g=approver@", "model scope that is not allowed"),
        ("g=approver@ , ", "model scope that is not allowed"),
        ("g=approver@benefits-*,,x", "model scope that is not allowed"),
        ("g=approver@*", "model scope that is not allowed"),
        ("g=approver@bene*fits", "model scope that is not allowed"),
        ("g=approver@../etc", "model scope that is not allowed"),
        ("g=root@benefits-*", "unknown role"),
        ("g=@benefits-*", "unknown role"),
        ("=approver@benefits-*", "names no group"),
    ],
)
def test_a_malformed_item_is_refused_in_one_line(item: str, words: str) -> None:
    with pytest.raises(SpecError, match=words) as caught:
        parse_role_map([item])
    assert "\n" not in str(caught.value)
    with pytest.raises(SpecError, match=words):  # and the same through the settings
        OIDCSettings("https://id.example.gov.uk", "c", "s", role_map=dict([item.split("=", 1)]))


def test_an_item_without_equals_is_refused() -> None:
    with pytest.raises(SpecError, match="is not GROUP=ROLE or GROUP=ROLE@SCOPE"):
        parse_role_map(["approver@benefits-*"])


def test_an_empty_scope_never_reads_as_every_model() -> None:
    """``approver@`` must not become an unscoped approver (check_model_scope reads an empty
    list as *every model*)."""
    for value in ("approver@", "approver@,", "approver@ "):
        with pytest.raises(SpecError):
            parse_role_map({"g": value})


def test_grants_add_up_per_role_and_an_unscoped_group_wins() -> None:
    s = _settings()
    everything = {"groups": list(TEAMS)}
    assert s.grants_for(everything) == (
        RoleGrant("viewer"),
        RoleGrant("trainer"),  # fraud-leads gives trainer for every model: it wins
        RoleGrant("approver", ("benefits-*",)),
        RoleGrant("admin", ("benefits-*",)),
    )
    teams = {"groups": ["housing-team", "fraud-team", "benefits-approvers"]}
    assert s.grants_for(teams) == (
        RoleGrant("trainer", ("housing-*", "housing-triage", "fraud-*")),  # the union
        RoleGrant("approver", ("benefits-*",)),
    )
    assert s.roles_for(everything) == ("viewer", "trainer")  # only roles over every model
    assert s.roles_for(teams) == ()
    assert s.grants_for({"groups": "finance"}) == () and s.roles_for({}) == ()
    assert s.grants_for({"groups": "staff fraud-team"}) == (
        RoleGrant("viewer"),
        RoleGrant("trainer", ("fraud-*",)),
    )


def test_the_identity_and_its_principal_keep_limited_roles_apart() -> None:
    client = OIDCClient(_settings())
    claims = {"sub": "s1", "email": "ann@example.gov.uk", "groups": ["staff", "benefits-admins"]}
    ann = client.identity(claims)
    assert ann.roles == ("viewer",)
    assert ann.grants == (RoleGrant("viewer"), RoleGrant("admin", ("benefits-*",)))
    p = ann.principal()
    assert isinstance(p, OIDCPrincipal) and p.scoped
    assert (p.name, p.id, p.kind, p.verified, p.via) == (
        "ann@example.gov.uk",
        "oidc:s1",
        "session",
        True,
        "oidc",
    )
    # whatever reads scopes (the dashboard) sees no admin: that admin reaches benefits-* only
    assert p.scopes == ("viewer",) and p.roles == ("viewer",)
    assert not p.allows("admin") and not p.can_decide and p.role == "viewer"
    # a person with only limited roles holds no scope at all
    only = client.identity({"sub": "s2", "email": "bo@x", "groups": ["benefits-approvers"]})
    assert only.roles == () and only.principal().scopes == ()
    assert only.principal().grants == (RoleGrant("approver", ("benefits-*",)),)
    # a person with registry-wide roles only: as before scopes existed
    plain = OIDCSettings("https://id.example.gov.uk", "c", "s", role_map={"ops": "admin"})
    cy = OIDCClient(plain).identity({"sub": "s3", "groups": ["ops"]}).principal()
    assert cy.scopes == ("admin",) and not cy.scoped and cy.grants == (RoleGrant("admin"),)


def test_the_settings_describe_the_role_map_with_its_scopes() -> None:
    from civicml.server import ServerOptions

    opts = ServerOptions(role_map=("staff=viewer", "ben=approver@benefits-*,fraud-triage"))
    assert opts.describe()["role_map"] == {
        "staff": "viewer",
        "ben": "approver@benefits-*,fraud-triage",
    }
    with pytest.raises(SpecError, match="model scope that is not allowed"):
        ServerOptions(role_map=("ben=approver@*",))
