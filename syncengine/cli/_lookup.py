"""Finding submissions the way operators think: by serial number, part number, report id,
source file name or time, and turning a report id or a unique serial number into a key.

The journal's ``report_index`` (one row per submitted report: key, sn, pn, report id, source
path, time) serves every lookup; the journal must have been opened by :class:`journal.Journal`
first, which migrates an older journal so that the index exists.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from journal import Journal, ReportFilter, ReportRow, query
from syncengine.cli._runtime import CliError
from syncengine.cli._views import format_time

_BY_ID = (
    "SELECT r.seq, r.key, r.sn, r.pn, r.process_code, r.report_id, r.source_path, r.created_at, "
    "COALESCE(s.state, 'archived') AS state FROM report_index AS r "
    "LEFT JOIN submissions AS s ON s.key = r.key WHERE r.report_id = ? ORDER BY r.seq DESC"
)
_KEYS_BY_SN = "SELECT DISTINCT key FROM report_index WHERE sn = ? ORDER BY seq DESC LIMIT 21"
_INDEXED_BY_KEY = (
    "SELECT sn, pn, process_code, report_id, source_path, created_at FROM report_index "
    "WHERE key = ? ORDER BY seq LIMIT 1"
)
_ARCHIVED_AT = (
    "SELECT a.key, a.archive_seq, e.ts, json_extract(e.data, '$.file') AS file "
    "FROM archived AS a JOIN events AS e ON e.seq = a.archive_seq "
    "WHERE a.key IN (SELECT value FROM json_each(?))"
)


@dataclass(frozen=True)
class Found:
    """One submission found: its key, state, report identity and source file; for an archived
    one, when and to which archive file it was moved."""

    key: str
    state: str
    sn: str | None
    pn: str | None
    report_id: str | None
    source_path: str | None
    created_at: float
    archived_at: float | None = None
    archive_file: str | None = None

    @classmethod
    def of(cls, row: ReportRow) -> Found:
        """From a row of :meth:`journal.Journal.reports`."""
        return cls(
            row.key, row.state, row.sn, row.pn, row.report_id, row.source_path, row.created_at
        )


@dataclass(frozen=True)
class ArchivedAt:
    """Where an archived submission went: the Archived event's time and seq, and the file
    (a full path when it lies next to the journal, where 'journal archive' puts it by
    default; else the name the Archived event records)."""

    key: str
    at: float
    archive_seq: int
    file: str

    def describe(self) -> str:
        """``archived on DATE in FILE`` for people."""
        return f"archived on {format_time(self.at)} in {self.file}"


@dataclass(frozen=True)
class FindQuery:
    """What ``syncengine find`` looks for; empty fields do not filter."""

    sn: str | None = None
    pn: str | None = None
    report_id: str | None = None
    file: str | None = None
    since: float | None = None
    until: float | None = None
    state: str | None = None
    limit: int = 50


def find(journal: Journal, q: FindQuery) -> list[Found]:
    """Submissions matching ``q``, newest first, at most ``q.limit``."""
    if q.report_id:
        _catch_up(journal)
        found = [f for f in _by_report_id(journal.path, q.report_id) if _matches(f, q)]
        return _with_archive(journal, found[: q.limit])
    out: list[Found] = []
    before: int | None = None
    while len(out) < q.limit:
        page = journal.reports(
            ReportFilter(
                state=q.state,
                sn=q.sn,
                pn=q.pn,
                source=q.file,
                since=q.since,
                until=q.until,
                before=before,
                limit=min(500, q.limit - len(out)),
                with_archived=True,
            )
        )
        out += [Found.of(row) for row in page.rows]
        if page.next_before is None:
            break
        before = page.next_before
    return _with_archive(journal, out)


def archived_at(journal: Journal, keys: list[str]) -> dict[str, ArchivedAt]:
    """Where each of ``keys`` that was archived went (keys not archived are left out)."""
    if not keys:
        return {}
    out: dict[str, ArchivedAt] = {}
    for row in query(journal.path, _ARCHIVED_AT, [json.dumps(keys)]):
        name = str(row["file"])
        beside = journal.path.parent / name
        # The Archived event records the file's name; --dest may have put it anywhere.
        shown = (
            str(beside) if beside.exists() else f"{name} (where 'journal archive --dest' put it)"
        )
        out[str(row["key"])] = ArchivedAt(
            str(row["key"]), float(row["ts"]), int(row["archive_seq"]), shown
        )
    return out


def _with_archive(journal: Journal, found: list[Found]) -> list[Found]:
    where = archived_at(journal, [f.key for f in found if f.state == "archived"])
    return [
        replace(f, archived_at=where[f.key].at, archive_file=where[f.key].file)
        if f.key in where
        else f
        for f in found
    ]


def _catch_up(journal: Journal) -> None:
    # reports() brings the report index up to the journal's tail before it reads (the index is
    # not written by submit); the raw queries below read that index.
    journal.reports(ReportFilter(limit=1))


def _by_report_id(journal_path: Path, report_id: str) -> Iterator[Found]:
    for row in query(journal_path, _BY_ID, [report_id]):
        yield Found(
            str(row["key"]),
            str(row["state"]),
            row["sn"],
            row["pn"],
            row["report_id"],
            row["source_path"],
            float(row["created_at"]),
        )


def _matches(found: Found, q: FindQuery) -> bool:
    checks = (
        q.sn is None or (found.sn or "").startswith(q.sn),
        q.pn is None or (found.pn or "").startswith(q.pn),
        q.file is None or q.file in (found.source_path or ""),
        q.since is None or found.created_at >= q.since,
        q.until is None or found.created_at < q.until,
        q.state is None or found.state == q.state,
    )
    return all(checks)


def resolve_key(journal: Journal, text: str) -> str:
    """``text`` as a submission key: a key, a report id, or a serial number of one submission.

    ``text`` itself when nothing matches (the caller says it is unknown or archived). Raises
    :class:`CliError` (exit 1), saying how to choose, when several submissions match.
    """
    if journal.submission(text) is not None:
        return text
    _catch_up(journal)
    by_id = sorted({f.key for f in _by_report_id(journal.path, text)})
    if len(by_id) == 1:
        return by_id[0]
    if len(by_id) > 1:
        raise CliError(
            f"report id {text!r} belongs to {len(by_id)} submissions ({', '.join(by_id)}); "
            "name one by its key"
        )
    keys = [str(row["key"]) for row in query(journal.path, _KEYS_BY_SN, [text])]
    if len(keys) == 1:
        return keys[0]
    if keys:
        shown = ", ".join(keys[:5]) + (", ..." if len(keys) > 5 else "")
        raise CliError(
            f"serial number {text!r} matches {len(keys) if len(keys) <= 20 else 'over 20'} "
            f"submissions ({shown}); list them with 'syncengine find --sn {text}' and name one "
            "by its key"
        )
    return text


def archived_view(journal: Journal, key: str) -> dict[str, Any] | None:
    """What ``inspect`` shows of an archived submission (None if ``key`` is not archived):
    where it went, and its report's identity from the report index."""
    where = archived_at(journal, [key]).get(key)
    if where is None:
        return None
    rows = list(query(journal.path, _INDEXED_BY_KEY, [key]))
    report = rows[0] if rows else {}
    return {
        "key": key,
        "state": "archived",
        "archived_at": where.at,
        "archive_file": where.file,
        "archive_seq": where.archive_seq,
        "sn": report.get("sn"),
        "pn": report.get("pn"),
        "process_code": report.get("process_code"),
        "report_id": report.get("report_id"),
        "source_path": report.get("source_path"),
        "created_at": report.get("created_at"),
    }


def missing_submission_message(journal: Journal, key: str) -> str:
    """Why ``key`` has no live submission: archived (when and where), or unknown."""
    where = archived_at(journal, [key]).get(key)
    if where is not None:
        return (
            f"submission {key!r} was acknowledged and then {where.describe()} (journal event "
            f"{where.archive_seq}); 'syncengine journal archive verify FILE' checks that file"
        )
    return (
        f"nothing in journal {journal.path} has the key, report id or serial number {key!r} "
        "('syncengine find' searches by part number, file name or time)"
    )
