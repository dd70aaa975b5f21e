"""``syncengine find``: look submissions up by serial number, part number, report id, source
file name or time range; prints keys, states and files."""

from __future__ import annotations

import json
import sys
import time

import click

from syncengine.cli._commands import _State, cli
from syncengine.cli._lookup import FindQuery, Found, find
from syncengine.cli._runtime import EXIT_FAILED, open_journal
from syncengine.cli._views import format_time, parse_since, redact, table


def _when(text: str | None, option: str) -> float | None:
    if not text:
        return None
    try:
        return parse_since(text, now=time.time())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


@cli.command("find")
@click.option("--sn", metavar="SERIAL", help="Serial number (a prefix matches).")
@click.option("--pn", metavar="PART", help="Part number (a prefix matches).")
@click.option("--id", "report_id", metavar="ID", help="Report id (the WATS report GUID).")
@click.option("--file", metavar="TEXT", help="Any part of the source file's path or name.")
@click.option(
    "--since", metavar="TIME", help="Submitted at or after TIME (ISO-8601, or an age: 12h, 7d)."
)
@click.option("--until", metavar="TIME", help="Submitted before TIME (ISO-8601, or an age).")
@click.option(
    "--state",
    "state_filter",
    type=click.Choice(
        ["pending", "in_flight", "acked", "failed", "superseded", "dismissed", "archived"]
    ),
    help="Only submissions in this state.",
)
@click.option(
    "--limit", type=click.IntRange(1, 10_000), default=50, show_default=True, help="At most N."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per submission.")
@click.pass_obj
def find_command(
    state: _State,
    sn: str | None,
    pn: str | None,
    report_id: str | None,
    file: str | None,
    since: str | None,
    until: str | None,
    state_filter: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Find submissions by serial number, part number, report id, file name or time.

    Prints the key, state, serial and part number, submission time and source file of each,
    newest first, and of an archived one when and to which archive file it was moved. Use a
    key with 'syncengine inspect KEY' or 'syncengine replay --key KEY'. Exit 1 when nothing
    matches.
    """
    if not any((sn, pn, report_id, file, since, until, state_filter)):
        raise click.UsageError("say what to find: --sn, --pn, --id, --file, --since/--until")
    q = FindQuery(
        sn=sn,
        pn=pn,
        report_id=report_id,
        file=file,
        since=_when(since, "--since"),
        until=_when(until, "--until"),
        state=state_filter,
        limit=limit,
    )
    settings = state.settings()
    with open_journal(settings) as journal:
        found = find(journal, q)
    if as_json:
        for item in found:
            click.echo(redact(json.dumps(item.__dict__, sort_keys=True)))
    else:
        for line in _lines(found):
            click.echo(redact(line))
    if not found:
        click.echo("nothing found", err=True)
        sys.exit(EXIT_FAILED)


def _lines(found: list[Found]) -> list[str]:
    rows = [("KEY", "STATE      SN                PN              SUBMITTED                FILE")]
    rows += [
        (
            f.key,
            f"{f.state:<10} {f.sn or '-':<17} {f.pn or '-':<15} {format_time(f.created_at):<24} "
            f"{f.source_path or '-'}",
        )
        for f in found
    ]
    if not found:
        return []
    notes = [
        f"{f.key}: archived on {format_time(f.archived_at)} in {f.archive_file}"
        for f in found
        if f.archived_at is not None
    ]
    return table(rows) + (["", *notes] if notes else [])
