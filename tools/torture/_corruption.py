"""Corruption sweep: random bit flips and truncations of copies of a real journal.

A *pristine* journal is built with the real ``journal.Journal`` (checkpointed events in the
database file plus recent, not yet checkpointed transactions in the WAL) and copied while idle,
as a station's files would be found after a crash. Each trial damages one copy once (one bit
flipped, or the file truncated, in the database or in the WAL) and opens it as a station would.

Outcome of a trial, in the order it is decided:

``detected_open``
    ``Journal(path)`` raised ``CorruptJournalError`` (or another ``JournalError``).
``detected_verify`` / ``detected_check``
    it opened, but ``verify()`` (hash chain + SQLite quick_check) or ``check()`` (projection vs.
    rebuild) reported the damage.
``detected_use``
    verify/check passed, but reading everything raised a ``JournalError``: reported, not
    silent, though only when the damaged part is used.
``harmless``
    everything reads back *identical* to the pristine copy: every event, every submission row
    through its primary key, every history through the by-key index, the counts and the due
    list. The damaged bytes were not live data (free space, slack at the end of a page, a WAL
    frame superseded by a later one); nothing was lost or altered, so there was nothing to
    detect.
``UNDETECTED``
    it opened, verified and checked clean, but reads back different: silent damage. Must be 0.
``crash``
    a non-journal exception escaped (a bug in the error seam).
"""

from __future__ import annotations

import random
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

JOURNAL_NAME = "journal.db"
SUFFIXES = ("", "-wal", "-shm")
OUTCOMES = (
    "detected_open",
    "detected_verify",
    "detected_check",
    "detected_use",
    "harmless",
    "UNDETECTED",
    "crash",
)


def _payload(i: int) -> dict[str, Any]:
    from ._reports import report_for

    return report_for("corrupt", i)


def build_pristine(dest: Path, *, checkpointed: int = 200, recent: int = 25) -> Path:
    """Build a journal in ``dest`` and return the directory holding its idle copy.

    ``checkpointed`` submissions go into the database file (the journal is closed, which
    checkpoints); ``recent`` more, with state events, stay in the WAL of the still-open journal
    when the files are copied.
    """
    from journal import Journal

    live = dest / "live"
    live.mkdir(parents=True)
    path = live / JOURNAL_NAME

    def fill(j: Any, lo: int, hi: int) -> None:
        for i in range(lo, hi):
            key = _payload(i)["id"]
            j.submit(key, _payload(i), source={"file": f"r{i}.json"})
            if i % 3 == 0:
                j.upload_started([key])
                j.acknowledged(
                    key,
                    answer={
                        "report_id": key,
                        "latency_s": 0.0,
                        "status_code": 200,
                        "correlation_id": None,
                    },
                )
            elif i % 3 == 1:
                j.upload_started([key])
                j.retry_scheduled(
                    key,
                    attempt=1,
                    next_attempt_at=1e9 + i,
                    error_class="ServerError",
                    message="503 Service Unavailable",
                    status_code=503,
                )

    with Journal(path) as j:
        fill(j, 0, checkpointed)
    pristine = dest / "pristine"
    pristine.mkdir()
    j = Journal(path)
    try:
        fill(j, checkpointed, checkpointed + recent)
        for suffix in SUFFIXES:
            src = Path(f"{path}{suffix}")
            if src.exists():
                shutil.copyfile(src, pristine / f"{JOURNAL_NAME}{suffix}")
    finally:
        j.close()
    return pristine


def fingerprint(path: Path) -> dict[str, Any]:
    """Everything the journal gives back, read through each access path (raises JournalError)."""
    from journal import Journal

    with Journal(path) as j:
        events = list(j.dump())
        keys = sorted({e["key"] for e in events if e["key"]})
        return {
            "events": events,
            "rows": {k: j.submission(k) for k in keys},
            "histories": {k: [e.seq for e in j.history(k)] for k in keys},
            "counts": dict(j.counts()),
            "due": [s.key for s in j.due(2e9, 100000, include_in_flight=True)],
        }


@dataclass(frozen=True)
class Damage:
    """One mutation: which file, what, where."""

    file: str
    kind: str  # "flip" | "truncate"
    offset: int
    bit: int = 0


