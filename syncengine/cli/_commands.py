"""The ``syncengine`` command line; the only module that imports click.

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
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NoReturn

import click

from syncengine._settings import Settings, load_settings
from syncengine.cli._lookup import resolve_key
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
    classify,
    engine_config_and_credentials,
    log_engine_events,
    open_journal,
    read_health,
    setup_logging,
    stop_on_signals,
    store_for,
    stored_token_note,
)
from syncengine.cli._views import (
    inspect_lines,
    inspect_view,
    missing_submission_message,
    parse_options,
    parse_since,
    redact,
    register_secret,
    replay_plan,
    status_lines,
    submit_file,
    table,
)
from syncengine.credentials import fingerprint

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

log = logging.getLogger("syncengine.cli")


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


# --------------------------------------------------------------------------- helpers


def _emit_json(data: Any) -> None:
    click.echo(redact(json.dumps(data, indent=2, sort_keys=True, default=str)))


def _echo_lines(lines: Sequence[str]) -> None:
    for line in lines:
        click.echo(redact(line))


# --------------------------------------------------------------------------- the group


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


# --------------------------------------------------------------------------- run


@cli.command()
@click.option(
    "--log-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also log to this file, rotated by size (default: [logging] file).",
)
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    help="Log level (default: [logging] level, INFO).",
)
@click.option(
    "--metrics-textfile",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="SYNCENGINE_METRICS_TEXTFILE",
    help="Also write the Prometheus metrics to this *.prom file (node_exporter or "
    "windows_exporter textfile collector), atomically.",
)
@click.option(
    "--metrics-interval",
    type=click.FloatRange(min=0.1),
    default=15.0,
    show_default=True,
    help="Seconds between textfile writes.",
)
@click.pass_obj
def run(
    state: _State,
    log_file: Path | None,
    log_level: str | None,
    metrics_textfile: Path | None,
    metrics_interval: float,
) -> None:
    """Run the engine with its folder watchers until SIGTERM or SIGINT.

    Logs go to stderr and, when configured, to a rotating file. On SIGTERM the engine stops
    its watchers, lets in-flight uploads finish within the grace period, writes the final
    status and exits 0. Under systemd (Type=notify) it reports readiness after recovery and
    feeds the watchdog while the engine makes progress.
    """
    settings = state.settings()
    config, provider = engine_config_and_credentials(settings)
    settings.check_paths(config)  # before anything is created, naming the key to fix
    if config.watch:  # an unknown converter is a config error too
        from syncengine.converters import list_converters

        found = list_converters(config.converter_paths, timeout_s=config.converter_timeout_s)
        settings.check_converters(config, [c.name for c in found.converters])
    setup_logging(settings, level="DEBUG" if state.debug else log_level, log_file=log_file)
    from syncengine._engine import SyncEngine
    from syncengine.service import ServiceRuntime

    if metrics_textfile is not None and metrics_textfile.suffix != ".prom":
        raise CliError(f"--metrics-textfile must end in .prom, got {metrics_textfile}", EXIT_USAGE)
    stop = threading.Event()
    engine = SyncEngine(config, credentials=provider)
    service = ServiceRuntime(
        engine, textfile=metrics_textfile, textfile_interval_s=metrics_interval
    )
    acks, every = settings.logging.acks, settings.logging.acks_summary_s
    origin = settings.origins.get("token", "")
    token_from = None
    if settings.token is not None:
        token_from = origin[4:] if origin.startswith("env ") else f"'token' in {settings.source}"
    events = log_engine_events(engine, acks=acks, summary_s=every, token_from=token_from)
    with stop_on_signals(stop), events:
        engine.start()
        service.started()
        log.info(
            "syncengine running: server %s, journal %s, %d watch folder(s)",
            config.server_url,
            config.journal_path,
            len(config.watch),
        )
        for folder in config.watch:
            log.info("watching %s (converter %s)", folder.path, folder.converter)
        if engine.health_address is not None:
            host, port = engine.health_address
            log.info("health endpoint: http://%s:%d/healthz (metrics: /metrics)", host, port)
        try:
            # A timed wait keeps the main thread responsive to signals on every platform.
            while not stop.wait(0.5):
                pass
        finally:
            log.info("stopping: grace period %.1f s", config.grace_period_s)
            service.stopping()
            engine.stop()
            service.stopped()
    log.info("stopped")


# --------------------------------------------------------------------------- submit


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
    from syncengine.converters import WorkerPool

    try:
        options = parse_options(option_pairs)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--option") from None
    settings = state.settings()
    config = settings.partial_config()
    failures = 0
    pool = WorkerPool(
        config.converter_paths,
        workers=1,
        timeout_s=config.converter_timeout_s,
        memory_mb=config.converter_memory_mb,
    )
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


# --------------------------------------------------------------------------- replay


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
@click.option("--reason", metavar="TEXT", help="Why (recorded with --with).")
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
            raise CliError(f"{exc.args[0]} in journal {settings.journal_path}") from None
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

        done: list[str] = []
        reason = "replay requested with the syncengine CLI"
        with click.progressbar(
            plan.todo,
            label="requeueing",
            file=sys.stderr,
            show_pos=True,
            item_show_func=lambda item: item.key if item else None,
        ) as bar:
            for item in bar:
                try:
                    journal.requeue(item.key, reason=reason, origin="cli")
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


# --------------------------------------------------------------------------- inspect


@cli.command()
@click.argument("key", metavar="KEY|REPORT_ID|SERIAL")
@click.option("--json", "as_json", is_flag=True, help="Print state and events as JSON.")
@click.pass_obj
def inspect(state: _State, key: str, as_json: bool) -> None:
    """Show the whole life of one submission.

    Source file, payload summary, every upload attempt with its time, HTTP status, server
    message and latency, and the final state.
    """
    settings = state.settings()
    with open_journal(settings) as journal:
        key = resolve_key(journal, key)  # a report id or a unique serial number works too
        sub = journal.submission(key)
        if sub is None:
            raise CliError(missing_submission_message(journal, key))
        view = inspect_view(sub, journal.history(key))
    if as_json:
        _emit_json(view)
    else:
        _echo_lines(inspect_lines(view))


# --------------------------------------------------------------------------- status


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
        _emit_json(snap)
    else:
        _echo_lines(status_lines(snap))
    sys.exit(STATUS_EXIT.get(str(snap.get("health")), EXIT_FAILED))


# --------------------------------------------------------------------------- journal


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


# --------------------------------------------------------------------------- converters


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


# --------------------------------------------------------------------------- login


def _read_key_from_stdin() -> str:
    line = sys.stdin.readline()
    key = line.rstrip("\r\n")
    if not key:
        raise click.UsageError("--key-stdin: nothing was read from standard input")
    return key


@cli.command()
@click.option(
    "--server", "server_url", metavar="URL", help="Server URL (default: the configured server_url)."
)
@click.option("--user", metavar="NAME", help="WATS user name (asked for when not given).")
@click.option(
    "--key",
    "api_key",
    metavar="KEY",
    help="API key or password. Prefer the prompt or --key-stdin: a command-line argument is "
    "visible to other users and kept in shell history.",
)
@click.option("--key-stdin", is_flag=True, help="Read the API key from the first line of stdin.")
@click.pass_obj
def login(
    state: _State,
    server_url: str | None,
    user: str | None,
    api_key: str | None,
    key_stdin: bool,
) -> None:
    """Check a user and API key against the server and store the token encrypted.

    The token (base64 of user:key) is stored in the OS keyring when the keyring package has a
    usable backend, else in an owner-only encrypted file; `run` uses it when no token is
    configured. Nothing is stored unless the server accepts the credentials.
    """
    from syncengine.credentials import login as do_login

    settings = state.settings()
    server_url = server_url or settings.server_url
    if not server_url:
        raise CliError(
            "no server URL: pass --server URL or configure server_url / SYNCENGINE_SERVER_URL",
            EXIT_CONFIG,
        )
    if key_stdin and api_key:
        raise click.UsageError("give the API key once: --key or --key-stdin, not both")
    if user is None:
        user = click.prompt("WATS user", err=True)
    if key_stdin:
        api_key = _read_key_from_stdin()
    elif api_key is None:
        api_key = click.prompt("API key", hide_input=True, err=True)
    register_secret(api_key)
    store = store_for(settings)
    entry = do_login(server_url, user or "", api_key or "", store)
    register_secret(entry.token)
    click.echo(f"logged in to {server_url} as {entry.user}; token stored in {store.description}")
    if settings.token is not None:
        origin = settings.origins.get("token", "")
        where = (
            f"the environment variable {origin[4:]}"
            if origin.startswith("env ")
            else f"'token' in {settings.source or 'the configuration'}"
        )
        click.echo(
            f"warning: {where} shadows this stored login: the engine uses that token, not this "
            "one; remove it to use the stored login",
            err=True,
        )


@cli.command()
@click.option("--server", "server_url", metavar="URL", help="Server URL (default: server_url).")
@click.pass_obj
def logout(state: _State, server_url: str | None) -> None:
    """Forget the token stored by `login` for the server.

    Idempotent: forgetting a login that is not there is not an error.
    """
    settings = state.settings()
    server_url = server_url or settings.server_url
    if not server_url:
        raise CliError(
            "no server URL: pass --server URL or configure server_url / SYNCENGINE_SERVER_URL",
            EXIT_CONFIG,
        )
    store = store_for(settings)
    if store.delete(server_url):
        click.echo(f"forgot the stored login for {server_url} ({store.description})")
    else:
        click.echo(f"no stored login for {server_url} in {store.description}")


# --------------------------------------------------------------------------- config


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
    if as_json:
        _emit_json(data)
        return
    click.echo(f"# config file: {data['config_file'] or 'none (environment and defaults)'}")
    config = settings.partial_config()
    derived = {
        "status_path": config.effective_status_path,
        "lock_path": config.effective_lock_path,
    }
    for key in sorted(data):
        if key in ("origins", "config_file"):
            continue
        origin = settings.origins.get(key)
        if key in derived and data[key] is None:
            note = f"    # default: {derived[key]}"
        elif origin:
            note = f"    # from {origin}"
        else:
            note = "    # default"
        click.echo(redact(f"{key} = {json.dumps(data[key], default=str)}{note}"))


# --------------------------------------------------------------------------- demo


@cli.command()
@click.option(
    "--keep",
    type=click.Path(path_type=Path, file_okay=False),
    help="Keep the station folder and journal in this directory instead of a temporary one.",
)
@click.option("--ui", is_flag=True, help="Serve the station page and print its URL.")
@click.option(
    "--ui-seconds",
    type=float,
    default=120.0,
    show_default=True,
    help="With --ui: how long to keep the page open after the story.",
)
def demo(keep: Path | None, ui: bool, ui_seconds: float) -> None:
    """Run the whole flow against the bundled simulator on 127.0.0.1.

    Drops realistic report files (one malformed, one the server rejects) into a watched
    folder, injects an outage and a few 503s, and checks that every good report reached the
    server exactly once and the bad ones are explained. Exit 0 only when all went as designed.
    """
    from syncengine.cli._demo import run_demo

    # The demo narrates every warning itself; only real errors should add log lines.
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    ok = run_demo(
        workdir=keep,
        echo=lambda line: click.echo(redact(line)),
        ui_seconds=ui_seconds if ui else 0.0,
    )
    sys.exit(EXIT_OK if ok else EXIT_FAILED)
