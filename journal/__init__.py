"""journal: the append-only, hash-chained SQLite event journal of wats-sync and its projection.

Every submission and every state change is an event in one SQLite file; the queue view (state,
attempts, next attempt, last error) is derived from the events in the same transaction and can be
rebuilt from them at any time. See docs/journal.md. Exceptions::

    JournalError
    ├── SubmissionConflictError
    ├── InvalidTransitionError
    │   └── UnknownSubmissionError
    ├── CorruptJournalError
    ├── NewerSchemaError
    ├── ArchiveError
    └── JournalBusyError (= JournalLockedError)
"""

from __future__ import annotations

from ._archive import read_archive
from ._browse import ReportFilter, ReportPage, ReportRow
from ._errors import (
    ArchiveError,
    CorruptJournalError,
    InvalidTransitionError,
    JournalBusyError,
    JournalError,
    JournalLockedError,
    NewerSchemaError,
    SubmissionConflictError,
    UnknownSubmissionError,
)
from ._files import file_sha256, fsync_dir, replace_file, write_atomic
from ._journal import Journal
from ._models import (
    AckAnswer,
    ArchiveResult,
    CheckResult,
    Event,
    EventType,
    NewEvent,
    State,
    Submission,
    VerifyResult,
)
from ._projector import TRANSITIONS
from ._resolve import superseding_key
from ._schema import SCHEMA_VERSION
from ._tools import query, table_counts

__all__ = [
    "SCHEMA_VERSION",
    "TRANSITIONS",
    "AckAnswer",
    "ArchiveError",
    "ArchiveResult",
    "CheckResult",
    "CorruptJournalError",
    "Event",
    "EventType",
    "InvalidTransitionError",
    "Journal",
    "JournalBusyError",
    "JournalError",
    "JournalLockedError",
    "NewEvent",
    "NewerSchemaError",
    "ReportFilter",
    "ReportPage",
    "ReportRow",
    "State",
    "Submission",
    "SubmissionConflictError",
    "UnknownSubmissionError",
    "VerifyResult",
    "file_sha256",
    "fsync_dir",
    "query",
    "read_archive",
    "replace_file",
    "superseding_key",
    "table_counts",
    "write_atomic",
]
