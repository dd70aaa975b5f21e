"""Finding submissions the way operators think: by serial number, part number, report id,
source file name or time, and turning a report id or a unique serial number into a key.

The journal's ``report_index`` (one row per submitted report: key, sn, pn, report id, source
path, time) serves every lookup; the journal must have been opened by :class:`journal.Journal`
first, which migrates an older journal so that the index exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from journal import Journal, ReportFilter, ReportRow, query
from syncengine.cli._runtime import CliError

_BY_ID = (
    "SELECT r.seq, r.key, r.sn, r.pn, r.process_code, r.report_id, r.source_path, r.created_at, "
    "COALESCE(s.state, 'archived') AS state FROM report_index AS r "
    "LEFT JOIN submissions AS s ON s.key = r.key WHERE r.report_id = ? ORDER BY r.seq DESC"
)
_KEYS_BY_SN = "SELECT DISTINCT key FROM report_index WHERE sn = ? ORDER BY seq DESC LIMIT 21"


@dataclass(frozen=True)
class Found:
    """One submission found: its key, state, report identity and source file."""

    key: str
    state: str
    sn: str | None
    pn: str | None
    report_id: str | None
    source_path: str | None
    created_at: float

    @classmethod
    def of(cls, row: ReportRow) -> Found:
        """From a row of :meth:`journal.Journal.reports`."""
        return cls(
            row.key, row.state, row.sn, row.pn, row.report_id, row.source_path, row.created_at
        )


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
        return [f for f in _by_report_id(journal.path, q.report_id) if _matches(f, q)][: q.limit]
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
            )
        )
        out += [Found.of(row) for row in page.rows]
        if page.next_before is None:
            break
        before = page.next_before
    return out


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


def missing_submission_message(journal: Journal, key: str) -> str:
    """Why ``key`` has no live submission: archived (and where to look), or unknown."""
    from journal import query

    sql = "SELECT archive_seq FROM archived WHERE key = ?"
    rows = list(query(journal.path, sql, (key,)))
    if rows:
        return (
            f"submission {key!r} was acknowledged and then archived (journal event "
            f"{rows[0]['archive_seq']}); its history is in that archive file "
            "(see 'syncengine journal dump' for the Archived event)"
        )
    return f"no submission with key {key!r} in journal {journal.path}"
