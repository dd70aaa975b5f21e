"""The engine's handle on its journal: shared by every engine thread, closed only when idle.

The :class:`journal.Journal` is thread-safe itself and group-commits concurrent writers (submits
and outcome events alike), so calls run concurrently; this wrapper only makes :meth:`close` wait
(bounded) for running calls, and turns any later call into :class:`JournalClosedError`, which
the engine's threads read as "abandon this work" and an embedder sees as a SyncEngineError.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from journal import Journal, JournalError

from ._errors import JournalClosedError, from_journal

T = TypeVar("T")


class JournalAccess:
    """Shares the engine's Journal between threads and closes it only when no call is running."""

    def __init__(self, journal: Journal) -> None:
        self._journal: Journal | None = journal
        self._active = 0
        self._cond = threading.Condition()

    def call(self, fn: Callable[[Journal], T]) -> T:
        """Run ``fn(journal)``; raises :class:`JournalClosedError` after close() began.

        A journal error comes out as the engine's (:func:`._errors.from_journal`): still an
        instance of its journal class, and a SyncEngineError.
        """
        with self._cond:
            journal = self._journal
            if journal is None:
                raise JournalClosedError("the engine's journal is closed (the engine stopped)")
            self._active += 1
        try:
            return fn(journal)
        except JournalError as exc:
            raise from_journal(exc) from exc
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()

    def close(self, timeout_s: float) -> None:
        """Refuse new calls, wait up to ``timeout_s`` for running ones, then close the journal."""
        with self._cond:
            journal, self._journal = self._journal, None
            deadline = time.monotonic() + timeout_s
            while self._active and time.monotonic() < deadline:
                self._cond.wait(0.05)
        if journal is not None:
            journal.close()
