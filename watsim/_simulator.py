"""The Simulator: lifecycle, auth, the fault pipeline around the API, and the admin routes."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

from ._admin import serve_admin
from ._api import Api
from ._capacity import Capacity
from ._errors import ApiError
from ._faults import FaultDice, Faults, error_body, parse_faults, retry_after_text
from ._http import SimHandler, SimServer
from ._reports import canonical_id
from ._stats import IdempotencyRegistry, Stats, fingerprint
from ._store import Store

log = logging.getLogger("watsim")

_GARBAGE = (
    b"<html><head><title>Service Unavailable</title></head>"
    b"<body><h1>watsim: injected garbage</h1></body></html>"
)
_JOIN_TIMEOUT_S = 5.0
_REBIND_TIMEOUT_S = 5.0
_HOST = "127.0.0.1"


class Simulator:
    """A WATS-compatible server on 127.0.0.1 with fault injection; see docs/simulator.md.

    Use as a context manager (or ``start()``/``stop()``); single use. The server runs in
    background threads; ``stop()`` closes every socket and joins every thread it started.
    """

    def __init__(
        self,
        token: str = "secret",
        *,
        db: str | Path | None = None,
        seed: int | None = None,
        faults: Mapping[str, Any] | None = None,
        processes: list[dict[str, Any]] | None = None,
        port: int = 0,
        max_body_bytes: int = 16 * 1024 * 1024,
        request_timeout_s: float = 10.0,
        enforce_rules: bool = True,
    ) -> None:
        if not token:
            raise ValueError("token: must be a non-empty string")
        self.token = token
        self.max_body_bytes = max_body_bytes
        self.request_timeout_s = request_timeout_s
        self.stopping = threading.Event()
        initial = parse_faults(faults)
        self._requested_port = port
        self._store = Store(db)
        self._api = Api(self._store, processes, enforce_rules=enforce_rules)
        self._dice = FaultDice(seed)
        self._capacity = Capacity()
        self._stats = Stats()
        self._idem = IdempotencyRegistry(self._stats)
        self._faults = Faults({k: v for k, v in initial.settings.items() if k != "down_for_s"})
        self._initial_down = initial.down_for_s
        self._tokens: dict[str, int] = {token: 0}
        self._token_lock = threading.Lock()
        self._lock = threading.RLock()
        self._server: SimServer | None = None
        self._serve_thread: threading.Thread | None = None
        self._port: int | None = None
        self._state = "new"
        self._down_gen = 0
        self._wake_up = threading.Event()
        self._conns: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._aux_lock = threading.Lock()

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> Simulator:
        """Bind 127.0.0.1:port (0 = a free port) and serve in the background."""
        with self._lock:
            if self._state != "new":
                raise RuntimeError(f"Simulator is {self._state}; it can be started once")
            server = SimServer((_HOST, self._requested_port), self)
            self._port = int(server.server_address[1])
            self._launch(server)
            self._state = "running"
            if self._initial_down:
                self._go_down(self._initial_down, keep=None)
        return self

    def stop(self) -> None:
        """Stop serving, close every connection, join every thread, close the database."""
        with self._lock:
            if self._state == "stopped":
                return
            self._state = "stopped"
            self.stopping.set()
            self._wake_up.set()
            server, self._server = self._server, None
            serve_thread, self._serve_thread = self._serve_thread, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if serve_thread is not None:
            serve_thread.join(_JOIN_TIMEOUT_S)
        self._close_connections(keep=None)
        deadline = time.monotonic() + _JOIN_TIMEOUT_S
        me = threading.current_thread()
        while True:
            with self._aux_lock:
                pending = [t for t in self._threads if t is not me and t.is_alive()]
            if not pending or time.monotonic() > deadline:
                break
            pending[0].join(max(0.0, deadline - time.monotonic()))
        if pending:
            log.warning("watsim: %d connection threads still running after stop", len(pending))
        self._store.close()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (known after start)."""
        if self._port is None:
            raise RuntimeError("Simulator is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{_HOST}:{self.port}"

    @property
    def is_down(self) -> bool:
        """True while a ``down_for_s`` period refuses connections."""
        return self._state == "running" and self._server is None

    def _launch(self, server: SimServer) -> None:
        self._server = server
        self._serve_thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="watsim-serve"
        )
        self._serve_thread.daemon = True
        self._serve_thread.start()

    # -- down / up --------------------------------------------------------------------------

    def _go_down(self, seconds: float, keep: socket.socket | None) -> None:
        with self._lock:
            if self._state != "running":
                return
            self._down_gen += 1
            generation = self._down_gen
            self._wake_up.set()
            self._wake_up = threading.Event()
            server, self._server = self._server, None
            serve_thread, self._serve_thread = self._serve_thread, None
            if server is not None:
                server.shutdown()
                server.server_close()
            if serve_thread is not None:
                serve_thread.join(_JOIN_TIMEOUT_S)
            self._close_connections(keep=keep)
            self._stats.fault("down")
            timer = threading.Thread(
                target=self._up_after,
                args=(seconds, generation, self._wake_up),
                name="watsim-down",
                daemon=True,
            )
            self.thread_started(timer)
            timer.start()

    def _up_after(self, seconds: float, generation: int, wake: threading.Event) -> None:
        try:
            wake.wait(seconds)
            with self._lock:
                if generation == self._down_gen:
                    self._bring_up()
        finally:
            self.thread_done(threading.current_thread())

    def _end_down(self) -> None:
        with self._lock:
            self._down_gen += 1
            self._wake_up.set()
            self._bring_up()

    def _bring_up(self) -> None:
        if self._state != "running" or self._server is not None or self._port is None:
            return
        deadline = time.monotonic() + _REBIND_TIMEOUT_S
        while True:
            try:
                self._launch(SimServer((_HOST, self._port), self, rebind=True))
                return
            except OSError as exc:
                if time.monotonic() > deadline:
                    log.error("watsim: cannot listen on port %s again: %s", self._port, exc)
                    return
                time.sleep(0.05)

    # -- connection and thread bookkeeping (called by the server) --------------------------

    def track(self, conn: socket.socket) -> None:
        """Remember an open connection."""
        with self._aux_lock:
            self._conns.add(conn)

    def untrack(self, conn: socket.socket) -> None:
        """Forget a closed connection."""
        with self._aux_lock:
            self._conns.discard(conn)

    def thread_started(self, thread: threading.Thread) -> None:
        """Remember a thread to join at stop."""
        with self._aux_lock:
            self._threads.add(thread)

    def thread_done(self, thread: threading.Thread) -> None:
        """Forget a finished thread."""
        with self._aux_lock:
            self._threads.discard(thread)

    def _close_connections(self, keep: socket.socket | None) -> None:
        with self._aux_lock:
            conns = [c for c in self._conns if c is not keep]
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    # -- Python API -------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """The ``/_sim/stats`` object."""
        counts = self._store.receive_counts()
        snap = self._stats.snapshot()
        return {
            "distinct_reports": len(counts),
            "report_posts": snap.pop("report_posts"),
            "report_stores": sum(counts.values()),
            "receive_counts": counts,
            **snap,
            "down": self.is_down,
            "seed": self._dice.seed,
        }

    @property
    def faults(self) -> dict[str, Any]:
        """The current fault settings (as ``GET /_sim/faults`` returns them)."""
        return dict(self._faults.settings)

    def set_faults(self, faults: Mapping[str, Any] | None = None, /, **more: Any) -> dict[str, Any]:
        """Replace all faults (``{}`` clears them); ``down_for_s`` acts at once.

        Raises FaultConfigError (a ValueError) naming the first bad key; nothing changes then.
        """
        return self.apply_faults({**(faults or {}), **more}, keep=None)

    def clear_faults(self) -> None:
        """Remove every fault and end a down period."""
        self.apply_faults({}, keep=None)

    def apply_faults(self, raw: Mapping[str, Any], keep: socket.socket | None) -> dict[str, Any]:
        """Replace the faults; a down period spares ``keep`` (the admin request's connection)."""
        parsed = parse_faults(raw)
        with self._lock:
            self._faults = Faults({k: v for k, v in parsed.settings.items() if k != "down_for_s"})
            with self._token_lock:
                self._tokens = dict.fromkeys(self._tokens, 0)
            down = parsed.down_for_s
            if down:
                self._go_down(down, keep=keep)
            elif down is not None or not raw:
                self._end_down()
        return self.faults

    def add_token(self, token: str) -> None:
        """Accept another token (a re-added token gets a fresh expiry counter)."""
        if not isinstance(token, str) or not token.strip():
            raise ValueError("token: must be a non-empty string")
        with self._token_lock:
            self._tokens[token.strip()] = 0

    def report(self, report_id: str) -> dict[str, Any] | None:
        """The stored report with this id (any GUID spelling), as posted; None if unknown."""
        try:
            key = canonical_id(report_id)
        except ApiError:
            return None
        stored = self._store.get_report(key)
        return None if stored is None else json.loads(stored.raw)

    def reports(self) -> dict[str, dict[str, Any]]:
        """Every stored report, keyed by lower-case GUID, in the order first received."""
        return {rep.key: json.loads(rep.raw) for rep in self._store.report_list()}

    def reset(self) -> None:
        """Forget all data, stats and idempotency keys; restart the random sequence."""
        self._store.reset()
        self._stats.reset()
        self._idem.clear()
        self._dice.reseed()
        self._capacity.reset()

    # -- request handling -------------------------------------------------------------------

    def handle(self, handler: SimHandler, body: bytes) -> None:
        """Answer one request (called from a connection thread)."""
        method = handler.command
        path, _, query = handler.path.partition("?")
        if path == "/_sim" or path.startswith("/_sim/"):
            serve_admin(self, handler, method, path, body)
            return
        if not path.lower().startswith("/api/"):
            handler.send_payload(404, {"message": f"no route {method} {path} (try /api/...)"})
            return
        params = dict(parse_qsl(query, keep_blank_values=True))
        is_post = method == "POST" and path.lower().rstrip("/") == "/api/report/wsjf"
        self._stats.request(is_report_post=is_post)
        with self._stats.in_flight_request():
            self._api_request(handler, method, path, params, body)

    def _api_request(
        self, handler: SimHandler, method: str, path: str, params: dict[str, str], body: bytes
    ) -> None:
        faults = self._faults
        key = handler.headers.get("Idempotency-Key")
        registered = False
        try:
            self._authorize(handler.headers.get("Authorization"), faults)
            if self._dice.hit(faults.rate("rate_limit_rate")):
                self._stats.fault("rate_limit")
                raise ApiError(
                    429,
                    "injected fault: too many requests",
                    headers={"Retry-After": retry_after_text(faults.retry_after_s)},
                )
            queued_s = self._admit(faults)
            if key is not None and faults.idempotency_conflicts:
                self._idem.begin(key, fingerprint(method, path, body))
                registered = True
            if queued_s > 0:
                self.stopping.wait(queued_s)
            self._delay(faults)
            if self._dice.hit(faults.rate("error_rate")):
                self._raise_injected_error(faults)
            if self._dice.hit(faults.rate("drop_before_store_rate")):
                self._stats.fault("drop_before_store")
                handler.drop_connection()
                return
            response = self._api.dispatch(method, path, params, body)
            if not 200 <= response.status < 300:
                self._send(
                    handler,
                    response.status,
                    response.body(),
                    response.content_type,
                    response.headers,
                )
                return
            if self._dice.hit(faults.rate("drop_after_store_rate")):
                self._stats.fault("drop_after_store")
                if response.stored_report:
                    self._stats.dropped_stored_report()
                handler.drop_connection()
                return
            content, ctype = response.body(), response.content_type
            if self._dice.hit(faults.rate("garbage_rate")):
                self._stats.fault("garbage")
                content, ctype = _GARBAGE, "text/html; charset=utf-8"
            slow = faults.slow_body_ms
            if slow > 0:
                self._stats.fault("slow_body")
            self._send(handler, response.status, content, ctype, response.headers, slow)
        except ApiError as exc:
            payload, ctype = error_body(faults.error_body, exc.message)
            self._send(handler, exc.status, payload, ctype, exc.headers)
        except Exception as exc:  # a simulator bug must still answer, never hang the client
            log.exception("watsim: internal error on %s %s", method, path)
            payload, ctype = error_body(faults.error_body, f"internal simulator error: {exc!r}")
            self._send(handler, 500, payload, ctype, {})
        finally:
            if registered and key is not None:
                self._idem.end(key)

    def _authorize(self, header: str | None, faults: Faults) -> None:
        challenge = {"WWW-Authenticate": 'Basic realm="WATS"'}
        if not header:
            raise ApiError(
                401, "Authorization header missing (expected 'Basic <token>')", headers=challenge
            )
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "basic" or not token:
            raise ApiError(401, "Authorization: expected 'Basic <token>'", headers=challenge)
        with self._token_lock:
            used = self._tokens.get(token)
            if used is None:
                raise ApiError(401, "Authorization: invalid token", headers=challenge)
            limit = faults.token_expires_after
            if limit is not None and used >= limit:
                self._stats.fault("token_expired")
                raise ApiError(401, "token expired", headers=challenge)
            self._tokens[token] = used + 1

    def _admit(self, faults: Faults) -> float:
        """Apply ``capacity_rps``: 429 over capacity, else the queueing delay in seconds."""
        capacity = faults.capacity_rps
        if capacity is None:
            return 0.0
        queued_s = self._capacity.admit(capacity)
        if queued_s is None:
            self._stats.fault("capacity")
            raise ApiError(
                429,
                "server busy: over capacity",
                headers={"Retry-After": retry_after_text(faults.retry_after_s)},
            )
        return queued_s

    def _delay(self, faults: Faults) -> None:
        bounds = faults.latency_ms
        if bounds is None:
            return
        delay_ms = self._dice.uniform(*bounds)
        if delay_ms > 0:
            self._stats.fault("latency")
            self.stopping.wait(delay_ms / 1000.0)

    def _raise_injected_error(self, faults: Faults) -> None:
        status = self._dice.choice(faults.error_statuses)
        self._stats.fault("error")
        headers = {}
        if status == 503 and faults.retry_after_explicit:
            headers["Retry-After"] = retry_after_text(faults.retry_after_s)
        raise ApiError(status, f"injected fault: HTTP {status}", headers=headers)

    def _send(
        self,
        handler: SimHandler,
        status: int,
        body: bytes,
        content_type: str,
        headers: Mapping[str, str],
        slow_ms: float = 0.0,
    ) -> None:
        self._stats.status(status)
        handler.send_bytes(status, body, content_type, headers, slow_ms=slow_ms)
