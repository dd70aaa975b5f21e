"""Opens a journal whose migrations are pending and kills itself mid-migration (SIGKILL).

``python -m tests.journal._migrate_child PATH NAME`` runs migration NAME (e.g. ``0003_head``)
in full, then, before the opening transaction commits, sends itself SIGKILL: the worst moment,
with every table copied and dropped but nothing committed.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import journal._migrations as migrations
from journal import Journal


def main(path: str, name: str) -> None:
    def killing(fn: Any) -> Any:
        def run(db: Any) -> None:
            fn(db)
            print("KILLING", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

        return run

    migrations.KNOWN_MIGRATIONS = tuple(
        (n, killing(fn) if n == name else fn) for n, fn in migrations.KNOWN_MIGRATIONS
    )
    Journal(path)
    print("NOT KILLED", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
