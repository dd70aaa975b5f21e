"""Running wats-sync as a service: unit files, the service manager, readiness and watchdog.

``syncengine service install|uninstall|print|status`` and ``syncengine run`` use this package;
station software embedding the engine does not need it.

- :mod:`._systemd` renders the hardened systemd unit and its sysusers.d line;
- :mod:`._winsw` renders the WinSW XML for Windows;
- :mod:`._manager` installs, uninstalls and asks systemd (``systemctl``, ``systemd-sysusers``);
- :mod:`._notify` speaks the ``sd_notify`` protocol (READY, WATCHDOG, STOPPING);
- :mod:`._runtime` ties readiness, watchdog and the metrics textfile to a running engine;
- :mod:`._credentials` reads the token from systemd credentials (``LoadCredential=``).

Errors::

    SyncEngineError
     └── ServiceError            a service manager step failed (the command names it)
          └── ServiceRefusedError  refused before any change: not root, no systemd, not Linux
"""

from __future__ import annotations

from ._credentials import CREDENTIAL_NAME, credential_token, token_source, with_credential_token
from ._manager import ServiceError, ServiceRefusedError, SystemdManager, run_command
from ._notify import Notifier, Watchdog
from ._runtime import ServiceRuntime
from ._systemd import (
    DEFAULT_TOKEN_FILE,
    HARDENING,
    RESTART_PREVENT_EXIT_STATUS,
    SERVICE_NAME,
    UnitSpec,
    advice,
    python_command,
    render_sysusers,
    render_unit,
    unit_spec,
    written_paths,
)
from ._winsw import winsw_xml

__all__ = [
    "CREDENTIAL_NAME",
    "DEFAULT_TOKEN_FILE",
    "HARDENING",
    "RESTART_PREVENT_EXIT_STATUS",
    "SERVICE_NAME",
    "Notifier",
    "ServiceError",
    "ServiceRefusedError",
    "ServiceRuntime",
    "SystemdManager",
    "UnitSpec",
    "Watchdog",
    "advice",
    "credential_token",
    "python_command",
    "render_sysusers",
    "render_unit",
    "run_command",
    "token_source",
    "unit_spec",
    "winsw_xml",
    "with_credential_token",
    "written_paths",
]
