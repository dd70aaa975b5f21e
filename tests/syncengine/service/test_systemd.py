"""The generated systemd unit: content, `systemd-analyze verify`, security score, install."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from syncengine import EngineConfig, WatchFolder
from syncengine.cli import EXIT_CONFIG
from syncengine.service import (
    ServiceError,
    ServiceRefusedError,
    SystemdManager,
    UnitSpec,
    advice,
    python_command,
    render_unit,
    run_command,
    unit_spec,
)
from syncengine.service._manager import Runner

ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    ANALYZE is None, reason="systemd-analyze is not installed (Debian package 'systemd')"
)
needs_systemctl = pytest.mark.skipif(
    shutil.which("systemctl") is None or shutil.which("systemd-sysusers") is None,
    reason="systemctl/systemd-sysusers are not installed (Debian package 'systemd')",
)
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="systemd is Linux")


def config(tmp_path: Path, *, grace: float = 10.0) -> EngineConfig:
    return EngineConfig(
        server_url="https://wats.example.com",
        token="secret-token",
        journal_path=Path("/var/lib/wats-sync/journal.db"),
        grace_period_s=grace,
        watch=(
            WatchFolder(path=Path("/srv/reports/ict"), converter="wsjf"),
            WatchFolder(
                path=Path("/srv/reports/fct"),
                done_dir=Path("/srv/archive/fct"),
                error_dir=Path("/srv/rejected/fct"),
            ),
            WatchFolder(path=Path("/srv/reports/eol"), done_action="delete"),
        ),
    )


PACKAGED = ("/opt/wats-sync/bin/python", "-m", "syncengine")
"""Where a packaged install's interpreter lives (content tests); verify uses the real one."""


def spec(tmp_path: Path, *, command: tuple[str, ...] = PACKAGED, **kw: object) -> UnitSpec:
    return unit_spec(
        config(tmp_path),
        Path("/etc/wats-sync/config.toml"),
        command=command,
        **kw,  # type: ignore[arg-type]
    )


def directives(unit: str) -> list[tuple[str, str]]:
    out = []
    for line in unit.splitlines():
        if line and not line.startswith(("#", "[")) and "=" in line:
            key, _, value = line.partition("=")
            out.append((key, value))
    return out


def one(unit: str, key: str) -> str:
    values = [v for k, v in directives(unit) if k == key]
    assert len(values) == 1, (key, values)
    return values[0]


# --- content --------------------------------------------------------------------------------------
def test_the_unit_carries_the_full_hardening_set(tmp_path: Path) -> None:
    unit = render_unit(spec(tmp_path))
    expected = {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectKernelLogs": "yes",
        "ProtectControlGroups": "yes",
        "ProtectClock": "yes",
        "ProtectHostname": "yes",
        "RestrictSUIDSGID": "yes",
        "RestrictRealtime": "yes",
        "RestrictNamespaces": "yes",
        "LockPersonality": "yes",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "SystemCallArchitectures": "native",
        "CapabilityBoundingSet": "",
        "UMask": "0077",
    }
    for key, value in expected.items():
        assert one(unit, key) == value, key
    assert "@system-service" in [v for k, v in directives(unit) if k == "SystemCallFilter"]


def test_it_runs_as_a_dedicated_user_with_its_own_directories(tmp_path: Path) -> None:
    unit = render_unit(spec(tmp_path))
    assert (one(unit, "User"), one(unit, "Group")) == ("wats-sync", "wats-sync")
    assert one(unit, "StateDirectory") == "wats-sync"
    assert one(unit, "LogsDirectory") == "wats-sync"
    assert one(unit, "ConfigurationDirectory") == "wats-sync"


def test_one_read_write_path_per_folder_the_engine_writes(tmp_path: Path) -> None:
    paths = [v for k, v in directives(render_unit(spec(tmp_path))) if k == "ReadWritePaths"]
    assert paths == [
        "-/srv/reports/ict",
        "-/srv/reports/ict/done",
        "-/srv/reports/ict/error",
        "-/srv/reports/fct",
        "-/srv/archive/fct",
        "-/srv/rejected/fct",
        "-/srv/reports/eol",  # done_action = delete: no done folder
        "-/srv/reports/eol/error",
        "-/var/lib/wats-sync",  # the journal's folder (status and lock files live there too)
    ]


