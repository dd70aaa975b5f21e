"""Crash tests: a real subprocess appending in a loop is killed (SIGKILL) at random moments.

After every kill the journal must open, verify, agree with its rebuilt projection, and hold
every submission (and acknowledgement) that the child reported as returned. The number of kills
is 8 x ``WATS_TORTURE_SCALE`` (default 1).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from journal import Journal, NewEvent, read_archive

REPO = Path(__file__).resolve().parents[2]
SCALE = int(os.environ.get("WATS_TORTURE_SCALE", "1"))


def spawn(path: Path, name: str, count: int, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.journal._child", str(path), name, str(count), mode],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_until_killed(proc: subprocess.Popen[str], lines_before_kill: int) -> list[str]:
    """Read the child's promises, kill it after ``lines_before_kill`` of them, return all read."""
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "READY"
    promised: list[str] = []
    deadline = time.monotonic() + 60
    while len(promised) < lines_before_kill and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        promised.append(line.strip())
    proc.kill()  # SIGKILL on POSIX, TerminateProcess on Windows: no cleanup runs in the child
    rest, _ = proc.communicate(timeout=30)
    promised += [
        line.strip() for line in rest.splitlines() if line.startswith(("S ", "A ", "B ", "R "))
    ]
    return promised


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["submit", "lifecycle"])
def test_every_returned_append_survives_sigkill(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "crash.db"
    rng = random.Random(1234)
    promised: list[str] = []
    for round_no in range(8 * SCALE):
        proc = spawn(path, f"r{round_no}", 0, mode)
        promised += read_until_killed(proc, rng.randint(1, 40))
        with Journal(path) as journal:
            assert journal.verify().ok
            assert journal.check().ok
            for line in promised:
                kind, key = line.split()
                state = journal.state(key)
                assert state is not None, f"{key} was promised but is missing"
                if kind == "A":
                    assert state == "acked", f"{key} was acked but is {state}"
    assert len(promised) >= 8 * SCALE


@pytest.mark.slow
def test_transaction_interrupted_by_sigkill_leaves_all_or_nothing(tmp_path: Path) -> None:
    path = tmp_path / "batch.db"
    rng = random.Random(99)
    promised: set[str] = set()
    for round_no in range(6 * SCALE):
        proc = spawn(path, f"r{round_no}", 0, "batch")
        promised |= {line.split()[1] for line in read_until_killed(proc, rng.randint(1, 6))}
        with Journal(path) as journal:
            assert journal.verify().ok and journal.check().ok
            sizes: dict[str, int] = {}
            for event in journal.dump(payloads=False):
                batch = event["key"].rsplit("-", 1)[0]
                sizes[batch] = sizes.get(batch, 0) + 1
        assert set(sizes.values()) <= {200}, "a batch was partly committed"
        assert promised <= set(sizes), "a returned batch is missing"


@pytest.mark.slow
def test_archive_interrupted_by_sigkill_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    keys = [f"a-{i}" for i in range(600)]
    with Journal(path) as journal:
        journal.submit_many([(k, {"n": i, "blob": "z" * 500}, None) for i, k in enumerate(keys)])
        journal.upload_started(keys)
        journal.record([NewEvent(k, "Acknowledged", {"answer": {"id": k}}) for k in keys])
    rng = random.Random(7)
    archived: set[str] = set()
    for _ in range(3 * SCALE):
        proc = spawn(path, "x", 0, "archive")
        for line in read_until_killed(proc, rng.randint(1, 4)):
            _, file, sha, _n = line.split()
            archived |= {e["key"] for e in read_archive(file, expected_sha256=sha)}
        with Journal(path) as journal:
            assert journal.verify().ok and journal.check().ok
            for key in keys:
                assert journal.state(key) == "acked", key
                if key in archived:
                    assert journal.submission(key) is None, f"{key} archived yet still live"
            assert journal.archived_count() >= len(archived)
