"""The ``capacity_rps`` fault: 429 above capacity, queueing delay below it."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.watsim.examples import minimal_uut
from watsim import FaultConfigError, Simulator
from watsim._capacity import Capacity


def _freeze_clock(sim: Simulator) -> None:
    # The window is one second of the capacity's clock: a frozen clock makes "inside one
    # second" true however slowly a loaded machine sends the requests.
    sim._capacity._clock = lambda: 1000.0


def test_requests_over_capacity_are_refused_with_retry_after(
    http: httpx.Client, sim: Simulator
) -> None:
    _freeze_clock(sim)
    sim.set_faults(capacity_rps=3, retry_after_s=2)
    answers = [http.post("/api/Report/WSJF", json=minimal_uut(str(uuid.uuid4()))) for _ in range(6)]
    statuses = [a.status_code for a in answers]
    # Six posts inside one (frozen) second: the first three are admitted, the rest refused.
    assert statuses == [200, 200, 200, 429, 429, 429]
    refused = [a for a in answers if a.status_code == 429]
    assert all(a.headers["Retry-After"] == "2" for a in refused)
    stats = sim.stats()
    assert stats["faults_injected"]["capacity"] == len(refused)
    assert stats["distinct_reports"] == 6 - len(refused)


def test_a_refused_report_is_not_stored(http: httpx.Client, sim: Simulator) -> None:
    _freeze_clock(sim)
    sim.set_faults(capacity_rps=1)
    first = minimal_uut(str(uuid.uuid4()))
    second = minimal_uut(str(uuid.uuid4()))
    assert http.post("/api/Report/WSJF", json=first).status_code == 200
    assert http.post("/api/Report/WSJF", json=second).status_code == 429
    assert sim.stats()["distinct_reports"] == 1


def test_capacity_must_be_at_least_one() -> None:
    with pytest.raises(FaultConfigError, match="capacity_rps"):
        Simulator(token="t", faults={"capacity_rps": 0})


def test_queueing_delay_grows_with_utilisation() -> None:
    capacity = Capacity()
    delays = [capacity.admit(10.0) for _ in range(10)]
    assert None not in delays
    assert delays == sorted(delays)
    assert delays[0] is not None and delays[-1] is not None and delays[-1] > delays[0]
    assert capacity.admit(10.0) is None
    capacity.reset()
    assert capacity.admit(10.0) is not None