def damage(copy_dir: Path, rng: random.Random) -> Damage:
    """Flip one bit in, or truncate, the database file or the WAL of the copy (50/50 each)."""
    target = copy_dir / (JOURNAL_NAME + rng.choice(("", "-wal")))
    if not target.exists() or target.stat().st_size == 0:
        target = copy_dir / JOURNAL_NAME
    size = target.stat().st_size
    if rng.random() < 0.5:
        offset, bit = rng.randrange(size), rng.randrange(8)
        with open(target, "r+b") as f:
            f.seek(offset)
            byte = f.read(1)[0]
            f.seek(offset)
            f.write(bytes([byte ^ (1 << bit)]))
        return Damage(target.name, "flip", offset, bit)
    offset = rng.randrange(size)
    with open(target, "r+b") as f:
        f.truncate(offset)
    return Damage(target.name, "truncate", offset)


def classify(path: Path, expected: dict[str, Any]) -> tuple[str, str]:
    """The outcome of opening a damaged copy, and the message that reported it (if any)."""
    from journal import Journal, JournalError

    try:
        try:
            j = Journal(path)
        except JournalError as exc:
            return "detected_open", str(exc)
        try:
            v = j.verify()
            if not v.ok:
                return "detected_verify", f"seq {v.first_bad_seq}: {v.reason}"
            c = j.check()
            if not c.ok:
                return "detected_check", "; ".join(c.differences[:2])
        except JournalError as exc:
            return "detected_verify", str(exc)
        finally:
            j.close()
        try:
            got = fingerprint(path)
        except JournalError as exc:
            return "detected_use", str(exc)
        return ("harmless", "") if got == expected else ("UNDETECTED", "reads back different")
    except Exception as exc:
        return "crash", f"{type(exc).__name__}: {exc}"


def _reference_verdict(path: Path) -> tuple[bool, str]:
    """(True, why) when an undamaged copy fails open, verify or check."""
    from journal import Journal

    copy = path.parent.parent / "reference-check"
    shutil.copytree(path.parent, copy)
    try:
        with Journal(copy / JOURNAL_NAME) as j:
            v, c = j.verify(), j.check()
        if not v.ok:
            return True, f"verify: {v.reason}"
        if not c.ok:
            return True, f"check: {c.differences[:2]}"
        return False, ""
    finally:
        shutil.rmtree(copy)


@dataclass
class SweepResult:
    """Counts per outcome, per (file, kind), and the trials that must be looked at."""

    trials: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    by_target: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    bad: list[tuple[Damage, str, str]] = field(default_factory=list)
    examples: dict[str, str] = field(default_factory=dict)


def sweep(
    work: Path,
    trials: int,
    seed: int,
    progress: Callable[[int, Damage, str], None] | None = None,
) -> SweepResult:
    """Run ``trials`` damaged copies of one pristine journal built under ``work``."""
    # Two layouts: a WAL holding only live frames, and one that was checkpointed and restarted
    # (live frames at its start, stale ones after): both are what a station leaves behind.
    layouts = []
    for name, recent in (("live-wal", 25), ("restarted-wal", 150)):
        pristine = build_pristine(work / name, recent=recent)
        reference = work / name / "reference"
        shutil.copytree(pristine, reference)
        verdict, message = _reference_verdict(reference / JOURNAL_NAME)
        if verdict:
            # An undamaged copy that fails would make every trial look "detected".
            raise RuntimeError(f"the undamaged journal does not pass its own checks: {message}")
        layouts.append((pristine, fingerprint(reference / JOURNAL_NAME)))
    rng = random.Random(seed)
    result = SweepResult()
    for i in range(trials):
        pristine, expected = layouts[i % 2]
        copy = work / f"trial-{i}"
        shutil.copytree(pristine, copy)
        what = damage(copy, rng)
        outcome, message = classify(copy / JOURNAL_NAME, expected)
        result.trials += 1
        result.outcomes[outcome] += 1
        result.by_target[(what.file, what.kind, outcome)] += 1
        result.examples.setdefault(outcome, message[:200])
        if outcome in ("UNDETECTED", "crash"):
            result.bad.append((what, outcome, message))
        shutil.rmtree(copy)
        if progress is not None:
            progress(i, what, outcome)
    return result
