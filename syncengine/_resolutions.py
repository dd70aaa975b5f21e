"""Operator resolutions: what a person does about a submission the engine cannot deliver.

Requeue (send again now), dismiss (never send) and supersede (send a corrected report instead),
each recorded in the journal with the reason, who and where from (``origin``: ``api``, ``cli``,
``station page``); nothing is erased. :class:`SyncEngine` delegates its methods of the same
names here and wakes its dispatcher afterwards; the station page and the CLI call those.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._errors import SyncEngineError, UnknownSubmissionError

if TYPE_CHECKING:
    from journal import Journal

    from ._journal_access import JournalAccess

_REQUEUE_ALL_TRIES = 3


def requeue(
    access: JournalAccess, key: str, *, reason: str, who: str | None, origin: str | None
) -> None:
    """Make a failed (or backing-off pending) submission due now.

    Raises :class:`UnknownSubmissionError` for a key the journal does not hold (or archived).
    """

    def _do(j: Journal) -> None:
        if j.submission(key) is None:
            raise UnknownSubmissionError(f"no submission with key {key!r} in the journal")
        j.requeue(key, reason=reason, who=who, origin=origin)

    access.call(_do)


def requeue_failed(
    access: JournalAccess, *, reason: str, who: str | None, origin: str | None
) -> list[str]:
    """Requeue every failed submission in one journal transaction; returns their keys."""
    from journal import InvalidTransitionError, NewEvent

    fields = {k: v for k, v in {"reason": reason, "who": who, "origin": origin}.items() if v}

    def _requeue_all(j: Journal) -> list[str]:
        # Another process may requeue some between the read and the write: read again.
        for _ in range(_REQUEUE_ALL_TRIES):
            keys = j.keys_in_state("failed")
            try:
                j.record([NewEvent(key, "Requeued", fields) for key in keys])
            except InvalidTransitionError:
                continue
            return keys
        raise SyncEngineError("requeue_failed: the failed submissions kept changing; try again")

    return access.call(_requeue_all)


def dismiss(
    access: JournalAccess, key: str, *, reason: str, who: str | None, origin: str | None
) -> None:
    """Dismiss a failed submission: never uploaded, no longer counted as failed."""
    access.call(lambda j: j.dismiss(key, reason=reason, who=who, origin=origin))


def supersede(
    access: JournalAccess,
    key: str,
    payload: dict[str, Any],
    *,
    reason: str,
    who: str | None,
    origin: str | None,
    source: dict[str, Any] | None,
) -> str:
    """Replace a failed submission by ``payload`` (see :meth:`journal.Journal.supersede`);
    returns the new submission's key."""
    return access.call(
        lambda j: j.supersede(key, payload, reason=reason, who=who, origin=origin, source=source)
    )
