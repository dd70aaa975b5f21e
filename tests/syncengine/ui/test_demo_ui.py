"""``syncengine demo --ui`` prints the station page's URL and keeps it open for a moment."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from syncengine.cli._demo import run_demo


def test_demo_with_the_page_prints_a_working_url(tmp_path: Path) -> None:
    seen: dict[str, int] = {}

    def echo(line: str) -> None:
        match = re.search(r"station page: (http://127\.0\.0\.1:\d+/)", line)
        if match:  # the engine is up and waiting: the page answers now
            answer = httpx.get(match.group(1) + "reports?state=failed", timeout=10)
            seen[match.group(1)] = answer.status_code
            assert "Reports" in answer.text
            overview = httpx.get(match.group(1), timeout=10).text
            # The demo's malformed file is in error/: the page says so, and why health is degraded.
            assert "Files that could not be read (1)" in overview
            assert "1 file could not be read" in overview

    assert run_demo(workdir=tmp_path, echo=echo, ui_seconds=0.3)
    assert list(seen.values()) == [200]
