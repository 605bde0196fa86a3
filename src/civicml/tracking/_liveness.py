"""Is a ``running`` run still alive? Its heartbeat and its process decide.

The tracker writes ``heartbeat_at`` every :data:`HEARTBEAT_SECONDS` from a daemon thread. A run
still ``running`` is dead when its last heartbeat (its start, for a run recorded before
heartbeats existed) is older than :data:`STALE_AFTER_SECONDS`, or at once when it was recorded on
this host and its pid no longer exists (``kill -9``, an out-of-memory kill, a closed terminal).
Hosts are told apart by their host name, so every machine (or pod) writing to one registry
database needs its own.

Examples
--------
>>> from civicml.tracking import Run
>>> run = Run(id="ab" * 16, project="p", kind="run", status="running",
...           started_at="2026-01-01T00:00:00.000000Z", heartbeat_at="2026-01-01T00:10:00.000000Z",
...           host="elsewhere", pid=1)
>>> why_dead(run, now="2026-01-01T00:11:00.000000Z") is None
True
>>> why_dead(run, now="2026-01-01T00:20:00.000000Z")
'The run stopped: no heartbeat since 2026-01-01T00:10:00Z (its process was killed or its machine stopped).'
"""

from __future__ import annotations

import datetime as _dt
import os
import socket
from typing import TYPE_CHECKING

from civicml.storage import utc_now

if TYPE_CHECKING:
    from civicml.tracking._records import Run

__all__ = ["HEARTBEAT_SECONDS", "STALE_AFTER_SECONDS", "pid_alive", "this_host", "why_dead"]

#: How often a running run's tracker writes its heartbeat.
HEARTBEAT_SECONDS = 30.0

#: A running run whose heartbeat is older than this is dead (four missed heartbeats).
STALE_AFTER_SECONDS = 4 * HEARTBEAT_SECONDS


def this_host() -> str:
    """This machine's name, as recorded on the runs it starts."""
    return socket.gethostname()[:255]


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine.

    >>> pid_alive(os.getpid())
    True
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    except OSError:
        return True  # cannot tell: trust the heartbeat
    return True


def _seconds_between(earlier: str, later: str) -> float:
    def parse(stamp: str) -> _dt.datetime:
        return _dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))

    return (parse(later) - parse(earlier)).total_seconds()


def why_dead(
    run: Run, *, now: str | None = None, stale_after: float = STALE_AFTER_SECONDS
) -> str | None:
    """The one-line reason a ``running`` run is dead, or ``None`` while it may be alive."""
    if run.status != "running":
        return None
    if run.pid is not None and run.host == this_host() and not pid_alive(run.pid):
        return (
            f"The run stopped: its process (pid {run.pid} on {run.host}) ended without "
            "recording a result (killed, or out of memory)."
        )
    last = run.heartbeat_at or run.started_at
    if _seconds_between(last, now or utc_now()) > stale_after:
        return (
            f"The run stopped: no heartbeat since {last[:19]}Z (its process was killed or its "
            "machine stopped)."
        )
    return None
