"""Operating-system stop signals (SIGTERM, Ctrl-C, Ctrl-Break), handled in one place.

Not to be confused with :mod:`syncengine.signals`, the engine's blinker notifications. Both
``install_signal_handlers`` (for embedders) and the CLI's ``run`` install their handlers here,
so the platform differences are dealt with once: SIGBREAK exists only on Windows, SIGHUP only
on POSIX, and Python lets only the main thread install handlers.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._engine import SyncEngine

log = logging.getLogger("syncengine.os_signals")

STOP_SIGNALS = ("SIGTERM", "SIGINT", "SIGBREAK")
"""The signals that mean "stop": service managers, Ctrl-C, and Ctrl-Break on Windows."""

_Handler = Callable[[int, FrameType | None], object] | int | signal.Handlers | None


def on_stop_signals(
    callback: Callable[[str], None], *, names: Sequence[str] = STOP_SIGNALS
) -> Callable[[], None]:
    """Call ``callback(signal name)`` when one of ``names`` arrives; return ``restore()``.

    The callback runs in the main thread between two bytecodes of whatever it was doing, so it
    must only set a flag or start a thread, never take a lock. Names this platform does not
    have are skipped, as is a signal the platform refuses to hand over (logged at DEBUG).
    ``restore()`` puts the previous handlers back. Raises ``RuntimeError`` when not called from
    the main thread, where Python cannot install handlers.
    """
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("stop-signal handlers can only be installed from the main thread")

    def handler(signum: int, _frame: FrameType | None) -> None:
        callback(signal.Signals(signum).name)

    previous: dict[int, _Handler] = {}
    for name in names:
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        try:
            previous[signum] = signal.signal(signum, handler)
        except (OSError, ValueError) as exc:
            log.debug("cannot handle %s here: %s", name, exc)

    def restore() -> None:
        for signum, old in previous.items():
            signal.signal(signum, old)

    return restore


def install_signal_handlers(
    engine: SyncEngine, *, grace: float | None = None
) -> Callable[[], None]:
    """Make SIGTERM, SIGINT (Ctrl-C) and, on Windows, SIGBREAK (Ctrl-Break) stop ``engine``.

    The handler only starts a thread that calls ``engine.stop(grace)``: stopping inside the
    handler could deadlock on a lock the interrupted main thread holds. Wait with
    ``engine.wait_stopped()``. A second signal while stopping is ignored (the shutdown is
    already bounded by the grace period). Must be called from the main thread. Returns a
    function that restores the previous handlers.
    """
    started = threading.Event()

    def _stop(name: str) -> None:
        if started.is_set():
            return
        started.set()
        log.info("signal %s received: stopping the engine", name)
        threading.Thread(
            target=engine.stop, kwargs={"grace": grace}, name="syncengine-signal-stop"
        ).start()

    return on_stop_signals(_stop)
