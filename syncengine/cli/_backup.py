"""Journal backups and archive checks for ``syncengine journal backup`` and
``syncengine journal archive verify`` (no click here).

A backup is taken with SQLite's online backup API in one step, so it is one consistent
snapshot even while the engine writes (a reader in WAL mode never blocks the writer). It is
written to ``DEST.tmp``, fsynced, checked (``PRAGMA integrity_check``, the hash chain and the
projection, by opening the copy as a journal), and only then renamed to ``DEST``: a ``DEST``
that exists is always a verified copy.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from journal import ArchiveError, Journal, file_sha256, fsync_dir, query, read_archive
from syncengine.cli._runtime import EXIT_FAILED, EXIT_JOURNAL, CliError


@dataclass(frozen=True)
class BackupResult:
    """A verified backup: where, how big, how many events, its SHA-256."""

    path: Path
    size: int
    events: int
    sha256: str


@dataclass(frozen=True)
class ArchiveCheck:
    """An archive file read end to end: events and submissions in it; ``recorded`` is True when
    the journal's Archived event names it and its SHA-256 matches (None: journal not asked)."""

    path: Path
    events: int
    submissions: int
    recorded: bool | None


@contextlib.contextmanager
def _connect(path: Path, *, read_only: bool) -> Iterator[sqlite3.Connection]:
    uri = path.resolve().as_uri() + ("?mode=ro" if read_only else "")
    conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        yield conn
    finally:
        conn.close()


def backup_journal(source: Path, dest: Path, *, overwrite: bool = False) -> BackupResult:
    """Copy the journal at ``source`` to ``dest`` consistently, verify the copy, then publish it.

    Raises :class:`CliError` (exit 4) when there is no journal, (exit 1) when ``dest`` exists
    and ``overwrite`` is false or the copy fails verification (the bad copy is removed).
    """
    if not source.exists():
        raise CliError(f"no journal at {source}", EXIT_JOURNAL)
    if dest.exists() and not overwrite:
        raise CliError(f"{dest} exists; choose another name or pass --overwrite", EXIT_FAILED)
    if dest.resolve() == source.resolve():
        raise CliError("the backup must not be the journal itself", EXIT_FAILED)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    _remove_db(tmp)
    try:
        with _connect(source, read_only=True) as src, _connect(tmp, read_only=False) as dst:
            src.backup(dst, pages=-1)  # one step: one snapshot, never restarted by writers
            dst.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        events = _verify_copy(tmp)
        size, sha = tmp.stat().st_size, file_sha256(tmp)[0]
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
    except BaseException:
        _remove_db(tmp)
        raise
    return BackupResult(dest, size, events, sha)


def _verify_copy(path: Path) -> int:
    with _connect(path, read_only=True) as conn:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise CliError(f"the copy failed SQLite's integrity check: {problems[:3]}", EXIT_FAILED)
    with Journal(path) as copy:
        chain = copy.verify()
        if not chain.ok:
            raise CliError(
                f"the copy's hash chain is broken at event {chain.first_bad_seq}: {chain.reason}"
                " (is the journal itself damaged? run 'syncengine journal verify')",
                EXIT_FAILED,
            )
        projection = copy.check()
        if not projection.ok:
            raise CliError("the copy's queue view disagrees with its events", EXIT_FAILED)
        return chain.checked


def _remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            Path(str(path) + suffix).unlink()


def verify_archive(path: Path, journal_path: Path | None = None) -> ArchiveCheck:
    """Read the archive at ``path`` end to end, checking every event's hash and the trailer.

    With ``journal_path`` (an existing journal) the file's SHA-256 is also compared with the one
    the journal's Archived event recorded for that file name. Raises :class:`CliError` (exit 1)
    naming the first problem.
    """
    if not path.is_file():
        raise CliError(f"no archive file at {path}", EXIT_FAILED)
    recorded_sha: str | None = None
    if journal_path is not None and journal_path.exists():
        sql = (
            "SELECT json_extract(data, '$.sha256') AS sha FROM events "
            "WHERE key = '' AND type = 'Archived' AND json_extract(data, '$.file') = ?"
        )
        rows = list(query(journal_path, sql, [path.name]))
        recorded_sha = str(rows[-1]["sha"]) if rows else None
    keys: set[str] = set()
    events = 0
    try:
        for record in read_archive(path, expected_sha256=recorded_sha, payloads=False):
            events += 1
            keys.add(str(record.get("key")))
    except ArchiveError as exc:
        raise CliError(f"archive {path} is damaged: {exc}", EXIT_FAILED) from None
    except (OSError, EOFError, ValueError) as exc:
        raise CliError(f"archive {path} cannot be read: {exc}", EXIT_FAILED) from None
    recorded = None if journal_path is None or not journal_path.exists() else bool(recorded_sha)
    return ArchiveCheck(path, events, len(keys), recorded)
