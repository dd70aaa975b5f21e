"""The ``syncengine`` click group: its top-level options, the state every command gets, and the
one place that turns an expected failure into one line plus an exit code. The commands
themselves live in the ``_cmd_*`` modules of this package, one module per family (delivery,
journal, configuration, login, run, ...), each registering on :data:`cli`.

Every command prints for people by default and JSON where a machine reads it (``--json``).
Expected failures (bad configuration, missing or damaged journal, server down, a bad file) end
with one line on stderr and a documented exit code, never a traceback; ``--debug`` shows the
traceback of an unexpected error. The exit codes are listed in ``docs/cli.md``:

====  ==========================================================================
code  meaning
====  ==========================================================================
0     success (``status``: health ok)
1     the operation ran but something in it failed: a file in ``submit``, damage found
      by ``journal verify``, a step of the demo (``status``: degraded or offline)
2     usage error: unknown option, missing argument (``status``: stuck, auth_failed or
      stopped -- the Nagios CRITICAL code)
3     configuration error: unreadable config file, unknown key, wrong type, no server URL
4     journal unavailable: missing, locked by another engine, damaged or too new
5     server unreachable (connection refused, timeout, 5xx during ``login``)
6     authentication: the server rejected the credentials, or none are stored
70    internal error (a bug): re-run with ``--debug`` for the traceback
130   interrupted (Ctrl-C) before the command finished
====  ==========================================================================
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import click

from syncengine._settings import Settings, load_settings
from syncengine.cli._runtime import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, classify
from syncengine.cli._views import redact, register_secret

__all__ = ["cli", "main"]


def _fail(message: str, code: int) -> NoReturn:
    one_line = " ".join(redact(message).split())
    click.echo(f"syncengine: error: {one_line}", err=True)
    sys.exit(code)


@dataclass
class _State:
    """What the top-level options give every command."""

    config_path: Path | None = None
    debug: bool = False
    _settings: Settings | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        """The effective settings, loaded once."""
        if self._settings is None:
            from syncengine.service import with_credential_token

            self._settings = with_credential_token(load_settings(self.config_path))
            register_secret(self._settings.token)
            register_secret(self._settings.ui_token)  # the page password is never logged
        return self._settings


class _Group(click.Group):
    """A click group that turns expected exceptions into one line plus an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            _fail("interrupted", EXIT_INTERRUPTED)
        except BrokenPipeError:
            # A reader such as `head` closed the pipe: not an error of ours.
            with contextlib.suppress(OSError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            sys.exit(EXIT_OK)
        except Exception as exc:
            classified = classify(exc)
            if classified is not None:
                _fail(classified[1], classified[0])
            state = ctx.find_object(_State)
            if state is not None and state.debug:
                click.echo(redact(traceback.format_exc()), err=True)
            _fail(
                f"internal error ({type(exc).__name__}: {exc}); re-run with --debug for the "
                "traceback and report it",
                EXIT_INTERNAL,
            )


def _emit_json(data: Any) -> None:
    click.echo(redact(json.dumps(data, indent=2, sort_keys=True, default=str)))


def _echo_lines(lines: Sequence[str]) -> None:
    for line in lines:
        click.echo(redact(line))


@click.group("syncengine", cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="TOML configuration file (default: $SYNCENGINE_CONFIG, then the per-user and site "
    "config directories).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks of unexpected errors.")
@click.version_option(package_name="wats-sync", prog_name="syncengine")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, debug: bool) -> None:
    """wats-sync: get every test report to the WATS server exactly once.

    Configuration comes from a TOML file and SYNCENGINE_* environment variables; see
    docs/configuration.md. Exit codes are listed in docs/cli.md.
    """
    ctx.obj = _State(config_path=config_path, debug=debug)


def _utf8_when_redirected() -> None:
    """Write UTF-8 to pipes and files, whatever the locale's code page.

    On Windows redirected output uses the ANSI code page (cp1252), where a unit like "Ω" or a
    server message in Chinese raises UnicodeEncodeError mid-output; tools reading the output
    expect UTF-8 anyway. A console keeps its own encoding.
    """
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is None or stream.isatty():
            continue
        if (stream.encoding or "").lower().replace("-", "").replace("_", "") != "utf8":
            reconfigure(encoding="utf-8", errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point (``syncengine``)."""
    _utf8_when_redirected()
    cli.main(args=list(argv) if argv is not None else None, prog_name="syncengine")
