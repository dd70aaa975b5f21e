"""Credentials: where the station's API token is kept and how the engine gets a fresh one.

pywats stays stateless: it is handed a token. Everything stateful about credentials lives here,
one module per job:

* ``_login`` -- turn a user and API key into a WATS token (``pywats.make_token``) and check it
  against the server (``GET /api/App/Version``);
* ``_keyring_store`` -- :class:`KeyringStore`, the OS keyring (Windows Credential Manager,
  macOS Keychain, Secret Service) when the optional ``keyring`` package has a usable backend;
* ``_file_store`` -- :class:`EncryptedFileStore`, otherwise: an AES-256-GCM file (``_cipher``,
  the ``cryptography`` package) plus a key file, both owner-only; on Windows the key is
  wrapped with DPAPI (``_keywrap``). Files of the older ``WSC1`` format are still read
  (``_legacy_cipher``, read-only) and rewritten as AES-GCM on the next change;
* ``_open`` -- :func:`open_store`, which picks one of the two;
* ``_provider`` -- :class:`StoredCredentials`, the engine's ``CredentialProvider``
  (``token()``, ``refresh()``), which re-reads the store so that a new login is picked up;
* ``_errors`` -- the exception tree, rooted at :class:`syncengine.SyncEngineError`::

      CredentialsError
       +-- CredentialsNotFoundError
       +-- CredentialsStoreError
       +-- LoginRejectedError
       +-- LoginUnreachableError

No message, ``repr`` or log line built here ever contains a token or an API key.
"""

from __future__ import annotations

from syncengine.credentials._errors import (
    CredentialsError,
    CredentialsNotFoundError,
    CredentialsStoreError,
    LoginRejectedError,
    LoginUnreachableError,
)
from syncengine.credentials._file_store import EncryptedFileStore, default_credentials_path
from syncengine.credentials._keyring_store import KeyringBackend, KeyringStore
from syncengine.credentials._login import check_token, login
from syncengine.credentials._open import open_store
from syncengine.credentials._provider import StoredCredentials
from syncengine.credentials._types import (
    CredentialStore,
    StoredToken,
    fingerprint,
    normalize_server_url,
)

__all__ = [
    "CredentialStore",
    "CredentialsError",
    "CredentialsNotFoundError",
    "CredentialsStoreError",
    "EncryptedFileStore",
    "KeyringBackend",
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
