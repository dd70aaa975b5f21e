"""Stats stay exact under mixed faults: a naive retrying client against every fault at once."""

from __future__ import annotations

import os
import uuid

import httpx

from tests.watsim.examples import minimal_uut
from watsim import Simulator

N_REPORTS = 30 * int(os.environ.get("WATS_TORTURE_SCALE", "1"))
MAX_ATTEMPTS = 60
MIXED = {
    "error_rate": 0.15,
    "error_statuses": [500, 502, 503],
    "rate_limit_rate": 0.1,
    "retry_after_s": 0,
    "drop_before_store_rate": 0.1,
    "drop_after_store_rate": 0.1,
    "garbage_rate": 0.1,
    "latency_ms": [0, 2],
}


def _deliver(client: httpx.Client, report: dict) -> int:
    """Post until a 200 with the JSON id arrives; returns the number of attempts."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            response = client.post(
                "/api/Report/WSJF", json=report, headers={"Idempotency-Key": report["id"]}
            )
        except httpx.TransportError:
            continue
        if response.status_code == 200:
            try:
                if response.json()["ID"] == report["id"]:
                    return attempt
            except ValueError:
                continue
    raise AssertionError(f"report {report['id']} not acknowledged in {MAX_ATTEMPTS} attempts")


def test_mixed_faults_lose_nothing_and_count_every_attempt(sim: Simulator, sim_token: str) -> None:
    sim.set_faults(MIXED)
    reports = [minimal_uut(str(uuid.uuid4())) for _ in range(N_REPORTS)]
    with httpx.Client(
        base_url=sim.base_url,
        headers={"Authorization": f"Basic {sim_token}"},
        timeout=10.0,
        verify=False,
    ) as client:
        attempts = sum(_deliver(client, report) for report in reports)
    stats = sim.stats()
    assert stats["distinct_reports"] == N_REPORTS
    assert set(stats["receive_counts"]) == {r["id"] for r in reports}
    assert stats["report_posts"] == attempts
    injected = stats["faults_injected"]
    # Stores = first deliveries + resends after a stored-but-unconfirmed answer.
    assert stats["report_stores"] == N_REPORTS + injected.get("drop_after_store", 0) + injected.get(
        "garbage", 0
    )
    assert stats["stored_then_dropped"] == injected.get("drop_after_store", 0)
    assert all(sim.report(r["id"]) == r for r in reports)


def test_mixed_faults_hit_every_kind_with_the_fixture_seed(sim: Simulator, sim_token: str) -> None:
    sim.set_faults(MIXED)
    with httpx.Client(
        base_url=sim.base_url,
        headers={"Authorization": f"Basic {sim_token}"},
        timeout=10.0,
        verify=False,
    ) as client:
        for _ in range(N_REPORTS):
            _deliver(client, minimal_uut(str(uuid.uuid4())))
    injected = sim.stats()["faults_injected"]
    for name in ("error", "rate_limit", "drop_before_store", "drop_after_store", "garbage"):
        assert injected.get(name, 0) > 0, name
