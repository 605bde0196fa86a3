"""``civicml report BUNDLE -o DIR``: the HTML report, PDF, model card and ATRS record;
``civicml report eqia BUNDLE -o DIR``: the Equality Impact Assessment (HTML and Markdown).

Mount in ``cli/_app.py`` with ``app.add_typer(report_app, name="report")``: ``civicml report
BUNDLE ...`` runs the ``write`` command (the group inserts it).

With ``--model NAME/VERSION`` (or when the project's registry holds the bundle) the report,
model card and ATRS record include the version's approval record: who registered it, asked for
its approval and approved it, and whether a server verified each of them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from civicml.cli._common import (
    ArtifactsOpt,
    ProjectOpt,
    RegistryOpt,
    console,
    handle_errors,
)

if TYPE_CHECKING:
    from typer._click import Context

    from civicml.registry import ModelVersion, Registry, RemoteRegistry
    from civicml.report import ATRSRecord

__all__ = ["eqia", "find_registered", "report", "report_app"]


class _DefaultWrite(TyperGroup):
    """``civicml report BUNDLE`` means ``civicml report write BUNDLE``."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["write", *args]
        return super().parse_args(ctx, args)


report_app = typer.Typer(
    cls=_DefaultWrite,
    no_args_is_help=True,
    help="Write a bundle's reports: 'civicml report BUNDLE' (report, PDF, model card, ATRS "
    "record) or 'civicml report eqia BUNDLE' (equality impact assessment).",
)

_PAGE = 100


def _versions(reg: Registry | RemoteRegistry, name: str) -> list[ModelVersion]:
    """Every version of ``name``, newest first, a page at a time."""
    out: list[ModelVersion] = []
    before: int | None = None
    while True:
        page = reg.list_versions(name, limit=_PAGE, before=before)
        out += page
        if len(page) < _PAGE:
            return out
        before = page[-1].version


def find_registered(
    reg: Registry | RemoteRegistry, digest: str, names: list[str]
) -> ModelVersion | None:
    """The registered version whose bundle has ``digest``: the models in ``names`` first (the
    bundle's own name), then every model in the registry; None when it is not registered."""
    from civicml._errors import NotFoundError

    seen: set[str] = set()
    for name in names:
        if name and name not in seen:
            seen.add(name)
            try:
                found = [v for v in _versions(reg, name) if v.digest == digest]
            except NotFoundError:
                continue
            if found:
                return found[0]
    offset = 0
    while True:
        models = reg.list_models(limit=_PAGE, offset=offset)
        for m in models:
            if m.name not in seen:
                seen.add(m.name)
                found = [v for v in _versions(reg, m.name) if v.digest == digest]
                if found:
                    return found[0]
        if len(models) < _PAGE:
            return None
        offset += _PAGE


def _has_registry(registry: str | None, project_dir: Path) -> bool:
    """Whether a registry is named or the project already has one (a report never creates one)."""
    if registry or os.environ.get("CIVICML_REGISTRY"):
        return True
    return (project_dir.resolve() / ".civicml" / "registry.db").is_file()


def _atrs_record(reg: Registry | RemoteRegistry, v: ModelVersion) -> ATRSRecord:
    """The version's ATRS record with the answers a person stored in the registry."""
    from civicml.registry import Registry
    from civicml.report import ATRSRecord

    if isinstance(reg, Registry):
        from civicml.web import version_atrs

        return version_atrs(reg, v.name, v.version)[1]
    return ATRSRecord.model_validate(reg.atrs_record(v.name, v.version)["record"])


def _approval(
    bundle: Path, model: str | None, registry: str | None, artifacts: str | None, project: Path
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, ATRSRecord | None]:
    """The approval record, registry facts and ATRS record (with the stored answers) of the
    bundle's registered version (or Nones)."""
    from civicml._errors import RegistryError
    from civicml.bundle import load_bundle
    from civicml.cli._registry_open import open_from_cli
    from civicml.registry import approval_record

    if model is None and not _has_registry(registry, project):
        return None, None, None
    b = load_bundle(bundle)
    with open_from_cli(registry, artifacts, project) as reg:
        if model is not None:
            v = reg.resolve(model)
            if v.digest != b.digest:
                raise RegistryError.build(
                    f"The bundle {str(bundle)!r} is not {v.ref}",
                    expected=f"sha256 {v.digest[:16]}…",
                    got=f"sha256 {b.digest[:16]}…",
                    fix=f"Pass the bundle of {v.ref} (civicml models download), or the --model "
                    "that registered this bundle",
                )
        else:
            spec = b.read_json("spec.json") if b.has("spec.json") else {}
            names = [str(b.info.get("name") or ""), str(spec.get("name") or "")]
            found = find_registered(reg, b.digest, names)
            if found is None:
                return None, None, None
            v = found
        approval = approval_record(reg, v.name, v.version)
        record = _atrs_record(reg, v)
    info = {"name": v.name, "version": v.version, "status": v.status}
    if v.aliases:
        info["aliases"] = ", ".join(v.aliases)
    return approval, info, record


@report_app.command("write")
@handle_errors
def report(
    bundle: Annotated[Path, typer.Argument(help="The bundle folder (from 'civicml run').")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for report.html, report.pdf and the rest.")
    ] = Path("out/report"),
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also print a PDF.")] = True,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="The registered version this bundle is (NAME/VERSION or NAME@ALIAS), whose "
            "approval record the report shows. Default: the version of the project's registry "
            "that holds this bundle, if any.",
        ),
    ] = None,
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
) -> None:
    """Write the plain-English report, its PDF, the model card and the ATRS record."""
    from civicml.report import write_report

    approval, info, record = _approval(bundle, model, registry, artifacts, project_dir)
    paths = write_report(bundle, out, pdf=pdf, registry_info=info, approval=approval)
    if record is not None:  # the registered version's record holds the answers people stored
        from civicml.bundle import load_bundle
        from civicml.report import page_context, write_atrs

        common = {**page_context(), "digest": load_bundle(bundle).digest}
        write_atrs(Path(out), record, common)
    console.print(f"report       {paths.html}")
    if paths.pdf is not None:
        console.print(f"pdf          {paths.pdf}")
    else:
        console.print(f"pdf          not written ({paths.pdf_note})")
    console.print(f"model card   {paths.model_card}")
    console.print(f"ATRS record  {paths.atrs_json}  and  {paths.atrs_html}")
    if approval is None:
        console.print("approval     Not yet approved in a registry.")
    else:
        console.print(f"approval     {approval['ref']}: {approval['sentence']}", soft_wrap=True)


@report_app.command("eqia")
@handle_errors
def eqia(
    bundle: Annotated[Path, typer.Argument(help="The bundle folder (from 'civicml run').")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for eqia.html and eqia.md.")
    ] = Path("out/report"),
) -> None:
    """Write the Equality Impact Assessment (Public Sector Equality Duty) as HTML and Markdown."""
    from civicml.report import write_eqia

    paths = write_eqia(bundle, out)
    console.print(f"equality impact assessment  {paths.html}  and  {paths.markdown}")
    console.print(
        "A person must complete the parts marked TO BE COMPLETED BY A PERSON.", soft_wrap=True
    )
