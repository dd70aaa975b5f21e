"""The engine's ``CredentialProvider`` backed by a credential store."""

from __future__ import annotations

from syncengine.credentials._errors import CredentialsError, CredentialsNotFoundError
from syncengine.credentials._types import CredentialStore, StoredToken, normalize_server_url


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