def test_textfile_and_log_folders_are_writable_and_run_writes_the_textfile(tmp_path: Path) -> None:
    s = spec(
        tmp_path,
        textfile=Path("/var/lib/prometheus/node-exporter/wats.prom"),
        log_file=Path("/var/log/wats-sync/engine.log"),
    )
    unit = render_unit(s)
    paths = [v for k, v in directives(unit) if k == "ReadWritePaths"]
    assert "-/var/lib/prometheus/node-exporter" in paths and "-/var/log/wats-sync" in paths
    assert "run --metrics-textfile /var/lib/prometheus/node-exporter/wats.prom" in one(
        unit, "ExecStart"
    )


def test_the_start_check_looks_at_the_textfile_run_writes(tmp_path: Path) -> None:
    textfile = Path("/srv/metrics/wats_sync.prom")
    check = one(render_unit(spec(tmp_path, textfile=textfile)), "ExecStartPre")
    assert check.endswith(f"config check --metrics-textfile {textfile}")
    assert one(render_unit(spec(tmp_path)), "ExecStartPre").endswith("config check")


def test_notify_watchdog_restart_and_stop_timeout(tmp_path: Path) -> None:
    cfg = config(tmp_path, grace=45.5)
    unit = render_unit(unit_spec(cfg, Path("/etc/wats-sync/c.toml"), command=PACKAGED))
    assert one(unit, "Type") == "notify"
    assert int(one(unit, "WatchdogSec")) > 0
    assert one(unit, "Restart") == "on-failure"
    assert str(EXIT_CONFIG) in one(unit, "RestartPreventExitStatus").split()
    assert int(one(unit, "TimeoutStopSec")) > 45.5
    assert one(unit, "ExecStartPre").endswith("--config /etc/wats-sync/c.toml config check")
    assert one(unit, "ExecStart").endswith("--config /etc/wats-sync/c.toml run")
    assert one(unit, "LoadCredential") == "wats-sync-token:/etc/wats-sync/token"


def test_the_token_never_appears_in_the_unit(tmp_path: Path) -> None:
    assert "secret-token" not in render_unit(spec(tmp_path))


def test_a_folder_under_home_makes_homes_read_only_not_hidden(tmp_path: Path) -> None:
    cfg = EngineConfig(
        server_url="https://w", token="t", journal_path=Path("/home/station/q/journal.db")
    )
    unit = render_unit(unit_spec(cfg, Path("/etc/wats-sync/config.toml"), command=PACKAGED))
    assert one(unit, "ProtectHome") == "read-only"


# --- systemd's own tools ------------------------------------------------------------------------
def write_unit(tmp_path: Path, s: UnitSpec) -> Path:
    path = tmp_path / f"{s.name}.service"
    path.write_text(render_unit(s))
    return path


def analyze_verify(unit: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ANALYZE), "verify", str(unit)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@needs_analyze
def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    s = spec(
        tmp_path,
        command=python_command(),  # verify checks that the interpreter exists
        textfile=Path("/var/lib/node-exporter/wats.prom"),
        supplementary_groups=["station"],
    )
    result = analyze_verify(write_unit(tmp_path, s))
    assert result.returncode == 0, result.stderr
    assert "wats-sync.service" not in result.stderr  # no warning about our unit either


ODD_CONFIG = Path("/etc/wats-sync/100%zq $USER.toml")
"""A legal file name holding a systemd specifier (%z) and a variable reference ($USER)."""


def test_percent_and_dollar_in_paths_are_escaped_for_systemd(tmp_path: Path) -> None:
    cfg = EngineConfig(
        server_url="https://wats.example.com",
        token="t",
        journal_path=Path("/var/lib/wats-sync/50%h/journal.db"),
    )
    s = unit_spec(cfg, ODD_CONFIG, command=PACKAGED, token_file=Path("/etc/wats-sync/t%n"))
    found = dict(directives(render_unit(s)))
    assert "'/etc/wats-sync/100%%zq $$USER.toml' run" in found["ExecStart"]
    assert "'/etc/wats-sync/100%%zq $$USER.toml' config check" in found["ExecStartPre"]
    assert found["LoadCredential"] == "wats-sync-token:/etc/wats-sync/t%%n"
    assert "-/var/lib/wats-sync/50%%h" in render_unit(s)


