"""The CLI's machinery that needs no click: exit codes, error classification, settings to
engine config and credentials, journal opening, logging and signal handling.

The command modules (``_commands.py`` and ``_cmd_*.py``, the only click users) parse and print;
this module decides.
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
from typing import TYPE_CHECKING, Any, get_args

from journal import CorruptJournalError, JournalError, State
from pywats import AuthenticationError, AuthorizationError, PyWATSError
from syncengine._errors import EngineLockedError, SyncEngineError
from syncengine._os_signals import STOP_SIGNALS, on_stop_signals
from syncengine._settings import Settings, SettingsError
from syncengine.cli._views import redact, register_secret
from syncengine.credentials import (
    CredentialsError,
    CredentialsNotFoundError,
    LoginRejectedError,
    LoginUnreachableError,
    StoredCredentials,
    fingerprint,
    open_store,
)

if TYPE_CHECKING:
    from blinker import NamedSignal

    from journal import Journal
    from syncengine._config import EngineConfig
    from syncengine.credentials import CredentialStore

log = logging.getLogger("syncengine.cli")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_JOURNAL = 4
EXIT_SERVER = 5
EXIT_AUTH = 6
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130

STATUS_EXIT = {
    "ok": EXIT_OK,
    "degraded": 1,
    "offline": 1,
    "stuck": 2,
    "auth_failed": 2,
    "stopped": 2,
}
"""``syncengine status`` exit code per health (Nagios: 0 OK, 1 WARNING, 2 CRITICAL)."""


class CliError(SyncEngineError):
    """Raised by a command for an expected failure: one line on stderr, ``code`` the exit status."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def classify(exc: BaseException) -> tuple[int, str] | None:
    """Exit code and one-line message for an expected exception, or None for a bug.

    The most specific class is tested first: every syncengine class below is a
    ``SyncEngineError``, which itself means exit 1.
    """
    if isinstance(exc, CliError):
        return exc.code, str(exc)
    if isinstance(exc, SettingsError):
        return EXIT_CONFIG, f"configuration: {exc}"
    if isinstance(exc, (LoginRejectedError, CredentialsNotFoundError)):
        return EXIT_AUTH, str(exc)
    if isinstance(exc, LoginUnreachableError):
        return EXIT_SERVER, str(exc)
    if isinstance(exc, CredentialsError):
        return EXIT_CONFIG, f"credentials: {exc}"
    if isinstance(exc, CorruptJournalError):
        hint = "run 'syncengine journal verify'; recovery steps are in docs/operations.md"
        return EXIT_JOURNAL, f"{exc} -- {hint}"
    if isinstance(exc, (JournalError, EngineLockedError)):
        return EXIT_JOURNAL, str(exc)
    if isinstance(exc, SyncEngineError):  # converters, engine state, unknown keys...
        return EXIT_FAILED, str(exc)
    if isinstance(exc, (AuthenticationError, AuthorizationError)):
        return EXIT_AUTH, f"server rejected the credentials: {exc}"
    if isinstance(exc, PyWATSError):
        return EXIT_SERVER, f"server: {exc}"
    if isinstance(exc, OSError) and exc.filename is not None:
        return EXIT_FAILED, f"{exc.filename}: {exc.strerror or exc}"
    return None


def store_for(settings: Settings) -> CredentialStore:
    return open_store(settings.credentials.store, settings.credentials.path)


def engine_config_and_credentials(settings: Settings) -> tuple[EngineConfig, StoredCredentials]:
    """The full engine config and the credential provider the engine's 401 path asks."""
    server_url = settings.server_url
    if server_url is None:
        settings.engine_config()  # raises the SettingsError that names what is missing
        raise AssertionError("unreachable")
    store = store_for(settings)
    if settings.token is not None:
        provider = StoredCredentials(store, server_url, initial=settings.token)
        token = settings.token
    else:
        provider = StoredCredentials(store, server_url)
        try:
            token = provider.token()
        except CredentialsNotFoundError:
            settings.engine_config()  # the SettingsError names every way to give a token
            raise
    register_secret(token)
    return settings.engine_config(token=token), provider


