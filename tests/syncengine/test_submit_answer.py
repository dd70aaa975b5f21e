"""What the engine keeps of a submit's answer, against a real HTTP server on 127.0.0.1.

The server here answers ``POST /api/Report/WSJF`` the way it is told (status, body, headers) and
counts the posts, so the tests can check that what the ``Acknowledged`` event stores is what
really came back, and that a 2xx answer without a usable id is acknowledged once, not re-sent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from syncengine import SyncEngine, signals
from watsim import Simulator

from .test_engine_support import Receivers, fast_config, receivers, report

__all__ = ["receivers"]  # the fixture is used by name


@dataclass
class Scripted:
    """How the server answers a submit, and what it received."""

    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    posts: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(script: Scripted) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path.startswith("/api/App/Version"):
                self._send(200, b'"2026.1.5"', {})
            else:
                self._send(404, b'{"message": "no route"}', {})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            doc = json.loads(self.rfile.read(length))
            if self.path.startswith("/api/Report/WSJF"):
                with script.lock:
                    script.posts.append(doc)
                self._send(script.status, script.body, script.headers)
            else:
                self._send(404, b'{"message": "no route"}', {})

    return Handler


@pytest.fixture
def scripted() -> Iterator[tuple[Scripted, str]]:
    script = Scripted()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield script, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _acked(tmp_path: Path, sim: Simulator, url: str, doc: dict[str, Any]) -> dict[str, Any]:
    with SyncEngine(fast_config(tmp_path, sim, server_url=url)) as engine:
        key = engine.submit(doc)
        assert engine.wait_idle(30)
        history = engine.history(key)
        assert engine.counts()["acked"] == 1
    acks = [e for e in history if e.type == "Acknowledged"]
    assert len(acks) == 1
    assert [e.type for e in history].count("RetryScheduled") == 0
    return dict(acks[0].data["answer"])


def test_acknowledged_stores_the_status_id_and_correlation_id_really_returned(
    tmp_path: Path, sim: Simulator, scripted: tuple[Scripted, str]
) -> None:
    script, url = scripted
    doc = report(1)
    script.status = 201
    script.body = json.dumps({"ID": doc["id"], "uuid": doc["id"], "Report_ID": 5}).encode()
    script.headers = {"X-Correlation-Id": "corr-77"}
    answer = _acked(tmp_path, sim, url, doc)
    assert (answer["report_id"], answer["status_code"], answer["correlation_id"]) == (
        doc["id"],
        201,
        "corr-77",
    )
    assert "raw_answer" not in answer
    assert len(script.posts) == 1


@pytest.mark.parametrize("body", [b"{}", b"", b'{"ID": ""}'])
def test_a_2xx_without_an_id_is_acknowledged_once_with_the_raw_answer(
    tmp_path: Path,
    sim: Simulator,
    scripted: tuple[Scripted, str],
    caplog: pytest.LogCaptureFixture,
    body: bytes,
) -> None:
    script, url = scripted
    script.body = body
    doc = report(2)
    with caplog.at_level("WARNING"):
        answer = _acked(tmp_path, sim, url, doc)
    assert (answer["report_id"], answer["status_code"]) == (None, 200)
    assert answer["raw_answer"] == body.decode()
    assert len(script.posts) == 1  # acknowledged, never sent again
    assert "without a report id" in caplog.text


def test_a_proxy_page_answering_200_is_not_taken_as_stored(
    tmp_path: Path, sim: Simulator, scripted: tuple[Scripted, str]
) -> None:
    # A login portal or proxy answering 200 with an HTML page has not given the report to the
    # WATS server: the engine retries (safe: the server upserts by id) and acknowledges only
    # the WATS server's own answer.
    script, url = scripted
    script.body = b"<html><body>Sign in to continue</body></html>"
    doc = report(3)
    with SyncEngine(fast_config(tmp_path, sim, server_url=url)) as engine:
        key = engine.submit(doc)
        assert not engine.wait_idle(1.5)
        assert engine.counts()["acked"] == 0
        kinds = [e.type for e in engine.history(key)]
        assert "RetryScheduled" in kinds and "Acknowledged" not in kinds
        with script.lock:
            script.body = json.dumps({"ID": doc["id"]}).encode()
        assert engine.wait_idle(30)
        acks = [e for e in engine.history(key) if e.type == "Acknowledged"]
    assert len(acks) == 1
    assert acks[0].data["answer"]["report_id"] == doc["id"]


def test_upload_succeeded_carries_the_correlation_id_the_server_sent(
    tmp_path: Path, sim: Simulator, scripted: tuple[Scripted, str], receivers: Receivers
) -> None:
    script, url = scripted
    doc = report(4)
    script.body = json.dumps({"ID": doc["id"]}).encode()
    script.headers = {"X-Correlation-Id": "corr-signal-9"}
    succeeded: list[dict[str, object]] = []
    receivers.connect(signals.upload_succeeded, lambda sender, **kw: succeeded.append(kw))
    with SyncEngine(fast_config(tmp_path, sim, server_url=url)) as engine:
        key = engine.submit(doc)
        assert engine.wait_idle(30)
    assert [(s["key"], s["report_id"], s["correlation_id"]) for s in succeeded] == [
        (key, doc["id"], "corr-signal-9")
    ]
