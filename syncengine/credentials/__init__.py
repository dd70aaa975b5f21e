"""Credentials: where the station's API token is kept and how the engine gets a fresh one.

The engine itself only knows the :class:`syncengine.CredentialProvider` protocol; this package is
the CLI's implementation of it (stores, login, the provider that re-reads the store).
"""

from __future__ import annotations

from syncengine.credentials._store import (
    CredentialsError,
    CredentialsNotFoundError,
    CredentialsStoreError,
    CredentialStore,
    EncryptedFileStore,
    KeyringStore,
    LoginRejectedError,
    LoginUnreachableError,
    StoredCredentials,
    StoredToken,
    check_token,
    default_credentials_path,
    fingerprint,
    login,
    normalize_server_url,
    open_store,
)

__all__ = [
    "CredentialStore",
    "CredentialsError",
    "CredentialsNotFoundError",
    "CredentialsStoreError",
    "EncryptedFileStore",
    "KeyringStore",
    "LoginRejectedError",
    "LoginUnreachableError",
    "StoredCredentials",
    "StoredToken",
    "check_token",
    "default_credentials_path",
    "fingerprint",
    "login",
    "normalize_server_url",
    "open_store",
]
