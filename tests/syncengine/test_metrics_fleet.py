"""The fleet files in docs/fleet/ against the real tools: promtool, and Prometheus itself.

- the alert rules pass ``promtool check rules`` and their unit tests (``promtool test rules``);
- the Grafana dashboard is valid JSON and every metric it queries exists in a real exposition;
- a real Prometheus on 127.0.0.1 scrapes two engines and fires ``WatsSyncStuck`` for the one
  that is stuck, and only for that one.

The tools come from Debian's ``prometheus`` package (``.ci/run`` installs it); without them
these tests are skipped with that reason.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from syncengine import SyncEngine
from syncengine._metrics import build_registry, exposition
from tests.syncengine.test_engine_support import fast_config, report, wait_for
from watsim import Simulator

FLEET = Path(__file__).resolve().parents[2] / "docs" / "fleet"
RULES = FLEET / "wats-sync.rules.yml"
PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not installed (Debian package 'prometheus')"
)


def promtool(*args: str, cwd: Path = FLEET) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


# --- rules ----------------------------------------------------------------------------------------
@needs_promtool
def test_the_alert_rules_pass_promtool_check() -> None:
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_the_alert_rules_pass_their_unit_tests() -> None:
    result = promtool("test", "rules", "wats-sync.rules.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_the_rule_unit_tests_can_fail(tmp_path: Path) -> None:
    shutil.copy(RULES, tmp_path / RULES.name)
    tests = (FLEET / "wats-sync.rules.test.yml").read_text()
    # Claim the healthy station is the stuck one: promtool must say no.
    wrong = tests.replace(
        "station: st-02\n              line: L1", "station: st-01\n              line: L1"
    )
    assert wrong != tests
    (tmp_path / "t.yml").write_text(wrong)
    assert promtool("test", "rules", "t.yml", cwd=tmp_path).returncode != 0


@needs_promtool
def test_the_example_prometheus_config_is_valid(tmp_path: Path) -> None:
    shutil.copy(RULES, tmp_path / RULES.name)
    stations = tmp_path / "stations"
    stations.mkdir()
    shutil.copy(FLEET / "stations.example.yml", stations / "oslo.yml")
    config = (FLEET / "prometheus.yml").read_text()
    config = config.replace("/etc/prometheus/rules/", f"{tmp_path}/").replace(
        "/etc/prometheus/stations/", f"{stations}/"
    )
    (tmp_path / "prometheus.yml").write_text(config)
    result = promtool("check", "config", str(tmp_path / "prometheus.yml"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


TESTS = FLEET / "wats-sync.rules.test.yml"
AGENT = FLEET / "station-agent.yml"


def alert_exprs() -> dict[str, str]:
    """Alert name -> its expression's text, from the rules file."""
    found = {}
    for block in RULES.read_text().split("- alert: ")[1:]:
        name, _, rest = block.partition("\n")
        found[name.strip()] = rest.split("expr:", 1)[1].split("\n        for:", 1)[0]
    return found


def queried_by(expr: str, metric: str) -> bool:
    """True when ``expr`` selects series of ``metric`` (by name, or by a __name__ regex)."""
    if re.search(rf"\b{re.escape(metric)}\b", expr):
        return True
    return any(re.fullmatch(r, metric) for r in re.findall(r'__name__=~"([^"]+)"', expr))


def test_every_alert_is_tested_for_a_station_in_trouble_and_a_healthy_one() -> None:
    """docs/fleet.md promises it: for each alert some test case fires it for a station, and
    another station with series of the alert's own metrics in those cases does not get it."""
    exprs = alert_exprs()
    assert len(exprs) >= 10
    fed: dict[str, set[str]] = {a: set() for a in exprs}
    fired: dict[str, set[str]] = {a: set() for a in exprs}
    for case in TESTS.read_text().split("\n  - name: ")[1:]:
        head, _, checks = case.partition("alert_rule_test:")
        series = re.findall(r"series: '(\w+)\{[^']*station=\"([^\"]+)\"", head)
        for check in checks.split("alertname: ")[1:]:
            name = check.split()[0]
            fed[name] |= {st for metric, st in series if queried_by(exprs[name], metric)}
            fired[name] |= set(re.findall(r"\bstation: ([\w-]+)", check))
    for alert in exprs:
        assert fired[alert], f"{alert}: no test case where it fires"
        assert fed[alert] - fired[alert], f"{alert}: no healthy station in its test cases"


@needs_promtool
def test_the_station_agent_config_is_valid() -> None:
    result = promtool("check", "config", str(AGENT))
    assert result.returncode == 0, result.stdout + result.stderr


