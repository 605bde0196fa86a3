"""``civicml serve``: serve a registry alias (or a bundle folder) over HTTP.

Mount with ``app.command("serve")(serve)`` in ``cli/_app.py``. Heavy imports happen inside.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from civicml.cli._common import RegistryOpt, console, handle_errors

__all__ = ["serve"]


@handle_errors
def serve(
    bundle_arg: Annotated[
        Path | None,
        typer.Argument(
            metavar="[BUNDLE]",
            help="A bundle folder to serve (the same as --bundle).",
            show_default=False,
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="NAME@ALIAS or NAME/VERSION from the registry (alias: production); it must "
            "be approved. With --registry https://... (a civicml server, $CIVICML_TOKEN) the "
            "verified bundle is downloaded from that server.",
        ),
    ] = None,
    bundle: Annotated[
        Path | None, typer.Option("--bundle", "-b", help="Serve a bundle folder instead.")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (each loads the model).")
    ] = 1,
    registry: RegistryOpt = None,
    project_dir: Annotated[Path, typer.Option("--project-dir", help="Project folder.")] = Path("."),
    certfile: Annotated[Path | None, typer.Option(help="TLS certificate (PEM).")] = None,
    keyfile: Annotated[Path | None, typer.Option(help="TLS private key (PEM).")] = None,
    log_dir: Annotated[
        Path | None,
        typer.Option("--log-dir", help="Decision log folder (default .civicml/decisions/NAME)."),
    ] = None,
    log_retention_days: Annotated[
        float | None,
        typer.Option(
            "--log-retention-days",
            min=0.01,
            help="Delete decision-log parts older than this many days (at start and daily; each "
            "deletion recorded). Default: $CIVICML_LOG_RETENTION_DAYS, else kept.",
        ),
    ] = None,
    extra_columns: Annotated[
        str, typer.Option(help="Fields the model does not use: reject or allow.")
    ] = "reject",
    unknown_category: Annotated[
        str, typer.Option(help="Unknown categories: reject or allow.")
    ] = "reject",
    out_of_range: Annotated[str, typer.Option(help="Out-of-range numbers: reject or allow.")] = (
        "reject"
    ),
    max_batch_size: Annotated[
        int, typer.Option(help="Micro-batch up to this many rows (1: off).")
    ] = 1,
    max_batch_time_ms: Annotated[float, typer.Option(help="Longest wait to fill a batch.")] = 2.0,
    oversight: Annotated[
        str | None,
        typer.Option(
            help="Oversight mode of a bundle folder; 'human-in-the-loop' enables POST "
            "/decisions/{id}. A registry version uses its approved mode (a different one is "
            "refused)."
        ),
    ] = None,
    allow_unapproved: Annotated[
        str | None,
        typer.Option(
            "--allow-unapproved",
            metavar="REASON",
            help="Serve a registry version that is not approved: the reason is recorded in "
            "the audit log, the model metadata and every decision-log record. Refused against "
            "a civicml server (the override is recorded only on the registry host).",
        ),
    ] = None,
    runtime: Annotated[
        str,
        typer.Option(
            help="auto (ONNX Runtime when the bundle has a verified model.onnx), onnx or skops."
        ),
    ] = "auto",
    poll_seconds: Annotated[
        float, typer.Option(help="Check for a moved alias this often (0: never).")
    ] = 10.0,
    access_log: Annotated[bool, typer.Option(help="Log every request as JSON.")] = False,
    bandits: Annotated[
        str | None,
        typer.Option(
            "--bandits",
            help="Also serve /bandits/{name}/choose and /reward from this bandit store "
            "(e.g. sqlite:///.civicml/bandits.db).",
        ),
    ] = None,
) -> None:
    """Serve a model over HTTP: Open Inference Protocol v2, /predict and /invocations.

    Against a civicml server (--registry https://..., $CIVICML_TOKEN) the version, its approval
    and oversight come from that server, and callers' tokens are checked against
    $CIVICML_SERVE_TOKEN_HASH; --allow-unapproved is refused there."""
    from civicml.serve import ServeOptions, ServerOptions, serve_forever

    _check_policies(extra_columns, unknown_category, out_of_range, runtime)
    opts = ServerOptions(
        bundle=_one_bundle(bundle_arg, bundle),
        model=model,
        bandits=bandits,
        host=host,
        port=port,
        workers=workers,
        registry=registry,
        project_dir=project_dir,
        certfile=certfile,
        keyfile=keyfile,
        log_dir=log_dir,
        log_retention_days=log_retention_days,
        serve=ServeOptions(
            extra_columns=extra_columns,  # type: ignore[arg-type]  # checked above
            unknown_category=unknown_category,  # type: ignore[arg-type]
            out_of_range=out_of_range,  # type: ignore[arg-type]
            max_batch_size=max_batch_size,
            max_batch_time_ms=max_batch_time_ms,
            oversight=oversight,
            runtime=runtime,
            allow_unapproved=allow_unapproved,
        ),
        poll_seconds=poll_seconds,
        access_log=access_log,
    )
    serve_forever(opts, echo=console.print)


def _check_policies(
    extra_columns: str, unknown_category: str, out_of_range: str, runtime: str
) -> None:
    from civicml._errors import SpecError

    for label, value, allowed in (
        ("--extra-columns", extra_columns, ("reject", "allow")),
        ("--unknown-category", unknown_category, ("reject", "allow")),
        ("--out-of-range", out_of_range, ("reject", "allow")),
        ("--runtime", runtime, ("auto", "onnx", "skops")),
    ):
        if value not in allowed:
            raise SpecError.build(
                f"{label} is not valid",
                expected=" or ".join(allowed),
                got=value,
                fix=f"Pass {label} {allowed[0]} or {label} {allowed[1]}",
            )


def _one_bundle(bundle_arg: Path | None, bundle: Path | None) -> Path | None:
    """The bundle folder, given as the argument or as --bundle (not two different ones)."""
    from civicml._errors import SpecError

    if bundle_arg is not None and bundle is not None and bundle_arg != bundle:
        raise SpecError.build(
            "civicml serve got two bundles",
            got=f"{bundle_arg} and --bundle {bundle}",
            fix="Pass the bundle folder once",
        )
    return bundle or bundle_arg
