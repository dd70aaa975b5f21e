"""The systemd unit (and its sysusers.d line) for ``syncengine run``, from the configuration.

The unit follows the hardened units of Vector and the systemd documentation's sandboxing
guide: a dedicated system user, ``ProtectSystem=strict`` with one ``ReadWritePaths=`` per folder
the engine writes (each watch, done and error folder, the journal's folder, the log file's and
the metrics textfile's folder), no capabilities, a ``@system-service`` system-call filter, and
``Type=notify`` with ``WatchdogSec=`` backed by real pings (:mod:`._notify`).

``ExecStartPre=`` runs ``syncengine config check`` (with ``run``'s ``--metrics-textfile``) in
the same sandbox, as the same user, so a path the service cannot write is one clear line in the
journal instead of a crash loop; its exit code (3, configuration) is in
``RestartPreventExitStatus=``.
"""

from __future__ import annotations

import math
import shlex
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from syncengine._config import EngineConfig

from ._credentials import CREDENTIAL_NAME

SERVICE_NAME = "wats-sync"
DEFAULT_TOKEN_FILE = Path("/etc/wats-sync/token")
WATCHDOG_S = 60
RESTART_PREVENT_EXIT_STATUS = (2, 3, 4)
"""usage (2), configuration (3), journal damaged or locked (4): a person must look."""

# systemd's own sandbox directories (relative to /var/lib, /var/log, /etc).
_HOME_PREFIXES = ("/home", "/root", "/run/user")

HARDENING: tuple[tuple[str, str], ...] = (
    ("NoNewPrivileges", "yes"),
    ("ProtectSystem", "strict"),
    ("PrivateTmp", "yes"),
    ("PrivateDevices", "yes"),
    ("ProtectKernelTunables", "yes"),
    ("ProtectKernelModules", "yes"),
    ("ProtectKernelLogs", "yes"),
    ("ProtectControlGroups", "yes"),
    ("ProtectClock", "yes"),
    ("ProtectHostname", "yes"),
    ("PrivateMounts", "yes"),
    ("ProtectProc", "invisible"),
    ("RestrictSUIDSGID", "yes"),
    ("RestrictRealtime", "yes"),
    ("RestrictNamespaces", "yes"),
    ("LockPersonality", "yes"),
    ("RemoveIPC", "yes"),
    ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
    ("SystemCallArchitectures", "native"),
    ("SystemCallFilter", "@system-service"),
    ("SystemCallFilter", "~@privileged"),
    ("SystemCallErrorNumber", "EPERM"),
    ("CapabilityBoundingSet", ""),
    ("AmbientCapabilities", ""),
    ("UMask", "0077"),
)
"""The sandbox, in unit order. ``ProtectHome`` is added by :func:`render_unit` (see there)."""


@dataclass(frozen=True)
class UnitSpec:
    """Everything the unit says, derived from the configuration by :func:`unit_spec`."""

    config_path: Path
    exec_start: tuple[str, ...]
    read_write_paths: tuple[Path, ...]
    grace_period_s: float
    name: str = SERVICE_NAME
    user: str = SERVICE_NAME
    token_file: Path | None = DEFAULT_TOKEN_FILE
    watchdog_s: int = WATCHDOG_S
    supplementary_groups: tuple[str, ...] = field(default_factory=tuple)
    textfile: Path | None = None
    """The metrics textfile ``run`` writes (``ExecStartPre``'s check looks at its folder)."""

    @property
    def timeout_stop_s(self) -> int:
        """Longer than the grace period: in-flight uploads, final status, journal close."""
        return math.ceil(self.grace_period_s) + 30


def python_command() -> tuple[str, ...]:
    """``python -m syncengine`` with this interpreter (works in a venv and system-wide)."""
    return (str(Path(sys.executable).absolute()), "-m", "syncengine")


def written_paths(
    config: EngineConfig, *, log_file: Path | None = None, textfile: Path | None = None
) -> tuple[Path, ...]:
    """The folders the engine writes, each once, in a stable order."""
    paths: list[Path] = []
    for folder in config.watch:
        paths.append(folder.path)
        if folder.done_action == "move":
            paths.append(folder.effective_done_dir)
        paths.append(folder.effective_error_dir)
    paths.append(config.journal_path.parent)
    paths.append(config.effective_status_path.parent)
    paths.append(config.effective_lock_path.parent)
    for extra in (log_file, textfile):
        if extra is not None:
            paths.append(extra.parent)
    unique: list[Path] = []
    for path in paths:
        absolute = Path(path).absolute()
        if absolute not in unique:
            unique.append(absolute)
    return tuple(unique)


def unit_spec(
    config: EngineConfig,
    config_path: Path,
    *,
    log_file: Path | None = None,
    textfile: Path | None = None,
    textfile_interval_s: float | None = None,
    name: str = SERVICE_NAME,
    user: str = SERVICE_NAME,
    token_file: Path | None = DEFAULT_TOKEN_FILE,
    supplementary_groups: Iterable[str] = (),
    command: tuple[str, ...] | None = None,
) -> UnitSpec:
    """The unit for running ``config`` (loaded from ``config_path``) as a service."""
    run = [*(command or python_command()), "--config", str(config_path.absolute()), "run"]
    if textfile is not None:
        run += ["--metrics-textfile", str(textfile.absolute())]
        if textfile_interval_s is not None:
            run += ["--metrics-interval", f"{textfile_interval_s:g}"]
    return UnitSpec(
        config_path=config_path.absolute(),
        exec_start=tuple(run),
        read_write_paths=written_paths(config, log_file=log_file, textfile=textfile),
        grace_period_s=config.grace_period_s,
        name=name,
        user=user,
        token_file=token_file,
        supplementary_groups=tuple(supplementary_groups),
        textfile=None if textfile is None else textfile.absolute(),
    )


