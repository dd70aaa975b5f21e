"""End-to-end engine benchmark: ``python -m tools.bench engine [options]``.

Measured in one run, against one simulator subprocess (``python -m watsim``) on
127.0.0.1, as ratios to a baseline measured in the same run:

* **throughput**: ``SyncEngine.submit`` (journal fsync per report) until every report is
  acknowledged (``--latency-ms`` makes the simulator answer that much later, for both;
  ``--config default`` runs the engine with the DEFAULT ``EngineConfig``, only server, token and
  journal set, instead of the bench's fixed ``--concurrency`` without adaptation), vs. a bare
  ``httpx`` loop POSTing the same reports to the same simulator, one at a time (and, for
  reference, with as many threads as the engine's ``concurrency``); interleaved ``--rounds``
  times, medians reported; CPU seconds per report of this process;
* **backlog drain**: ``--backlog`` reports journalled while the server is down, then the time
  until the engine has delivered them all once it is back;
* **start-up and RSS** with a journal of ``--big-events`` events (a third acknowledged
  submissions with their three events each), in a fresh subprocess;
* **idle**: an engine with the default config and one watch folder, started against the simulator
  with an empty journal, then left alone for ``--idle-s`` seconds in a fresh subprocess: CPU as a
  share of one core, wake-ups per second (context switches of all its threads, voluntary and
  not, from ``/proc``; Linux only) and peak RSS;
* **profile**: CPU per report of each engine thread (Linux), then a sampling profiler over every
  thread of one more run; the top costs.

Also runnable as ``python -m tools.bench.engine``. Figures go to stdout as JSON (``--out`` too).
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "bench-token"


class _Sim:
    def __init__(self) -> None:
        import httpx

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "watsim", "--port", "0", "--token", TOKEN, "--seed", "1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=str(ROOT),
        )
        assert self.proc.stdout is not None
        m = re.search(r"(http://127\.0\.0\.1:\d+)", self.proc.stdout.readline())
        if not m:
            raise RuntimeError("simulator did not start")
        self.url = m.group(1)
        self.admin = httpx.Client(base_url=self.url, timeout=30)

    def post(self, path: str, body: dict[str, Any]) -> None:
        for _ in range(200):
            try:
                self.admin.post(path, json=body).raise_for_status()
                return
            except Exception:
                time.sleep(0.05)
        raise RuntimeError(f"simulator {path} unreachable")

    def stats(self) -> dict[str, Any]:
        return dict(self.admin.get("/_sim/stats").json())

    def close(self) -> None:
        self.admin.close()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=20)


def _reports(tag: str, n: int) -> list[dict[str, Any]]:
    sys.path.insert(0, str(ROOT))
    from tools.torture._reports import report_for

    return [report_for(tag, i) for i in range(n)]


def _bare(url: str, reports: list[dict[str, Any]], threads: int) -> tuple[float, float]:
    import httpx

    headers = {"Authorization": f"Basic {TOKEN}", "Content-Type": "application/json"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:

        def post(r: dict[str, Any]) -> None:
            client.post(
                "/api/Report/WSJF", content=json.dumps(r), headers={"Idempotency-Key": r["id"]}
            ).raise_for_status()

        cpu, t0 = time.process_time(), time.perf_counter()
        if threads == 1:
            for r in reports:
                post(r)
        else:
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(post, reports))
        return time.perf_counter() - t0, time.process_time() - cpu


_DEFAULT_CONFIG = False  # --config default: EngineConfig's defaults (set by main)


def _engine_config(url: str, journal: Path, concurrency: int) -> Any:
    from syncengine import EngineConfig, RateLimitConfig, RetryConfig

    if _DEFAULT_CONFIG:
        return EngineConfig(server_url=url, token=TOKEN, journal_path=journal)
    return EngineConfig(
        server_url=url,
        token=TOKEN,
        journal_path=journal,
        concurrency=concurrency,
        idle_poll_s=0.05,
        probe_interval_s=0.2,
        rate_limit=RateLimitConfig(rate_per_s=100000.0, burst=1000),
        retry=RetryConfig(base_s=0.05, cap_s=0.5),
    )


def _engine(
    url: str, reports: list[dict[str, Any]], work: Path, concurrency: int
) -> tuple[float, float]:
    from syncengine import SyncEngine

    engine = SyncEngine(_engine_config(url, work / "journal.db", concurrency))
    engine.start()
    try:
        cpu, t0 = time.process_time(), time.perf_counter()
        for r in reports:
            engine.submit(r)
        if not engine.wait_idle(600):
            raise RuntimeError("engine did not drain within 600 s")
        return time.perf_counter() - t0, time.process_time() - cpu
    finally:
        engine.stop(grace=5)


class _Sampler(threading.Thread):
    """Every ``interval`` s, note the function at the top of each thread's stack and every
    project function on it (inclusive)."""

    def __init__(self, interval: float = 0.002) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.stop = threading.Event()
        self.leaf: collections.Counter[str] = collections.Counter()
        self.inclusive: collections.Counter[str] = collections.Counter()
        self.samples = 0

    def run(self) -> None:
        me = threading.get_ident()
        while not self.stop.wait(self.interval):
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                f: Any = frame
                leaf = f"{Path(f.f_code.co_filename).name}:{f.f_code.co_name}"
                if leaf.endswith((":wait", ":select", ":_wait_for_tstate_lock", ":sleep")):
                    continue  # idle threads
                self.samples += 1
                self.leaf[leaf] += 1
                seen = set()
                while f is not None:
                    name = f.f_code.co_filename
                    if "/work/main/" in name or any(
                        p in name for p in ("/journal/", "/syncengine/", "/pywats/")
                    ):
                        key = f"{Path(name).parent.name}/{Path(name).name}:{f.f_code.co_name}"
                        if key not in seen:
                            seen.add(key)
                            self.inclusive[key] += 1
                    f = f.f_back


def _build_big(path: Path, events: int) -> None:
    from journal import Journal, NewEvent

    subs = events // 3
    with Journal(path, synchronous="NORMAL") as j:
        batch = 2000
        for lo in range(0, subs, batch):
            keys = [f"big-{i:09d}" for i in range(lo, min(subs, lo + batch))]
            j.submit_many([(k, {"id": k, "type": "T", "sn": k}, None) for k in keys])
            j.record([NewEvent(k, "UploadStarted") for k in keys])
            j.record([NewEvent(k, "Acknowledged", {"answer": {"id": k}}) for k in keys])


_RSS = """
def peak_rss_mb():
    # VmHWM of this process image; ru_maxrss would include the parent's peak on Linux, since
    # it survives execve.
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

