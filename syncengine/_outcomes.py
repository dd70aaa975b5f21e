"""Outcome recording: the last stage of an upload, journal first, then everyone else.

For each upload outcome the :class:`Outcomes` recorder commits the event through the journal's
own typed API (:meth:`journal.Journal.acknowledged`, ``retry_scheduled``, ``failed``; concurrent
workers share one group commit), and only after that commit tells the breaker, the metrics, the
ConnectionService, the engine's last-error note and the signal receivers. Nothing here decides
policy: the :class:`~._retry.Decision` was made by the retry policy.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from journal import AckAnswer, Submission

from ._breaker import CircuitBreaker
from ._clients import Delivered
from ._connection import ConnectionService
from ._journal_access import JournalAccess
from ._metrics import Metrics
from ._retry import Action, Decision
from ._status import LastError
from .converters._loops import refusal_hint
from .signals import (
    emit,
    retry_scheduled,
    submission_failed,
    upload_failed,
    upload_succeeded,
)

log = logging.getLogger("syncengine.outbox")

ROTTEN_REASON = (
    "the journal's copy of this report no longer matches its digest (disk damage or "
    "tampering); not sent. Run 'syncengine journal verify' and see docs/operations.md"
)


_LOG_LINE = 500


def log_summary(message: str, key: str) -> str:
    """One readable log line for a refusal's message: its first line, and how many more there are.

    The journal keeps the whole message (one line per rule the server found broken); the log
    names the first and points at ``inspect`` for the rest.
    """
    lines = [line for line in message.splitlines() if line.strip()] or [message]
    first = lines[0] if len(lines[0]) <= _LOG_LINE else lines[0][:_LOG_LINE] + " ..."
    if len(lines) == 1:
        return first
    return f"{first} (+{len(lines) - 1} more lines: syncengine inspect {key})"


class Outcomes:
    """Records what became of each upload; shared by the upload workers and the dispatcher."""

    def __init__(
        self,
        *,
        sender: object,
        journal: JournalAccess,
        breaker: CircuitBreaker,
        connection: ConnectionService,
        metrics: Metrics,
        on_error: Callable[[LastError], None],
        on_ack: Callable[[float], None],
    ) -> None:
        self._sender = sender
        self._journal = journal
        self._breaker = breaker
        self._connection = connection
        self._metrics = metrics
        self._on_error = on_error
        self._on_ack = on_ack

    def succeeded(self, key: str, delivered: Delivered) -> None:
        """The server stored the report: ``Acknowledged`` with what it really answered."""
        answer: AckAnswer = {
            "report_id": delivered.report_id,
            "latency_s": round(delivered.latency_s, 6),
            "status_code": delivered.status_code,
            "correlation_id": delivered.correlation_id,
        }
        if delivered.raw_answer is not None:
            answer["raw_answer"] = delivered.raw_answer  # a 2xx without a usable id
        self._journal.call(lambda j: j.acknowledged(key, answer=answer))
        self._breaker.record_success()
        self._metrics.inc("uploads_success")
        self._metrics.observe("upload_latency", delivered.latency_s)
        self._on_ack(time.time())
        emit(
            upload_succeeded,
            self._sender,
            key=key,
            report_id=delivered.report_id,
            latency_s=delivered.latency_s,
            correlation_id=delivered.correlation_id,
        )
        self._connection.report_answer()
        self._connection.update("upload acknowledged")

    def failed(
        self,
        key: str,
        attempt: int,
        decision: Decision,
        latency_s: float,
        correlation_id: str | None,
    ) -> None:
        """A refused attempt: ``Failed`` (permanent) or ``RetryScheduled`` (with backoff)."""
        self._metrics.inc("uploads_failed")
        self._metrics.observe("upload_latency", latency_s)
        if decision.action is Action.FAIL:
            self._record_failed(key, decision.message, decision.error_class, decision.status_code)
            hint = refusal_hint(decision.message)
            # A warning: the engine is fine, one report waits for an operator (status shows it).
            log.warning(
                "submission %s refused (%s): %s%s",
                key,
                decision.error_class,
                log_summary(decision.message, key),
                f" -- fix: {hint}" if hint else "",
            )
            self._breaker.record_success()  # a refusal is an answer
            self._metrics.inc("submissions_failed")
            self._note_error(key, decision, correlation_id)
            self._failure_signal(key, decision, latency_s)
            self._failed_signal(key, decision.message, decision.error_class, decision.status_code)
            self._connection.report_answer()
            self._connection.update("server refused a submission")
            return
        next_at = time.time() + decision.delay_s
        self._record_retry(key, attempt, decision, next_at)
        if decision.status_code == 429:
            # "Too many requests" is a server that answers and asks for less: adaptive
            # concurrency slows down for it; opening the breaker would stop this engine for
            # reset_timeout_s while the others take its share (fleet fairness, docs/engine.md).
            self._breaker.record_success()
        else:
            self._breaker.record_failure()
        self._metrics.inc("retries")
        self._note_error(key, decision, correlation_id)
        self._failure_signal(key, decision, latency_s)
        emit(
            retry_scheduled,
            self._sender,
            key=key,
            attempt=attempt,
            next_attempt_at=next_at,
            delay_s=decision.delay_s,
            error_class=decision.error_class,
        )
        if decision.transport:
            self._connection.report_no_answer(f"upload: {decision.error_class}")
        else:
            self._connection.report_server_failure(f"upload: {decision.error_class}")
        self._connection.update(f"upload: {decision.error_class}")

    def auth_paused(self, key: str, attempt: int, decision: Decision, latency_s: float) -> None:
        """The token was rejected and no fresh one could be had.

        Not the submission's fault: it stays pending and due at once (no backoff); uploads pause
        until the ConnectionService sees an accepted token.
        """
        now = time.time()
        self._record_retry(key, attempt, decision, now)
        self._metrics.inc("uploads_failed")
        self._note_error(key, decision, None)
        self._failure_signal(key, decision, latency_s)
        emit(
            retry_scheduled,
            self._sender,
            key=key,
            attempt=attempt,
            next_attempt_at=now,
            delay_s=0.0,
            error_class=decision.error_class,
        )
        self._connection.report_auth_failed(f"token rejected ({decision.status_code})")

    def rotten(self, subs: list[Submission]) -> None:
        """Fail submissions whose stored payload no longer matches its digest.

        Sending damaged bytes would put a wrong report on the server as if it were valid; the
        submission goes to ``failed`` instead, visible in status and ``inspect``, and
        ``journal verify`` names the damaged event. Recovery is an operator's (docs/operations.md).
        """
        for sub in subs:
            log.error("submission %s: %s", sub.key, ROTTEN_REASON)
            self._record_failed(sub.key, ROTTEN_REASON, "CorruptPayload", None)
            self._metrics.inc("submissions_failed")
            self._failed_signal(sub.key, ROTTEN_REASON, "CorruptPayload", None)

    # --- the journal writes ------------------------------------------------------------------
    def _record_failed(
        self, key: str, reason: str, error_class: str, status_code: int | None
    ) -> None:
        self._journal.call(
            lambda j: j.failed(key, reason=reason, error_class=error_class, status_code=status_code)
        )

    def _record_retry(self, key: str, attempt: int, decision: Decision, next_at: float) -> None:
        self._journal.call(
            lambda j: j.retry_scheduled(
                key,
                attempt=attempt,
                next_attempt_at=next_at,
                error_class=decision.error_class,
                message=decision.message,
                status_code=decision.status_code,
            )
        )

    # --- telling the others ------------------------------------------------------------------
    def _failed_signal(
        self, key: str, reason: str, error_class: str, status_code: int | None
    ) -> None:
        emit(
            submission_failed,
            self._sender,
            key=key,
            reason=reason,
            error_class=error_class,
            status_code=status_code,
        )

    def _failure_signal(self, key: str, decision: Decision, latency_s: float) -> None:
        emit(
            upload_failed,
            self._sender,
            key=key,
            error_class=decision.error_class,
            status_code=decision.status_code,
            message=decision.message,
            latency_s=latency_s,
        )

    def _note_error(self, key: str, decision: Decision, correlation_id: str | None) -> None:
        self._on_error(
            LastError(
                key=key,
                error_class=decision.error_class,
                status_code=decision.status_code,
                message=decision.message,
                correlation_id=correlation_id,
                at=time.time(),
            )
        )
