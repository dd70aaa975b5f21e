"""Errors the simulator turns into HTTP answers.

::

    ApiError          raised when a request must be answered with a 4xx/5xx JSON error
    FaultConfigError  raised when a fault setting is unknown or has the wrong type (a ValueError)
"""

from __future__ import annotations


class ApiError(Exception):
    """Raised when a request must be answered with ``status`` and ``{"message": message}``."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


class FaultConfigError(ValueError):
    """Raised when a fault setting has an unknown name or a value of the wrong type or range."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"faults.{key}: {message}")
        self.key = key
