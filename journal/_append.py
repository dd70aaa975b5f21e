"""Appending inside one write transaction: the chain, the projection row, the counters.

An :class:`Appender` lives for one ``BEGIN IMMEDIATE`` transaction. It reads the chain's tail
inside that transaction (other processes may have appended since our last write), links each new
event to it, updates the submission row in the same transaction, and on :meth:`finish` writes
the chain head and the per-state counters once for the whole batch (group commit).
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections import Counter
from typing import Any

from . import _schema as S
from ._codec import (
    CANONICAL_FORM,
    GENESIS_HASH,
    canonical,
    canonical_v1,
    chain_hash,
    iso_utc,
    sha256_text,
)
from ._errors import InvalidTransitionError, SubmissionConflictError, UnknownSubmissionError
from ._projector import (
    ATTEMPTS,
    STATE,
    TRANSITIONS,
    apply,
    build_data,
    new_row,
)

_TAIL = "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1"


def _same_in_form_1(payload: Any, digest: str) -> bool:
    """True if ``payload`` written in canonical form 1 (older journals) hashes to ``digest``."""
    if payload is None:
        return False
    try:
        return sha256_text(canonical_v1(payload)) == digest
    except (TypeError, ValueError):
        return False


ENGINE_INDEX_BATCH = 2000
"""Reports indexed at most per catch-up transaction (~9 µs each: the write lock stays < 20 ms)."""


def index_reports(conn: sqlite3.Connection, limit: int = -1) -> int:
    """Bring the report index up to the tail (at most ``limit`` reports); return how many.

    ``submit`` does not write the index (see ``_schema.CATCH_UP_REPORT_INDEX``); the caller
    holds a write transaction.
    """
    return int(conn.execute(S.CATCH_UP_REPORT_INDEX, (limit,)).rowcount)


class Appender:
    """Appends events and keeps the projection in step, within the caller's transaction."""

    def __init__(self, conn: sqlite3.Connection, now: float | None = None) -> None:
        self.conn = conn
        tail = conn.execute(_TAIL).fetchone()
        self.seq, self.hash = (int(tail[0]), str(tail[1])) if tail else (0, GENESIS_HASH)
        self.now = time.time() if now is None else now
        self.deltas: Counter[str] = Counter()
        self.last_ack: float | None = None
        self.appended = 0

    def append(
        self, key: str, type_: str, data_text: str, ref: str | None = None
    ) -> tuple[int, float]:
        """Insert one event linked to the current tail; return ``(seq, ts)``."""
        seq = self.seq + 1
        ts = self.now
        ts_iso = iso_utc(ts)
        event_id = str(uuid.uuid4())
        digest = sha256_text(data_text)
        hash_ = chain_hash(self.hash, seq, event_id, key, type_, ts, ts_iso, digest)
        self.conn.execute(
            S.INSERT_EVENT,
            (seq, event_id, key, type_, ts, ts_iso, data_text, digest, self.hash, hash_, ref),
        )
        self.seq, self.hash = seq, hash_
        self.appended += 1
        return seq, ts

    def submit(
        self,
        key: str,
        payload_text: str,
        digest: str,
        source_text: str,
        payload: Any = None,
    ) -> tuple[list[Any] | None, bool]:
        """Append a Submitted event unless the key exists: ``(row, created)``.

        ``row`` is ``None`` for a key that was archived (same digest); a different digest raises
        :class:`SubmissionConflictError`. ``payload`` (the value ``payload_text`` was made from)
        lets a key stored by an older version, in canonical form 1, be recognised as the same.
        """
        known = self.conn.execute(S.SELECT_KNOWN, (key,)).fetchone()
        if known is not None:
            if known[0] != digest and not _same_in_form_1(payload, known[0]):
                raise SubmissionConflictError(key, known[0], digest)
            if known[1]:  # archived
                return None, False
            return list(self.conn.execute(S.SELECT_ROW, (key,)).fetchone()), False
        # Built by hand: equal to canonical() of the dict (sorted keys, no spaces). The report
        # body goes to `payloads` under the same seq; its sha256 here ties it into the chain.
        # `form` names the canonical form of the body (absent in events written in form 1).
        data_text = (
            f'{{"form":{CANONICAL_FORM},"payload_sha256":"{digest}","source":{source_text},"v":1}}'
        )
        seq, ts = self.append(key, "Submitted", data_text, digest)
        self.conn.execute(S.INSERT_PAYLOAD, (seq, payload_text))
        row_new = new_row(key, digest, seq, ts)
        self.conn.execute(S.INSERT_ROW, row_new)
        self.deltas["pending"] += 1
        return row_new, True

    def state_event(
        self, key: str, type_: str, fields: dict[str, Any], *, linked: bool = False
    ) -> list[Any]:
        """Validate and append one state event, update the row; return the new row.

        Superseded is appended only with its corrected submission (``linked``, see
        ``_resolve.py``), never alone, so the link between the two always exists both ways.
        """
        if type_ not in TRANSITIONS:
            raise ValueError(
                f"unknown state event type {type_!r}; expected one of {sorted(TRANSITIONS)}"
            )
        if type_ == "Superseded" and not linked:
            raise ValueError("Superseded is recorded by Journal.supersede(), with its report")
        found = self.conn.execute(S.SELECT_ROW, (key,)).fetchone()
        if found is None:
            if self.conn.execute(S.SELECT_ARCHIVED, (key,)).fetchone() is not None:
                raise InvalidTransitionError(key, type_, "acked (archived)")
            raise UnknownSubmissionError(key, type_)
        row = list(found)
        allowed, target = TRANSITIONS[type_]
        if row[STATE] not in allowed:
            raise InvalidTransitionError(key, type_, row[STATE])
        data = build_data(type_, fields, row[ATTEMPTS])
        seq, ts = self.append(key, type_, canonical(data, what=f"{type_} data"))
        new = apply(row, type_, data, seq, ts)
        self.conn.execute(
            S.UPDATE_ROW, (new[1], new[3], new[4], new[5], new[6], new[7], new[9], new[11], key)
        )
        if row[STATE] != target:
            self.deltas[row[STATE]] -= 1
            self.deltas[target] += 1
        if type_ == "Acknowledged":
            self.last_ack = ts
        return new

    def finish(self) -> None:
        """Write the chain head, the counters and the last-ack time for the whole batch.

        One statement on one row (``head``): one WAL page per commit for all three.
        """
        unknown = set(self.deltas) - set(S.COUNTED)
        if unknown:
            raise ValueError(f"no counter for {sorted(unknown)}")
        update = S.update_head(
            (self.seq, self.hash) if self.appended else None, self.deltas, self.last_ack
        )
        if update is not None:
            self.conn.execute(update[0], update[1])
