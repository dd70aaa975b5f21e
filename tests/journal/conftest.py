"""Fixtures for the journal tests: a journal in tmp_path on a controllable clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from journal import Journal


class Clock:
    """A settable clock so tests can say "now" without sleeping."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "journal.db"


@pytest.fixture
def journal(journal_path: Path, clock: Clock) -> Iterator[Journal]:
    with Journal(journal_path, clock=clock) as j:
        yield j


def report(n: int = 0, size: int = 50) -> dict[str, object]:
    """A small WSJF-like report payload."""
    return {"id": f"00000000-0000-4000-8000-{n:012d}", "type": "T", "pn": "PN-1", "x": "y" * size}
