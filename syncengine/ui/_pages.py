"""What each page shows, computed from the engine's status and journal (no HTML here)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel, SecretStr

from ..cli._views import format_age, format_time, inspect_view

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


def overview(status: Mapping[str, Any], acks_per_min: float | None) -> dict[str, Any]:
    """The overview's facts: health word and sentence, connection, breaker, times, counts."""
    now = time.time()
    health = str(status.get("health", "stopped"))
    label, sentence = HEALTH_TEXT.get(health, (health, ""))
    counts = status.get("counts") or {}
    next_due = status.get("next_due_at")
    if next_due is None or not counts.get("pending"):
        next_retry = "nothing scheduled"
    elif next_due <= now:
        next_retry = "now"
    else:
        next_retry = f"in {format_age(next_due - now)} ({format_time(next_due)})"
    oldest = status.get("oldest_pending_age_s")
    return {
        "health": health,
        "health_label": label,
        "health_text": sentence,
        "connection": str(status.get("connection") or "-"),
        "breaker": BREAKER_TEXT.get(str(status.get("breaker")), str(status.get("breaker") or "-")),
        "last_ack": _age_since(status.get("last_ack_at"), now),
        "oldest_pending": "none waiting" if oldest is None else format_age(oldest),
        "next_retry": next_retry,
        "throughput": "-" if acks_per_min is None else f"{acks_per_min:.1f}",
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


def list_row(row: Any) -> dict[str, Any]:
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


def report(sub: Any, events: list[Any]) -> dict[str, Any]:
    """Everything ``syncengine inspect`` shows, plus links and the payload as formatted JSON."""
    view = inspect_view(sub, events)
    source = sub.source if isinstance(sub.source, dict) else {}
    summary = view["payload_summary"]
    label = STATE_LABELS.get(sub.state, sub.state)
    rows: list[tuple[str, str]] = [
        ("State", sub.state if label == sub.state else f"{label} ({sub.state})")
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
        rows.append(("Last error", f"{status}{err.get('error_class')}: {err.get('message')}"))
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
