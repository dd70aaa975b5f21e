"""Old name of :mod:`syncengine.signals`, kept importable; the same signal objects."""

from __future__ import annotations

from .signals import *  # noqa: F403
from .signals import ALL_SIGNALS, emit

__all__ = ["ALL_SIGNALS", "emit"]
