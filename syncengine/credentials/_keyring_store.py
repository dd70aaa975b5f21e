"""The OS keyring store (Windows Credential Manager, macOS Keychain, Secret Service)."""

from __future__ import annotations

import json
from typing import Protocol

from syncengine.credentials._errors import CredentialsStoreError
from syncengine.credentials._types import StoredToken, normalize_server_url

_SERVICE = "wats-sync"


class KeyringBackend(Protocol):
    """The three functions of the ``keyring`` module that the store uses."""

    def get_password(self, service_name: str, username: str) -> str | None:
        """The stored secret, or None."""
        ...

    def set_password(self, service_name: str, username: str, password: str) -> None:
        """Store (replace) a secret."""
        ...

    def delete_password(self, service_name: str, username: str) -> None:
        """Remove a secret."""
        ...


class KeyringStore:
    """Tokens in the OS keyring through the ``keyring`` package (service ``wats-sync``).

    ``backend`` is the ``keyring`` module or anything with its ``get_password``,
    ``set_password`` and ``delete_password`` functions.
    """

    def __init__(self, backend: KeyringBackend) -> None:
        self._backend = backend

    @property
    def description(self) -> str:
        """``keyring <backend class>``."""
        try:
            name = type(getattr(self._backend, "get_keyring")()).__name__  # noqa: B009
        except Exception:
            name = "backend"
        return f"keyring {name}"

    def get(self, server_url: str) -> StoredToken | None:
        """Return the login stored for ``server_url``, or None."""
        key = normalize_server_url(server_url)
        try:
            raw = self._backend.get_password(_SERVICE, key)
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
        key = normalize_server_url(server_url)
        try:
            self._backend.set_password(_SERVICE, key, raw)
        except Exception as exc:
            raise CredentialsStoreError(f"keyring write failed: {type(exc).__name__}") from None

    def delete(self, server_url: str) -> bool:
        """Forget the login for ``server_url``; True when there was one."""
        if self.get(server_url) is None:
            return False
        try:
            self._backend.delete_password(_SERVICE, normalize_server_url(server_url))
        except Exception as exc:
            raise CredentialsStoreError(f"keyring delete failed: {type(exc).__name__}") from None
        return True


def usable_keyring() -> KeyringBackend | None:
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
