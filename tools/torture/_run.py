"""Kill torture: the real engine, SIGKILLed at random moments against a faulty simulator.

Each round starts one station process — alternately ``syncengine run`` (the CLI, fed through the
watch folder) and ``tools.torture._station`` (``SyncEngine`` embedded in station code, fed
through ``SyncEngine.submit`` and the same watch folder) — re-rolls the simulator's faults (5xx,
429 with Retry-After, connections dropped before and after the report was stored, outages),
writes report files into the watch folder while it runs, and SIGKILLs it after a random delay:
during start-up, journal appends, uploads, acknowledgements and file moves alike. Every third
round also runs ``syncengine journal archive --older-than 0`` against the same journal while the
station runs, and SIGKILLs it at a random moment, mid-write of its file, just after its rename,
or lets it finish (``_archiver.py``). After the last kill the faults are cleared and
``syncengine run`` drains everything, then stops on SIGTERM.

The rounds feed exactly ``reports`` reports: each round's quota is what is left divided by the
rounds left (with jitter), half through ``SyncEngine.submit`` in the station rounds, half as
files; API submissions a kill cut short are carried over, and the last station round is killed
only once its station has begun all of its submissions.

What must hold at the end:

* every report id on the simulator was submitted (API ids whose ``submit`` began, file ids), and
  every API id whose ``submit`` returned and every file's id is on the simulator;
* every report id is held exactly once: in the live journal or in one archive the journal
  records (read back and verified through its recorded sha256), never in both or twice; every
  promised id is in one of them; no archive file under a final name lacks its ``Archived``
  event (a killed archive leaves only a ``.tmp``); none left pending or in flight, and
  ``verify()`` and ``check()`` pass;
* every file written is in ``done/`` (none lost, none in ``error/``: all were valid).
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ._archiver import MODES, ArchiveFigures, ArchiveRound, account_archives
from ._reports import report_for

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "torture-token-7f3c9a"


@dataclass
class TortureResult:
    """Figures and verdicts of one torture run."""

    kills: int = 0
    rounds_cli: int = 0
    rounds_station: int = 0
    api_begun: set[str] = field(default_factory=set)
    api_returned: set[str] = field(default_factory=set)
    file_ids: dict[str, str] = field(default_factory=dict)  # file name -> report id
    on_server: set[str] = field(default_factory=set)
    resends: int = 0
    journal_keys: int = 0
    journal_problems: list[str] = field(default_factory=list)
    accounting_problems: list[str] = field(default_factory=list)  # ids live/archived, orphans
    archive: ArchiveFigures = field(default_factory=ArchiveFigures)
    files_missing: list[str] = field(default_factory=list)
    files_in_error: list[str] = field(default_factory=list)
    drained: bool = False
    seconds: float = 0.0
    faults_injected: dict[str, int] = field(default_factory=dict)

    @property
    def lost(self) -> set[str]:
        """Promised ids (returned API submits, written files) missing on the server."""
        return (self.api_returned | set(self.file_ids.values())) - self.on_server

    @property
    def unexpected(self) -> set[str]:
        """Ids on the server that nobody submitted."""
        return self.on_server - self.api_begun - set(self.file_ids.values())

    @property
    def ok(self) -> bool:
        """True when nothing was lost, invented, left behind or damaged."""
        return not (
            self.lost
            or self.unexpected
            or self.journal_problems
            or self.accounting_problems
            or self.archive.failures
            or self.files_missing
            or self.files_in_error
            or not self.drained
        )

    def summary(self) -> str:
        """One paragraph of figures."""
        return (
            f"kills={self.kills} rounds_cli={self.rounds_cli} "
            f"rounds_station={self.rounds_station} api_returned={len(self.api_returned)} "
            f"api_begun={len(self.api_begun)} files={len(self.file_ids)} "
            f"on_server={len(self.on_server)} lost={len(self.lost)} "
            f"unexpected={len(self.unexpected)} resends_absorbed={self.resends} "
            f"journal_keys={self.journal_keys} journal_problems={self.journal_problems} "
            f"{self.archive.summary()} archive_failures={self.archive.failures} "
            f"accounting_problems={self.accounting_problems} "
            f"files_missing={len(self.files_missing)} files_in_error={len(self.files_in_error)} "
            f"drained={self.drained} seconds={self.seconds:.1f} faults={self.faults_injected}"
        )


class _Simulator:
    """``python -m watsim`` as a subprocess."""

    def __init__(self, work: Path, seed: int) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "watsim",
                "--port",
                "0",
                "--token",
                TOKEN,
                "--seed",
                str(seed),
                "--db",
                str(work / "sim.db"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=str(ROOT),
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        if not match:
            self.proc.kill()
            raise RuntimeError(f"simulator did not start: {line!r}")
        self.url = match.group(1)
        self.http = httpx.Client(base_url=self.url, timeout=10.0)

    def faults(self, settings: dict[str, Any]) -> None:
        for _ in range(100):
            try:
                self.http.post("/_sim/faults", json=settings).raise_for_status()
                return
            except httpx.TransportError:
                time.sleep(0.1)  # the previous round's outage is still running
        raise RuntimeError("simulator /_sim/faults unreachable for 10 s")

    def stats(self) -> dict[str, Any]:
        for _ in range(100):
            try:
                return dict(self.http.get("/_sim/stats").json())
            except httpx.TransportError:
                time.sleep(0.1)  # an outage is still running
        raise RuntimeError("simulator stats unreachable for 10 s")

    def close(self) -> None:
        self.http.close()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _config_toml(work: Path, url: str) -> Path:
    watch = work / "watch"
    text = f"""