def _specifiers(text: str) -> str:
    # systemd expands "%x" specifiers in these settings; "%%" is a literal "%".
    return text.replace("%", "%%")


def _quote(args: Iterable[str]) -> str:
    # systemd's command-line quoting is close enough to the shell's for paths and options; it
    # also expands specifiers and "$VAR" in command lines, even inside quotes ("$$" is "$").
    return " ".join(_specifiers(shlex.quote(a)).replace("$", "$$") for a in args)


def _systemd_path(path: Path) -> str:
    text = _specifiers(str(PurePosixPath(path)))
    # A space in a ReadWritePaths= entry needs quoting; a missing folder is ignored ("-") and
    # reported clearly by ExecStartPre's config check instead of failing the namespace setup.
    return f'"-{text}"' if " " in text else f"-{text}"


def _under_home(paths: Iterable[Path]) -> bool:
    return any(str(p).startswith(_HOME_PREFIXES) for p in paths)


def home_paths(spec: UnitSpec) -> tuple[Path, ...]:
    """The paths the service needs (interpreter, config, folders) that lie under a home."""
    paths = (Path(spec.exec_start[0]), spec.config_path, *spec.read_write_paths)
    return tuple(p for p in paths if _under_home((p,)))


def advice(spec: UnitSpec) -> list[str]:
    """What will stop the unit from working as generated, one line each (empty: nothing)."""
    notes = []
    interpreter = Path(spec.exec_start[0])
    if _under_home((interpreter,)):
        notes.append(
            f"the interpreter {interpreter} is under a home directory, which the service user "
            "usually cannot read: install wats-sync into a virtual environment under /opt"
        )
    homes = [p for p in spec.read_write_paths if _under_home((p,))]
    if homes:
        notes.append(
            f"{homes[0]} is under a home directory (journal_path defaults to the installing "
            f'user\'s data folder): set journal_path = "/var/lib/{spec.name}/journal.sqlite3" '
            "and keep the folders outside /home and /root"
        )
    private = [p for p in spec.read_write_paths if str(p).startswith(("/tmp", "/var/tmp"))]
    if private:
        notes.append(
            f"{private[0]} is under /tmp or /var/tmp, which the service sees as its own private "
            "folder (PrivateTmp=yes): use folders elsewhere, e.g. under /srv or /var/lib"
        )
    if spec.token_file is not None and not spec.token_file.exists():
        notes.append(
            f"no token file at {spec.token_file}: write the WATS token there (owner root, mode "
            "0600); systemd hands it to the service as a credential"
        )
    return notes


def render_unit(spec: UnitSpec) -> str:
    """The unit file's text."""
    check = [*spec.exec_start[: spec.exec_start.index("run")], "config", "check"]
    if spec.textfile is not None:
        check += ["--metrics-textfile", str(spec.textfile)]
    # ProtectHome=yes hides /home entirely, and ReadWritePaths= cannot punch through it; with a
    # folder (or the interpreter) under a home directory the homes are read-only instead.
    protect_home = "read-only" if _under_home(home_paths(spec)) else "yes"
    lines = [
        "# Generated by 'syncengine service install' (or 'print'); regenerate after changing",
        f"# {spec.config_path} instead of editing, or override with 'systemctl edit {spec.name}'.",
        "[Unit]",
        "Description=wats-sync: forward test reports to WATS exactly once",
        "After=network-online.target",
        "Wants=network-online.target",
        "StartLimitIntervalSec=10min",
        "StartLimitBurst=10",
        "",
        "[Service]",
        "Type=notify",
        "NotifyAccess=main",
        f"WatchdogSec={spec.watchdog_s}",
        f"User={spec.user}",
        f"Group={spec.user}",
    ]
    if spec.supplementary_groups:
        lines.append("SupplementaryGroups=" + " ".join(spec.supplementary_groups))
    lines += [
        f"StateDirectory={spec.name}",
        f"LogsDirectory={spec.name}",
        f"ConfigurationDirectory={spec.name}",
        "StateDirectoryMode=0700",
        "LogsDirectoryMode=0700",
        f"Environment=PYTHONUNBUFFERED=1 HOME=/var/lib/{spec.name}",
    ]
    if spec.token_file is not None:
        lines.append(f"LoadCredential={CREDENTIAL_NAME}:{_specifiers(str(spec.token_file))}")
    lines += [
        f"ExecStartPre={_quote(check)}",
        f"ExecStart={_quote(spec.exec_start)}",
        "# SIGTERM starts the graceful shutdown (grace period, then the final status); converter",
        "# workers are the engine's to stop, so only the main process gets it.",
        "KillSignal=SIGTERM",
        "KillMode=mixed",
        f"TimeoutStopSec={spec.timeout_stop_s}",
        "TimeoutStartSec=5min",
        "Restart=on-failure",
        "RestartSec=5",
        "RestartPreventExitStatus=" + " ".join(str(c) for c in RESTART_PREVENT_EXIT_STATUS),
        "",
        "# Sandbox",
        f"ProtectHome={protect_home}",
    ]
    lines += [f"{key}={value}" for key, value in HARDENING]
    lines += [f"ReadWritePaths={_systemd_path(p)}" for p in spec.read_write_paths]
    lines += ["", "[Install]", "WantedBy=multi-user.target", ""]
    return "\n".join(lines)


def render_sysusers(spec: UnitSpec) -> str:
    """The ``sysusers.d`` line that creates the service's system user and group."""
    return (
        f"# Generated by 'syncengine service install'\n"
        f'u {spec.user} - "wats-sync service" /var/lib/{spec.name} /usr/sbin/nologin\n'
    )
