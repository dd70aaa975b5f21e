"""Redirects against a real HTTP server on 127.0.0.1: a POST must never end as a GET."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

import pywats

REPORT = {"id": "11111111-2222-3333-4444-555555555555", "type": "T", "pn": "P", "sn": "S"}


class _Handler(http.server.BaseHTTPRequestHandler):
    seen: list[tuple[str, str]] = []

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass

    def _body(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, status: int, location: str) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.seen.append(("POST", self.path))
        if self.path == "/moved/api/Report/WSJF":
            self._redirect(302, "/login")
        elif self.path == "/temp/api/Report/WSJF":
            self._redirect(307, "/final/api/Report/WSJF")
        else:
            self._body(200, b'{"ID": "src", "uuid": "stored-1"}')

    def do_GET(self) -> None:
        self.seen.append(("GET", self.path))
        # What a proxy's login page or an index answers: 200, and nothing about the report.
        self._body(200, b"<html>please log in</html>", "text/html")


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.seen = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_submit_redirected_into_a_get_is_an_error_not_a_stored_report(server: str) -> None:
    with pywats.Client(server + "/moved", "tok") as client:
        with pytest.raises(pywats.UnexpectedStatusError) as info:
            client.reports.submit(REPORT)
    assert info.value.status_code == 302
    assert "redirected POST to GET" in str(info.value)
    assert "tok" not in str(info.value)
    assert _Handler.seen == [("POST", "/moved/api/Report/WSJF"), ("GET", "/login")]


def test_submit_through_a_307_keeps_the_post_and_is_stored(server: str) -> None:
    with pywats.Client(server + "/temp", "tok") as client:
        result = client.reports.submit(REPORT)
    assert result.id == "stored-1"
    assert _Handler.seen == [
        ("POST", "/temp/api/Report/WSJF"),
        ("POST", "/final/api/Report/WSJF"),
    ]
