"""Watch-folder workload for the power-cut harness: the real engine converting and moving files.

``python -m tools.powercut._ingest_child DATA_DIR`` runs ``SyncEngine`` with one WSJF watch
folder (``DATA_DIR/watch``) and an unreachable server (uploads just retry), printing ``T`` every
20 ms so the harness can kill it at a random moment of converting, committing and moving.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from syncengine import EngineConfig, RetryConfig, SyncEngine, WatchFolder


def config_for(data: Path) -> EngineConfig:
    """The engine configuration of the workload (also used by the checker)."""
    return EngineConfig(
        server_url="http://127.0.0.1:9",
        token="powercut-token",
        journal_path=data / "journal.db",
        idle_poll_s=0.05,
        probe_interval_s=0.5,
        retry=RetryConfig(base_s=0.5, cap_s=2.0),
        converter_workers=1,
        watch=(WatchFolder(path=data / "watch", converter="wsjf", stable_s=0.0, rescan_s=0.2),),
    )


def main(argv: list[str]) -> int:
    """Run until killed."""
    engine = SyncEngine(config_for(Path(argv[0])))
    engine.start()
    while True:
        print("T", flush=True)
        time.sleep(0.02)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
