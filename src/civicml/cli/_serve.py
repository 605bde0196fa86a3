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
        typer.Option("--model", "-m", help="NAME@ALIAS from the registry (alias: production)."),
    ] = None,
    bundle: Annotated[
        Path | None, typer.Option("--bundle", "-b", help="Serve a bundle folder instead.")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (each loads the model).")
    ] = 1,
    registry: Annotated[
        str | None,
        typer.Option(
            "--registry", envvar="CIVICML_REGISTRY", help="Registry URI (default: the project's)."
        ),
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
    """Serve a model over HTTP: Open Inference Protocol v2, /predict and /invocations."""
    import json
    import os

    from civicml._errors import SpecError
    from civicml.serve._app import ServingApp
    from civicml.serve._server import CONFIG_ENV, build_app, run_server

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
    if bool(certfile) != bool(keyfile):
        raise SpecError.build("TLS needs both --certfile and --keyfile", fix="Pass both")
    if bundle_arg is not None and bundle is not None and bundle_arg != bundle:
        raise SpecError.build(
            "civicml serve got two bundles",
            got=f"{bundle_arg} and --bundle {bundle}",
            fix="Pass the bundle folder once",
        )
    bundle = bundle or bundle_arg
    if bundle is not None and model:
        raise SpecError.build(
            "civicml serve got both a bundle and --model",
            fix="Serve a registry alias (--model NAME@ALIAS) or a bundle folder, not both",
        )
    if bundle is None and not model and not bandits:
        raise SpecError.build(
            "civicml serve needs a model",
            fix="Pass --model NAME@ALIAS or a bundle folder (or --bandits URL for bandits alone)",
        )
    if bundle is None and not model:
        return _serve_bandits_only(
            bandits or "", host, port, workers, certfile, keyfile, registry, project_dir
        )
    options: dict[str, object] = {
        "extra_columns": extra_columns,
        "unknown_category": unknown_category,
        "out_of_range": out_of_range,
        "max_batch_size": max_batch_size,
        "max_batch_time_ms": max_batch_time_ms,
        "oversight": oversight,
        "runtime": runtime,
    }
    ref = None
    if bundle is not None:
        name = _bundle_name(bundle)
    else:
        ref = model or ""
        if "@" not in ref and "/" not in ref:
            ref = f"{ref}@production"
        name = ref.split("@", 1)[0].split("/", 1)[0]
        if oversight is None:
            from civicml.registry import open_registry

            reg = open_registry(registry, project_dir=project_dir)
            options["oversight"] = reg.resolve(ref).oversight
    folder = log_dir or (project_dir / ".civicml" / "decisions" / name)
    config = {
        "bundle": str(bundle.resolve()) if bundle is not None else None,
        "model": ref,
        "registry": registry,
        "project_dir": str(project_dir.resolve()),
        "options": options,
        "decision_log": str(folder.resolve()),
        "poll_seconds": poll_seconds,
        "access_log": access_log,
        "bandits": bandits,
    }
    # Built here once to fail fast with a clear message; each worker rebuilds it from the config.
    app = build_app(config)
    assert isinstance(app, ServingApp)  # a bundle or --model is set, so not bandits-only
    rt = app.holder.runtime
    assert rt is not None
    scheme = "https" if certfile else "http"
    console.print(
        f"Serving {rt.name} version {rt.version} (sha256 {rt.sha256[:12]}, {rt.runtime_name}) "
        f"on {scheme}://{host}:{port} with {workers} worker(s) — decision log in {folder}"
    )
    if workers > 1:
        os.environ[CONFIG_ENV] = json.dumps(config)
        app.holder.stop()
        del app, rt
        served = None
    else:
        served = app
    run_server(
        served,
        host=host,
        port=port,
        workers=workers,
        certfile=str(certfile) if certfile else None,
        keyfile=str(keyfile) if keyfile else None,
    )


def _bundle_name(folder: Path) -> str:
    """The model's name from the bundle's ``model_info.json`` (its folder's name otherwise), so
    the decision log lands where ``civicml monitor NAME`` looks (verified when it is loaded)."""
    import json

    try:
        name = json.loads((folder / "model_info.json").read_text(encoding="utf-8")).get("name")
    except (OSError, ValueError, AttributeError):
        name = None
    return (
        name
        if isinstance(name, str) and name and "/" not in name and ".." not in name
        else folder.name
    )


def _serve_bandits_only(
    store: str,
    host: str,
    port: int,
    workers: int,
    certfile: Path | None,
    keyfile: Path | None,
    registry: str | None,
    project_dir: Path,
) -> None:
    """``civicml serve --bandits URL`` alone: the bandit endpoints and health, no model."""
    import json
    import os

    from civicml.bandits._store import display_uri
    from civicml.serve._server import CONFIG_ENV, build_app, run_server

    config = {"bandits": store, "registry": registry, "project_dir": str(project_dir.resolve())}
    app = build_app(config)  # opens the store now: a bad URL fails before the server starts
    scheme = "https" if certfile else "http"
    console.print(
        f"Serving the bandits in {display_uri(store)} on {scheme}://{host}:{port}/bandits/"
    )
    if workers > 1:
        os.environ[CONFIG_ENV] = json.dumps(config)
    run_server(
        app if workers == 1 else None,
        host=host,
        port=port,
        workers=workers,
        certfile=str(certfile) if certfile else None,
        keyfile=str(keyfile) if keyfile else None,
    )
