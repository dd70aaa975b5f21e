"""The page on loopback defends itself: Host allow-list, CSRF + origin, headers, escaping."""

from __future__ import annotations

import json
import socket
from html import escape as html_escape

import httpx
import pytest
from markupsafe import escape

from journal import Journal
from syncengine import SyncEngine
from watsim import Simulator

from ..test_engine_support import report, wait_for
from .conftest import csrf_of, origin_headers, ui_config

SCRIPT_SN = "<script>alert(1)</script>"


def failed_key(engine: SyncEngine, sim: Simulator, **extra: object) -> str:
    sim.set_faults(error_rate=1.0, error_statuses=[400])
    key = engine.submit({**report(1), **extra})
    wait_for(lambda: engine.counts()["failed"] == 1, what="failed")
    sim.clear_faults()
    return key


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1", "10.0.0.1:1"])
def test_a_forged_host_gets_421(client: httpx.Client, host: str) -> None:
    for path in ("/", "/reports", "/healthz", "/metrics"):
        assert client.get(path, headers={"Host": host}).status_code == 421


def test_a_forged_host_post_does_nothing(
    engine: SyncEngine, client: httpx.Client, sim: Simulator
) -> None:
    key = failed_key(engine, sim)
    answer = client.post(
        "/action/requeue",
        data={"key": key, "csrf": csrf_of(client)},
        headers={"Host": "rebound.example:80", "Origin": "http://rebound.example:80"},
    )
    assert answer.status_code == 421
    assert engine.submission(key).state == "failed"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Referer": "http://evil.example/page"},
        {},  # neither Origin nor Referer
    ],
)
def test_a_cross_origin_post_is_refused_and_nothing_is_done(
    engine: SyncEngine, client: httpx.Client, sim: Simulator, headers: dict[str, str]
) -> None:
    key = failed_key(engine, sim)
    events = len(engine.history(key))
    answer = client.post(
        "/action/dismiss",
        data={"key": key, "reason": "x", "csrf": csrf_of(client)},
        headers=headers,
    )
    assert answer.status_code == 403
    assert engine.submission(key).state == "failed"
    assert len(engine.history(key)) == events


def test_a_post_without_the_csrf_token_is_refused(
    engine: SyncEngine, client: httpx.Client, sim: Simulator
) -> None:
    key = failed_key(engine, sim)
    for token in ("", "guessed"):
        answer = client.post(
            "/action/requeue", data={"key": key, "csrf": token}, headers=origin_headers(client)
        )
        assert answer.status_code == 403
    assert engine.submission(key).state == "failed"


def test_the_same_post_with_token_and_origin_works(
    engine: SyncEngine, client: httpx.Client, sim: Simulator
) -> None:
    key = failed_key(engine, sim)
    answer = client.post(
        "/action/requeue",
        data={"key": key, "csrf": csrf_of(client), "who": "anna", "reason": ""},
        headers={"Referer": str(client.base_url) + "report"},
    )
    assert answer.status_code == 303
    assert engine.wait_idle(20)
    assert engine.submission(key).state == "acked"


def test_every_page_sends_the_security_headers(client: httpx.Client) -> None:
    for path in ("/", "/reports", "/config", "/static/style.css", "/nope", "/healthz"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
        assert "script-src 'self'" in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"


def test_pages_load_nothing_from_another_origin(client: httpx.Client) -> None:
    for path in ("/", "/reports", "/config"):
        html = client.get(path).text
        for attr in ('src="http', "src='http", 'href="http', "//cdn"):
            assert attr not in html


def test_report_text_is_escaped_everywhere(
    engine: SyncEngine, client: httpx.Client, sim: Simulator
) -> None:
    # Journaled by another producer (a station tool): local checks may refuse such a serial
    # number at submit(), but the journal holds whatever a producer wrote, and the page shows it.
    hostile = {**report(1), "sn": SCRIPT_SN, "pn": '"><img src=x onerror=alert(2)>'}
    with Journal(engine.config.journal_path) as producer:
        key = producer.submit(hostile["id"], hostile).key
    assert engine.wait_idle(20)
    pages = [
        client.get("/reports").text,
        client.get("/live/reports").text,
        client.get("/reports", params={"sn": "<script>"}).text,
        client.get("/report", params={"key": key}).text,
        client.get("/live/report", params={"key": key}).text,
        client.get("/live/report", params={"key": key, "part": "history"}).text,
    ]
    for html in pages:
        assert SCRIPT_SN not in html
        assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0]


