"""Fault settings (validated) and the seeded random source that decides when they fire.

Every decision comes from one ``random.Random(seed)`` behind a lock, and a request only draws for
the faults that are switched on, in a fixed order, so a sequential run is reproducible.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._errors import FaultConfigError

_RATES = (
    "error_rate",
    "rate_limit_rate",
    "drop_after_store_rate",
    "drop_before_store_rate",
    "garbage_rate",
)
#: Every fault name the simulator understands.
FAULT_NAMES: tuple[str, ...] = (
    "latency_ms",
    "error_rate",
    "error_statuses",
    "rate_limit_rate",
    "retry_after_s",
    "token_expires_after",
    "drop_after_store_rate",
    "drop_before_store_rate",
    "garbage_rate",
    "slow_body_ms",
    "down_for_s",
    "capacity_rps",
    "idempotency_conflicts",
    "error_body",
)
#: The error body shapes ``error_body`` picks from (the real server's is not documented).
ERROR_BODIES = ("message", "Message", "text")
_DEFAULT_STATUSES = (500, 502, 503)
_MAX_SECONDS = 3600.0


@dataclass(frozen=True)
class Faults:
    """A validated fault configuration; ``settings`` is the normalised JSON the user gave."""

    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def latency_ms(self) -> tuple[float, float] | None:
        """Latency bounds in ms (``lo == hi`` for a fixed latency), or None."""
        value = self.settings.get("latency_ms")
        if value is None:
            return None
        if isinstance(value, list):
            return (float(value[0]), float(value[1]))
        return (float(value), float(value))

    @property
    def capacity_rps(self) -> float | None:
        """Requests per second the server admits (429 above, slower near it), or None."""
        value = self.settings.get("capacity_rps")
        return None if value is None else float(value)

    def rate(self, name: str) -> float:
        """The probability configured for a ``*_rate`` fault (0.0 when off)."""
        return float(self.settings.get(name, 0.0))

    @property
    def error_statuses(self) -> tuple[int, ...]:
        """Statuses ``error_rate`` picks from."""
        return tuple(self.settings.get("error_statuses", _DEFAULT_STATUSES))

    @property
    def retry_after_s(self) -> float:
        """Seconds sent in ``Retry-After`` (default 1)."""
        return float(self.settings.get("retry_after_s", 1.0))

    @property
    def retry_after_explicit(self) -> bool:
        """Whether ``retry_after_s`` was set (then injected 503s carry it too)."""
        return "retry_after_s" in self.settings

    @property
    def token_expires_after(self) -> int | None:
        """Accepted requests per token before it expires, or None."""
        value = self.settings.get("token_expires_after")
        return None if value is None else int(value)

    @property
    def slow_body_ms(self) -> float:
        """Pause before each of the body's pieces, in ms (0 = off)."""
        return float(self.settings.get("slow_body_ms", 0.0))

    @property
    def idempotency_conflicts(self) -> bool:
        """Whether Idempotency-Key conflicts (409/422, invented) are answered; off by default."""
        return bool(self.settings.get("idempotency_conflicts", False))

    @property
    def error_body(self) -> str:
        """The shape of 4xx/5xx error bodies other than the report rules' 400 text."""
        return str(self.settings.get("error_body", "message"))

    @property
    def down_for_s(self) -> float | None:
        """The one-shot down period requested with this setting, or None."""
        value = self.settings.get("down_for_s")
        return None if value is None else float(value)


def error_body(shape: str, message: str) -> tuple[bytes, str]:
    """An error answer's body and content type: ``{"message": ..}`` (the simulator's own),
    ``{"Message": ..}`` (ASP.NET Web API's default) or the bare text."""
    if shape == "text":
        return message.encode("utf-8"), "text/plain; charset=utf-8"
    key = "Message" if shape == "Message" else "message"
    return json.dumps({key: message}).encode("utf-8"), "application/json; charset=utf-8"


