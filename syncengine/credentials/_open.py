"""Choosing the store: the keyring when usable, else the encrypted file."""

from __future__ import annotations

from pathlib import Path

from syncengine.credentials._errors import CredentialsError, CredentialsStoreError
from syncengine.credentials._file_store import EncryptedFileStore
from syncengine.credentials._keyring_store import KeyringStore, usable_keyring
from syncengine.credentials._types import CredentialStore


def open_store(kind: str = "auto", path: Path | None = None) -> CredentialStore:
    """Open the credential store.

    ``kind`` is ``"auto"`` (keyring when usable, else the encrypted file), ``"keyring"`` or
    ``"file"``. An explicit ``path`` means the encrypted file at that path.
    """
    if kind not in ("auto", "keyring", "file"):
        raise CredentialsError(f"unknown credentials store {kind!r} (auto, keyring or file)")
    if kind == "file" or path is not None:
        return EncryptedFileStore(path)
    backend = usable_keyring()
    if backend is not None:
        return KeyringStore(backend)
    if kind == "keyring":
        raise CredentialsStoreError(
            "credentials store 'keyring' requested but the keyring package is not installed "
            "or has no usable backend"
        )
    return EncryptedFileStore(path)
