"""SyncEngine against the real simulator over HTTP: contract, lifecycle, signals, status."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from journal import Journal
from pywats import parse_report
from syncengine import (
    EngineConfig,
    EngineLockedError,
    EngineNotRunningError,
    EngineStateError,
    EngineStoppingError,
    ReportInputError,
    SyncEngine,
    read_status,
    signals,
)
from syncengine._watcher import WatchFolderError
from watsim import Simulator

from .test_engine_support import (
    Receivers,
    Recorder,
    assert_exactly,
    fast_config,
    receivers,
    recorder,
    report,
    wait_for,
)

__all__ = ["receivers", "recorder"]  # the fixtures are used by name


@pytest.fixture
def config(tmp_path: Path, sim: Simulator) -> EngineConfig:
    return fast_config(tmp_path, sim)


def test_contract_minimal_config_submit_and_wait_idle(tmp_path: Path, sim: Simulator) -> None:
    config = EngineConfig(
        server_url=sim.base_url, token="test-token", journal_path=tmp_path / "j.db"
    )
    with SyncEngine(config) as engine:
        key = engine.submit(report(1))
        assert engine.wait_idle(30)
    assert key == report(1)["id"]
    assert_exactly(sim, [key])


def test_submit_returns_only_after_the_journal_holds_it(config: EngineConfig) -> None:
    with SyncEngine(config) as engine:
        key = engine.submit(report(1))
        assert engine.history(key)[0].type == "Submitted"


def test_submit_accepts_a_pywats_report_model(config: EngineConfig, sim: Simulator) -> None:
    model = parse_report(report(7))
    with SyncEngine(config) as engine:
        key = engine.submit(model)
        assert engine.wait_idle(30)
    assert key == str(model.id)
    assert_exactly(sim, [key])


def test_explicit_key_is_used(config: EngineConfig, sim: Simulator) -> None:
    with SyncEngine(config) as engine:
        key = engine.submit(report(1), key="station-7/run-42")
        assert engine.wait_idle(30)
        assert engine.counts()["acked"] == 1
    assert key == "station-7/run-42"


def test_report_without_id_is_a_clear_error(config: EngineConfig) -> None:
    bad = report(1)
    del bad["id"]
    with SyncEngine(config) as engine, pytest.raises(ReportInputError, match="no string 'id'"):
        engine.submit(bad)


def test_non_report_is_a_clear_error(config: EngineConfig) -> None:
    with SyncEngine(config) as engine, pytest.raises(ReportInputError, match=r"got builtins\.str"):
        engine.submit("not a report")


def test_submit_before_start_is_refused(config: EngineConfig) -> None:
    with pytest.raises(EngineNotRunningError):
        SyncEngine(config).submit(report(1))


def test_submit_after_stop_raises_engine_stopping(config: EngineConfig) -> None:
    engine = SyncEngine(config)
    engine.start()
    engine.stop()
    with pytest.raises(EngineStoppingError, match="accepts no new submissions"):
        engine.submit(report(1))


def test_submit_while_stopping_is_refused(config: EngineConfig, receivers: Receivers) -> None:
    engine = SyncEngine(config)
    engine.start()
    refused: list[BaseException] = []

    def on_stopping(sender: Any, **kw: Any) -> None:
        try:
            engine.submit(report(2))
        except EngineStoppingError as exc:
            refused.append(exc)

    receivers.connect(signals.engine_stopping, on_stopping)
    engine.stop()
    assert len(refused) == 1


def test_submit_many_commits_all_and_delivers(config: EngineConfig, sim: Simulator) -> None:
    items = [(report(i)["id"], report(i), {"path": f"f{i}.json"}) for i in range(5)]
    with SyncEngine(config) as engine:
        keys = engine.submit_many(items)
        assert engine.wait_idle(30)
    assert keys == [k for k, _, _ in items]
    assert_exactly(sim, keys)


def test_submit_many_refuses_when_stopped(config: EngineConfig) -> None:
    engine = SyncEngine(config)
    engine.start()
    engine.stop()
    with pytest.raises(EngineStoppingError):
        engine.submit_many([(report(1)["id"], report(1), None)])


def test_same_report_twice_is_one_submission(config: EngineConfig, sim: Simulator) -> None:
    with SyncEngine(config) as engine:
        engine.submit(report(1))
        engine.submit(report(1))
        assert engine.wait_idle(30)
        assert engine.counts()["acked"] == 1
    assert sim.stats()["report_posts"] == 1


def test_signal_order_for_one_successful_upload(config: EngineConfig, recorder: Recorder) -> None:
    with SyncEngine(config) as engine:
        key = engine.submit(report(1))
        assert engine.wait_idle(30)
        wait_for(lambda: recorder.count("upload_succeeded") == 1, what="upload_succeeded")
    assert recorder.names() == [
        "engine_started",
        "submission_appended",
        "upload_started",
        "upload_succeeded",
        "engine_stopping",
        "engine_stopped",
    ]
    assert recorder.events[2][1] == {"key": key, "attempt": 1}


def test_signal_order_for_a_retry_then_success(
    config: EngineConfig, sim: Simulator, recorder: Recorder, receivers: Receivers
) -> None:
    sim.set_faults(error_rate=1.0, error_statuses=[503])
    receivers.connect(signals.retry_scheduled, lambda sender, **kw: sim.clear_faults())
    with SyncEngine(config) as engine:
        key = engine.submit(report(1))
        assert engine.wait_idle(30)
    assert recorder.names(key) == [
        "submission_appended",
        "upload_started",
        "upload_failed",
        "retry_scheduled",
        "upload_started",
        "upload_succeeded",
    ]
    failed = dict(recorder.events)["upload_failed"]
    assert (failed["status_code"], failed["error_class"]) == (503, "ServerError")


def test_a_raising_receiver_does_not_break_uploads(
    config: EngineConfig, sim: Simulator, receivers: Receivers
) -> None:
    def bad(sender: Any, **kw: Any) -> None:
        raise RuntimeError("gui bug")

    receivers.connect(signals.upload_started, bad)
    receivers.connect(signals.upload_succeeded, bad)
    with SyncEngine(config) as engine:
        keys = [engine.submit(report(i)) for i in range(5)]
        assert engine.wait_idle(30)
    assert_exactly(sim, keys)


def test_acknowledged_event_carries_the_servers_answer(config: EngineConfig) -> None:
    with SyncEngine(config) as engine:
        key = engine.submit(report(1))
        assert engine.wait_idle(30)
        ack = next(e for e in engine.history(key) if e.type == "Acknowledged")
    assert ack.data["answer"]["report_id"] == key
    assert ack.data["answer"]["status_code"] == 200


def test_in_flight_left_by_a_crash_is_sent_at_start(config: EngineConfig, sim: Simulator) -> None:
    with Journal(config.journal_path) as journal:
        journal.submit(report(1)["id"], report(1))
        journal.upload_started([report(1)["id"]])
    with SyncEngine(config) as engine:
        assert engine.wait_idle(30)
        assert engine.counts() == {
            "pending": 0,
            "in_flight": 0,
            "acked": 1,
            "failed": 0,
            "superseded": 0,
            "dismissed": 0,
        }
    assert_exactly(sim, [report(1)["id"]])


def test_start_with_a_full_backlog_delivers_everything(
    config: EngineConfig, sim: Simulator
) -> None:
    keys = [report(i)["id"] for i in range(200)]
    with Journal(config.journal_path, synchronous="NORMAL") as journal:
        journal.submit_many([(report(i)["id"], report(i), None) for i in range(200)])
    with SyncEngine(config) as engine:
        assert engine.wait_idle(120)
        assert engine.counts()["acked"] == 200
    assert_exactly(sim, keys)


def test_uploads_follow_journal_order_with_one_worker(
    tmp_path: Path, sim: Simulator, receivers: Receivers
) -> None:
    config = fast_config(tmp_path, sim, concurrency=1)
    keys = [report(i)["id"] for i in range(10)]
    with Journal(config.journal_path) as journal:
        journal.submit_many([(report(i)["id"], report(i), None) for i in range(10)])
    order: list[str] = []
    receivers.connect(signals.upload_started, lambda sender, **kw: order.append(kw["key"]))
    with SyncEngine(config) as engine:
        assert engine.wait_idle(30)
    assert order == keys


def test_second_engine_in_the_same_process_is_refused(config: EngineConfig) -> None:
    with SyncEngine(config), pytest.raises(EngineLockedError, match="only one engine"):
        SyncEngine(config).start()


ENGINE_HOLDER = textwrap.dedent(
    """
    import sys
    from syncengine import EngineConfig, SyncEngine
    config = EngineConfig(server_url=sys.argv[1], token="test-token", journal_path=sys.argv[2])
    with SyncEngine(config):
        print("running", flush=True)
        sys.stdin.readline()
    """
)


def test_second_engine_in_another_process_is_refused(config: EngineConfig) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", ENGINE_HOLDER, config.server_url, str(config.journal_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "running"
        with pytest.raises(EngineLockedError) as info:
            SyncEngine(config).start()
        assert f"pid {proc.pid}" in str(info.value)
        assert str(config.journal_path) in str(info.value)
    finally:
        proc.kill()
        proc.wait(10)


def test_a_refused_engine_leaves_the_running_one_working(
    config: EngineConfig, sim: Simulator
) -> None:
    with SyncEngine(config) as engine:
        with pytest.raises(EngineLockedError):
            SyncEngine(config).start()
        key = engine.submit(report(1))
        assert engine.wait_idle(30)
    assert_exactly(sim, [key])


def test_engine_cannot_be_started_twice(config: EngineConfig) -> None:
    engine = SyncEngine(config)
    engine.start()
    engine.stop()
    with pytest.raises(EngineStateError, match="make a new one"):
        engine.start()


def test_stop_is_idempotent(config: EngineConfig, recorder: Recorder) -> None:
    engine = SyncEngine(config)
    engine.start()
    engine.stop()
    engine.stop()
    assert recorder.count("engine_stopped") == 1


# --- status -----------------------------------------------------------------------------------
def test_status_reports_counts_connection_and_health(config: EngineConfig) -> None:
    with SyncEngine(config) as engine:
        engine.submit(report(1))
        assert engine.wait_idle(30)
        status = engine.status()
    assert status["counts"] == {
        "pending": 0,
        "in_flight": 0,
        "acked": 1,
        "failed": 0,
        "superseded": 0,
        "dismissed": 0,
    }
    assert (status["health"], status["connection"], status["breaker"]) == ("ok", "online", "closed")
    assert status["last_ack_at"] is not None
    assert status["metrics"]["counters"]["uploads_success"] == 1


def test_status_file_is_written_while_running(config: EngineConfig) -> None:
    with SyncEngine(config):
        wait_for(config.effective_status_path.exists, what="status file")
        got = read_status(config.effective_status_path, config.journal_path)
    assert got["running"] is True


def test_status_after_stop_is_readable_and_stopped(config: EngineConfig, sim: Simulator) -> None:
    sim.set_faults(error_rate=1.0, error_statuses=[400])
    with SyncEngine(config) as engine:
        engine.submit(report(1))
        wait_for(lambda: engine.counts()["failed"] == 1, what="failed")
    got = read_status(config.effective_status_path, config.journal_path)
    assert (got["running"], got["health"]) == (False, "stopped")
    assert got["counts"]["failed"] == 1
    assert got["last_error"]["status_code"] == 400


def test_read_status_without_status_file_uses_the_journal(config: EngineConfig) -> None:
    with Journal(config.journal_path) as journal:
        journal.submit(report(1)["id"], report(1))
    got = read_status(config.effective_status_path, config.journal_path)
    assert (got["source"], got["health"], got["counts"]["pending"]) == ("journal", "stopped", 1)


def test_health_is_stuck_when_the_server_answers_but_nothing_is_acked(
    tmp_path: Path, sim: Simulator
) -> None:
    config = fast_config(tmp_path, sim, stuck_after_s=0.3)
    sim.set_faults(error_rate=1.0, error_statuses=[500])
    with SyncEngine(config) as engine:
        engine.submit(report(1))
        wait_for(lambda: engine.status()["health"] == "stuck", what="stuck")
        assert engine.counts()["failed"] == 0


def test_token_never_appears_in_repr_status_or_logs(
    tmp_path: Path, sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "s3cr3t-token-value"
    sim.add_token(secret)
    config = fast_config(tmp_path, sim, token=secret)
    sim.set_faults(error_rate=0.5, error_statuses=[500, 400])
    with caplog.at_level(logging.DEBUG), SyncEngine(config) as engine:
        for i in range(5):
            engine.submit(report(i))
        wait_for(lambda: engine.counts()["pending"] + engine.counts()["in_flight"] == 0)
        text = repr(engine) + json.dumps(engine.status(), default=str)
    text += config.effective_status_path.read_text() + caplog.text + repr(config)
    assert secret not in text


def test_health_endpoint_serves_healthz_and_metrics(tmp_path: Path, sim: Simulator) -> None:
    config = fast_config(tmp_path, sim, health_http={"enabled": True, "port": 0})
    with SyncEngine(config) as engine:
        engine.submit(report(1))
        assert engine.wait_idle(30)
        assert engine.health_address is not None
        host, port = engine.health_address
        with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=5) as r:
            health = json.loads(r.read())
        with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as r:
            metrics = r.read().decode()
    assert health["health"] == "ok"
    assert 'wats_sync_uploads_total{outcome="success"} 1.0' in metrics


def test_health_endpoint_refuses_non_loopback_hosts(tmp_path: Path, sim: Simulator) -> None:
    config = fast_config(tmp_path, sim, health_http={"enabled": True, "host": "0.0.0.0"})
    engine = SyncEngine(config)
    with pytest.raises(ValueError, match="loopback"):
        engine.start()
    with SyncEngine(fast_config(tmp_path, sim)):  # the failed start released the lock
        pass


def test_submission_facade_shows_state_and_attempts(config: EngineConfig) -> None:
    with SyncEngine(config) as engine:
        key = engine.submit(report(1))
        assert engine.wait_idle(30)
        sub = engine.submission(key)
    assert (sub.state, sub.attempts) == ("acked", 1)


def test_watched_folder_files_are_delivered(tmp_path: Path, sim: Simulator) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = fast_config(tmp_path, sim, watch=[{"path": inbox, "stable_s": 0.05}])
    (inbox / "before.json").write_text(json.dumps(report(1)))
    with SyncEngine(config) as engine:
        (inbox / "after.json").write_text(json.dumps(report(2)))
        wait_for(lambda: sim.stats()["distinct_reports"] == 2, what="both files delivered")
        assert engine.wait_idle(30)
        # The watcher counts a file after it committed and moved it; the upload may be faster.
        wait_for(lambda: engine.metrics.counter("files_converted") == 2, what="2 files counted")


SIGNAL_CHILD = textwrap.dedent(
    """
    import sys
    from syncengine import EngineConfig, SyncEngine, install_signal_handlers
    config = EngineConfig(server_url=sys.argv[1], token="test-token", journal_path=sys.argv[2])
    engine = SyncEngine(config)
    engine.start()
    install_signal_handlers(engine, grace=5)
    print("running", flush=True)
    assert engine.wait_stopped(60)
    print("stopped", flush=True)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM delivery is POSIX")