def test_the_api_token_is_never_rendered(tmp_path, sim: Simulator) -> None:
    sim.add_token("s3cret-api-token")
    config = ui_config(tmp_path, sim, token="s3cret-api-token")
    with SyncEngine(config) as engine, httpx.Client(base_url=engine.ui_url) as client:
        sim.set_faults(error_rate=1.0, error_statuses=[400])
        key = engine.submit({**report(3), "sn": "s3cret-api-token"})
        wait_for(lambda: engine.counts()["failed"] == 1, what="failed")
        for path in ("/", "/config", "/reports", f"/report?key={key}", "/live/overview"):
            html = client.get(path).text
            assert "s3cret-api-token" not in html
        assert "&lt;hidden&gt;" in client.get("/config").text


def test_the_page_token_guards_pages_and_actions(tmp_path, sim: Simulator) -> None:
    config = ui_config(tmp_path, sim, ui={"token": "line-2-pass"})
    with SyncEngine(config) as engine, httpx.Client(base_url=engine.ui_url) as client:
        assert client.get("/").status_code == 303
        assert 'href="/reports"' not in client.get("/login").text  # nothing to see yet
        assert client.get("/live/overview").status_code == 403
        assert client.get("/healthz").status_code == 200  # probes stay open to the supervisor
        csrf = csrf_of_login(client)
        wrong = client.post(
            "/login", data={"token": "nope", "csrf": csrf}, headers=origin_headers(client)
        )
        assert wrong.status_code == 403
        right = client.post(
            "/login", data={"token": "line-2-pass", "csrf": csrf}, headers=origin_headers(client)
        )
        assert right.status_code == 303
        assert "HttpOnly" in right.headers["set-cookie"]
        assert "SameSite=Strict" in right.headers["set-cookie"]
        assert client.get("/").status_code == 200
        assert engine.running


def csrf_of_login(client: httpx.Client) -> str:
    html = client.get("/login").text
    marker = 'name="csrf" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def test_the_ui_refuses_a_host_that_is_not_loopback(tmp_path, sim: Simulator) -> None:
    config = ui_config(tmp_path, sim, ui={"host": "0.0.0.0"})
    engine = SyncEngine(config)
    with pytest.raises(ValueError, match=r"ui\.host must be a loopback"):
        engine.start()
    assert not engine.running


def _raw_post_head(url: str, host: str, length: int) -> bytes:
    """Send only the head of a POST announcing ``length`` body bytes; return the answer."""
    parts = httpx.URL(url)
    with socket.create_connection((parts.host, parts.port), timeout=10) as sock:
        head = (
            f"POST /action/supersede HTTP/1.1\r\nHost: {host}\r\n"
            "Content-Type: multipart/form-data; boundary=x\r\n"
            f"Content-Length: {length}\r\n\r\n"
        )
        sock.sendall(head.encode("ascii"))
        # The server must answer without waiting for the body it was promised; with
        # the old behaviour this read times out (socket.timeout fails the test).
        return sock.recv(200)


def test_an_upload_larger_than_the_form_allows_is_refused_unread(tmp_path, sim: Simulator) -> None:
    with SyncEngine(ui_config(tmp_path, sim, ui={"max_upload_mb": 0.5})) as engine:
        assert engine.ui_url is not None
        host = engine.ui_url.split("/")[2]
        answer = _raw_post_head(engine.ui_url, host, 3 * 1024 * 1024)
        assert answer.startswith(b"HTTP/1.0 413"), answer
        assert engine.counts().get("pending", 0) == 0


def test_a_forged_host_post_is_refused_before_its_body_is_read(engine: SyncEngine) -> None:
    assert engine.ui_url is not None
    answer = _raw_post_head(engine.ui_url, "rebound.example", 1024 * 1024)
    assert answer.startswith(b"HTTP/1.0 421"), answer


