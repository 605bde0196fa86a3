"""``civicml atrs …``: finish and publish a registered version's ATRS record.

The record is what civicml generates from the version's bundle plus the answers a person stored
in the registry (versioned and audited): ``fill`` stores answers from a YAML file keyed by field
id, ``check`` lists every gap still open (exit 1 while any remain), and ``publish`` writes the
final JSON, the GOV.UK-styled HTML page and a spreadsheet once there are none.

Against a ``civicml server`` (``--registry https://…``) the server builds the record and stores
the answers as the holder of ``$CIVICML_TOKEN`` (a trainer or approver); ``publish`` writes the
files here from the record the server sends.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
    identity_note,
)

if TYPE_CHECKING:
    from civicml.registry import Registry, RemoteRegistry
    from civicml.report import ATRSRecord

__all__ = ["app"]

app = typer.Typer(
    help="The Algorithmic Transparency Recording Standard record: fill, check and publish.",
    no_args_is_help=True,
)

NameArg = Annotated[str, typer.Argument(help="The model's name.")]
VersionArg = Annotated[int, typer.Argument(help="The version number.")]


def _record(reg: Registry | RemoteRegistry, name: str, version: int) -> ATRSRecord:
    """The version's record: what civicml generates from its bundle plus the stored answers
    (built here for a registry database, by the server for a ``civicml server``)."""
    from civicml.registry import Registry
    from civicml.report import ATRSRecord

    if isinstance(reg, Registry):
        from civicml.web import version_atrs

        return version_atrs(reg, name, version)[1]
    return ATRSRecord.model_validate(reg.atrs_record(name, version)["record"])


def _jsonable(value: Any) -> Any:
    """A YAML answer as JSON can carry it (dates as ISO text)."""
    import datetime as _dt

    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [_jsonable(x) for x in value]
    return value


def _store(
    reg: Registry | RemoteRegistry, name: str, version: int, raw: dict[str, Any], reason: str | None
) -> list[dict[str, Any]]:
    """Store the answers (checked against the record's field ids) as the current actor."""
    from civicml.registry import Registry

    if isinstance(reg, Registry):
        from civicml.web import store_atrs_answers

        actor = current_actor(reg)
        return store_atrs_answers(reg, name, version, raw, actor=actor, reason=reason)
    answers = {k: _jsonable(v) for k, v in raw.items()}
    return reg.set_atrs_answers(name, version, answers, reason=reason)


def _read_answers(path: Path) -> dict[str, Any]:
    import yaml

    from civicml._errors import SpecError

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError.build(
            f"The answers file {str(path)!r} cannot be read",
            got=str(exc).splitlines()[0],
            fix="Give a YAML file of 'field id: answer' lines",
        ) from None
    if not isinstance(doc, dict) or not doc:
        raise SpecError.build(
            f"The answers file {str(path)!r} holds no answers",
            expected="a YAML mapping of field id to answer, e.g. 'owner.team: Analytics'",
            got=type(doc).__name__,
        )
    return {str(k): v for k, v in doc.items()}


def _write_template(record: ATRSRecord, path: Path) -> None:
    """The gaps as a YAML answers file: each id with the field's current text to edit."""
    import yaml

    from civicml.report import find_gaps, record_fields

    values = {f.id: f.value for f in record_fields(record)}
    parts = [
        f"# {g.label} {g.problem}\n"
        + yaml.safe_dump({g.id: values[g.id]}, sort_keys=False, allow_unicode=True, width=100)
        for g in find_gaps(record)
    ]
    path.write_text("\n".join(parts), encoding="utf-8")


@app.command()
@handle_errors
def fill(
    name: NameArg,
    version: VersionArg,
    answers_file: Annotated[
        Path,
        typer.Option(
            "--from", help="A YAML file of 'field id: answer' (ids as 'civicml atrs check' shows)."
        ),
    ],
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (recorded in the audit log).")
    ] = None,
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
) -> None:
    """Store a person's answers to the version's ATRS record (versioned and audited)."""
    from civicml.cli._registry_open import open_from_cli
    from civicml.report import find_gaps

    raw = _read_answers(answers_file)
    with open_from_cli(registry, artifacts, project_dir) as opened:
        actor = current_actor(opened)
        rows = _store(opened, name, version, raw, reason)
        record = _record(opened, name, version)
    gaps = find_gaps(record)
    console.print(
        f"{len(rows)} answer(s) stored for {name} v{version} by {actor.name} "
        f"({identity_note(actor)}); {len(raw) - len(rows)} unchanged."
    )
    console.print(
        f"{len(gaps)} gap(s) remain: run 'civicml atrs check {name} {version}'."
        if gaps
        else f"No gaps remain: run 'civicml atrs publish {name} {version} -o DIR'."
    )


