"""Station page timings on a large journal: ``python tools/bench/station_page.py [EVENTS] [DIR]``.

Builds (or reuses, in DIR) a journal of EVENTS events with the station page tests' builder,
starts a real engine with the page on it against the simulator, and prints the median server
time of each page (5 runs, after one warm-up) as seen by an HTTP client on 127.0.0.1. The
figures in docs/performance.md come from this script at 1,000,000 events; EVENTS is the size
knob (20000 runs in seconds). Time ranges are taken from the journal itself: all of it, its
older half (no match among the newest reports) and one second in the middle.
"""

from __future__ import annotations

import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from syncengine import EngineConfig, SyncEngine
from tests.syncengine.ui import bigjournal
from watsim import Simulator


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat()


def _ranges(path: Path) -> dict[str, str]:
    """Query strings for time ranges over the journal's own reports."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        low, high = conn.execute(
            "SELECT min(created_at), max(created_at) FROM report_index"
        ).fetchone()
    finally:
        conn.close()
    mid = (low + high) / 2
    return {
        "all": urlencode({"since": _iso(low - 1), "until": _iso(high + 1)}),
        "older half": urlencode({"since": _iso(low - 1), "until": _iso(mid)}),
        "a second": urlencode({"since": _iso(mid), "until": _iso(mid + 1)}),
    }


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    work = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(tempfile.mkdtemp())
    path = work / "j.db"
    if not path.exists():
        started = time.perf_counter()
        reports = bigjournal.build(path, events)
        print(f"built {reports} reports in {time.perf_counter() - started:.0f} s")
    times = _ranges(path)
    with Simulator(token="t") as sim:
        config = EngineConfig(
            server_url=sim.base_url,
            token="t",
            journal_path=path,
            ui={"enabled": True, "port": 0},
        )
        started = time.perf_counter()
        with SyncEngine(config) as engine, httpx.Client(base_url=engine.ui_url) as client:
            print(f"engine start on the journal: {time.perf_counter() - started:.2f} s")
            first = client.get("/reports").text
            older = first[first.index("/reports?before=") :].split('"')[0].replace("&amp;", "&")
            key = first.split("/report?key=")[1].split('"')[0]
            pages = {
                "overview": "/",
                "reports, newest 50": "/reports",
                "reports, next page": older,
                "failed": "/reports?state=failed",
                "by serial number": f"/reports?sn={bigjournal.NEEDLE_SN}",
                "by serial prefix": "/reports?sn=SN-0000",
                "by part number": "/reports?pn=PCBA-1049",
                "by process": "/reports?process=12",
                "by source file (substring)": "/reports?file=line-3/SN-0033",
                "by source file, no match": "/reports?file=no-such-file",
                "rare process code": "/reports?process=99",
                "by part number prefix (1 in 5)": "/reports?pn=PCBA-10",
                "by serial prefix, all": "/reports?sn=SN-",
                "time range, all": f"/reports?{times['all']}",
                "time range, older half": f"/reports?{times['older half']}",
                "time range, one second": f"/reports?{times['a second']}",
                "time range, before the journal": "/reports?since=3000d&until=2999d",
                "acked + part number prefix": "/reports?state=acked&pn=PCBA-10",
                "acked + serial prefix (oldest)": "/reports?state=acked&sn=SN-0000",
                "acked + process": "/reports?state=acked&process=12",
                "acked + rare process": "/reports?state=acked&process=99",
                "acked + source file": "/reports?state=acked&file=line-3/SN-0033",
                "acked + time range, all": f"/reports?state=acked&{times['all']}",
                "acked + time range, older half": f"/reports?state=acked&{times['older half']}",
                "failed + part number": "/reports?state=failed&pn=PCBA-1049",
                "failed + serial number": f"/reports?state=failed&sn={bigjournal.NEEDLE_SN}",
                "failed + process": "/reports?state=failed&process=12",
                "failed + source file, no match": "/reports?state=failed&file=no-such-file",
                "failed + time range, older half": f"/reports?state=failed&{times['older half']}",
                "one report": f"/report?key={key}",
            }
            for name, url in pages.items():
                client.get(url)
                runs = []
                for _ in range(5):
                    t = time.perf_counter()
                    answer = client.get(url)
                    runs.append(time.perf_counter() - t)
                    assert answer.status_code == 200, (url, answer.status_code)
                print(f"{name:<34} {statistics.median(runs) * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