@contextlib.contextmanager
def open_journal(
    settings: Settings, *, create: bool = False, salvage: bool = False
) -> Iterator[Journal]:
    """Open the configured journal; a missing one is exit 4 unless ``create``.

    ``salvage`` skips the open-time chain-head check, so that ``verify`` can name the first
    bad event and ``dump`` can stream the intact prefix of a journal whose tail is damaged.
    """
    from journal import Journal

    path = settings.journal_path
    if not create and not path.exists():
        where = settings.origins.get("journal_path", "configuration")
        raise CliError(
            f"no journal at {path} (journal_path from {where}); check SYNCENGINE_JOURNAL "
            "or journal_path in the config file",
            EXIT_JOURNAL,
        )
    journal = Journal(
        path,
        synchronous=settings.partial_config().journal_synchronous,
        check_on_open=not salvage,
    )
    try:
        yield journal
    finally:
        journal.close()


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
    the serial number and source file, and a re-dropped file says it was journaled before.
    ``token_from`` names where a configured token comes from (it shadows stored logins): on
    ``auth_failed`` the log then says that ``syncengine login`` cannot help.
    """
    from syncengine import signals

    events = logging.getLogger("syncengine.events")
    summary = {"n": 0, "since": time.monotonic()}
    summary_lock = threading.Lock()

    def identity(key: str) -> tuple[str, str, float | None]:
        sub = None
        if engine is not None:
            with contextlib.suppress(Exception):  # stopping engine: a line without identity
                sub = engine.submission(key)
        if sub is None:
            return "-", "-", None
        source = sub.source or {}
        return str(sub.payload.get("sn") or "-"), str(source.get("path") or "-"), sub.created_at

    def flush_summary(force: bool) -> None:
        with summary_lock:
            elapsed = time.monotonic() - summary["since"]
            if summary["n"] and (force or elapsed >= summary_s):
                events.info("%d report(s) acknowledged in the last %.0f s", summary["n"], elapsed)
                summary["n"], summary["since"] = 0, time.monotonic()

    def connection(_sender: object, **kw: Any) -> None:
        level = logging.INFO if kw["new"] == "online" else logging.WARNING
        events.log(level, "connection %s -> %s (%s)", kw["old"], kw["new"], kw["reason"])
        if kw["new"] != "auth_failed":
            return
        if token_from is not None:
            events.error(
                "the server rejects the token from %s, and a stored login cannot replace it "
                "(that token shadows it): fix or remove it and restart the engine",
                token_from,
            )
        else:
            events.error(
                "the server rejects the token: run 'syncengine login' to store a new one; "
                "the running engine picks it up without a restart"
            )

    def converted(_sender: object, **kw: Any) -> None:
        keys = list(kw["keys"])
        # A submission created well before this commit was journaled by an earlier drop of the
        # same bytes: say so, instead of "journaled" (nothing new is sent).
        earlier = [k for k in keys if (identity(k)[2] or time.time()) < time.time() - 5]
        if keys and len(earlier) == len(keys):
            events.info(
                "%s: already journaled before (key %s%s); not sent again",
                kw["path"],
                keys[0],
                f" and {len(keys) - 1} more" if len(keys) > 1 else "",
            )
            return
        events.info("%s: %d report(s) journaled (%s)", kw["path"], len(keys), kw["converter"])

    def retry(_sender: object, **kw: Any) -> None:
        events.info(
            "%s: attempt %d failed (%s); next in %.1f s",
            kw["key"],
            kw["attempt"],
            kw["error_class"],
            kw["delay_s"],
        )

    def failed(_sender: object, **kw: Any) -> None:
        sn, path, _created = identity(kw["key"])
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
            sn, path, _created = identity(kw["key"])
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


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM, SIGINT, SIGBREAK (Windows) and SIGHUP set ``stop``; old handlers come back after.

    Off the main thread (an embedding test runner) nothing is installed.
    """

    def on_signal(name: str) -> None:
        log.info("received %s: shutting down", name)
        stop.set()

    try:
        # SIGHUP too: a closed terminal should shut down gracefully, not kill mid-upload.
        restore = on_stop_signals(on_signal, names=(*STOP_SIGNALS, "SIGHUP"))
    except RuntimeError:
        restore = None
    try:
        yield
    finally:
        if restore is not None:
            restore()


def read_health(settings: Settings) -> dict[str, Any]:
    """The health snapshot of the configured journal, engine running or not.

    With neither a status file nor a journal (nothing was ever submitted there) the snapshot
    says so plainly: health ``stopped``, all counts 0, ``journal_exists`` false. A status file
    that is not valid JSON is exit 4.
    """
    from syncengine._status import read_status

    config = settings.partial_config()
    status_path = config.effective_status_path
    if not status_path.exists() and not config.journal_path.exists():
        snap: dict[str, Any] = {
            "health": "stopped",
            "running": False,
            "source": "none",
            "journal_path": str(config.journal_path),
            "note": f"no journal at {config.journal_path} and no status file: nothing has "
            "been submitted with this configuration yet",
        }
    else:
        try:
            snap = read_status(status_path, config.journal_path)
        except FileNotFoundError as exc:  # removed between the check and the read
            raise CliError(str(exc), EXIT_JOURNAL) from None
        except ValueError as exc:
            raise CliError(str(exc), EXIT_JOURNAL) from None
    snap["journal_exists"] = config.journal_path.exists()
    counts = snap.setdefault("counts", {})
    for name in get_args(State):  # every journal state, 0 when absent
        counts.setdefault(name, 0)
    return snap


def stored_token_note(settings: Settings) -> str:
    try:
        store = store_for(settings)
        entry = store.get(settings.server_url or "")
    except CredentialsError as exc:
        return f"unavailable ({exc})"
    if entry is None:
        return "none: run 'syncengine login'"
    register_secret(entry.token)
    return (
        f"*** (sha256 {fingerprint(entry.token)}, stored for user {entry.user} in "
        f"{store.description})"
    )
