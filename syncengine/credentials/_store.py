"""Credentials for the client layer: login, token building, encrypted storage.

pywats stays stateless: it is handed a token. Everything stateful about credentials lives here:
turning a user and API key into a WATS token (``pywats.make_token``), checking it against the
server, storing it encrypted, and handing it to the engine through :class:`StoredCredentials`,
which implements the engine's ``CredentialProvider`` protocol (``token()``, ``refresh()``).

Where a token is stored:

* :class:`KeyringStore` -- the OS keyring (Windows Credential Manager, macOS Keychain, Secret
  Service) when the optional ``keyring`` package is importable and has a usable backend.
* :class:`EncryptedFileStore` -- otherwise, an encrypted file plus a separate key file, both
  created owner-only (0600 on POSIX). On Windows the key file is additionally wrapped with DPAPI
  (``CryptProtectData``), which binds it to the Windows user account.

The file cipher uses only the standard library: a keystream of HMAC-SHA256(enc_key, nonce ||
counter) blocks (a PRF in counter mode), XORed with the plaintext, then encrypt-then-MAC with
HMAC-SHA256(mac_key, header || nonce || ciphertext). A fresh random 16-byte nonce per write.

No message, ``repr`` or log line built here ever contains a token or an API key.

Exception tree::

    CredentialsError            any credentials problem (base class)
     +-- CredentialsNotFoundError   no token is stored for the server asked for
     +-- CredentialsStoreError      the store is unreadable, tampered with, or unsafe
     +-- LoginRejectedError         the server refused the user/API key (401/403)
     +-- LoginUnreachableError      the server could not be reached to check the login
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import stat
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import platformdirs

from syncengine._status import _replace

_APP = "wats-sync"
_KEYRING_SERVICE = "wats-sync"
_FILE_MAGIC = b"WSC1"
_KEY_MAGIC_RAW = b"WSK1"
_KEY_MAGIC_DPAPI = b"WSK2"
_NONCE_LEN = 16
_TAG_LEN = 32
_KEY_LEN = 32


class CredentialsError(Exception):
    """Base class of every credentials problem; the message never contains a secret."""


class CredentialsNotFoundError(CredentialsError):
    """Raised when no token is stored for the server asked for."""


class CredentialsStoreError(CredentialsError):
    """Raised when the store is unreadable, fails authentication, or has unsafe permissions."""


class LoginRejectedError(CredentialsError):
    """Raised when the server answers the login check with 401 or 403."""


class LoginUnreachableError(CredentialsError):
    """Raised when the server cannot be reached (or answers oddly) during the login check."""


def normalize_server_url(url: str) -> str:
    """Return the canonical form of a server URL used as the storage key.

    A trailing ``/`` and a trailing ``/api`` are removed, as pywats does, so that
    ``https://x.wats.com/api/`` and ``https://x.wats.com`` share one stored token.
    """
    url = url.strip().rstrip("/")
    if url.lower().endswith("/api"):
        url = url[: -len("/api")]
    return url.rstrip("/")


@dataclass(frozen=True)
class StoredToken:
    """One stored login: the user it was made for, the token and when it was stored."""

    user: str
    token: str
    stored_at: float

    def __repr__(self) -> str:
        return f"StoredToken(user={self.user!r}, token=<hidden>, stored_at={self.stored_at!r})"


class CredentialStore(Protocol):
    """Where tokens live, keyed by normalized server URL."""

    @property
    def description(self) -> str:
        """Human-readable name of the store (``keyring: <backend>`` or the file path)."""
        ...

    def get(self, server_url: str) -> StoredToken | None:
        """Return the login stored for ``server_url``, or None."""
        ...

    def put(self, server_url: str, entry: StoredToken) -> None:
        """Store (replace) the login for ``server_url``."""
        ...

    def delete(self, server_url: str) -> bool:
        """Forget the login for ``server_url``; True when there was one."""
        ...


# --------------------------------------------------------------------------- cipher


def _subkeys(master: bytes) -> tuple[bytes, bytes]:
    enc = hmac.new(master, b"wats-sync/enc/v1", hashlib.sha256).digest()
    mac = hmac.new(master, b"wats-sync/mac/v1", hashlib.sha256).digest()
    return enc, mac


def _keystream(enc_key: bytes, nonce: bytes, length: int) -> bytes:
    blocks = []
    for counter in range((length + 31) // 32):
        blocks.append(hmac.new(enc_key, nonce + counter.to_bytes(8, "big"), "sha256").digest())
    return b"".join(blocks)[:length]


def _xor(data: bytes, stream: bytes) -> bytes:
    value = int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")
    return value.to_bytes(len(data), "big")


def encrypt(master: bytes, plaintext: bytes) -> bytes:
    """Encrypt and authenticate ``plaintext`` with a 32-byte master key (encrypt-then-MAC)."""
    enc_key, mac_key = _subkeys(master)
    nonce = secrets.token_bytes(_NONCE_LEN)
    stream = _keystream(enc_key, nonce, len(plaintext))
    ciphertext = _xor(plaintext, stream)
    tag = hmac.new(mac_key, _FILE_MAGIC + nonce + ciphertext, hashlib.sha256).digest()
    return _FILE_MAGIC + nonce + ciphertext + tag


def decrypt(master: bytes, blob: bytes) -> bytes:
    """Check and decrypt a blob made by :func:`encrypt`; ValueError when it fails the MAC."""
    if len(blob) < len(_FILE_MAGIC) + _NONCE_LEN + _TAG_LEN or not blob.startswith(_FILE_MAGIC):
        raise ValueError("not a wats-sync credentials file")
    enc_key, mac_key = _subkeys(master)
    body, tag = blob[:-_TAG_LEN], blob[-_TAG_LEN:]
    expected = hmac.new(mac_key, body, hashlib.sha256).digest()
    if not hmac.compare_digest(tag, expected):
        raise ValueError("authentication failed (wrong key or the file was altered)")
    nonce = body[len(_FILE_MAGIC) : len(_FILE_MAGIC) + _NONCE_LEN]
    ciphertext = body[len(_FILE_MAGIC) + _NONCE_LEN :]
    stream = _keystream(enc_key, nonce, len(ciphertext))
    return _xor(ciphertext, stream)


# --------------------------------------------------------------------------- file helpers


def _write_private(path: Path, data: bytes, *, replace: bool = True) -> bool:
    """Write ``data`` to ``path`` atomically, created owner-only (0600 on POSIX).

    With ``replace=False`` an existing ``path`` is left alone and False is returned: two
    processes creating the key file at once must not end up with different keys.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp already creates 0600 on POSIX; chmod makes it explicit against odd umasks.
        if os.name == "posix":
            os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            _replace(tmp, path)  # retried on Windows while the engine reads the old file
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
    if os.name == "posix":
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return True


