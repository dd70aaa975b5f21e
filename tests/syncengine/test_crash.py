"""SIGKILL an engine subprocess at random points, restart, repeat: nothing lost or duplicated.

Size knob: ``WATS_TORTURE_SCALE`` (default 1: 200 reports, 8 kills). Each round starts a child
that submits every report (re-submitting a committed one is a no-op) and drains the journal; the
parent kills it after a random delay, so kills land during submits, between UploadStarted and the
POST, while the server stores, and between the answer and Acknowledged. A last round runs until
idle. Then the server must hold exactly one report per key, and every key whose submit() had
returned in a killed round must have been in the journal.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from journal import Journal
from watsim import Simulator

from .test_engine_support import report

SCALE = max(1, int(os.environ.get("WATS_TORTURE_SCALE", "1")))
N_REPORTS = 200 * SCALE
ROUNDS = 8 * SCALE

CHILD = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[5])
    from syncengine import EngineConfig, SyncEngine
    from tests.syncengine.test_engine_support import report

    url, journal, n, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    config = EngineConfig(
        server_url=url, token="test-token", journal_path=journal, concurrency=4,
        idle_poll_s=0.02, probe_interval_s=0.05, status_interval_s=0.2,
        retry={"base_s": 0.005, "cap_s": 0.05},
    )
    with SyncEngine(config) as engine:
        print("started", flush=True)
        order = list(range(n))
        import random
        random.Random(seed).shuffle(order)
        for i in order:
            print("K", engine.submit(report(i, tag="crash")), flush=True)
        while not engine.wait_idle(1.0):
            pass
        print("idle", flush=True)
    """
)


def _spawn(sim: Simulator, journal: Path, seed: int) -> subprocess.Popen[str]:
    root = str(Path(__file__).resolve().parents[2])
    stderr = open(journal.with_name(f"child-{seed}.stderr"), "w")  # noqa: SIM115
    try:
        args = [sim.base_url, str(journal), str(N_REPORTS), str(seed), root]
        return subprocess.Popen(
            [sys.executable, "-c", CHILD, *args],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    finally:
        stderr.close()


def _stderr(journal: Path, seed: int) -> str:
    return journal.with_name(f"child-{seed}.stderr").read_text()[-3000:]


class Reader:
    """Collects a child's stdout lines on a thread (so a kill never blocks on a pipe)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._run, args=(proc,), daemon=True)
        self._thread.start()

    def _run(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append(line.strip())

    def join(self) -> None:
        self._thread.join(30)


@pytest.mark.slow
def test_sigkill_at_random_points_loses_and_duplicates_nothing(
    tmp_path: Path, sim: Simulator
) -> None:
    rng = random.Random(20260301)
    journal = tmp_path / "journal.db"
    sim.set_faults(latency_ms=[0, 15], drop_after_store_rate=0.05)
    returned: set[str] = set()
    kills = 0
    for round_ in range(ROUNDS):
        proc = _spawn(sim, journal, seed=round_)
        reader = Reader(proc)
        deadline = time.monotonic() + 30
        while "started" not in reader.lines and proc.poll() is None:
            assert time.monotonic() < deadline, "child did not start"
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.8))
        if proc.poll() is None:
            proc.kill()  # SIGKILL on POSIX, TerminateProcess on Windows
            kills += 1
        proc.wait(30)
        reader.join()
        returned |= {line[2:] for line in reader.lines if line.startswith("K ")}
        with Journal(journal) as j:
            missing = [k for k in returned if j.state(k) is None]
            if os.environ.get("WATS_TORTURE_VERBOSE"):
                print(round_, len(returned), j.counts(), sim.stats()["distinct_reports"])
        assert missing == [], f"round {round_}: submit() returned but the journal lost {missing}"
    assert kills > 0
    sim.clear_faults()
    proc = _spawn(sim, journal, seed=ROUNDS)
    reader = Reader(proc)
    assert proc.wait(300) == 0, _stderr(journal, ROUNDS)
    reader.join()
    assert "idle" in reader.lines
    expected = {report(i, tag="crash")["id"] for i in range(N_REPORTS)}
    stats = sim.stats()
    assert stats["distinct_reports"] == N_REPORTS
    assert set(stats["receive_counts"]) == expected
    with Journal(journal) as j:
        assert j.counts() == {
            "pending": 0,
            "in_flight": 0,
            "acked": N_REPORTS,
            "failed": 0,
            "superseded": 0,
            "dismissed": 0,
        }
        assert j.verify().ok
        assert j.check().ok
