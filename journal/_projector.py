"""The projector: event data builders, the transition table, and the row update per event.

The same rules exist twice on purpose: :func:`apply` updates one submission row as each event is
appended (Python, in the append transaction) and ``REBUILD_SQL`` in ``_rebuild.py`` recomputes
every row from the events alone (SQL, set-based, so a million events fit in seconds and in a
bounded page cache). ``check()`` and the state-machine tests hold the two to each other.

Transition table (state before -> event -> state after; anything else is rejected)::

    (none)              Submitted       -> pending
    pending, in_flight  UploadStarted   -> in_flight   (in_flight again = re-send after a crash)
    in_flight, acked    Acknowledged    -> acked       (acked again = duplicate ack, recorded)
    in_flight           RetryScheduled  -> pending
    pending, in_flight  Failed          -> failed
    failed, pending     Requeued        -> pending     (operator action; attempts kept; due now)
    failed              Superseded      -> superseded  (operator: a corrected report replaces it)
    failed              Dismissed       -> dismissed   (operator: never to be uploaded)

Operator events (Requeued, Superseded, Dismissed) carry ``reason`` and, when known, ``who`` and
``origin`` ("cli", "station page", "api"); Superseded names the new submission in ``by``, whose
Submitted event names the old one in ``source.supersedes``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "UploadStarted": (frozenset({"pending", "in_flight"}), "in_flight"),
    "Acknowledged": (frozenset({"in_flight", "acked"}), "acked"),
    "RetryScheduled": (frozenset({"in_flight"}), "pending"),
    "Failed": (frozenset({"pending", "in_flight"}), "failed"),
    "Requeued": (frozenset({"failed", "pending"}), "pending"),
    "Superseded": (frozenset({"failed"}), "superseded"),
    "Dismissed": (frozenset({"failed"}), "dismissed"),
}
"""State event type -> (states it may follow, state it leads to)."""

EVENT_VERSION = 1
"""``data["v"]`` of every event this code writes."""

# Row layout, as in _schema.SUBMISSION_COLUMNS.
KEY, STATE, SHA, ATTEMPTS, NEXT_AT, ERR_CLASS, ERR_MSG, ERR_STATUS = range(8)
CREATED, UPDATED, FIRST_SEQ, LAST_SEQ = range(8, 12)


def _text(fields: Mapping[str, Any], name: str, event: str, *, required: bool = True) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or (required and not value):
        raise ValueError(f"{event}: {name} must be a non-empty string, got {value!r}")
    return value


def _status(fields: Mapping[str, Any], event: str) -> int | None:
    value = fields.get("status_code")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"{event}: status_code must be an int or None, got {value!r}")
    return value


def _only(fields: Mapping[str, Any], event: str, allowed: set[str]) -> None:
    extra = set(fields) - allowed
    if extra:
        raise ValueError(f"{event}: unexpected fields {sorted(extra)}; allowed {sorted(allowed)}")


_OPERATOR = ("who", "origin")


def _who(fields: Mapping[str, Any], event: str) -> dict[str, str]:
    """The optional ``who`` and ``origin`` of an operator event (left out when not given)."""
    return {name: _text(fields, name, event) for name in _OPERATOR if fields.get(name) is not None}


def build_data(event: str, fields: Mapping[str, Any], attempts: int) -> dict[str, Any]:
    """Validate a state event's fields and return its versioned data (``ValueError`` if bad).

    ``attempts`` is the submission's count before the event (UploadStarted stores the new one).
    """
    if event == "UploadStarted":
        _only(fields, event, set())
        return {"v": EVENT_VERSION, "attempt": attempts + 1}
    if event == "Acknowledged":
        _only(fields, event, {"answer"})
        answer = fields.get("answer")
        if not isinstance(answer, Mapping):
            raise ValueError(f"Acknowledged: answer must be a dict, got {answer!r}")
        return {"v": EVENT_VERSION, "answer": dict(answer)}
    if event == "RetryScheduled":
        _only(
            fields, event, {"attempt", "next_attempt_at", "error_class", "message", "status_code"}
        )
        attempt = fields.get("attempt")
        if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 0:
            raise ValueError(f"RetryScheduled: attempt must be an int >= 0, got {attempt!r}")
        when = fields.get("next_attempt_at")
        if isinstance(when, bool) or not isinstance(when, (int, float)) or not math.isfinite(when):
            raise ValueError(
                f"RetryScheduled: next_attempt_at must be a finite number, got {when!r}"
            )
        return {
            "v": EVENT_VERSION,
            "attempt": attempt,
            "next_attempt_at": float(when),
            "error_class": _text(fields, "error_class", event),
            "message": _text(fields, "message", event, required=False),
            "status_code": _status(fields, event),
        }
    if event == "Failed":
        _only(fields, event, {"reason", "error_class", "status_code"})
        return {
            "v": EVENT_VERSION,
            "reason": _text(fields, "reason", event),
            "error_class": _text(fields, "error_class", event),
            "status_code": _status(fields, event),
        }
    if event == "Requeued":
        _only(fields, event, {"reason", *_OPERATOR})
        return {"v": EVENT_VERSION, "reason": _text(fields, "reason", event), **_who(fields, event)}
    if event == "Superseded":
        _only(fields, event, {"reason", "by", *_OPERATOR})
        data = {"v": EVENT_VERSION, "reason": _text(fields, "reason", event)}
        return {**data, "by": _text(fields, "by", event), **_who(fields, event)}
    if event == "Dismissed":
        _only(fields, event, {"reason", *_OPERATOR})
        return {"v": EVENT_VERSION, "reason": _text(fields, "reason", event), **_who(fields, event)}
    raise ValueError(f"unknown state event type {event!r}; expected one of {sorted(TRANSITIONS)}")


def apply(row: list[Any], event: str, data: Mapping[str, Any], seq: int, ts: float) -> list[Any]:
    """The row after ``event`` (already validated against the transition table)."""
    new = list(row)
    new[STATE] = TRANSITIONS[event][1]
    if event == "UploadStarted":
        new[ATTEMPTS] = row[ATTEMPTS] + 1
    if event == "RetryScheduled":
        new[NEXT_AT] = data["next_attempt_at"]
        new[ERR_CLASS], new[ERR_MSG] = data["error_class"], data["message"]
        new[ERR_STATUS] = data["status_code"]
    elif event == "Failed":
        new[NEXT_AT] = None
        new[ERR_CLASS], new[ERR_MSG] = data["error_class"], data["reason"]
        new[ERR_STATUS] = data["status_code"]
    elif event == "Requeued":
        new[NEXT_AT] = ts
    else:
        new[NEXT_AT] = None
    new[UPDATED] = ts
    new[LAST_SEQ] = seq
    return new


def new_row(key: str, payload_sha256: str, seq: int, ts: float) -> list[Any]:
    """The row a Submitted event creates: pending, due at once."""
    return [key, "pending", payload_sha256, 0, ts, None, None, None, ts, ts, seq, seq]
