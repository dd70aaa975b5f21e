"""Fixtures for the converter tests: plugin module paths, a shared worker pool."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from syncengine.converters import WorkerPool

PLUGINS = Path(__file__).parent / "plugins"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "converters"


@pytest.fixture(scope="module")
def misbehaving() -> str:
    """Path of the module holding the misbehaving test converters."""
    return str(PLUGINS / "misbehaving.py")


@pytest.fixture(scope="module")
def pool(misbehaving: str) -> Iterator[WorkerPool]:
    """One worker, 3 s per file, 256 MB address space: shared by a module's tests."""
    with WorkerPool([misbehaving], workers=1, timeout_s=3.0, memory_mb=256) as shared:
        shared.start()
        yield shared


@pytest.fixture
def make_file(tmp_path: Path):
    """Write a file into tmp_path and return its path."""

    def make(name: str, content: str | bytes = "[]") -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return make
