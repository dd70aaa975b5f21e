"""``verify()``: walk the hash chain from the first live event to the chain head.

Each event must (1) have ``digest == sha256(data)``, (2) have ``hash`` equal to the chain hash of
its header over ``prev_hash``, (3) for Submitted, have a report body in ``payloads`` whose
sha256 is the ``payload_sha256`` in its data, and (4) link to its predecessor: ``prev_hash`` is
the previous event's ``hash``, or, across a gap left by archiving, the anchor hash that the
Archived event recorded for the last removed event. A gap no Archived event declares is a
deletion. The last event must be the one the ``chain_head`` row names, else the tail was
truncated.

The walk uses its own read-only connection and snapshot, so writers are not held up.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from ._codec import GENESIS_HASH, chain_hash, sha256_text
from ._models import VerifyResult
from ._schema import EVENT_SELECT, JOURNAL_KEY, SELECT_HEAD
from ._store import Store, translate


class _Removed:
    """The union of seq ranges removed by archiving, with their anchor hashes."""

    def __init__(self, archived_data: Iterable[str]) -> None:
        ranges: list[tuple[int, int]] = []
        self.anchors: dict[int, str] = {}
        for text in archived_data:
            data = json.loads(text)
            ranges += [(int(lo), int(hi)) for lo, hi in data.get("removed", [])]
            self.anchors.update({int(k): str(v) for k, v in data.get("anchors", {}).items()})
        merged: list[list[int]] = []
        for lo, hi in sorted(ranges):
            if merged and lo <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        self._los = [lo for lo, _ in merged]
        self._ranges = merged

    def covers(self, lo: int, hi: int) -> bool:
        """True if every seq in ``lo..hi`` was declared removed."""
        i = bisect.bisect_right(self._los, lo) - 1
        return i >= 0 and self._ranges[i][0] <= lo and hi <= self._ranges[i][1]


def _payload_ok(data: str, body: bytes | None, ref: str | None) -> bool:
    if body is None:
        return False
    try:
        expected = json.loads(data).get("payload_sha256")
    except ValueError:
        return False
    return bool(hashlib.sha256(body).hexdigest() == expected == ref)


def _bad(checked: int, seq: int | None, key: str | None, reason: str) -> VerifyResult:
    return VerifyResult(False, checked, seq, key or None, reason)


def _walk(conn: sqlite3.Connection) -> VerifyResult:
    problems = [r[0] for r in conn.execute("PRAGMA integrity_check(5)").fetchall()]
    if problems != ["ok"]:
        return _bad(0, None, None, "SQLite integrity_check: " + "; ".join(problems))
    removed = _Removed(
        r[0]
        for r in conn.execute(
            "SELECT data FROM events WHERE key = ? AND type = 'Archived'", (JOURNAL_KEY,)
        )
    )
    last_seq, last_hash, checked = 0, GENESIS_HASH, 0
    links: list[tuple[int, str, str]] = []
    # Bodies as bytes: a rotted byte that is not UTF-8 must be reported as this event's damage,
    # not stop the walk with a decode error.
    select = EVENT_SELECT.replace("p.body", "CAST(p.body AS BLOB)", 1)
    cursor = conn.execute(f"{select} ORDER BY e.seq")
    while rows := cursor.fetchmany(1000):
        for (
            seq,
            event_id,
            key,
            type_,
            ts,
            ts_iso,
            data,
            digest,
            prev_hash,
            hash_,
            body,
            ref,
        ) in rows:
            if seq != last_seq + 1:
                if not removed.covers(last_seq + 1, seq - 1):
                    return _bad(
                        checked,
                        last_seq + 1,
                        None,
                        f"events {last_seq + 1}..{seq - 1} are missing and were not archived",
                    )
                expected_prev = removed.anchors.get(seq - 1)
            else:
                expected_prev = last_hash
            if prev_hash != expected_prev:
                return _bad(
                    checked, seq, key, f"prev_hash does not link to the event before seq {seq}"
                )
            if sha256_text(data) != digest:
                return _bad(checked, seq, key, "data does not match its digest (edited or rotten)")
            if chain_hash(prev_hash, seq, event_id, key, type_, ts, ts_iso, digest) != hash_:
                return _bad(checked, seq, key, "event header does not match its hash")
            if type_ == "Submitted" and not _payload_ok(data, body, ref):
                return _bad(checked, seq, key, "report payload missing or not matching its sha256")
            if type_ != "Submitted" and ref is not None:
                return _bad(checked, seq, key, "ref set on an event that is not Submitted")
            if type_ == "Superseded":
                links.append((seq, key, data))
            last_seq, last_hash = seq, hash_
            checked += 1
    head = conn.execute(SELECT_HEAD).fetchone()
    if head is None:
        return _bad(checked, None, None, "the chain_head row is missing")
    if head[0] > last_seq:
        return _bad(
            checked,
            last_seq + 1,
            None,
            f"the chain head says seq {head[0]} but events end at {last_seq} (truncated)",
        )
    if (head[0], head[1]) != (last_seq, last_hash):
        return _bad(checked, head[0], None, "the chain head does not match the last event")
    broken = _broken_link(conn, links)
    if broken is not None:
        return _bad(checked, broken[0], broken[1], broken[2])
    return VerifyResult(True, checked, head_seq=last_seq, head_hash=last_hash)


def _broken_link(
    conn: sqlite3.Connection, links: list[tuple[int, str, str]]
) -> tuple[int, str, str] | None:
    """The first Superseded event whose corrected submission is not in the journal."""
    for seq, key, data in links:
        by = json.loads(data).get("by")
        found = conn.execute(
            "SELECT 1 FROM events WHERE key = ? AND type = 'Submitted' "
            "UNION ALL SELECT 1 FROM archived WHERE key = ? LIMIT 1",
            (by, by),
        ).fetchone()
        if found is None:
            return seq, key, f"superseded by {by!r}, which the journal does not hold"
    return None


def _readonly(path: Path) -> sqlite3.Connection:
    uri = path.resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


def verify(store: Store) -> VerifyResult:
    """Walk the chain in one read snapshot of a separate connection."""
    try:
        conn = _readonly(store.path)
    except sqlite3.Error as exc:
        raise translate(exc, store.path) from exc
    try:
        conn.execute("BEGIN")
        try:
            return _walk(conn)
        except sqlite3.DatabaseError as exc:
            # Damage SQLite trips over mid-walk is a finding, not a crash.
            return _bad(0, None, None, f"SQLite could not read the journal: {exc}")
    finally:
        conn.close()
