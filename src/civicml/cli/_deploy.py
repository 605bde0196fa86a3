"""``civicml deploy``: generate a deployment bundle (Dockerfile, Kubernetes, KServe).

Mounted by the main app as ``app.add_typer(deploy_app, name="deploy")``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from civicml.cli._common import console, handle_errors

__all__ = ["deploy_app"]

deploy_app = typer.Typer(
    name="deploy",
    help="Generate deployment files for 'civicml serve'.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@deploy_app.callback()
def _deploy() -> None:
    """Generate deployment files for 'civicml serve'."""


@deploy_app.command("generate")
@handle_errors
def generate(
    model: Annotated[
        str, typer.Argument(help="NAME@ALIAS in the registry, e.g. claims@production.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("deploy"),
    image: Annotated[str | None, typer.Option(help="Container image name.")] = None,
    secret: Annotated[str, typer.Option(help="Kubernetes Secret with the registry URL.")] = (
        "civicml-registry"
    ),
    port: Annotated[int, typer.Option(help="Port civicml serve listens on.")] = 8080,
    replicas: Annotated[int, typer.Option(min=1, help="Replicas (max replicas for KServe).")] = 2,
    cpu: Annotated[str, typer.Option(help="CPU request and limit.")] = "1",
    memory: Annotated[str, typer.Option(help="Memory request and limit.")] = "1Gi",
    check: Annotated[bool, typer.Option(help="Validate the files after writing them.")] = True,
) -> None:
    """Write a Dockerfile, k8s/deployment.yaml + service.yaml and kserve/inferenceservice.yaml."""
    from civicml.deploy import generate_deployment, validate_deployment

    files = generate_deployment(
        model,
        out,
        image=image,
        secret=secret,
        port=port,
        replicas=replicas,
        cpu=cpu,
        memory=memory,
    )
    for path in files.all():
        console.print(f"  {path}")
    if check:
        problems = validate_deployment(out)
        if problems:
            for p in problems:
                console.print(f"[red]problem:[/] {p}", soft_wrap=True)
            raise typer.Exit(1)
        console.print("Validated: Dockerfile lint, Kubernetes schemas, KServe schema.")
