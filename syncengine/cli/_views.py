"""What the CLI prints, kept apart from click: redaction, times, the inspect and status views.

The command modules (``_cmd_*.py``) parse arguments and print; everything here is plain functions
over journal records and snapshots, so it is tested without a terminal.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from journal import Event, Submission

# Every secret this process learns (tokens, API keys) is registered here so that log lines,
# JSON output and error messages can be scrubbed before they leave the process.
_SECRETS: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember ``value`` so that :func:`redact` hides it wherever it might be printed."""
    if value and len(value) >= 4:
        _SECRETS.add(value)


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def format_time(ts: float | None) -> str:
    """A UNIX time as ``YYYY-MM-DD HH:MM:SS UTC``, or ``-``."""
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_age(seconds: float | None) -> str:
    """A duration for people: ``42 s``, ``17 min``, ``3.5 h``, ``2.0 d``, or ``-``."""
    if seconds is None:
        return "-"
    seconds = max(0.0, float(seconds))
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def table(rows: Sequence[tuple[str, str]]) -> list[str]:
    """Two aligned columns; a value's further lines (a server's refusal) stay in its column."""
    width = max((len(k) for k, _ in rows), default=0)
    indent = " " * (width + 2)
    return [f"{key.ljust(width)}  {_indented(value, indent)}" for key, value in rows]


def _indented(value: str, indent: str) -> str:
    return value.replace("\n", "\n" + indent)


_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(text: str, *, now: float) -> float:
    """UNIX time from an ISO-8601 date-time (UTC if no offset) or an age (90s, 30m, 12h, 7d).

    Raises ValueError saying which forms are accepted.
    """
    value = text.strip()
    if value and value[-1].lower() in _AGE_UNITS:
        with contextlib.suppress(ValueError):
            amount = float(value[:-1])
            if amount >= 0:
                return now - amount * _AGE_UNITS[value[-1].lower()]
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is neither an ISO-8601 time (2026-03-01T09:00:00Z) nor an age "
            "(90s, 30m, 12h, 7d)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


# --------------------------------------------------------------------------- inspect

_OUTCOMES = ("Acknowledged", "RetryScheduled", "Failed")


