"""An archive interrupted by process death at each step between file and journal commit: a file
under its final name always belongs to a committed archive, a committed archive is never lost,
and no submission ends up both live and archived.

The child dies with ``os._exit`` (no ``finally``, no SQLite commit: what SIGKILL does) at a
chosen step, found by wrapping the stdlib ``os.fsync``/``os.replace`` in the child only.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from journal import Journal, NewEvent, _archive, read_archive

REPO = Path(__file__).resolve().parents[2]
KEYS = [f"k-{i}" for i in range(40)]

CHILD = """
import os, sys
from journal import Journal

path, dest, step = sys.argv[1], sys.argv[2], sys.argv[3]
real_fsync, real_replace = os.fsync, os.replace

def fsync(fd):
    if step == "at-file-fsync" and os.path.realpath(f"/proc/self/fd/{fd}").endswith(".tmp"):
        os._exit(137)
    real_fsync(fd)

def replace(src, dst):
    if step == "before-rename" and str(dst).endswith(".jsonl.gz"):
        os._exit(137)
    real_replace(src, dst)
    if step == "after-rename" and str(dst).endswith(".jsonl.gz"):
        os._exit(137)

os.fsync, os.replace = fsync, replace
with Journal(path) as journal:
    journal.archive(0, dest)
sys.exit(0)
"""


@pytest.fixture
def acked(tmp_path: Path) -> Path:
    """A journal whose 40 submissions are all acknowledged."""
    path = tmp_path / "journal.db"
    with Journal(path) as j:
        j.submit_many([(k, {"n": i, "blob": "z" * 200}, None) for i, k in enumerate(KEYS)])
        j.upload_started(KEYS)
        j.record([NewEvent(k, "Acknowledged", {"answer": {"id": k}}) for k in KEYS])
    return path


def die_archiving(path: Path, dest: Path, step: str) -> int:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(dest), step],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc.returncode


def recorded(path: Path) -> dict[str, str]:
    """file name -> sha256 of the archives the journal's Archived events name."""
    with Journal(path) as j:
        return {
            e["data"]["file"]: e["data"]["sha256"]
            for e in j.dump(payloads=False)
            if e["type"] == "Archived"
        }


def live_keys(path: Path) -> set[str]:
    with Journal(path) as j:
        return {k for k in KEYS if j.submission(k) is not None}


needs_proc_fd = pytest.mark.skipif(
    not Path("/proc/self/fd").exists(), reason="finds the archive's fd through /proc"
)


@needs_proc_fd
def test_archive_killed_while_writing_its_file_keeps_every_submission_live(
    acked: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "a.jsonl.gz"
    assert die_archiving(acked, dest, "at-file-fsync") == 137
    assert (live_keys(acked), recorded(acked), dest.exists()) == (set(KEYS), {}, False)


def test_archive_file_under_its_final_name_is_always_recorded_by_the_journal(
    acked: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "a.jsonl.gz"
    assert die_archiving(acked, dest, "after-rename") == 137
    assert dest.exists() and recorded(acked) == {dest.name: read_sha(dest)}


def test_archive_killed_right_after_its_rename_leaves_no_key_live(
    acked: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "a.jsonl.gz"
    assert die_archiving(acked, dest, "after-rename") == 137
    assert live_keys(acked) == set()


def test_archive_committed_but_killed_before_its_rename_reads_through_the_recorded_sha(
    acked: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "a.jsonl.gz"
    assert die_archiving(acked, dest, "before-rename") == 137
    sha = recorded(acked)[dest.name]
    keys = {e["key"] for e in read_archive(dest, expected_sha256=sha)}
    assert (keys, live_keys(acked), dest.exists()) == (set(KEYS), set(), False)


def test_next_archive_call_renames_a_committed_tmp_into_place(acked: Path, tmp_path: Path) -> None:
    dest = tmp_path / "a.jsonl.gz"
    assert die_archiving(acked, dest, "before-rename") == 137
    with Journal(acked) as j:
        assert j.archive(0, tmp_path).submissions == 0
    assert dest.exists() and not dest.with_name(dest.name + ".tmp").exists()
    assert read_sha(dest) == recorded(acked)[dest.name]


def test_archive_verifies_after_a_kill_at_each_step(acked: Path, tmp_path: Path) -> None:
    steps = ["before-rename", "after-rename"]
    if Path("/proc/self/fd").exists():
        steps.insert(0, "at-file-fsync")
    with Journal(acked) as j:
        j.submit_many([(f"m-{i}", {"m": i}, None) for i in range(3 * len(steps))])
    for i, step in enumerate(steps):
        with Journal(acked) as j:
            keys = [f"m-{3 * i + n}" for n in range(3)]
            j.upload_started(keys)
            j.record([NewEvent(k, "Acknowledged", {"answer": {"id": k}}) for k in keys])
        assert die_archiving(acked, tmp_path / f"s{i}.jsonl.gz", step) == 137
    with Journal(acked) as j:
        assert (j.verify().ok, j.check().ok) == (True, True)


def test_a_failing_archive_call_never_deletes_another_calls_committed_tmp(
    acked: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "a.jsonl.gz"
    assert die_archiving(acked, dest, "before-rename") == 137
    tmp = dest.with_name(dest.name + ".tmp")

    def refuse(conn: object, directory: Path) -> None:
        raise RuntimeError("lock lost before this call wrote anything")

    monkeypatch.setattr(_archive, "_finish_renames", refuse)
    with Journal(acked) as j, pytest.raises(RuntimeError):
        j.archive(0, dest)  # the same destination, as a second cron run in the same second
    sha = recorded(acked)[dest.name]
    assert tmp.exists() and {e["key"] for e in read_archive(dest, expected_sha256=sha)} == set(KEYS)


def test_archive_makes_its_file_name_durable_before_the_journal_commits(
    acked: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[Path, int]] = []
    real = _archive._fsync_dir

    def fsync_dir(directory: Path) -> None:
        with sqlite3.connect(acked) as other:  # what a reader sees: committed state only
            n = other.execute("SELECT count(*) FROM events WHERE type = 'Archived'").fetchone()[0]
        seen.append((directory, n))
        real(directory)

    monkeypatch.setattr(_archive, "_fsync_dir", fsync_dir)
    with Journal(acked) as j:
        j.archive(0, tmp_path / "a.jsonl.gz")
    assert seen[0] == (tmp_path, 0)  # directory synced while the archive was not yet committed


def test_a_rolled_back_archive_removes_only_its_own_partial_tmp(
    acked: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "a.jsonl.gz"

    def full_disk(*args: object) -> dict[str, object]:
        dest.with_name(dest.name + ".tmp").write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_archive, "_write_events", full_disk)
    with Journal(acked) as j, pytest.raises(OSError):
        j.archive(0, dest)
    assert not dest.with_name(dest.name + ".tmp").exists() and live_keys(acked) == set(KEYS)


def read_sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()
