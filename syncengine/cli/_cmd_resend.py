"""``syncengine resend KEY --reason TEXT``: send an acknowledged report again, on purpose.

For after a server-side restore lost reports the journal holds as acknowledged. It is not a
bypass of the journal: the report is journaled again as a new submission (a new key, so a new
``Idempotency-Key``; the same report id, so the server stores it under the id it always had),
whose source records what it resends, why, who and when. The running engine sends it.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone

import click

from syncengine._ingest import KEY_NAMESPACE
from syncengine.cli._cmd_resolve import ORIGIN, operator
from syncengine.cli._commands import _emit_json, _State, cli
from syncengine.cli._lookup import missing_submission_message, resolve_key
from syncengine.cli._runtime import CliError, open_journal
from syncengine.cli._views import redact


def resend_key(key: str, at_ns: int) -> str:
    """The key of a resend of ``key`` requested at ``at_ns`` (each request is its own)."""
    return str(uuid.uuid5(KEY_NAMESPACE, f"resend:{key}:{at_ns}"))


@cli.command()
@click.argument("key", metavar="KEY|REPORT_ID|SERIAL")
@click.option("--reason", required=True, help="Why it is sent again (recorded).")
@click.option("--json", "as_json", is_flag=True, help="Print the new key as JSON.")
@click.pass_obj
def resend(state: _State, key: str, reason: str, as_json: bool) -> None:
    """Send an acknowledged report again (after a server-side restore); recorded.

    The report is journaled again as a new submission whose source names the original key,
    the reason, the OS user and the time; the running engine (or the next one) uploads it.
    Only an acknowledged report can be resent; a failed one is requeued with 'replay'.
    """
    if not reason.strip():
        raise click.BadParameter("give a reason", param_hint="--reason")
    settings = state.settings()
    with open_journal(settings) as journal:
        key = resolve_key(journal, key)
        sub = journal.submission(key)
        if sub is None:
            raise CliError(missing_submission_message(journal, key))
        if sub.state != "acked":
            hint = {
                "failed": "; 'syncengine replay --key' requeues it",
                "pending": "; it is still to be sent",
                "in_flight": "; it is being sent",
            }.get(str(sub.state), "")
            raise CliError(f"submission {key} is {sub.state}, not acknowledged{hint}")
        now_ns = time.time_ns()
        new_key = resend_key(key, now_ns)
        source = {
            **(sub.source or {}),
            "resend_of": key,
            "reason": reason.strip(),
            "who": operator(),
            "origin": ORIGIN,
            "requested_at": datetime.fromtimestamp(now_ns / 1e9, timezone.utc).isoformat(),
        }
        journal.submit(new_key, dict(sub.payload), source=source)
    if as_json:
        _emit_json({"resent": key, "as": new_key})
    else:
        click.echo(redact(new_key))
        click.echo(f"{key} journaled again as {new_key}; the engine will send it", err=True)
