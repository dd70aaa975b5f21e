"""The retry policy: what an upload's exception means, and how long to wait (tenacity only here).

Decisions are made from pywats exception classes, never from message text:

=====================================================  ==========  =============================
exception                                              decision    why
=====================================================  ==========  =============================
TransportError (ConnectError, RequestTimeout,           RETRY       the server may be down or the
ConnectionDropped)                                                  answer lost; the server
                                                                    upserts by report id, so the
                                                                    re-send is safe
ServerError (5xx)                                      RETRY       server-side, usually transient
RateLimitedError (429)                                 RETRY       after exactly its positive
                                                                    ``Retry-After`` (no backoff on
                                                                    top); without one, backoff
InvalidResponseError (garbage 2xx body)                RETRY       the server (or a proxy) sent
                                                                    nonsense; the report may or may
                                                                    not be stored, the re-send
                                                                    overwrites it by report id
AuthenticationError (401), AuthorizationError (403)    REAUTH      ask the credential provider
ValidationError (400/422), NotFoundError (404)         FAIL        re-sending the same bytes gets
                                                                    the same answer; the real
                                                                    server refuses a report with
                                                                    400 and a line per broken rule
ConflictError (409)                                    RETRY       the real server documents no
                                                                    409 for a report; only the
                                                                    simulator's invented, off-by-
                                                                    default idempotency_conflicts
                                                                    switch sends one ("this key is
                                                                    still being processed": our
                                                                    timed-out earlier attempt).
                                                                    Failing it could lose the
                                                                    report if that attempt fails
other PyWATSError                                      its ``retryable`` flag
any other exception                                    RETRY       unknown means "do not lose it"
=====================================================  ==========  =============================

The ``Idempotency-Key`` header pywats sends is not in the real server's contract: what makes a
re-send harmless there is the stable report id (the server overwrites and counts receives). A
422 for a reused key, like the 409, exists only behind that simulator switch.

Backoff is exponential with full jitter: attempt ``n`` waits ``uniform(0, min(cap, base *
multiplier**(n-1)))``. After ``attempts_before_cap`` attempts the wait is the cap itself: the
submission stays pending forever at that interval and is visible in status; nothing is ever
dropped for age. ``Retry-After`` raises the wait to its value (also beyond the cap: the server
knows best when it will take requests again).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import tenacity

from pywats import (
    AuthenticationError,
    AuthorizationError,
    ConflictError,
    InvalidResponseError,
    NotFoundError,
    PyWATSError,
    RateLimitedError,
    ServerError,
    TransportError,
    ValidationError,
)

from ._config import RetryConfig

#: Exceptions that are retried with backoff.
RETRYABLE: tuple[type[BaseException], ...] = (
    TransportError,
    ServerError,
    RateLimitedError,
    InvalidResponseError,
    ConflictError,
)
#: Exceptions that are answered by re-authenticating.
AUTH: tuple[type[BaseException], ...] = (AuthenticationError, AuthorizationError)
#: Exceptions that fail the submission permanently (until requeued).
PERMANENT: tuple[type[BaseException], ...] = (ValidationError, NotFoundError)


class Action(enum.Enum):
    """What to do with a submission after a failed upload."""

    RETRY = "retry"
    FAIL = "fail"
    REAUTH = "reauth"


@dataclass(frozen=True)
class Decision:
    """The outcome of :meth:`RetryPolicy.decide` for one failed attempt."""

    action: Action
    delay_s: float
    error_class: str
    message: str
    status_code: int | None
    transport: bool
    """True when no answer came from the server (network error, timeout, dropped connection)."""


def _state_for(attempt: int, exc: BaseException | None = None) -> tenacity.RetryCallState:
    state = tenacity.RetryCallState(retry_object=tenacity.Retrying(), fn=None, args=(), kwargs={})
    state.attempt_number = attempt
    if exc is not None:
        state.set_exception((type(exc), exc, exc.__traceback__))
    return state


#: Bound on a decision's message. pywats keeps a 4xx refusal's text whole up to 64 KiB (every
#: line the server wrote); the journal and ``inspect`` must hold all of it, with room for the
#: operation and status around it.
_MAX_MESSAGE = 72 * 1024


def describe(exc: BaseException) -> str:
    """The message for an exception, with the server's whole text when there is one.

    A refusal's text may span lines (one per broken rule); logs summarise it, the journal keeps
    it as it is.
    """
    server_message = getattr(exc, "server_message", None)
    text = str(exc) or type(exc).__name__
    if server_message and server_message not in text:
        text = f"{text}: {server_message}"
    return text[:_MAX_MESSAGE]


class RetryPolicy:
    """Maps an upload exception and the attempt number to a :class:`Decision`."""

    def __init__(self, config: RetryConfig) -> None:
        self.config = config
        self._wait = tenacity.wait_random_exponential(
            multiplier=config.base_s, exp_base=config.multiplier, max=config.cap_s
        )
        self._retryable = tenacity.retry_if_exception_type(RETRYABLE) | tenacity.retry_if_exception(
            lambda e: (
                not isinstance(e, PyWATSError)
                or (bool(getattr(e, "retryable", False)) and not isinstance(e, AUTH + PERMANENT))
            )
        )

    @staticmethod
    def is_api_error(exc: BaseException) -> bool:
        """True for pywats' own errors; anything else raised by an upload is a bug to log."""
        return isinstance(exc, PyWATSError)

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based), before any floor."""
        if attempt < 1:
            raise ValueError(f"attempt numbers start at 1, got {attempt}")
        if attempt >= self.config.attempts_before_cap:
            return self.config.cap_s
        return float(self._wait(_state_for(attempt)))

    def decide(self, exc: BaseException, attempt: int) -> Decision:
        """Classify ``exc`` (raised by failed attempt number ``attempt``)."""
        status = getattr(exc, "status_code", None)
        name = type(exc).__name__
        message = describe(exc)
        transport = isinstance(exc, TransportError)
        if isinstance(exc, AUTH):
            return Decision(Action.REAUTH, 0.0, name, message, status, transport)
        if isinstance(exc, PERMANENT) or not self._retryable(_state_for(attempt, exc)):
            return Decision(Action.FAIL, 0.0, name, message, status, transport)
        retry_after = getattr(exc, "retry_after", None)
        if (
            isinstance(exc, RateLimitedError)
            and isinstance(retry_after, (int, float))
            and retry_after > 0
        ):
            # The server named its pace: no exponential growth on top (adaptive concurrency
            # already slowed the engine); repeated 429s must not push one station's reports
            # minutes behind the others' (fleet fairness).
            return Decision(Action.RETRY, float(retry_after), name, message, status, transport)
        delay = self.backoff(attempt)
        if isinstance(retry_after, (int, float)) and retry_after > delay:
            delay = float(retry_after)
        return Decision(Action.RETRY, delay, name, message, status, transport)
