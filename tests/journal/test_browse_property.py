"""``reports()`` against a brute-force model: any mix of filters, walked page by page, lists
exactly the matching submissions, newest first, each once."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

from journal import Journal, NewEvent, ReportFilter

from .conftest import Clock

FAILED = {"reason": "400", "error_class": "ValidationError", "status_code": 400}
ITEMS = st.lists(
    st.tuples(
        st.sampled_from(["A1", "A2", "B1", "<b>", "A"]),  # serial number
        st.sampled_from(["P-1", "P-2", "Q"]),  # part number
        st.sampled_from([10, 20, "30"]),  # process code (numbers or text in WSJF)
        st.sampled_from(["pending", "acked", "failed", "dismissed"]),
    ),
    min_size=0,
    max_size=25,
)
FILTERS = st.fixed_dictionaries(
    {},
    optional={
        "state": st.sampled_from(["pending", "acked", "failed", "dismissed", "in_flight"]),
        "sn": st.sampled_from(["A", "A1", "B", "<", "Z"]),
        "pn": st.sampled_from(["P", "P-2", "Q"]),
        "process": st.sampled_from(["10", "20", "30", "99"]),
        "source": st.sampled_from(["dir-1", "file-3", "nope"]),
        "since": st.integers(0, 30),
        "until": st.integers(0, 30),
    },
)


def build(path: Path, items: list[tuple[str, str, Any, str]]) -> list[dict[str, Any]]:
    clock = Clock(1000.0)
    model = []
    with Journal(path, clock=clock) as journal:
        for i, (sn, pn, process, state) in enumerate(items):
            clock.advance(1)
            key = f"k{i}"
            payload = {"type": "T", "id": key, "sn": sn, "pn": pn, "processCode": process}
            journal.submit(key, payload, source={"path": f"/in/dir-{i % 2}/file-{i}.json"})
            events = []
            if state != "pending":
                events.append(NewEvent(key, "UploadStarted"))
            if state == "acked":
                events.append(NewEvent(key, "Acknowledged", {"answer": {}}))
            if state in ("failed", "dismissed"):
                events.append(NewEvent(key, "Failed", FAILED))
            if state == "dismissed":
                events.append(NewEvent(key, "Dismissed", {"reason": "x"}))
            journal.record(events)
            model.append(
                {
                    "key": key,
                    "sn": sn,
                    "pn": pn,
                    "process": str(process),
                    "state": state,
                    "source": f"/in/dir-{i % 2}/file-{i}.json",
                    "at": clock.now,
                }
            )
    return model


def matches(row: dict[str, Any], flt: dict[str, Any]) -> bool:
    return (
        flt.get("state") in (None, row["state"])
        and row["sn"].startswith(flt.get("sn", ""))
        and row["pn"].startswith(flt.get("pn", ""))
        and flt.get("process") in (None, row["process"])
        and flt.get("source", "") in row["source"]
        and row["at"] >= 1000 + flt.get("since", -1000)
        and ("until" not in flt or row["at"] < 1000 + flt["until"])
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=ITEMS, flt=FILTERS, limit=st.integers(1, 7))
def test_reports_list_exactly_the_matching_submissions(
    items: list[tuple[str, str, Any, str]], flt: dict[str, Any], limit: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "j.db"
        model = build(path, items)
        expected = [r["key"] for r in reversed(model) if matches(r, flt)]
        args = dict(flt)
        for name in ("since", "until"):
            if name in args:
                args[name] = 1000.0 + args[name]
        seen: list[str] = []
        with Journal(path) as journal:
            before = None
            for _ in range(len(items) + 2):
                page = journal.reports(ReportFilter(**args, before=before, limit=limit))
                seen += [r.key for r in page.rows]
                assert len(page.rows) <= limit
                before = page.next_before
                if before is None:
                    break
        assert seen == expected
