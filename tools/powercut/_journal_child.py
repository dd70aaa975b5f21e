"""Journal workload for the power-cut harness: the real ``journal.Journal`` code path.

``python -m tools.powercut._journal_child DB START [SYNCHRONOUS]`` opens the journal and, until
killed, submits reports (single and grouped), marks some in flight, acknowledges or schedules
retries for them, printing ``S <key>`` once ``submit`` returned and ``A <key>`` once an
acknowledgement was recorded. Payloads are derived from the key so the checker can compare.
"""

from __future__ import annotations

import hashlib
import sys
import uuid
from typing import Any

from journal import Journal


def payload_for(key: str) -> dict[str, Any]:
    """The deterministic report body of ``key`` (sizes from 200 B to ~24 KiB: overflow pages)."""
    h = hashlib.sha256(key.encode()).digest()
    size = 200 + int.from_bytes(h[:2], "big") % (24 * 1024 if h[2] % 8 == 0 else 2000)
    return {
        "id": key,
        "type": "T",
        "serialNumber": f"SN-{h[3:7].hex()}",
        "partNumber": "PN-1",
        "result": "P" if h[7] % 5 else "F",
        "blob": hashlib.sha256(h).hexdigest() * (size // 64 + 1),
    }


def key_for(i: int) -> str:
    """The submission key of the i-th report (a UUID, as the engine uses)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"powercut/{i}"))


def main(argv: list[str]) -> int:
    """Run the workload until killed."""
    path, start = argv[0], int(argv[1])
    sync = argv[2] if len(argv) > 2 else "FULL"
    journal = Journal(path, synchronous=sync)
    i = start
    while True:
        if i % 5 == 0:
            keys = [key_for(i + j) for j in range(3)]
            journal.submit_many([(k, payload_for(k), {"file": f"{k}.json"}) for k in keys])
            i += 3
        else:
            keys = [key_for(i)]
            journal.submit(keys[0], payload_for(keys[0]))
            i += 1
        for k in keys:
            print(f"S {k}", flush=True)
        k = keys[0]
        if i % 3 == 0:
            journal.upload_started([k])
            journal.acknowledged(
                k,
                answer={
                    "report_id": k,
                    "latency_s": 0.0,
                    "status_code": 200,
                    "correlation_id": None,
                },
            )
            print(f"A {k}", flush=True)
        elif i % 3 == 1:
            journal.upload_started([k])
            journal.retry_scheduled(
                k, attempt=1, next_attempt_at=0.0, error_class="ServerError", message="503"
            )


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
