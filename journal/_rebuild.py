"""Rebuild the projection from the events alone, and compare it with the live one.

The SQL below is the set-based twin of ``_projector.apply``: a submission's state is decided by
its last event's type, attempts count its UploadStarted events, the error fields come from its
last RetryScheduled/Failed event, and ``next_attempt_at`` from its last event while pending. It
runs inside SQLite over the ``events_by_key`` index, so memory stays bounded by the page cache
(a million events rebuild in seconds with a few tens of MB of RSS).
"""

from __future__ import annotations

import sqlite3

from ._schema import FILL_REPORT_INDEX, JOURNAL_KEY, STATES, SUBMISSION_COLUMNS

_SELECT_REBUILT = f"""
WITH g AS (
    SELECT key,
           max(seq) AS last_seq,
           type AS last_type,
           ts AS last_ts,
           sum(CASE WHEN type = 'Submitted' THEN seq END) AS first_seq,
           sum(CASE WHEN type = 'Submitted' THEN ts END) AS created_at,
           sum(type = 'UploadStarted') AS attempts,
           sum(type IN ('RetryScheduled', 'Failed')) AS errors,
           group_concat(ref) AS payload_sha256
    FROM events
    WHERE key <> '{JOURNAL_KEY}'
    GROUP BY key
),
h AS (
    SELECT g.*,
           CASE WHEN g.errors > 0 THEN (
               SELECT max(x.seq) FROM events AS x
               WHERE x.key = g.key AND x.type IN ('RetryScheduled', 'Failed')
           ) END AS err_seq
    FROM g
)
SELECT h.key AS key,
       CASE h.last_type
           WHEN 'Submitted' THEN 'pending'
           WHEN 'RetryScheduled' THEN 'pending'
           WHEN 'Requeued' THEN 'pending'
           WHEN 'UploadStarted' THEN 'in_flight'
           WHEN 'Acknowledged' THEN 'acked'
           WHEN 'Failed' THEN 'failed'
           WHEN 'Superseded' THEN 'superseded'
           WHEN 'Dismissed' THEN 'dismissed'
       END AS state,
       h.payload_sha256 AS payload_sha256,
       h.attempts AS attempts,
       CASE h.last_type
           WHEN 'Submitted' THEN h.last_ts
           WHEN 'Requeued' THEN h.last_ts
           WHEN 'RetryScheduled' THEN (
               SELECT json_extract(l.data, '$.next_attempt_at') FROM events AS l
               WHERE l.seq = h.last_seq
           )
       END AS next_attempt_at,
       json_extract(e.data, '$.error_class') AS error_class,
       CASE e.type
           WHEN 'Failed' THEN json_extract(e.data, '$.reason')
           ELSE json_extract(e.data, '$.message')
       END AS error_message,
       json_extract(e.data, '$.status_code') AS error_status,
       h.created_at AS created_at,
       h.last_ts AS updated_at,
       h.first_seq AS first_seq,
       h.last_seq AS last_seq
FROM h
LEFT JOIN events AS e ON e.seq = h.err_seq
WHERE h.first_seq IS NOT NULL
"""
"""Every submission row, recomputed from its events.

One pass over the covering index ``events_by_key (key, seq, type, ts, ref)``. With exactly one
``max()`` in the grouping, SQLite takes the bare columns ``type`` and ``ts`` from the row holding
that max (documented: https://www.sqlite.org/lang_select.html#bare_columns_in_an_aggregate_query),
i.e. from the last event; the Submitted event is the only one of its type and the only one with a
``ref``, so ``sum(CASE ...)`` picks its seq and ts and ``group_concat(ref)`` its payload digest.
Only the last event when it is a RetryScheduled and the last error event are read from the table.
"""

_COLS = SUBMISSION_COLUMNS.replace(" ", "").split(",")


def _differs(tolerant: bool) -> str:
    """SQL true when live row ``s`` and rebuilt row ``r`` differ (or ``s`` is missing)."""
    exact = [c for c in _COLS[1:] if not (tolerant and c == "next_attempt_at")]
    parts = ["s.key IS NULL", *(f"s.{c} IS NOT r.{c}" for c in exact)]
    if tolerant:
        # next_attempt_at went through JSON text on the rebuild side: allow a rounding step.
        parts.append(
            "((s.next_attempt_at IS NULL) <> (r.next_attempt_at IS NULL) OR "
            "abs(s.next_attempt_at - r.next_attempt_at) > 1e-6)"
        )
    return " OR ".join(parts)


def _diff_from(tolerant: bool) -> str:
    return (
        f"FROM ({_SELECT_REBUILT}) AS r LEFT JOIN submissions AS s ON s.key = r.key "
        f"WHERE {_differs(tolerant)}"
    )