server_url = "{url}"
token = "{TOKEN}"
journal_path = "{(work / "journal.db").as_posix()}"
concurrency = 4
grace_period_s = 1.0
idle_poll_s = 0.05
probe_interval_s = 0.2
status_interval_s = 0.5
converter_workers = 1
converter_timeout_s = 30.0

[retry]
base_s = 0.05
cap_s = 0.5

[breaker]
failure_threshold = 5
reset_timeout_s = 0.3

[rate_limit]
rate_per_s = 1000.0
burst = 100

[timeouts]
connect_s = 2.0
read_s = 2.0
write_s = 2.0
pool_s = 2.0

[[watch]]
path = "{watch.as_posix()}"
converter = "wsjf"
stable_s = 0.05
rescan_s = 0.5
"""
    path = work / "config.toml"
    path.write_text(text)
    return path


def _random_faults(rng: random.Random) -> dict[str, Any]:
    faults: dict[str, Any] = {
        "error_rate": rng.choice((0.0, 0.1, 0.3)),
        "error_statuses": [500, 502, 503],
        "rate_limit_rate": rng.choice((0.0, 0.05, 0.2)),
        "retry_after_s": 0.05,
        "drop_before_store_rate": rng.choice((0.0, 0.05)),
        "drop_after_store_rate": rng.choice((0.0, 0.05, 0.2)),
        "latency_ms": [0, rng.choice((1, 20, 100))],
    }
    if rng.random() < 0.15:
        faults["down_for_s"] = rng.uniform(0.3, 1.5)
    return faults


def _write_file(watch: Path, name: str, report: dict[str, Any]) -> None:
    tmp = watch / f".{name}.partial"
    tmp.write_text(json.dumps(report), encoding="utf-8")
    os.replace(tmp, watch / name)


def _env(config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCENGINE_")}
    env["SYNCENGINE_CONFIG"] = str(config)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    return env


class _Reader(threading.Thread):
    """Collects B/S lines of a station process as they come."""

    def __init__(self, proc: subprocess.Popen[str], result: TortureResult) -> None:
        super().__init__(daemon=True)
        self.proc = proc
        self.result = result
        self.started = threading.Event()
        self.done = threading.Event()
        self.begun = 0

    def run(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            tag, _, rid = line.strip().partition(" ")
            if tag == "R":
                self.started.set()
            elif tag == "B":
                self.result.api_begun.add(rid)
                self.begun += 1
            elif tag == "D":
                self.done.set()
            elif tag == "S":
                self.result.api_returned.add(rid)


def _quota(rng: random.Random, remaining: int, rounds_left: int) -> int:
    """This round's share of ``remaining``: ~remaining/rounds_left, all of it in the last."""
    if rounds_left <= 1:
        return remaining
    return min(remaining, round(rng.uniform(0.5, 1.5) * remaining / rounds_left))


