"""Operator resolutions of a failed submission: supersede it with a corrected report.

Dismissal is a plain state event (``Dismissed``) and goes through :meth:`Journal.record`;
superseding needs two events in one transaction -- the corrected report's ``Submitted`` (its
source names the old key in ``supersedes``) and the old one's ``Superseded`` (naming the new key
in ``by``) -- so that the link exists both ways or not at all.
"""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

from . import _schema as S
from ._append import Appender
from ._codec import canonical, sha256_text
from ._errors import InvalidTransitionError, UnknownSubmissionError

_NAMESPACE = uuid.UUID("5d0c4a43-9a55-4b0e-a7de-2f1f6a1c7e52")


def superseding_key(old_key: str, payload_sha256: str) -> str:
    """The key of the corrected submission: derived, so a repeated supersede is recognised."""
    return str(uuid.uuid5(_NAMESPACE, f"{old_key}\n{payload_sha256}"))


def supersede(
    conn: sqlite3.Connection,
    now: float,
    old_key: str,
    payload: dict[str, Any],
    *,
    reason: str,
    who: str | None,
    origin: str | None,
    source: dict[str, Any] | None,
) -> str:
    """Append the corrected submission and the old one's Superseded event; return the new key.

    The caller holds a write transaction. The old submission must be ``failed``.
    """
    row = conn.execute(S.SELECT_ROW, (old_key,)).fetchone()
    if row is None:
        raise UnknownSubmissionError(old_key, "Superseded")
    if row[1] != "failed":
        raise InvalidTransitionError(old_key, "Superseded", row[1])
    payload_text = canonical(payload, what="corrected payload")
    digest = sha256_text(payload_text)
    new_key = superseding_key(old_key, digest)
    link: dict[str, Any] = dict(source or {})
    link.update(supersedes=old_key, via=origin or "api")
    if who:
        link["who"] = who
    app = Appender(conn, now)
    app.submit(new_key, payload_text, digest, canonical(link, what="source"))
    fields: dict[str, Any] = {"reason": reason, "by": new_key, "who": who, "origin": origin}
    app.state_event(old_key, "Superseded", fields, linked=True)
    app.finish()
    return new_key
