"""Journal benchmark: ``python -m tools.bench journal [--size N] [--big N] [--rounds R]``.

Every figure is a ratio against baselines measured in the same run, on the same disk:

* raw 4 KB ``write`` + ``fsync`` to one file (the physical limit for one durable commit);
* a folder queue: temp file + fsync + rename + directory fsync (what pyWATS does);
* persist-queue's ``SQLiteAckQueue`` (``put``; ``get`` + ``ack``).

Each case runs ``--rounds`` times interleaved with the others (the disk is shared and noisy);
the median is reported. ``--big`` builds a journal of that many events once (cached in the
output folder), then a fresh subprocess measures open, rebuild and peak RSS. See
docs/performance.md for the figures and the command line that produced them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
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


def _payload_bytes() -> bytes:
    return json.dumps(report(0)).encode().ljust(4096, b" ")[:4096]


POLL_S = 0.005
"""The benchmark engine's poll interval when less than a batch is due."""


# -- baselines ----------------------------------------------------------------------------------


def raw_fsync(d: Path, n: int) -> float:
    """4 KB append + fsync per operation; returns ops/s."""
    block = _payload_bytes()
    fd = os.open(d / "raw.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        t = time.perf_counter()
        for _ in range(n):
            os.write(fd, block)
            os.fsync(fd)
        return n / (time.perf_counter() - t)
    finally:
        os.close(fd)


def folder_queue(d: Path, n: int) -> float:
    """Temp file + fsync + rename + directory fsync per item; returns ops/s."""
    q = d / "folder"
    q.mkdir()
    body = json.dumps(report(0)).encode()
    dir_fd = os.open(q, os.O_RDONLY) if os.name != "nt" else None
    try:
        t = time.perf_counter()
        for i in range(n):
            tmp = q / f"{i}.json.tmp"
            with open(tmp, "wb") as f:
                f.write(body)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, q / f"{i}.json")
            if dir_fd is not None:
                os.fsync(dir_fd)
        return n / (time.perf_counter() - t)
    finally:
        if dir_fd is not None:
            os.close(dir_fd)


def persist_queue(d: Path, n: int) -> tuple[float, float]:
    """persist-queue SQLiteAckQueue: (put ops/s, get+ack ops/s)."""
    from persistqueue import SQLiteAckQueue

    q = SQLiteAckQueue(str(d / "pq"), auto_commit=True)
    t = time.perf_counter()
    for i in range(n):
        q.put(report(i))
    put = n / (time.perf_counter() - t)
    t = time.perf_counter()
    for _ in range(n):
        q.ack(q.get(block=False))
    get_ack = n / (time.perf_counter() - t)
    return put, get_ack


# -- the journal --------------------------------------------------------------------------------


def journal_submit(d: Path, n: int) -> float:
    """One producer, one durable ``submit`` per item (synchronous=FULL); ops/s."""
    with Journal(d / "single.db") as j:
        t = time.perf_counter()
        for i in range(n):
            j.submit(f"k{i}", report(i))
        return n / (time.perf_counter() - t)


