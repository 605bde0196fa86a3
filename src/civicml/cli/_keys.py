"""``civicml keys …``: the Ed25519 keys that sign bundles.

``create`` writes a key pair for you (the private key stays on your machine, mode 0600);
``register`` tells the registry that the public key is yours, so the bundles it signs can be
registered by you; ``revoke`` stops a key (a lost laptop, a person leaving); ``sign`` signs a
bundle by hand (training signs its bundle itself when your key exists).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from civicml.cli._common import (
    ArtifactsOpt,
    JsonOpt,
    ProjectOpt,
    RegistryOpt,
    console,
    current_actor,
    emit_json,
    handle_errors,
)
from civicml.cli._registry_open import open_from_cli

__all__ = ["app"]

app = typer.Typer(help="Ed25519 keys that sign bundles.", no_args_is_help=True)


@app.command()
@handle_errors
def create(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder for the key pair (default: $CIVICML_SIGNING_KEY's file, else "
            "~/.config/civicml/keys, honouring $XDG_CONFIG_HOME).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing key pair.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a signing key pair: civicml-signing.key (private, mode 0600) and .pub."""
    from civicml.bundle import write_keypair

    files = write_keypair(out, force=force)
    if as_json:
        emit_json(
            {
                "private_key": str(files.private),
                "public_key": str(files.public),
                "fingerprint": files.fingerprint,
            }
        )
        return
    console.print(f"Private key: {files.private} (mode 0600; never share it)", markup=False)
    console.print(f"Public key:  {files.public}", markup=False)
    console.print(f"Fingerprint: {files.fingerprint}", markup=False)
    console.print(f"Next: civicml keys register {files.public}", markup=False)


@app.command()
@handle_errors
def register(
    public_key: Annotated[Path, typer.Argument(help="The .pub file 'civicml keys create' wrote.")],
    owner: Annotated[
        str | None,
        typer.Option("--owner", help="Whose key it is (default: you; others need an admin)."),
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Register a public key as yours (audited): bundles it signs can then be registered."""
    from civicml._errors import BundleError

    if not public_key.is_file():
        raise BundleError.build(
            f"There is no public key file {str(public_key)!r}",
            fix="Pass the .pub file 'civicml keys create' wrote",
        )
    pem = public_key.read_bytes()
    if b"PRIVATE KEY" in pem:
        raise BundleError.build(
            f"{str(public_key)!r} is a private key; nothing was sent",
            fix="Register the .pub file beside it, and keep the private key to yourself",
        )
    with open_from_cli(registry, artifacts, project_dir) as reg:
        info = reg.register_key(pem, current_actor(reg), owner=owner, reason=reason)
    if as_json:
        emit_json(info.to_dict())
        return
    console.print(f"Registered signing key {info.fingerprint} for {info.owner}.", markup=False)


@app.command("list")
@handle_errors
def list_(
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """List the registered signing keys (revoked ones too)."""
    with open_from_cli(registry, artifacts, project_dir) as reg:
        keys = reg.list_keys()
    if as_json:
        emit_json({"keys": [k.to_dict() for k in keys]})
        return
    if not keys:
        console.print("No signing keys are registered. Run 'civicml keys create' first.")
        return
    from rich.table import Table

    table = Table("fingerprint", "owner", "registered", "by", "revoked")
    for k in keys:
        revoked = f"{k.revoked_at[:19]} by {k.revoked_by}" if k.revoked_at else ""
        table.add_row(k.fingerprint, k.owner, k.created_at[:19], k.created_by, revoked)
    console.print(table)


@app.command()
@handle_errors
def revoke(
    fingerprint: Annotated[str, typer.Argument(help="The key's fingerprint (or its first 8+).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the audit log).")],
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Revoke a signing key: bundles it signed are refused from now on."""
    with open_from_cli(registry, artifacts, project_dir) as reg:
        info = reg.revoke_key(fingerprint, current_actor(reg), reason)
    if as_json:
        emit_json(info.to_dict())
        return
    console.print(f"Revoked signing key {info.fingerprint} of {info.owner}.", markup=False)


@app.command()
@handle_errors
def sign(
    bundle: Annotated[Path, typer.Argument(help="A bundle folder.")],
    key: Annotated[
        Path | None,
        typer.Option("--key", help="Private key file (default: $CIVICML_SIGNING_KEY or yours)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Sign a bundle's manifest with your private key (writes signature.json)."""
    from civicml.bundle import default_key_path, sign_bundle

    sig = sign_bundle(bundle, key or default_key_path())
    if as_json:
        emit_json({"bundle": str(bundle), "fingerprint": sig.fingerprint, "digest": sig.digest})
        return
    console.print(f"Signed {bundle} (sha256 {sig.digest[:12]}…) with key {sig.fingerprint}.")
