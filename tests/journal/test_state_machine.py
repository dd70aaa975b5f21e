"""Random sequences of journal operations against a simple in-memory model.

After every step the live projection must equal the model, ``check()`` must find the live
projection equal to one rebuilt from the events, and the chain must verify.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from journal import InvalidTransitionError, Journal, NewEvent, SubmissionConflictError

from .conftest import Clock

KEYS = st.sampled_from([f"key-{i}" for i in range(6)])
PAYLOADS = st.sampled_from([{"n": 1}, {"n": 2}, {"n": 1, "s": "ü"}])
ALLOWED = {
    "UploadStarted": ({"pending", "in_flight"}, "in_flight"),
    "Acknowledged": ({"in_flight", "acked"}, "acked"),
    "RetryScheduled": ({"in_flight"}, "pending"),
    "Failed": ({"pending", "in_flight"}, "failed"),
    "Requeued": ({"failed", "pending"}, "pending"),
    "Dismissed": ({"failed"}, "dismissed"),
}
STATES = ("pending", "in_flight", "acked", "failed", "superseded", "dismissed")


@dataclass
class Model:
    """What a submission should look like, kept by the simplest possible rules."""

    payload: dict[str, Any]
    state: str = "pending"
    attempts: int = 0
    next_at: float | None = None
    error: dict[str, Any] | None = None
    events: list[str] = field(default_factory=lambda: ["Submitted"])


def fields_for(kind: str, delay: float, now: float) -> dict[str, Any]:
    if kind == "Acknowledged":
        return {"answer": {"id": "srv", "status_code": 200}}
    if kind == "RetryScheduled":
        return {
            "attempt": 1,
            "next_attempt_at": now + delay,
            "error_class": "ServerError",
            "message": "503",
            "status_code": 503,
        }
    if kind == "Failed":
        return {"reason": "rejected", "error_class": "ValidationError", "status_code": 400}
    if kind == "Requeued":
        return {"reason": "operator"}
    if kind == "Dismissed":
        return {"reason": "scrapped unit", "who": "op", "origin": "cli"}
    return {}


def apply_model(m: Model, kind: str, f: dict[str, Any], now: float) -> None:
    m.state = ALLOWED[kind][1]
    m.events.append(kind)
    if kind == "UploadStarted":
        m.attempts += 1
    if kind == "RetryScheduled":
        m.next_at = f["next_attempt_at"]
        m.error = {"error_class": f["error_class"], "message": f["message"], "status_code": 503}
    elif kind == "Failed":
        m.next_at = None
        m.error = {"error_class": f["error_class"], "message": f["reason"], "status_code": 400}
    elif kind == "Requeued":
        m.next_at = now
    else:
        m.next_at = None


class JournalMachine(RuleBasedStateMachine):
    """Drives a real Journal file and a dict of Models side by side."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="journal-sm-"))
        self.clock = Clock()
        self.journal = Journal(self.dir / "j.db", clock=self.clock)
        self.model: dict[str, Model] = {}

    @initialize()
    def start(self) -> None:
        assert self.journal.counts() == dict.fromkeys(STATES, 0)

    def teardown(self) -> None:
        self.journal.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @rule(key=KEYS, payload=PAYLOADS)
    def submit(self, key: str, payload: dict[str, Any]) -> None:
        known = self.model.get(key)
        if known is not None and known.payload != payload:
            with pytest.raises(SubmissionConflictError):
                self.journal.submit(key, payload)
            return
        sub = self.journal.submit(key, payload)
        if known is None:
            self.model[key] = Model(payload, next_at=self.clock.now)
        assert sub.state == self.model[key].state

    @rule(keys=st.lists(KEYS, min_size=1, max_size=3, unique=True))
    def upload_started(self, keys: list[str]) -> None:
        self.transition([(k, "UploadStarted") for k in keys], 0.0)

    @rule(
        key=KEYS,
        kind=st.sampled_from(["Acknowledged", "RetryScheduled", "Failed", "Requeued", "Dismissed"]),
        delay=st.sampled_from([0.0, 5.0, 100.0]),
    )
    def state_event(self, key: str, kind: str, delay: float) -> None:
        self.transition([(key, kind)], delay)

    @rule(
        batch=st.lists(st.tuples(KEYS, st.sampled_from(sorted(ALLOWED))), min_size=1, max_size=4),
    )
    def record_batch(self, batch: list[tuple[str, str]]) -> None:
        self.transition(batch, 5.0)

    def transition(self, batch: list[tuple[str, str]], delay: float) -> None:
        now = self.clock.now
        trial = {k: Model(**{**vars(m), "events": list(m.events)}) for k, m in self.model.items()}
        valid = True
        for key, kind in batch:
            m = trial.get(key)
            if m is None or m.state not in ALLOWED[kind][0]:
                valid = False
                break
            apply_model(m, kind, fields_for(kind, delay, now), now)
        events = [NewEvent(k, kind, fields_for(kind, delay, now)) for k, kind in batch]
        if not valid:
            with pytest.raises(InvalidTransitionError):
                self.journal.record(events)
            return
        self.journal.record(events)
        self.model = trial

    @rule(key=KEYS, payload=PAYLOADS)
    def supersede(self, key: str, payload: dict[str, Any]) -> None:
        old = self.model.get(key)
        if old is None or old.state != "failed":
            with pytest.raises(InvalidTransitionError):
                self.journal.supersede(key, payload, reason="corrected", origin="cli")
            return
        new_key = self.journal.supersede(key, payload, reason="corrected", origin="cli")
        old.state, old.next_at = "superseded", None
        old.events.append("Superseded")
        self.model[new_key] = Model(payload, next_at=self.clock.now)
        assert self.journal.submission(new_key).source["supersedes"] == key
        assert self.journal.history(key)[-1].data["by"] == new_key

    @rule(seconds=st.sampled_from([1.0, 10.0, 200.0]))
    def advance_clock(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule()
    def rebuild(self) -> None:
        self.journal.rebuild()

    @rule()
    def reopen(self) -> None:
        self.journal.close()
        self.journal = Journal(self.dir / "j.db", clock=self.clock)

    @precondition(lambda self: bool(self.model))
    @invariant()
    def projection_equals_model(self) -> None:
        for key, m in self.model.items():
            sub = self.journal.submission(key)
            assert sub is not None
            assert (sub.state, sub.attempts, sub.payload) == (m.state, m.attempts, m.payload)
            assert sub.next_attempt_at == m.next_at
            assert sub.last_error == m.error
            assert [e.type for e in self.journal.history(key)] == m.events
        expected = dict.fromkeys(STATES, 0)
        for m in self.model.values():
            expected[m.state] += 1
        assert self.journal.counts() == expected

    @invariant()
    def due_matches_model(self) -> None:
        now = self.clock.now
        due = {
            k
            for k, m in self.model.items()
            if m.state == "pending" and m.next_at is not None and m.next_at <= now
        }
        assert {s.key for s in self.journal.due(now, 100)} == due

    @invariant()
    def live_equals_rebuilt_and_chain_verifies(self) -> None:
        assert self.journal.check().differences == []
        assert self.journal.verify().ok


JournalMachine.TestCase.settings = settings(
    max_examples=80,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestJournalStateMachine = JournalMachine.TestCase
