"""Control workload: plain stdlib sqlite3 in WAL mode, printing each key after its commit.

``python -m tools.powercut._sqlite_child DB START SYNCHRONOUS``. With ``FULL`` a power cut must
lose nothing printed; with ``OFF`` it must (that is how the harness shows it can see a loss).
"""

from __future__ import annotations

import sqlite3
import sys


def main(argv: list[str]) -> int:
    """Insert rows forever (the harness kills this process)."""
    db, start, sync = argv[0], int(argv[1]), argv[2]
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {sync}")
    conn.execute("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v BLOB)")
    i = start
    while True:
        key = f"k{i}"
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t VALUES (?, ?)", (key, bytes([i % 251]) * (100 + i % 3000)))
        conn.execute("COMMIT")
        print(f"S {key}", flush=True)
        i += 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
