"""The pywats clients of one engine: which token is in use, when to rotate it, how to re-auth.

Everything the engine decides about credentials lives here:

- :class:`Clients` holds the current :class:`pywats.Client` and its token. A token change makes a
  new client (a new *generation*); retired clients are closed at stop, because an upload may
  still be using one.
- An upload refused with 401/403 asks the :class:`CredentialProvider` for ``refresh()`` once per
  rejected token (:meth:`Clients.send`): many workers meeting the same expired token cause one
  refresh, and the upload is tried again once with the new client. No fresh token means the
  connection goes ``auth_failed``.
- While ``auth_failed`` the ConnectionService calls :meth:`Clients.recover_auth` every probe
  interval: first ``refresh()`` (once per token), then the provider's current ``token()`` (an
  operator logged in again), else our own token again (the server side may have been fixed),
  each proven by a probe before it is adopted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ._config import EngineConfig
from ._connection import PROBE_AUTH, PROBE_ERROR, PROBE_NO_ANSWER, PROBE_OK
from ._metrics import Metrics

if TYPE_CHECKING:
    from pywats import Client

log = logging.getLogger("syncengine.clients")


@runtime_checkable
class CredentialProvider(Protocol):
    """Supplies the WATS API token; implemented by the CLI's stored-credential provider."""

    def token(self) -> str:
        """The token to use now."""

    def refresh(self) -> str | None:
        """A fresh token after the server rejected the current one, or None if none can be had."""


@dataclass(frozen=True)
class Delivered:
    """The server stored the report: what it answered, as the ``Acknowledged`` event keeps it."""

    report_id: str | None
    status_code: int | None
    correlation_id: str | None
    latency_s: float
    #: The start of a 2xx answer that carried no usable id (None when the id was read).
    raw_answer: str | None = None


@dataclass(frozen=True)
class Refused:
    """The upload raised: ``error`` is classified by the retry policy.

    ``auth`` is True when the token was rejected and no fresh one could be had.
    """

    error: BaseException
    latency_s: float
    auth: bool


def read_answer(answer: object, latency_s: float) -> Delivered:
    """The :class:`Delivered` of what ``reports.submit`` returned (a ``pywats.SubmitResult``).

    A 2xx answer without a usable id is still delivered (the server took the report; sending it
    again would loop for ever): ``report_id`` is None and the answer's start is kept.
    """
    report_id = answer if isinstance(answer, str) else getattr(answer, "id", None)
    status = getattr(answer, "status_code", None)
    correlation = getattr(answer, "correlation_id", None)
    raw = getattr(answer, "raw_answer", None)
    return Delivered(
        report_id=report_id if isinstance(report_id, str) else None,
        status_code=status if isinstance(status, int) else None,
        correlation_id=correlation if isinstance(correlation, str) else None,
        latency_s=latency_s,
        raw_answer=raw if isinstance(raw, str) else None,
    )


def probe_outcome(client: Client) -> str:
    """One ``GET /api/App/Version``: PROBE_OK, PROBE_NO_ANSWER, PROBE_AUTH or PROBE_ERROR.

    Any answer but "no answer" or "rejected token" counts as reachable (a 5xx from the version
    endpoint still proves the server is there).
    """
    from pywats import PyWATSError, TransportError

    from ._retry import AUTH

    try:
        client.app.version()
    except TransportError:
        return PROBE_NO_ANSWER
    except AUTH:
        return PROBE_AUTH
    except PyWATSError:
        return PROBE_ERROR
    return PROBE_OK


