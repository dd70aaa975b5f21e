"""Resolving failed reports from the command line: ``dismiss`` and ``replay --with FILE``.

Both are journal events with who (the OS user), when, why and origin ``cli``, exactly as the
station page records them with origin ``station page``; nothing is erased.
"""

from __future__ import annotations

import contextlib
import getpass
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from syncengine.cli._commands import _emit_json, _State, cli
from syncengine.cli._lookup import missing_submission_message, resolve_key
from syncengine.cli._runtime import CliError, open_journal
from syncengine.cli._views import redact

if TYPE_CHECKING:
    from journal import Journal

ORIGIN = "cli"


def operator() -> str | None:
    """The OS user running the command, recorded as ``who`` (None if it cannot be told)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return None


@contextlib.contextmanager
def _only_failed(journal: Journal, key: str, done: str) -> Iterator[None]:
    """Turn the journal's refusal to resolve ``key`` into a CliError naming why."""
    from journal import InvalidTransitionError, UnknownSubmissionError

    try:
        yield
    except UnknownSubmissionError:
        raise CliError(missing_submission_message(journal, key)) from None
    except InvalidTransitionError:
        current = journal.state(key)
        raise CliError(
            f"submission {key!r} is {current}; only a failed report can be {done}"
        ) from None


@cli.command()
@click.argument("key", metavar="KEY|REPORT_ID|SERIAL")
@click.option("--reason", required=True, help="Why the report is dismissed (recorded).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def dismiss(state: _State, key: str, reason: str, as_json: bool) -> None:
    """Dismiss a failed report: it is never uploaded and leaves the failed count.

    KEY is a submission key, a report id or a serial number of one submission, as for
    `inspect`. The report stays in the journal and in audits with the reason, who and when;
    `inspect` and `journal dump` show the Dismissed event. Only a failed report can be
    dismissed.
    """
    if not reason.strip():
        raise click.BadParameter("say why", param_hint="--reason")
    with open_journal(state.settings()) as journal:
        key = resolve_key(journal, key)
        with _only_failed(journal, key, "dismissed"):
            journal.dismiss(key, reason=reason.strip(), who=operator(), origin=ORIGIN)
    if as_json:
        _emit_json({"dismissed": key})
    else:
        click.echo(f"dismissed {key}")


def supersede_from_file(
    state: _State, key: str, path: Path, reason: str | None, as_json: bool
) -> None:
    """``replay --key K --with FILE``: the corrected report in FILE replaces failed K (a key,
    report id or serial number of one submission)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None
    why = reason or f"corrected report from {path.name}"
    with open_journal(state.settings()) as journal:
        key = resolve_key(journal, key)
        with _only_failed(journal, key, "superseded"):
            new_key = _supersede(journal, key, data, path, why)
    if as_json:
        click.echo(redact(json.dumps({"superseded": key, "by": new_key}, indent=2)))
    else:
        click.echo(new_key)
        click.echo(f"{key} superseded by {new_key} (sent by the running engine)", err=True)


def _supersede(journal: Journal, key: str, data: bytes, path: Path, why: str) -> str:
    from syncengine.ui import load_corrected

    old = journal.submission(key)
    if old is None:
        raise CliError(missing_submission_message(journal, key))
    replaces_id = old.payload.get("id")
    try:
        payload = load_corrected(
            data, str(path), replaces_id=replaces_id if isinstance(replaces_id, str) else None
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
    return journal.supersede(
        key,
        payload,
        reason=why,
        who=operator(),
        origin=ORIGIN,
        source={"path": str(path.resolve())},
    )
