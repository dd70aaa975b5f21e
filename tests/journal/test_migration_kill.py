"""A process killed (SIGKILL) in the middle of a migration (0002, 0003, 0004) leaves the old
journal.

The migrations run in the opening transaction: a kill after a migration's copy-and-drop but
before the commit must leave the file as it was, and the next open migrates it in full.
"""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from journal import SCHEMA_VERSION, Journal
from journal._migrations import KNOWN_MIGRATIONS, applied_migrations

from .test_migration_head import COUNTS, FIXTURE
from .test_resolution import _downgrade_to_v1, make_failed, report

pytestmark = pytest.mark.skipif(
    not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX (not run on Windows)"
)
ROOT = Path(__file__).resolve().parents[2]


def _kill_during(path: Path, name: str) -> None:
    child = subprocess.run(
        [sys.executable, "-m", "tests.journal._migrate_child", str(path), name],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert "KILLING" in child.stdout and "NOT KILLED" not in child.stdout


def _version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def _all_applied_once(journal: Journal) -> None:
    names = [name for name, _ in applied_migrations(journal._store.conn)]
    assert names == [name for name, _ in KNOWN_MIGRATIONS]


def test_a_kill_inside_0003_leaves_schema_2_and_the_next_open_migrates(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    shutil.copy(FIXTURE, path)
    _kill_during(path, "0003_head")
    assert _version(path) == 2
    with Journal(path) as journal:
        assert journal.counts() == COUNTS
        assert journal.archived_count() == 1
        _all_applied_once(journal)
        assert journal.verify().ok and journal.check().ok
    assert _version(path) == SCHEMA_VERSION


@pytest.mark.parametrize("name", ["0002_resolution", "0003_head", "0004_report_list"])
def test_a_kill_inside_a_migration_from_schema_1_loses_nothing(tmp_path: Path, name: str) -> None:
    path = tmp_path / "journal.sqlite3"
    with Journal(path) as journal:
        make_failed(journal, "k1", report(1, sn="OLD"))
        journal.submit("k2", report(2, sn="OLD"))
        expected = journal.counts()
    _downgrade_to_v1(path)
    _kill_during(path, name)
    assert _version(path) == 1
    with Journal(path) as journal:
        assert journal.counts() == expected
        _all_applied_once(journal)
        assert journal.submission("k1").state == "failed"
        journal.dismiss("k1", reason="scrap")
        assert journal.counts()["dismissed"] == 1
        assert journal.verify().ok and journal.check().ok
