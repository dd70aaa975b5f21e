"""/livez, /readyz and /healthz: a supervisor never restarts a healthy engine for an offline
server."""

from __future__ import annotations

import httpx

from syncengine import SyncEngine
from watsim import Simulator

from ..test_engine_support import report, wait_for


def test_live_and_ready_while_online(client: httpx.Client) -> None:
    assert client.get("/livez").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/healthz").json()["health"] in ("ok", "degraded")


def test_offline_server_is_ready_but_not_healthy(
    engine: SyncEngine, client: httpx.Client, sim: Simulator
) -> None:
    sim.set_faults(down_for_s=30)
    engine.submit(report(1))
    wait_for(lambda: engine.status()["health"] == "offline", what="offline")
    assert client.get("/livez").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200 and "offline" in ready.text
    assert client.get("/healthz").status_code == 503
    sim.clear_faults()
    assert engine.wait_idle(30)


def test_auth_failed_is_not_ready(tmp_path, sim: Simulator) -> None:
    from .conftest import ui_config

    with SyncEngine(ui_config(tmp_path, sim, token="wrong-token")) as engine:
        engine.submit(report(1))
        wait_for(lambda: engine.status()["health"] == "auth_failed", what="auth_failed")
        with httpx.Client(base_url=engine.ui_url) as client:
            assert client.get("/livez").status_code == 200
            assert client.get("/readyz").status_code == 503


def test_metrics_still_served_beside_the_page(client: httpx.Client) -> None:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert "wats_sync_" in answer.text


def test_stuck_is_not_ready_but_live(tmp_path, sim: Simulator) -> None:
    from .conftest import ui_config

    sim.set_faults(error_rate=1.0, error_statuses=[500])  # answers, never accepts
    with SyncEngine(ui_config(tmp_path, sim, stuck_after_s=0.3)) as engine:
        engine.submit(report(1))
        wait_for(lambda: engine.status()["health"] == "stuck", what="stuck")
        with httpx.Client(base_url=engine.ui_url) as client:
            assert client.get("/livez").status_code == 200
            assert client.get("/readyz").status_code == 503
        sim.clear_faults()