def retry_after_text(seconds: float) -> str:
    """``Retry-After`` header text: an integer when whole, else a decimal (fast tests)."""
    if float(seconds).is_integer():
        return str(int(seconds))
    return f"{seconds:.3f}".rstrip("0")


def _number(key: str, value: object, *, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FaultConfigError(key, f"expected a number, got {value!r}")
    if not lo <= float(value) <= hi:
        raise FaultConfigError(key, f"expected a number between {lo:g} and {hi:g}, got {value!r}")
    return float(value)


def _normalise(key: str, value: object) -> Any:
    if key in _RATES:
        return _number(key, value, lo=0.0, hi=1.0)
    if key == "latency_ms":
        if isinstance(value, list):
            if len(value) != 2:
                raise FaultConfigError(key, f"expected a number or [lo, hi], got {value!r}")
            lo = _number(key, value[0], lo=0.0, hi=_MAX_SECONDS * 1000)
            hi = _number(key, value[1], lo=0.0, hi=_MAX_SECONDS * 1000)
            if lo > hi:
                raise FaultConfigError(key, f"lo must not exceed hi, got {value!r}")
            return [lo, hi]
        return _number(key, value, lo=0.0, hi=_MAX_SECONDS * 1000)
    if key == "error_statuses":
        if not isinstance(value, list) or not value:
            raise FaultConfigError(key, f"expected a non-empty list of statuses, got {value!r}")
        for status in value:
            if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
                raise FaultConfigError(key, f"expected statuses 400-599, got {status!r}")
        return list(value)
    if key == "token_expires_after":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise FaultConfigError(key, f"expected an integer >= 1, got {value!r}")
        return value
    if key in ("retry_after_s", "down_for_s"):
        return _number(key, value, lo=0.0, hi=_MAX_SECONDS)
    if key == "slow_body_ms":
        return _number(key, value, lo=0.0, hi=60_000.0)
    if key == "error_body":
        if value not in ERROR_BODIES:
            raise FaultConfigError(key, f"expected one of {', '.join(ERROR_BODIES)}, got {value!r}")
        return value
    if key == "idempotency_conflicts":
        if not isinstance(value, bool):
            raise FaultConfigError(key, f"expected true or false, got {value!r}")
        return value
    if key == "capacity_rps":
        return _number(key, value, lo=1.0, hi=1_000_000.0)
    known = ", ".join(FAULT_NAMES)
    raise FaultConfigError(key, f"unknown fault (known: {known})")


def parse_faults(raw: object) -> Faults:
    """Validate a fault object (``{}`` = no faults); FaultConfigError names the bad key."""
    if raw is None:
        return Faults()
    if not isinstance(raw, Mapping):
        raise FaultConfigError("(body)", f"expected a JSON object of faults, got {raw!r}")
    settings: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(key, str):
            raise FaultConfigError(str(key), "fault names are strings")
        if value is None:
            if key not in FAULT_NAMES:
                _normalise(key, value)
            continue
        settings[key] = _normalise(key, value)
    return Faults(settings)


class FaultDice:
    """The simulator's one seeded random source; thread-safe."""

    def __init__(self, seed: int | None) -> None:
        self.seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def hit(self, probability: float) -> bool:
        """True with ``probability``; draws nothing when the fault is off."""
        if probability <= 0.0:
            return False
        with self._lock:
            return self._rng.random() < probability

    def uniform(self, lo: float, hi: float) -> float:
        """A uniform draw in [lo, hi]; no draw when ``lo == hi``."""
        if lo == hi:
            return lo
        with self._lock:
            return self._rng.uniform(lo, hi)

    def choice(self, options: tuple[int, ...]) -> int:
        """One of ``options``; no draw when there is only one."""
        if len(options) == 1:
            return options[0]
        with self._lock:
            return self._rng.choice(options)

    def reseed(self) -> None:
        """Restart the sequence from the seed (used by reset)."""
        with self._lock:
            self._rng = random.Random(self.seed)
