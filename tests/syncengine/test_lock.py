from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from syncengine import EngineLockedError
from syncengine._lock import JournalLock

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from syncengine._lock import JournalLock
    lock = JournalLock(Path(sys.argv[1]))
    lock.acquire()
    print("locked", flush=True)
    sys.stdin.readline()
    """
)


@pytest.fixture
def lock_path(tmp_path: Path) -> Path:
    return tmp_path / "journal.db.lock"


@pytest.fixture
def holder(lock_path: Path):  # type: ignore[no-untyped-def]
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    yield proc
    proc.kill()
    proc.wait(10)


def test_lock_is_exclusive_within_a_process(lock_path: Path) -> None:
    with JournalLock(lock_path), pytest.raises(EngineLockedError):
        JournalLock(lock_path).acquire()


def test_second_process_is_refused_with_the_holders_pid(lock_path: Path, holder) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(EngineLockedError) as info:
        JournalLock(lock_path).acquire()
    assert f"pid {holder.pid}" in str(info.value)
    assert "only one engine may run per journal" in str(info.value)


def test_lock_of_a_killed_process_is_free_again(lock_path: Path, holder) -> None:  # type: ignore[no-untyped-def]
    holder.kill()
    holder.wait(10)
    lock = JournalLock(lock_path)
    lock.acquire()
    assert lock.held
    lock.release()


def test_release_lets_the_next_holder_in(lock_path: Path) -> None:
    first = JournalLock(lock_path)
    first.acquire()
    first.release()
    second = JournalLock(lock_path)
    second.acquire()
    assert second.held
    second.release()
