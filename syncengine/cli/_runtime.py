"""The CLI's machinery that needs no click: exit codes, error classification, settings to
engine config and credentials, journal opening, signal handling and the health snapshot (the
log setup and the engine's log lines are in :mod:`syncengine.cli._logs`).

The command modules (``_commands.py`` and ``_cmd_*.py``, the only click users) parse and print;
this module decides.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, get_args

from journal import CorruptJournalError, JournalError, State
from pywats import AuthenticationError, AuthorizationError, PyWATSError
from syncengine._errors import EngineLockedError, LocalServerError, SyncEngineError
from syncengine._os_signals import STOP_SIGNALS, on_stop_signals
from syncengine._settings import Settings, SettingsError
from syncengine.cli._views import register_secret
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
    from syncengine._watcher import WatchFolderError  # here: it imports watchdog

    if isinstance(exc, (SettingsError, LocalServerError, WatchFolderError)):
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

    A ``journal_path`` no journal can be at (a folder, a file in its way) is a configuration
    error naming the key (exit 3), as for ``run``. ``salvage`` skips the open-time chain-head
    check, so that ``verify`` can name the first bad event and ``dump`` can stream the intact
    prefix of a journal whose tail is damaged.
    """
    from journal import Journal

    settings.check_journal_path(write=create)
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
    that is not valid JSON is exit 4; a ``journal_path`` no journal can be at is exit 3.
    """
    from syncengine._status import read_status

    settings.check_journal_path(write=False)
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
            snap = dict(read_status(status_path, config.journal_path))
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
