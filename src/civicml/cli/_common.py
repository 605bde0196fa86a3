"""What every command shares: the console, JSON output, and turning errors into exit codes.

Commands import heavy libraries inside their own bodies so that ``civicml --help`` stays fast.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from civicml._errors import CivicMLError

__all__ = [
    "ArtifactsOpt",
    "ByOpt",
    "JsonOpt",
    "ProjectOpt",
    "RegisterOpt",
    "RegistryOpt",
    "SpecArg",
    "console",
    "emit_json",
    "err_console",
    "fail",
    "handle_errors",
    "is_debug",
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

# The other options several commands share, each declared once.
#: ``--project-dir``: the folder holding ``.civicml/``.
ProjectOpt = Annotated[
    Path, typer.Option("--project-dir", help="Project folder holding .civicml/.")
]
#: ``--artifacts``: where the registry keeps bundle files (also ``$CIVICML_ARTIFACTS``).
ArtifactsOpt = Annotated[
    str | None,
    typer.Option("--artifacts", envvar="CIVICML_ARTIFACTS", help="Artifact store location."),
]
#: ``--json``: machine-readable output for scripts.
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
#: ``--by``: who is acting, for the audit log.
ByOpt = Annotated[
    str | None,
    typer.Option("--by", help="Who is acting (default: $CIVICML_ACTOR or your login name)."),
]
#: ``--register/--no-register``: whether a job registers its bundle.
RegisterOpt = Annotated[
    bool,
    typer.Option("--register/--no-register", help="Register the bundle as a new version."),
]
#: The project spec argument of the jobs (``run``, ``train``, ``pipeline run``, ``data build``).
SpecArg = Annotated[Path, typer.Argument(help="civicml.yaml (or its folder).")]


_debug_flag = False


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
            raise fail(_escape(str(exc)), exc.exit_code) from None
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
