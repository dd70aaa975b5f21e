"""Journal benchmark: ``python -m tools.bench journal [--size N] [--chunk N] [--big N]``.

Every figure is a ratio against baselines measured in the same run, on the same disk:

* raw 4 KB ``write`` + ``fsync`` to one file (the physical limit for one durable commit);
* a folder queue: temp file + fsync + rename + directory fsync (what pyWATS does);
* persist-queue's ``SQLiteAckQueue`` (``put``; ``get`` + ``ack``; and ``put`` + ``get`` +
  ``ack`` of each item, the like-for-like baseline for the journal's full lifecycle).

Cases run interleaved in small steps (``--chunk``) until each has done ``--size`` operations,
so all of them see the same disk conditions (a shared disk's fsync latency swings by 10x).
``--big`` builds a journal of that many events once (cached in the output folder), then a fresh
subprocess measures open, rebuild and peak RSS. See
docs/performance.md for the figures and the command line that produced them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from journal import Journal, NewEvent, query


def report(n: int) -> dict[str, Any]:
    """A ~2 KB UUT report-like payload."""
    steps = [{"name": f"Step {i}", "status": "P", "value": i * 1.5, "unit": "V"} for i in range(30)]
    return {
        "id": str(uuid.UUID(int=n)),
        "type": "T",
        "pn": "PN-100",
        "sn": f"SN{n}",
        "steps": steps,
    }


# -- cases: each does ``m`` operations per step and returns the seconds it measured -----------
#
# The disk is shared and its fsync latency swings by 10x within seconds, so cases are not run
# one after another: the runner interleaves small steps of every case (raw, folder, pq, journal,
# raw, folder, ...) so each sees the same disk weather, and sums the time per case.


class Case:
    """One benchmark case; ``step(m)`` performs ``m`` operations and returns seconds spent."""

    def __init__(self, d: Path) -> None:
        self.d = d

    def step(self, m: int) -> float:
        """Do ``m`` operations; return the measured seconds."""
        raise NotImplementedError

    def close(self) -> None:
        """Release files."""


class RawFsync(Case):
    """4 KB append + fsync per operation: the physical limit for one durable commit."""

    def __init__(self, d: Path) -> None:
        super().__init__(d)
        self.block = json.dumps(report(0)).encode().ljust(4096, b" ")[:4096]
        self.fd = os.open(d / "raw.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def step(self, m: int) -> float:
        t = time.perf_counter()
        for _ in range(m):
            os.write(self.fd, self.block)
            os.fsync(self.fd)
        return time.perf_counter() - t

    def close(self) -> None:
        os.close(self.fd)


class FolderQueue(Case):
    """Temp file + fsync + rename + directory fsync per item (the pyWATS folder queue)."""

    def __init__(self, d: Path) -> None:
        super().__init__(d)
        self.q = d / "folder"
        self.q.mkdir()
        self.body = json.dumps(report(0)).encode()
        self.n = 0
        self.dir_fd = os.open(self.q, os.O_RDONLY) if os.name != "nt" else None

    def step(self, m: int) -> float:
        t = time.perf_counter()
        for _ in range(m):
            tmp = self.q / f"{self.n}.json.tmp"
            with open(tmp, "wb") as f:
                f.write(self.body)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.q / f"{self.n}.json")
            if self.dir_fd is not None:
                os.fsync(self.dir_fd)
            self.n += 1
        return time.perf_counter() - t

    def close(self) -> None:
        if self.dir_fd is not None:
            os.close(self.dir_fd)


class PersistQueuePut(Case):
    """persist-queue ``SQLiteAckQueue.put`` (auto_commit: one durable commit per item)."""

    def __init__(self, d: Path) -> None:
        super().__init__(d)
        from persistqueue import SQLiteAckQueue

        self.q = SQLiteAckQueue(str(d / "pq"), auto_commit=True)
        self.n = 0

    def step(self, m: int) -> float:
        t = time.perf_counter()
        for _ in range(m):
            self.q.put(report(self.n))
            self.n += 1
        return time.perf_counter() - t


class PersistQueueGetAck(Case):
    """persist-queue ``get`` + ``ack`` of the items the put case queued."""

    def __init__(self, d: Path, put: PersistQueuePut) -> None:
        super().__init__(d)
        self.q = put.q

    def step(self, m: int) -> float:
        t = time.perf_counter()
        for _ in range(m):
            self.q.ack(self.q.get(block=False))
        return time.perf_counter() - t


class PersistQueueLifecycle(Case):
    """persist-queue ``put`` then ``get`` + ``ack`` of each item: the like-for-like lifecycle."""

    def __init__(self, d: Path) -> None:
        super().__init__(d)
        from persistqueue import SQLiteAckQueue

        self.q = SQLiteAckQueue(str(d / "pq-life"), auto_commit=True)
        self.n = 0

    def step(self, m: int) -> float:
        t = time.perf_counter()
        for _ in range(m):
            self.q.put(report(self.n))
            self.n += 1
            self.q.ack(self.q.get(block=False))
        return time.perf_counter() - t


class JournalCase(Case):
    """Shared set-up: one journal file per case (synchronous=FULL)."""

    def __init__(self, d: Path, name: str) -> None:
        super().__init__(d)
        self.j = Journal(d / f"{name}.db")
        self.n = 0

    def keys(self, m: int) -> list[str]:
        keys = [f"k{i}" for i in range(self.n, self.n + m)]
        self.n += m
        return keys

    def close(self) -> None:
        self.j.close()


class Submit(JournalCase):
    """One producer, one durable ``submit`` per item (chain and projection included)."""

    def step(self, m: int) -> float:
        keys = self.keys(m)
        t = time.perf_counter()
        for i, key in enumerate(keys):
            self.j.submit(key, report(i))
        return time.perf_counter() - t


def _threads(count: int, target: Callable[[int], None]) -> None:
    threads = [threading.Thread(target=target, args=(w,)) for w in range(count)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()


class Concurrent(JournalCase):
    """``producers`` threads calling ``submit`` at once (in-process group commit)."""

    producers = 8

    def step(self, m: int) -> float:
        keys = self.keys(m)
        share = [keys[w :: self.producers] for w in range(self.producers)]

        def produce(w: int) -> None:
            for i, key in enumerate(share[w]):
                self.j.submit(key, report(i))

        t = time.perf_counter()
        _threads(self.producers, produce)
        return time.perf_counter() - t


POLL_S = 0.005
"""The benchmark engine's poll interval when less than a batch is due."""

