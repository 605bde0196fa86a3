"""Running a server the way ``civicml serve`` does: one option object, checked, then served.

The CLI parses its flags into a :class:`ServerOptions` and calls :func:`serve_forever`; the
same object serves a bundle folder, a registry alias, bandits alone, or a model with bandits
mounted beside it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from civicml._errors import SpecError
from civicml.serve._app import ServingApp
from civicml.serve._governance import Governance, check_override_reason
from civicml.serve._runtime import ServeOptions
from civicml.serve._server import CONFIG_ENV, build_app, run_server

__all__ = ["ServerOptions", "bundle_name", "serve_forever"]


@dataclass(frozen=True)
class ServerOptions:
    """How a serving process runs: what it serves, where, and with which options.

    Parameters
    ----------
    bundle : path, optional
        A bundle folder to serve.
    model : str, optional
        ``NAME@ALIAS`` from the registry (``NAME`` alone means ``NAME@production``).
    bandits : str, optional
        A bandit store URL whose bandits are served under ``/bandits/`` (alone, or beside the
        model).
    host, port, workers
        Where to listen, and how many worker processes (each loads the model).
    registry : str, optional
        Registry URL (default: the project's).
    project_dir : path
    certfile, keyfile : path, optional
        TLS certificate and private key (PEM), both or neither.
    log_dir : path, optional
        Decision log folder (default ``.civicml/decisions/NAME``).
    log_retention_days : float, optional
        Delete decision-log parts older than this (at start and daily; each deletion recorded
        in the log folder's ``deletions.jsonl``). Default: ``$CIVICML_LOG_RETENTION_DAYS``, else
        kept.
    serve : ServeOptions
        Validation policies, micro-batching, oversight and runtime for the model.
    poll_seconds : float
        Check for a moved alias this often (0: never).
    access_log : bool
        Log every request as JSON, not just errors.

    Examples
    --------
    >>> ServerOptions(model="claims").reference
    'claims@production'
    >>> ServerOptions(bundle=Path("b"), model="claims").check()
    Traceback (most recent call last):
    civicml._errors.SpecError: civicml serve got both a bundle and --model. Serve a registry alias (--model NAME@ALIAS) or a bundle folder, not both.
    """

    bundle: Path | None = None
    model: str | None = None
    bandits: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    registry: str | None = None
    project_dir: Path = Path(".")
    certfile: Path | None = None
    keyfile: Path | None = None
    log_dir: Path | None = None
    log_retention_days: float | None = None
    serve: ServeOptions = field(default_factory=ServeOptions)
    poll_seconds: float = 10.0
    access_log: bool = False

    @property
    def reference(self) -> str | None:
        """The registry reference served (``NAME@production`` when no alias was given)."""
        ref = self.model
        if not ref:
            return None
        return ref if "@" in ref or "/" in ref else f"{ref}@production"

    @property
    def scheme(self) -> str:
        return "https" if self.certfile else "http"

    def check(self) -> None:
        """Refuse combinations that cannot be served, with a one-line fix."""
        if bool(self.certfile) != bool(self.keyfile):
            raise SpecError.build("TLS needs both --certfile and --keyfile", fix="Pass both")
        if self.bundle is not None and self.model:
            raise SpecError.build(
                "civicml serve got both a bundle and --model",
                fix="Serve a registry alias (--model NAME@ALIAS) or a bundle folder, not both",
            )
        check_override_reason(self.serve.allow_unapproved)
        if self.bundle is None and not self.model and not self.bandits:
            raise SpecError.build(
                "civicml serve needs a model",
                fix="Pass --model NAME@ALIAS or a bundle folder (or --bandits URL for bandits "
                "alone)",
            )


def bundle_name(folder: Path) -> str:
    """The model's name from the bundle's ``model_info.json`` (its folder's name otherwise), so
    the decision log lands where ``civicml monitor NAME`` looks (verified when it is loaded)."""
    try:
        name = json.loads((folder / "model_info.json").read_text(encoding="utf-8")).get("name")
    except (OSError, ValueError, AttributeError):
        name = None
    return (
        name
        if isinstance(name, str) and name and "/" not in name and ".." not in name
        else folder.name
    )


def _tls(opts: ServerOptions) -> dict[str, Any]:
    return {
        "host": opts.host,
        "port": opts.port,
        "workers": opts.workers,
        "certfile": str(opts.certfile) if opts.certfile else None,
        "keyfile": str(opts.keyfile) if opts.keyfile else None,
    }


def _model_config(opts: ServerOptions) -> tuple[dict[str, Any], Path]:
    """The plain serving config every worker rebuilds the app from, and the decision-log
    folder."""
    options = dataclasses.asdict(opts.serve)
    ref = opts.reference
    if opts.bundle is not None:
        name = bundle_name(opts.bundle)
    else:
        assert ref is not None
        # the oversight mode comes from the registry version (ModelHolder gates each load)
        name = ref.split("@", 1)[0].split("/", 1)[0]
    folder = opts.log_dir or (opts.project_dir / ".civicml" / "decisions" / name)
    config = {
        "bundle": str(opts.bundle.resolve()) if opts.bundle is not None else None,
        "model": ref,
        "registry": opts.registry,
        "project_dir": str(opts.project_dir.resolve()),
        "options": options,
        "decision_log": str(folder.resolve()),
        "log_retention_days": opts.log_retention_days,
        "poll_seconds": opts.poll_seconds,
        "access_log": opts.access_log,
        "bandits": opts.bandits,
    }
    return config, folder


def serve_forever(opts: ServerOptions, *, echo: Callable[[str], Any] = print) -> None:
    """Check ``opts``, build the app (failing fast with a clear message), say what is served
    with ``echo``, and serve until stopped."""
    opts.check()
    if opts.bundle is None and not opts.model:
        _serve_bandits_only(opts, echo)
        return
    config, folder = _model_config(opts)
    # Built here once to fail fast with a clear message; each worker rebuilds it from the config.
    app = build_app(config)
    assert isinstance(app, ServingApp)  # a bundle or --model is set, so not bandits-only
    rt = app.holder.runtime
    assert rt is not None
    echo(
        f"Serving {rt.name} version {rt.version} (sha256 {rt.sha256[:12]}, {rt.runtime_name}) "
        f"on {opts.scheme}://{opts.host}:{opts.port} with {opts.workers} worker(s) — decision "
        f"log in {folder}"
    )
    echo(_governance_line(rt.governance))
    served: ServingApp | None = app
    if opts.workers > 1:
        # the workers serve the version the override was audited for, without recording it again
        config["override_digest"] = app.holder.override_digest
        os.environ[CONFIG_ENV] = json.dumps(config)
        app.holder.stop()
        del app, rt
        served = None
    run_server(served, **_tls(opts))


def _governance_line(gov: Governance) -> str:
    """One line saying whether the registry approved what is served."""
    mode = gov.oversight or "none recorded"
    if gov.ref is None:
        return (
            f"Oversight {mode}: from --oversight; this bundle is not a version in the registry, "
            "so its oversight was not approved in a registry"
        )
    if gov.approved:
        return f"{gov.ref} is approved in the registry; oversight {mode} (from the registry)"
    return (
        f"WARNING: {gov.ref} is {gov.status!r}, not approved; served under the audited "
        f"--allow-unapproved override ({gov.unapproved_override}); oversight {mode}"
    )


def _serve_bandits_only(opts: ServerOptions, echo: Callable[[str], Any]) -> None:
    """``civicml serve --bandits URL`` alone: the bandit endpoints and health, no model."""
    config = {
        "bandits": opts.bandits,
        "registry": opts.registry,
        "project_dir": str(opts.project_dir.resolve()),
    }
    app = build_app(config)  # opens the store now: a bad URL fails before the server starts
    where = getattr(getattr(app, "bandits", None), "location", "the bandit store")
    echo(f"Serving the bandits in {where} on {opts.scheme}://{opts.host}:{opts.port}/bandits/")
    if opts.workers > 1:
        os.environ[CONFIG_ENV] = json.dumps(config)
    run_server(app if opts.workers == 1 else None, **_tls(opts))