_SUMMARY = (
    "SELECT count(*), "
    + ", ".join(f"coalesce(sum(r.state = '{state}'), 0)" for state in STATES)
    + f", coalesce(sum({_differs(False)}), 0) "
    f"FROM ({_SELECT_REBUILT}) AS r LEFT JOIN submissions AS s ON s.key = r.key"
)
"""One pass: rebuilt rows, rebuilt rows per state, rows whose live copy is missing or differs."""

_ORPHANS = "FROM submissions AS s WHERE NOT EXISTS (SELECT 1 FROM events AS e WHERE e.key = s.key)"

_SELECT_ARCHIVED_KEYS = f"""
SELECT json_extract(k.value, '$[0]') AS key, json_extract(k.value, '$[1]') AS sha, ev.seq AS seq
FROM events AS ev, json_each(ev.data, '$.keys') AS k
WHERE ev.key = '{JOURNAL_KEY}' AND ev.type = 'Archived'
"""

# Acknowledged can only be followed by Acknowledged, so the latest ack of every live submission
# is the last event of an acked row; archived ones carry theirs in the Archived event.
_LAST_ACK = f"""
SELECT max(t) FROM (
    SELECT max(updated_at) AS t FROM submissions WHERE state = 'acked'
    UNION ALL
    SELECT max(json_extract(data, '$.last_ack_at')) FROM events
    WHERE key = '{JOURNAL_KEY}' AND type = 'Archived'
)
"""


def rebuild(conn: sqlite3.Connection) -> int:
    """Recompute the projection from the events alone; return the number of submissions.

    Every row is recomputed from the events and compared with the live one in a single pass;
    only rows that differ are written, and live rows with no events are deleted. The result is
    what deleting everything and inserting the recomputed rows would give, without rewriting a
    correct projection (a full rewrite of a million-event journal costs seconds of WAL I/O).
    The caller holds a write transaction. The chain head is evidence for ``verify()``, not a
    projection, and is not touched.
    """
    total, *per_state, bad = conn.execute(_SUMMARY).fetchone()
    if bad:
        conn.execute(
            f"INSERT OR REPLACE INTO submissions ({SUBMISSION_COLUMNS}) "
            f"SELECT {', '.join('r.' + c for c in _COLS)} {_diff_from(False)}"
        )
    live = conn.execute("SELECT count(*) FROM submissions").fetchone()[0]
    if live != total:
        conn.execute(f"DELETE FROM submissions WHERE key IN (SELECT s.key {_ORPHANS})")
    conn.execute("DELETE FROM archived")
    conn.execute(f"INSERT INTO archived (key, payload_sha256, archive_seq) {_SELECT_ARCHIVED_KEYS}")
    archived = conn.execute("SELECT count(*) FROM archived").fetchone()[0]
    counts = (*zip(STATES, per_state, strict=True), ("archived", archived))
    conn.execute(
        f"UPDATE head SET {', '.join(f'{state} = ?' for state, _ in counts)}, "
        f"last_ack_at = ({_LAST_ACK}) WHERE id = 1",
        [n for _, n in counts],
    )
    # The report index is derived from report bodies: refill what is missing (rows of
    # archived reports stay; their bodies are gone from the live file).
    conn.execute(FILL_REPORT_INDEX)
    return int(total)


def differences(conn: sqlite3.Connection, limit: int = 50) -> list[str]:
    """Describe how the live projection differs from a rebuilt one (empty when equal).

    The caller holds a read transaction; nothing is written.
    """
    out: list[str] = []
    live_cols = ", ".join("s." + c for c in _COLS)
    built_cols = ", ".join("r." + c for c in _COLS)
    rows = conn.execute(f"SELECT {live_cols}, {built_cols} {_diff_from(True)} LIMIT {limit}")
    for row in rows.fetchall():
        live, built = row[: len(_COLS)], row[len(_COLS) :]
        if live[0] is None:
            out.append(f"{built[0]!r}: has events but no live projection row")
            continue
        diff = [
            f"{c}: live {a!r} != rebuilt {b!r}"
            for c, a, b in zip(_COLS, live, built, strict=True)
            if a != b
        ]
        out.append(f"{live[0]!r}: " + "; ".join(diff))
    orphans = conn.execute(f"SELECT s.key {_ORPHANS} LIMIT {limit}").fetchall()
    out += [f"{k!r}: in the live projection but not derivable from events" for (k,) in orphans]
    counts = conn.execute(
        "SELECT c.state, c.n, (SELECT count(*) FROM submissions s WHERE s.state = c.state) "
        "FROM state_counts c WHERE c.state <> 'archived'"
    ).fetchall()
    out += [f"count of {s}: stored {n} != actual {m}" for s, n, m in counts if n != m]
    return out[:limit]
