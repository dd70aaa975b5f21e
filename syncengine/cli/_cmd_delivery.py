"""The delivery commands: ``submit`` files, ``replay`` failed submissions, ``inspect`` one and
read the ``status`` snapshot."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from syncengine.cli._commands import _echo_lines, _emit_json, _State, cli
from syncengine.cli._lookup import archived_view, missing_submission_message, resolve_key
from syncengine.cli._replay_plan import replay_plan
from syncengine.cli._runtime import (
    EXIT_FAILED,
    STATUS_EXIT,
    CliError,
    open_journal,
    read_health,
)
from syncengine.cli._submit_files import command_pool, parse_options, submit_file
from syncengine.cli._views import (
    archived_lines,
    inspect_lines,
    inspect_view,
    parse_since,
    redact,
    status_lines,
)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--converter",
    metavar="NAME",
    default="auto",
    show_default=True,
    help="Converter name for every file, or 'auto' to pick by file (WSJF JSON is taken as is).",
)
@click.option(
    "--normalize-loops/--no-normalize-loops",
    default=None,
    help="Rewrite server-export loop summaries the server refuses (default: the config's "
    "normalize_loops); a rewritten report is a new submission, recorded as rewritten.",
)
@click.option(
    "--option",
    "option_pairs",
    metavar="NAME=VALUE",
    multiple=True,
    help="A converter option, as a watch folder's [watch.options] gives it (repeatable); "
    "VALUE is JSON if it parses as JSON, else text: --option delimiter=';'.",
)
@click.pass_obj
def submit(
    state: _State,
    files: tuple[Path, ...],
    converter: str,
    normalize_loops: bool | None,
    option_pairs: tuple[str, ...],
) -> None:
    """Convert files and append their reports to the journal; print one key per line.

    Files are left where they are. The running engine (or the next one started) uploads the
    submissions. Exit code 1 when any file failed; each failure is one line on stderr with
    the file and the reason.
    """
    try:
        options = parse_options(option_pairs)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--option") from None
    settings = state.settings()
    config = settings.partial_config()
    failures = 0
    pool = command_pool(config)
    with open_journal(settings, create=True) as journal, pool:
        for path in files:
            outcome = submit_file(
                journal,
                pool,
                path,
                converter=converter,
                station_name=config.station_name,
                normalize_loops=config.normalize_loops
                if normalize_loops is None
                else normalize_loops,
                options=options,
            )
            if outcome.error is not None:
                failures += 1
                click.echo(redact(f"syncengine: error: {path}: {outcome.error}"), err=True)
            for key in outcome.keys:
                click.echo(key)
    if failures:
        sys.exit(EXIT_FAILED)


@cli.command()
@click.option(
    "--key",
    "keys",
    metavar="KEY",
    multiple=True,
    help="A submission key, report id or unique serial number to requeue (repeatable).",
)
@click.option("--failed", is_flag=True, help="Requeue every failed submission.")
@click.option(
    "--since",
    metavar="TIME",
    help="Only submissions whose last change is at or after TIME (ISO-8601, or an age: 12h, 7d).",
)
@click.option("--dry-run", is_flag=True, help="Print what would be requeued and change nothing.")
@click.option(
    "--with",
    "corrected",
    metavar="FILE",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Supersede the one failed --key with the corrected WSJF report in FILE.",
)
@click.option("--reason", metavar="TEXT", help="Why (recorded in the journal).")
@click.option("--json", "as_json", is_flag=True, help="Print the requeued keys as JSON.")
@click.pass_obj
def replay(
    state: _State,
    keys: tuple[str, ...],
    failed: bool,
    since: str | None,
    dry_run: bool,
    corrected: Path | None,
    reason: str | None,
    as_json: bool,
) -> None:
    """Requeue failed submissions, or resend chosen ones now.

    A requeued submission is pending and due at once; the running engine (or the next one
    started) sends it. A named pending submission that is backing off after errors becomes due
    now. Acked ones are never resent and in-flight ones are already being sent: both are
    skipped with the reason. Shows a progress bar for long replays.
    """
    if corrected is not None:
        if len(keys) != 1 or failed or dry_run or since:
            raise click.UsageError("--with FILE takes exactly one --key and no other choice")
        from syncengine.cli._cmd_resolve import supersede_from_file

        supersede_from_file(state, keys[0], corrected, reason, as_json)
        return
    if not keys and not failed:
        raise click.UsageError("choose what to replay: --key KEY (repeatable) and/or --failed")
    since_ts = None
    if since:
        try:
            since_ts = parse_since(since, now=time.time())
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--since") from None
    settings = state.settings()
    with open_journal(settings) as journal:
        keys = tuple(resolve_key(journal, key) for key in keys)  # report ids, serial numbers
        try:
            plan = replay_plan(journal, keys, failed=failed, since=since_ts)
        except KeyError as exc:
            raise CliError(missing_submission_message(journal, str(exc.args[0]))) from None
        for key, why in plan.skipped:
            click.echo(f"skipped {key}: {why}", err=True)
        if dry_run:
            if as_json:
                _emit_json({"would_requeue": [item.__dict__ for item in plan.todo]})
            else:
                for item in plan.todo:
                    click.echo(redact(f"would requeue {item.key}  ({item.error or item.state})"))
                click.echo(f"{len(plan.todo)} submission(s) would be requeued (dry run)", err=True)
            return
        from journal import InvalidTransitionError
        from syncengine.cli._cmd_resolve import operator

        done: list[str] = []
        why = reason or "replay requested with the syncengine CLI"
        who = operator()
        with click.progressbar(
            plan.todo,
            label="requeueing",
            file=sys.stderr,
            show_pos=True,
            item_show_func=lambda item: item.key if item else None,
        ) as bar:
            for item in bar:
                try:
                    journal.requeue(item.key, reason=why, who=who, origin="cli")
                except InvalidTransitionError:
                    # The engine took it between plan and requeue: it is being sent already.
                    click.echo(f"skipped {item.key}: being uploaded right now", err=True)
                    continue
                done.append(item.key)
    if as_json:
        _emit_json({"requeued": done})
    else:
        for key in done:
            click.echo(key)
        click.echo(f"{len(done)} submission(s) requeued", err=True)


@cli.command()
@click.argument("key", metavar="KEY|REPORT_ID|SERIAL")
@click.option("--json", "as_json", is_flag=True, help="Print state and events as JSON.")
@click.pass_obj
def inspect(state: _State, key: str, as_json: bool) -> None:
    """Show the whole life of one submission.

    Source file, payload summary, every upload attempt with its time, HTTP status, server
    message and latency, and the final state. Of an archived submission: its report, and when
    and to which archive file it was moved.
    """
    settings = state.settings()
    with open_journal(settings) as journal:
        key = resolve_key(journal, key)  # a report id or a unique serial number works too
        sub = journal.submission(key)
        if sub is None:
            archived = archived_view(journal, key)
            if archived is None:
                raise CliError(missing_submission_message(journal, key))
            if as_json:
                _emit_json(archived)
            else:
                _echo_lines(archived_lines(archived))
            return
        view = inspect_view(sub, journal.history(key))
    if as_json:
        _emit_json(view)
    else:
        _echo_lines(inspect_lines(view))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the snapshot as one JSON object.")
@click.pass_obj
def status(state: _State, as_json: bool) -> None:
    """Show the health snapshot; works with the engine stopped.

    The exit code follows the monitoring-plugin convention: 0 ok, 1 degraded or offline,
    2 stuck, auth_failed or stopped (also: no journal yet); 3 bad configuration, 4 unreadable
    journal or status file.
    """
    snap = read_health(state.settings())
    if as_json:
        if not snap.get("running") and "health_address" in snap:
            snap = {**snap, "health_address": None}  # nothing listens there any more
        _emit_json(snap)
    else:
        _echo_lines(status_lines(snap))
    sys.exit(STATUS_EXIT.get(str(snap.get("health")), EXIT_FAILED))
