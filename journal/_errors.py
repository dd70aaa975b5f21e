"""The journal's exception tree.

Every error the journal raises on purpose derives from :class:`JournalError`; sqlite3 errors are
translated into it at one seam (when a transaction or a read exits, see ``_store.py``)::

    JournalError                      any failure of the journal itself
    ├── SubmissionConflictError       a key was submitted again with a different payload
    ├── InvalidTransitionError        a state event is not allowed in the submission's state
    ├── UnknownSubmissionError        a state event names a key the journal does not hold
    ├── CorruptJournalError           the file, its WAL or its hash chain is damaged
    ├── NewerSchemaError              the file was written by a newer version of wats-sync
    ├── ArchiveError                  an archive file is unreadable or fails verification
    └── JournalBusyError              other writers held the lock past the busy timeout
                                      (``JournalLockedError`` is the same class)

Misuse (a payload that is not a JSON object, an empty key, a negative limit) raises ``TypeError``
or ``ValueError`` and stays outside the tree: it is a bug in the caller, not a journal state.
"""

from __future__ import annotations

from pathlib import Path


class JournalError(Exception):
    """Raised when the journal cannot do what was asked; base of every journal error."""


class SubmissionConflictError(JournalError):
    """Raised when ``submit`` sees a known key with a different payload digest."""

    def __init__(self, key: str, existing_digest: str, new_digest: str) -> None:
        super().__init__(
            f"submission {key!r} already exists with payload sha256 {existing_digest[:16]}..., "
            f"refusing a different payload (sha256 {new_digest[:16]}...)"
        )
        self.key = key
        self.existing_digest = existing_digest
        self.new_digest = new_digest


class InvalidTransitionError(JournalError):
    """Raised when a state event is not allowed from the submission's current state."""

    def __init__(self, key: str, event_type: str, state: str | None) -> None:
        super().__init__(
            f"cannot record {event_type} for submission {key!r} in state {state!r} "
            "(see the transition table in docs/journal.md)"
        )
        self.key = key
        self.event_type = event_type
        self.state = state


class UnknownSubmissionError(InvalidTransitionError):
    """Raised when a state event names a key that was never submitted (or was archived)."""

    def __init__(self, key: str, event_type: str) -> None:
        JournalError.__init__(self, f"cannot record {event_type}: no submission {key!r}")
        self.key = key
        self.event_type = event_type
        self.state = None


class CorruptJournalError(JournalError):
    """Raised when the database, its WAL or the hash chain is damaged; names the file."""

    def __init__(self, path: Path | str, detail: str) -> None:
        super().__init__(f"journal {str(path)!r} is corrupt: {detail}")
        self.path = Path(path)
        self.detail = detail


class NewerSchemaError(JournalError):
    """Raised when opening a journal whose schema was written by a newer wats-sync."""

    def __init__(self, path: Path | str, found: int, supported: int, unknown: list[str]) -> None:
        names = ", ".join(unknown) if unknown else "none"
        super().__init__(
            f"journal {str(path)!r} has schema version {found} but this wats-sync supports up to "
            f"{supported} (unknown migrations: {names}); upgrade wats-sync to open it"
        )
        self.path = Path(path)
        self.found = found
        self.supported = supported
        self.unknown = unknown


class ArchiveError(JournalError):
    """Raised when an archive file cannot be read or fails its own verification."""

    def __init__(self, path: Path | str, detail: str) -> None:
        super().__init__(f"archive {str(path)!r}: {detail}")
        self.path = Path(path)
        self.detail = detail


class JournalBusyError(JournalError):
    """Raised when other writers kept the journal locked past ``busy_timeout_s`` and retries."""

    def __init__(self, path: Path | str, waited_s: float, detail: str) -> None:
        super().__init__(
            f"journal {str(path)!r} stayed locked by other writers for {waited_s:.1f} s: {detail}"
        )
        self.path = Path(path)
        self.waited_s = waited_s
        self.detail = detail


JournalLockedError = JournalBusyError
"""Alias of :class:`JournalBusyError` for callers who think in SQLite's "database is locked"."""
