"""wats-sync's client layer: the sync engine station software embeds.

``from syncengine import SyncEngine, EngineConfig``::

    config = EngineConfig(server_url="https://x.wats.com", token="...", journal_path="q.db")
    with SyncEngine(config) as engine:
        key = engine.submit(report)       # returns after the journal commit
        engine.wait_idle(30)

Signals live in :mod:`syncengine.signals` (blinker); see docs/engine.md.
"""

from __future__ import annotations

# _provenance first: it stops with a clear message if a foreign pywats shadows ours.
from . import _provenance, signals  # noqa: F401
from ._clients import CredentialProvider
from ._config import (
    AdaptiveConfig,
    BreakerConfig,
    EngineConfig,
    HealthHttpConfig,
    RateLimitConfig,
    RetryConfig,
    TimeoutConfig,
    UiConfig,
    WatchFolder,
)
from ._engine import SyncEngine
from ._errors import (
    EngineJournalError,
    EngineLockedError,
    EngineNotRunningError,
    EngineStateError,
    EngineStoppingError,
    JournalClosedError,
    LocalServerError,
    ReportInputError,
    StatusFileError,
    StatusUnavailableError,
    SyncEngineError,
    UnknownSubmissionError,
)
from ._metrics import Metrics
from ._os_signals import install_signal_handlers
from ._status import StatusSnapshot, StoredStatus, read_status

__all__ = [
    "AdaptiveConfig",
    "BreakerConfig",
    "CredentialProvider",
    "EngineConfig",
    "EngineJournalError",
    "EngineLockedError",
    "EngineNotRunningError",
    "EngineStateError",
    "EngineStoppingError",
    "HealthHttpConfig",
    "JournalClosedError",
    "LocalServerError",
    "Metrics",
    "RateLimitConfig",
    "ReportInputError",
    "RetryConfig",
    "StatusFileError",
    "StatusSnapshot",
    "StatusUnavailableError",
    "StoredStatus",
    "SyncEngine",
    "SyncEngineError",
    "TimeoutConfig",
    "UiConfig",
    "UnknownSubmissionError",
    "WatchFolder",
    "install_signal_handlers",
    "read_status",
    "signals",
]
