"""Read-only listing of submissions for people: filtered, newest first, paged by seq.

The station page asks for "the failed reports of serial number X since Monday" on journals of a
million events. Every filter here is served by an index: the state by the projection's partial
indexes, serial and part number by ``report_index`` (a prefix match is a range on the index),
the time range by ``report_index_created``; the process code (a few values shared by every
report) and the source-file filter (a substring) walk the small index rows newest first and
stop at a page, never reading report bodies. Paging is by seq
(keyset), so page 1,000 costs what page 1 costs.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from ._schema import STATES

_ROW = (
    "r.seq, r.key, r.sn, r.pn, r.process_code, r.report_id, r.source_path, r.created_at, "
    "s.state, s.attempts, s.error_class, s.error_message, s.error_status, s.next_attempt_at, "
    "s.updated_at"
)
# A state filter names its partial index's own condition, so SQLite can prove the index usable.
_STATE_SQL = {
    "pending": "s.state IN ('pending', 'in_flight') AND s.state = 'pending'",
    "in_flight": "s.state = 'in_flight'",
    "acked": "s.state = 'acked'",
    "failed": "s.state IN ('failed', 'superseded', 'dismissed') AND s.state = 'failed'",
    "superseded": "s.state IN ('failed', 'superseded', 'dismissed') AND s.state = 'superseded'",
    "dismissed": "s.state IN ('failed', 'superseded', 'dismissed') AND s.state = 'dismissed'",
}
_DRIVEN_BY_STATE = ("pending", "in_flight", "failed", "superseded", "dismissed")
_MAX_LIMIT = 500


@dataclass(frozen=True)
class ReportFilter:
    """What the list shows; empty fields do not filter.

    ``sn`` and ``pn`` match a prefix (an exact value is a prefix of itself), ``process`` the
    process code exactly;
    ``source`` matches any part of the source file's path; ``since``/``until`` bound the
    submission time (UNIX seconds); ``state`` is a journal state or ``"archived"``; ``before``
    is the seq below which the page starts (from :attr:`ReportPage.next_before`). Without a
    state, archived reports are listed only with ``with_archived`` (``syncengine find``); the
    station page's lists show live ones.
    """

    state: str | None = None
    sn: str | None = None
    pn: str | None = None
    process: str | None = None
    source: str | None = None
    since: float | None = None
    until: float | None = None
    before: int | None = None
    limit: int = 50
    with_archived: bool = False


@dataclass(frozen=True)
class ReportRow:
    """One submission in a list: identity, state and the latest error (``state`` may be
    ``"archived"`` for a report moved to an archive file)."""

    seq: int
    key: str
    sn: str | None
    pn: str | None
    process_code: str | None
    report_id: str | None
    source_path: str | None
    created_at: float
    state: str
    attempts: int
    error_class: str | None
    error_message: str | None
    error_status: int | None
    next_attempt_at: float | None
    updated_at: float | None


@dataclass(frozen=True)
class ReportPage:
    """A page of :class:`ReportRow`, newest first; ``next_before`` continues it (None: last)."""

    rows: list[ReportRow]
    next_before: int | None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _prefix(column: str, value: str, where: list[str], params: list[Any]) -> None:
    where.append(f"{column} >= ? AND {column} < ?")
    params += [value, value + "\U0010ffff"]


def _sql(flt: ReportFilter) -> tuple[str, list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    state = flt.state or None
    if state is not None and state != "archived" and state not in STATES:
        raise ValueError(f"state must be one of {(*STATES, 'archived')}, got {state!r}")
    if state in _DRIVEN_BY_STATE:
        base = "FROM submissions AS s JOIN report_index AS r ON r.seq = s.first_seq"
        where.append(_STATE_SQL[state])
        order = "s.first_seq"
    else:
        base = "FROM report_index AS r LEFT JOIN submissions AS s ON s.key = r.key"
        order = "r.seq"
        if state == "acked":
            where.append(_STATE_SQL["acked"])
        elif state == "archived":
            where.append("s.key IS NULL")
        elif not flt.with_archived:
            # archive() keeps an archived report's index row; a probe of `archived`'s primary
            # key leaves the walk newest first by r.seq as it is.
            where.append("NOT EXISTS (SELECT 1 FROM archived AS a WHERE a.key = r.key)")
    for column, value in (("r.sn", flt.sn), ("r.pn", flt.pn)):
        if value:
            _prefix(column, value, where, params)
    if flt.process:
        # A handful of process codes share all reports: walking newest first finds a page at
        # once, where an index would hand over a third of the journal to sort.
        where.append("+r.process_code = ?")
        params.append(flt.process)
    if flt.source:
        where.append("instr(r.source_path, ?) > 0")
        params.append(flt.source)
    if flt.since is not None:
        where.append("r.created_at >= ?")
        params.append(flt.since)
    if flt.until is not None:
        where.append("r.created_at < ?")
        params.append(flt.until)
    if flt.before is not None:
        where.append(f"{order} < ?")
        params.append(flt.before)
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    limit = max(1, min(int(flt.limit), _MAX_LIMIT))
    params.append(limit + 1)
    return f"SELECT {_ROW} {base}{clause} ORDER BY {order} DESC LIMIT ?", params


def browse(conn: sqlite3.Connection, flt: ReportFilter) -> ReportPage:
    """One page of submissions matching ``flt``; the caller holds a read transaction."""
    sql, params = _sql(flt)
    rows = conn.execute(sql, params).fetchall()
    limit = max(1, min(int(flt.limit), _MAX_LIMIT))
    more = len(rows) > limit
    rows = rows[:limit]
    out = [
        ReportRow(
            seq=int(r[0]),
            key=str(r[1]),
            sn=_text(r[2]),
            pn=_text(r[3]),
            process_code=_text(r[4]),
            report_id=_text(r[5]),
            source_path=_text(r[6]),
            created_at=float(r[7]),
            state=str(r[8]) if r[8] is not None else "archived",
            attempts=int(r[9] or 0),
            error_class=r[10],
            error_message=r[11],
            error_status=r[12],
            next_attempt_at=r[13],
            updated_at=r[14],
        )
        for r in rows
    ]
    return ReportPage(out, out[-1].seq if more and out else None)
