"""The loopback HTTP server: probes, Prometheus metrics and, when enabled, the station page.

Routes (a small router, no framework):

``GET /livez``     200 while the process serves requests (a supervisor restarts on failure).
``GET /readyz``    200 while the engine is delivering or has nothing to deliver, 503 when it is
                   stopped, stuck or locked out (auth_failed). A server that is down is not the
                   engine's fault: ``offline`` is ready, so nobody restarts a healthy engine.
``GET /healthz``   200 with the status snapshot when health is ``ok`` or ``degraded``, else 503.
``GET /metrics``   Prometheus exposition (``prometheus_client``, read at scrape time).
everything else    the station page (``syncengine.ui``) when ``[ui]`` is enabled on this server.

Every request must name this server in its ``Host`` header (``localhost``, ``127.0.0.1`` or
``[::1]`` with the bound port), else 421: a page elsewhere that points a rebound DNS name at
127.0.0.1 gets nothing. The server binds to loopback only: the snapshot names paths and the
server URL, which are nobody else's business.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs, urlsplit

from ._config import EngineConfig, HealthHttpConfig, UiConfig
from ._errors import LocalServerError
from ._metrics import Metrics, build_registry, exposition

if TYPE_CHECKING:
    from ._engine import SyncEngine
    from .ui import StationPage

log = logging.getLogger("syncengine.health_http")

_LOOPBACK_NAMES = {"localhost"}
_FORM_SLACK = 1024 * 1024
"""Room for a form's other fields and multipart framing beside an upload of max_upload_mb."""
_NO_PAGE_BODY = 64 * 1024
"""The largest body a server without the page reads (it has no POST route at all)."""
READY_HEALTH = ("ok", "degraded", "offline")
"""Health words for which /readyz answers 200."""


class _StatusSource(Protocol):
    @property
    def metrics(self) -> Metrics: ...

    def status(self) -> Mapping[str, Any]: ...


def _check_loopback(host: str, what: str = "health_http") -> None:
    if host in _LOOPBACK_NAMES:
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ValueError(f"{what}.host must be a loopback address, got {host!r}")


@dataclass
class Request:
    """One HTTP request as the routes see it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes = b""

    def arg(self, name: str) -> str:
        """The first value of query parameter ``name``, or ``""``."""
        values = self.query.get(name)
        return values[0] if values else ""


@dataclass
class Response:
    """What a route returns; the server adds the security headers."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)


Route = Callable[[Request], Response]


def text(status: int, message: str) -> Response:
    """A plain-text answer."""
    return Response(status, message.encode("utf-8"))


class Router:
    """Exact-path routes per method, then an optional fallback (the station page)."""

    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], Route] = {}
        self.fallback: Route | None = None

    def add(self, method: str, path: str, route: Route) -> None:
        """Serve ``method path`` with ``route``."""
        self._routes[(method, path)] = route

    def dispatch(self, request: Request) -> Response:
        """The response of the matching route, 404 or 405."""
        route = self._routes.get((request.method, request.path))
        if route is not None:
            return route(request)
        if self.fallback is not None:
            return self.fallback(request)
        if any(path == request.path for _method, path in self._routes):
            return text(405, "method not allowed\n")
        return text(404, "not found: use /livez, /readyz, /healthz or /metrics\n")


def probe_routes(router: Router, source: _StatusSource) -> None:
    """Add /livez, /readyz, /healthz and /metrics for ``source`` to ``router``."""
    registry = build_registry(source)

    def livez(_request: Request) -> Response:
        return text(200, "ok\n")

    def readyz(_request: Request) -> Response:
        health = str(source.status().get("health"))
        ready = health in READY_HEALTH
        return text(200 if ready else 503, f"{'ready' if ready else 'not ready'}: {health}\n")

    def healthz(_request: Request) -> Response:
        status = source.status()
        code = 200 if status.get("health") in ("ok", "degraded") else 503
        return Response(code, json.dumps(status, default=str).encode(), "application/json")

    def metrics(request: Request) -> Response:
        body, ctype = exposition(registry, request.headers.get("Accept"))
        return Response(200, body, ctype)

    for path, route in (
        ("/livez", livez),
        ("/readyz", readyz),
        ("/healthz", healthz),
        ("/metrics", metrics),
    ):
        router.add("GET", path, route)


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    """The ``Host`` header values this server answers: loopback names with its port."""
    names = {"localhost", "127.0.0.1", "[::1]"}
    names.add(f"[{host}]" if ":" in host else host)
    hosts = {f"{name}:{port}" for name in names}
    if port == 80:  # browsers leave the default port out of Host (and Origin)
        hosts |= names
    return frozenset(hosts)


class _Server(ThreadingHTTPServer):
    # On Windows SO_REUSEADDR lets a second process bind the same port (and answer /healthz
    # for the wrong engine); elsewhere it only allows quick restarts.
    allow_reuse_address = os.name != "nt"


class _Server6(_Server):
    address_family = socket.AF_INET6


