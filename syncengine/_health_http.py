"""Optional loopback-only HTTP endpoint: ``GET /healthz`` and Prometheus ``GET /metrics``.

``/healthz`` answers 200 with the status snapshot when health is ``ok`` or ``degraded`` and 503
otherwise, so a supervisor can restart or alert on it. It binds to loopback only: the snapshot
names paths and the server URL, which are nobody else's business.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from ._config import HealthHttpConfig
from ._metrics import Metrics, build_registry, exposition

log = logging.getLogger("syncengine.health_http")

_LOOPBACK_NAMES = {"localhost"}


class _StatusSource(Protocol):
    @property
    def metrics(self) -> Metrics: ...

    def status(self) -> dict[str, Any]: ...


def _check_loopback(host: str) -> None:
    if host in _LOOPBACK_NAMES:
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ValueError(f"health_http.host must be a loopback address, got {host!r}")


class _Server(ThreadingHTTPServer):
    # On Windows SO_REUSEADDR lets a second process bind the same port (and answer /healthz
    # for the wrong engine); elsewhere it only allows quick restarts.
    allow_reuse_address = os.name != "nt"


class HealthServer:
    """Serves /healthz and /metrics for one engine on a daemon thread."""

    def __init__(self, config: HealthHttpConfig, source: _StatusSource) -> None:
        _check_loopback(config.host)
        self._source = source
        handler = self._handler()
        self._server = _Server((config.host, config.port), handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        """The bound ``(host, port)`` (port 0 in the config picks a free one)."""
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        source = self._source
        registry = build_registry(source)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                try:
                    if self.path.split("?")[0] == "/healthz":
                        status = source.status()
                        code = 200 if status.get("health") in ("ok", "degraded") else 503
                        body = json.dumps(status, default=str).encode()
                        self._send(code, "application/json", body)
                    elif self.path.split("?")[0] == "/metrics":
                        body, ctype = exposition(registry, self.headers.get("Accept"))
                        self._send(200, ctype, body)
                    else:
                        self._send(404, "text/plain", b"not found: use /healthz or /metrics\n")
                except Exception:
                    log.exception("health endpoint failed")
                    self._send(500, "text/plain", b"internal error\n")

            def _send(self, code: int, ctype: str, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("health_http: " + format, *args)

        return Handler

    def start(self) -> None:
        """Start serving on a daemon thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="syncengine-health", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5.0)
        self._server.server_close()
