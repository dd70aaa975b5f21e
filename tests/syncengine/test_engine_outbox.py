"""The outbox's journal gateway: group commit of outcomes, and closing under load."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from journal import InvalidTransitionError, Journal, NewEvent
from syncengine._outbox import JournalAccess, JournalClosedError, _Pending

from .test_engine_support import report


@pytest.fixture
def access(tmp_path: Path) -> Iterator[JournalAccess]:
    journal = Journal(tmp_path / "j.db", synchronous="NORMAL")
    for i in range(8):
        journal.submit(report(i)["id"], report(i))
    journal.upload_started([report(i)["id"] for i in range(8)])
    gate = JournalAccess(journal)
    yield gate
    gate.close()


def ack(i: int) -> NewEvent:
    return NewEvent(report(i)["id"], "Acknowledged", {"answer": {"report_id": "x"}})


def test_concurrent_outcomes_are_all_committed(access: JournalAccess) -> None:
    threads = [threading.Thread(target=access.record, args=(ack(i),)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert access.call(lambda j: j.counts())["acked"] == 8


def test_one_invalid_event_does_not_sink_the_batch(access: JournalAccess) -> None:
    good, bad = _Pending(ack(0)), _Pending(NewEvent("no-such-key", "Acknowledged", {"answer": {}}))
    access._commit([good, bad])
    assert (good.done, good.error) == (True, None)
    assert bad.done and bad.error is not None
    assert access.call(lambda j: j.state(report(0)["id"])) == "acked"


def test_an_invalid_event_raises_in_its_own_caller(access: JournalAccess) -> None:
    access.record(ack(1))
    with pytest.raises(InvalidTransitionError):
        access.record(NewEvent(report(1)["id"], "Failed", {"reason": "x", "error_class": "E"}))


def test_calls_after_close_raise_journal_closed(access: JournalAccess) -> None:
    access.close()
    with pytest.raises(JournalClosedError):
        access.record(ack(2))
