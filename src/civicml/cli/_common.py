"""What every command shares: the console, JSON output, and turning errors into exit codes.

Commands import heavy libraries inside their own bodies so that ``civicml --help`` stays fast.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console

from civicml._errors import CivicMLError
from civicml._text import terminal_safe

if TYPE_CHECKING:
    from civicml.registry import Actor

__all__ = [
    "ArtifactsOpt",
    "ByOpt",
    "JsonOpt",
    "ProjectOpt",
    "find_project",
    "progress_line",
    "RegisterOpt",
    "RegistryOpt",
    "SpecArg",
    "BY_REFUSED",
    "console",
    "current_actor",
    "emit_json",
    "err_console",
    "fail",
    "handle_errors",
    "identity_note",
    "is_debug",
    "is_remote",
    "local_registry",
    "login_name",
    "progress_bar",
    "set_debug",
]

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

F = TypeVar("F", bound=Callable[..., Any])

#: The one ``--registry`` option every command shares (also read from ``$CIVICML_REGISTRY``).
RegistryOpt = Annotated[
    str | None,
    typer.Option(
        "--registry",
        envvar="CIVICML_REGISTRY",
        help="Registry database URL (default: the project's .civicml/registry.db).",
    ),
]


def find_project(start: str | Path = ".") -> Path:
    """The project folder, found the way git finds a repository: ``start`` when it holds
    ``.civicml/``, else the nearest folder above it that does, else ``start`` itself.

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp()); (root / ".civicml").mkdir()
    >>> (root / "a" / "b").mkdir(parents=True)
    >>> find_project(root / "a" / "b") == root.resolve()
    True
    """
    here = Path(start).resolve()
    for folder in (here, *here.parents):
        if (folder / ".civicml").is_dir():
            return folder
    return Path(start)


def _project_dir(value: Path | None) -> Path:
    """``--project-dir`` as given (or ``$CIVICML_PROJECT``); by default found from here."""
    return find_project() if value is None or value == Path(".") else value


# The other options several commands share, each declared once.
#: ``--project-dir``: the folder holding ``.civicml/`` (also ``$CIVICML_PROJECT``; by default the
#: nearest folder from here upwards that holds one, as git finds a repository).
ProjectOpt = Annotated[
    Path,
    typer.Option(
        "--project-dir",
        envvar="CIVICML_PROJECT",
        callback=_project_dir,
        help="Project folder holding .civicml/ (default: $CIVICML_PROJECT, else the nearest "
        "folder from here upwards that holds one).",
    ),
]
#: ``--artifacts``: where the registry keeps bundle files (also ``$CIVICML_ARTIFACTS``).
ArtifactsOpt = Annotated[
    str | None,
    typer.Option("--artifacts", envvar="CIVICML_ARTIFACTS", help="Artifact store location."),
]
#: ``--json``: machine-readable output for scripts.
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
#: the one line a command given ``--by`` exits 2 with
BY_REFUSED = (
    "--by is no longer accepted: civicml records who acts from your OS login in embedded mode "
    "(not verified) or from your sign-in in server mode (civicml server)"
)


def _refuse_by(value: str | None) -> str | None:
    """``--by NAME`` named whoever the caller liked; it is refused, before anything runs."""
    if value is not None:
        raise fail(BY_REFUSED)
    return value


#: ``--by``: hidden and refused (exit 2 with :data:`BY_REFUSED`); who acts is never a flag.
ByOpt = Annotated[
    str | None,
    typer.Option("--by", hidden=True, is_eager=True, callback=_refuse_by),
]
#: ``--register/--no-register``: whether a job registers its bundle.
RegisterOpt = Annotated[
    bool,
    typer.Option("--register/--no-register", help="Register the bundle as a new version."),
]
#: The project spec argument of the jobs (``run``, ``train``, ``pipeline run``, ``data build``).
SpecArg = Annotated[Path, typer.Argument(help="civicml.yaml (or its folder).")]


_debug_flag = False


def login_name() -> str:
    """The OS login the CLI acts as in embedded mode: the one place the CLI learns it (from the
    process's user id, so no flag or environment variable changes it; tests replace this)."""
    from civicml.registry import os_login

    return os_login()


def is_remote(registry: str | None) -> bool:
    """True when the registry option (or ``$CIVICML_REGISTRY``) names a ``civicml server``.

    >>> is_remote("https://models.example.gov.uk"), is_remote("sqlite:///r.db"), is_remote(None)
    (True, False, False)
    """
    uri = registry if registry is not None else os.environ.get("CIVICML_REGISTRY", "")
    return uri.lower().startswith(("http://", "https://"))


def local_registry(project_dir: str | Path) -> str:
    """The project's own embedded database, where a job records its run when the registry is
    a ``civicml server`` (whose runs are read only over HTTP).

    >>> local_registry("/srv/p")
    'sqlite:////srv/p/.civicml/registry.db'
    """
    return f"sqlite:///{Path(project_dir).resolve() / '.civicml' / 'registry.db'}"


def current_actor(registry: object | None = None) -> Actor:
    """Who this command acts as.

    Embedded mode: the OS login, unverified (``via="os-login"``). Against a ``civicml server``
    (a registry object with ``me()``) the server says who the token or sign-in belongs to.
    """
    me = getattr(registry, "me", None)
    if callable(me):
        found: Actor = me()
        return found
    from civicml.registry import Actor

    return Actor(login_name(), verified=False, via="os-login")


def identity_note(actor: Actor) -> str:
    """How far the acting identity was checked, for the one line a write command prints.

    >>> from civicml.registry import Actor
    >>> identity_note(Actor("alice", via="os-login"))
    'OS login, not verified by a server'
    >>> identity_note(Actor("ada@dept.gov.uk", verified=True, via="oidc"))
    'verified by civicml server, via oidc'
    """
    if actor.verified:
        return f"verified by civicml server, via {actor.via}"
    if actor.via == "os-login":
        return "OS login, not verified by a server"
    return f"{actor.via}, not verified by a server"


def progress_bar() -> Any:
    """A transient progress bar on stderr (description, bar, done/total, elapsed); hidden when
    stderr is not a terminal."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )


def set_debug(value: bool) -> None:
    """Record the --debug flag for this invocation."""
    global _debug_flag
    _debug_flag = value


def is_debug() -> bool:
    """True when --debug was given (or CIVICML_DEBUG=1): show tracebacks."""
    return _debug_flag or os.environ.get("CIVICML_DEBUG", "") not in ("", "0")


def emit_json(obj: Any) -> None:
    """Print ``obj`` as JSON on stdout (no colour, no wrapping), for scripts."""
    from civicml.bundle import dumps_json

    sys.stdout.write(dumps_json(obj).decode("utf-8"))
    sys.stdout.flush()


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one error line on stderr and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", soft_wrap=True, markup=True)
    return typer.Exit(code)


def handle_errors(func: F) -> F:
    """Turn a :class:`CivicMLError` into one line on stderr and its exit code (2 by default).

    With ``--debug`` the traceback is shown instead.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CivicMLError as exc:
            if is_debug():
                raise
            raise fail(_escape(terminal_safe(str(exc), limit=2_000)), exc.exit_code) from None
        except KeyboardInterrupt:
            raise fail("Interrupted; nothing was written.", 130) from None
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except Exception as exc:  # a bug, not bad input: say so in one line
            if is_debug():
                raise
            first = str(exc).splitlines()[0] if str(exc) else ""
            raise fail(
                _escape(
                    f"civicml hit an unexpected error ({type(exc).__name__}: {first}). "
                    "Rerun with --debug for the traceback and report it."
                ),
                3,
            ) from None
        finally:
            set_debug(False)  # the flag belongs to this invocation only

    return wrapper  # type: ignore[return-value]


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def progress_line(kind: str, kw: dict[str, Any]) -> str | None:
    """One plain line for a job's event when the output is not a terminal: each stage, each
    finished or skipped candidate, the refit and the end (warnings print on their own).

    >>> progress_line("stage", {"name": "train", "task": "binary"})
    'civicml: stage train (task binary)'
    >>> progress_line("candidate_skipped", {"name": "mlp", "reason": "no time left"})
    'civicml: candidate mlp skipped: no time left'
    >>> progress_line("fold_done", {}) is None
    True
    """
    if kind == "stage":
        extra = ", ".join(f"{k} {v}" for k, v in kw.items() if k != "name")
        return f"civicml: stage {kw.get('name')}" + (f" ({extra})" if extra else "")
    if kind == "candidate_done":
        entry = kw.get("entry")
        if entry is None:
            return f"civicml: candidate {kw.get('name')} {kw.get('status', 'done')}"
        scores = ", ".join(
            f"{m} {v:.4f} ± {entry.cv_std.get(m, 0.0):.4f}"
            for m, v in entry.cv_mean.items()
            if v == v
        )
        return f"civicml: candidate {entry.name} {entry.status}" + (f": {scores}" if scores else "")
    if kind == "candidate_skipped":
        return f"civicml: candidate {kw.get('name')} skipped: {kw.get('reason', '')}".rstrip(": ")
    if kind in ("search_start", "refit_start", "done"):
        extra = ", ".join(f"{k} {v}" for k, v in kw.items())
        return f"civicml: {kind.replace('_', ' ')}" + (f" ({extra})" if extra else "")
    return None
