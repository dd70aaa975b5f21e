"""Rebuild the projection from the events alone, and compare it with the live one.

The SQL below is the set-based twin of ``_projector.apply``: a submission's state is decided by
its last event's type, attempts count its UploadStarted events, the error fields come from its
last RetryScheduled/Failed event, and ``next_attempt_at`` from its last event while pending. It
runs inside SQLite over the ``events_by_key`` index, so memory stays bounded by the page cache.
"""

from __future__ import annotations

import sqlite3

from ._schema import JOURNAL_KEY, SUBMISSION_COLUMNS

_SELECT_REBUILT = f"""
WITH g AS (
    SELECT key,
           min(seq) AS first_seq,
           max(seq) AS last_seq,
           sum(type = 'UploadStarted') AS attempts,
           max(CASE WHEN type IN ('RetryScheduled', 'Failed') THEN seq END) AS err_seq
    FROM events
    WHERE key <> '{JOURNAL_KEY}'
    GROUP BY key
)
SELECT g.key,
       CASE l.type
           WHEN 'Submitted' THEN 'pending'
           WHEN 'RetryScheduled' THEN 'pending'
           WHEN 'Requeued' THEN 'pending'
           WHEN 'UploadStarted' THEN 'in_flight'
           WHEN 'Acknowledged' THEN 'acked'
           WHEN 'Failed' THEN 'failed'
       END,
       json_extract(f.data, '$.payload_sha256'),
       g.attempts,
       CASE l.type
           WHEN 'Submitted' THEN l.ts
           WHEN 'Requeued' THEN l.ts
           WHEN 'RetryScheduled' THEN json_extract(l.data, '$.next_attempt_at')
       END,
       json_extract(e.data, '$.error_class'),
       CASE e.type
           WHEN 'Failed' THEN json_extract(e.data, '$.reason')
           ELSE json_extract(e.data, '$.message')
       END,
       json_extract(e.data, '$.status_code'),
       f.ts, l.ts, g.first_seq, g.last_seq
FROM g
JOIN events AS f ON f.seq = g.first_seq
JOIN events AS l ON l.seq = g.last_seq
LEFT JOIN events AS e ON e.seq = g.err_seq
"""

_SELECT_ARCHIVED = f"""
SELECT json_extract(k.value, '$[0]'), json_extract(k.value, '$[1]'), ev.seq
FROM events AS ev, json_each(ev.data, '$.keys') AS k
WHERE ev.key = '{JOURNAL_KEY}' AND ev.type = 'Archived'
"""

_LAST_ACK = f"""
SELECT max(t) FROM (
    SELECT max(ts) AS t FROM events WHERE type = 'Acknowledged'
    UNION ALL
    SELECT max(json_extract(data, '$.last_ack_at')) FROM events
    WHERE key = '{JOURNAL_KEY}' AND type = 'Archived'
)
"""

_COUNTS = """
UPDATE state_counts SET n = (
    CASE state
        WHEN 'archived' THEN (SELECT count(*) FROM archived)
        ELSE (SELECT count(*) FROM submissions WHERE submissions.state = state_counts.state)
    END
)
"""


def rebuild(conn: sqlite3.Connection) -> int:
    """Replace the projection with one computed from the events; return submissions rebuilt.

    The caller holds a write transaction. The chain head is not touched: it is evidence for
    ``verify()``, not a projection.
    """
    conn.execute("DELETE FROM submissions")
    conn.execute(f"INSERT INTO submissions ({SUBMISSION_COLUMNS}) {_SELECT_REBUILT}")
    conn.execute("DELETE FROM archived")
    conn.execute(f"INSERT INTO archived (key, payload_sha256, archive_seq) {_SELECT_ARCHIVED}")
    conn.execute(_COUNTS)
    conn.execute("UPDATE chain_head SET last_ack_at = (" + _LAST_ACK + ") WHERE id = 1")
    return int(conn.execute("SELECT count(*) FROM submissions").fetchone()[0])


def _cmp_columns(live: str, built: str) -> str:
    exact = (
        "state",
        "payload_sha256",
        "attempts",
        "error_class",
        "error_message",
        "error_status",
        "created_at",
        "updated_at",
        "first_seq",
        "last_seq",
    )
    parts = [f"{live}.{c} IS NOT {built}.{c}" for c in exact]
    # next_attempt_at went through JSON text on the rebuild side: allow a float rounding step.
    parts.append(
        f"(({live}.next_attempt_at IS NULL) <> ({built}.next_attempt_at IS NULL) OR "
        f"abs({live}.next_attempt_at - {built}.next_attempt_at) > 1e-6)"
    )
    return " OR ".join(parts)


def differences(conn: sqlite3.Connection, limit: int = 50) -> list[str]:
    """Describe how the live projection differs from a rebuilt one (empty when equal).

    The caller holds a read transaction; the rebuilt copy lives in a TEMP table and is dropped.
    """
    conn.execute("DROP TABLE IF EXISTS temp.rebuilt")
    conn.execute("CREATE TEMP TABLE rebuilt AS SELECT * FROM submissions WHERE 0")
    conn.execute(f"INSERT INTO temp.rebuilt ({SUBMISSION_COLUMNS}) {_SELECT_REBUILT}")
    conn.execute("CREATE INDEX temp.rebuilt_key ON rebuilt (key)")
    out: list[str] = []
    rows = conn.execute(
        f"SELECT s.key FROM submissions AS s LEFT JOIN temp.rebuilt AS r ON r.key = s.key "
        f"WHERE r.key IS NULL LIMIT {limit}"
    ).fetchall()
    out += [f"{k!r}: in the live projection but not derivable from events" for (k,) in rows]
    rows = conn.execute(
        f"SELECT r.key FROM temp.rebuilt AS r LEFT JOIN submissions AS s ON s.key = r.key "
        f"WHERE s.key IS NULL LIMIT {limit}"
    ).fetchall()
    out += [f"{k!r}: has events but no live projection row" for (k,) in rows]
    cols = SUBMISSION_COLUMNS.replace(" ", "").split(",")
    rows = conn.execute(
        f"SELECT {', '.join('s.' + c for c in cols)}, {', '.join('r.' + c for c in cols)} "
        f"FROM submissions AS s JOIN temp.rebuilt AS r ON r.key = s.key "
        f"WHERE {_cmp_columns('s', 'r')} LIMIT {limit}"
    ).fetchall()
    for row in rows:
        live, built = row[: len(cols)], row[len(cols) :]
        diff = [
            f"{c}: live {a!r} != rebuilt {b!r}"
            for c, a, b in zip(cols, live, built, strict=True)
            if a != b
        ]
        out.append(f"{live[0]!r}: " + "; ".join(diff))
    counts = conn.execute(
        "SELECT c.state, c.n, (SELECT count(*) FROM submissions s WHERE s.state = c.state) "
        "FROM state_counts c WHERE c.state <> 'archived'"
    ).fetchall()
    out += [f"count of {s}: stored {n} != actual {m}" for s, n, m in counts if n != m]
    conn.execute("DROP TABLE temp.rebuilt")
    return out[:limit]