def _check_private(path: Path) -> None:
    """Refuse a secret file that others can read (POSIX), as ssh does with private keys."""
    if os.name != "posix":
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise CredentialsStoreError(
            f"{path} is accessible by other users (mode {mode:04o}); run: chmod 600 {path}"
        )


# --------------------------------------------------------------------------- DPAPI (Windows)

if sys.platform == "win32":
    import ctypes
    from ctypes import wintypes

    class _Blob(ctypes.Structure):
        _fields_ = [("cbData", wintypes.DWORD), ("pbData", ctypes.POINTER(ctypes.c_char))]

    def _dpapi(data: bytes, protect: bool) -> bytes:
        crypt32 = ctypes.windll.crypt32
        kernel32 = ctypes.windll.kernel32
        buffer = ctypes.create_string_buffer(data, len(data))
        blob_in = _Blob(len(data), ctypes.cast(buffer, ctypes.POINTER(ctypes.c_char)))
        blob_out = _Blob()
        flags = 0x1  # CRYPTPROTECT_UI_FORBIDDEN: a service has no desktop to prompt on
        if protect:
            ok = crypt32.CryptProtectData(
                ctypes.byref(blob_in), "wats-sync", None, None, None, flags,
                ctypes.byref(blob_out),
            )  # fmt: skip
        else:
            ok = crypt32.CryptUnprotectData(
                ctypes.byref(blob_in), None, None, None, None, flags, ctypes.byref(blob_out)
            )
        if not ok:
            raise CredentialsStoreError(
                f"Windows DPAPI {'CryptProtectData' if protect else 'CryptUnprotectData'} "
                f"failed (error {ctypes.GetLastError()})"
            )
        try:
            return ctypes.string_at(blob_out.pbData, blob_out.cbData)
        finally:
            kernel32.LocalFree(blob_out.pbData)

    def _wrap_key(key: bytes) -> bytes:
        return _KEY_MAGIC_DPAPI + _dpapi(key, protect=True)

else:

    def _wrap_key(key: bytes) -> bytes:
        return _KEY_MAGIC_RAW + key


def _unwrap_key(path: Path, data: bytes) -> bytes:
    if data.startswith(_KEY_MAGIC_RAW) and len(data) == len(_KEY_MAGIC_RAW) + _KEY_LEN:
        return data[len(_KEY_MAGIC_RAW) :]
    if data.startswith(_KEY_MAGIC_DPAPI):
        if sys.platform == "win32":
            key = _dpapi(data[len(_KEY_MAGIC_DPAPI) :], protect=False)
            if len(key) == _KEY_LEN:
                return key
        else:
            raise CredentialsStoreError(f"{path} is DPAPI-protected and only readable on Windows")
    raise CredentialsStoreError(f"{path} is not a wats-sync key file")


