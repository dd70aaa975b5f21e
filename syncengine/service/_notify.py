"""The systemd notification protocol (``sd_notify``), standard library only.

A ``Type=notify`` unit waits for ``READY=1`` before it counts the service as started, and a unit
with ``WatchdogSec=`` kills the service when no ``WATCHDOG=1`` arrives within that time. The
protocol is one datagram of ``KEY=VALUE`` lines sent to the ``AF_UNIX`` socket named by
``$NOTIFY_SOCKET`` (a path, or ``@name`` for the abstract namespace). Nothing else is needed,
so there is no dependency on libsystemd.

Where it is sent from (``syncengine run``):

* ``READY=1`` once the engine has started: journal open, crash recovery done (``in_flight``
  submissions are due again), lock held;
* ``WATCHDOG=1`` from :class:`Watchdog`, only while the engine's dispatcher loop keeps going
  round (:attr:`SyncEngine.heartbeat_at`); a wedged dispatcher stops the pings and systemd
  restarts the service, which is what ``WatchdogSec=`` is for;
* ``STOPPING=1`` when the graceful shutdown begins.

Without ``$NOTIFY_SOCKET`` (not under systemd, or on Windows) every call is a no-op.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping

log = logging.getLogger("syncengine.service.notify")

NOTIFY_SOCKET = "NOTIFY_SOCKET"
WATCHDOG_USEC = "WATCHDOG_USEC"
WATCHDOG_PID = "WATCHDOG_PID"


def _address(name: str) -> str | bytes:
    # "@name" is Linux's abstract namespace: a leading NUL byte instead of a file.
    if name.startswith("@"):
        return b"\0" + name[1:].encode()
    return name


class Notifier:
    """Sends notifications to the service manager named by ``$NOTIFY_SOCKET``.

    ``env`` defaults to ``os.environ``. :attr:`enabled` is False when there is no socket (or
    no ``AF_UNIX`` on this platform); :meth:`send` then does nothing and returns False.
    """

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self._name = env.get(NOTIFY_SOCKET, "")
        self._env = env
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """True when a notification socket is configured and this platform can reach it."""
        return bool(self._name) and hasattr(socket, "AF_UNIX")

    def send(self, *lines: str) -> bool:
        """Send one datagram of ``KEY=VALUE`` lines; True when it was sent.

        A manager that went away (socket missing, refused) is logged at DEBUG and reported
        as False: a notification must never stop the engine.
        """
        if not self.enabled:
            return False
        message = "\n".join(lines).encode()
        try:
            with self._lock, socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(message, _address(self._name))
        except OSError as exc:
            log.debug("sd_notify %r failed: %s", lines, exc)
            return False
        return True

    def ready(self, status: str = "") -> bool:
        """``READY=1`` (and an optional ``STATUS=`` line for ``systemctl status``)."""
        return self.send("READY=1", *(("STATUS=" + status,) if status else ()))

    def stopping(self, status: str = "") -> bool:
        """``STOPPING=1``: the graceful shutdown has begun."""
        return self.send("STOPPING=1", *(("STATUS=" + status,) if status else ()))

    def status(self, text: str) -> bool:
        """``STATUS=<text>``: a one-line state shown by ``systemctl status``."""
        return self.send("STATUS=" + text)

    def watchdog(self) -> bool:
        """``WATCHDOG=1``: the service is alive and making progress."""
        return self.send("WATCHDOG=1")

    def watchdog_interval(self) -> float | None:
        """``$WATCHDOG_USEC`` in seconds, or None when the manager expects no pings.

        ``$WATCHDOG_PID``, when set, must be this process (as in ``sd_watchdog_enabled``).
        """
        usec = self._env.get(WATCHDOG_USEC, "")
        pid = self._env.get(WATCHDOG_PID, "")
        if not usec:
            return None
        if pid and pid != str(os.getpid()):
            return None
        try:
            value = int(usec)
        except ValueError:
            return None
        return value / 1_000_000 if value > 0 else None


class Watchdog:
    """Pings ``WATCHDOG=1`` while ``heartbeat()`` shows the engine's loop going round.

    With ``status``, each ping carries ``STATUS=<status()>`` too, the line ``systemctl status``
    shows (health and counts).

    Every ``interval / 3`` seconds (systemd asks for at least every half interval) it reads
    ``heartbeat()``, a monotonic timestamp of the loop's last round (None: not running). It
    pings only when that round is younger than half the watchdog interval. A loop stuck in a
    deadlock or a hung journal call therefore stops the pings, and the manager restarts the
    service after ``WatchdogSec``.
    """

    def __init__(
        self,
        notifier: Notifier,
        interval_s: float,
        heartbeat: Callable[[], float | None],
        *,
        status: Callable[[], str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        join_s: float = 5.0,
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"watchdog interval must be > 0, got {interval_s}")
        self._join_s = join_s
        self._notifier = notifier
        self._interval = interval_s
        self._heartbeat = heartbeat
        self._status = status
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.pings = 0
        """How many ``WATCHDOG=1`` were sent (for tests and ``STATUS=``)."""
        self.withheld = 0
        """How many ticks found the loop stale and sent nothing."""

    def tick(self) -> bool:
        """Check the heartbeat once and ping when it is fresh; True when pinged."""
        beat = self._heartbeat()
        if beat is None or self._clock() - beat > self._interval / 2:
            self.withheld += 1
            if self.withheld == 1 or self.withheld % 10 == 0:
                log.warning(
                    "engine loop made no progress for %.1f s: withholding the watchdog ping",
                    float("inf") if beat is None else self._clock() - beat,
                )
            return False
        lines = ["WATCHDOG=1"]
        if self._status is not None:
            lines.append("STATUS=" + self._status())
        if self._notifier.send(*lines):
            self.pings += 1
            return True
        return False

    def _run(self) -> None:
        while not self._stop.wait(self._interval / 3):
            try:
                self.tick()
            except Exception:  # a bug here must not kill the engine; systemd will notice
                log.exception("watchdog tick failed")

    def start(self) -> None:
        """Ping once now, then on a daemon thread."""
        self.tick()
        self._thread = threading.Thread(target=self._run, name="syncengine-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop pinging (the manager's own stop timeout applies from here)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self._join_s)
