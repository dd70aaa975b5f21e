"""``python -m watsim`` as a real subprocess."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.watsim.examples import minimal_uut, refused_loops_uut

REPO_ROOT = Path(__file__).resolve().parents[2]
TOKEN = "cli-token"
LISTENING = re.compile(r"^listening on (http://127\.0\.0\.1:(\d+))$")


class SimProcess:
    """A running simulator subprocess with its stdout read on a thread (portable, bounded)."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "watsim", "--token", TOKEN, *args],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_listening(self, timeout_s: float = 30.0) -> str:
        """The base URL from the ``listening on`` line."""
        line = self.lines.get(timeout=timeout_s)
        match = LISTENING.match(line)
        assert match, f"unexpected first line {line!r}"
        return match.group(1)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(30)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def launch() -> Iterator:
    started: list[SimProcess] = []

    def run(*args: str) -> SimProcess:
        process = SimProcess(*args)
        started.append(process)
        return process

    yield run
    for process in started:
        process.close()


def _auth() -> dict[str, str]:
    return {"Authorization": f"Basic {TOKEN}"}


def test_cli_prints_listening_line_and_serves(launch) -> None:
    base_url = launch("--port", "0", "--seed", "1").wait_listening()
    response = httpx.get(f"{base_url}/api/App/Version", headers=_auth(), timeout=10)
    assert response.status_code == 200


@pytest.mark.skipif(os.name == "nt", reason="SIGTERM is TerminateProcess on Windows")
def test_cli_exits_0_on_sigterm(launch) -> None:
    process = launch("--port", "0")
    process.wait_listening()
    process.proc.send_signal(signal.SIGTERM)
    assert process.proc.wait(30) == 0


@pytest.mark.skipif(os.name == "nt", reason="SIGINT delivery differs on Windows")
def test_cli_exits_0_on_sigint(launch) -> None:
    process = launch("--port", "0")
    process.wait_listening()
    process.proc.send_signal(signal.SIGINT)
    assert process.proc.wait(30) == 0


def test_cli_applies_initial_faults(launch) -> None:
    faults = json.dumps({"error_rate": 1.0, "error_statuses": [503]})
    base_url = launch("--port", "0", "--faults", faults).wait_listening()
    assert httpx.get(f"{base_url}/api/App/Version", headers=_auth()).status_code == 503


def test_cli_reads_faults_from_a_file(launch, tmp_path: Path) -> None:
    path = tmp_path / "faults.json"
    path.write_text(json.dumps({"rate_limit_rate": 1.0}), encoding="utf-8")
    base_url = launch("--port", "0", "--faults", f"@{path}").wait_listening()
    assert httpx.get(f"{base_url}/api/App/Version", headers=_auth()).status_code == 429


def test_cli_enforces_the_real_rules_unless_told_not_to(launch) -> None:
    strict = launch("--port", "0").wait_listening()
    lax = launch("--port", "0", "--no-rules").wait_listening()
    report = refused_loops_uut()
    assert httpx.post(f"{strict}/api/Report/WSJF", json=report, headers=_auth()).status_code == 400
    assert httpx.post(f"{lax}/api/Report/WSJF", json=report, headers=_auth()).status_code == 200


def test_cli_rejects_unknown_fault_with_exit_2(launch) -> None:
    process = launch("--port", "0", "--faults", '{"nope": 1}')
    assert process.proc.wait(30) == 2
    assert process.proc.stderr is not None
    assert "faults.nope" in process.proc.stderr.read()


def test_cli_without_token_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "watsim", "--port", "0"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "--token" in result.stderr


def test_reports_survive_sigkill_with_a_database(launch, tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    first = launch("--port", "0", "--db", str(db))
    base_url = first.wait_listening()
    report = minimal_uut(str(uuid.uuid4()))
    httpx.post(f"{base_url}/api/Report/WSJF", json=report, headers=_auth()).raise_for_status()
    first.proc.kill()
    first.proc.wait(30)
    second_url = launch("--port", "0", "--db", str(db)).wait_listening()
    stats = httpx.get(f"{second_url}/_sim/stats").json()
    assert stats["receive_counts"] == {report["id"]: 1}
    fetched = httpx.get(f"{second_url}/api/Report/Wsjf/{report['id']}", headers=_auth())
    assert fetched.json() == report
