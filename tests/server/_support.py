"""What the server tests share: a site (app, client, tokens, keys), bundles and their tars."""

from __future__ import annotations

import io
import tarfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from civicml.bundle import Bundle, save_bundle, sign_bundle, write_keypair

SPEC = {
    "name": "benefits",
    "owner": {
        "organisation": "DWP",
        "team": "Benefits Analytics",
        "senior_responsible_owner": "Jo Bloggs",
        "contact": "benefits-ml@example.gov.uk",
    },
    "intended_use": "Prioritise claims for a caseworker's review",
    "out_of_scope_uses": ["Deciding entitlement", "Sanctions"],
}


def bundle_tar(folder: Path, *, top: str | None = None) -> bytes:
    """The bundle folder as an uncompressed tar (files at the top, or under ``top/``)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            rel = path.relative_to(folder).as_posix()
            tar.add(path, arcname=f"{top}/{rel}" if top else rel)
    return buf.getvalue()


@dataclass
class Site:
    """A running server app, its client and the people's tokens."""

    root: Path
    options: Any
    app: Any
    client: Any
    tokens: dict[str, str] = field(default_factory=dict)
    keys: dict[str, Path] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def call(self, method: str, path: str, who: str | None = None, **kw: Any) -> Any:
        headers = {**(self.auth(who) if who else {}), **kw.pop("headers", {})}
        return self.client.request(method, "/api/v1" + path, headers=headers, **kw)

    def person(self, who: str, *scopes: str) -> str:
        """An admin issues ``who`` a token with ``scopes`` (acting as ``who@example.gov.uk``)."""
        r = self.call(
            "POST",
            "/tokens",
            "root",
            json={"name": f"{who}-token", "scopes": list(scopes), "owner": f"{who}@example.gov.uk"},
        )
        assert r.status_code == 201, r.text
        self.tokens[who] = r.json()["token"]
        return str(r.json()["token"])

    def register_key(self, who: str) -> Path:
        """``who`` makes a signing key pair and registers its public half through the API."""
        files = write_keypair(self.root / "keys" / who)
        r = self.call(
            "POST",
            "/keys",
            who,
            json={"public_key": files.public.read_text(), "reason": "my laptop"},
        )
        assert r.status_code == 201, r.text
        self.keys[who] = files.private
        return files.private

    def bundle(self, signer: str | None = None, **docs: Any) -> Bundle:
        """A small unique bundle, signed by ``signer``'s key when given."""
        tag = uuid.uuid4().hex[:8]
        documents: dict[str, Any] = {
            "model_info.json": {"task": "binary", "target": "y", "tag": tag},
            "checks.json": {
                "checks": [{"name": "auc_above_baseline", "passed": True, "evidence": "0.81"}]
            },
            "spec.json": SPEC,
            **docs,
        }
        b = save_bundle(
            self.root / "bundles" / tag, documents=documents, files={"model.bin": tag.encode()}
        )
        if signer is not None:
            sign_bundle(b.path, self.keys[signer])
        return b

    def upload(self, who: str, body: bytes, name: str = "benefits", **params: str) -> Any:
        return self.call(
            "POST",
            f"/models/{name}/versions",
            who,
            content=body,
            params=params,
            headers={"Content-Type": "application/x-tar"},
        )
