"""What each page shows, computed from the engine's status and journal (no HTML here)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, SecretStr

from .._error_folder import read_note
from ..cli._views import format_age, format_time, inspect_view

if TYPE_CHECKING:
    from journal import Event, ReportRow, Submission

STATE_LABELS = {
    "pending": "waiting",
    "in_flight": "sending",
    "acked": "accepted",
    "failed": "failed",
    "superseded": "replaced",
    "dismissed": "dismissed",
    "archived": "archived",
}
"""State -> the word an operator reads (the state name itself is shown as well on hover)."""

HEALTH_TEXT = {
    "ok": ("OK", "Reports are reaching the server."),
    "degraded": ("Degraded", "Reports are moving, but something needs a look (see below)."),
    "offline": ("Offline", "The server does not answer. Reports are kept and sent later."),
    "stuck": ("Stuck", "Reports are waiting and none was accepted for a long time."),
    "auth_failed": ("Login refused", "The server refuses the token: run 'syncengine login'."),
    "stopped": ("Stopped", "The engine is not running."),
}

STATE_TEXT = {
    "pending": "Waiting to be sent.",
    "in_flight": "Being sent right now.",
    "acked": "Accepted by the server.",
    "failed": "Refused by the server. It waits for you: send it again, correct it or dismiss it.",
    "superseded": "Replaced by a corrected report; it is not sent.",
    "dismissed": "Dismissed by an operator; it is never sent. It stays in the journal.",
}


def _age_since(ts: float | None, now: float) -> str:
    if ts is None:
        return "never"
    return f"{format_age(now - ts)} ago ({format_time(ts)})"


BREAKER_TEXT = {
    "closed": "closed (sending normally)",
    "open": "open (paused after repeated errors)",
    "half_open": "half-open (trying one report)",
}
"""The circuit breaker's state in words: "closed" alone reads as "blocked" to most people."""


