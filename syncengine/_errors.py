"""The syncengine exception tree.

```
SyncEngineError                 root of everything the engine raises on purpose
 +-- EngineStateError           the engine is not in a state that allows the call
 |    +-- EngineNotRunningError raised when a call needs a started engine (submit before start)
 |    +-- EngineStoppingError   raised when a submission arrives while/after the engine stops
 |    +-- JournalClosedError    raised when a read (counts, history, ...) meets the journal the
 |                              stopping engine has just closed
 +-- EngineLockedError          raised when another engine already drains the same journal
 +-- LocalServerError           raised at start when the health endpoint or the station page
 |                              cannot listen on its configured address (also an OSError)
 +-- StatusUnavailableError     raised by read_status() when there is neither a status file nor
 |                              a journal (also a FileNotFoundError)
 +-- StatusFileError            raised by read_status() when the status file is not a JSON
 |                              object (also a ValueError)
 +-- ReportInputError           raised when a submitted report is not a pywats report or a WSJF
                                mapping, or has no usable key
 +-- UnknownSubmissionError     raised when a facade call names a key the journal does not know
 +-- EngineJournalError         a journal error raised through the engine; each one is ALSO an
 |                              instance of the journal's own class (SubmissionConflictError,
 |                              UnknownSubmissionError, JournalBusyError, CorruptJournalError, ...)
 |  defined beside the code that raises them (each module draws its own subtree):
 +-- WatchFolderError           (_watcher) raised at start when a watch folder is misconfigured
 +-- InvalidReportsError        (_ingest) raised when a converted file's reports cannot be journaled
 +-- SettingsError              (_settings) raised when the configuration cannot be loaded
 +-- CredentialsError           (credentials) raised for any credentials problem; 4 subclasses
 +-- ConverterError             (converters) raised by converters and the worker pool; 3 subclasses
 +-- ServiceError               (service) raised when installing or removing the OS service fails
 +-- CliError                   (cli) raised by a command for an expected failure (exit code)
 +-- ForeignPywatsError         (_provenance) raised at import when another pywats shadows ours
```

``docs/errors.md`` lists every class with when it is raised; a test checks it stays complete.

So ``except SyncEngineError`` catches everything the engine raises on purpose, and code that
already catches ``journal.SubmissionConflictError`` (or any journal class) keeps working.

Misuse that is a programming error (wrong argument types in our own API) raises the ordinary
built-in exceptions and stays outside this tree.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from journal import JournalError


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


class LocalServerError(SyncEngineError, OSError):
    """Raised at start when the health endpoint or the station page cannot listen on its
    address (the port is taken, the address is not this machine's).

    ``key`` names the setting to change (``health_http.port`` or ``ui.port``); the engine has
    released its journal and lock when this reaches the caller.
    """

    def __init__(self, message: str, *, host: str, port: int, key: str) -> None:
        super().__init__(message)
        self.host = host
        self.port = port
        self.key = key


class StatusUnavailableError(SyncEngineError, FileNotFoundError):
    """Raised by :func:`read_status` when there is neither a status file nor a journal: no
    engine has ever run with this configuration."""


class StatusFileError(SyncEngineError, ValueError):
    """Raised by :func:`read_status` when the status file is not valid JSON or not an object."""


class ReportInputError(SyncEngineError, ValueError):
    """Raised when a submitted report cannot be turned into a WSJF payload and a key."""


class EngineJournalError(SyncEngineError):
    """A journal error raised through the engine (see :func:`from_journal`).

    Every instance is also an instance of the journal error class it came from, with the same
    message and attributes (``key``, ``path``, ...); the original is its ``__cause__``.
    """

    _journal_class: type[BaseException]

    def __reduce__(self) -> tuple[object, ...]:
        # The classes are made at run time; pickle rebuilds one from its journal class.
        return (_rebuild, (self._journal_class, self.args, dict(self.__dict__)))


_wrappers: dict[type[BaseException], type[EngineJournalError]] = {}
_wrappers_lock = threading.Lock()


def engine_class(journal_class: type[JournalError]) -> type[EngineJournalError]:
    """The EngineJournalError subclass that is also ``journal_class`` (made once, cached)."""
    with _wrappers_lock:
        wrapper = _wrappers.get(journal_class)
        if wrapper is None:
            wrapper = type(
                journal_class.__name__,
                (EngineJournalError, journal_class),
                {
                    "__module__": __name__,
                    "__doc__": f"journal.{journal_class.__name__} raised through the engine.",
                    "_journal_class": journal_class,
                },
            )
            _wrappers[journal_class] = wrapper
        return wrapper


def from_journal(exc: JournalError) -> EngineJournalError:
    """``exc`` as the engine raises it: same class (and message, attributes), plus SyncEngineError.

    The journal classes have their own ``__init__`` signatures, so the copy is made without
    calling it: the arguments and attributes are copied from ``exc``.
    """
    if isinstance(exc, EngineJournalError):
        return exc
    new = _rebuild(type(exc), exc.args, exc.__dict__)
    new.__cause__ = exc
    return new


def _rebuild(
    journal_class: type[JournalError], args: tuple[object, ...], state: dict[str, object]
) -> EngineJournalError:
    wrapper = engine_class(journal_class)
    new = wrapper.__new__(wrapper, *args)
    new.__dict__.update(state)
    return new


class UnknownSubmissionError(SyncEngineError, KeyError):
    """Raised when a facade call (``requeue``) names a key the journal does not hold."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown submission"