_STARTUP_CHILD = (
    _RSS
    + """
import json, sys, time
t0 = time.perf_counter()
from syncengine import EngineConfig, SyncEngine
from tools.bench.engine import _engine_config
journal = __import__("pathlib").Path(sys.argv[1])
engine = SyncEngine(_engine_config("http://127.0.0.1:9", journal, 4))
t1 = time.perf_counter()
engine.start()
t2 = time.perf_counter()
counts = engine.counts()
engine.stop(grace=1)
print(json.dumps({"import_s": t1 - t0, "start_s": t2 - t1, "max_rss_mb": peak_rss_mb(),
                  "counts": counts}))
"""
)


def _startup(work: Path, events: int, cache: Path | None) -> dict[str, Any]:
    path = (cache or work) / f"big-{events}.db"
    t0 = time.perf_counter()
    if not path.exists():
        _build_big(path, events)
    build_s = time.perf_counter() - t0
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", _STARTUP_CHILD, str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
        check=True,
    )
    data: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    baseline = subprocess.run(
        [
            sys.executable,
            "-c",
            _RSS + "import syncengine, journal, pywats\nprint(peak_rss_mb())",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    data.update(
        events=events,
        build_s=build_s,
        file_mb=path.stat().st_size / 1e6,
        import_only_rss_mb=float(baseline.stdout.strip()),
    )
    return data


_IDLE_CHILD = (
    _RSS
    + """
import json, os, sys, time
from pathlib import Path
from syncengine import EngineConfig, SyncEngine
from syncengine._config import WatchFolder
url, work, seconds = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])
(work / "in").mkdir(parents=True, exist_ok=True)
config = EngineConfig(server_url=url, token=sys.argv[4], journal_path=work / "idle.db",
                      watch=(WatchFolder(path=work / "in"),))

def switches():
    total = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total

engine = SyncEngine(config)
engine.start()
time.sleep(3.0)  # start-up work (first probe, first scan) is not idling
cpu0, sw0, t0 = time.process_time(), switches(), time.monotonic()
time.sleep(seconds)
cpu1, sw1, t1 = time.process_time(), switches(), time.monotonic()
threads = len(os.listdir("/proc/self/task"))
engine.stop(grace=1)
wall = t1 - t0
print(json.dumps({"seconds": wall, "cpu_share_of_core_pct": 100 * (cpu1 - cpu0) / wall,
                  "wakeups_per_s": (sw1 - sw0) / wall, "threads": threads,
                  "max_rss_mb": peak_rss_mb()}))
"""
)


def _idle(sim: _Sim, work: Path, seconds: float) -> dict[str, Any]:
    """An idle engine with one watch folder, in a fresh subprocess (see the module doc).

    The journal is created by another process first: a station's engine opens an existing
    journal; creating one runs the schema migrations, which import sqlite-utils (and numpy
    through it, when installed), +20 MB once in the life of a station.
    """
    (work / "idle").mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from journal import Journal; Journal(sys.argv[1]).close()",
            str(work / "idle" / "idle.db"),
        ],
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        timeout=120,
        check=True,
    )
    out = subprocess.run(
        [sys.executable, "-c", _IDLE_CHILD, sim.url, str(work / "idle"), str(seconds), TOKEN],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        timeout=seconds + 120,
        check=True,
    )
    data: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return data


