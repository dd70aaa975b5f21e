"""`syncengine run` as a real subprocess configured only by the environment.

One scenario runs once for the module (starting Python subprocesses is the slow part): start
`run` against the simulator, drop WSJF files into the watched folder, `submit` one more file
from another process, try a second `run` on the same journal, send SIGTERM. The tests then
check one claim each against what was recorded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pywats import make_token
from tests.syncengine.run_process import running_cli, wait_until
from tests.watsim.examples import example_uut
from watsim import Simulator

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGTERM semantics are POSIX")

TOKEN = make_token("station", "run-test-api-key-not-to-be-logged")
DEADLINE_S = 60.0


@dataclass
class Scenario:
    """What the scenario observed."""

    work: Path
    watch: Path
    report_ids: list[str]
    submit_stdout: str = ""
    stored: dict[str, int] = field(default_factory=dict)
    second_run_rc: int | None = None
    second_run_stderr: str = ""
    returncode: int | None = None
    stderr: str = ""
    log_text: str = ""
    status: dict = field(default_factory=dict)
    status_rc: int | None = None
    running_status: dict = field(default_factory=dict)


def _env(work: Path, base_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCENGINE_")}
    env.update(
        SYNCENGINE_SERVER_URL=base_url,
        SYNCENGINE_TOKEN=TOKEN,
        SYNCENGINE_JOURNAL=str(work / "journal.sqlite3"),
        SYNCENGINE_WATCH=str(work / "in"),
        SYNCENGINE_LOG_FILE=str(work / "logs" / "syncengine.log"),
        SYNCENGINE_LOG_LEVEL="DEBUG",
        XDG_CONFIG_HOME=str(work / "xdg-config"),
        XDG_DATA_HOME=str(work / "xdg-data"),
    )
    return env


def _report_file(folder: Path, serial: str, process_code: int = 10) -> tuple[Path, str]:
    report = example_uut()
    report["processCode"] = process_code
    report["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"run-test/{serial}"))
    report["sn"] = serial
    path = folder / f"{serial}.json"
    tmp = path.with_suffix(".part")
    tmp.write_text(json.dumps(report), encoding="utf-8")
    tmp.replace(path)
    return path, report["id"]


def _cli(
    env: dict[str, str], *args: str, timeout: float = DEADLINE_S
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "syncengine", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    work = tmp_path_factory.mktemp("run")
    watch = work / "in"
    watch.mkdir()
    outside = work / "outside"
    outside.mkdir()
    with Simulator(token=TOKEN, seed=3) as sim:
        env = _env(work, sim.base_url)
        with running_cli(["run"], env, work / "run.stderr") as child:
            ids = [_report_file(watch, f"SN-RUN-{i}")[1] for i in range(2)]
            _report_file(watch, "SN-RUN-REJECTED", process_code=999)
            extra, extra_id = _report_file(outside, "SN-RUN-SUBMIT")
            ids.append(extra_id)
            result = Scenario(work, watch, ids)
            result.submit_stdout = _cli(env, "submit", str(extra)).stdout
            wait_until(
                lambda: (
                    sim.stats()["distinct_reports"] >= len(ids)
                    and "failed permanently" in child.log()
                ),
                DEADLINE_S,
            )
            result.stored = dict(sim.stats()["receive_counts"])
            running = _cli(env, "status", "--json")
            result.running_status = json.loads(running.stdout) if running.stdout else {}
            second = _cli(env, "run", timeout=30)
            result.second_run_rc, result.second_run_stderr = second.returncode, second.stderr
            result.returncode = child.stop(DEADLINE_S)
        result.stderr = child.log()
        log_file = work / "logs" / "syncengine.log"
        result.log_text = log_file.read_text(encoding="utf-8") if log_file.exists() else ""
        status = _cli(env, "status", "--json")
        result.status_rc = status.returncode
        result.status = json.loads(status.stdout) if status.stdout else {}
        yield result


def test_run_exits_0_after_sigterm(scenario: Scenario) -> None:
    assert scenario.returncode == 0, scenario.stderr[-2000:]


def test_watched_and_submitted_reports_reach_the_server(scenario: Scenario) -> None:
    assert set(scenario.stored) == {i.lower() for i in scenario.report_ids}


def test_each_report_is_stored_once(scenario: Scenario) -> None:
    assert set(scenario.stored.values()) == {1}


def test_submit_prints_the_key_while_run_is_running(scenario: Scenario) -> None:
    assert len(scenario.submit_stdout.split()) == 1


def test_watched_files_are_moved_to_done(scenario: Scenario) -> None:
    assert sorted(p.name for p in (scenario.watch / "done").iterdir()) == [
        "SN-RUN-0.json",
        "SN-RUN-1.json",
        "SN-RUN-REJECTED.json",
    ]


def test_a_rejected_report_is_logged_with_the_server_reason(scenario: Scenario) -> None:
    line = next(x for x in scenario.stderr.splitlines() if "failed permanently" in x)
    assert "HTTP 400" in line
    assert "999" in line


def test_second_run_on_the_same_journal_exits_4(scenario: Scenario) -> None:
    assert scenario.second_run_rc == 4
    assert scenario.second_run_stderr.count("\n") == 1


def test_run_logs_to_stderr(scenario: Scenario) -> None:
    assert "syncengine running" in scenario.stderr


def test_run_logs_to_the_log_file(scenario: Scenario) -> None:
    assert "syncengine running" in scenario.log_text


def test_token_is_in_no_log(scenario: Scenario) -> None:
    assert TOKEN not in scenario.stderr
    assert TOKEN not in scenario.log_text


def test_status_after_shutdown_counts_acked_and_failed(scenario: Scenario) -> None:
    counts = scenario.status["counts"]
    assert (counts["acked"], counts["failed"]) == (len(scenario.report_ids), 1)


def test_status_after_shutdown_says_stopped(scenario: Scenario) -> None:
    assert scenario.status["health"] == "stopped"
    assert scenario.status_rc == 2


def test_status_while_running_reads_the_live_snapshot(scenario: Scenario) -> None:
    assert scenario.running_status["running"] is True
    assert scenario.running_status["source"] == "status_file"