class Clients:
    """The current pywats client and its token; rotates both when the token changes."""

    def __init__(
        self,
        config: EngineConfig,
        credentials: CredentialProvider | None,
        metrics: Metrics,
        *,
        make: Callable[[str], Client] | None = None,
    ) -> None:
        self._config = config
        self._credentials = credentials
        self._metrics = metrics
        self._make = make or self._new_client
        self._lock = threading.Lock()
        self._token = self._initial_token()
        self._client = self._make(self._token)
        self._generation = 0
        self._refreshed_for = -1
        self._retired: list[Client] = []
        self.on_recovered: Callable[[], None] | None = None
        """Called when :meth:`recover_auth` put an accepted token in place (wakes the sender)."""

    def _new_client(self, token: str) -> Client:
        from pywats import Client, Timeout

        t = self._config.timeouts
        return Client(
            self._config.server_url,
            token,
            timeout=Timeout(connect=t.connect_s, read=t.read_s, write=t.write_s, pool=t.pool_s),
        )

    def _initial_token(self) -> str:
        if self._credentials is not None:
            token = self._credentials.token()
            if token:
                return token
        return self._config.token.get_secret_value()

    def current(self) -> tuple[int, Client]:
        """``(generation, client)``; the generation changes whenever the token changes."""
        with self._lock:
            return self._generation, self._client

    def _swap(self, token: str, client: Client) -> None:
        self._retired.append(self._client)  # closed at stop: uploads may still be using it
        self._token, self._client = token, client
        self._generation += 1

    # --- uploads ----------------------------------------------------------------------------
    def send(
        self, payload: bytes, key: str, *, on_rejected: Callable[[], None] | None = None
    ) -> Delivered | Refused:
        """POST one report (``key`` is the Idempotency-Key); re-authenticate once if refused.

        A rejected token is refreshed (once per token) and the upload tried again once with the
        fresh client. ``Refused.auth`` is True when no fresh token could be had; a fresh token
        rejected again comes back with ``auth`` False (the submission is simply sent again).
        ``on_rejected`` is called for each rejection (the server answered: the breaker counts
        it as a success).
        """
        from ._retry import AUTH

        refused: Refused | None = None
        for _ in range(2):  # the second round only after a token refresh
            generation, client = self.current()
            started = time.monotonic()
            try:
                answer = client.reports.submit(payload, idempotency_key=key)
            except AUTH as exc:
                latency = time.monotonic() - started
                if on_rejected is not None:
                    on_rejected()
                if not self.reauthenticate(generation):
                    return Refused(exc, latency, auth=True)
                refused = Refused(exc, latency, auth=False)
                continue
            except Exception as exc:
                return Refused(exc, time.monotonic() - started, auth=False)
            delivered = read_answer(answer, time.monotonic() - started)
            if delivered.report_id is None:
                log.warning(
                    "%s: the server answered %s without a report id; acknowledged as stored "
                    "(answer: %r)",
                    key,
                    delivered.status_code,
                    delivered.raw_answer,
                )
            return delivered
        assert refused is not None
        return refused

    def reauthenticate(self, rejected_generation: int) -> bool:
        """The client of ``rejected_generation`` was refused; True if a new one is ready."""
        with self._lock:
            if rejected_generation != self._generation:
                return True  # another worker already swapped in a fresh token
            if self._refreshed_for == rejected_generation or self._credentials is None:
                return False  # asked once for this token already
            self._refreshed_for = rejected_generation
            try:
                fresh = self._credentials.refresh()
            except Exception as exc:  # a provider failure is an auth failure, not a crash
                log.warning("credential provider refresh() failed: %s", type(exc).__name__)
                fresh = None
            if not fresh or fresh == self._token:
                return False
            self._swap(fresh, self._make(fresh))
            self._metrics.inc("auth_refreshes")
            return True

    # --- the connection's probe and auth recovery --------------------------------------------
    def probe(self) -> str:
        """Probe the server with the current client (see :func:`probe_outcome`)."""
        return probe_outcome(self.current()[1])

    def candidate(self) -> tuple[str, bool]:
        """The token to try while auth_failed: the provider's current one, else ours."""
        with self._lock:
            token = self._token
        if self._credentials is not None:
            try:
                offered = self._credentials.token()
            except Exception as exc:
                log.warning("credential provider token() failed: %s", type(exc).__name__)
                offered = None
            if offered and offered != token:
                return offered, True
        return token, False

    def adopt(self, token: str, client: Client | None) -> None:
        """Make ``token`` (and its ``client``) current after a probe accepted it."""
        with self._lock:
            if token != self._token and client is not None:
                self._swap(token, client)
                self._metrics.inc("auth_refreshes")
            self._refreshed_for = -1

    def recover_auth(self) -> bool:
        """Called by the ConnectionService when a probe's token was rejected, and every probe
        interval while auth_failed. True when a token the server does not reject is in place."""
        # First the provider's refresh(), asked once per rejected token (the same rule as for
        # uploads): a probe can be the first request to meet an expired token.
        generation = self.current()[0]
        if self.reauthenticate(generation):
            if self.probe() != PROBE_AUTH:
                self._recovered()
                return True
            return False
        # Then the provider's current token (an operator logged in again), else ours (the
        # server side may have been fixed).
        token, is_new = self.candidate()
        client = self._make(token) if is_new else self.current()[1]
        outcome = probe_outcome(client)
        if outcome in (PROBE_OK, PROBE_ERROR):
            self.adopt(token, client if is_new else None)
            self._recovered()
            return True
        if is_new:
            client.close()
        return False

    def _recovered(self) -> None:
        if self.on_recovered is not None:
            self.on_recovered()

    def close(self) -> None:
        """Close every client made (the current one and the retired ones)."""
        with self._lock:
            clients = [*self._retired, self._client]
            self._retired = []
        for client in clients:
            try:
                client.close()
            except Exception:
                log.debug("closing a pywats client failed", exc_info=True)
