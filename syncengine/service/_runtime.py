"""What ``syncengine run`` adds around a running engine when it is a service.

:class:`ServiceRuntime` tells the service manager the engine is ready (``READY=1``, after the
engine started: journal open, recovery done), keeps the watchdog fed from the engine's
heartbeat, writes the metrics textfile, and at the end says ``STOPPING=1`` and writes the
final metrics. Every part is optional and inert when not configured (no ``$NOTIFY_SOCKET``, no
``$WATCHDOG_USEC``, no textfile).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from syncengine._metrics import MetricsSource, TextfileWriter, build_registry

from ._notify import Notifier, Watchdog


class RunningEngine(MetricsSource, Protocol):
    """The part of ``SyncEngine`` the runtime reads."""

    @property
    def heartbeat_at(self) -> float | None: ...

    def set_heartbeat_interval(self, seconds: float) -> None: ...


class ServiceRuntime:
    """Readiness, watchdog and textfile for one engine (see the module docstring)."""

    def __init__(
        self,
        engine: RunningEngine,
        *,
        textfile: Path | None = None,
        textfile_interval_s: float = 15.0,
        notifier: Notifier | None = None,
        join_s: float = 5.0,
    ) -> None:
        self._engine = engine
        self._join_s = join_s  # the engine's timeouts.stop_join_s, for the helper threads
        self.notifier = notifier or Notifier()
        self.watchdog: Watchdog | None = None
        self.textfile: TextfileWriter | None = None
        if textfile is not None:
            # No process_*/python_* families: the exporter serving the file exports its own
            # process_* series under the same target, and the two would collide.
            registry = build_registry(engine, process=False)
            self.textfile = TextfileWriter(
                registry,
                textfile,
                textfile_interval_s,
                join_s=join_s,
            )

    def started(self) -> None:
        """Call after ``engine.start()`` returned: READY=1, then the watchdog and textfile."""
        interval = self.notifier.watchdog_interval()
        if interval is not None:
            # The watchdog pings only while the heartbeat is younger than interval / 2; an idle
            # loop sleeping idle_poll_s (unbounded) would let it age past that and get a
            # healthy service killed. A quarter interval leaves room for a slow round.
            self._engine.set_heartbeat_interval(interval / 4)
            self.watchdog = Watchdog(
                self.notifier,
                interval,
                lambda: self._engine.heartbeat_at,
                status=self.status_line,
                join_s=self._join_s,
            )
            self.watchdog.start()
        if self.textfile is not None:
            self.textfile.start()
        self.notifier.ready("delivering reports")

    def status_line(self) -> str:
        """``ok: 3 waiting, 1 failed, 1200 delivered``: the engine's health for ``STATUS=``."""
        status = self._engine.status()
        counts = status.get("counts") or {}
        waiting = int(counts.get("pending", 0)) + int(counts.get("in_flight", 0))
        return (
            f"{status.get('health')}: {waiting} waiting, {counts.get('failed', 0)} failed, "
            f"{counts.get('acked', 0)} delivered"
        )

    def stopping(self) -> None:
        """Call before ``engine.stop()``: STOPPING=1 and no more watchdog pings."""
        self.notifier.stopping("stopping: finishing in-flight uploads")
        if self.watchdog is not None:
            self.watchdog.stop()

    def stopped(self) -> None:
        """Call after ``engine.stop()``: the textfile's last write shows the final state."""
        if self.textfile is not None:
            self.textfile.stop()
