"""Private files and folders: what civicml creates that can hold personal data, tokens or keys.

Registries, artifacts, decision logs, review queues, reference data and keys are readable by
their owner only — folders ``0700``, files ``0600`` — whatever the process umask is. Every
module that creates such a path goes through these helpers, so the rule lives in one place.

Examples
--------
>>> import os, stat, tempfile
>>> root = Path(tempfile.mkdtemp())
>>> d = private_dir(root / "registry" / "artifacts")
>>> oct(stat.S_IMODE(d.stat().st_mode)), oct(stat.S_IMODE((root / "registry").stat().st_mode))
('0o700', '0o700')
>>> f = write_private_bytes(d / "blob.bin", b"secret")
>>> oct(stat.S_IMODE(f.stat().st_mode)), f.read_bytes()
('0o600', b'secret')
>>> oct(stat.S_IMODE(make_private(f).stat().st_mode))
'0o600'

Folders that already exist (a project folder, a shared mount) keep their mode with
:func:`create_private_dir`; only the folders it creates are ``0700``:

>>> shared = root / "shared"; shared.mkdir(mode=0o755); os.chmod(shared, 0o755)
>>> made = create_private_dir(shared / "a" / "b")
>>> [oct(stat.S_IMODE(p.stat().st_mode)) for p in (shared, shared / "a", made)]
['0o755', '0o700', '0o700']
>>> db = create_private_file(made / "registry.db")
>>> oct(stat.S_IMODE(db.stat().st_mode)), db.stat().st_size
('0o600', 0)
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

__all__ = [
    "PRIVATE_DIR_MODE",
    "PRIVATE_FILE_MODE",
    "create_private_dir",
    "create_private_file",
    "make_private",
    "private_dir",
    "private_tree",
    "write_private_bytes",
    "write_private_text",
]

#: owner read, write and search only
PRIVATE_DIR_MODE = 0o700
#: owner read and write only
PRIVATE_FILE_MODE = 0o600


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` (and missing parents) as ``0700`` folders, and tighten ``path`` itself if
    it existed (its existing parents are left alone: they may be a home folder or ``/tmp``)."""
    target = create_private_dir(path)
    with contextlib.suppress(OSError):
        os.chmod(target, PRIVATE_DIR_MODE)
    return target


def create_private_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` and its missing parents as ``0700`` folders; existing folders are left
    as they are (a user's project folder or a shared mount may be meant for others)."""
    target = Path(path)
    missing: list[Path] = []
    probe = target
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    if not missing:
        return target
    target.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    for made in reversed(missing):
        with contextlib.suppress(OSError):
            os.chmod(made, PRIVATE_DIR_MODE)
    return target


def create_private_file(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` as an empty ``0600`` file (missing folders ``0700``) unless it exists.

    An existing file keeps its mode and content. Use it before another library opens the file
    with the process umask: SQLite, for one, gives its ``-wal`` and ``-shm`` files the mode of
    the database file.
    """
    target = Path(path)
    create_private_dir(target.parent)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return target
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    finally:
        os.close(fd)
    return target


def make_private(path: str | os.PathLike[str]) -> Path:
    """Set an existing file to ``0600`` (a folder to ``0700``); return its path."""
    target = Path(path)
    mode = PRIVATE_DIR_MODE if target.is_dir() else PRIVATE_FILE_MODE
    with contextlib.suppress(OSError):
        os.chmod(target, mode)
    return target


def private_tree(path: str | os.PathLike[str]) -> Path:
    """Make a folder and everything under it private (folders ``0700``, files ``0600``)."""
    root = Path(path)
    make_private(root)
    if root.is_dir():
        for child in root.rglob("*"):
            if not child.is_symlink():
                make_private(child)
    return root


def write_private_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically as a ``0600`` file (never briefly world-readable)."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return target


def write_private_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` as a ``0600`` file."""
    return write_private_bytes(path, text.encode("utf-8"))