def _station_rounds_from(k: int, kill_points: int) -> int:
    """How many of rounds ``k .. kill_points-1`` are station rounds (the odd ones)."""
    return (kill_points - k + k % 2) // 2


def run_torture(
    work: Path,
    *,
    kill_points: int,
    reports: int,
    seed: int,
    drain_timeout_s: float = 180.0,
    log: Any = None,
) -> TortureResult:
    """Run the torture in ``work``; exactly ``reports`` are fed, half by API, half as files."""
    if kill_points < 1 or reports < 0:
        raise ValueError(f"need kill_points >= 1 and reports >= 0, got {kill_points}, {reports}")
    rng = random.Random(seed)
    work.mkdir(parents=True, exist_ok=True)
    (work / "watch").mkdir(exist_ok=True)
    (work / "archives").mkdir(exist_ok=True)
    result = TortureResult()
    started = time.monotonic()
    sim = _Simulator(work, seed)
    config = _config_toml(work, sim.url)
    env = _env(config)
    api_total = reports // 2 if _station_rounds_from(0, kill_points) else 0
    file_total = reports - api_total
    api_next = file_next = 0
    try:
        for k in range(kill_points):
            sim.faults(_random_faults(rng))
            _round(work, env, config, result, rng, k, kill_points, api_total, api_next, file_total)
            api_next = len(result.api_begun)
            file_next = len(result.file_ids)
            if log is not None:
                log(
                    f"kill {k + 1}/{kill_points}: {'station' if k % 2 else 'cli'} "
                    f"api={len(result.api_returned)}/{api_next} files={file_next} "
                    f"archive_kills={result.archive.kills}"
                )
        sim.faults({"down_for_s": 0})
        sim.faults({})
        result.drained = _drain(work, env, sim, result, drain_timeout_s)
        stats = sim.stats()
        result.faults_injected = dict(stats.get("faults_injected", {}))
        counts = stats.get("receive_counts", {})
        result.on_server = set(counts)
        result.resends = sum(counts.values()) - len(counts)
    finally:
        sim.close()
    _check_journal(work / "journal.db", work / "archives", result)
    _check_files(work, result)
    result.seconds = time.monotonic() - started
    return result