def test_sigterm_stops_the_engine_gracefully(config: EngineConfig) -> None:
    import signal

    proc = subprocess.Popen(
        [sys.executable, "-c", SIGNAL_CHILD, config.server_url, str(config.journal_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "running"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert (proc.returncode, out.strip()) == (0, "stopped")
    got = read_status(config.effective_status_path, config.journal_path)
    assert (got["running"], got["state"]) == (False, "stopped")


def test_engine_started_comes_before_the_backlogs_uploads(
    config: EngineConfig, recorder: Recorder
) -> None:
    with Journal(config.journal_path) as journal:
        journal.submit_many([(report(i)["id"], report(i), None) for i in range(5)])
    with SyncEngine(config) as engine:
        assert engine.wait_idle(30)
        wait_for(lambda: recorder.count("upload_succeeded") == 5, what="5 acks")
    names = recorder.names()
    assert names[0] == "engine_started"
    assert names[-2:] == ["engine_stopping", "engine_stopped"]
    assert names.count("upload_started") == 5


def test_public_names_are_exported_in_a_sorted_all() -> None:
    import syncengine

    assert syncengine.__all__ == sorted(syncengine.__all__)
    assert {"SyncEngine", "EngineConfig", "CredentialProvider", "read_status"} <= set(
        syncengine.__all__
    )
    assert all(hasattr(syncengine, name) for name in syncengine.__all__)


def test_stored_credentials_provider_satisfies_the_protocol() -> None:
    from syncengine import CredentialProvider
    from syncengine.credentials import StoredCredentials

    assert issubclass(StoredCredentials, CredentialProvider)


def test_concurrent_stops_shut_down_once(config: EngineConfig, recorder: Recorder) -> None:
    import threading

    engine = SyncEngine(config)
    engine.start()
    threads = [threading.Thread(target=engine.stop) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert engine.state == "stopped"
    assert recorder.count("engine_stopping") == recorder.count("engine_stopped") == 1


def test_status_after_stop_is_the_final_snapshot(config: EngineConfig) -> None:
    with SyncEngine(config) as engine:
        engine.submit(report(1))
        assert engine.wait_idle(30)
    status = engine.status()
    assert (status["health"], status["running"], status["counts"]["acked"]) == ("stopped", False, 1)


def test_facade_reads_after_stop_say_the_engine_is_stopped(config: EngineConfig) -> None:
    with SyncEngine(config) as engine:
        pass
    with pytest.raises(EngineNotRunningError, match="stopped"):
        engine.counts()


def test_an_unwatchable_folder_fails_start_and_releases_everything(
    tmp_path: Path, sim: Simulator
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    config = fast_config(tmp_path, sim, watch=[{"path": blocker}])
    with pytest.raises(WatchFolderError, match=r"watch\[0\]\.path"):  # a file is in the way
        SyncEngine(config).start()
    with SyncEngine(fast_config(tmp_path, sim)) as engine:  # the lock was released
        assert engine.running


def test_status_file_is_written_as_soon_as_the_engine_starts(
    tmp_path: Path, sim: Simulator
) -> None:
    config = fast_config(tmp_path, sim, status_interval_s=3600)
    with SyncEngine(config):
        wait_for(config.effective_status_path.exists, timeout=10, what="first status file")
        assert read_status(config.effective_status_path)["running"] is True