def _journal_chunks(engine: Any, reports: list[dict[str, Any]]) -> None:
    for lo in range(0, len(reports), 1000):
        engine.submit_many([(r["id"], r, None) for r in reports[lo : lo + 1000]])


def _backlog(sim: _Sim, work: Path, n: int, concurrency: int) -> dict[str, Any]:
    """Journal ``n`` reports while the server is down; time the drain once it is back.

    A down simulator cannot be woken over HTTP, so the outage is sized from a calibration run
    of the journalling (on a throwaway journal) plus a margin.
    """
    from journal import Journal

    reports = _reports("backlog", n)
    t0 = time.perf_counter()
    with Journal(work / "calibrate.db") as j:
        for lo in range(0, min(n, 5000), 1000):
            j.submit_many([(r["id"], r, None) for r in reports[lo : lo + 1000]])
    estimate = (time.perf_counter() - t0) * n / min(n, 5000)
    outage = 3.0 + 2.0 * estimate
    from syncengine import SyncEngine

    sim.post("/_sim/reset", {})
    engine = SyncEngine(_engine_config(sim.url, work / "backlog.db", concurrency))
    engine.start()
    try:
        sim.post("/_sim/faults", {"down_for_s": outage})
        down_at = time.perf_counter()
        _journal_chunks(engine, reports)
        journal_s = time.perf_counter() - down_at
        if journal_s > outage:
            raise RuntimeError(f"journalling took {journal_s:.1f} s, longer than the outage")
        while True:  # wait for the server to come back
            try:
                sim.admin.get("/_sim/stats").raise_for_status()
                break
            except Exception:
                time.sleep(0.01)
        up = time.perf_counter()
        if not engine.wait_idle(3600):
            raise RuntimeError("backlog did not drain")
        drain_s = time.perf_counter() - up
    finally:
        engine.stop(grace=5)
    stored = sim.stats()["distinct_reports"]
    return {
        "reports": n,
        "outage_s": outage,
        "journal_s": journal_s,
        "drain_s": drain_s,
        "drain_per_s": n / drain_s,
        "stored": stored,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures as JSON."""
    ap = argparse.ArgumentParser(prog="python -m tools.bench engine", description=__doc__)
    ap.add_argument("--reports", type=int, default=1000, help="reports per throughput round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--backlog", type=int, default=100_000)
    ap.add_argument("--big-events", type=int, default=1_000_000)
    ap.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["throughput", "backlog", "startup", "profile", "idle"],
    )
    ap.add_argument("--idle-s", type=float, default=30.0, help="idle measurement length")
    ap.add_argument("--latency-ms", type=float, default=0.0, help="server latency, throughput")
    ap.add_argument(
        "--config",
        choices=["bench", "default"],
        default="bench",
        help="engine config: the bench's (fixed --concurrency, no ceiling) or the defaults",
    )
    ap.add_argument("--out", type=Path)
    ap.add_argument("--cache", type=Path, help="keep the big journal here between runs")
    args = ap.parse_args(argv)
    global _DEFAULT_CONFIG
    _DEFAULT_CONFIG = args.config == "default"
    results: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}}
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as tmp:
        work = Path(tmp)
        sim = _Sim()
        try:
            if "throughput" not in args.skip:
                results["throughput"] = _throughput(sim, work, args)
            if "profile" not in args.skip:
                results["profile"] = _profile(sim, work, args)
            if "idle" not in args.skip:
                results["idle"] = _idle(sim, work, args.idle_s)
            if "backlog" not in args.skip:
                results["backlog"] = _backlog(sim, work, args.backlog, args.concurrency)
        finally:
            sim.close()
        if "startup" not in args.skip:
            results["startup"] = _startup(work, args.big_events, args.cache)
    text = json.dumps(results, indent=2, default=str)
    print(text)
    if args.out is not None:
        args.out.write_text(text)
    return 0


def _engine_round(
    url: str, work: Path, concurrency: int, reports: list[dict[str, Any]]
) -> tuple[float, float]:
    return _engine(url, reports, work, concurrency)


def _throughput(sim: _Sim, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    runs: dict[str, list[tuple[float, float]]] = {"bare": [], "bare_threads": [], "engine": []}
    for r in range(args.rounds):
        cases: list[tuple[str, Callable[[list[dict[str, Any]]], tuple[float, float]]]] = [
            ("bare", lambda reps: _bare(sim.url, reps, 1)),
            ("bare_threads", lambda reps: _bare(sim.url, reps, args.concurrency)),
            ("engine", functools.partial(_engine_round, sim.url, work / f"t{r}", args.concurrency)),
        ]
        for name, fn in cases:
            sim.post("/_sim/reset", {})
            if args.latency_ms:
                sim.post("/_sim/faults", {"latency_ms": args.latency_ms})
            reps = _reports(f"{name}-{r}", args.reports)
            runs[name].append(fn(reps))
    out: dict[str, Any] = {}
    for name, vals in runs.items():
        wall = statistics.median(v[0] for v in vals)
        cpu = statistics.median(v[1] for v in vals)
        out[name] = {
            "reports_per_s": args.reports / wall,
            "cpu_ms_per_report": 1000 * cpu / args.reports,
            "walls": [round(v[0], 3) for v in vals],
        }
    out["ratio_engine_vs_bare"] = out["engine"]["reports_per_s"] / out["bare"]["reports_per_s"]
    out["ratio_engine_vs_bare_threads"] = (
        out["engine"]["reports_per_s"] / out["bare_threads"]["reports_per_s"]
    )
    return out


def _thread_cpu() -> dict[int, float]:
    """CPU seconds per native thread id of this process (Linux ``/proc``; empty elsewhere)."""
    out: dict[int, float] = {}
    try:
        tids = os.listdir("/proc/self/task")
        tick = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError):
        return out
    for tid in tids:
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended meanwhile
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return out


def _per_thread(sim: _Sim, work: Path, args: argparse.Namespace) -> dict[str, float]:
    """CPU ms per report of each engine thread in one unprofiled run (Linux only)."""
    from syncengine import SyncEngine

    sim.post("/_sim/reset", {})
    reports = _reports("threads", args.reports)
    engine = SyncEngine(_engine_config(sim.url, work / "threads.db", args.concurrency))
    engine.start()
    try:
        before = _thread_cpu()
        for r in reports:
            engine.submit(r)
        if not engine.wait_idle(600):
            raise RuntimeError("engine did not drain within 600 s")
        after = _thread_cpu()
        names = {t.native_id: t.name for t in threading.enumerate()}
    finally:
        engine.stop(grace=5)
    shares: collections.defaultdict[str, float] = collections.defaultdict(float)
    for tid, cpu in after.items():
        name = re.sub(r"-\d+$", "-N", names.get(tid, "other"))  # upload-0..3 -> upload-N
        shares[name] += 1000 * (cpu - before.get(tid, 0.0)) / args.reports
    return {k: round(v, 3) for k, v in sorted(shares.items(), key=lambda kv: -kv[1]) if v > 0}


def _profile(sim: _Sim, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    per_thread = _per_thread(sim, work, args)
    sim.post("/_sim/reset", {})
    sampler = _Sampler()
    sampler.start()
    try:
        _engine(sim.url, _reports("profile", args.reports), work / "profile", args.concurrency)
    finally:
        sampler.stop.set()
        sampler.join()
    total = max(1, sampler.samples)
    return {
        "cpu_ms_per_report_by_thread": per_thread,
        "samples": sampler.samples,
        "top_leaf": [(k, round(100 * v / total, 1)) for k, v in sampler.leaf.most_common(15)],
        "top_inclusive": [
            (k, round(100 * v / total, 1)) for k, v in sampler.inclusive.most_common(20)
        ],
    }


if __name__ == "__main__":
    raise SystemExit(main())
