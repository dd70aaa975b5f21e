"""One error root: what the engine raises to an embedder is a SyncEngineError, and a journal
error raised through the engine is still an instance of its own journal class."""

from __future__ import annotations

import pickle
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

import journal
import syncengine
from syncengine import (
    EngineConfig,
    EngineJournalError,
    EngineNotRunningError,
    EngineStateError,
    JournalClosedError,
    LocalServerError,
    SyncEngine,
    SyncEngineError,
    UiConfig,
)
from syncengine._errors import from_journal
from watsim import Simulator

from .test_engine_support import fast_config, report


def test_a_conflicting_resubmit_is_both_roots(tmp_path: Path, sim: Simulator) -> None:
    with SyncEngine(fast_config(tmp_path, sim)) as engine:
        key = engine.submit(report(1))
        changed = {**report(1), "sn": "SN-OTHER"}
        with pytest.raises(SyncEngineError) as caught:
            engine.submit(changed)
    error = caught.value
    assert isinstance(error, journal.SubmissionConflictError)
    assert isinstance(error, EngineJournalError)
    assert error.key == key
    assert isinstance(error.__cause__, journal.SubmissionConflictError)
    assert str(error) == str(error.__cause__)
    assert type(error).__name__ == "SubmissionConflictError"


def test_requeue_of_an_unknown_key_is_the_engines_unknown_submission_error(
    tmp_path: Path, sim: Simulator
) -> None:
    with SyncEngine(fast_config(tmp_path, sim)) as engine:
        with pytest.raises(syncengine.UnknownSubmissionError, match="no-such-key") as caught:
            engine.requeue("no-such-key")
    # The engine's own class (docs/errors.md, "One name in two packages"), not the journal's.
    assert not isinstance(caught.value, journal.JournalError)
    assert isinstance(caught.value, KeyError)


def test_a_damaged_journal_at_start_is_both_roots(tmp_path: Path, sim: Simulator) -> None:
    config = fast_config(tmp_path, sim)
    config.journal_path.write_bytes(b"this is not an SQLite database" * 100)
    engine = SyncEngine(config)
    with pytest.raises(SyncEngineError) as caught:
        engine.start()
    assert isinstance(caught.value, journal.CorruptJournalError)
    assert caught.value.path == config.journal_path
    assert engine.state == "new"


def test_reads_after_stop_are_engine_state_errors(tmp_path: Path, sim: Simulator) -> None:
    engine = SyncEngine(fast_config(tmp_path, sim))
    with engine:
        engine.submit(report(2))
    with pytest.raises(EngineNotRunningError):
        engine.counts()
    with pytest.raises(EngineNotRunningError):
        engine.history(report(2)["id"])


def test_journal_closed_error_is_an_engine_state_error() -> None:
    assert issubclass(JournalClosedError, EngineStateError)
    assert issubclass(JournalClosedError, SyncEngineError)


def test_from_journal_keeps_class_message_and_attributes() -> None:
    original = journal.JournalBusyError(Path("j.db"), 2.5, "database is locked")
    wrapped = from_journal(original)
    assert isinstance(wrapped, journal.JournalBusyError)
    assert isinstance(wrapped, SyncEngineError)
    assert (wrapped.path, wrapped.waited_s, wrapped.detail) == (Path("j.db"), 2.5, original.detail)
    assert str(wrapped) == str(original)
    assert from_journal(wrapped) is wrapped
    # One class per journal class, so `except` clauses and isinstance checks agree.
    assert type(from_journal(journal.JournalBusyError(Path("x"), 1.0, "d"))) is type(wrapped)


def test_wrapped_errors_pickle_as_the_same_class() -> None:
    # Embedders send errors across processes (multiprocessing, logging handlers).
    wrapped = from_journal(journal.SubmissionConflictError("k", "a" * 64, "b" * 64))
    back = pickle.loads(pickle.dumps(wrapped))
    assert type(back) is type(wrapped)
    assert (back.key, back.existing_digest, str(back)) == ("k", "a" * 64, str(wrapped))


def test_a_journal_locked_by_another_process_fails_submit_after_journal_busy_s(
    tmp_path: Path, sim: Simulator
) -> None:
    config = fast_config(tmp_path, sim, timeouts={"journal_busy_s": 0.2, "stop_join_s": 1.0})
    with SyncEngine(config) as engine:
        engine.submit(report(3))
        assert engine.wait_idle(30)  # the engine's own writes for report 3 are done
        # A busy timeout, so this connection waits out any engine write still finishing.
        other = sqlite3.connect(str(config.journal_path), timeout=10, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # another process holding the write lock
            with pytest.raises(SyncEngineError) as caught:
                engine.submit(report(4))
            other.execute("ROLLBACK")
        finally:
            other.close()
        assert isinstance(caught.value, journal.JournalBusyError)
        assert engine.submission(report(4)["id"]) is None
        # Once the lock is free the same submit goes through.
        assert engine.submit(report(4)) == report(4)["id"]


@pytest.mark.parametrize(
    "field, value",
    [
        ("journal_busy_s", 0),
        ("stop_submits_s", -1),
        ("stop_join_s", 601),
        ("journal_close_s", -0.5),
    ],
)
def test_engine_timeouts_are_validated(tmp_path: Path, field: str, value: float) -> None:
    with pytest.raises(ValidationError, match=field):
        EngineConfig(
            server_url="http://127.0.0.1:1",
            token="t",
            journal_path=tmp_path / "j.db",
            timeouts={field: value},
        )


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port another socket is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def test_a_taken_health_port_is_a_local_server_error_naming_the_key(
    tmp_path: Path, sim: Simulator, taken_port: int
) -> None:
    config = fast_config(tmp_path, sim, health_http={"enabled": True, "port": taken_port})
    engine = SyncEngine(config)
    with pytest.raises(LocalServerError) as caught:
        engine.start()
    error = caught.value
    assert isinstance(error, SyncEngineError) and isinstance(error, OSError)
    assert (error.key, error.host, error.port) == ("health_http.port", "127.0.0.1", taken_port)
    assert f"127.0.0.1:{taken_port}" in str(error) and "health_http.port" in str(error)
    assert engine.state == "new"


def test_a_taken_page_port_leaves_the_journal_and_lock_free(
    tmp_path: Path, sim: Simulator, taken_port: int
) -> None:
    config = fast_config(tmp_path, sim, ui={"enabled": True, "port": taken_port})
    with pytest.raises(LocalServerError) as caught:
        SyncEngine(config).start()
    assert caught.value.key == "ui.port"
    # Lock released and journal closed: another engine on the same journal starts and works.
    with SyncEngine(config.model_copy(update={"ui": UiConfig()})) as engine:
        engine.submit(report(5))
        assert engine.wait_idle(30)
