"""Helpers shared by the engine tests (no tests here): fast configs, reports, recorders."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from blinker import NamedSignal

from syncengine import EngineConfig, signals
from watsim import Simulator

NAMESPACE = uuid.UUID("5b0c3c1e-0000-4000-8000-00000000feed")


def report(i: int, *, tag: str = "t") -> dict[str, Any]:
    """A valid WSJF UUT report with a deterministic id."""
    return {
        "type": "T",
        "id": str(uuid.uuid5(NAMESPACE, f"{tag}-{i}")),
        "pn": "PCBA-1001",
        "sn": f"SN-{i:06d}",
        "rev": "B",
        "processCode": 10,
        "result": "P",
        "machineName": "ICT-01",
        "location": "Line 2",
        "purpose": "Production",
        "start": "2026-03-01T09:15:02.125+01:00",
        "root": {"id": 1, "group": "M", "stepType": "SequenceCall", "name": "Main", "status": "P"},
    }


def fast_config(
    tmp_path: Path, sim: Simulator, token: str = "test-token", **overrides: Any
) -> EngineConfig:
    """Backoff, polling and probing shrunk to milliseconds; the breaker out of the way."""
    values: dict[str, Any] = {
        "server_url": sim.base_url,
        "token": token,
        "journal_path": tmp_path / "journal.db",
        "concurrency": 4,
        "grace_period_s": 5.0,
        "idle_poll_s": 0.05,
        "probe_interval_s": 0.05,
        "status_interval_s": 0.1,
        "retry": {"base_s": 0.002, "multiplier": 2.0, "cap_s": 0.05, "attempts_before_cap": 5},
        "breaker": {"failure_threshold": 1000, "reset_timeout_s": 0.05},
        "rate_limit": {"rate_per_s": 10_000, "burst": 10_000},
        "timeouts": {"connect_s": 2.0, "read_s": 5.0, "write_s": 5.0, "pool_s": 5.0},
        "journal_synchronous": "NORMAL",
    }
    values.update(overrides)
    return EngineConfig(**values)


def received_ids(sim: Simulator) -> set[str]:
    return set(sim.stats()["receive_counts"])


def assert_exactly(sim: Simulator, keys: list[str]) -> None:
    """The server holds exactly one report per key and nothing else."""
    stats = sim.stats()
    assert stats["distinct_reports"] == len(set(keys))
    assert set(stats["receive_counts"]) == {k.lower() for k in keys}


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


class Recorder:
    """Records (signal name, kwargs) of every engine signal, in order, thread-safely."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._receivers: list[Any] = []

    def connect(self) -> None:
        for sig in signals.ALL_SIGNALS:

            def receiver(sender: Any, _name: str = sig.name, **kwargs: Any) -> None:
                with self._lock:
                    self.events.append((_name, kwargs))

            sig.connect(receiver)
            self._receivers.append((sig, receiver))

    def disconnect(self) -> None:
        for sig, receiver in self._receivers:
            sig.disconnect(receiver)

    def names(self, key: str | None = None) -> list[str]:
        with self._lock:
            return [n for n, kw in self.events if key is None or kw.get("key") == key]

    def count(self, name: str) -> int:
        return self.names().count(name)


class Receivers:
    """Signal receivers connected for one test; the ``receivers`` fixture disconnects them.

    Keeps a strong reference to each receiver (blinker holds weak ones), so a lambda stays
    connected for the whole test.
    """

    def __init__(self) -> None:
        self._connected: list[tuple[NamedSignal, Callable[..., Any]]] = []

    def connect(self, signal: NamedSignal, receiver: Callable[..., Any]) -> None:
        signal.connect(receiver)
        self._connected.append((signal, receiver))

    def disconnect_all(self) -> None:
        for signal, receiver in reversed(self._connected):
            signal.disconnect(receiver)
        self._connected.clear()


@pytest.fixture
def receivers() -> Iterator[Receivers]:
    connected = Receivers()
    yield connected
    connected.disconnect_all()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder()
    rec.connect()
    yield rec
    rec.disconnect()
