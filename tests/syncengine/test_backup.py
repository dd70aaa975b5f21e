"""`syncengine journal backup DEST` takes a verified, consistent copy while another process
writes the journal; a damaged journal gives no backup; `journal archive verify FILE` reads an
archive end to end and catches damage."""

from __future__ import annotations

import gzip
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from journal import Journal
from syncengine.cli import EXIT_FAILED, cli
from tests.isolation import isolate_environment

from .test_engine_support import report

WRITER = textwrap.dedent(
    """
    import sys, uuid
    from pathlib import Path
    from journal import Journal
    sys.path.insert(0, sys.argv[2])
    from tests.syncengine.test_engine_support import report
    path, ready = Path(sys.argv[1]), Path(sys.argv[3])
    with Journal(path, synchronous="NORMAL") as journal:
        for i in range(1_000_000):
            key = f"w-{i}"
            journal.submit(key, report(i, tag="writer"))
            journal.upload_started([key])
            journal.acknowledged(key, answer={"id": key, "status_code": 200})
            if i == 50:
                ready.touch()
    """
)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    isolate_environment(tmp_path, monkeypatch)
    return {"SYNCENGINE_JOURNAL": str(tmp_path / "journal.db")}


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def _small_journal(path: Path, n: int = 3) -> None:
    with Journal(path) as journal:
        for i in range(n):
            journal.submit(f"k{i}", report(i))
        journal.upload_started(["k0"])
        journal.acknowledged("k0", answer={"id": "x", "status_code": 200})


def test_backups_taken_while_another_process_writes_are_consistent_and_verified(
    tmp_path: Path, env
):
    ready = tmp_path / "ready"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, env["SYNCENGINE_JOURNAL"], str(ROOT), str(ready)]
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert writer.poll() is None and time.monotonic() < deadline, "writer did not start"
            time.sleep(0.05)
        sizes = []
        for n in range(3):
            dest = tmp_path / "backups" / f"b{n}.db"
            result = run(env, "journal", "backup", str(dest))
            assert result.exit_code == 0, result.output
            assert "verified" in result.output and not Path(str(dest) + ".tmp").exists()
            with Journal(dest) as copy:
                assert copy.verify().ok and copy.check().ok
                counts = copy.counts()
                # The writer acks each report before submitting the next: a snapshot taken
                # between its transactions holds at most one that is not acked yet.
                assert counts["pending"] + counts["in_flight"] <= 1
                sizes.append(sum(counts.values()))
        assert writer.poll() is None, "the writer kept running during the backups"
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    assert sizes == sorted(sizes) and sizes[0] > 50


def test_restore_is_a_copy_over_journal_path(tmp_path: Path, env):
    journal_path = Path(env["SYNCENGINE_JOURNAL"])
    _small_journal(journal_path)
    dest = tmp_path / "backup.db"
    assert run(env, "journal", "backup", str(dest)).exit_code == 0
    journal_path.unlink()
    shutil.copy(dest, journal_path)
    result = run(env, "journal", "verify")
    assert result.exit_code == 0 and "intact (" in result.output


def test_backup_refuses_to_overwrite_unless_asked(tmp_path: Path, env):
    _small_journal(Path(env["SYNCENGINE_JOURNAL"]))
    dest = tmp_path / "backup.db"
    dest.write_text("something precious")
    refused = run(env, "journal", "backup", str(dest))
    assert refused.exit_code == EXIT_FAILED and "--overwrite" in refused.output
    assert dest.read_text() == "something precious"
    assert run(env, "journal", "backup", str(dest), "--overwrite").exit_code == 0


def test_damaged_journal_gives_no_backup(tmp_path: Path, env):
    journal_path = Path(env["SYNCENGINE_JOURNAL"])
    _small_journal(journal_path)
    conn = sqlite3.connect(journal_path)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("UPDATE events SET data = replace(data, '\"v\":1', '\"v\":2') WHERE seq = 2")
    conn.commit()
    conn.close()
    dest = tmp_path / "backup.db"
    result = run(env, "journal", "backup", str(dest))
    assert result.exit_code == EXIT_FAILED and "hash chain" in result.output
    assert not dest.exists() and not Path(str(dest) + ".tmp").exists()


def _archived(env, tmp_path: Path) -> Path:
    journal_path = Path(env["SYNCENGINE_JOURNAL"])
    with Journal(journal_path) as journal:
        for i in range(4):
            key = f"a{i}"
            journal.submit(key, report(i, tag="arch"))
            journal.upload_started([key])
            journal.acknowledged(key, answer={"id": key, "status_code": 200})
    dest = tmp_path / "old.jsonl.gz"
    result = run(env, "journal", "archive", "--older-than", "0", "--dest", str(dest))
    assert result.exit_code == 0 and "archived 4 submission" in result.output
    return dest


def test_archive_verify_reads_a_good_archive_and_checks_the_recorded_digest(tmp_path, env):
    dest = _archived(env, tmp_path)
    result = run(env, "journal", "archive", "verify", str(dest))
    assert result.exit_code == 0, result.output
    assert "intact" in result.output and "4 submission(s)" in result.output
    assert "SHA-256 matches" in result.output


def test_archive_verify_catches_a_changed_event_and_a_truncated_file(tmp_path, env):
    dest = _archived(env, tmp_path)
    lines = gzip.decompress(dest.read_bytes()).splitlines(keepends=True)
    changed = tmp_path / "changed.jsonl.gz"
    changed.write_bytes(gzip.compress(b"".join([lines[0], lines[1].replace(b"a0", b"a9")])))
    bad = run(env, "journal", "archive", "verify", str(changed))
    assert bad.exit_code == EXIT_FAILED and "damaged" in bad.output
    truncated = tmp_path / "truncated.jsonl.gz"
    truncated.write_bytes(gzip.compress(b"".join(lines[:-1])))
    cut = run(env, "journal", "archive", "verify", str(truncated))
    assert cut.exit_code == EXIT_FAILED and "damaged" in cut.output


def test_archive_verify_of_a_recorded_file_that_changed_fails(tmp_path, env):
    dest = _archived(env, tmp_path)
    data = gzip.decompress(dest.read_bytes())
    dest.write_bytes(gzip.compress(data, compresslevel=1))  # same events, other bytes
    result = run(env, "journal", "archive", "verify", str(dest))
    assert result.exit_code == EXIT_FAILED and "sha256" in result.output.lower()


def test_archive_without_older_than_is_still_a_usage_error(env):
    result = run(env, "journal", "archive")
    assert result.exit_code == 2 and "--older-than" in result.output
