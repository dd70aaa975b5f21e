"""ConnectionService: the one authority on whether the engine can reach the WATS server.

States (``connection_changed`` announces every change):

``online``        uploads flow.
``offline``       an upload or probe got no answer (network error, timeout, dropped connection).
                  Uploads pause; a probe (``GET /api/App/Version``, never cached) runs every
                  ``probe_interval_s``; its success means online again.
``circuit_open``  the server answers but kept failing (5xx, 429, garbage) until the circuit
                  breaker opened. Uploads pause until the breaker lets its one half-open upload
                  through; that upload's outcome decides. The probe keeps running so a server
                  that stops answering at all is reported ``offline``.
``auth_failed``   the server rejected the token and the credential provider had no fresh one.
                  Uploads pause; every ``probe_interval_s`` the engine asks the provider again
                  (``token()``) and probes with a changed token.

Precedence when several hold: auth_failed > offline > circuit_open > online. Nothing else in the
engine probes the server or keeps its own idea of connectivity.

The clients, the tokens and the re-auth decisions are :mod:`._clients`'; this module only
tracks what the uploads and probes found.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from ._breaker import CLOSED, CircuitBreaker
from ._metrics import Metrics
from ._status import OfflinePeriod
from .signals import connection_changed, emit

log = logging.getLogger("syncengine.connection")

ONLINE = "online"
OFFLINE = "offline"
CIRCUIT_OPEN = "circuit_open"
AUTH_FAILED = "auth_failed"

#: Probe outcomes returned by the probe callable.
PROBE_OK = "ok"
PROBE_NO_ANSWER = "no_answer"
PROBE_AUTH = "auth"
PROBE_ERROR = "error"


class ConnectionService:
    """Tracks connectivity from upload outcomes and probes; runs the probe loop in a thread.

    ``probe`` performs one ``GET /api/App/Version`` with the current token and returns one of
    ``PROBE_OK`` / ``PROBE_NO_ANSWER`` / ``PROBE_AUTH`` / ``PROBE_ERROR``. ``recover_auth``
    is called every probe interval while ``auth_failed``; it returns True when a new token was
    obtained and accepted by the server.
    """

    def __init__(
        self,
        breaker: CircuitBreaker,
        metrics: Metrics,
        *,
        probe: Callable[[], str],
        recover_auth: Callable[[], bool],
        probe_interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._breaker = breaker
        self._metrics = metrics
        self._probe = probe
        self._recover_auth = recover_auth
        self._interval = probe_interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._offline = False
        self._auth_failed = False
        self._offline_since: float | None = None
        self._offline_wall: float | None = None
        self._offline_reason = ""
        self._periods: deque[OfflinePeriod] = deque(maxlen=20)
        self._state = ONLINE
        self._reason = "started"
        self._stop = threading.Event()
        self._kick = threading.Event()
        self._thread: threading.Thread | None = None
        self.on_change: Callable[[str], None] | None = None
        """Called (after the signal) with the new state; the engine uses it to wake its sender."""

    # --- state --------------------------------------------------------------------------
    @property
    def state(self) -> str:
        """The current state: online, offline, circuit_open or auth_failed."""
        self._refresh("breaker")
        return self._state

    @property
    def reason(self) -> str:
        """Why the current state was entered (one line)."""
        return self._reason

    def can_send(self) -> bool:
        """True unless offline or auth_failed (the breaker gates circuit_open itself)."""
        with self._lock:
            return not (self._offline or self._auth_failed)

    def offline_periods(self) -> list[OfflinePeriod]:
        """The last 20 closed offline periods: start, end (UNIX s), seconds, reason."""
        with self._lock:
            return list(self._periods)

    def offline_for(self) -> float:
        """Seconds of the current offline period (0 when not offline)."""
        with self._lock:
            since = self._offline_since
        return 0.0 if since is None else max(0.0, self._clock() - since)

    def _derive(self) -> str:
        if self._auth_failed:
            return AUTH_FAILED
        if self._offline:
            return OFFLINE
        if self._breaker.state != CLOSED:
            return CIRCUIT_OPEN
        return ONLINE

    def _refresh(self, reason: str) -> None:
        with self._lock:
            new = self._derive()
            old = self._state
            if new == old:
                return
            self._state = new
            self._reason = reason
        # The one line per change (the CLI's event log adds only advice, never a second copy).
        log.log(
            logging.INFO if new == ONLINE else logging.WARNING,
            "connection %s -> %s (%s)",
            old,
            new,
            reason,
        )
        emit(connection_changed, self, old=old, new=new, reason=reason)
        if new != ONLINE:
            self._kick.set()
        if self.on_change is not None:
            self.on_change(new)

    # --- inputs from the uploader -------------------------------------------------------
    def update(self, reason: str) -> None:
        """Re-derive the state (after the breaker changed) and announce a change."""
        self._refresh(reason)

    def report_answer(self) -> None:
        """An upload got an answer from the server (success or a non-retryable refusal)."""
        self._set_offline(False, "server answered")

    def report_no_answer(self, reason: str) -> None:
        """An upload got no answer (network error, timeout, dropped connection)."""
        self._set_offline(True, reason)

    def report_server_failure(self, reason: str) -> None:
        """An upload got a retryable answer (5xx, 429, garbage): reachable but failing."""
        self._set_offline(False, reason)

    def report_auth_failed(self, reason: str) -> None:
        """The token was rejected and no fresh one could be had: uploads pause."""
        with self._lock:
            self._auth_failed = True
        self._refresh(reason)

    def report_auth_ok(self, reason: str = "token accepted") -> None:
        """A (new) token was accepted."""
        with self._lock:
            self._auth_failed = False
        self._refresh(reason)

    def _set_offline(self, offline: bool, reason: str) -> None:
        with self._lock:
            if offline and not self._offline:
                self._offline_since = self._clock()
                self._offline_wall = time.time()
                self._offline_reason = reason
            elif not offline and self._offline and self._offline_since is not None:
                seconds = max(0.0, self._clock() - self._offline_since)
                self._metrics.inc("offline_duration_s", seconds)
                self._periods.append(
                    OfflinePeriod(
                        start=self._offline_wall,
                        end=time.time(),
                        seconds=seconds,
                        reason=self._offline_reason,
                    )
                )
                self._offline_since = None
            self._offline = offline
        self._refresh(reason)

    # --- the probe loop -------------------------------------------------------------------
    def start(self) -> None:
        """Start the probe thread."""
        self._thread = threading.Thread(target=self._run, name="syncengine-connection", daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Stop the probe thread and close the current offline period into the counter."""
        self._stop.set()
        self._kick.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            if self._offline_since is not None:
                now = self._clock()
                self._metrics.inc("offline_duration_s", max(0.0, now - self._offline_since))
                self._offline_since = now

    def _run(self) -> None:
        while not self._stop.is_set():
            state = self.state
            if state == ONLINE:
                self._kick.wait(self._interval)
                self._kick.clear()
                continue
            # Not online: wait one interval first, so a failed upload is not followed at once
            # by a probe that most likely fails the same way.
            if self._stop.wait(self._interval):
                return
            try:
                self.probe_once()
            except Exception:  # a bug in a probe must not kill the authority
                log.exception("connectivity probe raised")

    def probe_once(self) -> str:
        """Probe now (or try to recover auth) and update the state; returns the state."""
        if self.state == AUTH_FAILED:
            if self._recover_auth():
                self.report_auth_ok("credential provider supplied an accepted token")
            return self.state
        self._metrics.inc("probes")
        outcome = self._probe()
        if outcome == PROBE_NO_ANSWER:
            self._set_offline(True, "probe got no answer")
        elif outcome == PROBE_AUTH:
            self._set_offline(False, "probe answered")
            if not self._recover_auth():
                self.report_auth_failed("probe: token rejected")
        else:
            self._set_offline(False, f"probe answered ({outcome})")
        return self.state
