from __future__ import annotations

import pytest

from pywats import (
    AuthenticationError,
    AuthorizationError,
    ConflictError,
    ConnectError,
    ConnectionDropped,
    InvalidResponseError,
    NotFoundError,
    RateLimitedError,
    RequestTimeout,
    ServerError,
    UnexpectedStatusError,
    ValidationError,
)
from syncengine._config import RetryConfig
from syncengine._retry import Action, RetryPolicy

OP = "reports.submit"


@pytest.fixture
def policy() -> RetryPolicy:
    return RetryPolicy(RetryConfig(base_s=1.0, multiplier=2.0, cap_s=60.0, attempts_before_cap=5))


RETRYABLE = [
    ConnectError("refused", operation=OP, may_have_reached_server=False),
    RequestTimeout("read timeout", operation=OP, may_have_reached_server=True),
    ConnectionDropped("dropped", operation=OP, may_have_reached_server=True),
    ServerError("boom", operation=OP, status_code=503),
    RateLimitedError("slow down", operation=OP, retry_after=None),
    InvalidResponseError("not json", operation=OP, status_code=200),
    ConflictError("still processing", operation=OP, status_code=409),
    UnexpectedStatusError("timeout", operation=OP, status_code=408, retryable=True),
    RuntimeError("unexpected bug"),
]
PERMANENT = [
    ValidationError("bad", operation=OP, status_code=400),
    ValidationError("bad", operation=OP, status_code=422),
    NotFoundError("gone", operation=OP, status_code=404),
    UnexpectedStatusError("too large", operation=OP, status_code=413),
]
AUTH = [
    AuthenticationError("expired", operation=OP, status_code=401),
    AuthorizationError("forbidden", operation=OP, status_code=403),
]


@pytest.mark.parametrize("exc", RETRYABLE, ids=lambda e: f"{type(e).__name__}")
def test_retryable_errors_are_retried(policy: RetryPolicy, exc: BaseException) -> None:
    assert policy.decide(exc, 1).action is Action.RETRY


@pytest.mark.parametrize("exc", PERMANENT, ids=lambda e: f"{type(e).__name__}-{e.status_code}")
def test_permanent_errors_fail(policy: RetryPolicy, exc: BaseException) -> None:
    assert policy.decide(exc, 1).action is Action.FAIL


@pytest.mark.parametrize("exc", AUTH, ids=lambda e: type(e).__name__)
def test_auth_errors_ask_for_reauthentication(policy: RetryPolicy, exc: BaseException) -> None:
    assert policy.decide(exc, 1).action is Action.REAUTH


def test_transport_errors_are_marked_as_no_answer(policy: RetryPolicy) -> None:
    exc = ConnectError("refused", operation=OP, may_have_reached_server=False)
    assert policy.decide(exc, 1).transport is True


def test_server_errors_are_answers(policy: RetryPolicy) -> None:
    assert policy.decide(ServerError("x", operation=OP, status_code=500), 1).transport is False


def test_decision_carries_status_class_and_server_message(policy: RetryPolicy) -> None:
    exc = ValidationError("bad", operation=OP, status_code=400, server_message="pn is required")
    decision = policy.decide(exc, 1)
    assert (decision.status_code, decision.error_class) == (400, "ValidationError")
    assert "pn is required" in decision.message


@pytest.mark.parametrize("attempt", [1, 2, 3, 4])
def test_backoff_is_full_jitter_under_the_exponential_ceiling(
    policy: RetryPolicy, attempt: int
) -> None:
    ceiling = min(60.0, 1.0 * 2.0 ** (attempt - 1))
    delays = [policy.backoff(attempt) for _ in range(200)]
    assert all(0.0 <= d <= ceiling for d in delays)
    assert max(delays) > ceiling / 2  # jitter spreads over the range, not a constant


def test_after_attempts_before_cap_the_wait_is_the_cap(policy: RetryPolicy) -> None:
    assert [policy.backoff(n) for n in (5, 6, 50, 10_000)] == [60.0] * 4


def test_retry_after_is_a_floor(policy: RetryPolicy) -> None:
    exc = RateLimitedError("slow", operation=OP, retry_after=42.0)
    assert policy.decide(exc, 1).delay_s == 42.0


def test_retry_after_shorter_than_backoff_does_not_shorten_it(policy: RetryPolicy) -> None:
    exc = RateLimitedError("slow", operation=OP, retry_after=0.0)
    assert policy.decide(exc, 5).delay_s == 60.0


def test_attempt_numbers_start_at_one(policy: RetryPolicy) -> None:
    with pytest.raises(ValueError, match="start at 1"):
        policy.backoff(0)


def test_retry_after_beyond_the_cap_is_honoured(policy: RetryPolicy) -> None:
    exc = RateLimitedError("slow", operation=OP, retry_after=3600.0)
    assert policy.decide(exc, 1).delay_s == 3600.0
