"""Human `status`: the last error with its key and age (marked old after recovery), a login
hint on auth_failed, the archived count, files waiting in error/, the health endpoint; and the
engine counts error/ files in health."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from syncengine import SyncEngine
from syncengine._config import WatchFolder
from syncengine.cli import cli
from syncengine.cli._views import status_lines
from tests.isolation import isolate_environment
from watsim import Simulator

from .test_engine_support import fast_config, wait_for

NOW = 1_800_000_000.0


def _snap(**extra: object) -> dict[str, object]:
    snap: dict[str, object] = {
        "health": "degraded",
        "running": True,
        "updated_at": NOW,
        "counts": {"pending": 0, "in_flight": 0, "acked": 3, "failed": 0},
    }
    snap.update(extra)
    return snap


def _row(lines: list[str], name: str) -> str:
    found = [line for line in lines if line.startswith(name + " ")]
    assert found, f"no {name!r} row in {lines}"
    return found[0][len(name) :].strip()


def test_last_error_shows_its_key_and_age():
    error = {"key": "k-42", "message": "HTTP 503", "error_class": "ServerError", "at": NOW - 300}
    row = _row(status_lines(_snap(last_error=error, last_ack_at=NOW - 600)), "last error")
    assert "HTTP 503" in row and "key k-42" in row and "5 min ago" in row and "old" not in row


def test_last_error_is_marked_old_after_a_later_ack():
    error = {"key": "k-42", "message": "HTTP 503", "at": NOW - 300}
    row = _row(status_lines(_snap(last_error=error, last_ack_at=NOW - 10)), "last error")
    assert "old: uploads were acknowledged since" in row


def test_auth_failed_suggests_syncengine_login():
    lines = status_lines(_snap(health="auth_failed", connection="auth_failed"))
    assert "syncengine login" in _row(lines, "hint")


def test_auth_failed_hint_says_a_login_takes_over_also_with_a_configured_token():
    # The credential provider adopts a later login while auth fails, token configured or not.
    hint = _row(status_lines(_snap(health="auth_failed", connection="auth_failed")), "hint")
    assert "without a restart, also when SYNCENGINE_TOKEN or 'token'" in hint
    assert "unless" not in hint


def test_archived_count_error_files_and_health_endpoint_are_shown():
    files = {"count": 2, "oldest_at": NOW - 3600, "folders": {"/data/in/error": 2}}
    lines = status_lines(
        _snap(archived=1200, error_files=files, health_address="http://127.0.0.1:40123")
    )
    assert _row(lines, "archived") == "1200"
    row = _row(lines, "error/ files")
    assert row.startswith("2 since ") and "/data/in/error" in row
    assert _row(lines, "health endpoint") == "http://127.0.0.1:40123/healthz"


def test_files_in_error_folder_make_health_degraded_and_are_counted(tmp_path: Path, sim: Simulator):
    inbox = tmp_path / "in"
    inbox.mkdir()
    folder = WatchFolder(path=inbox, converter="wsjf", stable_s=0.05, rescan_s=0.3)
    with SyncEngine(fast_config(tmp_path, sim, watch=[folder])) as engine:
        wait_for(lambda: engine.status()["health"] == "ok", 30, "health ok")
        (inbox / "bad.json").write_text("not json")
        wait_for(lambda: (inbox / "error" / "bad.json").exists(), 30, "bad.json in error/")
        wait_for(lambda: engine.status()["error_files"]["count"] == 1, 30, "error/ counted")
        snap = engine.status()
        assert snap["health"] == "degraded"
        assert snap["metrics"]["gauges"]["error_files"] == 1
        (inbox / "error" / "bad.json").unlink()
        wait_for(lambda: engine.status()["error_files"]["count"] == 0, 30, "error/ empty")
        wait_for(lambda: engine.status()["health"] == "ok", 30, "health ok again")


def test_a_stopped_engine_shows_no_health_endpoint_address(
    tmp_path: Path, sim: Simulator, monkeypatch
):
    isolate_environment(tmp_path, monkeypatch)
    config = fast_config(tmp_path, sim, health_http={"enabled": True, "port": 0})
    env = {"SYNCENGINE_JOURNAL": str(config.journal_path), "SYNCENGINE_SERVER_URL": sim.base_url}
    with SyncEngine(config) as engine:
        assert engine.health_address is not None
        _host, port = engine.health_address
        wait_for(
            lambda: f":{port}" in CliRunner().invoke(cli, ["status"], env=env).output,
            30,
            "the running engine's address in status",
        )
    stopped = CliRunner().invoke(cli, ["status"], env=env)
    assert _row(stopped.output.splitlines(), "running").startswith("no")
    assert _row(stopped.output.splitlines(), "health endpoint") == "(not running)"
    assert f":{port}" not in stopped.output
    as_json = json.loads(CliRunner().invoke(cli, ["status", "--json"], env=env).stdout)
    assert as_json["running"] is False and as_json["health_address"] is None
