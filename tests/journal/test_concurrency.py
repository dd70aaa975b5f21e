"""Several processes and several threads appending to one journal at once."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from journal import Journal, JournalBusyError

from .conftest import report
from .test_crash import spawn

PROCESSES = 4
PER_PROCESS = 60


def test_processes_appending_at_once_lose_and_duplicate_nothing(journal_path: Path) -> None:
    Journal(journal_path).close()
    procs = [spawn(journal_path, f"p{n}", PER_PROCESS, "lifecycle") for n in range(PROCESSES)]
    outputs = [proc.communicate(timeout=240) for proc in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err and "DONE" in out
    with Journal(journal_path) as j:
        assert j.counts() == {
            "pending": 0,
            "in_flight": 0,
            "acked": PROCESSES * PER_PROCESS,
            "failed": 0,
            "superseded": 0,
            "dismissed": 0,
        }
        events = list(j.dump(payloads=False))
        assert len(events) == 3 * PROCESSES * PER_PROCESS
        assert len({e["event_id"] for e in events}) == len(events)
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert j.verify().ok and j.check().ok


def test_threads_submitting_at_once_all_land(journal_path: Path) -> None:
    errors: list[BaseException] = []
    with Journal(journal_path) as j:

        def worker(n: int) -> None:
            try:
                for i in range(50):
                    sub = j.submit(f"t{n}-{i}", report(i))
                    assert sub.key == f"t{n}-{i}"
            except BaseException as exc:  # reported to the main thread below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors
        assert j.counts()["pending"] == 300
        assert j.verify().ok and j.check().ok


def test_conflicting_submit_among_concurrent_ones_fails_alone(journal_path: Path) -> None:
    with Journal(journal_path) as j:
        j.submit("dup", report(1))
        results: dict[str, object] = {}

        def worker(key: str, n: int) -> None:
            try:
                results[key] = j.submit(key, report(n)).state
            except Exception as exc:
                results[key] = type(exc).__name__

        threads = [threading.Thread(target=worker, args=(k, n)) for k, n in (("dup", 2), ("ok", 3))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert results == {"dup": "SubmissionConflictError", "ok": "pending"}


def test_lock_held_past_timeout_raises_busy_not_sqlite_error(journal_path: Path) -> None:
    Journal(journal_path).close()
    blocker = sqlite3.connect(journal_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with Journal(journal_path, busy_timeout_s=0.2) as j:
            with pytest.raises(JournalBusyError, match="locked"):
                j.submit("k", report())
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


def test_threads_submitting_together_share_commits(journal_path: Path) -> None:
    transactions: list[float] = []

    def clock() -> float:  # the journal reads the clock once per transaction
        transactions.append(1.0)
        return 1_700_000_000.0 + len(transactions)

    with Journal(journal_path, clock=clock) as j:
        start = threading.Barrier(8)

        def worker(n: int) -> None:
            start.wait(timeout=30)
            for i in range(20):
                j.submit(f"t{n}-{i}", report(i))

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert j.counts()["pending"] == 160
    assert len(transactions) < 160
