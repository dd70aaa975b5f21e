"""The workloads the power-cut harness can run: argv for the child and a checker for the image."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
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
    """A named child workload, its checker, and what to put on disk before each round."""

    argv: ArgvFactory
    check: Checker
    prepare: Callable[[Path, int], None] | None = None


def ingest_workload(files_per_round: int = 6) -> Workload:
    """The watch folder: files written durably before each round, converted and moved by the
    real engine during it. Checked: every file written is in ``watch/``, ``done/`` or
    ``error/`` (never gone), and every file in ``done/`` has its submission in the journal.
    """
    import hashlib
    import json

    written: dict[str, str] = {}  # file name -> submission key

    def prepare(data_dir: Path, round_no: int) -> None:
        from syncengine._ingest import submission_key

        from ..torture._reports import report_for

        watch = data_dir / "watch"
        watch.mkdir(exist_ok=True)
        for j in range(files_per_round):
            name = f"r{round_no:04d}-{j}.json"
            body = json.dumps(report_for("powercut", round_no * 100 + j)).encode()
            (watch / name).write_bytes(body)
            written[name] = submission_key(hashlib.sha256(body).hexdigest(), 0)

    def argv(data_dir: Path, start: int) -> list[str]:
        return ["-m", "tools.powercut._ingest_child", str(data_dir)]

    def check(data_dir: Path, submitted: Sequence[str], acked: Sequence[str]) -> list[str]:
        from journal import CorruptJournalError, Journal, JournalError

        watch = data_dir / "watch"
        found: dict[str, str] = {}
        for where in (watch, watch / "done", watch / "error"):
            if where.is_dir():
                for p in where.iterdir():
                    if p.is_file() and p.suffix == ".json":
                        found.setdefault(p.name.split(".")[0] + ".json", where.name)
        problems = [f"file {n} is gone" for n in written if n not in found]
        done = [n for n in written if found.get(n) == "done"]
        path = data_dir / JOURNAL_FILE
        try:
            with Journal(path) as j:
                v = j.verify()
                if not v.ok:
                    problems.append(f"verify failed at seq {v.first_bad_seq}: {v.reason}")
                missing = [n for n in done if j.submission(written[n]) is None]
                if missing:
                    problems.append(f"{len(missing)} files in done/ without a submission")
        except CorruptJournalError as exc:
            problems.append(f"{REFUSED}{exc}")
        except JournalError as exc:
            if done:
                problems.append(f"open failed with {len(done)} files in done/: {exc}")
        return problems

    return Workload(argv, check, prepare)


def workload(name: str, synchronous: str) -> Workload:
    """``journal`` (the real code path), ``ingest`` (watch folder) or ``sqlite`` (the control)."""
    if name == "journal":
        return Workload(journal_argv(synchronous), check_journal)
    if name == "sqlite":
        return Workload(sqlite_argv(synchronous), check_sqlite)
    if name == "ingest":
        return ingest_workload()
    raise ValueError(f"unknown workload {name!r} (journal, ingest or sqlite)")
