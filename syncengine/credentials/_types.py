"""What every store shares: the stored login, the store protocol, the URL key, a fingerprint."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

from pywats import normalise_base_url
from syncengine.credentials._errors import CredentialsError


def normalize_server_url(url: str) -> str:
    """The storage key of a server URL: ``pywats.normalise_base_url``'s canonical form.

    A trailing ``/`` and a trailing ``/api`` are removed, as the client does, so that
    ``https://x.wats.com/api/`` and ``https://x.wats.com`` share one stored token. Raises
    :class:`CredentialsError` for a URL that is not ``http(s)://``.
    """
    try:
        return normalise_base_url(url)
    except (TypeError, ValueError) as exc:
        raise CredentialsError(f"stored logins are keyed by server URL: {exc}") from None


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


def fingerprint(token: str) -> str:
    """A short non-reversible fingerprint of a token, safe to show to operators."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]
