"""Station page timings on a large journal: ``python tools/bench/station_page.py [EVENTS] [DIR]``.

Builds (or reuses, in DIR) a journal of EVENTS events with the station page tests' builder,
starts a real engine with the page on it against the simulator, and prints the median server
time of each page (5 runs, after one warm-up) as seen by an HTTP client on 127.0.0.1. The
figures in docs/performance.md come from this script at 1,000,000 events.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from syncengine import EngineConfig, SyncEngine
from tests.syncengine.ui import bigjournal
from watsim import Simulator


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    work = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(tempfile.mkdtemp())
    path = work / "j.db"
    if not path.exists():
        started = time.perf_counter()
        reports = bigjournal.build(path, events)
        print(f"built {reports} reports in {time.perf_counter() - started:.0f} s")
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
                "time range": "/reports?since=2h&until=1h",
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
                print(f"{name:<30} {statistics.median(runs) * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
