"""The workloads the power-cut harness can run: argv for the child and a checker for the image."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ._harness import REFUSED, ArgvFactory, Checker

JOURNAL_FILE = "journal.db"


def journal_argv(synchronous: str) -> ArgvFactory:
    """Child command line for the real journal workload."""

    def argv(data_dir: Path, start: int) -> list[str]:
        return [
            "-m",
            "tools.powercut._journal_child",
            str(data_dir / JOURNAL_FILE),
            str(start),
            synchronous,
        ]

    return argv


def check_journal(data_dir: Path, submitted: Sequence[str], acked: Sequence[str]) -> list[str]:
    """Open the image as a restarted station would; list every broken promise.

    Open must succeed, ``verify()`` and ``check()`` must pass, every key whose ``submit``
    returned must be there with its exact payload, and every recorded acknowledgement must still
    be ``acked`` (an acknowledged report re-sent would be a duplicate upload).
    """
    from journal import CorruptJournalError, Journal, JournalError

    from ._journal_child import payload_for

    path = data_dir / JOURNAL_FILE
    if not path.exists():
        return (
            [f"{len(submitted)} submissions returned but {path.name} is gone"] if submitted else []
        )
    problems: list[str] = []
    try:
        with Journal(path) as j:
            v = j.verify()
            if not v.ok:
                problems.append(f"verify failed at seq {v.first_bad_seq}: {v.reason}")
            c = j.check()
            if not c.ok:
                problems.append(f"projection differs from rebuild: {c.differences[:3]}")
            missing = [k for k in submitted if j.submission(k) is None]
            if missing:
                problems.append(f"{len(missing)} returned submissions missing, e.g. {missing[:3]}")
            wrong = [
                k
                for k in submitted
                if k not in missing and (s := j.submission(k)) and s.payload != payload_for(k)
            ]
            if wrong:
                problems.append(f"{len(wrong)} payloads differ, e.g. {wrong[:3]}")
            regressed = [k for k in acked if j.state(k) != "acked"]
            if regressed:
                problems.append(f"{len(regressed)} acknowledgements lost, e.g. {regressed[:3]}")
    except CorruptJournalError as exc:
        problems.append(f"{REFUSED}{exc}")
    except JournalError as exc:
        problems.append(f"open failed: {exc}")
    return problems


def sqlite_argv(synchronous: str) -> ArgvFactory:
    """Child command line for the plain-sqlite3 control workload."""

    def argv(data_dir: Path, start: int) -> list[str]:
        return [
            "-m",
            "tools.powercut._sqlite_child",
            str(data_dir / "t.db"),
            str(start),
            synchronous,
        ]

    return argv


def check_sqlite(data_dir: Path, submitted: Sequence[str], acked: Sequence[str]) -> list[str]:
    """Integrity check plus presence of every printed key, for the control workload."""
    db = data_dir / "t.db"
    if not db.exists():
        return [f"{len(submitted)} commits returned but t.db is gone"] if submitted else []
    conn = sqlite3.connect(db)
    try:
        verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
        have = {r[0] for r in conn.execute("SELECT k FROM t")}
    except sqlite3.Error as exc:
        return [f"sqlite error: {exc}"]
    finally:
        conn.close()
    problems = [] if verdict == "ok" else [f"integrity_check: {verdict}"]
    missing = [k for k in submitted if k not in have]
    if missing:
        problems.append(f"{len(missing)} committed rows missing, e.g. {missing[:3]}")
    return problems


@dataclass(frozen=True)
class Workload:
    """A named child workload and its checker."""

    argv: ArgvFactory
    check: Checker


def workload(name: str, synchronous: str) -> Workload:
    """``journal`` (the real code path) or ``sqlite`` (the plain-sqlite3 control)."""
    if name == "journal":
        return Workload(journal_argv(synchronous), check_journal)
    if name == "sqlite":
        return Workload(sqlite_argv(synchronous), check_sqlite)
    raise ValueError(f"unknown workload {name!r} (journal or sqlite)")
