"""Every fault mode, fault settings validation, and seed reproducibility."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from tests.watsim.examples import minimal_uut
from watsim import FaultConfigError, Simulator


def _report() -> dict:
    return minimal_uut(str(uuid.uuid4()))


def _wait_until(condition, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def _answers(base_url: str, token: str) -> bool:
    try:
        return httpx.get(f"{base_url}/_sim/stats", timeout=2.0).status_code == 200
    except httpx.TransportError:
        return False


# -- latency, errors, 429 ----------------------------------------------------------------------


def test_latency_is_injected_and_requests_still_succeed(http: httpx.Client, sim: Simulator) -> None:
    sim.set_faults(latency_ms=[1, 5])
    assert all(http.get("/api/App/Version").status_code == 200 for _ in range(3))
    assert sim.stats()["faults_injected"]["latency"] == 3


def test_error_rate_answers_a_configured_status_and_stores_nothing(
    http: httpx.Client, sim: Simulator
) -> None:
    sim.set_faults(error_rate=1.0, error_statuses=[502])
    response = http.post("/api/Report/WSJF", json=_report())
    assert response.status_code == 502
    assert "injected" in response.json()["message"]
    stats = sim.stats()
    assert stats["distinct_reports"] == 0
    assert stats["report_posts"] == 1
    assert stats["faults_injected"]["error"] == 1


def test_error_rate_defaults_to_500_502_503(http: httpx.Client, sim: Simulator) -> None:
    sim.set_faults(error_rate=1.0)
    statuses = {http.get("/api/App/Version").status_code for _ in range(30)}
    assert statuses == {500, 502, 503}


def test_injected_503_carries_retry_after_when_set(http: httpx.Client, sim: Simulator) -> None:
    sim.set_faults(error_rate=1.0, error_statuses=[503], retry_after_s=2)
    assert http.get("/api/App/Version").headers["Retry-After"] == "2"


def test_rate_limit_is_429_with_retry_after(http: httpx.Client, sim: Simulator) -> None:
    sim.set_faults(rate_limit_rate=1.0, retry_after_s=0.25)
    response = http.post("/api/Report/WSJF", json=_report())
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "0.25"
    assert sim.stats()["distinct_reports"] == 0


def test_rate_limit_default_retry_after_is_one_second(http: httpx.Client, sim: Simulator) -> None:
    sim.set_faults(rate_limit_rate=1.0)
    assert http.get("/api/App/Version").headers["Retry-After"] == "1"


# -- dropped connections, garbage, slow bodies ---------------------------------------------------


def test_drop_before_store_closes_without_answer_and_stores_nothing(
    http: httpx.Client, sim: Simulator
) -> None:
    sim.set_faults(drop_before_store_rate=1.0)
    with pytest.raises(httpx.TransportError):
        http.post("/api/Report/WSJF", json=_report())
    stats = sim.stats()
    assert stats["distinct_reports"] == 0
    assert stats["faults_injected"]["drop_before_store"] == 1


def test_drop_after_store_stores_then_closes_without_answer(
    http: httpx.Client, sim: Simulator
) -> None:
    sim.set_faults(drop_after_store_rate=1.0)
    report = _report()
    with pytest.raises(httpx.TransportError):
        http.post("/api/Report/WSJF", json=report)
    stats = sim.stats()
    assert stats["receive_counts"] == {report["id"]: 1}
    assert stats["stored_then_dropped"] == 1


def test_resend_after_dropped_answer_does_not_duplicate(http: httpx.Client, sim: Simulator) -> None:
    sim.set_faults(drop_after_store_rate=1.0)
    report = _report()
    with pytest.raises(httpx.TransportError):
        http.post("/api/Report/WSJF", json=report)
    sim.clear_faults()
    http.post("/api/Report/WSJF", json=report).raise_for_status()
    stats = sim.stats()
    assert stats["distinct_reports"] == 1
    assert stats["receive_counts"] == {report["id"]: 2}


def test_garbage_is_200_with_a_non_json_body(http: httpx.Client, sim: Simulator) -> None:
    sim.set_faults(garbage_rate=1.0)
    report = _report()
    response = http.post("/api/Report/WSJF", json=report)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        response.json()
    assert sim.stats()["receive_counts"] == {report["id"]: 1}


def test_slow_body_still_delivers_the_whole_body(http: httpx.Client, sim: Simulator) -> None:
    report = _report()
    http.post("/api/Report/WSJF", json=report).raise_for_status()
    sim.set_faults(slow_body_ms=10)
    assert http.get(f"/api/Report/Wsjf/{report['id']}").json() == report
    assert sim.stats()["faults_injected"]["slow_body"] == 1


def test_slow_body_trips_a_short_read_timeout(sim: Simulator, sim_token: str) -> None:
    sim.set_faults(slow_body_ms=2000)
    with (
        httpx.Client(
            base_url=sim.base_url,
            headers={"Authorization": f"Basic {sim_token}"},
            timeout=httpx.Timeout(10.0, read=0.2),
        ) as client,
        pytest.raises(httpx.ReadTimeout),
    ):
        client.get("/api/App/Version")


def test_faults_only_act_on_successful_answers(http: httpx.Client, sim: Simulator) -> None:
    sim.set_faults(garbage_rate=1.0, drop_after_store_rate=0.0)
    response = http.get("/api/Report/Wsjf/not-a-guid")
    assert response.status_code == 400
    assert "message" in response.json()


# -- down / up ---------------------------------------------------------------------------------


def test_down_refuses_connections_until_cleared(sim: Simulator, sim_token: str) -> None:
    sim.set_faults(down_for_s=60)
    assert sim.is_down
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{sim.base_url}/api/App/Version", timeout=2.0)
    sim.clear_faults()
    response = httpx.get(
        f"{sim.base_url}/api/App/Version", headers={"Authorization": f"Basic {sim_token}"}
    )
    assert response.status_code == 200


def test_down_period_ends_by_itself_on_the_same_port(sim: Simulator) -> None:
    port = sim.port
    sim.set_faults(down_for_s=0.3)
    _wait_until(lambda: _answers(sim.base_url, ""))
    assert sim.port == port
    assert sim.stats()["faults_injected"]["down"] == 1


def test_down_closes_open_keep_alive_connections(http: httpx.Client, sim: Simulator) -> None:
    http.get("/api/App/Version").raise_for_status()
    sim.set_faults(down_for_s=60)
    with pytest.raises(httpx.TransportError):
        http.get("/api/App/Version")


def test_down_over_admin_route_answers_then_goes_down(anon: httpx.Client, sim: Simulator) -> None:
    response = anon.post("/_sim/faults", json={"down_for_s": 60})
    assert response.status_code == 200
    assert sim.is_down
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{sim.base_url}/_sim/stats", timeout=2.0)
    sim.set_faults(down_for_s=0)
    assert not sim.is_down


def test_other_fault_changes_keep_a_down_period(sim: Simulator) -> None:
    sim.set_faults(down_for_s=60)
    sim.set_faults(error_rate=0.5)
    assert sim.is_down


# -- settings ----------------------------------------------------------------------------------


def test_admin_faults_round_trip_and_clear(anon: httpx.Client) -> None:
    faults = {"error_rate": 0.2, "error_statuses": [500, 503], "latency_ms": [0, 50]}
    assert anon.post("/_sim/faults", json=faults).json() == faults
    assert anon.get("/_sim/faults").json() == faults
    assert anon.post("/_sim/faults", json={}).json() == {}


def test_contract_example_fault_object_is_accepted(sim: Simulator) -> None:
    example = {
        "error_rate": 0.2,
        "error_statuses": [500, 503],
        "drop_after_store_rate": 0.1,
        "latency_ms": [0, 50],
        "down_for_s": 5,
        "retry_after_s": 1,
        "token_expires_after": 100,
    }
    settings = sim.set_faults(example)
    assert sim.is_down
    assert settings == {k: v for k, v in example.items() if k != "down_for_s"}


@pytest.mark.parametrize(
    ("faults", "key"),
    [
        ({"explode_rate": 1}, "explode_rate"),
        ({"error_rate": "high"}, "error_rate"),
        ({"error_rate": 1.5}, "error_rate"),
        ({"error_rate": True}, "error_rate"),
        ({"latency_ms": [5]}, "latency_ms"),
        ({"latency_ms": [9, 1]}, "latency_ms"),
        ({"error_statuses": [200]}, "error_statuses"),
        ({"error_statuses": []}, "error_statuses"),
        ({"token_expires_after": 0}, "token_expires_after"),
        ({"down_for_s": -1}, "down_for_s"),
        ({"slow_body_ms": "slow"}, "slow_body_ms"),
    ],
)
def test_bad_fault_setting_is_400_naming_the_key(
    anon: httpx.Client, faults: dict, key: str
) -> None:
    response = anon.post("/_sim/faults", json=faults)
    assert response.status_code == 400
    assert f"faults.{key}" in response.json()["message"]


def test_bad_fault_setting_leaves_faults_unchanged(anon: httpx.Client, sim: Simulator) -> None:
    sim.set_faults(error_rate=0.1)
    anon.post("/_sim/faults", json={"error_rate": 0.5, "nope": 1})
    assert sim.faults == {"error_rate": 0.1}


def test_faults_body_that_is_not_an_object_is_400(anon: httpx.Client) -> None:
    assert anon.post("/_sim/faults", json=[1]).status_code == 400


def test_python_api_rejects_unknown_fault(sim: Simulator) -> None:
    with pytest.raises(FaultConfigError, match="nope"):
        sim.set_faults(nope=1)


def test_constructor_rejects_unknown_fault() -> None:
    with pytest.raises(FaultConfigError):
        Simulator(faults={"nope": 1})


def test_faults_never_apply_to_admin_routes(anon: httpx.Client, sim: Simulator) -> None:
    sim.set_faults(error_rate=1.0, drop_before_store_rate=1.0, latency_ms=5000)
    assert anon.get("/_sim/stats").status_code == 200


def test_faults_given_at_start_are_active(sim_factory, sim_token: str) -> None:
    sim = sim_factory(faults={"error_rate": 1.0, "error_statuses": [503]})
    response = httpx.get(
        f"{sim.base_url}/api/App/Version", headers={"Authorization": f"Basic {sim_token}"}
    )
    assert response.status_code == 503


# -- reproducibility ---------------------------------------------------------------------------


def _status_sequence(sim: Simulator, token: str, n: int = 20) -> list[int]:
    with httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Basic {token}"}) as c:
        return [c.get("/api/App/Version").status_code for _ in range(n)]


def test_same_seed_gives_the_same_fault_sequence(sim_factory, sim_token: str) -> None:
    faults = {"error_rate": 0.5, "error_statuses": [500, 503]}
    first = _status_sequence(sim_factory(seed=7, faults=faults), sim_token)
    second = _status_sequence(sim_factory(seed=7, faults=faults), sim_token)
    assert first == second
    assert {200, 500, 503} == set(first)


def test_reset_restarts_the_fault_sequence(sim: Simulator, sim_token: str) -> None:
    sim.set_faults(error_rate=0.5)
    first = _status_sequence(sim, sim_token)
    sim.reset()
    assert _status_sequence(sim, sim_token) == first


def test_stats_report_the_seed(sim_factory) -> None:
    assert sim_factory(seed=99).stats()["seed"] == 99


@pytest.mark.parametrize(
    ("shape", "content_type", "read"),
    [
        ("message", "application/json", lambda r: r.json()["message"]),
        ("Message", "application/json", lambda r: r.json()["Message"]),
        ("text", "text/plain", lambda r: r.text),
    ],
)
def test_error_body_shape_is_switchable(
    http: httpx.Client, sim: Simulator, shape: str, content_type: str, read: Any
) -> None:
    sim.set_faults(error_body=shape)
    response = http.get("/api/Product/missing")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(content_type)
    assert "not found" in read(response)


def test_error_body_does_not_change_the_report_rules_text(
    http: httpx.Client, sim: Simulator
) -> None:
    from tests.watsim.examples import export_loops_uut

    sim.set_faults(error_body="Message")
    response = http.post("/api/Report/WSJF", json=export_loops_uut())
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")


def test_unknown_error_body_shape_is_refused(sim: Simulator) -> None:
    with pytest.raises(FaultConfigError, match="error_body"):
        sim.set_faults(error_body="xml")
