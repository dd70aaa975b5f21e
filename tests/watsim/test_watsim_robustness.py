"""Bad input never gives a 500 or a hang; stop() leaves no threads or sockets behind."""

from __future__ import annotations

import json
import socket
import threading
import uuid

import httpx
import pytest

from tests.watsim.examples import minimal_uut
from watsim import Simulator


def _raw_exchange(port: int, data: bytes, timeout_s: float = 10.0) -> bytes:
    """Send raw bytes, read until the server closes (bounded by the timeout)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as conn:
        conn.sendall(data)
        chunks = []
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def _status_and_body(raw: bytes) -> tuple[int, dict]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)


def test_body_over_the_limit_is_413_without_reading_it(sim_factory, sim_token: str) -> None:
    sim = sim_factory(max_body_bytes=1000)
    request = (
        "POST /api/Report/WSJF HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Basic {sim_token}\r\nContent-Length: 5000\r\n\r\n"
    ).encode()
    status, body = _status_and_body(_raw_exchange(sim.port, request))
    assert status == 413
    assert "over the limit of 1000 bytes" in body["message"]


def test_chunked_body_is_411(sim: Simulator, sim_token: str) -> None:
    request = (
        "POST /api/Report/WSJF HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Basic {sim_token}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ).encode()
    status, body = _status_and_body(_raw_exchange(sim.port, request))
    assert status == 411
    assert "Content-Length" in body["message"]


def test_bad_content_length_is_400(sim: Simulator) -> None:
    request = b"POST /api/Report/WSJF HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n"
    status, body = _status_and_body(_raw_exchange(sim.port, request))
    assert status == 400
    assert "Content-Length" in body["message"]


def test_client_that_stops_sending_the_body_gets_408(sim_factory, sim_token: str) -> None:
    sim = sim_factory(request_timeout_s=0.3)
    request = (
        "POST /api/Report/WSJF HTTP/1.1\r\nHost: x\r\n"
        f'Authorization: Basic {sim_token}\r\nContent-Length: 100\r\n\r\n{{"id":'
    ).encode()
    status, body = _status_and_body(_raw_exchange(sim.port, request))
    assert status == 408
    assert "request body" in body["message"]


def test_garbage_request_line_is_a_json_400(sim: Simulator) -> None:
    status, body = _status_and_body(_raw_exchange(sim.port, b"NONSENSE\r\n\r\n"))
    assert status == 400
    assert "message" in body


def test_unsupported_method_is_a_json_501(sim: Simulator) -> None:
    status, body = _status_and_body(_raw_exchange(sim.port, b"BREW /api HTTP/1.1\r\n\r\n"))
    assert status == 501
    assert "BREW" in body["message"]


def test_non_utf8_body_is_400(http: httpx.Client) -> None:
    response = http.post(
        "/api/Report/WSJF", content=b"\xff\xfe{}", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "UTF-8" in response.json()["message"]


def test_empty_body_is_400(http: httpx.Client) -> None:
    response = http.post("/api/Report/WSJF")
    assert response.status_code == 400
    assert "empty body" in response.json()["message"]


def test_stop_joins_every_thread_it_started(sim_token: str) -> None:
    before = set(threading.enumerate())
    with (
        Simulator(token=sim_token) as sim,
        httpx.Client(
            base_url=sim.base_url, headers={"Authorization": f"Basic {sim_token}"}, verify=False
        ) as client,
    ):
        for _ in range(5):
            client.get("/api/App/Version").raise_for_status()
        sim.set_faults(down_for_s=0.05)
    leftover = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert leftover == []


def test_stop_closes_idle_keep_alive_connections(sim_token: str) -> None:
    sim = Simulator(token=sim_token).start()
    conn = socket.create_connection(("127.0.0.1", sim.port), timeout=10)
    try:
        request = (
            f"GET /api/App/Version HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {sim_token}\r\n"
        )
        conn.sendall(request.encode() + b"\r\n")
        answer = b""
        # The version is a JSON string; headers and body may arrive in separate reads.
        while b'"24.1.0"' not in answer:
            chunk = conn.recv(65536)
            assert chunk, "server closed before answering"
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200")
        sim.stop()
        assert conn.recv(65536) == b""
    finally:
        conn.close()
        sim.stop()


def test_stop_is_idempotent_and_start_twice_is_an_error(sim_token: str) -> None:
    sim = Simulator(token=sim_token).start()
    sim.stop()
    sim.stop()
    with pytest.raises(RuntimeError):
        sim.start()


def test_port_in_use_is_an_os_error(sim: Simulator) -> None:
    with pytest.raises(OSError):
        Simulator(port=sim.port).start()


def test_reset_clears_reports_and_stats(
    http: httpx.Client, anon: httpx.Client, sim: Simulator
) -> None:
    http.post("/api/Report/WSJF", json=minimal_uut(str(uuid.uuid4()))).raise_for_status()
    assert anon.post("/_sim/reset").status_code == 200
    stats = sim.stats()
    assert stats["distinct_reports"] == 0
    assert stats["report_posts"] == 0
    assert stats["requests"] == 0
    assert sim.reports() == {}


def test_stats_have_the_contract_keys(anon: httpx.Client) -> None:
    stats = anon.get("/_sim/stats").json()
    assert isinstance(stats["distinct_reports"], int)
    assert isinstance(stats["report_posts"], int)
    assert isinstance(stats["receive_counts"], dict)
    assert {"faults_injected", "requests", "stored_then_dropped"} <= set(stats)


def test_unknown_admin_route_is_404(anon: httpx.Client) -> None:
    assert anon.get("/_sim/nothing").status_code == 404


def test_admin_route_with_wrong_method_is_405(anon: httpx.Client) -> None:
    assert anon.delete("/_sim/stats").status_code == 405


def test_python_report_accessors(http: httpx.Client, sim: Simulator) -> None:
    report = minimal_uut(str(uuid.uuid4()))
    http.post("/api/Report/WSJF", json=report).raise_for_status()
    assert sim.report(report["id"].upper()) == report
    assert sim.report("not-a-guid") is None
    assert sim.reports() == {report["id"]: report}


def test_many_concurrent_posts_are_all_counted(http: httpx.Client, sim: Simulator) -> None:
    reports = [minimal_uut(str(uuid.uuid4())) for _ in range(40)]
    errors: list[BaseException] = []

    def post(chunk: list[dict]) -> None:
        try:
            for report in chunk:
                http.post("/api/Report/WSJF", json=report).raise_for_status()
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(reports[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    stats = sim.stats()
    assert stats["distinct_reports"] == 40
    assert stats["report_posts"] == 40


# "²" is a digit to str.isdigit() but not to int(): every integer parser must answer 400.
SUPERSCRIPT_TWO = "\u00b2"


def test_content_length_with_a_unicode_digit_is_400(sim: Simulator, sim_token: str) -> None:
    request = (
        "POST /api/Report/WSJF HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Basic {sim_token}\r\nContent-Length: {SUPERSCRIPT_TWO}\r\n\r\n{{}}"
    ).encode("latin-1")
    status, body = _status_and_body(_raw_exchange(sim.port, request))
    assert status == 400
    assert "Content-Length" in body["message"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/Report/Query/Header", {"$top": SUPERSCRIPT_TWO}),
        ("/api/Report/Query/Header", {"$skip": SUPERSCRIPT_TWO}),
    ],
)
def test_odata_counts_with_a_unicode_digit_are_400(
    http: httpx.Client, path: str, params: dict[str, str]
) -> None:
    answer = http.get(path, params=params)
    assert answer.status_code == 400, answer.text


def test_take_quantity_with_a_unicode_digit_is_400(http: httpx.Client, sim: Simulator) -> None:
    answer = http.post(
        "/api/Production/SerialNumbers/Take",
        params={"serialNumberType": "Default", "quantity": SUPERSCRIPT_TWO},
    )
    assert answer.status_code == 400, answer.text


@pytest.mark.parametrize("code", ["--10", f"1{SUPERSCRIPT_TWO}"])
def test_process_code_string_that_int_refuses_is_400_and_nothing_stored(
    http: httpx.Client, sim: Simulator, code: str
) -> None:
    report = minimal_uut(str(uuid.uuid4()), processCode=code)
    answer = http.post("/api/Report/WSJF", json=report)
    assert answer.status_code == 400, answer.text
    assert "processCode" in answer.text
    assert http.get(f"/api/Report/Wsjf/{report['id']}").status_code == 404
