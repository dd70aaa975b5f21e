"""One engine per journal: an exclusive, non-blocking lock on a file next to it.

POSIX uses ``fcntl.flock``; Windows uses ``msvcrt.locking`` on the first byte. The operating
system drops either lock when the process dies (even by SIGKILL), so a crash never leaves a stale
lock behind; the pid written into the file is only there to make the refusal message useful.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO

from ._errors import EngineLockedError


def _try_lock(handle: IO[str]) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _unlock(handle: IO[str]) -> None:
    if sys.platform == "win32":
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _read_holder(handle: IO[str]) -> str | None:
    try:
        # Byte 0 is the one Windows locks (and refuses to read); the pid starts after it.
        handle.seek(1)
        return handle.read().strip() or None
    except OSError:  # the pid is a courtesy for the message, never a reason to fail
        return None


class JournalLock:
    """Exclusive lock that makes one engine drain a journal at a time."""

    def __init__(self, path: Path, *, journal_path: Path | None = None) -> None:
        self.path = Path(path)
        self.journal_path = journal_path
        self._handle: IO[str] | None = None

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._handle is not None

    def acquire(self) -> None:
        """Take the lock or raise :class:`EngineLockedError` naming the holder's pid."""
        if self._handle is not None:
            raise RuntimeError(f"lock {self.path} is already held by this object")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # "a+" creates the file without truncating the holder's pid before we own the lock.
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - kept open while held
        if not _try_lock(handle):
            holder = _read_holder(handle)
            handle.close()
            what = f"journal {self.journal_path}" if self.journal_path else f"lock {self.path}"
            raise EngineLockedError(
                f"another engine (pid {holder or 'unknown'}) is already draining {what}; "
                f"only one engine may run per journal (lock file {self.path})",
                lock_path=str(self.path),
                holder=holder,
            )
        # Windows locks byte 0, so the pid goes after a padding byte that readers skip.
        handle.seek(0)
        handle.truncate()
        handle.write(f" {os.getpid()}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        """Release the lock (idempotent)."""
        handle, self._handle = self._handle, None
        if handle is None:
            return
        try:
            _unlock(handle)
        finally:
            handle.close()

    def __enter__(self) -> JournalLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
