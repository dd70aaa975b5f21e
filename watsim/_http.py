"""Sockets and bytes: the request handler and the threading server.

The handler reads a bounded body, hands the request to its owner (the Simulator) and offers the
owner the ways to answer: a whole body, a slowly dribbled body, or no answer at all (the
connection is shut down, which is how a "stored, then dropped" fault looks to a client).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import socketserver
import threading
import time
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from ._digits import is_digits
from ._errors import ApiError

log = logging.getLogger("watsim")

JSON_TYPE = "application/json; charset=utf-8"


class Owner(Protocol):
    """What the server needs from the Simulator that owns it."""

    max_body_bytes: int
    request_timeout_s: float
    stopping: threading.Event

    def handle(self, handler: SimHandler, body: bytes) -> None:
        """Answer one request."""

    def track(self, conn: socket.socket) -> None:
        """Remember an open connection (so down/stop can close it)."""

    def untrack(self, conn: socket.socket) -> None:
        """Forget a closed connection."""

    def thread_started(self, thread: threading.Thread) -> None:
        """Remember a connection thread (so stop can join it)."""

    def thread_done(self, thread: threading.Thread) -> None:
        """Forget a finished connection thread."""


class SimHandler(BaseHTTPRequestHandler):
    """One connection: HTTP/1.1 keep-alive, JSON errors, bounded and timed body reads."""

    protocol_version = "HTTP/1.1"
    server_version = "watsim/1"
    sys_version = ""
    server: SimServer

    def setup(self) -> None:
        """Apply the per-read timeout before the streams are made, then register."""
        super().setup()
        self.connection.settimeout(self.server.owner.request_timeout_s)
        # Headers and body are separate writes; without NODELAY, Nagle plus the client's
        # delayed ACK adds ~40 ms to every keep-alive answer.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.owner.track(self.connection)

    def finish(self) -> None:
        """Unregister even when the peer vanished."""
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.owner.untrack(self.connection)

    def do_GET(self) -> None:
        """Serve GET."""
        self._handle()

    def do_POST(self) -> None:
        """Serve POST."""
        self._handle()

    def do_PUT(self) -> None:
        """Serve PUT."""
        self._handle()

    def do_DELETE(self) -> None:
        """Serve DELETE."""
        self._handle()

    def do_PATCH(self) -> None:
        """Serve PATCH."""
        self._handle()

    def _handle(self) -> None:
        try:
            body = self._read_body()
        except ApiError as exc:
            # The rest of the body may still be on the wire: never reuse this connection.
            self.close_connection = True
            self.send_payload(exc.status, {"message": exc.message}, exc.headers)
            return
        self.server.owner.handle(self, body)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding"):
            raise ApiError(
                411, "request body: chunked transfer encoding is not supported, send Content-Length"
            )
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b""
        if not is_digits(raw.strip()):
            raise ApiError(400, f"Content-Length: expected a non-negative integer, got {raw!r}")
        length = int(raw)
        limit = self.server.owner.max_body_bytes
        if length > limit:
            raise ApiError(413, f"request body: {length} bytes is over the limit of {limit} bytes")
        deadline = time.monotonic() + self.server.owner.request_timeout_s
        chunks: list[bytes] = []
        remaining = length
        try:
            while remaining:
                if time.monotonic() > deadline:
                    raise ApiError(408, "request body: the client sent it too slowly")
                chunk = self.rfile.read1(min(remaining, 1 << 16))
                if not chunk:
                    raise ApiError(
                        400,
                        f"request body: connection closed after {length - remaining} of "
                        f"{length} bytes",
                    )
                chunks.append(chunk)
                remaining -= len(chunk)
        except TimeoutError:
            raise ApiError(408, "request body: timed out waiting for the client") from None
        return b"".join(chunks)

    # -- answering --------------------------------------------------------------------------

    def send_payload(
        self, status: int, payload: Any, headers: Mapping[str, str] | None = None
    ) -> None:
        """Send a JSON answer."""
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        self.send_bytes(status, body, JSON_TYPE, headers or {})

    def send_bytes(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: Mapping[str, str],
        *,
        slow_ms: float = 0.0,
    ) -> None:
        """Send an answer; with ``slow_ms`` the body goes out in 4 pieces, pausing before each."""
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if slow_ms <= 0 or not body:
                self.wfile.write(body)
                return
            self.wfile.flush()
            step = max(1, -(-len(body) // 4))
            for offset in range(0, len(body), step):
                if self.server.owner.stopping.wait(slow_ms / 1000.0):
                    self.close_connection = True
                    return
                self.wfile.write(body[offset : offset + step])
                self.wfile.flush()
        except OSError:
            self.close_connection = True

    def drop_connection(self) -> None:
        """Close the connection without answering (the client sees EOF, no status line)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol-level errors (bad request line, huge headers, unknown method) as JSON."""
        self.close_connection = True
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            # An unparsable request line leaves the stdlib in HTTP/0.9 mode, which sends no
            # status line at all; every real client speaks 1.x.
            self.request_version = "HTTP/1.0"
        text = message or explain or HTTPStatus(code).phrase
        self.send_payload(code, {"message": f"HTTP request: {text}"})

    def log_message(self, format: str, *args: Any) -> None:
        """Request log lines go to the ``watsim`` logger at DEBUG."""
        log.debug("%s - %s", self.address_string(), format % args)


class SimServer(ThreadingHTTPServer):
    """A threading HTTP server whose connection threads the owner tracks and joins."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], owner: Owner, *, rebind: bool = False) -> None:
        self.owner = owner
        # SO_REUSEADDR lets a server that went "down" listen again at once despite its old
        # connections in TIME_WAIT. On Windows it would also let two servers share a port, so
        # there it is used only to take back our own port after a down period.
        self.allow_reuse_address = rebind or os.name != "nt"
        super().__init__(address, SimHandler)

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup (slow on some hosts)."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve each connection in a thread the owner can join at stop."""
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name="watsim-conn",
            daemon=True,
        )
        self.owner.thread_started(thread)
        thread.start()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            self.owner.thread_done(threading.current_thread())

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection that failed mid-way is the client's business: log, don't print."""
        log.debug("connection from %s failed", client_address, exc_info=True)