def test_secrets_with_html_characters_are_hidden_in_every_form(tmp_path, sim: Simulator) -> None:
    # A password with characters HTML and JSON escape: a plain search for the raw text misses
    # its escaped form in the page; and a "<hidden>" written raw would be an invisible tag.
    api, password = 'api&"tok<1>', "pass'&word\\2"
    sim.add_token(api)
    config = ui_config(tmp_path, sim, token=api, ui={"token": password})
    with SyncEngine(config) as engine, httpx.Client(base_url=engine.ui_url) as client:
        csrf = csrf_of_login(client)
        login = {"token": password, "csrf": csrf}
        assert client.post("/login", data=login, headers=origin_headers(client)).is_redirect
        sim.set_faults(error_rate=1.0, error_statuses=[400])
        hostile = {**report(4), "sn": api, "pn": password, "location": api + password}
        with Journal(engine.config.journal_path) as producer:  # a producer without checks
            key = producer.submit(hostile["id"], hostile).key
        wait_for(lambda: engine.counts()["failed"] == 1, what="failed")
        forms = {
            s: [s, str(escape(s)), html_escape(s), str(escape(json.dumps(s)[1:-1]))]
            for s in (api, password)
        }
        for path in ("/", "/config", "/reports", f"/report?key={key}", f"/live/report?key={key}"):
            html = client.get(path).text
            for secret, shown in forms.items():
                for form in shown:
                    assert form not in html, (path, secret, form)
        page = client.get(f"/report?key={key}").text
        assert "<hidden>" not in page and "&lt;hidden&gt;" in page


def test_the_page_on_ipv6_loopback_answers_its_names_with_the_port_only(
    tmp_path, sim: Simulator
) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    with SyncEngine(ui_config(tmp_path, sim, ui={"host": "::1"})) as engine:
        assert engine.ui_url is not None and engine.ui_url.startswith("http://[::1]:")
        port = engine.ui_url.rstrip("/").rsplit(":", 1)[1]
        with httpx.Client(base_url=engine.ui_url, timeout=10.0) as client:
            for host in (f"[::1]:{port}", f"localhost:{port}", f"127.0.0.1:{port}"):
                assert client.get("/", headers={"Host": host}).status_code == 200, host
            for host in (
                "[::1]",
                f"[::1]:{int(port) + 1}",
                f"[::2]:{port}",
                f"[::ffff:7f00:1]:{port}",
            ):
                assert client.get("/", headers={"Host": host}).status_code == 421, host
            key = failed_key(engine, sim)
            answer = client.post(
                "/action/dismiss",
                data={"key": key, "reason": "scrapped", "who": "anna", "csrf": csrf_of(client)},
                headers=origin_headers(client),
            )
            assert answer.status_code == 303
            assert engine.submission(key).state == "dismissed"


def test_no_action_happens_on_get_or_head(
    engine: SyncEngine, client: httpx.Client, sim: Simulator
) -> None:
    key = failed_key(engine, sim)
    events = len(engine.history(key))
    params = {"key": key, "reason": "x", "who": "anna", "csrf": csrf_of(client)}
    for path in ("/action/requeue", "/action/dismiss", "/action/requeue-failed", "/logout"):
        for method in ("GET", "HEAD"):
            answer = client.request(method, path, params=params, headers=origin_headers(client))
            assert answer.status_code in (404, 405), (method, path, answer.status_code)
    assert engine.submission(key).state == "failed"
    assert len(engine.history(key)) == events


def test_on_port_80_the_names_without_a_port_are_allowed_too() -> None:
    from syncengine._health_http import allowed_hosts

    # A browser writes http://127.0.0.1/ as Host "127.0.0.1" (the default port left out).
    assert {"127.0.0.1", "localhost", "[::1]", "127.0.0.1:80"} <= allowed_hosts("127.0.0.1", 80)
    assert "127.0.0.1" not in allowed_hosts("127.0.0.1", 8765)
    assert "evil.example" not in allowed_hosts("127.0.0.1", 80)
