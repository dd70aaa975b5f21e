"""What ``syncengine run`` logs: stderr and a rotating file, every line redacted, and one line
per engine event worth an operator's attention (connection changes, acknowledgements or their
periodic count, permanent failures, files refused), from the engine's signals.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from syncengine._settings import Settings
from syncengine.cli._views import redact

if TYPE_CHECKING:
    from blinker import NamedSignal


def setup_logging(settings: Settings, *, level: str | None, log_file: Path | None) -> None:
    """stderr always, plus a rotating file when configured; every line is redacted."""

    class _RedactingFormatter(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return redact(super().format(record))

    formatter = _RedactingFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(formatter)
    root.addHandler(stderr)
    target = log_file or settings.logging.file
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        rotating = logging.handlers.RotatingFileHandler(
            target,
            maxBytes=settings.logging.max_bytes,
            backupCount=settings.logging.backups,
            encoding="utf-8",
        )
        rotating.setFormatter(formatter)
        root.addHandler(rotating)
    effective = (level or settings.logging.level).upper()
    root.setLevel(effective)
    # httpx logs every request at INFO: far too chatty for a service, useful when debugging.
    logging.getLogger("httpx").setLevel(logging.DEBUG if effective == "DEBUG" else logging.WARNING)


@contextlib.contextmanager
def connected(receivers: Sequence[tuple[NamedSignal, Callable[..., None]]]) -> Iterator[None]:
    """Connect each ``(signal, receiver)`` pair for the ``with`` block, then disconnect it."""
    with contextlib.ExitStack() as stack:
        for signal_, receiver in receivers:
            stack.enter_context(signal_.connected_to(receiver))
        yield


@contextlib.contextmanager
def log_engine_events(
    engine: Any = None,
    *,
    acks: str = "each",
    summary_s: float = 60.0,
    token_from: str | None = None,
) -> Iterator[None]:
    """Log what an operator reading the service log needs to know, from the engine's signals.

    Conversion failures are logged by the ingest step itself; everything else worth a line is
    here: connection changes, retries, permanent failures, acknowledgements. ``acks``: "each"
    logs one INFO line per acknowledged report (key, serial number, file), "summary" one line
    per ``summary_s`` with the count, "off" only DEBUG lines. With ``engine`` the lines name
    the serial number and source file. A re-dropped file says, from the journal's answer,
    that it was delivered or journaled before (key and state), and how to resend it on purpose.
    ``token_from`` names where a configured token comes from (it shadows stored logins while
    the server accepts it): on ``auth_failed`` the log then says that a new ``syncengine
    login`` takes over without a restart, and that the rejected token should be removed.
    """
    from syncengine import signals

    events = logging.getLogger("syncengine.events")
    summary = {"n": 0, "since": time.monotonic()}
    summary_lock = threading.Lock()

    def identity(key: str) -> tuple[str, str]:
        sub = None
        if engine is not None:
            with contextlib.suppress(Exception):  # stopping engine: a line without identity
                sub = engine.submission(key)
        if sub is None:
            return "-", "-"
        source = sub.source or {}
        return str(sub.payload.get("sn") or "-"), str(source.get("path") or "-")

    def flush_summary(force: bool) -> None:
        with summary_lock:
            elapsed = time.monotonic() - summary["since"]
            if summary["n"] and (force or elapsed >= summary_s):
                events.info("%d report(s) acknowledged in the last %.0f s", summary["n"], elapsed)
                summary["n"], summary["since"] = 0, time.monotonic()

    def connection(_sender: object, **kw: Any) -> None:
        # The change itself is logged once, by syncengine.connection; here only what to do.
        if kw["new"] != "auth_failed":
            return
        if token_from is not None:
            # The provider takes a login stored later over while auth fails (it shadows a
            # stored login only while the server accepts the configured token).
            events.error(
                "the server rejects the token from %s: run 'syncengine login' to store a new "
                "one; the running engine takes it over at its next probe, without a restart. "
                "Then remove the rejected token from %s: each start tries it first",
                token_from,
                token_from,
            )
        else:
            events.error(
                "the server rejects the token: run 'syncengine login' to store a new one; "
                "the running engine picks it up without a restart"
            )

    def converted(_sender: object, **kw: Any) -> None:
        keys = list(kw["keys"])
        # ``existing``: the keys the journal already had (an earlier drop of the same bytes);
        # nothing new is sent for them.
        existing: dict[str, str] = dict(kw.get("existing") or {})
        new = [k for k in keys if k not in existing]
        if keys and not new:
            events.info("%s: %s; not sent again%s", kw["path"], *already(keys, existing))
            return
        line = f"{kw['path']}: {len(new)} report(s) journaled ({kw['converter']})"
        if existing:
            line += "; {}, not sent again{}".format(*already(list(existing), existing))
        events.info("%s", line)

    def already(keys: list[str], existing: dict[str, str]) -> tuple[str, str]:
        """ "already delivered (key K)" or "already journaled (key K, state S)", and a hint."""
        first, more = keys[0], f" and {len(keys) - 1} more" if len(keys) > 1 else ""
        if all(existing[k] == "acked" for k in keys):
            hint = (
                f" (to send it again on purpose, e.g. after a server-side restore: "
                f"'syncengine resend {first} --reason TEXT')"
            )
            return f"already delivered (key {first}{more})", hint
        hint = ""
        if existing[first] == "failed":
            hint = f" (fix the cause, then 'syncengine replay --key {first}')"
        return f"already journaled (key {first}, state {existing[first]}{more})", hint

    def retry(_sender: object, **kw: Any) -> None:
        events.info(
            "%s: attempt %d failed (%s); next in %.1f s",
            kw["key"],
            kw["attempt"],
            kw["error_class"],
            kw["delay_s"],
        )

    def failed(_sender: object, **kw: Any) -> None:
        sn, path = identity(kw["key"])
        events.warning(
            "%s: failed permanently (HTTP %s): %s; SN %s, file %s; fix the cause, then "
            "'syncengine replay --key %s'",
            kw["key"],
            kw.get("status_code") or "-",
            kw["reason"],
            sn,
            path,
            kw["key"],
        )

    def acked(_sender: object, **kw: Any) -> None:
        if acks == "each":
            sn, path = identity(kw["key"])
            events.info(
                "%s: acknowledged (SN %s, file %s) in %.0f ms",
                kw["key"],
                sn,
                path,
                kw["latency_s"] * 1000,
            )
            return
        events.debug("%s: acknowledged in %.0f ms", kw["key"], kw["latency_s"] * 1000)
        if acks == "summary":
            with summary_lock:
                summary["n"] += 1
            flush_summary(force=False)

    with connected(
        [
            (signals.connection_changed, connection),
            (signals.file_converted, converted),
            (signals.retry_scheduled, retry),
            (signals.submission_failed, failed),
            (signals.upload_succeeded, acked),
        ]
    ):
        try:
            yield
        finally:
            if acks == "summary":
                flush_summary(force=True)
