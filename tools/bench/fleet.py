"""Fleet benchmark: ``python -m tools.bench fleet [options]``.

N engines, each a separate process with its own journal holding a backlog of B reports (a
station coming back after an outage), start at once against ONE simulator whose capacity is
C requests per second (the simulator's ``capacity_rps`` fault: 429 with ``Retry-After`` above C,
rising latency as load nears C). Each engine runs with the DEFAULT ``EngineConfig`` (only the
server, token and journal are set) unless ``--engine-json`` overrides fields.

Reported (JSON on stdout, ``--out`` too):

* total throughput (N*B / time until the last engine drained) as a fraction of C;
* the share of report POSTs the server refused (429 over capacity);
* fairness: min/max of the per-engine throughputs (B / that engine's drain time);
* time to drain; and the accounting: every report stored on the server exactly once (distinct
  ids == N*B, none missing), every journal verifying with every key acknowledged.

``--sweep 5,10,20`` runs the same for several N and prints one row each (the curve in
``docs/performance.md``). Sizes: ``--engines 20 --backlog 2000 --capacity 200`` is the full
run; the smoke test in ``tests/`` uses a tiny one.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "fleet-token"


def _start_sim(capacity: float, retry_after_s: float) -> tuple[subprocess.Popen[str], str]:
    faults = json.dumps({"capacity_rps": capacity, "retry_after_s": retry_after_s})
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "watsim",
            "--port",
            "0",
            "--token",
            TOKEN,
            "--seed",
            "1",
            "--faults",
            faults,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=str(ROOT),
    )
    assert proc.stdout is not None
    match = re.search(r"(http://127\.0\.0\.1:\d+)", proc.stdout.readline())
    if not match:
        proc.kill()
        raise RuntimeError("simulator did not start")
    return proc, match.group(1)


def _sim_stats(url: str) -> dict[str, Any]:
    import httpx

    return dict(httpx.get(f"{url}/_sim/stats", timeout=30).json())


def _child(args: argparse.Namespace) -> int:
    """One station: pre-fill the journal with a backlog, wait for 'go', drain, report."""
    sys.path.insert(0, str(ROOT))
    from journal import Journal
    from syncengine import EngineConfig, SyncEngine
    from tools.torture._reports import report_for

    journal_path = Path(args.journal)
    with Journal(journal_path, synchronous="NORMAL") as j:
        for lo in range(0, args.backlog, 500):
            batch = [
                report_for(f"fleet{args.index}", i) for i in range(lo, min(args.backlog, lo + 500))
            ]
            j.submit_many([(r["id"], r, None) for r in batch])
    overrides = json.loads(args.engine_json) if args.engine_json else {}
    config = EngineConfig(server_url=args.url, token=TOKEN, journal_path=journal_path, **overrides)
    print("ready", flush=True)
    sys.stdin.readline()  # the parent's "go": every engine starts at once
    t0 = time.perf_counter()
    engine = SyncEngine(config)
    engine.start()
    try:
        drained = engine.wait_idle(args.timeout)
        elapsed = time.perf_counter() - t0
    finally:
        engine.stop(grace=5)
    with Journal(journal_path) as j:
        counts = j.counts()
        ok = j.verify().ok
    print(json.dumps({"drained": drained, "seconds": elapsed, "counts": counts, "verify": ok}))
    return 0


def run_fleet(
    engines: int, backlog: int, capacity: float, *, timeout: float, engine_json: str, work: Path
) -> dict[str, Any]:
    """Run one fleet of ``engines`` stations against one simulator; the figures as a dict."""
    sim, url = _start_sim(capacity, retry_after_s=1.0)
    children: list[subprocess.Popen[str]] = []
    try:
        for i in range(engines):
            cmd = [sys.executable, "-m", "tools.bench.fleet", "--child", "--index", str(i)]
            cmd += ["--url", url, "--journal", str(work / f"station-{i}.db")]
            cmd += ["--backlog", str(backlog), "--timeout", str(timeout)]
            cmd += ["--engine-json", engine_json]
            children.append(
                subprocess.Popen(
                    cmd,
                    cwd=str(ROOT),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        for child in children:
            assert child.stdout is not None
            line = child.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(f"a station did not start: {line!r} {child.stderr.read()}")  # type: ignore[union-attr]
        before = _sim_stats(url)
        t0 = time.perf_counter()
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        results = []
        for child in children:
            out, err = child.communicate(timeout=timeout + 60)
            if child.returncode != 0:
                raise RuntimeError(f"a station failed: {err[-2000:]}")
            results.append(json.loads(out.strip().splitlines()[-1]))
        wall = time.perf_counter() - t0
        after = _sim_stats(url)
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
        sim.send_signal(signal.SIGTERM)
        sim.wait(timeout=30)
    total = engines * backlog
    posts = after["report_posts"] - before["report_posts"]
    refused = after["status_counts"].get("429", 0) - before["status_counts"].get("429", 0)
    rates = [backlog / r["seconds"] for r in results]
    acked = sum(r["counts"].get("acked", 0) for r in results)
    return {
        "engines": engines,
        "backlog_each": backlog,
        "capacity_rps": capacity,
        "drain_s": round(wall, 2),
        "throughput_rps": round(total / wall, 1),
        "fraction_of_capacity": round(total / wall / capacity, 3),
        "report_posts": posts,
        "refused_share": round(refused / posts, 4) if posts else 0.0,
        "fairness_min_over_max": round(min(rates) / max(rates), 3),
        "stored_distinct": after["distinct_reports"],
        "lost": total - after["distinct_reports"],
        "acked_in_journals": acked,
        "all_drained": all(r["drained"] for r in results),
        "journals_verify": all(r["verify"] for r in results),
    }


def main(argv: list[str]) -> int:
    """Parse options and run (or, with ``--child``, be one station)."""
    p = argparse.ArgumentParser(prog="python -m tools.bench fleet", description=__doc__)
    p.add_argument("--engines", type=int, default=20, help="stations (default 20)")
    p.add_argument("--backlog", type=int, default=2000, help="reports each (default 2000)")
    p.add_argument("--capacity", type=float, default=200.0, help="server requests/s (200)")
    p.add_argument("--sweep", default="", help="comma-separated station counts, e.g. 5,10,20")
    p.add_argument("--timeout", type=float, default=1800.0, help="per-station drain limit, s")
    p.add_argument("--engine-json", default="", help="EngineConfig field overrides as JSON")
    p.add_argument("--out", type=Path, help="also write the JSON here")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--url", default="", help=argparse.SUPPRESS)
    p.add_argument("--journal", default="", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return _child(args)
    counts = [int(n) for n in args.sweep.split(",") if n] or [args.engines]
    rows = []
    for n in counts:
        with tempfile.TemporaryDirectory(prefix="wats-fleet-") as tmp:
            row = run_fleet(
                n,
                args.backlog,
                args.capacity,
                timeout=args.timeout,
                engine_json=args.engine_json,
                work=Path(tmp),
            )
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    bad = [r for r in rows if r["lost"] or not r["all_drained"] or not r["journals_verify"]]
    return 1 if bad else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main(sys.argv[1:]))