def attempt_log(events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pair every UploadStarted event with the outcome that follows it.

    Latency is the answer's own ``latency_s`` when the engine recorded one, else the time
    between the two events (which includes the journal commit). An attempt with no outcome
    (the engine stopped or crashed mid-upload) is ``interrupted``.
    """
    attempts: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for event in events:
        kind = event.get("type")
        data = event.get("data") or {}
        if kind == "UploadStarted":
            if current is not None:
                attempts.append(current)
            current = {"started_at": event.get("ts"), "outcome": "interrupted"}
            continue
        if current is None or kind not in _OUTCOMES:
            continue
        raw_answer = data.get("answer")
        answer: dict[str, Any] = raw_answer if isinstance(raw_answer, dict) else {}
        latency = data.get("latency_s", answer.get("latency_s"))
        if latency is None and event.get("ts") is not None and current["started_at"] is not None:
            latency = max(0.0, float(event["ts"]) - float(current["started_at"]))
        current.update(
            outcome=kind,
            ended_at=event.get("ts"),
            status_code=data.get("status_code", answer.get("status_code")),
            message=data.get("message") or data.get("reason") or answer.get("message"),
            error_class=data.get("error_class"),
            latency_s=latency,
        )
        attempts.append(current)
        current = None
    if current is not None:
        attempts.append(current)
    return attempts


def payload_summary(payload: Any) -> dict[str, Any]:
    """The identifying fields of a WSJF report plus its size in bytes."""
    if not isinstance(payload, dict):
        return {}
    fields = ("type", "id", "pn", "sn", "rev", "processCode", "result", "machineName", "start")
    summary = {name: payload.get(name) for name in fields if name in payload}
    summary["size_bytes"] = len(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
    return summary


def inspect_view(sub: Submission, events: Sequence[Event]) -> dict[str, Any]:
    """Everything ``syncengine inspect --json`` prints about one submission."""
    from syncengine.converters import refusal_hint

    event_dicts = [e.as_dict(payloads=False) for e in events]
    attempts = attempt_log(event_dicts)
    error = sub.last_error if isinstance(sub.last_error, dict) else {}
    return {
        "key": sub.key,
        "state": sub.state,
        "attempts": sub.attempts,
        "source": sub.source,
        "payload_summary": payload_summary(sub.payload),
        "last_error": sub.last_error,
        "fix": refusal_hint(error.get("message")) if sub.state == "failed" else None,
        "next_attempt_at": sub.next_attempt_at,
        "created_at": sub.created_at,
        "updated_at": sub.updated_at,
        "attempt_log": attempts,
        "events": event_dicts,
    }


def _rewrite_rows(record: object) -> list[tuple[str, str]]:
    """The ``normalize_loops`` record of a source: the payload is not the file's report."""
    if not isinstance(record, dict):
        return []
    changes = record.get("changes") or []
    rows = [("rewritten", f"by normalize_loops ({len(changes)} changes to loop summaries)")]
    for change in changes:
        if isinstance(change, dict):
            text = f"{change.get('path')}: {change.get('field')} {change.get('old')} -> "
            rows.append(("", text + str(change.get("new"))))
    return rows


_OPERATOR_SOURCE = (
    ("supersedes", "supersedes"),
    ("resend_of", "resend of"),
    ("reason", "reason"),
    ("who", "requested by"),
    ("origin", "origin"),
    ("via", "via"),
    ("requested_at", "requested at"),
)
"""Source fields an operator's action records (``replay --with``/the page: supersedes, via, who;
``resend``: resend_of, reason, who, origin, requested_at), with the label ``inspect`` shows."""


def _operator_action(source: object) -> bool:
    return isinstance(source, dict) and bool(source.get("resend_of") or source.get("supersedes"))


def _operator_rows(source: object) -> list[tuple[str, str]]:
    if not isinstance(source, dict):
        return []
    return [(label, str(source[name])) for name, label in _OPERATOR_SOURCE if source.get(name)]


def _first_line(attempt: dict[str, Any]) -> str:
    """An attempt's message on its table row: the first line, and how many more the error has."""
    lines = str(attempt.get("message") or "").splitlines() or [""]
    return lines[0] + (f" (+{len(lines) - 1} more lines)" if len(lines) > 1 else "")


def inspect_lines(view: dict[str, Any]) -> list[str]:
    """The people's rendering of :func:`inspect_view`."""
    rows = [("key", view["key"]), ("state", view["state"])]
    source = view.get("source")
    if isinstance(source, dict):
        rows.append(("source file", str(source.get("path", "-"))))
        if source.get("converter"):
            version = source.get("converter_version", "")
            rows.append(("converter", f"{source['converter']} {version}".strip()))
        if source.get("sha256"):
            rows.append(("file sha256", str(source["sha256"])))
        rows += _rewrite_rows(source.get("normalize_loops"))
    else:
        rows.append(("source file", "- (submitted by station code)"))
    rows += _operator_rows(source)
    for name, value in view["payload_summary"].items():
        rows.append((f"report {name}", str(value)))
    rows.append(("submitted", format_time(view.get("created_at"))))
    if view["state"] == "pending" and view.get("next_attempt_at"):
        rows.append(("next attempt", format_time(view["next_attempt_at"])))
    error = view.get("last_error")
    if isinstance(error, dict) and error:
        status = f"HTTP {error['status_code']} " if error.get("status_code") else ""
        label = "last error" if view["state"] != "acked" else "earlier error"
        rows.append((label, f"{status}{error.get('error_class', '')}: {error.get('message')}"))
    if view.get("fix"):
        rows.append(("fix", str(view["fix"])))
    lines = table(rows)
    attempts = view["attempt_log"]
    lines += ["", f"attempts ({len(attempts)}):"]
    lines.append("    #  started                  outcome         http  latency  server message")
    for number, attempt in enumerate(attempts, 1):
        latency = attempt.get("latency_s")
        shown = "-" if latency is None else f"{latency * 1000:.0f} ms"
        status = attempt.get("status_code") or "-"
        lines.append(
            f"  {number:>3}  {format_time(attempt.get('started_at'))}  "
            f"{attempt['outcome']:<15} {status!s:<5} {shown:>7}  {_first_line(attempt)}"
        )
    lines += ["", f"events ({len(view['events'])}):"]
    for event in view["events"]:
        line = f"  {event['seq']:>7}  {event['ts_iso']}  {event['type']}"
        data = event.get("data") or {}
        if event["type"] in ("Requeued", "Superseded", "Dismissed"):
            said = [f"{k}: {data[k]}" for k in ("reason", "by", "who", "origin") if data.get(k)]
            line += "  (" + "; ".join(said) + ")"
        elif event["type"] == "Submitted" and _operator_action(data.get("source")):
            said = [f"{label}: {value}" for label, value in _operator_rows(data["source"])]
            line += "  (" + "; ".join(said) + ")"
        lines.append(line)
    lines += ["", f"final state: {view['state']}"]
    return lines


def archived_lines(view: Mapping[str, Any]) -> list[str]:
    """The people's rendering of an archived submission (``_lookup.archived_view``)."""
    rows = [("key", str(view["key"])), ("state", "archived")]
    names = (("sn", "report sn"), ("pn", "report pn"), ("report_id", "report id"))
    rows += [(label, str(view[name])) for name, label in names if view.get(name)]
    rows.append(("source file", str(view.get("source_path") or "-")))
    if view.get("created_at") is not None:
        rows.append(("submitted", format_time(view["created_at"])))
    rows.append(
        ("archived", f"on {format_time(view['archived_at'])} (journal event {view['archive_seq']})")
    )
    rows.append(("archive file", str(view["archive_file"])))
    return [
        *table(rows),
        "",
        "It was acknowledged by the server; its events are in the archive file, which "
        "'syncengine journal archive verify FILE' checks end to end.",
    ]


def status_lines(snap: Mapping[str, Any]) -> list[str]:
    """The people's rendering of a health snapshot."""
    counts = snap.get("counts") or {}
    running = "yes" if snap.get("running") else "no"
    if snap.get("running") and snap.get("pid"):
        running += f" (pid {snap['pid']}, since {format_time(snap.get('started_at'))})"
    if snap.get("stale"):
        running += " (the status file was left by an engine that is gone)"
    rows = [
        ("health", str(snap.get("health", "unknown"))),
        ("running", running),
        ("server", str(snap.get("server_url") or "-")),
        ("journal", str(snap.get("journal_path") or "-")),
        ("connection", str(snap.get("connection") or "-")),
        ("breaker", str(snap.get("breaker") or "-")),
        ("pending", str(counts.get("pending", 0))),
        ("in flight", str(counts.get("in_flight", 0))),
        ("acked", str(counts.get("acked", 0))),
        ("failed", str(counts.get("failed", 0))),
        ("superseded", str(counts.get("superseded", 0))),
        ("dismissed", str(counts.get("dismissed", 0))),
        ("oldest pending", format_age(snap.get("oldest_pending_age_s"))),
        ("last ack", format_time(snap.get("last_ack_at"))),
    ]
    if snap.get("archived") is not None:
        rows.append(("archived", str(snap.get("archived"))))
    rows += _error_rows(snap)
    if snap.get("health_address"):
        # A stopped engine's status file still names the port it had: nothing listens there.
        shown = f"{snap['health_address']}/healthz" if snap.get("running") else "(not running)"
        rows.append(("health endpoint", shown))
    if snap.get("counts_source") == "journal":
        rows.append(("counts", "read from the journal just now"))
    if snap.get("updated_at"):
        age = snap.get("snapshot_age_s")
        shown = format_time(snap.get("updated_at"))
        rows.append(("snapshot", shown if age is None else f"{shown} ({format_age(age)} old)"))
    if snap.get("note"):
        rows.append(("note", str(snap["note"])))
    return table(rows)


def _error_rows(snap: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Last upload error (key, age, recovered or not), the login hint, files in error/."""
    rows: list[tuple[str, str]] = []
    now = snap.get("updated_at") or time.time()
    error = snap.get("last_error")
    if isinstance(error, dict) and error:
        text = str(error.get("message") or error.get("error_class") or error)
        at = error.get("at")
        where = []
        if error.get("key"):
            where.append(f"key {error['key']}")
        if isinstance(at, (int, float)):
            where.append(f"{format_age(max(0.0, float(now) - at))} ago")
        if where:
            text += f" ({', '.join(where)})"
        last_ack = snap.get("last_ack_at")
        if isinstance(at, (int, float)) and isinstance(last_ack, (int, float)) and last_ack > at:
            text += "; old: uploads were acknowledged since"
        rows.append(("last error", text))
    if snap.get("health") == "auth_failed" or snap.get("connection") == "auth_failed":
        rows.append(
            (
                "hint",
                "the server rejects the token: run 'syncengine login'; a running engine takes "
                "the new login over at its next probe, without a restart, also when "
                "SYNCENGINE_TOKEN or 'token' in the config file is set (remove the rejected "
                "one: each start tries it first)",
            )
        )
    files = snap.get("error_files")
    if isinstance(files, dict):
        count = int(files.get("count") or 0)
        text = str(count)
        if count:
            text += f" since {format_time(files.get('oldest_at'))}"
            folders = [str(f) for f, n in (files.get("folders") or {}).items() if n]
            if folders:
                text += f" in {', '.join(folders)}"
            text += " (fix a file in place or move it back to its watch folder to retry)"
        rows.append(("error/ files", text))
    return rows
