"""The serving process's own metrics, named as Prometheus's client libraries name them
(``process_*``, ``python_info``), read from the operating system without extra packages.

Resident and virtual memory, open file descriptors and the start time come from ``/proc`` on
Linux; CPU seconds and the file-descriptor limit from the standard library everywhere. A metric
the platform cannot give is left out, never made up.

Examples
--------
>>> text = "\\n".join(process_lines())
>>> "process_cpu_seconds_total " in text and "python_info{" in text
True
>>> import sys
>>> not sys.platform.startswith("linux") or "process_resident_memory_bytes " in text
True
"""

from __future__ import annotations

import contextlib
import os
import platform

__all__ = ["process_lines"]

_PROC = "/proc/self"


def _stat() -> list[str] | None:
    """The fields of ``/proc/self/stat`` after the command name (``None`` off Linux)."""
    try:
        with open(f"{_PROC}/stat", "rb") as f:
            raw = f.read().decode("ascii", "replace")
    except OSError:
        return None
    return raw[raw.rfind(")") + 2 :].split()


def _boot_time() -> float | None:
    try:
        with open("/proc/stat", "rb") as f:
            for line in f:
                if line.startswith(b"btime "):
                    return float(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _gauge(name: str, help_: str, value: float, kind: str = "gauge") -> list[str]:
    shown = str(int(value)) if float(value).is_integer() else repr(round(float(value), 6))
    return [f"# HELP {name} {help_}", f"# TYPE {name} {kind}", f"{name} {shown}"]


def _memory_and_start() -> list[str]:
    """Virtual and resident memory and the start time, from ``/proc/self/stat`` (fields 3, 22,
    23 and 24 counted from the process state)."""
    fields = _stat()
    if fields is None or len(fields) < 22:
        return []
    lines: list[str] = []
    try:
        vsize, rss = float(fields[20]), float(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        lines += _gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", vsize)
        lines += _gauge("process_resident_memory_bytes", "Resident memory size in bytes.", rss)
        boot = _boot_time()
        if boot is not None:
            started = boot + float(fields[19]) / os.sysconf("SC_CLK_TCK")
            lines += [
                "# HELP process_start_time_seconds Start time of the process since unix epoch "
                "in seconds.",
                "# TYPE process_start_time_seconds gauge",
                f"process_start_time_seconds {started:.3f}",
            ]
    except (ValueError, OSError):
        return lines
    return lines


def _fds() -> list[str]:
    lines: list[str] = []
    with contextlib.suppress(OSError):
        open_fds = len(os.listdir(f"{_PROC}/fd"))
        lines += _gauge("process_open_fds", "Number of open file descriptors.", open_fds)
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):  # pragma: no cover - Windows
        return lines
    if soft > 0:
        lines += _gauge("process_max_fds", "Maximum number of open file descriptors.", soft)
    return lines


def process_lines() -> list[str]:
    """The process metrics families, in the Prometheus text format (read when called)."""
    times = os.times()
    py = platform.python_version_tuple()
    impl = platform.python_implementation()
    return [
        *_gauge(
            "process_cpu_seconds_total",
            "Total user and system CPU time spent in seconds.",
            times.user + times.system,
            "counter",
        ),
        *_memory_and_start(),
        *_fds(),
        "# HELP python_info Python platform information.",
        "# TYPE python_info gauge",
        f'python_info{{implementation="{impl}",major="{py[0]}",minor="{py[1]}",'
        f'patchlevel="{py[2]}",version="{platform.python_version()}"}} 1',
    ]
