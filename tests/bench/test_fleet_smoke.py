"""The fleet benchmark runs end to end at a tiny size: its accounting holds (figures are not
asserted; they go to docs/performance.md from a full-size run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_fleet_benchmark_drains_every_station_once(tmp_path: Path) -> None:
    out = tmp_path / "fleet.json"
    size = ["--engines", "2", "--backlog", "8", "--capacity", "20", "--timeout", "120"]
    proc = subprocess.run(
        [sys.executable, "-m", "tools.bench", "fleet", *size, "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (row,) = json.loads(out.read_text("utf-8"))
    assert row["lost"] == 0
    assert row["stored_distinct"] == 16
    assert row["acked_in_journals"] == 16
    assert row["all_drained"] and row["journals_verify"]
    assert 0.0 <= row["refused_share"] <= 1.0
    assert 0.0 < row["fairness_min_over_max"] <= 1.0
