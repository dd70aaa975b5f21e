"""A journal writer run as a subprocess by the crash and concurrency tests.

``python -m tests.journal._child PATH NAME COUNT MODE`` appends COUNT submissions named
``NAME-<i>`` and prints ``S <key>`` after each ``submit`` returns (durable) and ``A <key>`` after
its acknowledgement returns, flushing each line, so the parent knows exactly what was promised.
MODE ``lifecycle`` also records UploadStarted + Acknowledged for each; ``submit`` only submits;
``batch`` appends 200 submissions per ``submit_many`` and prints ``B <batch>`` after each;
``archive`` archives every acked submission, 50 per call, printing ``R <file> <sha256> <n>``.
COUNT 0 means forever (until killed).
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

from journal import Journal


def main(argv: list[str]) -> None:
    path, name, count, mode = argv[0], argv[1], int(argv[2]), argv[3]
    out = sys.stdout
    with Journal(path) as journal:
        print("READY", flush=True)
        if mode == "archive":
            archive_dir = Path(path).parent / "archives"
            archive_dir.mkdir(exist_ok=True)
            while True:
                result = journal.archive(0, archive_dir, max_submissions=50)
                if result.submissions == 0:
                    break
                out.write(f"R {result.path} {result.sha256} {result.submissions}\n")
                out.flush()
            print("DONE", flush=True)
            return
        numbers = itertools.count() if count == 0 else range(count)
        for i in numbers:
            if mode == "batch":
                items = [
                    (f"{name}-b{i}-{n}", {"n": n, "blob": "x" * 300}, None) for n in range(200)
                ]
                journal.submit_many(items)
                out.write(f"B {name}-b{i}\n")
                out.flush()
                continue
            key = f"{name}-{i}"
            journal.submit(key, {"id": key, "n": i, "blob": "x" * (i % 7 * 100)})
            out.write(f"S {key}\n")
            out.flush()
            if mode == "lifecycle":
                journal.upload_started([key])
                journal.acknowledged(key, answer={"id": key, "status_code": 200})
                out.write(f"A {key}\n")
                out.flush()
    print("DONE", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