# --------------------------------------------------------------------------- stores


def default_credentials_path() -> Path:
    """The per-user encrypted credentials file (platformdirs user data directory)."""
    return Path(platformdirs.user_data_dir(_APP, appauthor=False)) / "credentials.enc"


class EncryptedFileStore:
    """Tokens in an encrypted file; the key sits next to it in ``<name>.key``.

    Both files are created owner-only and rejected when others can read them (POSIX). The
    whole map of logins is one authenticated ciphertext, replaced atomically on every change,
    so a reader never sees a half-written file.
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
            return _unwrap_key(self.key_path, self.key_path.read_bytes())
        except FileNotFoundError:
            if not create:
                return None
        except OSError as exc:
            raise CredentialsStoreError(f"cannot read {self.key_path}: {exc.strerror}") from None
        key = secrets.token_bytes(_KEY_LEN)
        if not _write_private(self.key_path, _wrap_key(key), replace=False):
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
            raise CredentialsStoreError(
                f"{self.path} exists but its key file {self.key_path} is missing; "
                "run 'syncengine login' again"
            )
        try:
            entries = json.loads(decrypt(key, blob).decode("utf-8"))["entries"]
        except (ValueError, KeyError, TypeError) as exc:
            # The exception text is ours (decrypt) or json's position info: no secret in it.
            raise CredentialsStoreError(
                f"cannot decrypt {self.path}: {exc}; run 'syncengine login' again"
            ) from None
        if not isinstance(entries, dict):
            raise CredentialsStoreError(f"cannot decrypt {self.path}: unexpected content")
        return entries

    def _save(self, entries: dict[str, Any]) -> None:
        key = self._load_key(create=True)
        assert key is not None  # create=True always yields a key
        plaintext = json.dumps({"version": 1, "entries": entries}, sort_keys=True).encode()
        _write_private(self.path, encrypt(key, plaintext))

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
        """Store (replace) the login for ``server_url``."""
        entries = self._load()
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


class KeyringStore:
    """Tokens in the OS keyring through the ``keyring`` package (service ``wats-sync``).

    ``backend`` is the ``keyring`` module or anything with its ``get_password``,
    ``set_password`` and ``delete_password`` functions.
    """

    def __init__(self, backend: Any) -> None:
        self._backend = backend

    @property
    def description(self) -> str:
        """``keyring <backend class>``."""
        try:
            name = type(self._backend.get_keyring()).__name__
        except Exception:
            name = "backend"
        return f"keyring {name}"

    def get(self, server_url: str) -> StoredToken | None:
        """Return the login stored for ``server_url``, or None."""
        try:
            raw = self._backend.get_password(_KEYRING_SERVICE, normalize_server_url(server_url))
        except Exception as exc:
            raise CredentialsStoreError(f"keyring read failed: {type(exc).__name__}") from None
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            return StoredToken(str(data["user"]), str(data["token"]), float(data["stored_at"]))
        except (ValueError, KeyError, TypeError):
            raise CredentialsStoreError(f"keyring entry for {server_url} is malformed") from None

    def put(self, server_url: str, entry: StoredToken) -> None:
        """Store (replace) the login for ``server_url``."""
        raw = json.dumps({"user": entry.user, "token": entry.token, "stored_at": entry.stored_at})
        try:
            self._backend.set_password(_KEYRING_SERVICE, normalize_server_url(server_url), raw)
        except Exception as exc:
            raise CredentialsStoreError(f"keyring write failed: {type(exc).__name__}") from None

    def delete(self, server_url: str) -> bool:
        """Forget the login for ``server_url``; True when there was one."""
        if self.get(server_url) is None:
            return False
        try:
            self._backend.delete_password(_KEYRING_SERVICE, normalize_server_url(server_url))
        except Exception as exc:
            raise CredentialsStoreError(f"keyring delete failed: {type(exc).__name__}") from None
        return True


def _usable_keyring() -> Any | None:
    """The ``keyring`` module when it is installed and has a real backend, else None."""
    try:
        import keyring
    except Exception:
        return None
    try:
        backend = keyring.get_keyring()
        priority = float(getattr(backend, "priority", 0))
    except Exception:
        return None
    # The fail and null backends have priority <= 0; a chainer with no members likewise.
    return keyring if priority > 0 else None


def open_store(kind: str = "auto", path: Path | None = None) -> CredentialStore:
    """Open the credential store.

    ``kind`` is ``"auto"`` (keyring when usable, else the encrypted file), ``"keyring"`` or
    ``"file"``. An explicit ``path`` means the encrypted file at that path.
    """
    if kind not in ("auto", "keyring", "file"):
        raise CredentialsError(f"unknown credentials store {kind!r} (auto, keyring or file)")
    if kind == "file" or path is not None:
        return EncryptedFileStore(path)
    backend = _usable_keyring()
    if backend is not None:
        return KeyringStore(backend)
    if kind == "keyring":
        raise CredentialsStoreError(
            "credentials store 'keyring' requested but the keyring package is not installed "
            "or has no usable backend"
        )
    return EncryptedFileStore(path)


# --------------------------------------------------------------------------- login


def check_token(server_url: str, token: str, *, transport: Any = None) -> str:
    """Check ``token`` against the server with ``GET /api/App/Version``; return the version.

    Raises :class:`LoginRejectedError` on 401/403 and :class:`LoginUnreachableError` when the
    server cannot be reached or answers with another error.
    """
    from pywats import AuthenticationError, Client, PyWATSError

    try:
        client = Client(server_url, token, transport=transport)
    except (ValueError, PyWATSError) as exc:
        raise LoginUnreachableError(f"cannot use server URL {server_url!r}: {exc}") from None
    try:
        version = client.app.version()
    except AuthenticationError as exc:
        status = getattr(exc, "status_code", None) or 401
        raise LoginRejectedError(
            f"the server at {server_url} rejected the user name or API key (HTTP {status})"
        ) from None
    except PyWATSError as exc:
        raise LoginUnreachableError(f"cannot check the login at {server_url}: {exc}") from None
    finally:
        close = getattr(client, "close", None)
        if callable(close):
            close()
    return str(version)


def login(
    server_url: str,
    user: str,
    api_key: str,
    store: CredentialStore,
    *,
    transport: Any = None,
) -> StoredToken:
    """Build the WATS token from ``user`` and ``api_key``, check it, and store it.

    Nothing is stored unless the server accepts the token.
    """
    from pywats import make_token

    if not user or not api_key:
        raise CredentialsError("user and API key must both be non-empty")
    token = make_token(user, api_key)
    check_token(server_url, token, transport=transport)
    entry = StoredToken(user=user, token=token, stored_at=time.time())
    store.put(server_url, entry)
    return entry


class StoredCredentials:
    """The engine's ``CredentialProvider`` backed by a :class:`CredentialStore`.

    ``token()`` is the token to use now; the engine asks it at start and, while the server
    rejects the current token (``auth_failed``), at every probe. It re-reads the store, so a
    ``syncengine login`` run while the engine waits is picked up without a restart.
    ``refresh()`` is what the engine's 401/403 path calls once per rejected token: the stored
    token when it differs from the current one, else None.

    ``initial`` is a token configured elsewhere (``SYNCENGINE_TOKEN``, the config file): it
    wins over whatever was stored before this provider was made; only a login made later, or
    a rejection of ``initial`` (``refresh()``), switches to the stored token.
    """

    def __init__(
        self, store: CredentialStore, server_url: str, *, initial: str | None = None
    ) -> None:
        self._store = store
        self._server_url = normalize_server_url(server_url)
        self._current = initial
        self._seen_at = float("-inf")
        if initial is not None:
            entry = self._read()
            if entry is not None:
                self._seen_at = entry.stored_at

    def __repr__(self) -> str:
        return f"StoredCredentials(server_url={self._server_url!r}, token=<hidden>)"

    def _read(self) -> StoredToken | None:
        try:
            return self._store.get(self._server_url)
        except CredentialsError:
            if self._current is None:
                raise
            return None  # keep using the token we have; the store error is logged by callers

    def _adopt(self, entry: StoredToken | None, *, newer_only: bool) -> bool:
        if entry is None or (newer_only and entry.stored_at <= self._seen_at):
            return False
        self._seen_at = max(self._seen_at, entry.stored_at)
        if entry.token == self._current:
            return False
        self._current = entry.token
        return True

    def token(self) -> str:
        """The token to send now; raises :class:`CredentialsNotFoundError` when there is none."""
        self._adopt(self._read(), newer_only=True)
        if self._current is None:
            raise CredentialsNotFoundError(
                f"no stored login for {self._server_url} in {self._store.description}; "
                "run 'syncengine login'"
            )
        return self._current

    def refresh(self) -> str | None:
        """A different stored token than the current one, or None."""
        try:
            entry = self._store.get(self._server_url)
        except CredentialsError:
            return None
        return self._current if self._adopt(entry, newer_only=False) else None


def fingerprint(token: str) -> str:
    """A short non-reversible fingerprint of a token, safe to show to operators."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]