@needs_analyze
def test_systemd_analyze_verify_accepts_specifiers_in_paths(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    s = unit_spec(cfg, ODD_CONFIG, command=python_command())
    result = analyze_verify(write_unit(tmp_path, s))
    assert result.returncode == 0, result.stderr


@needs_analyze
def test_systemd_analyze_verify_rejects_a_broken_unit(tmp_path: Path) -> None:
    path = write_unit(tmp_path, spec(tmp_path))
    path.write_text(path.read_text().replace("Type=notify", "Type=notifyy"))
    result = analyze_verify(path)
    assert "notifyy" in result.stderr  # the check above can fail


@needs_analyze
def test_systemd_analyze_security_rates_the_unit_ok(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(ANALYZE), "security", "--offline=yes", str(write_unit(tmp_path, spec(tmp_path)))],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", result.stdout)
    assert match is not None, result.stdout[-500:] + result.stderr
    # docs/operations.md reports this figure; 0 is best, 10 worst, below 2.0 is "OK".
    assert float(match.group(1)) <= 2.0, match.group(0)


# --- install / uninstall ------------------------------------------------------------------------
@linux_only
@needs_systemctl
def test_install_into_a_tree_enables_the_unit_and_creates_the_user(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    manager = SystemdManager(root=root)
    done = manager.install(spec(tmp_path))
    unit = root / "etc/systemd/system/wats-sync.service"
    assert unit.read_text() == render_unit(spec(tmp_path))
    link = root / "etc/systemd/system/multi-user.target.wants/wats-sync.service"
    assert link.is_symlink()
    assert "wats-sync:" in (root / "etc/passwd").read_text()
    assert any("systemctl --root" in line and "enable" in line for line in done)

    manager.uninstall("wats-sync")
    assert not unit.exists() and not link.is_symlink()
    assert not (root / "etc/sysusers.d/wats-sync.conf").exists()
    assert "wats-sync:" in (root / "etc/passwd").read_text()  # the user (and its data) stay
    assert "nothing to uninstall" in manager.uninstall("wats-sync")[0]


@linux_only
@needs_systemctl
def test_a_failed_step_takes_back_what_install_wrote(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc/systemd/system").mkdir(parents=True)

    def refuse_enable(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        if "enable" in argv:
            return subprocess.CompletedProcess(list(argv), 1, "", "Failed to enable unit: boom")
        return run_command(argv)

    with pytest.raises(ServiceError, match="boom"):
        SystemdManager(root=root, runner=refuse_enable).install(spec(tmp_path))
    assert not (root / "etc/systemd/system/wats-sync.service").exists()
    assert not (root / "etc/sysusers.d/wats-sync.conf").exists()


@linux_only
@needs_systemctl
def test_a_failed_write_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    chmod = os.chmod

    def refuse_unit_chmod(path: str | Path, mode: int, **kw: object) -> None:
        if Path(path).name == "wats-sync.service.tmp":
            raise PermissionError(13, "Permission denied", str(path))
        chmod(path, mode, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "chmod", refuse_unit_chmod)
    with pytest.raises(PermissionError):
        SystemdManager(root=root).install(spec(tmp_path))
    left = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert left == []


@linux_only
def test_install_refuses_without_root_and_touches_nothing(tmp_path: Path) -> None:
    calls: list[Sequence[str]] = []

    def record(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        calls.append(argv)
        return subprocess.CompletedProcess(list(argv), 0, "", "")

    with pytest.raises(ServiceRefusedError, match=r"^installing a system service needs root"):
        SystemdManager(euid=1000, runner=record).install(spec(tmp_path))
    with pytest.raises(ServiceRefusedError, match=r"^uninstalling a system service needs root"):
        SystemdManager(euid=1000, runner=record).uninstall("wats-sync")
    assert calls == []


def recorder(
    stdout: str = "", returncode: int = 0, stderr: str = ""
) -> tuple[list[list[str]], Runner]:
    """A runner standing in for systemctl: records each argv and answers with the given output."""
    calls: list[list[str]] = []

    def run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        calls.append(list(argv))
        return subprocess.CompletedProcess(list(argv), returncode, stdout, stderr)

    return calls, run


@linux_only
@pytest.mark.parametrize(
    ("missing", "reason"),
    [
        ({"systemctl", "systemd-sysusers"}, "systemctl was not found on PATH"),
        ({"systemd-sysusers"}, "systemd-sysusers was not found on PATH"),
    ],
)
def test_install_refuses_when_a_tool_is_missing_and_touches_nothing(
    tmp_path: Path, missing: set[str], reason: str
) -> None:
    calls, run = recorder()
    root = tmp_path / "image"  # offline: root is not needed, so only the tools are judged
    root.mkdir()
    manager = SystemdManager(
        root=root, runner=run, which=lambda tool: None if tool in missing else f"/usr/bin/{tool}"
    )
    with pytest.raises(ServiceRefusedError, match=rf"^{re.escape(reason)}$"):
        manager.install(spec(tmp_path))
    assert calls == [] and list(root.iterdir()) == []


@linux_only
def test_uninstall_refuses_without_systemctl_and_keeps_the_unit(tmp_path: Path) -> None:
    calls, run = recorder()
    booted = tmp_path / "run-systemd-system"
    booted.mkdir()
    manager = SystemdManager(euid=0, systemd_dir=booted, runner=run, which=lambda tool: None)
    with pytest.raises(ServiceRefusedError, match=r"^systemctl was not found on PATH$"):
        manager.uninstall("wats-sync")
    assert calls == []


SHOW = (
    "LoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\n"
    "MainPID=4242\nNRestarts=2\nExecMainStatus=0\n"
    "StatusText=ok: 3 waiting, 1 failed, 1200 delivered\n"
    "ActiveEnterTimestamp=Sun 2026-12-06 10:00:00 UTC\n"
)


@linux_only
def test_show_asks_systemctl_for_the_unit_and_reads_its_properties(tmp_path: Path) -> None:
    calls, run = recorder(stdout=SHOW)
    booted = tmp_path / "run-systemd-system"
    booted.mkdir()
    manager = SystemdManager(runner=run, systemd_dir=booted, which=lambda t: f"/usr/bin/{t}")
    view = manager.show("wats-line1")
    assert [c[:3] for c in calls] == [["systemctl", "show", "wats-line1.service"]]
    assert calls[0][3].startswith("--property=") and "StatusText" in calls[0][3]
    assert view["ActiveState"] == "active" and view["MainPID"] == "4242"
    assert view["StatusText"] == "ok: 3 waiting, 1 failed, 1200 delivered"
    assert view["ActiveEnterTimestamp"] == "Sun 2026-12-06 10:00:00 UTC"


@linux_only
def test_show_says_why_the_manager_cannot_be_asked(tmp_path: Path) -> None:
    booted = tmp_path / "run-systemd-system"
    calls, run = recorder(returncode=1, stderr="Failed to connect to bus: No such file\n")
    found = SystemdManager(runner=run, systemd_dir=booted, which=lambda t: f"/usr/bin/{t}")
    assert found.show("w") == {"error": f"systemd is not running on this machine (no {booted})"}
    booted.mkdir()
    assert found.show("w") == {"error": "Failed to connect to bus: No such file"}
    missing = SystemdManager(runner=run, systemd_dir=booted, which=lambda t: None)
    assert missing.show("w") == {"error": "systemctl was not found on PATH"}
    assert len(calls) == 1  # only the one where systemctl exists and systemd runs


@linux_only
@pytest.mark.skipif(
    Path("/run/systemd/system").is_dir() or os.geteuid() != 0,
    reason="needs root on a machine where systemd is not running (a CI container)",
)
def test_install_refuses_where_systemd_does_not_run(tmp_path: Path) -> None:
    unit = Path("/etc/systemd/system/wats-sync-refusal-test.service")
    with pytest.raises(ServiceRefusedError, match="systemd is not running"):
        SystemdManager().install(unit_spec(config(tmp_path), Path("/c.toml"), name=unit.stem))
    assert not unit.exists()


def test_advice_names_what_will_stop_the_unit(tmp_path: Path) -> None:
    cfg = EngineConfig(
        server_url="https://w", token="t", journal_path=Path("/root/.local/share/w/j.db")
    )
    s = unit_spec(
        cfg, Path("/etc/wats-sync/config.toml"), command=PACKAGED, token_file=tmp_path / "none"
    )
    notes = advice(s)
    assert any("journal_path" in n and "/var/lib/wats-sync" in n for n in notes)
    assert any("no token file" in n for n in notes)
    assert advice(spec(tmp_path, token_file=None)) == []