def _round(
    work: Path,
    env: dict[str, str],
    config: Path,
    result: TortureResult,
    rng: random.Random,
    k: int,
    kill_points: int,
    api_total: int,
    api_next: int,
    file_total: int,
) -> None:
    """Round ``k``: start a station (and every third round an archive), feed it, kill it."""
    station = k % 2 == 1
    if station:
        n_api = _quota(rng, api_total - api_next, _station_rounds_from(k, kill_points))
        argv = [sys.executable, "-m", "tools.torture._station", str(config), str(api_next)]
        argv.append(str(n_api))
        result.rounds_station += 1
    else:
        n_api = 0
        argv = [sys.executable, "-m", "syncengine", "run"]
        result.rounds_cli += 1
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=str(work)
    )
    reader = _Reader(proc, result)
    reader.start()
    if station:
        # Kill points of a station round fall after its engine started (start-up itself
        # is killed in the CLI rounds), so that API submissions happen on a slow machine.
        reader.started.wait(30.0)
    archiver = None
    if k % 3 == 2:
        archiver = ArchiveRound(
            env=env,
            cwd=work,
            dest=work / "archives" / f"a{k:06d}.jsonl.gz",
            mode=MODES[(k // 3) % len(MODES)],
            delay_s=rng.uniform(0.0, 0.8),
            kill_after_s=rng.uniform(0.0, 2.0),
            figures=result.archive,
        )
        archiver.start()
        result.archive.rounds += 1
    deadline = time.monotonic() + rng.uniform(0.2, 2.5)
    file_next = len(result.file_ids)
    for _ in range(_quota(rng, file_total - file_next, kill_points - k)):
        name = f"r{file_next:07d}.json"
        report = report_for("file", file_next)
        _write_file(work / "watch", name, report)
        result.file_ids[name] = report["id"]
        file_next += 1
        time.sleep(rng.uniform(0, 0.05))
    time.sleep(max(0.0, deadline - time.monotonic()))
    if station and n_api and _station_rounds_from(k + 1, kill_points) == 0:
        # The last station round: nobody is left to carry its unbegun submissions over.
        reader.done.wait(120.0)
    proc.kill()  # SIGKILL on POSIX, TerminateProcess on Windows
    proc.wait(timeout=30)
    reader.join(timeout=10)
    if archiver is not None:
        archiver.join(timeout=150.0)
    result.kills += 1


def _drain(
    work: Path, env: dict[str, str], sim: _Simulator, result: TortureResult, timeout_s: float
) -> bool:
    """Run ``syncengine run`` until everything is on the server and no file waits; SIGTERM."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncengine", "run"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=str(work),
    )
    deadline = time.monotonic() + timeout_s
    drained = False
    try:
        while time.monotonic() < deadline:
            on_server = set(sim.stats().get("receive_counts", {}))
            waiting = list((work / "watch").glob("*.json"))
            if (result.api_returned | set(result.file_ids.values())) <= on_server and not waiting:
                status = _status(work)
                if (
                    status is not None
                    and status.get("pending", 1) == 0
                    and status.get("in_flight", 1) == 0
                ):
                    drained = True
                    break
            if proc.poll() is not None:
                break
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return drained


def _status(work: Path) -> dict[str, int] | None:
    from journal import Journal, JournalError

    try:
        with Journal(work / "journal.db", check_on_open=False) as j:
            return dict(j.counts())
    except JournalError:
        return None


def _check_journal(path: Path, archive_dir: Path, result: TortureResult) -> None:
    from journal import Journal, JournalError

    try:
        with Journal(path) as j:
            v = j.verify()
            if not v.ok:
                result.journal_problems.append(f"verify: seq {v.first_bad_seq}: {v.reason}")
            c = j.check()
            if not c.ok:
                result.journal_problems.append(f"check: {c.differences[:3]}")
            counts = j.counts()
            if counts.get("pending", 0) or counts.get("in_flight", 0):
                result.journal_problems.append(f"left unfinished: {dict(counts)}")
            ids: dict[str, int] = {}
            archived_events: list[dict[str, Any]] = []
            for event in j.dump():
                if event["type"] == "Submitted":
                    rid = str(event["data"].get("payload", {}).get("id", "")).lower()
                    ids[rid] = ids.get(rid, 0) + 1
                elif event["type"] == "Archived":
                    archived_events.append(event)
            result.journal_keys = sum(ids.values())
    except JournalError as exc:
        result.journal_problems.append(f"open: {exc}")
        return
    result.accounting_problems += account_archives(archive_dir, archived_events, result.archive)
    archived = result.archive.archived_ids
    both = set(ids) & set(archived)
    if both:
        result.accounting_problems.append(f"{len(both)} report ids both live and archived")
    doubles = [rid for rid, n in ids.items() if n > 1] + [r for r, n in archived.items() if n > 1]
    if doubles:
        result.accounting_problems.append(
            f"{len(doubles)} report ids held twice (live or archived)"
        )
    submitted = result.api_begun | set(result.file_ids.values())
    unknown = (set(ids) | set(archived)) - submitted
    if unknown:
        result.accounting_problems.append(f"{len(unknown)} journal reports nobody submitted")
    missing = (result.api_returned | set(result.file_ids.values())) - set(ids) - set(archived)
    if missing:
        result.accounting_problems.append(f"{len(missing)} promised ids neither live nor archived")


def _check_files(work: Path, result: TortureResult) -> None:
    done = (
        {p.name for p in (work / "watch" / "done").glob("*")}
        if (work / "watch" / "done").exists()
        else set()
    )
    error_dir = work / "watch" / "error"
    errors = {p.name for p in error_dir.glob("*.json")} if error_dir.exists() else set()
    waiting = {p.name for p in (work / "watch").glob("*.json")}
    for name in result.file_ids:
        if name in errors:
            result.files_in_error.append(name)
        elif name not in done and name not in waiting:
            result.files_missing.append(name)
