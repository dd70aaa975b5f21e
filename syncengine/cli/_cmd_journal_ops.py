"""``syncengine journal backup DEST`` and ``syncengine journal archive verify FILE``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from syncengine.cli._backup import backup_journal, verify_archive
from syncengine.cli._cmd_journal import journal_archive, journal_group
from syncengine.cli._commands import _State


@journal_group.command("backup")
@click.argument("dest", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--overwrite", is_flag=True, help="Replace DEST if it exists.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def journal_backup(state: _State, dest: Path, overwrite: bool, as_json: bool) -> None:
    """Copy the journal to DEST consistently, also while the engine runs; verify the copy.

    Uses SQLite's online backup API, then checks the copy (integrity, hash chain, queue view)
    before it gets its name, so DEST is always a verified copy. Restore: stop the engine, copy
    DEST over journal_path (removing any -wal and -shm files beside it), start the engine.
    """
    settings = state.settings()
    settings.check_journal_path(write=False)
    result = backup_journal(settings.journal_path, dest, overwrite=overwrite)
    if as_json:
        click.echo(json.dumps({**result.__dict__, "path": str(result.path)}, sort_keys=True))
    else:
        click.echo(
            f"journal backed up to {result.path} ({result.size} bytes, {result.events} events, "
            f"sha256 {result.sha256}); the copy was verified"
        )


@journal_archive.command("verify")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def journal_archive_verify(state: _State, file: Path, as_json: bool) -> None:
    """Read an archive file end to end and check every event, the trailer and its SHA-256.

    When the configured journal records the archive (its Archived event names the file), the
    file's SHA-256 must also match the recorded one. Exit 0 intact, 1 damaged or missing.
    """
    settings = state.settings()
    settings.check_journal_path(write=False)
    check = verify_archive(file, settings.journal_path)
    if as_json:
        click.echo(json.dumps({**check.__dict__, "path": str(check.path), "ok": True}))
        return
    recorded = {
        True: "; the journal records this file and its SHA-256 matches",
        False: "; the configured journal does not record this file",
        None: "",
    }[check.recorded]
    click.echo(
        f"archive {check.path} is intact: {check.events} events of "
        f"{check.submissions} submission(s){recorded}"
    )
