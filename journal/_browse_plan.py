"""How a page of the report list is found on a large journal: walk, sort, or skip and walk.

A page is the ``n`` reports with the highest seq that match every filter. There are three
ways to find them, all exact (``tests/journal/test_browse_plan.py`` holds each to a
brute-force filter):

* **walk**: read reports newest first along something already in seq order (the table
  itself, a state's partial index on ``submissions``, ``report_index_process`` for one process
  code), keep the matching ones and stop at ``n``. Cheap when matches are dense.
* **sort**: a serial number, part number or time range matching fewer than ``_SMALL``
  reports: take the top seqs from the range's index alone (seq is in every index entry),
  a chunk at a time, and read only those rows.
* **skip, then walk**: when every range matches many reports, no report newer than the
  newest seq every filter can match (``max(seq)`` over each filter's index, index-only) can
  match, so the walk starts there instead of at the top: a time range of last month, a prefix
  of old serial numbers, a file name no report has.

:func:`page_rows` walks the newest ``_WINDOW`` seqs first (most pages are found there, whatever
the filter), then the older ones the cheapest of these ways. Every query names its index
(``INDEXED BY``/``NOT INDEXED``, ``CROSS JOIN`` for the join order), so SQLite never falls back
to the plan this module replaces: take every match of a range, join it, sort it by seq.

What stays linear: a skip reads every index entry of its range (~80 ns each: ~30 ms for a
third of a million reports), and a state other than those with a partial index is a probe of
``submissions`` per report walked (~3 µs): ``acked`` behind a backlog of reports newer than
every acked one, and ``archived``, walk past the newer reports of other states. The states
with a partial index walk only their own rows; a handful of failed ones cost nothing.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._schema import STATES

if TYPE_CHECKING:
    from ._browse import ReportFilter

ROW = (
    "r.seq, r.key, r.sn, r.pn, r.process_code, r.report_id, r.source_path, r.created_at, "
    "s.state, s.attempts, s.error_class, s.error_message, s.error_status, s.next_attempt_at, "
    "s.updated_at"
)
"""The columns of one list row (``ReportRow``), ``r`` for report_index, ``s`` for submissions."""

# A state filter names its partial index's own condition, so SQLite can prove the index usable.
_STATE_SQL = {
    "pending": "s.state IN ('pending', 'in_flight') AND s.state = 'pending'",
    "in_flight": "s.state = 'in_flight'",
    "failed": "s.state IN ('failed', 'superseded', 'dismissed') AND s.state = 'failed'",
    "superseded": "s.state IN ('failed', 'superseded', 'dismissed') AND s.state = 'superseded'",
    "dismissed": "s.state IN ('failed', 'superseded', 'dismissed') AND s.state = 'dismissed'",
}
"""States with a partial index on ``submissions`` by ``first_seq`` (acked has none: the walk of
the table finds it, as nearly every report is acked)."""

_WINDOW = 4096
"""Seqs walked first, newest first (about 1,400 reports at three events each): ~1 ms."""
_SMALL = 20_000
"""A range matching fewer reports is sorted (its top seqs from its index: a few ms at most)."""
_CHUNK = 256
"""Seqs taken per sort at first (at least a page); each further chunk is eight times larger."""
_UNICODE_MAX = "\U0010ffff"


@dataclass(frozen=True)
class _Index:
    """A filter an index of ``report_index`` answers: ``range`` (entries sorted by value),
    ``ordered`` (one value: entries in seq order) or ``scan`` (every entry is read)."""

    name: str
    where: str
    params: tuple[Any, ...]
    kind: str

    def on(self, alias: str) -> str:
        return self.where.format(t=alias)


def _indexes(flt: ReportFilter) -> list[_Index]:
    out: list[_Index] = []
    for name, column, value in (
        ("report_index_sn", "sn", flt.sn),
        ("report_index_pn", "pn", flt.pn),
    ):
        if value:
            where = f"{{t}}{column} >= ? AND {{t}}{column} < ?"
            out.append(_Index(name, where, (value, value + _UNICODE_MAX), "range"))
    times = [(op, v) for op, v in ((">=", flt.since), ("<", flt.until)) if v is not None]
    if times:
        where = " AND ".join(f"{{t}}created_at {op} ?" for op, _ in times)
        out.append(_Index("report_index_created", where, tuple(v for _, v in times), "range"))
    if flt.process:
        out.append(_Index("report_index_process", "{t}process_code = ?", (flt.process,), "ordered"))
    if flt.source:
        where = "instr({t}source_path, ?) > 0"
        out.append(_Index("report_index_source", where, (flt.source,), "scan"))
    return out


class _Plan:
    """The SQL of one filter: its walks, its sorts, and what it needs to choose between them."""

    def __init__(self, flt: ReportFilter) -> None:
        state = flt.state or None
        if state is not None and state != "archived" and state not in STATES:
            raise ValueError(f"state must be one of {(*STATES, 'archived')}, got {state!r}")
        self.state = state
        self.by_state = state in _STATE_SQL
        self.indexes = _indexes(flt)
        where = [ix.on("r.") for ix in self.indexes]
        self.index_params = [p for ix in self.indexes for p in ix.params]
        self.params: list[Any] = list(self.index_params)
        # The rows of one state, newest first, from its partial index (pending, failed, ...).
        state_where = " AND ".join([_STATE_SQL[state], *where]) if state in _STATE_SQL else ""
        self.state_walk = (
            f"SELECT {ROW} FROM submissions AS s CROSS JOIN report_index AS r "
            f"ON r.seq = s.first_seq WHERE {state_where}"
        )
        # Driven by report_index, the state is a probe of the submission's primary key.
        if state in STATES:
            join = "CROSS JOIN submissions AS s ON s.key = r.key"
            where.append("s.state = ?")
            self.params.append(state)
        else:
            join = "LEFT JOIN submissions AS s ON s.key = r.key"
            if state == "archived":
                where.append("s.key IS NULL")
            elif not flt.with_archived:
                # archive() keeps an archived report's index row; a probe of `archived`'s
                # primary key leaves the walk newest first by r.seq as it is.
                where.append("NOT EXISTS (SELECT 1 FROM archived AS a WHERE a.key = r.key)")
        self.where = " AND ".join(where) or "1"
        driver = "INDEXED BY report_index_process" if flt.process else "NOT INDEXED"
        self.walk = f"SELECT {ROW} FROM report_index AS r {driver} {join} WHERE {self.where}"
        self.rows = (
            f"SELECT {ROW} FROM report_index AS r NOT INDEXED {join} "
            f"WHERE r.seq IN (SELECT value FROM json_each(?)) AND {self.where} "
            "ORDER BY r.seq DESC LIMIT ?"
        )

    def walk_sql(self, low: int | None, high: int | None) -> tuple[str, list[Any]]:
        """Matching rows with ``low <= seq < high``, newest first, ``LIMIT ?`` to append."""
        if self.by_state:
            column, sql, params = "s.first_seq", self.state_walk, list(self.index_params)
        else:
            column, sql, params = "r.seq", self.walk, list(self.params)
        for op, bound in ((">=", low), ("<", high)):
            if bound is not None:
                sql += f" AND {column} {op} ?"
                params.append(bound)
        return f"{sql} ORDER BY {column} DESC LIMIT ?", params


def _walk(
    conn: sqlite3.Connection, plan: _Plan, low: int | None, high: int | None, n: int
) -> list[Any]:
    sql, params = plan.walk_sql(low, high)
    return conn.execute(sql, [*params, n]).fetchall()


def _count(conn: sqlite3.Connection, ix: _Index, below: int) -> int:
    """How many reports below ``below`` match ``ix``, counted up to ``_SMALL``."""
    sql = (
        f"SELECT count(*) FROM (SELECT 1 FROM report_index INDEXED BY {ix.name} "
        f"WHERE {ix.on('')} AND seq < ? LIMIT ?)"
    )
    return int(conn.execute(sql, [*ix.params, below, _SMALL]).fetchone()[0])


def _newest(conn: sqlite3.Connection, ix: _Index, below: int) -> int | None:
    """The highest seq below ``below`` that matches ``ix`` (index-only), None if none does."""
    sql = f"SELECT max(seq) FROM report_index INDEXED BY {ix.name} WHERE {ix.on('')} AND seq < ?"
    value = conn.execute(sql, [*ix.params, below]).fetchone()[0]
    return None if value is None else int(value)


def _sort(conn: sqlite3.Connection, plan: _Plan, ix: _Index, below: int, n: int) -> list[Any]:
    """Up to ``n`` matching rows below ``below`` via the top seqs of range ``ix``, by chunks."""
    rows: list[Any] = []
    size = max(n, _CHUNK)
    top = (
        f"SELECT seq FROM report_index INDEXED BY {ix.name} WHERE {ix.on('')} AND seq < ? "
        "ORDER BY seq DESC LIMIT ?"
    )
    while len(rows) < n:
        seqs = [int(r[0]) for r in conn.execute(top, [*ix.params, below, size])]
        if not seqs:
            break
        rows += conn.execute(plan.rows, [json.dumps(seqs), *plan.params, n - len(rows)]).fetchall()
        if len(seqs) < size:
            break
        below, size = seqs[-1], size * 8
    return rows


def _older(conn: sqlite3.Connection, plan: _Plan, below: int, n: int) -> list[Any]:
    """Up to ``n`` matching rows with seq below ``below``, the cheapest way."""
    in_state = None
    if plan.by_state:
        found = conn.execute("SELECT n FROM state_counts WHERE state = ?", [plan.state]).fetchone()
        in_state = int(found[0]) if found else 0
    counted = [(_count(conn, ix, below), ix) for ix in plan.indexes if ix.kind == "range"]
    fewest = min(counted, key=lambda c: c[0], default=None)
    if fewest is not None and fewest[0] < _SMALL and (in_state is None or fewest[0] < in_state):
        return _sort(conn, plan, fewest[1], below, n)
    if in_state is not None and in_state < _SMALL:
        return _walk(conn, plan, None, below, n)  # a state's few rows, newest first
    start = below
    for ix in plan.indexes:
        newest = _newest(conn, ix, start)
        if newest is None:
            return []
        start = newest + 1
    return _walk(conn, plan, None, start, n)


def page_rows(conn: sqlite3.Connection, flt: ReportFilter, n: int) -> list[Any]:
    """The ``n`` newest rows (``ROW``) matching ``flt`` below ``flt.before``, newest first."""
    plan = _Plan(flt)
    top = flt.before
    if top is None:
        newest = conn.execute("SELECT max(seq) FROM report_index").fetchone()[0]
        if newest is None:
            return []
        top = int(newest) + 1
    low = max(top - _WINDOW, 0)
    rows = _walk(conn, plan, low, top, n)
    if len(rows) < n and low > 0:
        rows += _older(conn, plan, low, n - len(rows))
    return rows