@app.command()
@handle_errors
def check(
    name: NameArg,
    version: VersionArg,
    template: Annotated[
        Path | None,
        typer.Option(
            "--template",
            help="Also write the gaps as a YAML answers file to edit and pass to 'atrs fill' "
            "(each field's current text, its label as a comment).",
        ),
    ] = None,
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """List every gap in the version's ATRS record; exit 1 while any remain."""
    from civicml.cli._registry_open import open_from_cli
    from civicml.report import find_gaps

    with open_from_cli(registry, artifacts, project_dir) as opened:
        record = _record(opened, name, version)
    gaps = find_gaps(record)
    if template is not None:
        _write_template(record, template)
    if as_json:
        emit_json(
            {
                "name": name,
                "version": version,
                "complete": not gaps,
                "gaps": [{"id": g.id, "label": g.label, "problem": g.problem} for g in gaps],
            }
        )
    else:
        for g in gaps:
            console.print(f"- {g.label} {g.problem}  [dim](id {g.id})[/dim]", soft_wrap=True)
        console.print(
            f"{len(gaps)} gap(s) in the ATRS record of {name} v{version}; fill them with "
            f"'civicml atrs fill {name} {version} --from answers.yaml'."
            if gaps
            else f"The ATRS record of {name} v{version} has no gaps: it can be published."
        )
    if gaps:
        raise typer.Exit(1)


@app.command()
@handle_errors
def publish(
    name: NameArg,
    version: VersionArg,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for atrs.json, atrs.html and atrs.xlsx.")
    ],
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
) -> None:
    """Write the finished record (JSON, HTML and spreadsheet); refused while gaps remain."""
    from civicml.cli._registry_open import open_from_cli
    from civicml.report import publish_atrs

    with open_from_cli(registry, artifacts, project_dir) as opened:
        record = _record(opened, name, version)
    paths = publish_atrs(record, out)
    console.print(f"ATRS record  {paths.json}")
    console.print(f"web page     {paths.html}")
    console.print(f"spreadsheet  {paths.xlsx}")


@app.command()
@handle_errors
def exempt(
    name: NameArg,
    version: VersionArg,
    reason: Annotated[
        str | None,
        typer.Option(
            "--reason",
            help="Why this version is exempt from publishing an ATRS record (e.g. national "
            "security); recorded in the audit log.",
        ),
    ] = None,
    withdraw: Annotated[
        bool,
        typer.Option(
            "--withdraw", help="Withdraw the exemption: serving then needs a complete record."
        ),
    ] = False,
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
    project_dir: ProjectOpt = Path("."),
) -> None:
    """Record (or withdraw) an exemption from the ATRS record, so that the version may serve
    without a complete one. Another person than its registrant records it (an approver on a
    civicml server)."""
    from civicml._errors import GovernanceError
    from civicml.cli._registry_open import open_from_cli

    if withdraw == bool((reason or "").strip()):
        raise GovernanceError.build(
            "civicml atrs exempt needs exactly one of --reason and --withdraw",
            expected="--reason TEXT (why the version is exempt) or --withdraw",
            got="both" if withdraw else "neither",
        )
    with open_from_cli(registry, artifacts, project_dir) as opened:
        actor = current_actor(opened)
        row = opened.record_atrs_exemption(
            name, version, reason=None if withdraw else reason, actor=actor
        )
    if row is None:
        console.print(f"{name} v{version} has no ATRS exemption: serving needs a complete record.")
    else:
        console.print(
            f"{name} v{version} is exempt from the ATRS record: {row['answer']} "
            f"(recorded by {actor.name}, {identity_note(actor)})"
        )
