"""The ``syncengine`` command line: commands, their runtime (exit codes, logging, signals), the
views they print, replay planning, redaction and the demo.

The engine never imports this package; it is the operator's face of :mod:`syncengine`.
"""

from __future__ import annotations

from syncengine.cli import (  # noqa: F401  (register)
    _cmd_check,
    _cmd_config,
    _cmd_config_check,
    _cmd_delivery,
    _cmd_find,
    _cmd_journal,
    _cmd_journal_ops,
    _cmd_login,
    _cmd_resend,
    _cmd_resolve,
    _cmd_run,
    _cmd_service,
)
from syncengine.cli._commands import cli, main
from syncengine.cli._runtime import (
    EXIT_AUTH,
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_JOURNAL,
    EXIT_OK,
    EXIT_SERVER,
    EXIT_USAGE,
    STATUS_EXIT,
    CliError,
)

__all__ = [
    "EXIT_AUTH",
    "EXIT_CONFIG",
    "EXIT_FAILED",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_JOURNAL",
    "EXIT_OK",
    "EXIT_SERVER",
    "EXIT_USAGE",
    "STATUS_EXIT",
    "CliError",
    "cli",
    "main",
]
