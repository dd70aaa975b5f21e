"""Replay planning: which submissions ``syncengine replay`` requeues and which it skips, and why.

Plain functions over the journal, so they are tested without a terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from journal import Journal


@dataclass
class ReplayItem:
    """A failed submission ``syncengine replay`` will requeue."""

    key: str
    state: str
    updated_at: float
    error: str | None


@dataclass
class ReplayPlan:
    """What to requeue, and what was chosen but skipped (key, why)."""

    todo: list[ReplayItem] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


_NOT_REPLAYED = {
    "acked": "already acknowledged by the server; never resent",
    "in_flight": "being uploaded right now",
}


def replay_plan(
    journal: Journal, keys: Sequence[str], *, failed: bool, since: float | None
) -> ReplayPlan:
    """Choose the submissions to requeue: the named ``keys`` plus, with ``failed``, every
    failed one; with ``since``, only those last changed at or after it. A named pending
    submission (for example one backing off after errors) is requeued too: it becomes due now.

    Raises KeyError whose argument is a key the journal holds no live submission for.
    """
    chosen = list(dict.fromkeys(keys))
    if failed:
        listed = set(chosen)
        chosen += [key for key in journal.keys_in_state("failed") if key not in listed]
    plan = ReplayPlan()
    for key in chosen:
        sub = journal.submission(key)
        if sub is None:
            raise KeyError(key)
        if since is not None and sub.updated_at < since:
            continue
        if sub.state not in ("failed", "pending"):
            plan.skipped.append((key, _NOT_REPLAYED.get(sub.state, sub.state)))
            continue
        message = (sub.last_error or {}).get("message")
        plan.todo.append(ReplayItem(key, sub.state, sub.updated_at, message))
    return plan
