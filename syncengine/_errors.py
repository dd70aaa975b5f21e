"""The syncengine exception tree.

```
SyncEngineError                 root of everything the engine raises on purpose
 +-- EngineStateError           the engine is not in a state that allows the call
 |    +-- EngineNotRunningError raised when a call needs a started engine (submit before start)
 |    +-- EngineStoppingError   raised when a submission arrives while/after the engine stops
 |    +-- JournalClosedError    raised when a read (counts, history, ...) meets the journal the
 |                              stopping engine has just closed
 +-- EngineLockedError          raised when another engine already drains the same journal
 +-- ReportInputError           raised when a submitted report is not a pywats report or a WSJF
                                mapping, or has no usable key
 +-- UnknownSubmissionError     raised when a facade call names a key the journal does not know
```

Misuse that is a programming error (wrong argument types in our own API) raises the ordinary
built-in exceptions and stays outside this tree.
"""

from __future__ import annotations


class SyncEngineError(Exception):
    """Root of the syncengine exception tree."""


class EngineStateError(SyncEngineError):
    """The engine's lifecycle state does not allow the call."""


class EngineNotRunningError(EngineStateError):
    """Raised when a call needs a started engine (for example ``submit`` before ``start``)."""


class EngineStoppingError(EngineStateError):
    """Raised when a submission arrives while the engine is stopping or after it stopped.

    Nothing was written to the journal: the caller still owns the report and must keep it.
    """


class JournalClosedError(EngineStateError):
    """Raised when a call reaches the engine's journal after the stopping engine closed it.

    Reads (``counts()``, ``history()``, ``submission()``) racing ``stop()`` can meet it; the
    engine's own threads treat it as "abandon this work" (an upload left ``in_flight`` is
    replayed at the next start).
    """


class EngineLockedError(SyncEngineError):
    """Raised when another engine (in this or another process) already drains the journal."""

    def __init__(self, message: str, *, lock_path: str, holder: str | None = None) -> None:
        super().__init__(message)
        self.lock_path = lock_path
        self.holder = holder


class ReportInputError(SyncEngineError, ValueError):
    """Raised when a submitted report cannot be turned into a WSJF payload and a key."""


class UnknownSubmissionError(SyncEngineError, KeyError):
    """Raised when a facade call (``requeue``) names a key the journal does not hold."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown submission"
