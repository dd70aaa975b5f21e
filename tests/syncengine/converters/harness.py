"""Shared fixtures for the ingest and watcher tests: a real journal, a metrics double, a
recorder of the watcher's signals, and a pool with the misbehaving test plugins.

Import the fixtures into a test module with ``from .converters.harness import *``-style
explicit imports; pytest then finds them there.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from journal import Journal
from syncengine._signals import conversion_failed, file_converted
from syncengine.converters import WorkerPool

from .conftest import FIXTURES, PLUGINS

MISBEHAVING = str(PLUGINS / "misbehaving.py")


class MetricsDouble:
    """Records ``inc`` and ``observe`` calls like syncengine._metrics.Metrics."""

    def __init__(self) -> None:
        self.counters: Counter[str] = Counter()
        self.timings: dict[str, list[float]] = {}

    def inc(self, name: str, n: float = 1) -> None:
        self.counters[name] += n

    def observe(self, name: str, seconds: float) -> None:
        self.timings.setdefault(name, []).append(seconds)


class JournalSubmitter:
    """The engine's ``submit_many`` contract over a real journal (returns keys)."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.calls = 0

    def __call__(self, items):
        self.calls += 1
        return [s.key for s in self.journal.submit_many(list(items))]


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "journal.db") as j:
        yield j


@pytest.fixture
def submit(journal: Journal) -> JournalSubmitter:
    return JournalSubmitter(journal)


@pytest.fixture
def metrics() -> MetricsDouble:
    return MetricsDouble()


@pytest.fixture(scope="module")
def shared_pool() -> Iterator[WorkerPool]:
    with WorkerPool([MISBEHAVING], workers=2, timeout_s=3.0, memory_mb=512) as pool:
        pool.start()
        yield pool


@pytest.fixture
def signals() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every file_converted / conversion_failed sent during the test, in order."""
    seen: list[tuple[str, dict[str, Any]]] = []

    def on_converted(sender: object, **kw: Any) -> None:
        seen.append(("file_converted", kw))

    def on_failed(sender: object, **kw: Any) -> None:
        seen.append(("conversion_failed", kw))

    file_converted.connect(on_converted)
    conversion_failed.connect(on_failed)
    yield seen
    file_converted.disconnect(on_converted)
    conversion_failed.disconnect(on_failed)


def wsjf_text(sn: str = "SN-1", *, with_id: bool = False, pn: str = "PCBA-1") -> str:
    """A small valid WSJF report as JSON text."""
    report: dict[str, Any] = json.loads((FIXTURES / "two_reports.json").read_text())[0]
    report["sn"], report["pn"] = sn, pn
    if with_id:
        report["id"] = "11111111-2222-4333-8444-555555555555"
    return json.dumps(report)
