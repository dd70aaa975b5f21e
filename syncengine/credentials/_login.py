"""Login: build the WATS token from a user and API key, check it with the server, store it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pywats import AuthenticationError, AuthorizationError, Client, PyWATSError, make_token
from syncengine.credentials._errors import (
    CredentialsError,
    LoginRejectedError,
    LoginUnreachableError,
)
from syncengine.credentials._types import CredentialStore, StoredToken

if TYPE_CHECKING:
    from httpx import BaseTransport


def check_token(server_url: str, token: str, *, transport: BaseTransport | None = None) -> str:
    """Check ``token`` against the server with ``GET /api/App/Version``; return the version.

    Raises :class:`LoginRejectedError` on 401/403 and :class:`LoginUnreachableError` when the
    server cannot be reached or answers with another error.
    """
    try:
        client = Client(server_url, token, transport=transport)
    except (ValueError, PyWATSError) as exc:
        raise LoginUnreachableError(f"cannot use server URL {server_url!r}: {exc}") from None
    try:
        version = client.app.version()
    except (AuthenticationError, AuthorizationError) as exc:
        status = exc.status_code or 401
        raise LoginRejectedError(
            f"the server at {server_url} rejected the user name or API key (HTTP {status})"
        ) from None
    except PyWATSError as exc:
        raise LoginUnreachableError(f"cannot check the login at {server_url}: {exc}") from None
    finally:
        client.close()
    return str(version)


def login(
    server_url: str,
    user: str,
    api_key: str,
    store: CredentialStore,
    *,
    transport: BaseTransport | None = None,
) -> StoredToken:
    """Build the WATS token from ``user`` and ``api_key``, check it, and store it.

    Nothing is stored unless the server accepts the token.
    """
    if not user or not api_key:
        raise CredentialsError("user and API key must both be non-empty")
    token = make_token(user, api_key)
    check_token(server_url, token, transport=transport)
    entry = StoredToken(user=user, token=token, stored_at=time.time())
    store.put(server_url, entry)
    return entry
