"""The journal's value objects: what queries return and what ``record`` accepts."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypedDict

State = Literal["pending", "in_flight", "acked", "failed", "superseded", "dismissed"]
"""The states of a submission (see the transition table in docs/journal.md); ``superseded`` and
``dismissed`` are final, reached from ``failed`` by an operator."""

EventType = Literal[
    "Submitted",
    "UploadStarted",
    "Acknowledged",
    "RetryScheduled",
    "Failed",
    "Requeued",
    "Superseded",
    "Dismissed",
    "Archived",
]
"""Every event type the journal writes; ``data["v"]`` versions each one's fields."""


class _AckAlways(TypedDict):
    report_id: str | None
    """The id the server gave the stored report (None when its 2xx answer named none)."""
    latency_s: float
    """Seconds from sending the report to the server's answer."""
    status_code: int | None
    """The HTTP status of the answer (200, 201, ...)."""
    correlation_id: str | None
    """The server's correlation id for the request, when it sent one."""


class AckAnswer(_AckAlways, total=False):
    """What the server answered to an accepted upload: the ``answer`` of an ``Acknowledged``.

    The engine writes these keys; ``raw_answer`` only for a 2xx answer without a usable id
    (the start of its body, so a person can see what came back).
    """

    raw_answer: str


@dataclass(frozen=True)
class Submission:
    """One submission as the projection sees it, with its payload from the Submitted event.

    ``next_attempt_at`` is set only while ``pending``; ``last_error`` is the most recent
    RetryScheduled or Failed (``error_class``, ``message``, ``status_code``) and stays after a
    later success, for the record. Times are UNIX seconds (UTC).
    """

    key: str
    state: State
    payload: dict[str, Any]
    source: dict[str, Any] | None
    attempts: int
    next_attempt_at: float | None
    last_error: dict[str, Any] | None
    created_at: float
    updated_at: float
    first_seq: int
    last_seq: int
    payload_sha256: str
    payload_intact: bool = True
    """False when the stored payload no longer matches its digest (bit rot, tampering): then
    ``payload`` is empty and the submission must not be sent; ``verify()`` names the event."""
    payload_json: str = field(default="", repr=False)
    """The payload as stored: canonical JSON text whose sha256 is ``payload_sha256`` (empty when
    not intact). Sending these bytes as they are spares a parse and a re-encode per upload."""
    existed: bool = field(default=False, compare=False)
    """True only in what ``submit``/``submit_many`` return for a key that was already journaled
    with the same payload (nothing was appended; ``state`` is where it stands, ``acked`` when
    archived). False for a new submission and in everything read from the journal."""


@dataclass(frozen=True)
class Event:
    """One stored event, as ``history`` and ``dump`` give it."""

    seq: int
    event_id: str
    key: str
    type: str
    ts: float
    ts_iso: str
    data: dict[str, Any]
    digest: str = ""
    prev_hash: str = ""
    hash: str = ""

    def as_dict(self, *, payloads: bool = True) -> dict[str, Any]:
        """The event as a JSON-ready dict; without payloads the report body is left out."""
        data = self.data
        if not payloads and "payload" in data:
            data = {k: v for k, v in data.items() if k != "payload"}
        return {
            "seq": self.seq,
            "event_id": self.event_id,
            "key": self.key,
            "type": self.type,
            "ts": self.ts,
            "ts_iso": self.ts_iso,
            "data": data,
            "digest": self.digest,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True)
class NewEvent:
    """A state event to commit with :meth:`Journal.record`.

    ``type`` is one of UploadStarted, Acknowledged, RetryScheduled, Failed, Requeued and
    ``fields`` are the keyword arguments of the matching ``Journal`` method, e.g.
    ``NewEvent("k1", "RetryScheduled", {"attempt": 2, "next_attempt_at": t,
    "error_class": "ServerError", "message": "502"})``.
    """

    key: str
    type: str
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of :meth:`Journal.verify`; when not ``ok`` it names the first bad event."""

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    first_bad_key: str | None = None
    reason: str | None = None
    head_seq: int = 0
    head_hash: str = ""

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class CheckResult:
    """The outcome of :meth:`Journal.check`: live projection vs. one rebuilt from events."""

    ok: bool
    differences: list[str]

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class ArchiveResult:
    """What :meth:`Journal.archive` moved out: ``path`` is ``None`` when nothing was old enough."""

    path: Path | None
    submissions: int
    events: int
    sha256: str | None
    archive_seq: int | None


def event_from_row(row: Sequence[Any]) -> Event:
    """An :class:`Event` from a row of ``_schema.EVENT_SELECT`` (body merged as ``payload``)."""
    data = json.loads(row[6])
    if len(row) > 10 and row[10] is not None:
        data["payload"] = json.loads(row[10])
    return Event(
        seq=row[0],
        event_id=row[1],
        key=row[2],
        type=row[3],
        ts=row[4],
        ts_iso=row[5],
        data=data,
        digest=row[7],
        prev_hash=row[8],
        hash=row[9],
    )
