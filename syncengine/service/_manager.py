"""Install, uninstall and ask about the service, through the platform's own tools.

Linux: the unit goes to ``<root>/etc/systemd/system/<name>.service`` and the service user is
declared in ``<root>/etc/sysusers.d/<name>.conf`` and created by ``systemd-sysusers``; then
``systemctl daemon-reload`` and ``systemctl enable``. With ``root`` other than ``/`` (an image
being built, a packager's staging tree) the same tools run offline with ``--root=`` and no
daemon is reloaded.

Every precondition is checked before the first change: not root, no systemd, a missing tool
or a non-Linux system is a :class:`ServiceRefusedError` and nothing is touched. A step that
fails after files were written removes what this call wrote.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from syncengine._errors import SyncEngineError

from ._systemd import UnitSpec, render_sysusers, render_unit

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]
"""Runs one command (argv) and returns its completed process (stdout/stderr as text)."""


class ServiceError(SyncEngineError):
    """Raised when the service manager refused or failed a step (``install``, ``uninstall``)."""


class ServiceRefusedError(ServiceError):
    """Raised before any change when the command may not run here (not root, no systemd)."""


def run_command(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """The default :data:`Runner`: no shell, text output, bounded in time."""
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=120, check=False)


@dataclass
class SystemdManager:
    """The systemd side of ``syncengine service`` (see the module docstring)."""

    root: Path = Path("/")
    runner: Runner = run_command
    euid: int | None = None
    """The effective user id to judge by (default: this process's)."""
    systemd_dir: Path = Path("/run/systemd/system")
    """Exists when systemd is the running init (what ``sd_booted()`` looks at)."""
    which: Callable[[str], str | None] = shutil.which
    """Finds a tool on PATH (None: missing)."""
    done: list[str] = field(default_factory=list)
    """What the last call did, one line per step, for the command to print."""

    @property
    def offline(self) -> bool:
        """True when installing into a directory tree instead of the running system."""
        return self.root.resolve() != Path("/")

    def unit_path(self, name: str) -> Path:
        """Where the unit file of service ``name`` goes."""
        return self.root / "etc/systemd/system" / f"{name}.service"

    def sysusers_path(self, name: str) -> Path:
        """Where the sysusers.d declaration of the service's user goes."""
        return self.root / "etc/sysusers.d" / f"{name}.conf"

    # --- checks --------------------------------------------------------------------------
    def refusal(
        self, *, tools: Sequence[str] = ("systemctl",), action: str = "installing"
    ) -> str | None:
        """Why ``action`` (installing, uninstalling) may not run here, or None."""
        if not sys.platform.startswith("linux"):
            return f"systemd services are a Linux feature; this is {sys.platform}"
        euid = self.euid if self.euid is not None else _geteuid()
        if euid != 0 and not self.offline:
            return f"{action} a system service needs root: run it with sudo"
        if self.offline:
            if not os.access(self.root, os.W_OK):
                return f"{self.root} is not writable"
        elif not self.systemd_dir.is_dir():
            return (
                f"systemd is not running on this machine (no {self.systemd_dir}); use "
                "'syncengine service print' and your init system, or --root to prepare an image"
            )
        for tool in tools:
            if self.which(tool) is None:
                return f"{tool} was not found on PATH"
        return None

    def _refuse_unless_allowed(self, tools: Sequence[str], action: str) -> None:
        reason = self.refusal(tools=tools, action=action)
        if reason is not None:
            raise ServiceRefusedError(reason)

    # --- steps ---------------------------------------------------------------------------
    def _run(self, *argv: str) -> str:
        result = self.runner(argv)
        if result.returncode != 0:
            detail = (result.stderr or result.stdout or "").strip().splitlines()
            raise ServiceError(
                f"{' '.join(argv)} failed (exit {result.returncode})"
                + (f": {detail[-1]}" if detail else "")
            )
        self.done.append("ran: " + " ".join(argv))
        return result.stdout

    def _systemctl(self, *args: str) -> str:
        prefix = ["systemctl"] + ([f"--root={self.root}"] if self.offline else [])
        return self._run(*prefix, *args)

    def install(self, spec: UnitSpec) -> list[str]:
        """Write the unit and the user declaration, create the user, reload and enable."""
        self.done = []
        self._refuse_unless_allowed(("systemctl", "systemd-sysusers"), "installing")
        unit = self.unit_path(spec.name)
        users = self.sysusers_path(spec.name)
        written: list[tuple[Path, bytes | None]] = []
        try:
            for path, text in ((users, render_sysusers(spec)), (unit, render_unit(spec))):
                written.append((path, path.read_bytes() if path.exists() else None))
                _write_file(path, text)
                self.done.append(f"wrote {path}")
            sysusers = ["systemd-sysusers"] + ([f"--root={self.root}"] if self.offline else [])
            self._run(*sysusers, users.name)
            if not self.offline:
                self._systemctl("daemon-reload")
            self._systemctl("enable", f"{spec.name}.service")
        except BaseException:
            for path, previous in reversed(written):
                with contextlib.suppress(OSError):
                    if previous is None:
                        path.unlink()
                    else:
                        path.write_bytes(previous)
            raise
        return self.done

    def uninstall(self, name: str) -> list[str]:
        """Stop and disable the service and remove its unit and user declaration.

        The user, the state directory (journal) and the logs stay: the journal may still hold
        reports that were not delivered. Running it twice is fine.
        """
        self.done = []
        self._refuse_unless_allowed(("systemctl",), "uninstalling")
        unit = self.unit_path(name)
        if not unit.exists():
            self.done.append(f"{unit} does not exist: nothing to uninstall")
            return self.done
        if self.offline:
            self._systemctl("disable", f"{name}.service")
        else:
            self._systemctl("disable", "--now", f"{name}.service")
        for path in (unit, self.sysusers_path(name)):
            if path.exists():
                path.unlink()
                self.done.append(f"removed {path}")
        if not self.offline:
            self._systemctl("daemon-reload")
        return self.done

    def show(self, name: str) -> dict[str, str]:
        """The manager's view of the service (``systemctl show``); ``{"error": why}`` when
        it cannot be asked."""
        if not sys.platform.startswith("linux"):
            return {"error": f"no systemd on {sys.platform}"}
        if self.which("systemctl") is None:
            return {"error": "systemctl was not found on PATH"}
        if not self.systemd_dir.is_dir():
            return {"error": f"systemd is not running on this machine (no {self.systemd_dir})"}
        props = (
            "LoadState,ActiveState,SubState,UnitFileState,MainPID,NRestarts,"
            "ExecMainStatus,StatusText,ActiveEnterTimestamp"
        )
        result = self.runner(["systemctl", "show", f"{name}.service", f"--property={props}"])
        if result.returncode != 0:
            return {"error": (result.stderr or "systemctl show failed").strip()}
        view: dict[str, str] = {}
        for line in result.stdout.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                view[key] = value
        return view


def _geteuid() -> int:
    geteuid = getattr(os, "geteuid", None)
    return int(geteuid()) if geteuid is not None else -1


def _write_file(path: Path, text: str) -> None:
    from journal import write_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    # The temporary is removed on failure: systemd would otherwise find a stray unit.tmp.
    write_atomic(path, text.encode("utf-8"), mode=0o644, tmp=path.with_name(path.name + ".tmp"))
