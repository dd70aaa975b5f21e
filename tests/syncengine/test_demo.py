"""`syncengine demo` as the README runs it: a real subprocess, no configuration, no network."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[subprocess.CompletedProcess]:
    home = tmp_path_factory.mktemp("demo-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCENGINE_")}
    # A config file that would break any other command must not matter to the demo.
    broken = home / "broken.toml"
    broken.write_text("this is = = not toml\n", encoding="utf-8")
    env.update(SYNCENGINE_CONFIG=str(broken), XDG_DATA_HOME=str(home / "data"))
    yield subprocess.run(
        [sys.executable, "-m", "syncengine", "demo", "--keep", str(home / "work")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_demo_exits_0(demo: subprocess.CompletedProcess) -> None:
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]


def test_demo_reports_every_check_ok(demo: subprocess.CompletedProcess) -> None:
    assert "FAIL" not in demo.stdout
    assert "demo OK" in demo.stdout


def test_demo_shows_the_status_table(demo: subprocess.CompletedProcess) -> None:
    assert "--- syncengine status" in demo.stdout
    assert "acked" in demo.stdout


def test_demo_inspects_a_report_that_needed_retries(demo: subprocess.CompletedProcess) -> None:
    inspected = demo.stdout.split("--- syncengine inspect", 1)[1]
    assert "RetryScheduled" in inspected
    assert "final state: acked" in inspected


def test_demo_narrates_the_outage(demo: subprocess.CompletedProcess) -> None:
    assert "connection online -> offline" in demo.stdout


def test_demo_leaves_the_malformed_file_explained(demo: subprocess.CompletedProcess) -> None:
    work = Path(demo.args[-1])
    sidecars = list((work / "station" / "error").glob("*.error.txt"))
    assert len(sidecars) == 1
    assert "invalid JSON" in sidecars[0].read_text(encoding="utf-8")


def test_demo_prints_nothing_on_stderr(demo: subprocess.CompletedProcess) -> None:
    assert demo.stderr == ""


LOOP_LINE = (
    "root -> step Burn-in -> loop Burn-in voltage: num is required to be one more than endingIndex."
)


def test_demo_shows_the_real_servers_loop_refusal(demo: subprocess.CompletedProcess) -> None:
    assert "failed     SN-000108 re-sent export: HTTP 400: " in demo.stdout
    assert LOOP_LINE in demo.stdout


def test_demo_explains_the_refusal_with_the_option_that_fixes_it(
    demo: subprocess.CompletedProcess,
) -> None:
    inspected = demo.stdout.split("(SN-000108 re-sent export)", 1)[1]
    fix = next(line for line in inspected.splitlines() if line.startswith("fix"))
    assert "normalize_loops = true" in fix
    assert "final state: failed" in inspected


def test_demo_sends_the_export_again_recorded_as_rewritten(
    demo: subprocess.CompletedProcess,
) -> None:
    from journal import Journal

    work = Path(demo.args[-1])
    with Journal(work / "journal.sqlite3") as journal:
        subs = [journal.submission(k) for k in journal.keys_in_state("acked")]
    rewritten = [s for s in subs if s is not None and (s.source or {}).get("normalize_loops")]
    assert len(rewritten) == 1
    change = rewritten[0].source["normalize_loops"]["changes"][0]
    assert (change["field"], change["old"], change["new"]) == ("endingIndex", 3, 2)
    assert rewritten[0].payload["root"]["steps"][-1]["steps"][0]["loop"]["endingIndex"] == 2


def test_demo_without_the_simulator_is_exit_3_saying_what_to_install(tmp_path: Path) -> None:
    # A `watsim` first on the path that cannot be imported: what a packager who split the
    # simulator out (or broke it) leaves behind.
    fake = tmp_path / "path" / "watsim"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('watsim was left out')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCENGINE_")}
    env.update(PYTHONPATH=str(fake.parent), XDG_DATA_HOME=str(tmp_path / "data"))
    result = subprocess.run(
        [sys.executable, "-m", "syncengine", "demo"],
        env=env,
        cwd=tmp_path,  # not the checkout, whose own watsim would come first
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 3, result.stderr
    assert "watsim was left out" in result.stderr
    assert "install wats-sync with its simulator" in result.stderr
    assert "Traceback" not in result.stderr
