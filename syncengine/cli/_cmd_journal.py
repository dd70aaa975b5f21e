"""``syncengine journal``: dump, verify, rebuild, query and archive the journal (backup and
``archive verify`` are in :mod:`syncengine.cli._cmd_journal_ops`)."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click

from syncengine.cli._commands import _emit_json, _Group, _State, cli
from syncengine.cli._runtime import (
    EXIT_FAILED,
    EXIT_JOURNAL,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    open_journal,
)
from syncengine.cli._views import redact


@cli.group("journal", cls=_Group)
def journal_group() -> None:
    """Audit and maintain the journal (dump, verify, rebuild, archive)."""


@journal_group.command("dump")
@click.option(
    "--since", metavar="SEQ", type=click.IntRange(min=0), default=0, help="Only events after SEQ."
)
@click.option("--no-payload", is_flag=True, help="Leave report payloads out.")
@click.pass_obj
def journal_dump(state: _State, since: int, no_payload: bool) -> None:
    """Print the events as JSON lines, oldest first, streamed."""
    settings = state.settings()
    with open_journal(settings, salvage=True) as journal:
        out = sys.stdout
        for record in journal.dump(since=since, payloads=not no_payload):
            out.write(redact(json.dumps(record, sort_keys=True, separators=(",", ":"))) + "\n")
        out.flush()


@journal_group.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def journal_verify(state: _State, as_json: bool) -> None:
    """Check the hash chain and the projection; exit 0 only when the journal is intact."""
    settings = state.settings()
    with open_journal(settings, salvage=True) as journal:
        chain = journal.verify()
        projection = journal.check() if chain.ok else None
    intact = chain.ok and projection is not None and projection.ok
    data = {
        "ok": intact,
        "journal_path": str(settings.journal_path),
        "events_checked": chain.checked,
        "first_bad_seq": chain.first_bad_seq,
        "first_bad_key": chain.first_bad_key,
        "reason": chain.reason,
        "projection_differences": [] if projection is None else projection.differences,
    }
    if as_json:
        _emit_json(data)
    elif intact:
        click.echo(f"journal {settings.journal_path} is intact ({chain.checked} events)")
    elif not chain.ok:
        click.echo(
            f"journal {settings.journal_path} is DAMAGED at event {chain.first_bad_seq} "
            f"(submission {chain.first_bad_key}): {chain.reason}"
        )
    else:
        assert projection is not None
        click.echo(
            f"journal {settings.journal_path}: the events are intact but the queue view "
            f"disagrees with them ({len(projection.differences)} difference(s)); run "
            "'syncengine journal rebuild'"
        )
        for line in projection.differences[:20]:
            click.echo(f"  {line}")
    sys.exit(EXIT_OK if intact else EXIT_FAILED)


@journal_group.command("rebuild")
@click.pass_obj
def journal_rebuild(state: _State) -> None:
    """Recompute the queue view (projection) from the events alone."""
    settings = state.settings()
    with open_journal(settings) as journal:
        journal.rebuild()
        counts = dict(journal.counts())
    click.echo(
        "projection rebuilt: "
        + ", ".join(
            f"{name} {counts.get(name, 0)}" for name in ("pending", "in_flight", "acked", "failed")
        )
    )


@journal_group.command("query")
@click.argument("sql")
@click.option(
    "--param", "params", metavar="VALUE", multiple=True, help="A value for each ? in SQL, in order."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per row.")
@click.pass_obj
def journal_query(state: _State, sql: str, params: tuple[str, ...], as_json: bool) -> None:
    """Run a read-only SQL query on the journal (for auditors); rows are streamed.

    The journal is opened read-only with PRAGMA query_only, so nothing typed here can change
    it. Tables: events, submissions, state_counts, chain_head, archived, meta.
    """
    from journal import CorruptJournalError, JournalError, query

    settings = state.settings()
    path = settings.journal_path
    if not path.exists():
        raise CliError(f"no journal at {path}", EXIT_JOURNAL)
    out = sys.stdout
    header: list[str] | None = None
    try:
        for row in query(path, sql, list(params)):
            if as_json:
                out.write(redact(json.dumps(row, sort_keys=True, default=str)) + "\n")
                continue
            if header is None:
                header = list(row)
                out.write("\t".join(header) + "\n")
            out.write(redact("\t".join("" if v is None else str(v) for v in row.values())) + "\n")
    except CorruptJournalError:
        raise
    except JournalError as exc:
        # Anything else SQLite refuses here is the query's fault (syntax, a write, no table).
        raise CliError(f"query refused: {exc}", EXIT_USAGE) from None
    out.flush()


@journal_group.group("archive", cls=_Group, invoke_without_command=True)
@click.option(
    "--older-than",
    "days",
    metavar="DAYS",
    type=click.FloatRange(min=0),
    help="Archive acknowledged submissions acknowledged more than DAYS ago (required unless "
    "a subcommand such as 'verify FILE' follows).",
)
@click.option(
    "--dest",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Archive file (default: <journal>.archive-<UTC time>.jsonl.gz next to the journal).",
)
@click.pass_context
def journal_archive(ctx: click.Context, days: float | None, dest: Path | None) -> None:
    """Move old acknowledged submissions to a compressed, verifiable archive file.

    Nothing unacknowledged is ever archived; the archiving is itself a journal event.
    'syncengine journal archive verify FILE' checks an archive file end to end.
    """
    if ctx.invoked_subcommand is not None:
        return
    if days is None:
        raise click.UsageError("Missing option '--older-than'.")
    state: _State = ctx.obj
    settings = state.settings()
    if dest is None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        path = settings.journal_path
        dest = path.with_name(f"{path.name}.archive-{stamp}.jsonl.gz")
    with open_journal(settings) as journal:
        result = journal.archive(timedelta(days=days).total_seconds(), dest)
    count = getattr(result, "submissions", None)
    if count is None:
        count = getattr(result, "count", "?")
    where = getattr(result, "path", dest)
    if not count:
        click.echo(f"nothing to archive: no acknowledged submission is older than {days:g} days")
    else:
        click.echo(f"archived {count} submission(s) to {where}")
