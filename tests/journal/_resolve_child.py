"""Resolves failed submissions in a loop, run as a subprocess by the resolution crash test.

``python -m tests.journal._resolve_child PATH`` supersedes (even position) or dismisses (odd)
every failed submission, printing ``P <old> <new>`` or ``D <key>`` after each call returns.
"""

from __future__ import annotations

import sys

from journal import Journal


def main(path: str) -> None:
    with Journal(path) as journal:
        print("READY", flush=True)
        for index, key in enumerate(journal.keys_in_state("failed")):
            if index % 2 == 0:
                fixed = {**journal.submission(key).payload, "sn": f"fixed-{key}"}
                new = journal.supersede(key, fixed, reason="corrected", origin="cli")
                print(f"P {key} {new}", flush=True)
            else:
                journal.dismiss(key, reason="scrapped", origin="cli")
                print(f"D {key}", flush=True)
        print("DONE", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
