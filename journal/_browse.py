"""Read-only listing of submissions for people: filtered, newest first, paged by seq.

The station page asks for "the failed reports of serial number X since Monday" on journals of a
million events, and its list refreshes itself. Filters read ``report_index`` (one small row per
report) and its indexes, and the projection's partial indexes by state, never report bodies;
``_browse_plan.py`` finds a page by walking newest first where matches are dense, by sorting
the seqs of a range that matches few reports, and by starting the walk at the newest report a
filter can match otherwise. Paging is by seq (keyset), so page 1,000 costs about what page 1
costs. docs/performance.md ("Station page") has the figures and what grows with the journal.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from ._browse_plan import page_rows

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


def browse(conn: sqlite3.Connection, flt: ReportFilter) -> ReportPage:
    """One page of submissions matching ``flt``; the caller holds a read transaction."""
    limit = max(1, min(int(flt.limit), _MAX_LIMIT))
    rows = page_rows(conn, flt, limit + 1)
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