BATCH = 50
"""Submissions the benchmark engine takes per due() / upload_started / record()."""


def _drain(j: Journal, total: int, done: Callable[[], bool]) -> None:
    """The engine's side: pick due, mark in flight, record acks, in batches.

    Like the engine, it polls: when fewer than ``BATCH`` items were due it sleeps ``POLL_S``
    before looking again, so acknowledgements are group-committed instead of one per item.
    """
    acked = 0
    while acked < total:
        due = j.due(time.time() + 1, BATCH, parse_payloads=False)  # as the engine reads
        if due:
            keys = [s.key for s in due]
            j.upload_started(keys)
            j.record([NewEvent(k, "Acknowledged", {"answer": {"id": k}}) for k in keys])
            acked += len(keys)
        if len(due) < BATCH:
            if done() and not due and not j.due(time.time() + 1, 1):
                break
            time.sleep(POLL_S)


class EngineSide(JournalCase):
    """due -> upload_started -> acknowledged of already-submitted items (submit not timed)."""

    def step(self, m: int) -> float:
        self.j.submit_many([(k, report(i), None) for i, k in enumerate(self.keys(m))])
        t = time.perf_counter()
        _drain(self.j, m, lambda: True)
        return time.perf_counter() - t


class Lifecycle(JournalCase):
    """Full lifecycle: producers ``submit`` one by one while the engine drains."""

    def __init__(self, d: Path, name: str, producers: int) -> None:
        super().__init__(d, name)
        self.producers = producers

    def step(self, m: int) -> float:
        keys = self.keys(m)
        share = [keys[w :: self.producers] for w in range(self.producers)]
        finished = threading.Event()

        def produce(w: int) -> None:
            for i, key in enumerate(share[w]):
                self.j.submit(key, report(i))

        def run_producers() -> None:
            _threads(self.producers, produce)
            finished.set()

        t = time.perf_counter()
        feeder = threading.Thread(target=run_producers)
        feeder.start()
        _drain(self.j, m, finished.is_set)
        feeder.join()
        return time.perf_counter() - t


# -- the 1M-event journal -----------------------------------------------------------------------


