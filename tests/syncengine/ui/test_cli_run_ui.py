"""`syncengine --config FILE run` as a real process serving the station page (``[ui]`` on
port 0): the chosen port is found in the log line the run writes at start, the overview
answers against the simulator, and SIGTERM stops it cleanly."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from pywats import make_token
from watsim import Simulator

pytestmark = [
    pytest.mark.skipif(os.name != "posix", reason="SIGTERM semantics are POSIX"),
    pytest.mark.timeout(120),
]

TOKEN = make_token("station", "ui-run-test-api-key")
DEADLINE_S = 60.0


def _wait_for_url(log: Path, proc: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        found = re.search(r"station page at (http://127\.0\.0\.1:\d+/)", log.read_text("utf-8"))
        if found:
            return found.group(1)
        assert proc.poll() is None, log.read_text("utf-8")[-2000:]
        time.sleep(0.1)
    raise AssertionError("run never logged the station page's URL")


def test_run_serves_the_station_page_on_the_port_it_logs(tmp_path: Path) -> None:
    config = tmp_path / "station.toml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCENGINE_")}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "xdg-config"), XDG_DATA_HOME=str(tmp_path / "xdg"))
    log = tmp_path / "run.stderr"
    with Simulator(token=TOKEN) as sim:
        config.write_text(
            f'server_url = "{sim.base_url}"\ntoken = "{TOKEN}"\n'
            f'journal_path = "{tmp_path / "journal.db"}"\nstation_name = "ICT-RUN"\n\n'
            "[ui]\nenabled = true\nport = 0\n",
            encoding="utf-8",
        )
        command = [sys.executable, "-m", "syncengine", "--config", str(config)]
        with log.open("wb") as stderr:
            proc = subprocess.Popen([*command, "run"], env=env, stdout=stderr, stderr=stderr)
        try:
            url = _wait_for_url(log, proc)
            with httpx.Client(base_url=url, timeout=10.0) as http:
                page = http.get("/")
                deadline = time.monotonic() + DEADLINE_S
                while '<div class="health-word">OK</div>' not in page.text:
                    assert time.monotonic() < deadline, page.text[-3000:]
                    time.sleep(0.2)
                    page = http.get("/")
            status = subprocess.run(
                [*command, "status", "--json"], env=env, capture_output=True, timeout=DEADLINE_S
            )
            proc.send_signal(signal.SIGTERM)
            returncode = proc.wait(timeout=DEADLINE_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert page.status_code == 200
    assert "<title>Overview · wats-sync · ICT-RUN</title>" in page.text
    assert sim.base_url in page.text  # the overview's "Engine" card names the server
    # With [ui] alone, the snapshot's address is the page's too (for scripts, not the log).
    assert json.loads(status.stdout)["health_address"] + "/" == url
    assert returncode == 0, log.read_text("utf-8")[-2000:]
