"""The engine against the simulator's invented Idempotency-Key behaviour (off by default).

The real WATS server ignores the header and de-duplicates by report id; a proxy or a future
server might honour it and answer ``409`` while the same key is still being processed. The
engine must treat that as "retry later", never as a refusal.
"""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from syncengine import SyncEngine
from watsim import Simulator

from .test_engine_support import fast_config, report, wait_for


def test_a_409_for_a_key_still_in_progress_is_retried_not_failed(
    tmp_path: Path, sim: Simulator
) -> None:
    body = report(1)
    first: list[int] = []

    def post_first() -> None:
        headers = {"Authorization": "Basic test-token", "Idempotency-Key": body["id"]}
        answer = httpx.post(f"{sim.base_url}/api/Report/WSJF", json=body, headers=headers)
        first.append(answer.status_code)

    with SyncEngine(fast_config(tmp_path, sim)) as engine:
        wait_for(lambda: engine.connection_state == "online", 30, "the engine online")
        sim.set_faults(latency_ms=1500, idempotency_conflicts=True)
        thread = threading.Thread(target=post_first)
        thread.start()
        try:
            # The key is registered before the latency is counted: it is now in progress.
            wait_for(lambda: sim.stats()["faults_injected"].get("latency") == 1, 10, "first post")
            key = engine.submit(body)
            assert engine.wait_idle(60)
            sub = engine.submission(key)
        finally:
            thread.join(30)
    assert first == [200]
    assert sub is not None and sub.state == "acked"
    stats = sim.stats()
    assert stats["idempotency_conflicts"]["409"] >= 1
    assert stats["idempotency_conflicts"]["422"] == 0
    assert stats["distinct_reports"] == 1
