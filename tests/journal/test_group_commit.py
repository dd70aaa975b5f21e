"""Group commit of state events: concurrent record() calls share transactions, each call still
all or nothing on its own, and one invalid call never sinks the others committed with it."""

from __future__ import annotations

import threading

import pytest

from journal import InvalidTransitionError, Journal, NewEvent, UnknownSubmissionError
from journal._journal import _Request


def _payload(i: int) -> dict[str, object]:
    return {"id": f"k{i}", "n": i}


def _in_flight(journal: Journal, n: int) -> list[str]:
    keys = [f"k{i}" for i in range(n)]
    for i, key in enumerate(keys):
        journal.submit(key, _payload(i))
    journal.upload_started(keys)
    return keys


def _ack(key: str) -> NewEvent:
    return NewEvent(key, "Acknowledged", {"answer": {"id": key, "status_code": 200}})


def test_concurrent_records_are_all_committed(journal: Journal) -> None:
    keys = _in_flight(journal, 16)
    errors: list[BaseException] = []

    def ack(key: str) -> None:
        try:
            journal.acknowledged(key, answer={"id": key, "status_code": 200})
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=ack, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert journal.counts() == {
        "pending": 0,
        "in_flight": 0,
        "acked": 16,
        "failed": 0,
        "superseded": 0,
        "dismissed": 0,
    }
    assert journal.verify().ok
    assert journal.check().ok


def test_one_invalid_request_does_not_sink_its_batch(journal: Journal) -> None:
    keys = _in_flight(journal, 3)
    good = _Request(events=[(keys[0], "Acknowledged", {"answer": {}})])
    # The second request is all or nothing: its valid first event is undone with the bad one.
    bad = _Request(
        events=[(keys[1], "Acknowledged", {"answer": {}}), ("ghost", "Acknowledged", {})]
    )
    submit = _Request(item=journal._prepare("new", {"id": "new"}, None))
    journal._commit_requests([good, bad, submit])
    assert good.done and good.error is None
    assert bad.done and isinstance(bad.error, UnknownSubmissionError)
    assert submit.done and submit.error is None
    assert journal.state(keys[0]) == "acked"
    assert journal.state(keys[1]) == "in_flight"
    assert journal.state("new") == "pending"
    assert [e.type for e in journal.history(keys[1])] == ["Submitted", "UploadStarted"]
    assert journal.verify().ok
    assert journal.check().ok


def test_an_invalid_record_raises_in_its_own_caller_and_writes_nothing(journal: Journal) -> None:
    keys = _in_flight(journal, 2)
    journal.record([_ack(keys[0])])
    with pytest.raises(InvalidTransitionError):
        journal.record(
            [_ack(keys[1]), NewEvent(keys[0], "Failed", {"reason": "x", "error_class": "E"})]
        )
    assert journal.state(keys[1]) == "in_flight"
    assert journal.check().ok


def test_an_event_with_an_unknown_type_is_refused(journal: Journal) -> None:
    keys = _in_flight(journal, 1)
    with pytest.raises(ValueError, match="unknown state event type"):
        journal.record([NewEvent(keys[0], "Teleported", {})])
    assert journal.state(keys[0]) == "in_flight"


def test_producers_that_stop_never_hold_up_the_one_that_goes_on(journal: Journal) -> None:
    """The leader waits (bounded) for callers the last commit released; most never come back."""
    commits: list[int] = []
    real = journal._commit_requests

    def counting(batch: list[_Request], **kw: bool) -> None:
        commits.append(len(batch))
        real(batch, **kw)

    journal._commit_requests = counting  # type: ignore[method-assign]
    start = threading.Barrier(8)

    def once(w: int) -> None:
        start.wait()
        journal.submit(f"burst-{w}", _payload(w))

    threads = [threading.Thread(target=once, args=(w,)) for w in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for i in range(20):  # one producer goes on alone: each submit commits by itself
        journal.submit(f"alone-{i}", _payload(i))
    assert sum(commits) == 28 and commits[-20:] == [1] * 20
    assert journal.counts()["pending"] == 28
    assert journal.verify().ok and journal.check().ok


def test_a_leader_interrupted_while_gathering_does_not_block_later_callers(
    journal: Journal,
) -> None:
    real = journal._queue_changed
    interrupted = []

    class _Interrupting:
        """The journal's condition, except that the first timed wait raises (Ctrl-C)."""

        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        def __enter__(self) -> object:
            return real.__enter__()

        def __exit__(self, *exc: object) -> None:
            real.__exit__(*exc)

        def wait(self, timeout: float | None = None) -> bool:
            if timeout is not None and not interrupted:
                interrupted.append(True)
                raise KeyboardInterrupt
            return real.wait(timeout)

    journal._queue_changed = _Interrupting()  # type: ignore[assignment]
    with real:
        journal._active += 1  # another producer is still preparing: the leader gathers
    with pytest.raises(KeyboardInterrupt):
        journal.submit("k-interrupted", _payload(1))
    with real:
        journal._active -= 1  # that producer gave up
    journal._queue_changed = real
    done: list[str] = []
    later = threading.Thread(
        target=lambda: done.append(journal.submit("k2", _payload(2)).key), daemon=True
    )
    later.start()
    later.join(10)
    assert done == ["k2"], "a later submit hung behind the interrupted leader"
    assert journal.state("k-interrupted") is None and journal.counts()["pending"] == 1
