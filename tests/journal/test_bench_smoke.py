"""The journal benchmark runs end to end at a tiny size (figures are not asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .test_crash import REPO


def test_journal_benchmark_runs_and_prints_every_case(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.bench",
            "journal",
            "--size",
            "16",
            "--chunk",
            "8",
            "--big",
            "30",
            "--frames",
            "5",
            "--out",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr
    for label in (
        "raw 4 KB append + fsync",
        "persist-queue",
        "8 producer threads",
        "rebuild (warm)",
        "peak RSS",
        "WAL pages written per durable submit",
        "| head |",
    ):
        assert label in proc.stdout


def test_bench_runner_rejects_an_unknown_benchmark() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tools.bench", "nosuch"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "unknown benchmark" in proc.stderr
