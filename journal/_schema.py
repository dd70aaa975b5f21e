"""The journal's DDL and its SQL, built once as module constants.

Read ``docs/journal.md`` for what each table means. ``events`` is the truth and append-only;
``submissions``, ``state_counts``, ``chain_head`` and ``archived`` are the projection, written
in the same transaction as the events they derive from.
"""

from __future__ import annotations

from ._codec import GENESIS_HASH

SCHEMA_VERSION = 4
"""``PRAGMA user_version`` after all migrations this code knows are applied."""

MIGRATION_SET = "wats-sync-journal"
"""The sqlite-utils migration set name recorded in ``_sqlite_migrations``."""

JOURNAL_KEY = ""
"""The key of journal-level events (``Archived``); never a valid submission key."""

STATES = ("pending", "in_flight", "acked", "failed", "superseded", "dismissed")
"""Every live state; ``superseded`` and ``dismissed`` are an operator's way out of ``failed``."""

COUNTED = (*STATES, "archived")
"""The counters of the ``head`` row (migration 0003): one per state, and archived submissions."""

DDL_V1 = (
    """
    CREATE TABLE meta (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL,
        key TEXT NOT NULL,
        type TEXT NOT NULL,
        ts REAL NOT NULL,
        ts_iso TEXT NOT NULL,
        digest TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        ref TEXT,
        data TEXT NOT NULL
    )
    """,
    # The report body of a Submitted event lives here, keyed by the event's seq, so that event
    # rows stay small (fast lookups, scans and rebuilds); the event's data carries its sha256.
    """
    CREATE TABLE payloads (
        seq INTEGER PRIMARY KEY,
        body TEXT NOT NULL
    )
    """,
    # (key, seq, type, ts, ref) serves history(key) in order and lets rebuild() take each
    # submission's state, attempts, times and payload digest from the index alone. `ref` is the
    # payload_sha256 of a Submitted event (also in its data, which the chain covers), else NULL.
    "CREATE INDEX events_by_key ON events (key, seq, type, ts, ref)",
    """
    CREATE TABLE archived (
        key TEXT PRIMARY KEY,
        payload_sha256 TEXT NOT NULL,
        archive_seq INTEGER NOT NULL
    ) WITHOUT ROWID
    """,
    """
    CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    BEGIN
        SELECT RAISE(ABORT, 'journal events are append-only: UPDATE rejected');
    END
    """,
    # Only events of submissions listed in `archived` (written in the same transaction as the
    # Archived event that carries the archive's digest) may ever be deleted.
    """
    CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    WHEN NOT EXISTS (SELECT 1 FROM archived WHERE archived.key = OLD.key)
    BEGIN
        SELECT RAISE(ABORT, 'journal events are append-only: DELETE rejected');
    END
    """,
    """
    CREATE TRIGGER payloads_no_update BEFORE UPDATE ON payloads
    BEGIN
        SELECT RAISE(ABORT, 'journal payloads are append-only: UPDATE rejected');
    END
    """,
    """
    CREATE TRIGGER payloads_no_delete BEFORE DELETE ON payloads
    WHEN NOT EXISTS (
        SELECT 1 FROM events JOIN archived ON archived.key = events.key
        WHERE events.seq = OLD.seq
    )
    BEGIN
        SELECT RAISE(ABORT, 'journal payloads are append-only: DELETE rejected');
    END
    """,
    """
    CREATE TABLE submissions (
        key TEXT PRIMARY KEY,
        state TEXT NOT NULL CHECK (state IN ('pending', 'in_flight', 'acked', 'failed')),
        payload_sha256 TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        next_attempt_at REAL,
        error_class TEXT,
        error_message TEXT,
        error_status INTEGER,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL
    ) WITHOUT ROWID
    """,
    # Partial indexes: only rows the hot queries look at are indexed.
    "CREATE INDEX submissions_active ON submissions (first_seq) "
    "WHERE state IN ('pending', 'in_flight')",
    "CREATE INDEX submissions_due ON submissions (next_attempt_at) WHERE state = 'pending'",
    "CREATE INDEX submissions_in_flight ON submissions (first_seq) WHERE state = 'in_flight'",
    "CREATE INDEX submissions_acked ON submissions (updated_at) WHERE state = 'acked'",
    """
    CREATE TABLE state_counts (
        state TEXT PRIMARY KEY,
        n INTEGER NOT NULL
    ) WITHOUT ROWID
    """,
    "INSERT INTO state_counts (state, n) VALUES "
    "('pending', 0), ('in_flight', 0), ('acked', 0), ('failed', 0), ('archived', 0)",
    """
    CREATE TABLE chain_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL,
        last_ack_at REAL
    )
    """,
    f"INSERT INTO chain_head (id, seq, hash, last_ack_at) VALUES (1, 0, '{GENESIS_HASH}', NULL)",
)

