"""``syncengine service install|uninstall|print|status``: wats-sync as a system service.

The unit (systemd) or the WinSW XML (Windows) is generated from the effective configuration:
the config file the service will run with, its watch folders, journal and log file. The
decisions live in :mod:`syncengine.service`; this module parses and prints.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from syncengine.cli._commands import _Group, _State, cli
from syncengine.cli._runtime import EXIT_CONFIG, EXIT_USAGE, STATUS_EXIT, CliError, read_health
from syncengine.cli._views import redact
from syncengine.service import (
    DEFAULT_TOKEN_FILE,
    SERVICE_NAME,
    SystemdManager,
    UnitSpec,
    advice,
    render_unit,
    unit_spec,
    winsw_xml,
)


@cli.group("service", cls=_Group)
def service_group() -> None:
    """Run wats-sync as a system service (systemd on Linux, WinSW on Windows)."""


def _name_option(f: Any) -> Any:
    return click.option(
        "--name", default=SERVICE_NAME, show_default=True, help="The service's name."
    )(f)


def _unit_options(f: Any) -> Any:
    options = [
        click.option(
            "--user", default=SERVICE_NAME, show_default=True, help="The dedicated system user."
        ),
        click.option(
            "--group",
            "groups",
            multiple=True,
            metavar="GROUP",
            help="A supplementary group (e.g. the one owning the watch folders); repeatable.",
        ),
        click.option(
            "--token-file",
            type=click.Path(path_type=Path, dir_okay=False),
            default=DEFAULT_TOKEN_FILE,
            show_default=True,
            help="File (root-only) systemd hands to the service as its token credential.",
        ),
        click.option(
            "--no-token-file",
            is_flag=True,
            help="No LoadCredential= line (the token comes from the config or the store).",
        ),
        click.option(
            "--metrics-textfile",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Have the service write its metrics to this *.prom file.",
        ),
        click.option(
            "--metrics-interval",
            type=click.FloatRange(min=0.1),
            default=None,
            help="Seconds between textfile writes (default 15).",
        ),
        _name_option,
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _spec(state: _State, opts: dict[str, Any]) -> UnitSpec:
    settings = state.settings()
    if settings.source is None:
        raise CliError(
            "a service runs from a config file: pass --config FILE (for example "
            "/etc/wats-sync/config.toml)",
            EXIT_CONFIG,
        )
    textfile = opts.get("metrics_textfile")
    if textfile is not None and textfile.suffix != ".prom":
        raise CliError(f"--metrics-textfile must end in .prom, got {textfile}", EXIT_USAGE)
    return unit_spec(
        settings.partial_config(),
        settings.source,
        log_file=settings.logging.file,
        textfile=textfile,
        textfile_interval_s=opts.get("metrics_interval"),
        name=opts["name"],
        user=opts["user"],
        token_file=None if opts["no_token_file"] else opts["token_file"],
        supplementary_groups=opts["groups"],
    )


@service_group.command("print")
@_unit_options
@click.option(
    "--platform",
    type=click.Choice(["systemd", "winsw"]),
    default=None,
    help="Which file to print (default: this platform's: winsw on Windows, else systemd).",
)
@click.pass_obj
def service_print(state: _State, /, platform: str | None, **opts: Any) -> None:
    """Print the unit (or WinSW XML) for the effective configuration; change nothing."""
    platform = platform or ("winsw" if sys.platform == "win32" else "systemd")
    spec = _spec(state, opts)
    if platform == "winsw":
        settings = state.settings()
        assert settings.source is not None
        click.echo(
            winsw_xml(
                settings.partial_config(),
                settings.source,
                name=opts["name"],
                textfile=opts.get("metrics_textfile"),
                textfile_interval_s=opts.get("metrics_interval"),
            ),
            nl=False,
        )
        return
    click.echo(render_unit(spec), nl=False)


def _manager(root: Path | None) -> SystemdManager:
    if sys.platform == "win32":
        raise CliError(
            "on Windows, install with WinSW: 'syncengine service print --platform winsw > "
            "wats-sync.xml', put WinSW.exe next to it as wats-sync.exe, then 'wats-sync.exe "
            "install' (docs/operations.md)"
        )
    return SystemdManager(root=root or Path("/"))


_root_option = click.option(
    "--root",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Install into this directory tree (an image being built) instead of the running "
    "system: offline, nothing is reloaded or started.",
)


@service_group.command("install")
@_unit_options
@_root_option
@click.pass_obj
def service_install(state: _State, /, root: Path | None, **opts: Any) -> None:
    """Write the unit, create the service user, reload systemd and enable the service.

    Refuses (and changes nothing) when not root, when systemd is not running, or when
    systemctl is missing. Start it with 'systemctl start NAME' once the token file is in
    place.
    """
    spec = _spec(state, opts)
    manager = _manager(root)
    for line in manager.install(spec):
        click.echo(redact(line))
    for note in advice(spec):
        click.echo(redact(f"note: {note}"), err=True)
    click.echo(f"installed {spec.name}.service; start it with: systemctl start {spec.name}")


@service_group.command("uninstall")
@_name_option
@_root_option
@click.pass_obj
def service_uninstall(state: _State, name: str, root: Path | None) -> None:
    """Stop and disable the service and remove its unit; keep the journal, logs and user.

    The journal may still hold reports that were not delivered: it stays in the state
    directory. Refuses (and changes nothing) when not root or without systemd.
    """
    for line in _manager(root).uninstall(name):
        click.echo(redact(line))


def manager_lines(name: str, view: dict[str, str]) -> list[str]:
    """The manager's part of ``service status``, from :meth:`SystemdManager.show`'s view."""
    if "error" in view:
        return [f"manager: unavailable ({view['error']})"]
    lines = [
        f"manager: {name}.service {view.get('ActiveState', '?')} ({view.get('SubState', '?')}), "
        f"enabled: {view.get('UnitFileState', '?')}, main pid {view.get('MainPID', '?')}, "
        f"restarts {view.get('NRestarts', '?')}"
    ]
    if view.get("StatusText"):
        lines.append(f"manager status: {view['StatusText']}")
    return lines


@service_group.command("status")
@_name_option
@click.option("--json", "as_json", is_flag=True, help="Print both views as one JSON object.")
@click.pass_obj
def service_status(state: _State, name: str, as_json: bool) -> None:
    """Show the service manager's view next to the engine's health.

    The exit code is the engine's health, as for 'syncengine status' (0 ok, 1 warning,
    2 critical).
    """
    manager = SystemdManager().show(name) if sys.platform != "win32" else {"error": "Windows"}
    health = read_health(state.settings())
    if as_json:
        click.echo(redact(json.dumps({"manager": manager, "engine": health}, default=str)))
    else:
        for line in manager_lines(name, manager):
            click.echo(line)
        counts = health.get("counts", {})
        click.echo(
            f"engine: {health.get('health')}; pending {counts.get('pending', 0)}, in flight "
            f"{counts.get('in_flight', 0)}, failed {counts.get('failed', 0)}"
        )
    sys.exit(STATUS_EXIT.get(str(health.get("health")), 3))
