"""The encrypted-file store: one AES-GCM file of logins plus its key file, both owner-only."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import stat
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import platformdirs

from journal import fsync_dir, replace_file
from syncengine.credentials._cipher import KEY_LEN, decrypt, encrypt
from syncengine.credentials._errors import CredentialsStoreError
from syncengine.credentials._keywrap import unwrap_key, wrap_key
from syncengine.credentials._types import StoredToken, normalize_server_url

log = logging.getLogger("syncengine.credentials")

_APP = "wats-sync"
_FORMAT_VERSION = 2


def default_credentials_path() -> Path:
    """The per-user encrypted credentials file (platformdirs user data directory)."""
    return Path(platformdirs.user_data_dir(_APP, appauthor=False)) / "credentials.enc"


def _write_private(path: Path, data: bytes, *, replace: bool = True) -> bool:
    """Write ``data`` to ``path`` atomically, created owner-only (0600 on POSIX).

    With ``replace=False`` an existing ``path`` is left alone and False is returned: two
    processes creating the key file at once must not end up with different keys.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp already creates 0600 on POSIX; chmod makes it explicit against odd umasks.
        if sys.platform != "win32":
            os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            replace_file(tmp, path)  # retried on Windows while the engine reads the old file
        else:
            try:
                # Both refuse an existing target: link on POSIX, rename on Windows.
                if os.name == "posix":
                    os.link(tmp, path)
                else:
                    os.rename(tmp, path)
            except FileExistsError:
                return False
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)
    return True


class _UndecryptableError(CredentialsStoreError):
    """The store file exists but can never be decrypted (altered, or no usable key)."""


def _check_private(path: Path) -> None:
    """Refuse a secret file that others can read (POSIX), as ssh does with private keys."""
    if os.name != "posix":
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise CredentialsStoreError(
            f"{path} is accessible by other users (mode {mode:04o}); run: chmod 600 {path}"
        )


class EncryptedFileStore:
    """Tokens in an encrypted file; the key sits next to it in ``<name>.key``.

    Both files are created owner-only and rejected when others can read them (POSIX). The
    whole map of logins is one authenticated ciphertext, replaced atomically on every change,
    so a reader never sees a half-written file. A file in the older ``WSC1`` format is read
    and rewritten as AES-GCM by the next change (``put`` or ``delete``); reads never write.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_credentials_path()
        self.key_path = self.path.with_name(self.path.name + ".key")

    @property
    def description(self) -> str:
        """``encrypted file <path>``."""
        return f"encrypted file {self.path}"

    def _load_key(self, *, create: bool) -> bytes | None:
        try:
            _check_private(self.key_path)
            return unwrap_key(self.key_path, self.key_path.read_bytes())
        except FileNotFoundError:
            if not create:
                return None
        except OSError as exc:
            raise CredentialsStoreError(f"cannot read {self.key_path}: {exc.strerror}") from None
        key = secrets.token_bytes(KEY_LEN)
        if not _write_private(self.key_path, wrap_key(key), replace=False):
            return self._load_key(create=False)  # another process created it first
        return key

    def _load(self) -> dict[str, Any]:
        try:
            _check_private(self.path)
            blob = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise CredentialsStoreError(f"cannot read {self.path}: {exc.strerror}") from None
        key = self._load_key(create=False)
        if key is None:
            raise _UndecryptableError(
                f"{self.path} exists but its key file {self.key_path} is missing; "
                "run 'syncengine login' again"
            )
        try:
            entries = json.loads(decrypt(key, blob).decode("utf-8"))["entries"]
        except (ValueError, KeyError, TypeError) as exc:
            # The exception text is ours (the cipher) or json's position info: no secret in it.
            raise _UndecryptableError(
                f"cannot decrypt {self.path}: {exc}; run 'syncengine login' again"
            ) from None
        if not isinstance(entries, dict):
            raise _UndecryptableError(
                f"cannot decrypt {self.path}: unexpected content; run 'syncengine login' again"
            )
        return entries

    def _load_for_change(self) -> dict[str, Any]:
        """The entries to change; a file that can never be decrypted is set aside first.

        Such a file (altered, key file missing or from elsewhere) holds no login anyone can
        use, and every read error says "run 'syncengine login' again": so a ``put`` renames it
        to ``<name>.unreadable-<UNIX time>`` (kept, never deleted) and starts an empty store.
        Unreadable or unsafe files (permissions, I/O, DPAPI of another user) still raise.
        """
        try:
            return self._load()
        except _UndecryptableError as exc:
            aside = self.path.with_name(f"{self.path.name}.unreadable-{int(time.time())}")
            try:
                replace_file(self.path, aside)  # retried on Windows while a reader has it
            except OSError as move:
                raise CredentialsStoreError(
                    f"{exc}; and it cannot be set aside: {move.strerror}"
                ) from None
            log.warning("%s; it was renamed to %s and a new store started", exc, aside.name)
            return {}

    def _save(self, entries: dict[str, Any]) -> None:
        document = {"version": _FORMAT_VERSION, "entries": entries}
        try:
            key = self._load_key(create=True)
            assert key is not None  # create=True always yields a key
            _write_private(self.path, encrypt(key, json.dumps(document, sort_keys=True).encode()))
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise CredentialsStoreError(f"cannot write {self.path}: {reason}") from None

    def get(self, server_url: str) -> StoredToken | None:
        """Return the login stored for ``server_url``, or None."""
        raw = self._load().get(normalize_server_url(server_url))
        if raw is None:
            return None
        try:
            return StoredToken(str(raw["user"]), str(raw["token"]), float(raw["stored_at"]))
        except (KeyError, TypeError, ValueError):
            raise CredentialsStoreError(f"{self.path}: malformed entry for {server_url}") from None

    def put(self, server_url: str, entry: StoredToken) -> None:
        """Store (replace) the login for ``server_url``.

        A store file that cannot be decrypted is renamed aside first (see
        :meth:`_load_for_change`), so that logging in again repairs it.
        """
        entries = self._load_for_change()
        entries[normalize_server_url(server_url)] = {
            "user": entry.user,
            "token": entry.token,
            "stored_at": entry.stored_at,
        }
        self._save(entries)

    def delete(self, server_url: str) -> bool:
        """Forget the login for ``server_url``; True when there was one."""
        entries = self._load()
        if entries.pop(normalize_server_url(server_url), None) is None:
            return False
        self._save(entries)
        return True
