"""``civicml deploy``: generate a deployment bundle (Dockerfile, Kubernetes, KServe).

Mounted by the main app as ``app.add_typer(deploy_app, name="deploy")``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from civicml.cli._common import ProjectOpt, RegistryOpt, console, handle_errors

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


def find_model(model: str, registry: str | None, project_dir: Path) -> tuple[str, str, Path]:
    """Resolve ``NAME@ALIAS`` in the registry and fetch its verified bundle: the version
    (``NAME/3``), its digest and the bundle folder. NotFoundError (exit 2) when the model or
    alias does not exist; no empty registry is created to look in."""
    import os

    from civicml._errors import NotFoundError, SpecError
    from civicml.cli._registry_open import open_from_cli
    from civicml.registry import parse_ref

    name, version, alias = parse_ref(model)
    if version is not None or alias is None:
        raise SpecError.build(
            "The model to deploy is not NAME@ALIAS",
            expected="for example 'claims@production'",
            got=model,
            fix="Pass the registry name and alias, such as claims@production",
        )
    default_db = project_dir.resolve() / ".civicml" / "registry.db"
    if not (registry or os.environ.get("CIVICML_REGISTRY")) and not default_db.is_file():
        raise NotFoundError.build(
            f"There is no registry in {default_db.parent}, so {model!r} cannot be found",
            fix="Pass --registry (or set CIVICML_REGISTRY), or --project-dir with the project "
            "that registered the model",
        )
    with open_from_cli(registry, None, project_dir) as reg:
        found = reg.resolve(model)
        bundle = reg.load_version(model)
    return found.ref, found.digest, bundle.path


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
    wheel: Annotated[
        Path | None,
        typer.Option(help="A civicml wheel to install in the image (default: this civicml)."),
    ] = None,
    state_claim: Annotated[
        str | None,
        typer.Option(
            "--state-claim",
            help="An existing PersistentVolumeClaim for serve's state (decision log, review "
            "queue, cache); default: k8s/state-pvc.yaml, a new ReadWriteMany claim NAME-state.",
        ),
    ] = None,
    ephemeral_state: Annotated[
        bool,
        typer.Option(
            "--ephemeral-state",
            help="Keep serve's state in an emptyDir instead: the decision log is lost with the "
            "pod (trials only).",
        ),
    ] = False,
    state_size: Annotated[
        str, typer.Option("--state-size", help="Size of the generated claim.")
    ] = "10Gi",
    registry: RegistryOpt = None,
    project_dir: ProjectOpt = Path("."),
    check: Annotated[bool, typer.Option(help="Validate the files after writing them.")] = True,
) -> None:
    """Write a Dockerfile, k8s/deployment.yaml + service.yaml and kserve/inferenceservice.yaml.

    The model must exist in the registry: its verified bundle says which extras the image
    installs; nothing is written otherwise."""
    from civicml.deploy import DeployOptions, generate_deployment, validate_deployment

    version, digest, folder = find_model(model, registry, project_dir)
    options = DeployOptions(
        image=image,
        secret=secret,
        port=port,
        replicas=replicas,
        cpu=cpu,
        memory=memory,
        state_claim=state_claim,
        ephemeral_state=ephemeral_state,
        state_size=state_size,
    )
    files = generate_deployment(model, out, bundle=folder, options=options, wheel=wheel)
    where = files.source.describe().split(" from ", 1)[1] if files.source else "the index"
    console.print(
        f"{model} is {version} (bundle sha256 {digest[:12]}); the image installs "
        f"civicml[{','.join(files.needs.extras)}] from {where}",
        soft_wrap=True,
        markup=False,
    )
    for reason in files.needs.reasons:
        console.print(f"  {reason}", soft_wrap=True, markup=False)
    console.print(f"  packages: {files.lock_note}", soft_wrap=True, markup=False)
    for path in files.all():
        console.print(f"  {path}", markup=False)
    if check:
        problems = validate_deployment(out)
        if problems:
            for p in problems:
                console.print(f"[red]problem:[/] {p}", soft_wrap=True)
            raise typer.Exit(1)
        console.print(
            "Validated: Dockerfile lint, Kubernetes schemas, KServe schema, writable volumes."
        )
