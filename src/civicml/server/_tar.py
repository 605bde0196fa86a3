"""Bundles over HTTP as uncompressed POSIX tar: stream an upload to disk with a size limit,
unpack it refusing every unsafe member, and pack a verified bundle for download.

Only regular files and folders are unpacked, each by name under the target folder: an
absolute path, a ``..`` part, a link, a device or FIFO, a sparse file or a name given twice is
refused with one line that names the member (nothing is written through the tar module's own
extraction, so no member can reach outside the folder).

Examples
--------
>>> import io, tarfile, tempfile, pathlib
>>> buf = io.BytesIO()
>>> with tarfile.open(fileobj=buf, mode="w") as tar:
...     info = tarfile.TarInfo("../evil"); info.size = 1
...     tar.addfile(info, io.BytesIO(b"x"))
>>> _ = buf.seek(0)
>>> unpack_tar(buf, pathlib.Path(tempfile.mkdtemp()))
Traceback (most recent call last):
...
civicml.asgi._errors.HTTPError: The bundle tar is not safe to unpack: member '../evil' has a '..' part. Send the bundle folder as a plain tar of regular files (civicml's client does this).
"""

from __future__ import annotations

import os
import shutil
import tarfile
from collections.abc import Awaitable, Callable
from pathlib import Path, PurePosixPath
from typing import IO, Any

from civicml._files import create_private_dir
from civicml.asgi import HTTPError
from civicml.server._problems import invalid

__all__ = ["MAX_MEMBERS", "bundle_root", "pack_folder", "receive_to_file", "unpack_tar"]

#: the most members a bundle tar may hold
MAX_MEMBERS = 10_000
_CHUNK = 1024 * 1024
_FIX = "Send the bundle folder as a plain tar of regular files (civicml's client does this)"


async def receive_to_file(
    receive: Callable[[], Awaitable[dict[str, Any]]], out: IO[bytes], limit: int
) -> int:
    """Write the request body to ``out`` as it arrives; 413 past ``limit`` bytes."""
    size = 0
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            raise HTTPError(
                400, "disconnected", "The client disconnected before sending the whole body."
            )
        chunk = msg.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise HTTPError(
                413,
                "too_large",
                f"The upload is over the server's limit of {limit} bytes. Ask the server's "
                "operator to raise --max-upload-mb, or make the bundle smaller.",
            )
        if chunk:
            out.write(chunk)
        if not msg.get("more_body", False):
            return size


def _unsafe(member: str, why: str) -> HTTPError:
    return invalid(f"The bundle tar is not safe to unpack: member {member!r} {why}. {_FIX}.")


def _member_path(info: tarfile.TarInfo) -> PurePosixPath | None:
    """The member's checked relative path (``None`` for the top folder ``.``)."""
    name = info.name
    if not name or "\x00" in name:
        raise _unsafe(name, "has an empty or invalid name")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise _unsafe(name, "has an absolute path")
    if "\\" in name:
        raise _unsafe(name, "has a backslash in its name")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise _unsafe(name, "has a '..' part")
    if not parts:
        if info.isdir():
            return None
        raise _unsafe(name, "has no name")
    if info.issym() or info.islnk():
        raise _unsafe(name, f"is a link (to {info.linkname!r})")
    if info.issparse():
        raise _unsafe(name, "is a sparse file")
    if not (info.isreg() or info.isdir()):
        raise _unsafe(name, "is not a regular file or folder (a device, FIFO or other)")
    return PurePosixPath(*parts)


def _open(fileobj: IO[bytes]) -> tarfile.TarFile:
    try:
        return tarfile.open(fileobj=fileobj, mode="r:")
    except tarfile.TarError as exc:
        raise invalid(
            f"The upload is not an uncompressed tar archive ({exc}). Send the bundle folder as "
            "an uncompressed POSIX tar with Content-Type application/x-tar."
        ) from None


def unpack_tar(fileobj: IO[bytes], dest: Path) -> None:
    """Unpack a bundle tar into the empty folder ``dest``, refusing every unsafe member."""
    seen: set[PurePosixPath] = set()
    with _open(fileobj) as tar:
        try:
            for count, info in enumerate(tar, start=1):
                if count > MAX_MEMBERS:
                    raise invalid(f"The bundle tar has more than {MAX_MEMBERS} members. {_FIX}.")
                rel = _member_path(info)
                if rel is None:
                    continue
                if rel in seen:
                    raise _unsafe(info.name, "appears twice (a duplicate name)")
                seen.add(rel)
                _write_member(tar, info, dest, rel)
        except tarfile.TarError as exc:
            raise invalid(f"The bundle tar is damaged ({exc}). {_FIX}.") from None


def _write_member(tar: tarfile.TarFile, info: tarfile.TarInfo, dest: Path, rel: Any) -> None:
    target = dest.joinpath(*rel.parts)
    for parent in reversed(target.parents):
        if parent != dest and dest in parent.parents and parent.is_file():
            raise _unsafe(info.name, f"is inside {parent.relative_to(dest)}, which is a file")
    if info.isdir():
        if target.is_file():
            raise _unsafe(info.name, "is a folder with the name of a file")
        create_private_dir(target)
        return
    create_private_dir(target.parent)
    if target.exists():
        raise _unsafe(info.name, "is a file with the name of a folder")
    source = tar.extractfile(info)
    if source is None:  # pragma: no cover - regular files always have content
        raise _unsafe(info.name, "has no content")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with source, os.fdopen(fd, "wb") as out:
        os.fchmod(out.fileno(), 0o600)  # a bundle holds reference data: owner only, any umask
        shutil.copyfileobj(source, out, _CHUNK)


def bundle_root(folder: Path, manifest: str) -> Path:
    """The bundle inside an unpacked tar: ``folder`` itself when ``manifest`` is at its top,
    else its one sub-folder holding it; 422 otherwise."""
    if (folder / manifest).is_file():
        return folder
    entries = list(folder.iterdir())
    if len(entries) == 1 and entries[0].is_dir() and (entries[0] / manifest).is_file():
        return entries[0]
    raise invalid(
        f"The tar holds no bundle: there is no {manifest} at its top or in its one folder. "
        "Send a civicml bundle folder (made by 'civicml run' or 'civicml train')."
    )


def pack_folder(folder: Path, out: IO[bytes]) -> None:
    """Write every regular file under ``folder`` to ``out`` as an uncompressed POSIX tar
    (paths relative to the folder, in sorted order, owner and times zeroed)."""
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
            rel = path.relative_to(folder).as_posix()
            info = tarfile.TarInfo(rel)
            info.size = path.stat().st_size
            info.mode = 0o600
            with path.open("rb") as fh:
                tar.addfile(info, fh)
