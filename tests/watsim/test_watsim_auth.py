"""Basic-token auth, token expiry, and Idempotency-Key semantics."""

from __future__ import annotations

import json
import threading
import time
import uuid

import httpx
import pytest

from tests.watsim.examples import minimal_uut
from watsim import Simulator


def _wait_until(condition, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


# -- auth --------------------------------------------------------------------------------------


def test_missing_authorization_is_401_json(anon: httpx.Client) -> None:
    response = anon.get("/api/App/Version")
    assert response.status_code == 401
    assert "Authorization" in response.json()["message"]
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_wrong_token_is_401(anon: httpx.Client) -> None:
    response = anon.get("/api/App/Version", headers={"Authorization": "Basic wrong"})
    assert response.status_code == 401
    assert "invalid token" in response.json()["message"]


def test_other_scheme_is_401(anon: httpx.Client, sim_token: str) -> None:
    response = anon.get("/api/App/Version", headers={"Authorization": f"Bearer {sim_token}"})
    assert response.status_code == 401


def test_rejected_request_stores_nothing(anon: httpx.Client, sim: Simulator) -> None:
    anon.post("/api/Report/WSJF", json=minimal_uut(str(uuid.uuid4())))
    assert sim.stats()["distinct_reports"] == 0


def test_admin_routes_need_no_token(anon: httpx.Client) -> None:
    assert anon.get("/_sim/stats").status_code == 200


def test_added_token_is_accepted(anon: httpx.Client, sim: Simulator) -> None:
    sim.add_token("second")
    response = anon.get("/api/App/Version", headers={"Authorization": "Basic second"})
    assert response.status_code == 200


def test_token_added_over_admin_route_is_accepted(anon: httpx.Client) -> None:
    assert anon.post("/_sim/tokens", json={"token": "via-admin"}).status_code == 200
    response = anon.get("/api/App/Version", headers={"Authorization": "Basic via-admin"})
    assert response.status_code == 200


def test_admin_token_route_rejects_missing_token(anon: httpx.Client) -> None:
    response = anon.post("/_sim/tokens", json={})
    assert response.status_code == 400
    assert "tokens.token" in response.json()["message"]


def test_token_expires_after_n_requests(http: httpx.Client, sim: Simulator) -> None:
    sim.set_faults(token_expires_after=2)
    statuses = [http.get("/api/App/Version").status_code for _ in range(3)]
    assert statuses == [200, 200, 401]
    assert sim.stats()["faults_injected"]["token_expired"] == 1


def test_expired_token_message_says_expired(http: httpx.Client, sim: Simulator) -> None:
    sim.set_faults(token_expires_after=1)
    http.get("/api/App/Version")
    assert http.get("/api/App/Version").json()["message"] == "token expired"


def test_new_token_works_after_expiry(http: httpx.Client, sim: Simulator) -> None:
    sim.set_faults(token_expires_after=1)
    http.get("/api/App/Version")
    sim.add_token("fresh")
    response = http.get("/api/App/Version", headers={"Authorization": "Basic fresh"})
    assert response.status_code == 200


# -- Idempotency-Key -----------------------------------------------------------------------------


def test_same_key_and_body_after_completion_is_processed_again(
    http: httpx.Client, sim: Simulator
) -> None:
    report = minimal_uut(str(uuid.uuid4()))
    headers = {"Idempotency-Key": report["id"]}
    assert http.post("/api/Report/WSJF", json=report, headers=headers).status_code == 200
    assert http.post("/api/Report/WSJF", json=report, headers=headers).status_code == 200
    assert sim.stats()["receive_counts"] == {report["id"]: 2}


def test_by_default_the_key_is_ignored_and_the_report_id_decides(
    http: httpx.Client, sim: Simulator
) -> None:
    report = minimal_uut(str(uuid.uuid4()))
    headers = {"Idempotency-Key": "key-0"}
    http.post("/api/Report/WSJF", json=report, headers=headers).raise_for_status()
    changed = dict(report, result="F")
    assert http.post("/api/Report/WSJF", json=changed, headers=headers).status_code == 200
    assert sim.stats()["receive_counts"] == {report["id"]: 2}
    assert sim.report(report["id"])["result"] == "F"
    assert sim.stats()["idempotency_conflicts"] == {"409": 0, "422": 0}


def test_same_key_with_different_body_is_422(http: httpx.Client, sim: Simulator) -> None:
    sim.set_faults(idempotency_conflicts=True)
    report = minimal_uut(str(uuid.uuid4()))
    headers = {"Idempotency-Key": "key-1"}
    http.post("/api/Report/WSJF", json=report, headers=headers).raise_for_status()
    changed = dict(report, result="F")
    response = http.post("/api/Report/WSJF", json=changed, headers=headers)
    assert response.status_code == 422
    assert "different request" in response.json()["message"]
    assert sim.stats()["receive_counts"] == {report["id"]: 1}


def test_reserialised_body_has_the_same_fingerprint(http: httpx.Client) -> None:
    report = minimal_uut(str(uuid.uuid4()))
    headers = {"Idempotency-Key": "key-2", "Content-Type": "application/json"}
    http.post("/api/Report/WSJF", json=report, headers=headers).raise_for_status()
    pretty = json.dumps(dict(reversed(list(report.items()))), indent=2)
    response = http.post("/api/Report/WSJF", content=pretty, headers=headers)
    assert response.status_code == 200


def test_same_key_while_first_is_processing_is_409(http: httpx.Client, sim: Simulator) -> None:
    sim.set_faults(latency_ms=1500, idempotency_conflicts=True)
    report = minimal_uut(str(uuid.uuid4()))
    headers = {"Idempotency-Key": report["id"]}
    first: list[int] = []
    thread = threading.Thread(
        target=lambda: first.append(
            http.post("/api/Report/WSJF", json=report, headers=headers).status_code
        )
    )
    thread.start()
    try:
        # The latency fault is counted after the key is registered, just before the sleep.
        _wait_until(lambda: sim.stats()["faults_injected"].get("latency") == 1)
        second = http.post("/api/Report/WSJF", json=report, headers=headers)
    finally:
        thread.join(30)
    assert second.status_code == 409
    assert "still being processed" in second.json()["message"]
    assert second.headers["Retry-After"] == "1"
    assert first == [200]
    stats = sim.stats()
    assert stats["receive_counts"] == {report["id"]: 1}
    assert stats["idempotency_conflicts"]["409"] == 1


def test_401_does_not_register_the_key(anon: httpx.Client, sim: Simulator, sim_token: str) -> None:
    sim.set_faults(idempotency_conflicts=True)
    report = minimal_uut(str(uuid.uuid4()))
    bad = {"Idempotency-Key": "k", "Authorization": "Basic wrong"}
    assert anon.post("/api/Report/WSJF", json=report, headers=bad).status_code == 401
    good = {"Idempotency-Key": "k", "Authorization": f"Basic {sim_token}"}
    other = dict(report, sn="OTHER")
    assert anon.post("/api/Report/WSJF", json=other, headers=good).status_code == 200


@pytest.mark.parametrize("key", ["", "x" * 256])
def test_bad_key_length_is_400(http: httpx.Client, sim: Simulator, key: str) -> None:
    sim.set_faults(idempotency_conflicts=True)
    response = http.post(
        "/api/Report/WSJF", json=minimal_uut(str(uuid.uuid4())), headers={"Idempotency-Key": key}
    )
    assert response.status_code == 400


def test_reset_forgets_keys(http: httpx.Client, sim: Simulator) -> None:
    sim.set_faults(idempotency_conflicts=True)
    report = minimal_uut(str(uuid.uuid4()))
    headers = {"Idempotency-Key": "k"}
    http.post("/api/Report/WSJF", json=report, headers=headers).raise_for_status()
    sim.reset()
    other = dict(report, result="F")
    assert http.post("/api/Report/WSJF", json=other, headers=headers).status_code == 200
