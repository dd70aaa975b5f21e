"""SyncEngine under every simulator fault: nothing lost, nothing duplicated, 4xx stays failed."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

import pywats
from journal import Journal
from syncengine import EngineConfig, SyncEngine, signals
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

N = 30

FAULTS: dict[str, dict[str, Any]] = {
    "errors_5xx": {"error_rate": 0.4},
    "rate_limited": {"rate_limit_rate": 0.4, "retry_after_s": 0.01},
    "drop_before_store": {"drop_before_store_rate": 0.4},
    "drop_after_store": {"drop_after_store_rate": 0.4},
    "garbage": {"garbage_rate": 0.4},
    "latency": {"latency_ms": [0, 30]},
    "slow_body": {"slow_body_ms": 5},
    "mixed": {
        "error_rate": 0.15,
        "rate_limit_rate": 0.1,
        "retry_after_s": 0.01,
        "drop_before_store_rate": 0.1,
        "drop_after_store_rate": 0.1,
        "garbage_rate": 0.1,
        "latency_ms": [0, 10],
    },
}


class TokenSource:
    """A credential provider that gets a new token from the simulator on refresh()."""

    def __init__(self, sim: Simulator, first: str = "test-token") -> None:
        self.sim = sim
        self.current = first
        self.refreshes = 0
        self._lock = threading.Lock()

    def token(self) -> str:
        return self.current

    def refresh(self) -> str | None:
        with self._lock:
            self.refreshes += 1
            self.current = f"fresh-{self.refreshes}"
            self.sim.add_token(self.current)
            return self.current


class CheckingTokenSource(TokenSource):
    """A TokenSource that notes, at each refresh(), whether the token it replaces had expired."""

    def __init__(self, sim: Simulator) -> None:
        super().__init__(sim)
        self.replaced: list[tuple[str, bool]] = []

    def refresh(self) -> str | None:
        with self._lock:
            old = self.current
            self.replaced.append((old, _rejected(self.sim, old)))
        return super().refresh()


def _rejected(sim: Simulator, token: str) -> bool:
    # A request the server refuses does not count against the token: asking changes nothing
    # for a token that really expired.
    with pywats.Client(sim.base_url, token) as client:
        try:
            client.app.version()
        except pywats.AuthenticationError:
            return True
    return False


class NoToken:
    def token(self) -> str:
        return "test-token"

    def refresh(self) -> str | None:
        return None


@pytest.mark.parametrize("faults", FAULTS.values(), ids=FAULTS.keys())
def test_every_fault_mode_delivers_each_report_exactly_once(
    tmp_path: Path, sim: Simulator, faults: dict[str, Any]
) -> None:
    sim.set_faults(**faults)
    with SyncEngine(fast_config(tmp_path, sim)) as engine:
        keys = [engine.submit(report(i)) for i in range(N)]
        assert engine.wait_idle(90)
        assert engine.counts() == {
            "pending": 0,
            "in_flight": 0,
            "acked": N,
            "failed": 0,
            "superseded": 0,
            "dismissed": 0,
        }
    assert_exactly(sim, keys)


def test_server_down_then_up_delivers_everything(tmp_path: Path, sim: Simulator) -> None:
    with SyncEngine(fast_config(tmp_path, sim)) as engine:
        sim.set_faults(down_for_s=0.5)
        keys = [engine.submit(report(i)) for i in range(N)]
        assert engine.wait_idle(60)
    assert_exactly(sim, keys)


def test_token_expiry_reauthenticates_via_the_credential_provider(
    tmp_path: Path, sim: Simulator
) -> None:
    sim.set_faults(token_expires_after=5)
    provider = CheckingTokenSource(sim)
    with SyncEngine(fast_config(tmp_path, sim), credentials=provider) as engine:
        keys = [engine.submit(report(i)) for i in range(N)]
        assert engine.wait_idle(60)
        assert engine.metrics.counter("auth_refreshes") >= 1
    # At least one token per 5 accepted requests, and exactly one refresh() per expired token:
    # several workers meeting the same expired token ask once, and a token still accepted is
    # never replaced.
    assert len(provider.replaced) >= N // 5 - 1
    assert [token for token, expired in provider.replaced if not expired] == []
    assert len({token for token, _ in provider.replaced}) == len(provider.replaced)
    assert_exactly(sim, keys)


def test_rejected_token_without_a_fresh_one_pauses_as_auth_failed(
    tmp_path: Path, sim: Simulator, recorder: Recorder
) -> None:
    sim.set_faults(token_expires_after=1)
    with SyncEngine(fast_config(tmp_path, sim), credentials=NoToken()) as engine:
        engine.submit(report(0))
        assert engine.wait_idle(30)
        key = engine.submit(report(1))
        wait_for(lambda: engine.connection_state == "auth_failed", what="auth_failed")
        status = engine.status()
        assert status["health"] == "auth_failed"
        assert engine.counts()["failed"] == 0
        assert engine.counts()["pending"] + engine.counts()["in_flight"] == 1
    assert recorder.names(key)[-3:] == ["upload_started", "upload_failed", "retry_scheduled"]
    changes = [kw["new"] for name, kw in recorder.events if name == "connection_changed"]
    assert changes[-1] == "auth_failed"


def test_auth_failed_recovers_when_the_provider_offers_an_accepted_token(
    tmp_path: Path, sim: Simulator
) -> None:
    class Later(NoToken):
        offered = "test-token"

        def token(self) -> str:
            return self.offered

    provider = Later()
    sim.set_faults(token_expires_after=1)
    with SyncEngine(fast_config(tmp_path, sim), credentials=provider) as engine:
        engine.submit(report(0))
        assert engine.wait_idle(30)
        key = engine.submit(report(1))
        wait_for(lambda: engine.connection_state == "auth_failed", what="auth_failed")
        sim.clear_faults()
        sim.add_token("operator-fixed")
        provider.offered = "operator-fixed"
        assert engine.wait_idle(30)
        assert engine.connection_state == "online"
    assert_exactly(sim, [report(0)["id"], key])


@pytest.mark.parametrize("status", [400, 404, 422])
def test_client_errors_fail_and_stay_failed(tmp_path: Path, sim: Simulator, status: int) -> None:
    sim.set_faults(error_rate=1.0, error_statuses=[status])
    with SyncEngine(fast_config(tmp_path, sim)) as engine:
        key = engine.submit(report(1))
        wait_for(lambda: engine.counts()["failed"] == 1, what="failed")
        sim.clear_faults()
        engine.submit(report(2))  # proves the engine kept sending after the failure
        assert engine.wait_idle(30)
        assert engine.counts()["failed"] == 1
        history = [e.type for e in engine.history(key)]
    assert history == ["Submitted", "UploadStarted", "Failed"]
    assert sim.stats()["report_posts"] == 2


def test_requeue_sends_a_failed_submission_again(tmp_path: Path, sim: Simulator) -> None:
    sim.set_faults(error_rate=1.0, error_statuses=[400])
    with SyncEngine(fast_config(tmp_path, sim)) as engine:
        keys = [engine.submit(report(i)) for i in range(3)]
        wait_for(lambda: engine.counts()["failed"] == 3, what="failed")
        sim.clear_faults()
        engine.requeue(keys[0])
        assert engine.wait_idle(30)
        assert engine.counts()["failed"] == 2
        assert sorted(engine.requeue_failed()) == sorted(keys[1:])
        assert engine.wait_idle(30)
        assert engine.counts()["acked"] == 3
    assert_exactly(sim, keys)


def test_requeue_failed_records_every_requeue_in_one_transaction(
    tmp_path: Path, sim: Simulator
) -> None:
    sim.set_faults(error_rate=1.0, error_statuses=[400])
    with SyncEngine(fast_config(tmp_path, sim)) as engine:
        keys = [engine.submit(report(i)) for i in range(3)]
        wait_for(lambda: engine.counts()["failed"] == 3, what="failed")
        engine.stop()
    with Journal(tmp_path / "journal.db") as j:
        before = max(e.seq for k in keys for e in j.history(k))
    sim.clear_faults()
    with SyncEngine(fast_config(tmp_path, sim)) as engine:
        assert sorted(engine.requeue_failed(reason="fixed")) == sorted(keys)
        assert engine.wait_idle(30)
        requeued = [e for k in keys for e in engine.history(k) if e.type == "Requeued"]
    assert len(requeued) == 3 and all(e.seq > before for e in requeued)
    assert len({e.ts for e in requeued}) == 1  # one transaction: one timestamp
    assert_exactly(sim, keys)


def test_stored_then_dropped_is_resent_and_stored_once(
    tmp_path: Path, sim: Simulator, receivers: Receivers
) -> None:
    sim.set_faults(drop_after_store_rate=1.0)
    receivers.connect(signals.retry_scheduled, lambda sender, **kw: sim.clear_faults())
    with SyncEngine(fast_config(tmp_path, sim)) as engine:
        key = engine.submit(report(1))
        assert engine.wait_idle(30)
    stats = sim.stats()
    assert stats["stored_then_dropped"] == 1
    assert stats["distinct_reports"] == 1
    assert stats["receive_counts"] == {key.lower(): 2}


class FrozenClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_half_open_breaker_lets_exactly_one_upload_through(tmp_path: Path, sim: Simulator) -> None:
    clock = FrozenClock()
    config = fast_config(
        tmp_path,
        sim,
        concurrency=8,
        breaker={"failure_threshold": 3, "reset_timeout_s": 60},
        probe_interval_s=60,
    )
    sim.set_faults(error_rate=1.0, error_statuses=[500])
    with SyncEngine(config, clock=clock) as engine:
        for i in range(20):
            engine.submit(report(i))
        wait_for(lambda: engine.status()["breaker"] == "open", what="breaker open")
        wait_for(lambda: engine.status()["counts"]["in_flight"] == 0, what="workers idle")
        posts = sim.stats()["report_posts"]
        time.sleep(0.3)  # many retries are due by now; an open breaker sends none of them
        assert sim.stats()["report_posts"] == posts
        clock.now += 60  # half-open
        wait_for(lambda: sim.stats()["report_posts"] > posts, what="the probe upload")
        wait_for(lambda: engine.status()["breaker"] == "open", what="breaker open again")
        time.sleep(0.3)
        assert sim.stats()["report_posts"] == posts + 1
        sim.clear_faults()
        clock.now += 60
        assert engine.wait_idle(30)
        assert engine.status()["breaker"] == "closed"
    assert sim.stats()["distinct_reports"] == 20


def test_breaker_open_is_reported_as_circuit_open(
    tmp_path: Path, sim: Simulator, recorder: Recorder
) -> None:
    config = fast_config(tmp_path, sim, breaker={"failure_threshold": 2, "reset_timeout_s": 0.05})
    sim.set_faults(error_rate=1.0, error_statuses=[503])
    with SyncEngine(config) as engine:
        engine.submit(report(1))
        wait_for(lambda: recorder.count("connection_changed") >= 1, what="connection change")
        sim.clear_faults()
        assert engine.wait_idle(30)
        wait_for(lambda: engine.connection_state == "online", what="online")
    changes = [(kw["old"], kw["new"]) for n, kw in recorder.events if n == "connection_changed"]
    assert changes[0] == ("online", "circuit_open")
    assert changes[-1][1] == "online"


def test_outage_goes_offline_probes_and_counts_offline_time(
    tmp_path: Path, sim: Simulator, recorder: Recorder
) -> None:
    with SyncEngine(fast_config(tmp_path, sim)) as engine:
        sim.set_faults(down_for_s=0.4)
        key = engine.submit(report(1))
        wait_for(lambda: engine.connection_state == "offline", what="offline")
        assert engine.status()["health"] == "offline"
        assert engine.wait_idle(30)
        wait_for(lambda: engine.connection_state == "online", what="online")
        assert engine.metrics.counter("offline_duration_s") > 0
        assert engine.metrics.counter("probes") >= 1
    assert_exactly(sim, [key])


def test_shutdown_during_outage_keeps_every_submission(tmp_path: Path, sim: Simulator) -> None:
    config = fast_config(tmp_path, sim)
    with SyncEngine(config) as engine:
        sim.set_faults(down_for_s=30)
        keys = [engine.submit(report(i)) for i in range(N)]
        wait_for(lambda: engine.connection_state == "offline", what="offline")
        engine.stop(grace=0.5)
    with Journal(config.journal_path) as journal:
        counts = journal.counts()
    assert (counts["pending"] + counts["in_flight"], counts["failed"]) == (N, 0)
    sim.clear_faults()
    with SyncEngine(config) as engine:
        assert engine.wait_idle(60)
    assert_exactly(sim, keys)


def test_shutdown_during_a_slow_upload_leaves_it_in_flight_for_replay(
    tmp_path: Path, sim: Simulator, recorder: Recorder
) -> None:
    config = fast_config(tmp_path, sim)
    sim.set_faults(latency_ms=3000)
    engine = SyncEngine(config)
    engine.start()
    key = engine.submit(report(1))
    wait_for(lambda: recorder.count("upload_started") == 1, what="upload started")
    engine.stop(grace=0.2)
    stopped = [kw for n, kw in recorder.events if n == "engine_stopped"]
    assert stopped == [{"abandoned": 1}]
    with Journal(config.journal_path) as journal:
        assert journal.state(key) == "in_flight"
    sim.clear_faults()
    with SyncEngine(config) as engine:
        # The first request may still be in the server (3 s latency): the re-send can get 409
        # "still being processed", which is retried, never failed.
        assert engine.wait_idle(30)
    assert sim.stats()["distinct_reports"] == 1


def test_shutdown_within_grace_lets_in_flight_uploads_finish(
    tmp_path: Path, sim: Simulator, recorder: Recorder
) -> None:
    sim.set_faults(latency_ms=300)
    engine = SyncEngine(fast_config(tmp_path, sim))
    engine.start()
    engine.submit(report(1))
    wait_for(lambda: recorder.count("upload_started") == 1, what="upload started")
    engine.stop(grace=10)
    assert [kw for n, kw in recorder.events if n == "engine_stopped"] == [{"abandoned": 0}]
    assert recorder.names()[-4:] == [
        "upload_started",
        "engine_stopping",
        "upload_succeeded",
        "engine_stopped",
    ]


def test_retry_after_is_honoured_as_a_floor(
    tmp_path: Path, sim: Simulator, receivers: Receivers
) -> None:
    sim.set_faults(rate_limit_rate=1.0, retry_after_s=30)
    delays: list[float] = []
    config = fast_config(tmp_path, sim, retry={"base_s": 0.001, "cap_s": 100})
    receivers.connect(signals.retry_scheduled, lambda sender, **kw: delays.append(kw["delay_s"]))
    with SyncEngine(config) as engine:
        engine.submit(report(1))
        wait_for(lambda: bool(delays), what="retry scheduled")
    assert delays[0] >= 30


def test_backoff_state_survives_a_restart(tmp_path: Path, sim: Simulator) -> None:
    config = fast_config(tmp_path, sim, retry={"base_s": 0.001, "cap_s": 7200})
    sim.set_faults(rate_limit_rate=1.0, retry_after_s=3600)
    with SyncEngine(config) as engine:
        key = engine.submit(report(1))
        wait_for(lambda: engine.counts()["pending"] == 1 and len(engine.history(key)) == 3)
    sim.clear_faults()
    with SyncEngine(config) as engine:
        time.sleep(0.3)  # nothing is due for an hour, so a fresh start sends nothing
        assert engine.counts()["pending"] == 1
    assert sim.stats()["report_posts"] == 1


def test_concurrent_station_threads_submitting_lose_nothing(tmp_path: Path, sim: Simulator) -> None:
    sim.set_faults(error_rate=0.2, latency_ms=[0, 5])
    keys: list[str] = []
    lock = threading.Lock()
    with SyncEngine(fast_config(tmp_path, sim)) as engine:

        def station(t: int) -> None:
            for i in range(10):
                key = engine.submit(report(i, tag=f"station{t}"))
                with lock:
                    keys.append(key)

        threads = [threading.Thread(target=station, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert engine.wait_idle(60)
    assert_exactly(sim, keys)


def test_wait_idle_is_false_while_the_server_is_down(tmp_path: Path, sim: Simulator) -> None:
    config: EngineConfig = fast_config(tmp_path, sim)
    with SyncEngine(config) as engine:
        sim.set_faults(down_for_s=30)
        engine.submit(report(1))
        assert engine.wait_idle(0.5) is False
        sim.clear_faults()
        assert engine.wait_idle(30) is True


def test_everything_at_once_with_an_outage_and_token_expiry(tmp_path: Path, sim: Simulator) -> None:
    provider = TokenSource(sim)
    chaos = {
        "token_expires_after": 7,
        "error_rate": 0.1,
        "rate_limit_rate": 0.1,
        "retry_after_s": 0.01,
        "drop_before_store_rate": 0.05,
        "drop_after_store_rate": 0.1,
        "garbage_rate": 0.1,
        "latency_ms": [0, 5],
    }
    sim.set_faults(**chaos)
    config = fast_config(tmp_path, sim, breaker={"failure_threshold": 5, "reset_timeout_s": 0.05})
    with SyncEngine(config, credentials=provider) as engine:
        keys = [engine.submit(report(i)) for i in range(N)]
        sim.set_faults(down_for_s=0.3)  # replaces the set: an outage, then a clean server
        keys += [engine.submit(report(i)) for i in range(N, 2 * N)]
        wait_for(lambda: engine.connection_state == "online", what="back online")
        sim.set_faults(**chaos)
        keys += [engine.submit(report(i)) for i in range(2 * N, 3 * N)]
        assert engine.wait_idle(120), engine.status()
        assert engine.counts() == {
            "pending": 0,
            "in_flight": 0,
            "acked": 3 * N,
            "failed": 0,
            "superseded": 0,
            "dismissed": 0,
        }
    assert_exactly(sim, keys)


def test_wait_idle_can_ignore_submissions_that_back_off(tmp_path: Path, sim: Simulator) -> None:
    sim.set_faults(rate_limit_rate=1.0, retry_after_s=3600)
    config = fast_config(tmp_path, sim, retry={"base_s": 0.001, "cap_s": 7200})
    with SyncEngine(config) as engine:
        key = engine.submit(report(1))
        assert engine.wait_idle(10, include_backoff=False) is True
        assert engine.counts()["pending"] == 1, [(e.type, e.data) for e in engine.history(key)]
        assert engine.wait_idle(0.2) is False


def test_retries_scheduled_under_a_clock_that_was_set_back_are_sent(
    tmp_path: Path, sim: Simulator
) -> None:
    config = fast_config(tmp_path, sim, retry={"base_s": 0.01, "cap_s": 1.0})
    keys = [report(i)["id"] for i in range(3)]
    ahead = time.time() + 3600  # the clock was an hour ahead back then
    with Journal(config.journal_path, clock=lambda: ahead) as journal:
        for i, key in enumerate(keys):
            journal.submit(key, report(i))
            journal.upload_started([key])
            journal.retry_scheduled(
                key,
                attempt=1,
                next_attempt_at=ahead + 1.0,
                error_class="ServerError",
                message="503",
                status_code=503,
            )
    with SyncEngine(config) as engine:
        assert engine.wait_idle(30)
    assert_exactly(sim, keys)


def test_many_retries_under_a_set_back_clock_are_all_sent_at_once_not_a_few_per_check(
    tmp_path: Path, sim: Simulator
) -> None:
    config = fast_config(tmp_path, sim, retry={"base_s": 0.01, "cap_s": 1.0})
    keys = [report(i)["id"] for i in range(24)]  # several times the workers
    ahead = time.time() + 86400  # the clock was a day ahead back then
    with Journal(config.journal_path, clock=lambda: ahead) as journal:
        journal.submit_many([(key, report(i), None) for i, key in enumerate(keys)])
        journal.upload_started(keys)
        for key in keys:
            journal.retry_scheduled(
                key, attempt=1, next_attempt_at=ahead + 1.0, error_class="E", message="503"
            )
    with SyncEngine(config) as engine:
        assert engine.wait_idle(20)  # the set-back check runs every 30 s
    assert_exactly(sim, keys)


def test_a_retry_wait_longer_than_the_policy_allows_is_not_trusted(
    tmp_path: Path, sim: Simulator
) -> None:
    config = fast_config(tmp_path, sim, retry={"base_s": 0.01, "cap_s": 1.0})
    key = report(1)["id"]
    with Journal(config.journal_path) as journal:
        journal.submit(key, report(1))
        journal.upload_started([key])
        journal.retry_scheduled(
            key,
            attempt=1,
            next_attempt_at=time.time() + 3600,
            error_class="ServerError",
            message="503",
            status_code=503,
        )
    with SyncEngine(config) as engine:
        assert engine.wait_idle(30)
    assert_exactly(sim, [key])


def test_a_probe_that_meets_an_expired_token_refreshes_it(
    tmp_path: Path, sim: Simulator, recorder: Recorder
) -> None:
    provider = TokenSource(sim)
    with SyncEngine(fast_config(tmp_path, sim), credentials=provider) as engine:
        # The upload uses the token's one allowed request and is dropped (offline); the probe
        # that follows is the first request to be told the token expired.
        sim.set_faults(token_expires_after=1, drop_before_store_rate=1.0)
        key = engine.submit(report(1))
        wait_for(lambda: provider.refreshes >= 1, what="a refresh asked by the probe path")
        sim.clear_faults()
        assert engine.wait_idle(30)
    states = [kw["new"] for name, kw in recorder.events if name == "connection_changed"]
    assert "offline" in states
    assert "auth_failed" not in states
    assert_exactly(sim, [key])
