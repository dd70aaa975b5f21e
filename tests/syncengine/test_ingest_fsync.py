"""Ingest under a directory fsync that fails with EIO: the source stays, nothing is lost twice.

The fault is injected at the OS boundary (``os.fsync`` refuses directories), below the one
``journal.fsync_dir`` helper, so the test exercises its error policy as the ingest meets it.
"""

# ruff: noqa: F811  (fixtures imported from the shared harness are redefined as parameters)

from __future__ import annotations

import errno
import os
import stat
import sys
from pathlib import Path

import pytest

from syncengine._config import WatchFolder
from syncengine._ingest import Ingestor

from .converters.harness import journal, metrics, shared_pool, submit, wsjf_text  # noqa: F401

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="directory fsync is POSIX")


@pytest.fixture
def broken_directory_fsync(monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.fsync

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EIO, "Input/output error")
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def _inbox(tmp_path: Path) -> tuple[Path, WatchFolder]:
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "r.json").write_text(wsjf_text("SN-EIO"), encoding="utf-8")
    return inbox / "r.json", WatchFolder(path=inbox)


def test_the_source_file_stays_when_the_done_folder_cannot_be_synced(
    shared_pool, submit, metrics, tmp_path: Path, broken_directory_fsync: None
) -> None:
    path, folder = _inbox(tmp_path)
    result = Ingestor(shared_pool, submit, metrics).ingest(path, folder)
    assert (result.outcome, path.exists()) == ("done", True)


def test_the_reports_are_journaled_even_when_the_move_is_not_durable(
    shared_pool, submit, metrics, journal, tmp_path: Path, broken_directory_fsync: None
) -> None:
    path, folder = _inbox(tmp_path)
    result = Ingestor(shared_pool, submit, metrics).ingest(path, folder)
    assert [journal.state(key) for key in result.keys] == ["pending"]


def test_ingesting_the_kept_file_again_adds_no_submission(
    shared_pool, submit, metrics, journal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, folder = _inbox(tmp_path)
    real = os.fsync

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EIO, "Input/output error")
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    first = Ingestor(shared_pool, submit, metrics).ingest(path, folder)
    monkeypatch.setattr(os, "fsync", real)  # the disk recovered
    second = Ingestor(shared_pool, submit, metrics).ingest(path, folder)
    assert (second.keys, second.outcome, path.exists()) == (first.keys, "done", False)
    assert journal.counts()["pending"] == 1
