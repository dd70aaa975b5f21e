"""The one SQLite connection of a Journal and the seam where sqlite3 errors become ours.

One connection per :class:`~journal.Journal`, shared by the threads of a process under a lock
(``check_same_thread=False``). Writes run as ``BEGIN IMMEDIATE … COMMIT``; if other processes
hold the write lock past SQLite's own busy handler the whole transaction function is re-run with
backoff until ``busy_timeout_s`` is spent, then :class:`JournalBusyError` is raised. Every
sqlite3 error is translated in :func:`translate`, called only from this module.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from ._errors import CorruptJournalError, JournalBusyError, JournalError

T = TypeVar("T")

# Primary result codes (https://www.sqlite.org/rescode.html); sqlite3 names them only on 3.11+.
_BUSY = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED
_CORRUPT = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
_BUSY_WORDS = ("database is locked", "database table is locked", "database is busy")
_CORRUPT_WORDS = ("malformed", "not a database", "file is encrypted")


def _code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)  # Python >= 3.11
    return None if code is None else int(code) & 0xFF


def is_busy(exc: sqlite3.Error) -> bool:
    """True for SQLITE_BUSY / SQLITE_LOCKED, also on Python 3.10 (no error codes there)."""
    code = _code(exc)
    if code is not None:
        return code in _BUSY
    return any(w in str(exc).lower() for w in _BUSY_WORDS)


def translate(exc: sqlite3.Error, path: Path) -> JournalError:
    """The journal error for a sqlite3 error (the one translation seam)."""
    code = _code(exc)
    text = str(exc)
    if (code in _CORRUPT) or any(w in text.lower() for w in _CORRUPT_WORDS):
        return CorruptJournalError(path, f"SQLite reports: {text}")
    return JournalError(f"journal {str(path)!r}: SQLite error: {text}")


def create_private(path: Path) -> None:
    """Create an empty database file readable by its owner only (where the OS supports it).

    SQLite gives its ``-wal`` and ``-shm`` files the database file's permissions.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


class Store:
    """A locked connection with a write-transaction runner and a read runner."""

    def __init__(self, path: Path, *, synchronous: str, busy_timeout_s: float) -> None:
        self.path = path
        self.busy_timeout_s = busy_timeout_s
        self.synchronous = synchronous
        self.lock = threading.RLock()
        try:
            self.conn = sqlite3.connect(
                str(path), isolation_level=None, check_same_thread=False, timeout=busy_timeout_s
            )
        except sqlite3.Error as exc:
            raise translate(exc, path) from exc
        try:
            self._configure(synchronous)
        except JournalError:
            self.conn.close()
            raise

    def _configure(self, synchronous: str) -> None:
        def setup() -> None:
            self.conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            mode = self.conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise JournalError(f"journal {str(self.path)!r}: cannot enable WAL (got {mode})")
            self.conn.execute(f"PRAGMA synchronous = {synchronous}")
            # Bound the WAL left behind after a checkpoint; keep the page cache small (RSS).
            self.conn.execute("PRAGMA journal_size_limit = 67108864")
            self.conn.execute("PRAGMA cache_size = -8000")

        self._retry_busy(setup)

    def close(self) -> None:
        """Close the connection (SQLite checkpoints the WAL if this is the last one)."""
        with self.lock:
            self.conn.close()

    def _retry_busy(self, fn: Callable[[], T]) -> T:
        deadline = time.monotonic() + self.busy_timeout_s
        delay = 0.005
        while True:
            try:
                return fn()
            except sqlite3.Error as exc:
                if not is_busy(exc):
                    raise translate(exc, self.path) from exc
                if time.monotonic() >= deadline:
                    raise JournalBusyError(self.path, self.busy_timeout_s, str(exc)) from exc
            # Full jitter keeps competing processes from retrying in lock step.
            time.sleep(random.uniform(0, delay))
            delay = min(delay * 2, 0.5)

    def write(self, fn: Callable[[sqlite3.Connection], T], *, durable: bool = True) -> T:
        """Run ``fn`` in ``BEGIN IMMEDIATE … COMMIT``; re-run it whole if the lock stays busy.

        ``fn`` must read what it needs inside the transaction, so a re-run sees fresh state.
        Errors raised by ``fn`` roll the transaction back and propagate unchanged. With
        ``durable=False`` the commit is atomic but not fsynced (``synchronous=NORMAL`` for this
        transaction only): a power cut may lose it, never tear it, and the next durable commit
        makes it durable too (one fsync of the WAL covers every frame before it).
        """
        relaxed = not durable and self.synchronous.upper() != "NORMAL"

        def attempt() -> T:
            if relaxed:
                self.conn.execute("PRAGMA synchronous = NORMAL")
                try:
                    return transaction()
                finally:
                    self.conn.execute(f"PRAGMA synchronous = {self.synchronous}")
            return transaction()

        def transaction() -> T:
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return result

        with self.lock:
            return self._retry_busy(attempt)

    def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in one read transaction (a consistent snapshot) under the lock."""

        def attempt() -> T:
            conn = self.conn
            conn.execute("BEGIN")
            try:
                return fn(conn)
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

        with self.lock:
            return self._retry_busy(attempt)

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """The connection under the lock, sqlite3 errors translated; for one-statement reads."""
        with self.lock:
            try:
                yield self.conn
            except sqlite3.Error as exc:
                raise translate(exc, self.path) from exc
