"""File helpers shared by the journal and syncengine: a file's SHA-256, a directory's fsync,
a whole-file write that a reader never sees half done.

Both live here, in the lowest package that needs them, so that there is one of each: the
journal's archive, the folder watcher's ingest, ``syncengine submit`` and the credentials store
all call these.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

log = logging.getLogger("journal.files")

_CHUNK = 1 << 20

# fsync on a directory that the file system cannot sync: nothing more durable can be had there,
# so these are logged and tolerated. Every other error (EIO, ENOSPC, EACCES...) is raised.
_UNSUPPORTED = frozenset(
    code
    for code in (
        errno.EINVAL,
        getattr(errno, "ENOTSUP", None),
        getattr(errno, "EOPNOTSUPP", None),
    )
    if code is not None
)


def file_sha256(path: Path | str) -> tuple[str, int]:
    """The SHA-256 (hex) of the file at ``path`` and the number of bytes it was computed over.

    Read in 1 MiB chunks; the size is what was read, so it matches the digest even when the
    file grows meanwhile. ``OSError`` (``FileNotFoundError`` included) propagates.
    """
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def fsync_dir(directory: Path | str) -> bool:
    """Make the entries of ``directory`` (a rename, a new link, an unlink) durable.

    Returns True when the directory was synced. The error policy, the same for every caller:

    * Windows: nothing is done, returns False. A directory cannot be opened for ``fsync``
      there; NTFS journals its metadata, but a rename made just before a power cut may still
      be lost (``os.replace`` does not ask for write-through). Not run on Windows yet.
    * POSIX, the file system does not support syncing a directory (``EINVAL``, ``ENOTSUP``;
      some network and FUSE file systems): logged at DEBUG, returns False. Nothing more
      durable is possible there and refusing would stop the service on such a mount.
    * POSIX, any other error (``EIO``, ``EACCES``, a missing directory...): raised as
      ``OSError``. The rename may not survive a power cut, so the caller must not carry on as
      if it would (the ingest keeps the source file, the archive fails and is retried).
    """
    if sys.platform == "win32":
        return False
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError as exc:
        if exc.errno in _UNSUPPORTED:
            log.debug("cannot open directory %s to fsync it: %s", directory, exc)
            return False
        raise
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in _UNSUPPORTED:
            raise
        log.debug("file system of %s cannot fsync a directory: %s", directory, exc)
        return False
    finally:
        os.close(fd)
    return True


def write_atomic(
    path: Path | str, data: bytes, *, mode: int | None = None, tmp: Path | None = None
) -> None:
    """Replace the file at ``path`` by ``data`` so that a reader sees the old file or the new
    one, never half of one.

    ``data`` goes to a temporary beside ``path`` (``tmp``, or a unique name starting with
    ``path``'s), which is given ``mode`` when one is asked for (the service's ``UMask=0077``
    would make it private), fsynced, then renamed over ``path``. On Windows the rename fails
    while a reader has the target open; it is tried again for up to a second. On any failure
    the temporary is removed and the error raised; ``path`` is then as it was.
    """
    path = Path(path)
    if tmp is None:
        fd, name = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        tmp, handle = Path(name), os.fdopen(fd, "wb")
    else:
        handle = open(tmp, "wb")  # noqa: SIM115 -- closed below, before the rename
    try:
        with handle:
            handle.write(data)
            handle.flush()
            if mode is not None:
                os.chmod(tmp, mode)  # not fchmod: Windows has only os.chmod
            os.fsync(handle.fileno())
        replace_file(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def replace_file(src: Path | str, dst: Path | str) -> None:
    """``os.replace``, tried again for up to a second on Windows, where it fails while a reader
    has ``dst`` open (readers of status, textfile and credentials files are quick)."""
    for _ in range(20):
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            if sys.platform != "win32":
                raise
            time.sleep(0.05)
    os.replace(src, dst)