class HealthServer:
    """Serves the probes, /metrics and optionally the station page on a daemon thread.

    ``join_s`` bounds the wait for the serving thread in :meth:`stop`
    (``timeouts.stop_join_s``).
    """

    def __init__(
        self,
        config: HealthHttpConfig | UiConfig,
        source: _StatusSource,
        *,
        join_s: float,
        page: StationPage | None = None,
    ) -> None:
        _check_loopback(config.host, "ui" if isinstance(config, UiConfig) else "health_http")
        self._source = source
        self._page = page
        self.router = Router()
        probe_routes(self.router, source)
        if page is not None:
            self.router.fallback = page.handle
        server_class = _Server6 if ":" in config.host else _Server
        self._server = server_class((config.host, config.port), self._handler())
        self._server.daemon_threads = True
        self._hosts = allowed_hosts(config.host, self.address[1])
        # A body is read into memory whole: never more than the upload form accepts.
        self._max_body = _NO_PAGE_BODY
        if page is not None and isinstance(config, UiConfig):
            self._max_body = int(config.max_upload_mb * 1024 * 1024) + _FORM_SLACK
        if page is not None:
            page.bind(self.address)
        self._join_s = join_s
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        """The bound ``(host, port)`` (port 0 in the config picks a free one)."""
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def _respond(self, request: Request) -> Response:
        if request.headers.get("Host", "") not in self._hosts:
            return text(421, "misdirected request: this server answers only its loopback name\n")
        try:
            return self.router.dispatch(request)
        except Exception:
            log.exception("local HTTP route failed: %s %s", request.method, request.path)
            return text(500, "internal error\n")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        respond = self._respond
        outer = self  # its Host allow-list and body limit are known once it is bound
        security = self._page.security_headers if self._page is not None else None

        # HTTP/1.0 (the default): one request per connection, so no browser keeps a
        # connection to a server that was stopped.
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._serve("GET", b"")

            def do_HEAD(self) -> None:
                self._serve("GET", b"", head=True)

            def do_POST(self) -> None:
                if self.headers.get("Host", "") not in outer._hosts:
                    # Refused before a byte of the body is read (and so is an oversize body).
                    self._serve("POST", b"")
                    return
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    length = -1
                if length < 0 or length > outer._max_body:
                    self.close_connection = True
                    self._send(text(413, "request body too large\n"))
                    return
                self._serve("POST", self.rfile.read(length))

            def _serve(self, method: str, body: bytes, head: bool = False) -> None:
                parts = urlsplit(self.path)
                request = Request(method, parts.path, parse_qs(parts.query), self.headers, body)
                self._send(respond(request), head=head)

            def _send(self, response: Response, head: bool = False) -> None:
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(response.body)))
                for name, value in security() if security is not None else _BASIC_HEADERS:
                    self.send_header(name, value)
                for name, value in response.headers:
                    self.send_header(name, value)
                self.end_headers()
                if not head:
                    self.wfile.write(response.body)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("local http: " + format, *args)

        return Handler

    def start(self) -> None:
        """Start serving on a daemon thread."""
        if self._page is not None:
            self._page.start()
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="syncengine-http", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(self._join_s)
        self._server.server_close()
        if self._page is not None:
            self._page.stop()


_BASIC_HEADERS = (("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-store"))


class LocalServers:
    """The engine's loopback servers: /healthz & co. and, when ``[ui]`` is on, the page.

    One server when both are configured on the same host and port, two otherwise.
    """

    def __init__(self, config: EngineConfig, source: SyncEngine) -> None:
        self.health: HealthServer | None = None
        self.ui: HealthServer | None = None
        page = None
        if config.ui.enabled:
            from .ui import StationPage

            page = StationPage(source, config)
        health, ui = config.health_http, config.ui
        same = health.enabled and ui.enabled and (health.host, health.port) == (ui.host, ui.port)
        try:
            if ui.enabled:
                self.ui = _serve(ui, "ui", source, page, config.timeouts.stop_join_s)
            if health.enabled:
                shared = same and ui.port != 0
                join_s = config.timeouts.stop_join_s
                self.health = (
                    self.ui if shared else _serve(health, "health_http", source, None, join_s)
                )
        except BaseException:
            self.stop()
            raise

    @property
    def address(self) -> tuple[str, int] | None:
        """The address answering /healthz (the UI server's if only the UI is enabled)."""
        server = self.health or self.ui
        return None if server is None else server.address

    @property
    def ui_address(self) -> tuple[str, int] | None:
        """The station page's address, or None when it is not enabled."""
        return None if self.ui is None else self.ui.address

    def start(self) -> None:
        """Start every server."""
        for server in self._servers():
            server.start()

    def stop(self) -> None:
        """Stop every server (errors are logged, not raised)."""
        for server in self._servers():
            try:
                server.stop()
            except Exception:
                log.exception("stopping a local HTTP server failed")

    def _servers(self) -> list[HealthServer]:
        out = [s for s in (self.health, self.ui) if s is not None]
        return list(dict.fromkeys(out))


def _serve(
    config: HealthHttpConfig | UiConfig,
    section: str,
    source: _StatusSource,
    page: StationPage | None,
    join_s: float,
) -> HealthServer:
    try:
        return HealthServer(config, source, join_s=join_s, page=page)
    except OSError as exc:
        host = f"[{config.host}]" if ":" in config.host else config.host
        where = f"{host}:{config.port}"
        raise LocalServerError(
            f"cannot listen on {where} ({exc.strerror or exc}): set {section}.port to a free "
            "port (0 picks one)",
            host=config.host,
            port=config.port,
            key=f"{section}.port",
        ) from exc


def local_servers(config: EngineConfig, source: SyncEngine) -> LocalServers | None:
    """The servers ``config`` asks for (binds now, may raise :class:`LocalServerError`), or
    None."""
    if not (config.health_http.enabled or config.ui.enabled):
        return None
    return LocalServers(config, source)
