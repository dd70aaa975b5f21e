"""Every signal the engine sends, declared in one place (blinker is imported only here).

Signals fire only after the journal transaction that records the fact has committed, so a
subscriber never sees something the journal could still lose. They are sent through
:func:`emit`, which logs and swallows a receiver's exception: a broken GUI callback can neither
break nor stall the engine. Receivers run synchronously on the engine thread that made the
change, so they must be quick; a receiver that needs to do real work should hand it to its own
thread.

Subscribe with ``syncengine.signals.upload_succeeded.connect(fn)``; ``fn(sender, **kwargs)``.
"""

from __future__ import annotations

import logging
from typing import Any

from blinker import NamedSignal, Namespace

__all__ = [
    "ALL_SIGNALS",
    "connection_changed",
    "conversion_failed",
    "emit",
    "engine_started",
    "engine_stopped",
    "engine_stopping",
    "file_converted",
    "retry_scheduled",
    "submission_appended",
    "submission_failed",
    "upload_failed",
    "upload_started",
    "upload_succeeded",
]

log = logging.getLogger("syncengine.signals")

_ns = Namespace()

submission_appended: NamedSignal = _ns.signal(
    "submission_appended",
    doc="A submission was committed to the journal. sender: the SyncEngine; "
    "kwargs: key (str), source (dict | None).",
)
upload_started: NamedSignal = _ns.signal(
    "upload_started",
    doc="UploadStarted was committed for a submission that is about to be POSTed. "
    "sender: the SyncEngine; kwargs: key (str), attempt (int, 1 for the first try).",
)
upload_succeeded: NamedSignal = _ns.signal(
    "upload_succeeded",
    doc="The server acknowledged a submission and Acknowledged was committed. "
    "sender: the SyncEngine; kwargs: key (str), report_id (str | None: None when the 2xx "
    "answer carried no id), latency_s (float), correlation_id (str | None).",
)
upload_failed: NamedSignal = _ns.signal(
    "upload_failed",
    doc="One upload attempt failed (its outcome event was committed). Always followed by "
    "retry_scheduled or submission_failed for the same key, or by connection_changed to "
    "auth_failed. sender: the SyncEngine; kwargs: key (str), error_class (str), "
    "status_code (int | None), message (str), latency_s (float).",
)
retry_scheduled: NamedSignal = _ns.signal(
    "retry_scheduled",
    doc="RetryScheduled was committed: the submission stays pending and is due again later. "
    "sender: the SyncEngine; kwargs: key (str), attempt (int), next_attempt_at (float, UNIX s), "
    "delay_s (float), error_class (str).",
)
submission_failed: NamedSignal = _ns.signal(
    "submission_failed",
    doc="Failed was committed: the server rejected the submission permanently (400/404/422); "
    "it is not retried until requeued. sender: the SyncEngine; kwargs: key (str), reason (str), "
    "error_class (str), status_code (int | None).",
)
connection_changed: NamedSignal = _ns.signal(
    "connection_changed",
    doc="The ConnectionService changed state. sender: the ConnectionService; kwargs: "
    "old (str), new (str), reason (str). States: online, offline, circuit_open, auth_failed.",
)
engine_started: NamedSignal = _ns.signal(
    "engine_started",
    doc="The engine holds its lock, opened its journal and started sending. "
    "sender: the SyncEngine; no kwargs.",
)
engine_stopping: NamedSignal = _ns.signal(
    "engine_stopping",
    doc="The engine refuses new submissions from now on and is draining in-flight uploads. "
    "sender: the SyncEngine; kwargs: grace_s (float).",
)
engine_stopped: NamedSignal = _ns.signal(
    "engine_stopped",
    doc="The engine wrote its final status, released its lock and closed its journal. "
    "sender: the SyncEngine; kwargs: abandoned (int, uploads left in_flight for replay).",
)
file_converted: NamedSignal = _ns.signal(
    "file_converted",
    doc="A watched file was converted and its submissions committed (sent by the watcher). "
    "sender: the WatchService; kwargs: path (pathlib.Path), keys (list[str]), converter (str), "
    "existing (dict[str, str]: the keys that were journaled before, by an earlier drop of the "
    "same content, with their state; nothing was appended for them).",
)
conversion_failed: NamedSignal = _ns.signal(
    "conversion_failed",
    doc="A watched file could not be converted and was moved to the error folder (sent by the "
    "watcher). sender: the WatchService; kwargs: path (pathlib.Path), converter (str | None), "
    "reason (str).",
)

ALL_SIGNALS: tuple[NamedSignal, ...] = (
    submission_appended,
    upload_started,
    upload_succeeded,
    upload_failed,
    retry_scheduled,
    submission_failed,
    connection_changed,
    engine_started,
    engine_stopping,
    engine_stopped,
    file_converted,
    conversion_failed,
)


def emit(signal: NamedSignal, sender: object, **kwargs: Any) -> None:
    """Send ``signal`` to its receivers; a receiver's exception is logged, never propagated.

    Call this only after the journal commit that makes the fact durable. Each receiver is called
    separately so that one raising receiver does not keep the others from being told.
    """
    if not signal.receivers:
        return
    for receiver in signal.receivers_for(sender):
        try:
            receiver(sender, **kwargs)
        except Exception:
            log.exception("receiver %r of signal %r raised; ignored", receiver, signal.name)
