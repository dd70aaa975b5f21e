"""`syncengine run` with the health endpoint on `port = 0` (the OS picks the port): the start-up
log names the real address and a running engine's `status` shows the same one, so the port is
discoverable. A real subprocess against the simulator, bounded, stopped with SIGTERM."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from pywats import make_token
from tests.syncengine.run_process import running_cli, wait_until
from watsim import Simulator

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGTERM semantics are POSIX")

TOKEN = make_token("station", "health-test-api-key-0123456789")
DEADLINE_S = 60.0
LINE = re.compile(r"health endpoint: (http://127\.0\.0\.1:(\d+))/healthz \(metrics: /metrics\)")


@dataclass
class Observed:
    """What the running engine logged and what `status` said meanwhile."""

    log: str
    status_text: str
    status_json: dict
    healthz: dict
    returncode: int | None


def _status(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "syncengine", "status", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=DEADLINE_S,
    ).stdout


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Observed]:
    work = tmp_path_factory.mktemp("health")
    with Simulator(token=TOKEN, seed=5) as sim:
        config = work / "config.toml"
        config.write_text(
            f'server_url = "{sim.base_url}"\ntoken = "{TOKEN}"\n'
            f"journal_path = {json.dumps(str(work / 'journal.sqlite3'))}\n"
            "status_interval_s = 0.2\n[health_http]\nenabled = true\nport = 0\n",
            encoding="utf-8",
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCENGINE_")}
        env.update(
            SYNCENGINE_CONFIG=str(config),
            XDG_CONFIG_HOME=str(work / "xdg-config"),
            XDG_DATA_HOME=str(work / "xdg-data"),
        )
        with running_cli(["run"], env, work / "run.stderr") as child:
            log = child.log
            assert wait_until(lambda: LINE.search(log()) is not None, DEADLINE_S), log()
            assert wait_until(lambda: "health endpoint" in _status(env), DEADLINE_S), log()
            match = LINE.search(log())
            assert match is not None
            with urllib.request.urlopen(f"{match.group(1)}/healthz", timeout=10) as answer:
                healthz = json.loads(answer.read())
            result = Observed(
                log(), _status(env), json.loads(_status(env, "--json")), healthz, None
            )
            result.returncode = child.stop(DEADLINE_S)
        yield result


def _address(observed: Observed) -> tuple[str, int]:
    match = LINE.search(observed.log)
    assert match is not None
    return match.group(1), int(match.group(2))


def test_start_up_log_names_the_port_the_os_chose(observed: Observed) -> None:
    _url, port = _address(observed)
    assert port != 0


def test_the_logged_address_answers_healthz(observed: Observed) -> None:
    assert observed.healthz.get("health") in {"ok", "degraded", "offline"}


def test_status_shows_the_same_address_while_running(observed: Observed) -> None:
    url, _port = _address(observed)
    row = next(x for x in observed.status_text.splitlines() if x.strip().startswith("health end"))
    assert row.split()[-1] == f"{url}/healthz"
    assert observed.status_json["health_address"] == url


def test_run_stops_cleanly_on_sigterm(observed: Observed) -> None:
    assert observed.returncode == 0, observed.log[-2000:]
