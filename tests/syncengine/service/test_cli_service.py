"""`syncengine service ...` and `syncengine config check` through the real click commands."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from syncengine import EngineConfig
from syncengine.cli import EXIT_CONFIG
from syncengine.cli._cmd_service import manager_lines
from syncengine.service import SystemdManager, winsw_xml
from tests.syncengine.service.conftest import invoke


# --- service print / install / status ----------------------------------------------------------
def test_service_print_writes_the_unit_and_changes_nothing(
    station: Path, env: dict[str, str], tmp_path: Path
) -> None:
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = invoke(["--config", str(station), "service", "print", "--platform", "systemd"], env)
    assert result.exit_code == 0, result.output
    assert result.output.count("[Service]") == 1
    assert f"--config {station} run" in result.output
    assert f"ReadWritePaths=-{tmp_path / 'inbox'}\n" in result.output
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_service_print_needs_a_config_file(env: dict[str, str]) -> None:
    result = invoke(["service", "print"], env)
    assert result.exit_code == EXIT_CONFIG and "--config" in result.output


def test_service_print_winsw_is_parseable_xml(station: Path, env: dict[str, str]) -> None:
    result = invoke(["--config", str(station), "service", "print", "--platform", "winsw"], env)
    assert result.exit_code == 0, result.output
    assert ET.fromstring(result.output).findtext("id") == "wats-sync"


@pytest.mark.skipif(
    sys.platform.startswith("linux") and Path("/run/systemd/system").is_dir(),
    reason="systemd runs here: the refusal is tested where it does not",
)
def test_service_install_refuses_clearly_and_changes_nothing(
    station: Path, env: dict[str, str]
) -> None:
    result = invoke(["--config", str(station), "service", "install", "--name", "wats-x"], env)
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "syncengine: error:" in result.output
    assert not Path("/etc/systemd/system/wats-x.service").exists()


def test_service_status_shows_both_views(station: Path, env: dict[str, str]) -> None:
    result = invoke(["--config", str(station), "service", "status"], env)
    assert result.output.startswith("manager: ")
    assert "engine: stopped" in result.output
    assert result.exit_code == 2  # the engine's health: stopped is CRITICAL, as for status


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="systemd is Linux")
def test_service_status_manager_lines_from_systemctl_show(tmp_path: Path) -> None:
    show = (
        "ActiveState=activating\nSubState=auto-restart\nUnitFileState=enabled\nMainPID=0\n"
        "NRestarts=7\nStatusText=\n"
    )

    def systemctl(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(list(argv), 0, show, "")

    booted = tmp_path / "run-systemd-system"
    booted.mkdir()
    view = SystemdManager(runner=systemctl, systemd_dir=booted, which=lambda t: t).show("w")
    assert manager_lines("w", view) == [
        "manager: w.service activating (auto-restart), enabled: enabled, main pid 0, restarts 7"
    ]
    running = {
        **view,
        "ActiveState": "active",
        "SubState": "running",
        "StatusText": "ok: 0 waiting",
    }
    assert manager_lines("w", running)[1] == "manager status: ok: 0 waiting"
    assert manager_lines("w", {"error": "systemctl was not found on PATH"}) == [
        "manager: unavailable (systemctl was not found on PATH)"
    ]


# --- WinSW --------------------------------------------------------------------------------------
def test_winsw_xml_stops_gracefully_restarts_and_rotates(tmp_path: Path) -> None:
    config = EngineConfig(
        server_url="https://w",
        token="secret-token",
        journal_path=tmp_path / "j.db",
        grace_period_s=20,
    )
    xml = winsw_xml(
        config,
        Path(r"C:\ProgramData\wats-sync\config.toml"),
        python=r"C:\Program Files\wats-sync\python.exe",
        textfile=Path(r"C:\Program Files\windows_exporter\textfile_inputs\wats.prom"),
    )
    root = ET.fromstring(xml)
    assert root.findtext("executable") == r"C:\Program Files\wats-sync\python.exe"
    args = root.findtext("arguments") or ""
    assert args.startswith("-m syncengine --config ") and " run " in args + " "
    assert "--metrics-textfile" in args
    stop = root.findtext("stoptimeout") or ""
    assert int(stop.split()[0]) > 20  # longer than the grace period: Ctrl-C first, then kill
    assert [e.get("action") for e in root.findall("onfailure")] == ["restart"] * 3
    log = root.find("log")
    assert log is not None and log.get("mode") == "roll-by-size"
    assert root.findtext("startmode") == "Automatic"
    assert "secret-token" not in xml


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze is not installed (Debian package 'systemd')",
)
def test_the_printed_unit_passes_systemd_analyze_verify(
    station: Path, env: dict[str, str], tmp_path: Path
) -> None:
    result = invoke(
        ["--config", str(station), "service", "print", "--metrics-textfile", "/srv/m/w.prom"], env
    )
    unit = tmp_path / "wats-sync.service"
    unit.write_text(result.output)
    verify = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=120
    )
    assert verify.returncode == 0, verify.stderr


@pytest.mark.skipif(
    not sys.platform.startswith("linux")
    or shutil.which("systemctl") is None
    or shutil.which("systemd-sysusers") is None,
    reason="needs Linux with systemctl and systemd-sysusers (Debian package 'systemd')",
)
def test_install_and_uninstall_into_an_image_tree(
    station: Path, env: dict[str, str], tmp_path: Path
) -> None:
    root = tmp_path / "image"
    root.mkdir()
    args = ["--config", str(station), "service"]
    installed = invoke([*args, "install", "--root", str(root), "--group", "station"], env)
    assert installed.exit_code == 0, installed.output
    unit = root / "etc/systemd/system/wats-sync.service"
    assert "SupplementaryGroups=station" in unit.read_text()
    assert (root / "etc/systemd/system/multi-user.target.wants/wats-sync.service").is_symlink()
    assert "note: no token file at /etc/wats-sync/token" in installed.output
    removed = invoke([*args, "uninstall", "--root", str(root)], env)
    assert removed.exit_code == 0, removed.output
    assert not unit.exists()
