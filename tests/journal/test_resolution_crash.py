"""A process resolving failed reports is killed (SIGKILL) at random moments: every resolution
it reported is there, and no supersede is ever half done (a link without its report or the
reverse). Rounds: 4 x ``WATS_TORTURE_SCALE`` (default 1)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from journal import Journal, NewEvent

REPO = Path(__file__).resolve().parents[2]
SCALE = int(os.environ.get("WATS_TORTURE_SCALE", "1"))
FAILED = {"reason": "400", "error_class": "ValidationError", "status_code": 400}


def seed(path: Path, start: int, n: int) -> None:
    with Journal(path) as journal:
        for i in range(start, start + n):
            key = f"k{i}"
            journal.submit(key, {"type": "T", "id": key, "sn": f"SN{i}"})
            journal.record([NewEvent(key, "UploadStarted"), NewEvent(key, "Failed", FAILED)])


def run_and_kill(path: Path, after: int) -> tuple[list[str], bool]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.journal._resolve_child", str(path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "READY"
    said = [proc.stdout.readline().strip() for _ in range(after)]
    proc.kill()
    rest, _ = proc.communicate(timeout=30)
    lines = said + rest.splitlines()
    return [line for line in lines if line.startswith(("P ", "D "))], "DONE" in lines


@pytest.mark.slow
def test_resolutions_survive_sigkill_and_are_never_half_done(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    rng = random.Random(7)
    said: list[str] = []
    interrupted = 0
    for round_no in range(4 * SCALE):
        seed(path, round_no * 60, 60)
        lines, finished = run_and_kill(path, rng.randint(1, 50))
        said += lines
        interrupted += not finished
        with Journal(path) as journal:
            assert journal.verify().ok
            assert journal.check().ok
            for line in said:
                parts = line.split()
                if parts[0] == "D":
                    assert journal.state(parts[1]) == "dismissed"
                else:
                    assert journal.state(parts[1]) == "superseded"
                    assert journal.submission(parts[2]).source["supersedes"] == parts[1]
            for key in journal.keys_in_state("superseded"):
                by = journal.history(key)[-1].data["by"]
                assert journal.submission(by).source["supersedes"] == key
            for key in journal.keys_in_state("pending"):
                old = journal.submission(key).source["supersedes"]
                assert journal.state(old) == "superseded"
    assert interrupted, "no round was killed midway: the test proved nothing"
