"""``syncengine config check``: is this configuration runnable, here, by this user?

The unit's ``ExecStartPre=`` runs it as the service user in the service's sandbox, so what it
reports is what the engine would meet: the config file loads, a server URL and a token are
there (config, environment, systemd credential or the credentials store), every folder the
engine writes can be written, each watch folder's converter exists (``run``'s own
checks), and the metrics textfile's folder (``--metrics-textfile``, as for ``run``) can be
written. Exit 0 when all is well, else every problem on stderr, one line each, and exit 3
(configuration; ``RestartPreventExitStatus=`` stops a restart loop on it).
"""

from __future__ import annotations

import ipaddress
import os
import stat
import sys
from pathlib import Path

import click

from syncengine._config import EngineConfig
from syncengine._paths import unusable_dir
from syncengine._settings import Settings, SettingsError
from syncengine.cli._cmd_config import config_group
from syncengine.cli._commands import _State
from syncengine.cli._runtime import EXIT_CONFIG, engine_config_and_credentials
from syncengine.cli._views import redact
from syncengine.credentials import CredentialsError


def _token_problems(settings: Settings) -> list[str]:
    try:
        engine_config_and_credentials(settings)
    except SettingsError as exc:
        return [str(exc)]
    except CredentialsError as exc:
        return [f"credentials: {exc}"]
    return []


def _file_problems(settings: Settings) -> list[str]:
    problems = []
    source = settings.source
    if source is not None and "token" in settings.engine_data:
        origin = settings.origins.get("token", "")
        mode = source.stat().st_mode
        if origin == "file" and os.name != "nt" and mode & (stat.S_IRGRP | stat.S_IROTH):
            problems.append(
                f"{source} holds the token and is readable by other users (mode "
                f"{stat.S_IMODE(mode):o}): chmod 600 it, or move the token to a systemd "
                "credential or the credentials store"
            )
    if settings.logging.file is not None:
        problem = unusable_dir(settings.logging.file.parent)
        if problem is not None:
            problems.append(f"logging.file: {problem}")
    return problems


def _settings_checks(settings: Settings, config: EngineConfig) -> list[str]:
    """The checks ``run`` makes before it starts, with the same messages."""
    problems: list[str] = []
    try:
        settings.check_paths(config)
    except SettingsError as exc:
        problems += exc.problems
    if config.watch:
        from syncengine.converters import list_converters

        found = list_converters(config.converter_paths, timeout_s=config.converter_timeout_s)
        try:
            settings.check_converters(config, [c.name for c in found.converters])
        except SettingsError as exc:
            problems += exc.problems
    return problems


def check_problems(settings: Settings) -> list[str]:
    """Every problem with ``settings``, one line each (empty when it can run)."""
    problems = _token_problems(settings)
    config = settings.partial_config()
    problems += _settings_checks(settings, config)
    for key, path in (
        ("status_path", config.effective_status_path.parent),
        ("lock_path", config.effective_lock_path.parent),
    ):
        problem = unusable_dir(path)
        if problem is not None:
            problems.append(f"{key}: {problem}")
    if config.health_http.enabled:
        host = config.health_http.host
        if host != "localhost" and not _is_loopback(host):
            problems.append(f"health_http.host: {host} is not a loopback address")
    return problems + _file_problems(settings)


def textfile_problems(textfile: Path) -> list[str]:
    """What stops ``run --metrics-textfile TEXTFILE`` from writing it (empty: nothing).

    The writer renames a temporary over the file, so its folder must be writable by this
    user; nothing needs the file itself to be.
    """
    if textfile.suffix != ".prom":
        return [f"--metrics-textfile: must end in .prom, got {textfile}"]
    problem = unusable_dir(textfile.parent)
    return [] if problem is None else [f"--metrics-textfile: {problem}"]


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@config_group.command("check")
@click.option(
    "--metrics-textfile",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="SYNCENGINE_METRICS_TEXTFILE",
    help="Also check that run's --metrics-textfile FILE.prom can be written (its folder).",
)
@click.pass_obj
def config_check(state: _State, metrics_textfile: Path | None) -> None:
    """Check the configuration, paths and permissions; exit 3 on any problem.

    Runs as the service's ExecStartPre; as the service user it answers for that user.
    """
    settings = state.settings()  # an unreadable or invalid file is exit 3 already
    problems = check_problems(settings)
    if metrics_textfile is not None:
        problems += textfile_problems(metrics_textfile)
    where = str(settings.source) if settings.source else "environment and defaults"
    if problems:
        for problem in problems:
            click.echo(redact(f"syncengine: config check: {problem}"), err=True)
        click.echo(f"syncengine: error: {len(problems)} problem(s) in {where}", err=True)
        sys.exit(EXIT_CONFIG)
    config = settings.partial_config()
    click.echo(
        f"configuration OK: {where}; journal {config.journal_path}; "
        f"{len(config.watch)} watch folder(s); token from "
        f"{settings.origins.get('token', 'the credentials store')}"
    )
