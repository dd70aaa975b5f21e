"""Counters for ``/_sim/stats`` and the Idempotency-Key registry."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ._errors import ApiError

MAX_KEY_LENGTH = 255


class Stats:
    """Thread-safe request, status and fault counters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.in_flight = 0
        self.reset()

    def reset(self) -> None:
        """Zero every counter except ``in_flight`` (requests still running stay tracked)."""
        with self._lock:
            self.requests = 0
            self.report_posts = 0
            self.stored_then_dropped = 0
            self.status_counts: Counter[str] = Counter()
            self.faults_injected: Counter[str] = Counter()
            self.idempotency_conflicts: Counter[str] = Counter()

    def request(self, *, is_report_post: bool) -> None:
        """Count an ``/api/`` request that reached the handler."""
        with self._lock:
            self.requests += 1
            if is_report_post:
                self.report_posts += 1

    def status(self, status: int) -> None:
        """Count an answer actually sent."""
        with self._lock:
            self.status_counts[str(status)] += 1

    def fault(self, name: str) -> None:
        """Count an injected fault."""
        with self._lock:
            self.faults_injected[name] += 1

    def dropped_stored_report(self) -> None:
        """Count a stored report whose answer was dropped."""
        with self._lock:
            self.stored_then_dropped += 1

    def conflict(self, status: int) -> None:
        """Count an Idempotency-Key conflict (409 or 422)."""
        with self._lock:
            self.idempotency_conflicts[str(status)] += 1

    @contextmanager
    def in_flight_request(self) -> Iterator[None]:
        """Track a request being processed."""
        with self._lock:
            self.in_flight += 1
        try:
            yield
        finally:
            with self._lock:
                self.in_flight -= 1

    def snapshot(self) -> dict[str, Any]:
        """The counters as a JSON-ready dict."""
        with self._lock:
            return {
                "requests": self.requests,
                "report_posts": self.report_posts,
                "stored_then_dropped": self.stored_then_dropped,
                "status_counts": dict(self.status_counts),
                "faults_injected": dict(self.faults_injected),
                "idempotency_conflicts": {
                    "409": self.idempotency_conflicts["409"],
                    "422": self.idempotency_conflicts["422"],
                },
                "in_flight": self.in_flight,
            }


def fingerprint(method: str, path: str, body: bytes) -> str:
    """Request fingerprint: method, path and body (JSON canonicalised so re-dumps match)."""
    try:
        canonical = json.dumps(
            json.loads(body.decode("utf-8")), sort_keys=True, separators=(",", ":")
        ).encode("utf-8")
    except (UnicodeDecodeError, json.JSONDecodeError):
        canonical = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.lower().rstrip("/").encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


@dataclass
class _Entry:
    fingerprint: str
    active: int


class IdempotencyRegistry:
    """Remembers each Idempotency-Key's fingerprint and whether a request with it is running."""

    def __init__(self, stats: Stats) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._stats = stats

    def begin(self, key: str, print_: str) -> None:
        """Register a request; ApiError 409 (same request still running) or 422 (other body)."""
        if not key or len(key) > MAX_KEY_LENGTH:
            raise ApiError(400, f"Idempotency-Key: expected 1-{MAX_KEY_LENGTH} characters")
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self._entries[key] = _Entry(print_, 1)
                return
            if entry.fingerprint != print_:
                self._stats.conflict(422)
                raise ApiError(
                    422,
                    f"Idempotency-Key {key!r} was already used with a different request "
                    "(method, path or body differ)",
                )
            if entry.active:
                self._stats.conflict(409)
                # Retry-After: the draft lets a client retry this 409 once the first finishes.
                raise ApiError(
                    409,
                    f"a request with Idempotency-Key {key!r} is still being processed",
                    headers={"Retry-After": "1"},
                )
            entry.active = 1

    def end(self, key: str) -> None:
        """Mark the request with ``key`` as finished."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                entry.active = 0

    def clear(self) -> None:
        """Forget every key."""
        with self._lock:
            self._entries.clear()
