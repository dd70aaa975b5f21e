"""Power-cut simulation: what survives when the power goes, not only when the process dies.

An LD_PRELOAD interposer (``interpose.c``, built at run time) logs every write, truncate, sync
and directory change a child process makes under one directory; after a SIGKILL,
:func:`reconstruct` rebuilds the image a power cut could have left (only fsynced data is sure,
the rest survives in part, torn or not at all) and the workload's checker opens it as a
restarted station would. Linux only; see docs/reliability.md for the method and its limits.
"""

from __future__ import annotations

from ._build import InterposerUnavailable, build_interposer
from ._harness import CutResult, Outcome, run_cuts
from ._replay import CutStats, Record, Snapshot, read_log, reconstruct, write_image
from ._workloads import Workload, check_journal, check_sqlite, workload

__all__ = [
    "CutResult",
    "CutStats",
    "InterposerUnavailable",
    "Outcome",
    "Record",
    "Snapshot",
    "Workload",
    "build_interposer",
    "check_journal",
    "check_sqlite",
    "read_log",
    "reconstruct",
    "run_cuts",
    "workload",
    "write_image",
]
