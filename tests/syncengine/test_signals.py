"""syncengine.signals: a real public module, every signal sent with exactly the kwargs its
documentation names, and emit() that a broken receiver cannot break."""

from __future__ import annotations

import logging
import re
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from blinker import NamedSignal

from syncengine import SyncEngine, signals
from syncengine._breaker import CircuitBreaker
from syncengine._config import BreakerConfig
from syncengine._connection import ConnectionService
from syncengine._metrics import Metrics
from syncengine.signals import ALL_SIGNALS, emit
from watsim import Simulator

from .test_engine_support import Receivers, fast_config, receivers, report, wait_for

__all__ = ["receivers"]  # the fixture is used by name


def documented_kwargs(signal: NamedSignal) -> set[str]:
    """The kwarg names a signal's documentation promises (``kwargs: name (type), ...``)."""
    doc = signal.__doc__ or ""
    if "no kwargs" in doc:
        return set()
    _, _, listed = doc.partition("kwargs:")
    return set(re.findall(r"(\w+) \(", listed))


class Sent:
    """Every (signal name -> kwarg names) sent while connected."""

    def __init__(self, receivers: Receivers) -> None:
        self.kwargs: dict[str, list[set[str]]] = defaultdict(list)
        self._lock = threading.Lock()
        for signal in ALL_SIGNALS:
            receivers.connect(signal, self._receiver(signal.name))

    def _receiver(self, name: str) -> Any:
        def receive(sender: object, **kwargs: Any) -> None:
            with self._lock:
                self.kwargs[name].append(set(kwargs))

        return receive


def test_the_public_module_imports_by_its_documented_name() -> None:
    from syncengine._signals import upload_succeeded as old_name
    from syncengine.signals import upload_succeeded

    assert upload_succeeded is signals.upload_succeeded is old_name


def test_every_signal_documents_its_sender_and_kwargs() -> None:
    for signal in ALL_SIGNALS:
        assert re.search(
            r"sender: the (SyncEngine|ConnectionService|WatchService)", signal.__doc__ or ""
        )
        assert documented_kwargs(signal) or "no kwargs" in (signal.__doc__ or "")


def test_the_engine_sends_exactly_the_documented_kwargs(
    tmp_path: Path, sim: Simulator, receivers: Receivers
) -> None:
    sent = Sent(receivers)
    sim.set_faults(error_rate=1.0, error_statuses=[503])
    receivers.connect(signals.retry_scheduled, lambda sender, **kw: sim.clear_faults())
    with SyncEngine(fast_config(tmp_path, sim)) as engine:
        engine.submit(report(1), source={"path": "a.json"})  # 503, retried, then acknowledged
        assert engine.wait_idle(30)
        sim.set_faults(error_rate=1.0, error_statuses=[400])
        engine.submit(report(2))  # refused for good
        wait_for(lambda: engine.counts()["failed"] == 1, what="the refusal recorded")
    engine_signals = {
        "submission_appended",
        "upload_started",
        "upload_succeeded",
        "upload_failed",
        "retry_scheduled",
        "submission_failed",
        "engine_started",
        "engine_stopping",
        "engine_stopped",
    }
    assert engine_signals <= set(sent.kwargs)
    by_name = {s.name: s for s in ALL_SIGNALS}
    for name, calls in sent.kwargs.items():
        for kwargs in calls:
            assert kwargs == documented_kwargs(by_name[name]), name


def test_connection_changed_sends_the_documented_kwargs(receivers: Receivers) -> None:
    sent = Sent(receivers)
    breaker = CircuitBreaker(BreakerConfig(), clock=lambda: 0.0)
    service = ConnectionService(
        breaker,
        Metrics(),
        probe=lambda: "ok",
        recover_auth=lambda: False,
        probe_interval_s=60.0,
        clock=lambda: 0.0,
    )
    service.report_no_answer("upload: ConnectError")
    assert sent.kwargs["connection_changed"] == [documented_kwargs(signals.connection_changed)]


def test_emit_delivers_kwargs_to_receivers(receivers: Receivers) -> None:
    got: list[tuple[object, dict[str, Any]]] = []
    receivers.connect(signals.file_converted, lambda sender, **kw: got.append((sender, kw)))
    emit(signals.file_converted, "watcher", path="a.xml", keys=["k"], converter="c")
    assert got == [("watcher", {"path": "a.xml", "keys": ["k"], "converter": "c"})]


def test_a_raising_receiver_is_logged_and_others_still_run(
    caplog: pytest.LogCaptureFixture, receivers: Receivers
) -> None:
    got: list[str] = []

    def bad(sender: object, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    receivers.connect(signals.conversion_failed, bad)
    receivers.connect(signals.conversion_failed, lambda sender, **kw: got.append(kw["reason"]))
    with caplog.at_level(logging.ERROR, logger="syncengine.signals"):
        emit(signals.conversion_failed, "w", path="p", converter=None, reason="bad xml")
    assert got == ["bad xml"]
    assert "boom" in caplog.text
