"""Every way ``_browse_plan`` finds a page lists exactly what a brute-force filter lists.

A small journal (every state, archived reports, prefixes shared by many or few reports, a
process code and a file name only old reports have, a clock that goes back) is listed with
every filter the station page and ``syncengine find`` offer, each alone and with each state,
page by page. The plan's knobs are set so that each way is taken: the newest-first walk alone
(as shipped, on a journal this small), the sort of a range's seqs in chunks, and the skip to
the newest possible match before walking. The expected rows come from every row of
``report_index`` and ``submissions`` filtered in Python: same rows, same order, every row once.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator
from dataclasses import astuple
from pathlib import Path
from typing import Any

import pytest

import journal._browse_plan as plan
from journal import Journal, NewEvent, ReportFilter, ReportRow

from .conftest import Clock

FAILED = {"reason": "400", "error_class": "ValidationError", "status_code": 400}
START = 1_000.0
REPORTS = 90
STATES = ["pending", "in_flight", "acked", "failed", "superseded", "dismissed", "archived"]
ONE = [
    {},
    {"sn": "A"},  # three serials in five
    {"sn": "A1"},
    {"sn": "B1-17"},  # one report
    {"sn": "Z"},
    {"pn": "P"},
    {"pn": "P-2"},
    {"pn": "Q"},  # old reports only
    {"process": "10"},
    {"process": "40"},  # old reports only
    {"process": "99"},
    {"source": "dir-1"},
    {"source": "old-"},  # old reports only
    {"source": "no-such-file"},
    {"since": START, "until": START + 1_000},  # every report
    {"since": START + 5, "until": START + 25},  # old reports (and some after the clock went back)
    {"since": START + 60, "until": START + 62},
    {"since": START + 40},
    {"until": START + 30},
    {"since": START + 500},  # none
]
MORE = [
    {"sn": "A", "pn": "P-1"},
    {"pn": "P", "process": "20", "since": START + 10},
    {"sn": "A", "source": "dir-2", "until": START + 70},
    {"pn": "Q", "process": "40"},
]
FILTERS = [
    {**one, **({"state": state} if state else {})}
    for one, state in itertools.product(ONE + MORE, [None, *STATES])
]
PLANS = {
    "walk newest first": {},
    "sort a range in chunks": {"_WINDOW": 2, "_SMALL": 10**9, "_CHUNK": 1},
    "skip to the newest match, then walk": {"_WINDOW": 2, "_SMALL": 0},
    "skip from the top": {"_WINDOW": 0, "_SMALL": 0},
}


def _state(i: int) -> str:
    return (
        ["pending", "in_flight", "failed", "superseded", "dismissed"][i % 9]
        if i % 9 < 5
        else "acked"
    )


def _build(path: Path) -> None:
    clock = Clock(START)
    with Journal(path, clock=clock) as journal:
        for i in range(REPORTS):
            clock.advance(-30 if i == 50 else 1)  # created_at does not always grow with seq
            key = f"k{i}"
            payload = {
                "type": "T",
                "id": f"id-{i}",
                "sn": f"{['A1', 'A2', 'B1', 'AB', 'A'][i % 5]}-{i}",
                "pn": "Q" if i < 20 and i % 2 else ["P-1", "P-2"][i % 2],
                "processCode": 40 if i < 10 else [10, 20, "30"][i % 3],
            }
            path_ = f"/in/old-{i}.json" if i < 15 else f"/in/dir-{i % 4}/file-{i}.json"
            journal.submit(key, payload, source={"path": path_})
            state, events = _state(i), []
            if state != "pending":
                events.append(NewEvent(key, "UploadStarted"))
            if state == "acked":
                events.append(NewEvent(key, "Acknowledged", {"answer": {}}))
            if state in ("failed", "superseded", "dismissed"):
                events.append(NewEvent(key, "Failed", FAILED))
            if state == "dismissed":
                events.append(NewEvent(key, "Dismissed", {"reason": "scrap"}))
            journal.record(events)
            if state == "superseded":  # the corrected report is a new (pending) submission
                journal.supersede(key, {**payload, "id": f"id-{i}-fixed"}, reason="fixed")
        clock.now = START + 200
        # The acked reports last updated in the first ~25 s leave for an archive file.
        assert journal.archive(200 - 25, path.parent / "old.jsonl.gz").submissions > 5


def _all_rows(path: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(path)
    try:
        archived = {k for (k,) in conn.execute("SELECT key FROM archived")}
        rows = conn.execute(
            f"SELECT {plan.ROW} FROM report_index AS r "
            "LEFT JOIN submissions AS s ON s.key = r.key ORDER BY r.seq DESC"
        ).fetchall()
    finally:
        conn.close()
    names = [c.strip().split(".")[1] for c in plan.ROW.split(",")]
    out = [dict(zip(names, row, strict=True)) for row in rows]
    for row in out:
        row["archived"] = row["key"] in archived
        row["state"] = row["state"] or "archived"
    return out


def _matches(row: dict[str, Any], flt: dict[str, Any]) -> bool:
    state = flt.get("state")
    if state is None and row["archived"] and not flt.get("with_archived"):
        return False
    return (
        state in (None, row["state"])
        and ("sn" not in flt or (row["sn"] or "\0").startswith(flt["sn"]))
        and ("pn" not in flt or (row["pn"] or "\0").startswith(flt["pn"]))
        and flt.get("process") in (None, row["process_code"])
        and ("source" not in flt or flt["source"] in (row["source_path"] or "\0"))
        and row["created_at"] >= flt.get("since", float("-inf"))
        and row["created_at"] < flt.get("until", float("inf"))
    )


def _listed(journal: Journal, flt: dict[str, Any], limit: int) -> Iterator[ReportRow]:
    before = None
    for _ in range(2 * REPORTS + 2):  # the superseded ones' corrections are reports too
        page = journal.reports(ReportFilter(**flt, before=before, limit=limit))
        assert len(page.rows) <= limit
        assert (page.next_before is None) or len(page.rows) == limit
        yield from page.rows
        before = page.next_before
        if before is None:
            return
    raise AssertionError("paging did not end")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    path = tmp_path_factory.mktemp("plans") / "j.db"
    _build(path)
    rows = _all_rows(path)
    assert {r["state"] for r in rows} == set(STATES)
    return path, rows


@pytest.mark.parametrize("knobs", PLANS.values(), ids=list(PLANS))
def test_every_filter_lists_exactly_the_brute_force_rows_page_by_page(
    built: tuple[Path, list[dict[str, Any]]], knobs: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, rows = built
    for name, value in knobs.items():
        monkeypatch.setattr(plan, name, value)
    with Journal(path) as journal:
        for flt, limit in itertools.product([*FILTERS, {"with_archived": True}], (1, 3, 500)):
            expected = [
                (r["seq"], r["key"], r["state"], r["sn"], r["created_at"])
                for r in rows
                if _matches(r, flt)
            ]
            seen = [
                (r.seq, r.key, r.state, r.sn, r.created_at) for r in _listed(journal, flt, limit)
            ]
            assert seen == expected, (flt, limit)


def test_a_listed_row_carries_the_submissions_fields(
    built: tuple[Path, list[dict[str, Any]]],
) -> None:
    path, rows = built
    with Journal(path) as journal:
        listed = journal.reports(ReportFilter(state="failed", limit=500)).rows
    by_seq = {r["seq"]: r for r in rows}
    assert listed
    for row in listed:
        want = by_seq[row.seq]
        assert astuple(row)[:8] == tuple(want[c] for c in list(want)[:8])
        assert (row.attempts, row.error_class, row.error_status) == (1, "ValidationError", 400)


def _plans(path: Path, flt: ReportFilter) -> list[tuple[str, str]]:
    """(SQL, its query plan) of every statement ``page_rows`` runs for ``flt``."""
    conn = sqlite3.connect(path)
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        plan.page_rows(conn, flt, 51)
        conn.set_trace_callback(None)
        return [
            (sql, " / ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}")))
            for sql in statements
        ]
    finally:
        conn.close()


@pytest.mark.parametrize("knobs", PLANS.values(), ids=list(PLANS))
def test_the_only_sorts_are_of_a_chunk_of_seqs(
    built: tuple[Path, list[dict[str, Any]]], knobs: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = built
    for name, value in knobs.items():
        monkeypatch.setattr(plan, name, value)
    for flt in FILTERS:
        for sql, steps in _plans(path, ReportFilter(**flt)):
            if "TEMP B-TREE" in steps:
                # The top seqs of a range, from its index alone; then those rows (a chunk).
                assert sql.startswith("SELECT seq FROM report_index INDEXED BY") or (
                    "json_each" in sql
                ), (flt, sql, steps)