def build_big(path: Path, events: int) -> None:
    """submit + upload_started + acknowledged per submission, in large transactions."""
    if path.exists() and Path(f"{path}.complete").exists():
        return
    for suffix in ("", "-wal", "-shm", ".complete"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    subs = -(-events // 3)
    chunk = 5000
    t = time.perf_counter()
    with Journal(path, synchronous="NORMAL") as j:
        for start in range(0, subs, chunk):
            keys = [f"big-{i}" for i in range(start, min(subs, start + chunk))]
            j.submit_many([(k, report(i), None) for i, k in enumerate(keys, start)])
            j.record([NewEvent(k, "UploadStarted") for k in keys])
            j.record([NewEvent(k, "Acknowledged", {"answer": {"id": k}}) for k in keys])
    Path(f"{path}.complete").write_text(f"{subs * 3} events\n")
    print(f"  built {subs * 3} events in {time.perf_counter() - t:.0f} s", file=sys.stderr)


def _peak_rss_mb() -> float | None:
    """Peak RSS of this process in MB.

    Linux: VmHWM of this process image. ``ru_maxrss`` is not used there because the kernel
    carries it across ``exec`` from the forking parent (the benchmark runner), which would
    report the runner's memory, not ours.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        pass
    try:
        import resource
    except ImportError:  # Windows: no resource module, no /proc
        return None
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 1e6


def measure_big(path: Path) -> dict[str, Any]:
    """Run in a fresh process: open, rebuild (cold-ish then warm), queries, peak RSS."""
    t = time.perf_counter()
    j = Journal(path)
    open_s = time.perf_counter() - t
    j.close()
    t = time.perf_counter()
    j = Journal(path)
    open_warm_s = time.perf_counter() - t
    rss_open = _peak_rss_mb()
    t = time.perf_counter()
    j.rebuild()
    rebuild_first_s = time.perf_counter() - t
    t, cpu = time.perf_counter(), time.process_time()
    rebuilt = j.rebuild()
    rebuild_warm_s = time.perf_counter() - t
    rebuild_warm_cpu_s = time.process_time() - cpu
    t = time.perf_counter()
    counts = j.counts()
    j.due(time.time(), 100)
    j.next_due_at()
    queries_s = time.perf_counter() - t
    j.close()
    peak = _peak_rss_mb()  # before query(), which imports sqlite-utils (and numpy with it)
    (row,) = query(path, "SELECT max(seq) AS n FROM events")
    n_events = row["n"]
    out = {
        "events": n_events,
        "submissions": rebuilt,
        "counts": counts,
        "open_s": open_s,
        "open_warm_s": open_warm_s,
        "rebuild_first_s": rebuild_first_s,
        "rebuild_warm_s": rebuild_warm_s,
        "rebuild_warm_cpu_s": rebuild_warm_cpu_s,
        "queries_s": queries_s,
        "file_mb": path.stat().st_size / 1e6,
        "peak_rss_after_open_mb": rss_open,
    }
    out["peak_rss_mb"] = peak
    return out


# -- WAL pages per durable submit -------------------------------------------------------------


def frames_per_commit(out: Path, commits: int, existing: int = 3000) -> dict[str, float]:
    """WAL frames one durable ``submit`` writes, per b-tree (``dbstat``), on a warm journal.

    ``existing`` submissions first (random keys, like the engine's), then ``commits`` single
    submits with automatic checkpoints off; the frames' page numbers are read from the WAL's
    frame headers (https://www.sqlite.org/fileformat2.html) and named with ``dbstat``. Fewer
    pages per commit mean cheaper fsyncs and a cheaper COMMIT.
    """
    import sqlite3
    import struct

    path = out / "frames.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with Journal(path) as j:
        j.submit_many([(str(uuid.uuid4()), report(i), None) for i in range(existing)])
        conn = j._store.conn
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        for i in range(commits):
            j.submit(str(uuid.uuid4()), report(i))
        wal = Path(f"{path}-wal").read_bytes()
        page_size = struct.unpack(">I", wal[8:12])[0]
        pages = [
            struct.unpack(">I", wal[off : off + 4])[0]
            for off in range(32, len(wal) - 24, 24 + page_size)
        ]
        try:
            names = dict(conn.execute("SELECT pageno, name FROM dbstat").fetchall())
        except sqlite3.Error:  # SQLite built without the dbstat table: totals only
            names = {}
        conn.execute("PRAGMA wal_autocheckpoint = 1000")
    per: dict[str, float] = {}
    for page in pages:
        name = names.get(page, "?") if page != 1 else "page 1 (file header)"
        per[name] = per.get(name, 0.0) + 1 / commits
    per["total"] = len(pages) / commits
    return per


# -- runner -------------------------------------------------------------------------------------


def run_cases(out: Path, size: int, chunk: int) -> dict[str, float]:
    """Interleave ``chunk``-sized steps of every case until each did ``size``; ops/s per case."""
    shutil.rmtree(out / "cases", ignore_errors=True)
    d = out / "cases"
    d.mkdir(parents=True)
    put = PersistQueuePut(d)
    cases: dict[str, Case] = {
        "raw": RawFsync(d),
        "folder": FolderQueue(d),
        "pq_put": put,
        "pq_get_ack": PersistQueueGetAck(d, put),
        "pq_life": PersistQueueLifecycle(d),
        "submit": Submit(d, "submit"),
        "concurrent8": Concurrent(d, "concurrent"),
        "engine": EngineSide(d, "engine"),
        "life1": Lifecycle(d, "life1", 1),
        "life8": Lifecycle(d, "life8", 8),
    }
    spent = dict.fromkeys(cases, 0.0)
    done = 0
    try:
        while done < size:
            m = min(chunk, size - done)
            for name, case in cases.items():
                spent[name] += case.step(m)
            done += m
            print(f"  {done}/{size}", file=sys.stderr, end="\r")
    finally:
        for case in cases.values():
            case.close()
        shutil.rmtree(d, ignore_errors=True)
    return {name: size / seconds for name, seconds in spent.items()}


def main(argv: list[str]) -> int:
    """Run the benchmark and print Markdown tables of ops/s and ratios."""
    parser = argparse.ArgumentParser(prog="python -m tools.bench journal")
    parser.add_argument("--size", type=int, default=2000, help="operations per case")
    parser.add_argument("--chunk", type=int, default=50, help="operations per interleaved step")
    parser.add_argument(
        "--big", type=int, default=1_000_000, help="events in the big journal; 0=skip"
    )
    parser.add_argument(
        "--frames", type=int, default=200, help="single submits for WAL pages per commit; 0=skip"
    )
    parser.add_argument("--out", type=Path, default=Path("bench-out") / "journal")
    parser.add_argument("--measure-big", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure_big:
        print(json.dumps(measure_big(args.measure_big)))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    m = run_cases(args.out, args.size, args.chunk)
    load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    raw, pq, life = m["raw"], m["pq_get_ack"], m["pq_life"]
    rows = [
        ("raw 4 KB append + fsync", "raw", None, None),
        ("folder queue: tmp + fsync + rename + dir fsync", "folder", raw, None),
        ("persist-queue SQLiteAckQueue put", "pq_put", raw, None),
        ("persist-queue SQLiteAckQueue get+ack", "pq_get_ack", raw, None),
        ("persist-queue SQLiteAckQueue put+get+ack", "pq_life", raw, None),
        ("journal submit, 1 producer (FULL)", "submit", raw, ">= 0.8x raw"),
        ("journal submit, 8 producer threads (group commit)", "concurrent8", raw, ">= 2x raw"),
        (
            f"journal engine side: due, started, acked in batches of {BATCH}",
            "engine",
            pq,
            ">= 5x pq get+ack",
        ),
        ("journal full lifecycle, 1 producer + engine", "life1", life, ">= 1.5x pq put+get+ack"),
        ("journal full lifecycle, 8 producers + engine", "life8", life, ">= 1.5x pq put+get+ack"),
    ]
    print(f"\nops/s over {args.size} operations per case, interleaved in steps of {args.chunk}")
    if load is not None:
        print(f"(load average {load:.1f} before, {load_after:.1f} after, {os.cpu_count()} CPUs)")
    print()
    print("| case | ops/s | ratio | target |\n|---|---:|---:|---|")
    for label, key, base, target in rows:
        unit = {raw: "raw", pq: "pq get+ack", life: "pq put+get+ack"}.get(base or 0.0, "")
        ratio = "" if base is None else f"{m[key] / base:.2f}x {unit}"
        print(f"| {label} | {m[key]:,.0f} | {ratio} | {target or ''} |")
    if args.frames:
        per = frames_per_commit(args.out, args.frames)
        print(f"\nWAL pages written per durable submit ({args.frames} submits, warm journal):\n")
        print("| b-tree | pages per commit |\n|---|---:|")
        for name, value in sorted(per.items(), key=lambda kv: (kv[0] == "total", -kv[1])):
            print(f"| {name} | {value:.2f} |")
    if args.big:
        path = args.out / f"big-{args.big}.db"
        build_big(path, args.big)
        proc = subprocess.run(
            [sys.executable, "-m", "tools.bench", "journal", "--measure-big", str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
        big = json.loads(proc.stdout)
        print(
            f"\n{big['events']:,} events ({big['submissions']:,} submissions, "
            f"{big['file_mb']:.0f} MB), fresh process:\n"
        )
        print("| measure | value | target |\n|---|---:|---|")
        print(f"| open (first in process) | {big['open_s']:.3f} s | <= 0.5 s |")
        print(f"| open (again) | {big['open_warm_s']:.3f} s | <= 0.5 s |")
        print(f"| rebuild (first) | {big['rebuild_first_s']:.2f} s | |")
        print(f"| rebuild (warm) | {big['rebuild_warm_s']:.2f} s | <= 2 s |")
        print(f"| rebuild (warm), CPU time of the process | {big['rebuild_warm_cpu_s']:.2f} s | |")
        print(f"| counts + due(100) + next_due_at | {big['queries_s'] * 1000:.1f} ms | |")
        for label, value in (
            ("peak RSS after open", big["peak_rss_after_open_mb"]),
            ("peak RSS of that process (open, 2 rebuilds, queries)", big["peak_rss_mb"]),
        ):
            shown = "n/a" if value is None else f"{value:.0f} MB"
            print(f"| {label} | {shown} | < 50 MB |")
    return 0
