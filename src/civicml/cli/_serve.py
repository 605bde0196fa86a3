"""``civicml serve``: serve a registry alias (or a bundle folder) over HTTP.

Mount with ``app.command("serve")(serve)`` in ``cli/_app.py``. Heavy imports happen inside.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from civicml.cli._common import console, handle_errors

__all__ = ["serve"]


@handle_errors
def serve(
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="NAME@ALIAS from the registry (alias: production)."),
    ] = None,
    bundle: Annotated[
        Path | None, typer.Option("--bundle", "-b", help="Serve a bundle folder instead.")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    registry: Annotated[
        str | None, typer.Option("--registry", help="Registry URI (default: the project's).")
    ] = None,
    project_dir: Annotated[Path, typer.Option("--project-dir", help="Project folder.")] = Path("."),
    certfile: Annotated[Path | None, typer.Option(help="TLS certificate (PEM).")] = None,
    keyfile: Annotated[Path | None, typer.Option(help="TLS private key (PEM).")] = None,
    log_dir: Annotated[
        Path | None,
        typer.Option("--log-dir", help="Decision log folder (default .civicml/decisions/NAME)."),
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
        typer.Option(help="Oversight mode; 'human-in-the-loop' enables POST /decisions/{id}."),
    ] = None,
    poll_seconds: Annotated[
        float, typer.Option(help="Check for a moved alias this often (0: never).")
    ] = 10.0,
    access_log: Annotated[bool, typer.Option(help="Log every request as JSON.")] = False,
) -> None:
    """Serve a model over HTTP: Open Inference Protocol v2, /predict and /invocations."""
    import os

    from civicml._errors import SpecError
    from civicml.serve import RegistrySource, ServeOptions, create_app, run_server

    for label, value in (
        ("--extra-columns", extra_columns),
        ("--unknown-category", unknown_category),
        ("--out-of-range", out_of_range),
    ):
        if value not in ("reject", "allow"):
            raise SpecError.build(
                f"{label} is not valid",
                expected="reject or allow",
                got=value,
                fix=f"Pass {label} reject or {label} allow",
            )
    if bool(certfile) != bool(keyfile):
        raise SpecError.build("TLS needs both --certfile and --keyfile", fix="Pass both")
    options = ServeOptions(
        extra_columns=extra_columns,  # type: ignore[arg-type]
        unknown_category=unknown_category,  # type: ignore[arg-type]
        out_of_range=out_of_range,  # type: ignore[arg-type]
        max_batch_size=max_batch_size,
        max_batch_time_ms=max_batch_time_ms,
        oversight=oversight,
    )
    reg = None
    if bundle is None or not os.environ.get("CIVICML_SERVE_TOKEN_HASH"):
        from civicml.registry import open_registry

        reg = open_registry(registry, project_dir=project_dir)
    source: object
    if bundle is not None:
        source = bundle
        name = bundle.name
    else:
        assert reg is not None
        ref = model or ""
        if not ref:
            raise SpecError.build(
                "civicml serve needs a model", fix="Pass --model NAME@ALIAS or --bundle DIR"
            )
        if "@" not in ref and "/" not in ref:
            ref = f"{ref}@production"
        source = RegistrySource(reg, ref)
        name = source.name  # type: ignore[attr-defined]
        if oversight is None:
            options = ServeOptions(**{**options.__dict__, "oversight": reg.resolve(ref).oversight})
    verifier = reg.verify_token if reg is not None else None
    folder = log_dir or (project_dir / ".civicml" / "decisions" / name)
    app = create_app(
        source,  # type: ignore[arg-type]
        verifier=verifier,
        options=options,
        decision_log=folder,
        poll_seconds=poll_seconds,
        access_log=access_log,
    )
    rt = app.holder.runtime
    assert rt is not None
    scheme = "https" if certfile else "http"
    console.print(
        f"Serving {rt.name} version {rt.version} (sha256 {rt.sha256[:12]}) on "
        f"{scheme}://{host}:{port} — decision log in {folder}"
    )
    if workers > 1:
        console.print("Note: --workers > 1 is not supported yet; serving with one worker.")
    run_server(
        app,
        host=host,
        port=port,
        workers=1,
        certfile=str(certfile) if certfile else None,
        keyfile=str(keyfile) if keyfile else None,
    )
