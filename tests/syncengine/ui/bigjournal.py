"""A large journal for the station page's list: ``WATS_UI_BIG_EVENTS`` events (default 20,000;
the 1,000,000 figure in docs/performance.md was measured by hand with this same builder)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from journal import Journal, NewEvent

BIG_EVENTS = int(os.environ.get("WATS_UI_BIG_EVENTS", "20000"))
NEEDLE_SN = "SN-NEEDLE-0042"
"""One failed report in the middle of the journal, for the filter to find."""


def _report(i: int) -> dict[str, Any]:
    return {
        "type": "T",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"big-{i}")),
        "pn": f"PCBA-{1000 + i % 50}",
        "sn": NEEDLE_SN if i == 4242 else f"SN-{i:08d}",
        "rev": "A",
        "processCode": 10 + i % 3,
        "result": "P",
        "machineName": "ICT-01",
        "start": "2026-03-01T09:15:02.125+01:00",
        "root": {"id": 1, "group": "M", "stepType": "SequenceCall", "name": "Main", "status": "P"},
    }


def build(path: Path, events: int = BIG_EVENTS, chunk: int = 2000) -> int:
    """Write about ``events`` events (Submitted, UploadStarted, Acknowledged per report; every
    500th report failed instead); returns the number of reports."""
    reports = max(1, events // 3)
    with Journal(path, synchronous="NORMAL") as journal:
        for start in range(0, reports, chunk):
            batch = [_report(i) for i in range(start, min(reports, start + chunk))]
            items = [
                (r["id"], r, {"path": f"/in/line-{i % 4}/{r['sn']}.json"})
                for i, r in zip(range(start, start + len(batch)), batch, strict=True)
            ]
            journal.submit_many(items)
            outcome: list[NewEvent] = []
            for i, r in zip(range(start, start + len(batch)), batch, strict=True):
                outcome.append(NewEvent(r["id"], "UploadStarted"))
                if i % 500 == 42:
                    fields = {
                        "reason": "rejected",
                        "error_class": "ValidationError",
                        "status_code": 400,
                    }
                    outcome.append(NewEvent(r["id"], "Failed", fields))
                else:
                    outcome.append(NewEvent(r["id"], "Acknowledged", {"answer": {"id": r["id"]}}))
            journal.record(outcome, durable=False)
    return reports