# -- hot-path SQL ------------------------------------------------------------------------------

SELECT_HEAD = "SELECT seq, hash FROM chain_head WHERE id = 1"
INSERT_EVENT = (
    "INSERT INTO events (seq, event_id, key, type, ts, ts_iso, data, digest, prev_hash, hash, ref) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_PAYLOAD = "INSERT INTO payloads (seq, body) VALUES (?, ?)"
SUBMISSION_COLUMNS = (
    "key, state, payload_sha256, attempts, next_attempt_at, error_class, error_message, "
    "error_status, created_at, updated_at, first_seq, last_seq"
)
SELECT_ROW = f"SELECT {SUBMISSION_COLUMNS} FROM submissions WHERE key = ?"
INSERT_ROW = f"INSERT INTO submissions ({SUBMISSION_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
UPDATE_ROW = (
    "UPDATE submissions SET state = ?, attempts = ?, next_attempt_at = ?, error_class = ?, "
    "error_message = ?, error_status = ?, updated_at = ?, last_seq = ? WHERE key = ?"
)
SELECT_ARCHIVED = "SELECT payload_sha256, archive_seq FROM archived WHERE key = ?"
SELECT_KNOWN = (
    "SELECT payload_sha256, 0 FROM submissions WHERE key = ?1 "
    "UNION ALL SELECT payload_sha256, 1 FROM archived WHERE key = ?1 LIMIT 1"
)
"""One probe for submit(): the key's payload digest and whether it was archived, or no row."""
SELECT_SUBMITTED_DATA = (
    "SELECT e.data, p.body FROM events AS e JOIN payloads AS p ON p.seq = e.seq WHERE e.seq = ?"
)
EVENT_COLUMNS = "seq, event_id, key, type, ts, ts_iso, data, digest, prev_hash, hash"
EVENT_SELECT = (
    "SELECT e.seq, e.event_id, e.key, e.type, e.ts, e.ts_iso, e.data, e.digest, e.prev_hash, "
    "e.hash, p.body, e.ref FROM events AS e LEFT JOIN payloads AS p ON p.seq = e.seq"
)
"""Events, then the Submitted report body (``NULL`` for other types), then ``ref``."""
EVENT_SELECT_BARE = (
    "SELECT e.seq, e.event_id, e.key, e.type, e.ts, e.ts_iso, e.data, e.digest, e.prev_hash, "
    "e.hash, NULL, e.ref FROM events AS e"
)
"""Like ``EVENT_SELECT`` without reading report bodies."""


# -- migration 0002: resolution states and the report index ----------------------------------

_SUBMISSIONS_V2 = """
    CREATE TABLE submissions_v2 (
        key TEXT PRIMARY KEY,
        state TEXT NOT NULL CHECK (
            state IN ('pending', 'in_flight', 'acked', 'failed', 'superseded', 'dismissed')
        ),
        payload_sha256 TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        next_attempt_at REAL,
        error_class TEXT,
        error_message TEXT,
        error_status INTEGER,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL
    ) WITHOUT ROWID
"""

REPORT_INDEX_FROM_JSON = (
    "json_extract({p}, '$.sn'), json_extract({p}, '$.pn'), json_extract({p}, '$.processCode'), "
    "json_extract({p}, '$.id'), json_extract({s}, '$.path')"
)
"""The searchable fields of a report: serial, part number, process code, report id, file."""

_INDEX_SUBMITTED = (
    "INSERT OR IGNORE INTO report_index (seq, key, sn, pn, process_code, report_id, "
    "source_path, created_at) SELECT e.seq, e.key, "
    + REPORT_INDEX_FROM_JSON.format(p="p.body", s="json_extract(e.data, '$.source')")
    + ", e.ts FROM events AS e JOIN payloads AS p ON p.seq = e.seq WHERE e.type = 'Submitted' "
)

UNINDEXED_REPORTS = (
    "SELECT 1 FROM events WHERE seq > (SELECT coalesce(max(seq), 0) FROM report_index) "
    "AND type = 'Submitted' LIMIT 1"
)
"""A row if a Submitted event after the index's last row is not indexed yet."""

CATCH_UP_REPORT_INDEX = (
    _INDEX_SUBMITTED + "AND e.seq > (SELECT coalesce(max(seq), 0) FROM report_index) "
    # A body or event rotted on disk is skipped (verify() reports it), never allowed to fail
    # the engine's transaction that carries the catch-up.
    "AND json_valid(p.body) AND json_valid(e.data) ORDER BY e.seq LIMIT ?1"
)
"""Index the first ``?1`` (-1: all) Submitted events after the index's last row.

The report index is not written by ``submit`` (it would cost four of a durable submit's WAL
pages): it is brought up to the tail by the engine's non-durable transactions and by
``reports()`` before it reads. Each catch-up indexes the lowest seqs first, so every live
Submitted event at or below ``max(seq)`` is indexed; ``archive()`` indexes every report before
it moves any out, and keeps their rows (a report whose key is in ``archived`` is listed as
archived), which keeps that true.
"""

FILL_REPORT_INDEX = (
    _INDEX_SUBMITTED + "AND NOT EXISTS (SELECT 1 FROM report_index AS r WHERE r.seq = e.seq)"
)
"""Index every live Submitted event not yet indexed (migration, rebuild)."""

DDL_V2 = (
    _SUBMISSIONS_V2,
    "INSERT INTO submissions_v2 SELECT * FROM submissions",
    "DROP TABLE submissions",
    "ALTER TABLE submissions_v2 RENAME TO submissions",
    "CREATE INDEX submissions_active ON submissions (first_seq) "
    "WHERE state IN ('pending', 'in_flight')",
    "CREATE INDEX submissions_due ON submissions (next_attempt_at) WHERE state = 'pending'",
    "CREATE INDEX submissions_in_flight ON submissions (first_seq) WHERE state = 'in_flight'",
    "CREATE INDEX submissions_acked ON submissions (updated_at) WHERE state = 'acked'",
    # The station page lists failed and resolved reports often; these rows rarely change, so
    # the index costs the hot path nothing.
    "CREATE INDEX submissions_resolution ON submissions (state, first_seq) "
    "WHERE state IN ('failed', 'superseded', 'dismissed')",
    "INSERT INTO state_counts (state, n) VALUES ('superseded', 0), ('dismissed', 0)",
    # One row per live Submitted event (its seq), for the station page's filters. Derived from
    # the report body, so `rebuild` refills it; archiving keeps the rows of what it moves.
    """
    CREATE TABLE report_index (
        seq INTEGER PRIMARY KEY,
        key TEXT NOT NULL,
        sn TEXT,
        pn TEXT,
        process_code TEXT,
        report_id TEXT,
        source_path TEXT,
        created_at REAL NOT NULL
    )
    """,
    "CREATE INDEX report_index_sn ON report_index (sn)",
    "CREATE INDEX report_index_pn ON report_index (pn)",
    "CREATE INDEX report_index_created ON report_index (created_at)",
    FILL_REPORT_INDEX,
)


# -- migration 0003: the chain head and the counters in one row (one page per commit) ---------

DDL_V3 = (
    f"""
    CREATE TABLE head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL,
        last_ack_at REAL,
        {", ".join(f"{name} INTEGER NOT NULL DEFAULT 0" for name in COUNTED)}
    )
    """,
    "INSERT INTO head (id, seq, hash, last_ack_at, "
    + ", ".join(COUNTED)
    + ") SELECT 1, h.seq, h.hash, h.last_ack_at, "
    + ", ".join(
        f"coalesce((SELECT n FROM state_counts WHERE state = '{name}'), 0)" for name in COUNTED
    )
    + " FROM chain_head AS h",
    "DROP TABLE chain_head",
    "DROP TABLE state_counts",
    # The old names stay readable (queries, tools): views over the one row.
    "CREATE VIEW chain_head AS SELECT id, seq, hash, last_ack_at FROM head",
    "CREATE VIEW state_counts AS "
    + " UNION ALL ".join(f"SELECT '{name}' AS state, {name} AS n FROM head" for name in COUNTED),
)
"""The chain head and the per-state counters were two tables, two pages written by every commit;
one row of one table is one page."""


# -- migration 0004: the report list's process and file-name indexes --------------------------

DDL_V4 = (
    # One process code's entries are in seq order: its page is a walk of the index, newest
    # first, and a code no report has is an empty range (the table walk read every row).
    "CREATE INDEX report_index_process ON report_index (process_code)",
    # A substring has no range; reading every file name from this index alone (no table rows)
    # finds the newest report whose file matches, or that none does (see _browse_plan.py).
    "CREATE INDEX report_index_source ON report_index (source_path)",
)
"""Indexes of ``report_index`` only: it is written off the durable path (catch-up, rebuild),
so ``submit`` writes no more pages; the events and the hash chain are untouched."""


def update_head(
    seq_hash: tuple[int, str] | None, deltas: dict[str, int], last_ack: float | None
) -> tuple[str, list[object]] | None:
    """One ``UPDATE head`` for a transaction's new tail, counter deltas and last ack (or None)."""
    sets: list[str] = []
    params: list[object] = []
    if seq_hash is not None:
        sets.append("seq = ?, hash = ?")
        params += seq_hash
    for name in COUNTED:
        delta = deltas.get(name, 0)
        if delta:
            sets.append(f"{name} = {name} + ?")
            params.append(delta)
    if last_ack is not None:
        sets.append("last_ack_at = max(coalesce(last_ack_at, ?), ?)")
        params += [last_ack, last_ack]
    if not sets:
        return None
    return f"UPDATE head SET {', '.join(sets)} WHERE id = 1", params
