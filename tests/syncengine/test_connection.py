from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from syncengine import signals
from syncengine._breaker import CircuitBreaker
from syncengine._config import BreakerConfig
from syncengine._connection import (
    PROBE_AUTH,
    PROBE_NO_ANSWER,
    PROBE_OK,
    ConnectionService,
)
from syncengine._metrics import Metrics

from .test_engine_support import Receivers, receivers

__all__ = ["receivers"]  # the fixture is used by name


class FakeClock:
    def __init__(self) -> None:
        self.now = 10.0

    def __call__(self) -> float:
        return self.now


class Rig:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.metrics = Metrics()
        self.breaker = CircuitBreaker(
            BreakerConfig(failure_threshold=2, reset_timeout_s=5), clock=self.clock
        )
        self.probe_results: list[str] = []
        self.probes = 0
        self.recover_result = False
        self.recover_calls = 0
        self.service = ConnectionService(
            self.breaker,
            self.metrics,
            probe=self._probe,
            recover_auth=self._recover,
            probe_interval_s=60,
            clock=self.clock,
        )

    def _probe(self) -> str:
        self.probes += 1
        return self.probe_results.pop(0)

    def _recover(self) -> bool:
        self.recover_calls += 1
        return self.recover_result


@pytest.fixture
def rig() -> Rig:
    return Rig()


@pytest.fixture
def changes() -> Iterator[list[tuple[str, str]]]:
    got: list[tuple[str, str]] = []

    def receiver(sender: Any, **kw: Any) -> None:
        got.append((kw["old"], kw["new"]))

    signals.connection_changed.connect(receiver)
    yield got
    signals.connection_changed.disconnect(receiver)


def test_starts_online_and_can_send(rig: Rig) -> None:
    assert (rig.service.state, rig.service.can_send()) == ("online", True)


def test_upload_without_answer_goes_offline_and_pauses(
    rig: Rig, changes: list[tuple[str, str]]
) -> None:
    rig.service.report_no_answer("ConnectError")
    assert (rig.service.state, rig.service.can_send()) == ("offline", False)
    assert changes == [("online", "offline")]


def test_successful_probe_brings_it_back_online(rig: Rig, changes: list[tuple[str, str]]) -> None:
    rig.service.report_no_answer("ConnectError")
    rig.probe_results = [PROBE_OK]
    assert rig.service.probe_once() == "online"
    assert changes == [("online", "offline"), ("offline", "online")]


def test_failed_probe_stays_offline_without_a_new_signal(
    rig: Rig, changes: list[tuple[str, str]]
) -> None:
    rig.service.report_no_answer("ConnectError")
    rig.probe_results = [PROBE_NO_ANSWER]
    assert rig.service.probe_once() == "offline"
    assert changes == [("online", "offline")]


def test_offline_period_is_added_to_offline_duration(rig: Rig) -> None:
    rig.service.report_no_answer("ConnectError")
    rig.clock.now += 42
    rig.service.report_answer()
    assert rig.metrics.counter("offline_duration_s") == pytest.approx(42)


def test_offline_periods_are_recorded_with_reason(rig: Rig) -> None:
    rig.service.report_no_answer("upload: ConnectError")
    rig.clock.now += 7
    rig.service.report_answer()
    (period,) = rig.service.offline_periods()
    assert (period["seconds"], period["reason"]) == (pytest.approx(7), "upload: ConnectError")
    assert period["end"] >= period["start"]


def test_open_breaker_is_circuit_open_and_half_open_still_is(rig: Rig) -> None:
    for _ in range(2):
        rig.breaker.record_failure()
    rig.service.update("breaker")
    assert rig.service.state == "circuit_open"
    rig.clock.now += 5
    assert rig.service.state == "circuit_open"
    assert rig.service.can_send()  # the breaker itself gates the single half-open upload


def test_breaker_closing_brings_it_online(rig: Rig, changes: list[tuple[str, str]]) -> None:
    for _ in range(2):
        rig.breaker.record_failure()
    rig.service.update("breaker")
    rig.breaker.record_success()
    rig.service.report_answer()
    assert changes == [("online", "circuit_open"), ("circuit_open", "online")]


def test_auth_failure_pauses_and_wins_over_offline(rig: Rig) -> None:
    rig.service.report_no_answer("x")
    rig.service.report_auth_failed("401")
    assert (rig.service.state, rig.service.can_send()) == ("auth_failed", False)


def test_auth_failed_probe_asks_for_recovery_not_the_server(rig: Rig) -> None:
    rig.service.report_auth_failed("401")
    rig.recover_result = True
    assert rig.service.probe_once() == "online"
    assert (rig.recover_calls, rig.probes) == (1, 0)


def test_probe_rejected_token_without_recovery_is_auth_failed(rig: Rig) -> None:
    rig.service.report_no_answer("x")
    rig.probe_results = [PROBE_AUTH]
    assert rig.service.probe_once() == "auth_failed"


def test_raising_receiver_does_not_break_state_changes(rig: Rig, receivers: Receivers) -> None:
    def bad(sender: Any, **kw: Any) -> None:
        raise RuntimeError("gui bug")

    receivers.connect(signals.connection_changed, bad)
    rig.service.report_no_answer("x")
    assert rig.service.state == "offline"
