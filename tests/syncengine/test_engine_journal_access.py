"""The engine's journal handle: closing waits for running calls, later calls are refused."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from journal import Journal
from syncengine import EngineStateError, SyncEngineError
from syncengine._errors import JournalClosedError
from syncengine._journal_access import JournalAccess

from .test_engine_support import report


@pytest.fixture
def access(tmp_path: Path) -> Iterator[JournalAccess]:
    journal = Journal(tmp_path / "j.db", synchronous="NORMAL")
    for i in range(8):
        journal.submit(report(i)["id"], report(i))
    journal.upload_started([report(i)["id"] for i in range(8)])
    gate = JournalAccess(journal)
    yield gate
    gate.close(5.0)


def test_concurrent_outcomes_are_all_committed(access: JournalAccess) -> None:
    def ack(i: int) -> None:
        key = report(i)["id"]
        access.call(lambda j: j.acknowledged(key, answer={"report_id": key}))

    threads = [threading.Thread(target=ack, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert access.call(lambda j: j.counts())["acked"] == 8


def test_calls_after_close_raise_journal_closed(access: JournalAccess) -> None:
    access.close(5.0)
    with pytest.raises(JournalClosedError) as caught:
        access.call(lambda j: j.counts())
    # An embedder catching the engine's root catches it too.
    assert isinstance(caught.value, EngineStateError)
    assert isinstance(caught.value, SyncEngineError)


def test_close_waits_for_a_running_call(access: JournalAccess) -> None:
    entered, release = threading.Event(), threading.Event()
    seen: list[dict[str, int]] = []

    def slow(j: Journal) -> None:
        entered.set()
        release.wait(10)
        seen.append(j.counts())  # the journal is still open: close() waits for this call

    worker = threading.Thread(target=access.call, args=(slow,))
    worker.start()
    assert entered.wait(10)
    closer = threading.Thread(target=access.close, args=(10.0,))
    closer.start()
    release.set()
    worker.join(10)
    closer.join(10)
    assert seen and seen[0]["in_flight"] == 8
    with pytest.raises(JournalClosedError):
        access.call(lambda j: j.counts())
