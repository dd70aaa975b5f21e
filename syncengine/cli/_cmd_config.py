"""``syncengine config show`` and ``syncengine converters list``: what this configuration gives
the engine (``config check`` is in :mod:`syncengine.cli._cmd_config_check`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from syncengine.cli._commands import _echo_lines, _emit_json, _State, cli
from syncengine.cli._runtime import stored_token_note
from syncengine.cli._views import redact, table
from syncengine.credentials import fingerprint

if TYPE_CHECKING:
    from syncengine import WatchFolder


@cli.group("config")
def config_group() -> None:
    """Inspect the effective configuration."""


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print the configuration as JSON.")
@click.pass_obj
def config_show(state: _State, as_json: bool) -> None:
    """Print the effective configuration (file + environment + defaults), secrets masked."""
    settings = state.settings()
    data = settings.masked()
    if settings.token is not None:
        data["token"] = f"*** (sha256 {fingerprint(settings.token)})"
    elif settings.server_url is not None:
        data["token"] = stored_token_note(settings)
    data["config_file"] = str(settings.source.resolve()) if settings.source else None
    data["origins"] = dict(settings.origins)
    config = settings.partial_config()
    folders = _folders_with_defaults(data.get("watch"), config.watch)
    if as_json:
        if folders:
            data["watch"] = [filled for filled, _ in folders]
        for index, (_, defaulted) in enumerate(folders):
            data["origins"].update({f"watch[{index}].{name}": "default" for name in defaulted})
        _emit_json(data)
        return
    click.echo(f"# config file: {data['config_file'] or 'none (environment and defaults)'}")
    derived = {
        "status_path": config.effective_status_path,
        "lock_path": config.effective_lock_path,
    }
    for key in sorted(data):
        if key in ("origins", "config_file"):
            continue
        origin = settings.origins.get(key)
        if key == "watch" and folders:
            _echo_folders(folders, f"from {origin}" if origin else "default")
            continue
        if key in derived and data[key] is None:
            note = f"    # default: {derived[key]}"
        elif origin:
            note = f"    # from {origin}"
        else:
            note = "    # default"
        click.echo(redact(f"{key} = {json.dumps(data[key], default=str)}{note}"))


def _folders_with_defaults(
    shown: object, folders: Sequence[WatchFolder]
) -> list[tuple[dict[str, object], list[str]]]:
    """Each watch folder as shown, its unset done/error folder filled with the one the engine
    uses (``done_dir`` only when files are moved), and the names of the fields so filled."""
    if not isinstance(shown, list) or len(shown) != len(folders):
        return []
    out: list[tuple[dict[str, object], list[str]]] = []
    for entry, folder in zip(shown, folders, strict=True):
        filled: dict[str, object] = dict(entry)
        defaulted: list[str] = []
        effective = {"done_dir": folder.effective_done_dir, "error_dir": folder.effective_error_dir}
        for name, path in effective.items():
            if filled.get(name) is None and (name != "done_dir" or folder.done_action == "move"):
                filled[name] = str(path)
                defaulted.append(name)
        out.append((filled, defaulted))
    return out


def _echo_folders(folders: list[tuple[dict[str, object], list[str]]], origin: str) -> None:
    for index, (folder, defaulted) in enumerate(folders):
        note = f"    # {origin}"
        if defaulted:
            note += f"; {' and '.join(defaulted)}: default (in the watch folder)"
        click.echo(redact(f"watch[{index}] = {json.dumps(folder, default=str)}{note}"))


@cli.group("converters")
def converters_group() -> None:
    """Converter plugins (built-ins, entry points, converter_paths)."""


@converters_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print found and refused ones as JSON.")
@click.pass_obj
def converters_list(state: _State, as_json: bool) -> None:
    """List the usable converters, and the refused ones with the reason.

    Plugins are imported in a throwaway worker process, so a broken plugin cannot crash this.
    """
    from syncengine.converters import list_converters

    config = state.settings().partial_config()
    report = list_converters(config.converter_paths, timeout_s=config.converter_timeout_s)
    if as_json:
        _emit_json(report.to_json())
        return
    rows = [("NAME", f"{'VERSION':<8} {'PATTERNS':<24} SOURCE")]
    rows += [
        (c.name, f"{c.version:<8} {', '.join(c.patterns):<24} {c.source}")
        for c in report.converters
    ]
    _echo_lines(table(rows))
    for refused in report.refused:
        click.echo(f"refused {refused.name or '?'} from {refused.source}: {refused.reason}")
