"""A real OpenID Provider for the sign-in tests, and the dashboard signing people in through it.

The provider is ``oidc-provider`` (npm, OpenID Certified) run by node from ``tests/web/oidc``
on a free 127.0.0.1 port: accounts alice (group civicml-trainers), bob (civicml-approvers),
carol (civicml-admins) and dave (finance-readers: no civicml role), one confidential client,
PKCE required. ``npm install`` runs once if ``node_modules`` is missing (as ``.ci/run`` does);
without node or npm the tests skip, unless CIVICML_REQUIRE_BROWSER=1 (CI), where they fail.

:func:`oidc_dashboard` serves a copy of the web test registry opened in server mode (every write
needs a verified actor), with version 3 of ``outreach`` registered (and signed) by alice as a
verified OpenID person, ready for her to ask for approval. It and the provider listen on free
127.0.0.1 ports (:func:`free_port` and :func:`serve` come from tests/live_server.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from live_server import free_port, serve

if TYPE_CHECKING:
    from civicml.asgi import OIDCSettings
    from civicml.registry import Registry

    from .conftest import Site

OIDC_DIR = Path(__file__).parent / "oidc"
PASSWORD = "correct horse battery staple"  # provider.mjs's fixed test password
CLIENT_ID = "civicml-dashboard"
CLIENT_SECRET = "civicml-test-client-secret"
ROLE_MAP = {
    "civicml-trainers": "trainer",
    "civicml-approvers": "approver",
    "civicml-admins": "admin",
}
EMAIL = {name: f"{name}@example.gov.uk" for name in ("alice", "bob", "carol", "dave")}


def need(ok: bool, what: str) -> None:
    """Skip without ``what``, or fail under CIVICML_REQUIRE_BROWSER=1 (CI)."""
    if ok:
        return
    if os.environ.get("CIVICML_REQUIRE_BROWSER", "") not in ("", "0"):
        pytest.fail(f"{what} is required (CIVICML_REQUIRE_BROWSER=1) but missing")
    pytest.skip(f"{what} is not available")


def ensure_provider_installed() -> Path:
    """``tests/web/oidc/node_modules`` with oidc-provider, running ``npm install`` if needed."""
    marker = OIDC_DIR / "node_modules" / "oidc-provider" / "package.json"
    if marker.exists():
        return OIDC_DIR
    node, npm = shutil.which("node"), shutil.which("npm")
    need(node is not None and npm is not None, "node and npm (for the test OpenID Provider)")
    try:
        done = subprocess.run(
            [str(npm), "install", "--no-save", "--no-audit", "--no-fund", "--silent"],
            cwd=OIDC_DIR,
            capture_output=True,
            text=True,
            timeout=300,
        )
        ok, why = done.returncode == 0 and marker.exists(), (done.stderr or done.stdout)[-500:]
    except (OSError, subprocess.TimeoutExpired) as exc:
        ok, why = False, str(exc)
    need(ok, f"oidc-provider from npm (npm install in tests/web/oidc failed: {why.strip()})")
    return OIDC_DIR


@dataclass(frozen=True)
class OpenIDProvider:
    """A running provider: its issuer and the one client registered at it."""

    issuer: str
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    password: str = PASSWORD

    def settings(self, redirect_url: str | None = None, **kw: Any) -> OIDCSettings:
        from civicml.asgi import OIDCSettings

        return OIDCSettings(
            self.issuer,
            self.client_id,
            self.client_secret,
            role_claim="groups",
            role_map=dict(ROLE_MAP),
            redirect_url=redirect_url,
            **kw,
        )


@contextmanager
def run_provider(redirect_uris: list[str], *, claims_in_id_token: bool = False) -> Iterator[Any]:
    """Start ``node provider.mjs PORT`` and wait for its discovery document."""
    folder = ensure_provider_installed()
    port = free_port()
    env = {
        **os.environ,
        "CLIENT_ID": CLIENT_ID,
        "CLIENT_SECRET": CLIENT_SECRET,
        "REDIRECT_URIS": ",".join(redirect_uris),
        "CLAIMS_IN_ID_TOKEN": "1" if claims_in_id_token else "0",
    }
    issuer = f"http://127.0.0.1:{port}"
    # output to a file, not a pipe: the provider can never block on a full pipe
    with tempfile.TemporaryFile(mode="w+") as log:
        proc = subprocess.Popen(
            ["node", "provider.mjs", str(port)], cwd=folder, env=env, stdout=log, stderr=log
        )
        try:
            _wait_for(proc, issuer, log)
            yield OpenIDProvider(issuer)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def _wait_for(proc: subprocess.Popen[Any], issuer: str, log: Any) -> None:
    """Until the provider serves its discovery document (fail if it exits or takes 30 s)."""
    import httpx

    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            log.seek(0)
            out = log.read()
            pytest.fail(f"the test OpenID Provider exited ({proc.returncode}): {out[-1500:]}")
        try:
            r = httpx.get(issuer + "/.well-known/openid-configuration", timeout=1)
            if r.status_code == 200 and r.json().get("issuer") == issuer:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            pytest.fail("the test OpenID Provider did not start within 30 s")
        time.sleep(0.1)


def person(name: str, *roles: str) -> Any:
    """A verified OpenID person as the registry sees them."""
    from civicml.registry import Actor

    return Actor(EMAIL[name], verified=True, via="oidc", roles=tuple(roles))


def _copy_bundle(src: Path, dest: Path, seconds: float) -> Path:
    """The same model as a different bundle (a later run), unsigned."""
    from civicml.bundle import load_bundle, save_bundle

    b = load_bundle(src)
    skip = {"manifest.json", "signature.json"}
    files = {n: b.read_bytes(n) for n in b.files if n not in skip}
    lineage = json.loads(files.pop("lineage.json"))
    lineage["seconds"] = float(lineage.get("seconds", 0)) + seconds
    save_bundle(dest, files=files, documents={"lineage.json": lineage})
    return dest


def alice_registers(reg: Registry, root: Path) -> int:
    """alice (a verified trainer) registers a bundle signed by her registered key."""
    from civicml.bundle import sign_bundle, write_keypair

    alice = person("alice", "trainer")
    keys = write_keypair(root / "alice-keys")
    reg.register_key(keys.public.read_bytes(), actor=alice, reason="alice's training key")
    bundle = _copy_bundle(root / "out" / "bundle", root / "b3", seconds=7.0)
    sign_bundle(bundle, keys.private)
    v = reg.register(bundle, "outreach", actor=alice)
    if v.checks_passed is not True:
        carol = person("carol", "admin")
        reg.override_checks("outreach", v.version, by=carol, reason="Gap reviewed by the board")
    return int(v.version)


@dataclass
class OIDCDashboard:
    """The dashboard (server-mode registry, OpenID sign-in) and the provider it trusts."""

    base: str
    provider: OpenIDProvider
    registry: Registry
    version: int
    site: Site
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def callback(self) -> str:
        return self.base + "/auth/callback"


@contextmanager
def oidc_dashboard_for(
    site: Site, tmp: Path, *, claims_in_id_token: bool = False, **app_kw: Any
) -> Iterator[OIDCDashboard]:
    """A server-mode copy of ``site`` behind a fresh provider (see the module docstring)."""
    from civicml.registry import open_registry
    from civicml.web import create_app

    root = tmp / "site"
    shutil.copytree(site.root, root)
    uri = f"sqlite:///{root / 'registry.db'}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    copy = type(site)(root, uri, site.tokens, root / "logs", site.finished_run, site.failed_run)
    with run_provider([base + "/auth/callback"], claims_in_id_token=claims_in_id_token) as idp:
        reg = open_registry(uri, project_dir=root, server=True)
        try:
            version = alice_registers(reg, root)
            settings = idp.settings(redirect_url=base + "/auth/callback")
            app = create_app(copy.config(), registry=reg, oidc=settings, **app_kw)
            with serve(app, port, log_level="error"):
                yield OIDCDashboard(base, idp, reg, version, copy)
        finally:
            reg.close()


@pytest.fixture
def oidc_dashboard(site: Site, tmp_path: Path) -> Iterator[OIDCDashboard]:
    """The dashboard signing people in through a real OpenID Provider (fresh for each test)."""
    with oidc_dashboard_for(site, tmp_path) as dash:
        yield dash
