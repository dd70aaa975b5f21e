"""Archive rounds of the kill torture, and the accounting of archived submissions.

An archive round runs ``syncengine journal archive --older-than 0 --dest F`` (same
``SYNCENGINE_CONFIG`` as the station, so the same journal) while the station runs, and ends it
one of four ways, in turn: a SIGKILL after a random delay; a SIGKILL as soon as ``F.tmp``
appears (mid-write: the file is being written, or written and the commit not yet done); a
SIGKILL as soon as ``F`` appears (just after the rename); or no kill (it finishes).

At the end every archive the live journal records (``Archived`` events) is read back with
``journal.read_archive(path, expected_sha256=...)``; files under a final name that no
``Archived`` event names are orphans (an archive that looks valid but is not).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MODES = ("random", "mid-write", "after-rename", "finish")


@dataclass
class ArchiveFigures:
    """What the archive rounds did and what the final accounting found."""

    rounds: int = 0
    kills: int = 0
    kills_mid_write: int = 0  # ``F.tmp`` present, ``F`` not, at the kill
    kills_after_rename: int = 0  # ``F`` present at the kill
    completed: int = 0  # exited on their own with something archived
    empty: int = 0  # exited on their own with nothing to archive
    failures: list[str] = field(default_factory=list)  # non-zero exit without a kill
    recorded_files: int = 0
    archived_ids: dict[str, int] = field(default_factory=dict)  # report id -> times archived
    tmp_left: int = 0  # .tmp files left by kills (not recorded: nobody's archive)
    pending_renames: int = 0  # recorded archives still under .tmp (killed after commit)

    def summary(self) -> str:
        """The archive part of the torture's summary line."""
        return (
            f"archive_rounds={self.rounds} archive_kills={self.kills} "
            f"(mid_write={self.kills_mid_write} after_rename={self.kills_after_rename}) "
            f"archives_completed={self.completed} archives_empty={self.empty} "
            f"archive_files={self.recorded_files} archived_ids={len(self.archived_ids)} "
            f"tmp_left={self.tmp_left} pending_renames={self.pending_renames}"
        )


class ArchiveRound(threading.Thread):
    """One archive CLI run, started after ``delay_s`` and ended according to ``mode``."""

    def __init__(
        self,
        *,
        env: dict[str, str],
        cwd: Path,
        dest: Path,
        mode: str,
        delay_s: float,
        kill_after_s: float,
        figures: ArchiveFigures,
    ) -> None:
        super().__init__(daemon=True)
        if mode not in MODES:
            raise ValueError(f"archive round mode must be one of {MODES}, got {mode!r}")
        self.env, self.cwd, self.dest, self.mode = env, cwd, dest, mode
        self.delay_s, self.kill_after_s = delay_s, kill_after_s
        self.figures = figures

    def run(self) -> None:
        time.sleep(self.delay_s)
        argv = [sys.executable, "-m", "syncengine", "journal", "archive", "--older-than", "0"]
        argv += ["--dest", str(self.dest)]
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
            cwd=str(self.cwd),
        )
        try:
            self._end(proc)
        finally:
            if proc.poll() is None:
                proc.kill()
            if proc.stdout is not None and not proc.stdout.closed:
                proc.communicate(timeout=30)  # reap it and close its pipes

    def _end(self, proc: subprocess.Popen[str]) -> None:
        tmp = self.dest.with_name(self.dest.name + ".tmp")
        if self.mode == "finish":
            self._finished(proc, timeout_s=90.0)
            return
        deadline = time.monotonic() + (self.kill_after_s if self.mode == "random" else 30.0)
        while proc.poll() is None and time.monotonic() < deadline:
            if self.mode == "mid-write" and tmp.exists():
                break
            if self.mode == "after-rename" and self.dest.exists():
                break
            time.sleep(0.002)
        if proc.poll() is not None:
            self._finished(proc, timeout_s=0.0)
            return
        at_tmp, at_final = tmp.exists(), self.dest.exists()
        proc.kill()  # SIGKILL on POSIX, TerminateProcess on Windows
        proc.wait(timeout=30)
        self.figures.kills += 1
        self.figures.kills_mid_write += at_tmp and not at_final
        self.figures.kills_after_rename += at_final

    def _finished(self, proc: subprocess.Popen[str], timeout_s: float) -> None:
        try:
            out, err = proc.communicate(timeout=timeout_s or None)
        except subprocess.TimeoutExpired:
            self.figures.failures.append(f"{self.dest.name}: still running after {timeout_s} s")
            return
        if proc.returncode != 0:
            self.figures.failures.append(
                f"{self.dest.name}: exit {proc.returncode}: {err.strip()[-300:]}"
            )
        elif out.startswith("nothing to archive"):
            self.figures.empty += 1
        else:
            self.figures.completed += 1


def account_archives(
    archive_dir: Path, events: list[dict[str, Any]], figures: ArchiveFigures
) -> list[str]:
    """Read back every archive the journal's ``events`` record; return the problems found.

    Fills ``figures.archived_ids`` (report id -> how many recorded archives hold it).
    """
    from journal import ArchiveError, read_archive

    problems: list[str] = []
    recorded: dict[str, str] = {}
    for event in events:
        if event["type"] != "Archived":
            continue
        data = event["data"]
        name, sha = str(data["file"]), str(data["sha256"])
        recorded[name] = sha
        keys: set[str] = set()
        try:
            for record in read_archive(archive_dir / name, expected_sha256=sha):
                if record["type"] == "Submitted":
                    keys.add(record["key"])
                    rid = str(record["data"].get("payload", {}).get("id", "")).lower()
                    figures.archived_ids[rid] = figures.archived_ids.get(rid, 0) + 1
        except (ArchiveError, OSError) as exc:
            problems.append(f"recorded archive {name} does not read back: {exc}")
            continue
        if keys != {k for k, _ in data["keys"]}:
            problems.append(f"archive {name} holds other keys than its Archived event names")
    figures.recorded_files = len(recorded)
    for path in sorted(archive_dir.glob("*")):
        if path.name.endswith(".tmp"):
            if path.name[: -len(".tmp")] in recorded:
                figures.pending_renames += 1
            else:
                figures.tmp_left += 1
        elif path.name not in recorded:
            problems.append(f"orphan archive {path.name}: a final name no Archived event names")
    return problems