def _threads(count: int, target: Callable[[int], None]) -> None:
    threads = [threading.Thread(target=target, args=(w,)) for w in range(count)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()


def journal_concurrent(d: Path, n: int, producers: int = 8) -> float:
    """``producers`` threads calling ``submit`` at once (in-process group commit); ops/s."""
    with Journal(d / "concurrent.db") as j:
        per = n // producers

        def produce(w: int) -> None:
            for i in range(per):
                j.submit(f"w{w}-{i}", report(i))

        t = time.perf_counter()
        _threads(producers, produce)
        return per * producers / (time.perf_counter() - t)


def _drain(j: Journal, total: int, batch: int, done: Callable[[], bool]) -> None:
    """The engine's side: pick due, mark in flight, record acks, in batches.

    Like the engine, it polls: when fewer than ``batch`` items were due it sleeps ``POLL_S``
    before looking again, so acknowledgements are group-committed instead of one per item.
    """
    acked = 0
    while acked < total:
        due = j.due(time.time() + 1, batch)
        if due:
            keys = [s.key for s in due]
            j.upload_started(keys)
            answers = [NewEvent(k, "Acknowledged", {"answer": {"id": k}}) for k in keys]
            j.record(answers)
            acked += len(keys)
        if len(due) < batch:
            if done() and not due and not j.due(time.time() + 1, 1):
                break
            time.sleep(POLL_S)


def journal_engine_side(d: Path, n: int, batch: int = 50) -> float:
    """due -> upload_started -> acknowledged for already-submitted items, in batches; items/s."""
    with Journal(d / "engine.db") as j:
        j.submit_many([(f"k{i}", report(i), None) for i in range(n)])
        t = time.perf_counter()
        _drain(j, n, batch, lambda: True)
        assert j.counts()["acked"] == n
        return n / (time.perf_counter() - t)


def journal_lifecycle(d: Path, n: int, producers: int, batch: int = 50) -> float:
    """Full lifecycle: producers ``submit`` one by one while the engine drains; items/s."""
    with Journal(d / f"life{producers}.db") as j:
        per = n // producers
        finished = threading.Event()

        def produce(w: int) -> None:
            for i in range(per):
                j.submit(f"w{w}-{i}", report(i))

        def run_producers() -> None:
            _threads(producers, produce)
            finished.set()

        t = time.perf_counter()
        feeder = threading.Thread(target=run_producers)
        feeder.start()
        _drain(j, per * producers, batch, finished.is_set)
        feeder.join()
        elapsed = time.perf_counter() - t
        assert j.counts()["acked"] == per * producers
        return per * producers / elapsed


# -- the 1M-event journal -----------------------------------------------------------------------


def build_big(path: Path, events: int) -> None:
    """submit + upload_started + acknowledged per submission, in large transactions."""
    if path.exists() and Path(f"{path}.complete").exists():
        return
    for suffix in ("", "-wal", "-shm", ".complete"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    subs = events // 3
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


def measure_big(path: Path) -> dict[str, Any]:
    """Run in a fresh process: open, rebuild (cold-ish then warm), queries, peak RSS."""
    t = time.perf_counter()
    j = Journal(path)
    open_s = time.perf_counter() - t
    j.close()
    t = time.perf_counter()
    j = Journal(path)
    open_warm_s = time.perf_counter() - t
    t = time.perf_counter()
    j.rebuild()
    rebuild_first_s = time.perf_counter() - t
    t = time.perf_counter()
    rebuilt = j.rebuild()
    rebuild_warm_s = time.perf_counter() - t
    t = time.perf_counter()
    counts = j.counts()
    j.due(time.time(), 100)
    j.next_due_at()
    queries_s = time.perf_counter() - t
    j.close()
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
        "queries_s": queries_s,
        "file_mb": path.stat().st_size / 1e6,
    }
    try:
        import resource

        scale = 1 if sys.platform == "darwin" else 1024
        out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 1e6
    except ImportError:  # Windows: no resource module
        out["peak_rss_mb"] = None
    return out


# -- runner -------------------------------------------------------------------------------------


def _median(values: list[float]) -> float:
    return statistics.median(values)


def main(argv: list[str]) -> int:
    """Run the benchmark and print a Markdown table of ops/s and ratios."""
    parser = argparse.ArgumentParser(prog="python -m tools.bench journal")
    parser.add_argument("--size", type=int, default=500, help="operations per case per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--big", type=int, default=1_000_000, help="events in the big journal; 0=skip"
    )
    parser.add_argument("--out", type=Path, default=Path("bench-out") / "journal")
    parser.add_argument("--measure-big", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure_big:
        print(json.dumps(measure_big(args.measure_big)))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    n = args.size
    cases: dict[str, Callable[[Path], Any]] = {
        "raw": lambda d: raw_fsync(d, n),
        "folder": lambda d: folder_queue(d, n),
        "pq": lambda d: persist_queue(d, n),
        "submit": lambda d: journal_submit(d, n),
        "concurrent8": lambda d: journal_concurrent(d, n, 8),
        "engine50": lambda d: journal_engine_side(d, n, 50),
        "life1": lambda d: journal_lifecycle(d, n, 1),
        "life8": lambda d: journal_lifecycle(d, n, 8),
    }
    results: dict[str, list[float]] = {}
    for r in range(args.rounds):
        for name, case in cases.items():
            d = args.out / f"round{r}-{name}"
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir()
            value = case(d)
            shutil.rmtree(d, ignore_errors=True)
            if isinstance(value, tuple):
                results.setdefault("pq_put", []).append(value[0])
                results.setdefault("pq_get_ack", []).append(value[1])
            else:
                results.setdefault(name, []).append(value)
            print(f"  round {r} {name}: {value}", file=sys.stderr)
    m = {k: _median(v) for k, v in results.items()}
    raw, pq = m["raw"], m["pq_get_ack"]
    rows = [
        ("raw 4 KB append + fsync", "raw", None, None),
        ("folder queue: tmp + fsync + rename + dir fsync", "folder", raw, None),
        ("persist-queue SQLiteAckQueue put", "pq_put", raw, None),
        ("persist-queue SQLiteAckQueue get+ack", "pq_get_ack", raw, None),
        ("journal submit, 1 producer (FULL)", "submit", raw, "≥ 0.8x raw"),
        ("journal submit, 8 producer threads (group commit)", "concurrent8", raw, "≥ 3x raw"),
        (
            "journal engine side: due→started→acked, batches of 50",
            "engine50",
            pq,
            "≥ 5x pq get+ack",
        ),
        ("journal full lifecycle, 1 producer + engine", "life1", pq, "≥ 5x pq get+ack"),
        ("journal full lifecycle, 8 producers + engine", "life8", pq, "≥ 5x pq get+ack"),
    ]
    print(f"\nops/s, median of {args.rounds} rounds of {n} operations\n")
    print("| case | ops/s | ratio | target |\n|---|---:|---:|---|")
    for label, key, base, target in rows:
        ratio = (
            "" if base is None else f"{m[key] / base:.2f}x {'raw' if base is raw else 'pq get+ack'}"
        )
        print(f"| {label} | {m[key]:,.0f} | {ratio} | {target or ''} |")
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
        print(f"| open (first in process) | {big['open_s']:.3f} s | ≤ 0.5 s |")
        print(f"| open (again) | {big['open_warm_s']:.3f} s | ≤ 0.5 s |")
        print(f"| rebuild (first) | {big['rebuild_first_s']:.2f} s | |")
        print(f"| rebuild (warm) | {big['rebuild_warm_s']:.2f} s | ≤ 2 s |")
        print(f"| counts + due(100) + next_due_at | {big['queries_s'] * 1000:.1f} ms | |")
        rss = big["peak_rss_mb"]
        print(
            f"| peak RSS of that process | {'n/a' if rss is None else f'{rss:.0f} MB'} | < 50 MB |"
        )
    return 0