# --- dashboard --------------------------------------------------------------------------------
def exposed_names(tmp_path: Path, sim: Simulator) -> set[str]:
    """Every sample name a real engine exposes (after one upload and its ack)."""
    with SyncEngine(fast_config(tmp_path, sim)) as engine:
        engine.submit(report(1, tag="dash"))
        assert engine.wait_idle(30)
        text = exposition(build_registry(engine))[0].decode()
    names = set()
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    for family in text_string_to_metric_families(text):
        names.update(sample.name for sample in family.samples)
        # A family declared with no sample yet (no conversion so far, nothing waiting) exists
        # too: its HELP and TYPE lines are in the exposition.
        names.update(family.name + suffix for suffix in suffixes.get(family.type, ()))
    return names


def test_the_dashboard_is_json_and_queries_only_exposed_metrics(
    tmp_path: Path, sim: Simulator
) -> None:
    dashboard = json.loads((FLEET / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [v["definition"] for v in dashboard["templating"]["list"] if "definition" in v]
    used = {m for e in exprs for m in re.findall(r"\bwats_sync_[a-z_]+", e)}
    assert len(used) >= 10
    exposed = exposed_names(tmp_path, sim)
    assert used - exposed == set()
    panel_ids = [p["id"] for p in dashboard["panels"]]
    assert len(panel_ids) == len(set(panel_ids))


def test_the_alert_rules_query_only_exposed_metrics(tmp_path: Path, sim: Simulator) -> None:
    used = set(re.findall(r"\bwats_sync_[a-z_]+", RULES.read_text()))
    assert used - exposed_names(tmp_path, sim) == set()


# --- a real Prometheus ------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def prometheus_can_run() -> str | None:
    if PROMETHEUS is None:
        return "prometheus is not installed (Debian package 'prometheus')"
    try:
        subprocess.run([PROMETHEUS, "--version"], capture_output=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"prometheus cannot run here: {exc}"
    return None


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[[list[tuple[str, str]]], str]]:
    """``start([(target host:port, station), ...]) -> base URL`` of a Prometheus on loopback."""
    reason = prometheus_can_run()
    if reason is not None:
        pytest.skip(reason)
    assert PROMETHEUS is not None
    procs: list[subprocess.Popen[bytes]] = []

    def start(targets: list[tuple[str, str]]) -> str:
        # The shipped rules, with `for:` shortened so that the test takes seconds, not minutes;
        # the `for:` behaviour itself is covered by the promtool unit tests.
        rules = re.sub(r"for: \d+[smh]", "for: 0s", RULES.read_text())
        (tmp_path / "rules.yml").write_text(rules)
        static = [
            {"targets": [target], "labels": {"station": station, "line": "L1", "site": "test"}}
            for target, station in targets
        ]
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(tmp_path / "rules.yml")],
            "scrape_configs": [{"job_name": "wats-sync", "static_configs": static}],
        }
        (tmp_path / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
        port = free_port()
        log = (tmp_path / "prometheus.log").open("wb")
        procs.append(
            subprocess.Popen(
                [
                    str(PROMETHEUS),
                    f"--config.file={tmp_path / 'prometheus.yml'}",
                    f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--storage.tsdb.retention.time=1h",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        base = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            if procs[-1].poll() is not None:
                raise AssertionError((tmp_path / "prometheus.log").read_text()[-2000:])
            try:
                with urllib.request.urlopen(base + "/-/ready", timeout=2) as r:
                    return bool(r.status == 200)
            except OSError:
                return False

        wait_for(ready, timeout=60, what="prometheus to be ready")
        return base

    yield start
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def firing(base: str, alertname: str) -> set[str]:
    alerts = get_json(base + "/api/v1/alerts")["data"]["alerts"]
    return {
        a["labels"].get("station", "")
        for a in alerts
        if a["labels"].get("alertname") == alertname and a["state"] == "firing"
    }


def query(base: str, promql: str) -> list[dict[str, Any]]:
    url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    result: list[dict[str, Any]] = get_json(url)["data"]["result"]
    return result


def test_prometheus_fires_stuck_for_the_stuck_engine_only(
    tmp_path: Path,
    sim: Simulator,
    sim_factory: Callable[..., Simulator],
    prometheus: Callable[[list[tuple[str, str]]], str],
) -> None:
    refusing = sim_factory()
    refusing.set_faults(error_rate=1.0, error_statuses=[503])
    http = {"enabled": True, "port": 0}
    stuck_fast = {"stuck_after_s": 1.0, "breaker": {"failure_threshold": 2, "reset_timeout_s": 0.5}}
    good = SyncEngine(fast_config(tmp_path / "good", sim, health_http=http, **stuck_fast))
    bad = SyncEngine(fast_config(tmp_path / "bad", refusing, health_http=http, **stuck_fast))
    with good, bad:
        keys = [good.submit(report(i, tag="good")) for i in range(3)]
        bad.submit(report(1, tag="bad"))
        targets = []
        for engine, station in ((good, "st-good"), (bad, "st-bad")):
            address = engine.health_address
            assert address is not None
            targets.append((f"{address[0]}:{address[1]}", station))
        base = prometheus(targets)

        deadline = time.monotonic() + 90
        while firing(base, "WatsSyncStuck") != {"st-bad"}:
            assert time.monotonic() < deadline, (
                f"WatsSyncStuck never fired for st-bad alone: {firing(base, 'WatsSyncStuck')}, "
                f"bad health {bad.status()['health']}, good health {good.status()['health']}"
            )
            time.sleep(0.5)

        # What Prometheus stored is what the engines said, labelled by the scraper.
        # (the alert can fire at the first evaluation, before the other target's first scrape)
        def up() -> dict[str, str]:
            return {r["metric"]["station"]: r["value"][1] for r in query(base, "up")}

        wait_for(lambda: len(up()) == 2, timeout=30, what="both targets scraped")
        assert up() == {"st-good": "1", "st-bad": "1"}
        acked = 'wats_sync_submissions{state="acked", station="st-good"}'
        wait_for(
            lambda: [r["value"][1] for r in query(base, acked)] == ["3"],
            timeout=30,
            what="Prometheus to hold st-good's 3 acknowledged reports",
        )
        assert firing(base, "WatsSyncStuck") == {"st-bad"}  # still only the stuck one

        # Every dashboard query runs on this Prometheus (variables set to "all"), and the
        # panels that need no rate window already show both stations.
        dashboard = json.loads((FLEET / "grafana-dashboard.json").read_text())
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                expr = re.sub(r"\$(site|line|station)\b", ".*", target["expr"])
                result = query(base, expr)
                if "wats_sync_journal_size_bytes" in expr or "Reports waiting" in panel["title"]:
                    assert {r["metric"].get("station") for r in result} == {"st-good", "st-bad"}
        assert good.status()["health"] == "ok"
    assert sim.stats()["distinct_reports"] == len(keys)
    assert refusing.stats()["distinct_reports"] == 0


def start_prometheus(
    tmp_path: Path, name: str, config: str, *args: str
) -> tuple[subprocess.Popen[bytes], str]:
    """A Prometheus on loopback with ``config`` and ``args``; (process, base URL) once ready."""
    assert PROMETHEUS is not None
    (tmp_path / f"{name}.yml").write_text(config)
    port = free_port()
    log = tmp_path / f"{name}.log"
    proc = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={tmp_path / f'{name}.yml'}",
            f"--web.listen-address=127.0.0.1:{port}",
            *args,
        ],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError(log.read_text()[-2000:])
        try:
            with urllib.request.urlopen(base + "/-/ready", timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    try:
        wait_for(ready, timeout=60, what=f"prometheus ({name}) to be ready")
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc, base


def test_the_station_agent_forwards_a_real_engine_to_a_central_prometheus(
    tmp_path: Path, sim: Simulator
) -> None:
    """docs/fleet/station-agent.yml as shipped (only its target, remote_write URL and interval
    changed): Prometheus in agent mode scrapes the engine's loopback /metrics and the central
    Prometheus, which scrapes no station, holds the engine's series with the station labels."""
    reason = prometheus_can_run()
    if reason is not None:
        pytest.skip(reason)
    http = {"enabled": True, "port": 0}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with SyncEngine(fast_config(tmp_path, sim, health_http=http)) as engine:
            engine.submit(report(1, tag="agent"))
            assert engine.wait_idle(30)
            address = engine.health_address
            assert address is not None
            central, central_url = start_prometheus(
                tmp_path,
                "central",
                "global: {scrape_interval: 1s}\n",
                f"--storage.tsdb.path={tmp_path / 'central-tsdb'}",
                "--web.enable-remote-write-receiver",
            )
            procs.append(central)
            config = (
                AGENT.read_text()
                .replace("127.0.0.1:9187", f"{address[0]}:{address[1]}")
                .replace("https://prometheus.example.com", central_url)
                .replace("scrape_interval: 30s", "scrape_interval: 1s")
            )
            agent, _ = start_prometheus(
                tmp_path,
                "agent",
                config,
                "--enable-feature=agent",
                f"--storage.agent.path={tmp_path / 'agent-wal'}",
            )
            procs.append(agent)
            acked = 'wats_sync_submissions{state="acked", job="wats-sync", station="ict-01"}'
            wait_for(
                lambda: [r["value"][1] for r in query(central_url, acked)] == ["1"],
                timeout=90,
                what="the central Prometheus to hold the station's acknowledged report",
            )
            (up,) = query(central_url, 'up{job="wats-sync"}')
            assert up["value"][1] == "1"
            assert {k: up["metric"][k] for k in ("site", "line", "station")} == {
                "site": "oslo",
                "line": "line1",
                "station": "ict-01",
            }
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
