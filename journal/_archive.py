"""Retention: move old acknowledged submissions to a compressed, self-verifying file.

File format (gzip of UTF-8 JSON lines)::

    {"format": "wats-sync-journal-archive", "v": 1, "journal_id": ..., "created_at": ...}
    {"seq": ..., "event_id": ..., "key": ..., "type": ..., "ts": ..., "ts_iso": ...,
     "data": {...}, "digest": ..., "prev_hash": ..., "hash": ...}          one per event, by seq
    {"trailer": true, "events": N, "lines_sha256": ...}

Each event verifies on its own (digest and chain hash) and against its predecessor in the file
when their seqs are consecutive; the trailer's count and running sha256 over the event lines
catch a truncated or reordered file. In the live journal an ``Archived`` event (key ``""``)
records the file name, its sha256, the removed seq ranges and, per range, the anchor hash that
lets ``verify()`` link the surviving events across the gap. See docs/journal.md, "Archive".
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ._append import Appender, index_reports
from ._codec import canonical, chain_hash, iso_utc, matches_digest
from ._errors import ArchiveError
from ._files import file_sha256
from ._files import fsync_dir as _fsync_dir  # a module name tests patch
from ._models import ArchiveResult, event_from_row
from ._schema import EVENT_SELECT, JOURNAL_KEY
from ._store import Store

FORMAT = "wats-sync-journal-archive"


def _file_sha256(path: Path) -> str:
    return file_sha256(path)[0]


def _write_events(
    conn: sqlite3.Connection, tmp: Path, journal_id: str, now: float
) -> dict[str, Any]:
    """Stream the selected events to ``tmp``; return what the Archived event must record."""
    lines = hashlib.sha256()
    ranges: list[list[int]] = []
    anchors: dict[str, str] = {}
    count, last_ack = 0, None
    header = {"format": FORMAT, "v": 1, "journal_id": journal_id, "created_at": iso_utc(now)}
    with open(tmp, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            gz.write((canonical(header) + "\n").encode())
            cursor = conn.execute(
                f"{EVENT_SELECT} WHERE e.key IN (SELECT key FROM temp.archive_keys) ORDER BY e.seq"
            )
            while rows := cursor.fetchmany(500):
                for row in rows:
                    seq, type_, ts, hash_ = row[0], row[3], row[4], row[9]
                    record = event_from_row(row).as_dict()
                    line = (canonical(record) + "\n").encode()
                    lines.update(line)
                    gz.write(line)
                    if ranges and ranges[-1][1] == seq - 1:
                        ranges[-1][1] = seq
                    else:
                        ranges.append([seq, seq])
                    anchors_key = str(seq)
                    anchors.pop(str(seq - 1), None)
                    anchors[anchors_key] = hash_
                    if type_ == "Acknowledged":
                        last_ack = ts if last_ack is None else max(last_ack, ts)
                    count += 1
            trailer = {"trailer": True, "events": count, "lines_sha256": lines.hexdigest()}
            gz.write((canonical(trailer) + "\n").encode())
        raw.flush()
        os.fsync(raw.fileno())
    return {"events": count, "removed": ranges, "anchors": anchors, "last_ack_at": last_ack}


def _recorded_archives(conn: sqlite3.Connection, names: set[str]) -> dict[str, str]:
    """File name -> sha256 of those of ``names`` that an Archived event of the journal records.

    A damaged Archived event is skipped here (``verify()`` is what reports it).
    """
    try:
        rows = conn.execute(
            "SELECT json_extract(data, '$.file'), json_extract(data, '$.sha256') FROM events "
            "WHERE key = ? AND type = 'Archived'",
            (JOURNAL_KEY,),
        ).fetchall()
    except sqlite3.Error:
        return {}
    return {str(f): str(h) for f, h in rows if f in names and isinstance(h, str)}


def _finish_renames(conn: sqlite3.Connection, directory: Path) -> None:
    """Rename committed archives that a crash left under their ``.tmp`` name into place.

    The journal commits before the rename (see ``archive``), so a kill between the two leaves
    the whole archive, fsynced, in ``<file>.tmp``; the recorded sha256 proves it is that file.
    Only looks at the journal when the directory holds a ``.tmp`` at all.
    """
    try:
        pending = {p.name[: -len(".tmp")] for p in directory.glob("*.tmp") if p.is_file()}
    except OSError:
        return
    if not pending:
        return
    renamed = False
    for name, sha in _recorded_archives(conn, pending).items():
        final, tmp = directory / name, directory / (name + ".tmp")
        if final.exists() or not tmp.exists() or _file_sha256(tmp) != sha:
            continue
        try:
            os.replace(tmp, final)
        except FileNotFoundError:  # a concurrent archive call renamed it first
            continue
        renamed = True
    if renamed:
        _fsync_dir(directory)


def _recorded_in(store: Store, tmp: Path, name: str) -> bool:
    """True if the journal records ``name`` with the sha256 of ``tmp`` (True when unsure)."""
    try:
        recorded = store.read(lambda c: _recorded_archives(c, {name}))
        return name in recorded and tmp.exists() and _file_sha256(tmp) == recorded[name]
    except Exception:  # cannot tell: keeping a stray file is harmless, deleting an archive not
        return True


def _put_in_place(tmp: Path, dest: Path) -> None:
    try:
        os.replace(tmp, dest)
    except FileNotFoundError:
        if not dest.exists():
            raise
        return  # a concurrent archive call finished this rename (``_finish_renames``)
    _fsync_dir(dest.parent)


def archive(
    store: Store, now: float, older_than_s: float, dest: Path, max_submissions: int
) -> ArchiveResult:
    """Archive acked submissions not updated for ``older_than_s`` seconds (one transaction).

    At most ``max_submissions`` (oldest first) per call, so the write lock is held briefly.

    Crash safety: the events are written and fsynced to ``<dest>.tmp``, the journal commits
    the Archived event and the deletions, and only then is the file renamed to ``dest``. So a
    file under its final name always belongs to a committed archive (a kill before the commit
    leaves only a ``.tmp`` that no Archived event names, and the submissions stay live); a kill
    between commit and rename leaves the committed archive in ``<dest>.tmp``, which
    ``read_archive(dest, expected_sha256=...)`` reads and the next ``archive`` call into the
    same directory renames into place.
    """
    if older_than_s < 0:
        raise ValueError(f"older_than_s must be >= 0, got {older_than_s!r}")
    if max_submissions < 1:
        raise ValueError(f"max_submissions must be >= 1, got {max_submissions!r}")
    if dest.is_dir():
        stamp = iso_utc(now).replace(":", "").replace("-", "")[:15]
        dest = dest / f"journal-archive-{stamp}-{uuid.uuid4().hex[:8]}.jsonl.gz"
    tmp = dest.with_name(dest.name + ".tmp")
    wrote = False  # set once this call starts writing its .tmp: only then is the .tmp its own

    def run(conn: sqlite3.Connection) -> ArchiveResult:
        nonlocal wrote
        # Under the write lock, so no other archive call is between its commit and rename
        # of a file it could be about to overwrite here.
        _finish_renames(conn, dest.parent)
        if dest.exists():
            raise ValueError(f"archive destination {str(dest)!r} already exists")
        conn.execute("DROP TABLE IF EXISTS temp.archive_keys")
        conn.execute(
            "CREATE TEMP TABLE archive_keys (key TEXT PRIMARY KEY, sha TEXT, first_seq INTEGER)"
        )
        conn.execute(
            "INSERT INTO temp.archive_keys SELECT key, payload_sha256, first_seq FROM submissions "
            "WHERE state = 'acked' AND updated_at < ? ORDER BY updated_at LIMIT ?",
            (now - older_than_s, max_submissions),
        )
        keys = conn.execute("SELECT key, sha FROM temp.archive_keys ORDER BY first_seq").fetchall()
        if not keys:
            conn.execute("DROP TABLE temp.archive_keys")
            return ArchiveResult(None, 0, 0, None, None)
        journal_id = conn.execute("SELECT value FROM meta WHERE name = 'journal_id'").fetchone()[0]
        # The report index keeps the rows of archived reports (a small row each: serial, part
        # number, report id, file), so find and inspect still name them; their bodies leave
        # with this transaction, so every report is indexed first.
        index_reports(conn)
        wrote = True
        info = _write_events(conn, tmp, journal_id, now)
        # The .tmp's directory entry must be durable before the journal forgets the events: a
        # power cut after the commit must find the file (its contents were fsynced above).
        _fsync_dir(tmp.parent)
        digest = _file_sha256(tmp)
        app = Appender(conn, now)
        data = {
            "v": 1,
            "file": dest.name,
            "sha256": digest,
            "submissions": len(keys),
            "keys": [[k, s] for k, s in keys],
            **info,
        }
        seq, _ = app.append(JOURNAL_KEY, "Archived", canonical(data, what="Archived data"))
        conn.execute(
            "INSERT INTO archived (key, payload_sha256, archive_seq) "
            "SELECT key, sha, ? FROM temp.archive_keys",
            (seq,),
        )
        conn.execute(
            "DELETE FROM payloads WHERE seq IN (SELECT seq FROM events "
            "WHERE key IN (SELECT key FROM temp.archive_keys) AND type = 'Submitted')"
        )
        conn.execute("DELETE FROM events WHERE key IN (SELECT key FROM temp.archive_keys)")
        conn.execute("DELETE FROM submissions WHERE key IN (SELECT key FROM temp.archive_keys)")
        conn.execute("DROP TABLE temp.archive_keys")
        app.deltas["acked"] -= len(keys)
        app.deltas["archived"] += len(keys)
        app.finish()
        return ArchiveResult(dest, len(keys), int(info["events"]), digest, seq)

    committed = False
    try:
        result = store.write(run)
        committed = result.path is not None
    finally:
        # Rolled back after writing: the .tmp is nobody's archive. Never delete a .tmp this call
        # did not write (another call's, maybe committed and about to be renamed), nor one the
        # journal records after all (an interrupt between COMMIT and this line).
        if wrote and not committed and not _recorded_in(store, tmp, dest.name):
            tmp.unlink(missing_ok=True)
    if committed:
        _put_in_place(tmp, dest)
    return result


def _check_event(path: Path, record: dict[str, Any], prev: dict[str, Any] | None) -> None:
    try:
        data = dict(record["data"])
        payload = data.pop("payload", None) if record["type"] == "Submitted" else None
        seq = record["seq"]
        expect = chain_hash(
            record["prev_hash"],
            seq,
            record["event_id"],
            record["key"],
            record["type"],
            record["ts"],
            record["ts_iso"],
            record["digest"],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ArchiveError(path, f"malformed event line: {exc}") from None
    # Parsed values are re-canonicalised: text written in canonical form 1 or 2 both match.
    try:
        data_ok = matches_digest(data, record["digest"])
        payload_ok = record["type"] != "Submitted" or matches_digest(
            payload, data.get("payload_sha256", "")
        )
    except (TypeError, ValueError) as exc:
        raise ArchiveError(path, f"malformed event line: {exc}") from None
    if not data_ok:
        raise ArchiveError(path, f"event seq {seq} data does not match its digest")
    if not payload_ok:
        raise ArchiveError(path, f"event seq {seq} payload does not match its digest")
    if expect != record["hash"]:
        raise ArchiveError(path, f"event seq {seq} does not match its hash")
    if prev is not None and prev["seq"] + 1 == seq and prev["hash"] != record["prev_hash"]:
        raise ArchiveError(path, f"event seq {seq} does not link to seq {seq - 1}")
    if prev is not None and prev["seq"] >= seq:
        raise ArchiveError(path, f"event seq {seq} out of order")


def read_archive(
    path: str | Path, *, expected_sha256: str | None = None, payloads: bool = True
) -> Iterator[dict[str, Any]]:
    """Stream the events of an archive file as dicts (like ``dump``), verifying as it goes.

    Raises :class:`ArchiveError` at the first event that fails, on a missing or wrong trailer,
    or when ``expected_sha256`` (from the Archived event) does not match the file.
    """
    path = Path(path)
    if expected_sha256 is not None and not path.exists():
        # Committed but killed before the rename: the recorded sha256 vouches for the .tmp.
        pending = path.with_name(path.name + ".tmp")
        if pending.exists():
            path = pending
    if expected_sha256 is not None:
        try:
            actual = _file_sha256(path)
        except FileNotFoundError:
            if path.suffix != ".tmp":
                raise
            path = path.with_name(path.name[: -len(".tmp")])  # renamed into place meanwhile
            actual = _file_sha256(path)
        if actual != expected_sha256:
            raise ArchiveError(path, "file sha256 differs from the one the journal recorded")
    lines = hashlib.sha256()
    prev: dict[str, Any] | None = None
    count = 0
    try:
        with gzip.open(path, "rb") as gz:
            header = json.loads(gz.readline() or b"null")
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise ArchiveError(path, "not a wats-sync journal archive (bad header)")
            for line in gz:
                record = json.loads(line)
                if record.get("trailer") is True:
                    if (
                        record.get("events") != count
                        or record.get("lines_sha256") != lines.hexdigest()
                    ):
                        raise ArchiveError(path, "trailer does not match the events read")
                    if gz.read(1):
                        raise ArchiveError(path, "data after the trailer")
                    return
                lines.update(line)
                _check_event(path, record, prev)
                prev, count = record, count + 1
                if not payloads and "payload" in record["data"]:
                    record = {
                        **record,
                        "data": {k: v for k, v in record["data"].items() if k != "payload"},
                    }
                yield record
    except (OSError, EOFError, json.JSONDecodeError, AttributeError) as exc:
        raise ArchiveError(path, f"unreadable: {exc}") from None
    raise ArchiveError(path, f"truncated: no trailer after {count} events")