def _n(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _error_text(error: Mapping[str, Any]) -> str:
    status = f"HTTP {error['status_code']} " if error.get("status_code") else ""
    message = server_said(str(error.get("message") or "")) or ""
    return f"{status}{error.get('error_class') or 'error'}: {message}".rstrip(": ")


def degraded_causes(status: Mapping[str, Any]) -> list[str]:
    """What makes health ``degraded``, in words (the rules of ``classify_health``)."""
    causes: list[str] = []
    failed = int((status.get("counts") or {}).get("failed", 0))
    if failed:
        causes.append(_n(failed, "report was", "reports were") + " refused by the server")
    breaker = str(status.get("breaker") or "closed")
    if breaker != "closed":
        causes.append(f"the circuit breaker is {BREAKER_TEXT.get(breaker, breaker)}")
    files = status.get("error_files")
    count = int(files.get("count") or 0) if isinstance(files, Mapping) else 0
    if count:
        causes.append(_n(count, "file", "files") + " could not be read")
    error = status.get("last_error")
    last_ack = status.get("last_ack_at")
    # A refusal is already counted as a failed report, and repeated errors are what opened the
    # breaker: the last error is named only when neither says it.
    if isinstance(error, Mapping) and error and not failed and breaker == "closed":
        at = error.get("at")
        if last_ack is None or (isinstance(at, (int, float)) and at > last_ack):
            causes.append(f"the last upload failed ({_error_text(error)})")
    return causes


def _next_retry(status: Mapping[str, Any], now: float) -> str:
    counts = status.get("counts") or {}
    next_due = status.get("next_due_at")
    if next_due is None or not counts.get("pending"):
        return "nothing scheduled"
    connection = status.get("connection")
    if connection == "offline":
        return "as soon as the server answers again (the engine keeps checking)"
    if connection == "auth_failed":
        return "after the server accepts the login again ('syncengine login')"
    if next_due <= now:
        return "now"
    return f"in {format_age(next_due - now)} ({format_time(next_due)})"


def _throughput(acks_per_min: float | None, window_s: float) -> str:
    if acks_per_min is None:
        return "- (not measured yet)"
    return f"{acks_per_min:.1f} (average over the last {format_age(window_s)})"


def error_files_card(files: object, now: float) -> dict[str, Any] | None:
    """The "Files that could not be read" card, or None when error/ holds nothing.

    The reason is the one the newest note (``NAME.error.txt``) gives.
    """
    if not isinstance(files, Mapping) or not int(files.get("count") or 0):
        return None
    note = read_note(Path(str(files["newest_note"]))) if files.get("newest_note") else {}
    oldest = files.get("oldest_at")
    name = PurePath(note["file"]).name if note.get("file") else None
    reason = note.get("reason")
    if reason and name and reason.startswith(name + ": "):
        reason = reason[len(name) + 2 :]  # the converters start with the file's name
    return {
        "count": int(files["count"]),
        "folders": [str(f) for f, n in (files.get("folders") or {}).items() if n],
        "since": _age_since(oldest, now) if isinstance(oldest, (int, float)) else "-",
        "newest_file": name,
        "newest_reason": reason,
        "newest_note": PurePath(str(files["newest_note"])).name if note else None,
    }


def overview(
    status: Mapping[str, Any], acks_per_min: float | None, window_s: float = 300.0
) -> dict[str, Any]:
    """The overview's facts: health word and sentence (naming what makes health degraded),
    connection, breaker, times, throughput over ``window_s``, unreadable files, counts."""
    now = time.time()
    health = str(status.get("health", "stopped"))
    label, sentence = HEALTH_TEXT.get(health, (health, ""))
    counts = status.get("counts") or {}
    if health == "degraded":
        causes = degraded_causes(status)
        if causes:
            sentence = f"Reports are moving, but something needs a look: {'; '.join(causes)}."
    oldest = status.get("oldest_pending_age_s")
    return {
        "health": health,
        "health_label": label,
        "health_text": sentence,
        "connection": str(status.get("connection") or "-"),
        "breaker": BREAKER_TEXT.get(str(status.get("breaker")), str(status.get("breaker") or "-")),
        "last_ack": _age_since(status.get("last_ack_at"), now),
        "oldest_pending": "none waiting" if oldest is None else format_age(oldest),
        "next_retry": _next_retry(status, now),
        "throughput": _throughput(acks_per_min, window_s),
        "error_files": error_files_card(status.get("error_files"), now),
        "counts": [
            {"state": s, "label": STATE_LABELS[s], "n": int(counts.get(s, 0))}
            for s in ("pending", "in_flight", "acked", "failed", "superseded", "dismissed")
        ],
    }


def engine_facts(status: Mapping[str, Any]) -> dict[str, str]:
    """Which engine this is: server, journal, start time, pid."""
    return {
        "server_url": str(status.get("server_url") or "-"),
        "journal_path": str(status.get("journal_path") or "-"),
        "started": format_time(status.get("started_at")),
        "pid": str(status.get("pid") or "-"),
    }


def server_said(message: str | None) -> str | None:
    """The server's own words from an error message, when pywats quoted them."""
    if message and "server said: " in message:
        return message.split("server said: ", 1)[1]
    return message


def list_row(row: ReportRow) -> dict[str, Any]:
    """One line of the reports table."""
    key = str(row.key)
    pending = row.state == "pending" and row.next_attempt_at is not None
    return {
        "key": key,
        "short_key": key if len(key) <= 14 else key[:12] + "…",
        "sn": row.sn,
        "pn": row.pn,
        "process_code": row.process_code,
        "state": row.state,
        "attempts": row.attempts,
        "submitted": format_time(row.created_at),
        "error_class": row.error_class,
        "error_message": server_said(row.error_message),
        "error_status": row.error_status,
        # An error from a try before the report was accepted (or replaced, or dismissed) is
        # history, not a problem: it is shown muted so red means "needs a look" only.
        "error_past": row.state not in ("pending", "in_flight", "failed"),
        "next_attempt": format_time(row.next_attempt_at) if pending else "",
        "source_name": PurePath(row.source_path).name if row.source_path else "",
    }


def _plain(name: str, value: Any, parts: list[str]) -> None:
    # Nested values read as "source path: ...", never as a Python dict or list literal.
    if value is None or value == "":
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            _plain(f"{name} {key}", item, parts)
    elif isinstance(value, (list, tuple)):
        if all(not isinstance(v, (Mapping, list, tuple)) for v in value):
            parts.append(f"{name}: {', '.join(str(v) for v in value) or 'none'}")
        else:
            for index, item in enumerate(value, 1):
                _plain(f"{name} {index}", item, parts)
    else:
        parts.append(f"{name}: {value}")


def _details(data: Mapping[str, Any]) -> str:
    skip = {"v", "payload", "payload_sha256", "answer"}
    parts: list[str] = []
    for key, value in data.items():
        if key not in skip:
            _plain(str(key), value, parts)
    answer = data.get("answer")
    if isinstance(answer, Mapping):
        for key, value in answer.items():
            _plain(str(key), value, parts)
    return "; ".join(parts)


_RESOLUTIONS = {"Dismissed": "Dismissed", "Superseded": "Replaced", "Requeued": "Sent again"}


def _operator_said(event: Event) -> str:
    data = event.data
    who = str(data.get("who") or "someone (no name recorded)")
    said = f"by {who}: {data.get('reason') or 'no reason given'}"
    origin = f", from the {data['origin']}" if data.get("origin") else ""
    return f"{said} ({format_time(event.ts)}{origin})"


def resolution_rows(events: list[Event]) -> list[tuple[str, str]]:
    """Who dismissed, replaced or last sent the report again, why and when (for the facts)."""
    rows: list[tuple[str, str]] = []
    for kind, label in _RESOLUTIONS.items():
        last = next((e for e in reversed(events) if e.type == kind), None)
        if last is None:
            continue
        text = _operator_said(last)
        if kind == "Superseded" and last.data.get("by"):
            text += f"; the corrected report is {last.data['by']}"
        rows.append((label, text))
    return rows


def report(sub: Submission, events: list[Event]) -> dict[str, Any]:
    """Everything ``syncengine inspect`` shows, plus links and the payload as formatted JSON."""
    view = inspect_view(sub, events)
    source = sub.source if isinstance(sub.source, dict) else {}
    summary = view["payload_summary"]
    label = STATE_LABELS.get(sub.state, sub.state)
    rows: list[tuple[str, str]] = [
        ("State", sub.state if label == sub.state else f"{label} ({sub.state})"),
        *resolution_rows(events),
    ]
    for name, label in (
        ("sn", "Serial number"),
        ("pn", "Part number"),
        ("rev", "Revision"),
        ("processCode", "Process"),
        ("id", "Report id"),
        ("result", "Result"),
        ("type", "Type"),
        ("start", "Test start"),
        ("machineName", "Station"),
    ):
        if name in summary:
            rows.append((label, str(summary[name])))
    rows.append(("Source file", str(source.get("path") or "- (submitted by station code)")))
    if source.get("converter"):
        rows.append(("Converter", f"{source['converter']} {source.get('converter_version', '')}"))
    if source.get("sha256"):
        rows.append(("File sha256", str(source["sha256"])))
    rows.append(("Submitted", format_time(sub.created_at)))
    rows.append(("Last change", format_time(sub.updated_at)))
    rows.append(("Attempts", str(sub.attempts)))
    if sub.state == "pending" and sub.next_attempt_at:
        rows.append(("Next attempt", format_time(sub.next_attempt_at)))
    if sub.last_error:
        err = sub.last_error
        status = f"HTTP {err['status_code']} " if err.get("status_code") else ""
        # As in the list: an error from before the report was accepted (or replaced, or
        # dismissed) is history, not the report's problem now.
        past = sub.state not in ("pending", "in_flight", "failed")
        rows.append(
            (
                "Error of an earlier try" if past else "Last error",
                f"{status}{err.get('error_class')}: {err.get('message')}",
            )
        )
    rows.append(("Size", f"{summary.get('size_bytes', 0)} bytes"))
    rows.append(("Payload sha256", sub.payload_sha256))
    superseded_by = next(
        (e.data.get("by") for e in reversed(events) if e.type == "Superseded"), None
    )
    attempts = [
        {
            "started": format_time(a.get("started_at")),
            "outcome": a["outcome"],
            "status": a.get("status_code") or "-",
            "latency": "-" if a.get("latency_s") is None else f"{a['latency_s'] * 1000:.0f} ms",
            "message": a.get("message") or "",
        }
        for a in view["attempt_log"]
    ]
    shown_events = [
        {
            "seq": e.seq,
            "time": e.ts_iso,
            "type": e.type,
            "details": _details(e.data),
            "chain": f"{e.hash[:12]}… after {e.prev_hash[:12]}…",
        }
        for e in events
    ]
    payload = (
        json.dumps(sub.payload, indent=2, ensure_ascii=False, sort_keys=False)
        if sub.payload_intact
        else "(the stored report is damaged: run 'syncengine journal verify')"
    )
    return {
        "key": sub.key,
        "state": sub.state,
        "state_text": STATE_TEXT.get(sub.state, ""),
        "rows": rows,
        "attempts": attempts,
        "events": shown_events,
        "payload": payload,
        "superseded_by": superseded_by,
        "supersedes": source.get("supersedes"),
        "can_requeue": sub.state in ("failed", "pending"),
        "can_resolve": sub.state == "failed",
    }


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, SecretStr):
        out.append((prefix, "<hidden>"))
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _flatten(f"{prefix}.{name}" if prefix else name, getattr(value, name), out)
    elif isinstance(value, (list, tuple)) and value and isinstance(value[0], BaseModel):
        for index, item in enumerate(value):
            _flatten(f"{prefix}[{index}]", item, out)
    elif isinstance(value, (list, tuple)):
        out.append((prefix, ", ".join(str(v) for v in value) if value else "none"))
    elif isinstance(value, bool):
        out.append((prefix, "true" if value else "false"))
    elif isinstance(value, dict):
        if not value:
            out.append((prefix, "{}"))
        for name, item in value.items():
            _flatten(f"{prefix}.{name}", item, out)
    else:
        out.append((prefix, "-" if value is None else str(value)))


def config_rows(config: BaseModel) -> list[tuple[str, str]]:
    """The effective configuration as ``(dotted key, value)`` rows, secrets as ``<hidden>``."""
    out: list[tuple[str, str]] = []
    _flatten("", config, out)
    return out
