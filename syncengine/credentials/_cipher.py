"""The credentials file cipher: AES-256-GCM from ``cryptography``.

A file is ``WSC2 || nonce (12 bytes) || AES-GCM ciphertext and 16-byte tag``, the magic bound
as associated data. The AES key is derived from the 32-byte master key in the key file with
HKDF-SHA256 (info ``wats-sync/credentials/aes-gcm/v2``), so the master key is never used
directly by two different constructions. A fresh random nonce per write; one file holds a
handful of logins and is rewritten a few times in its life, far below GCM's nonce limits.

``cryptography`` is translated here and nowhere else: a failed check is a ``ValueError``.
Files written before this cipher (``WSC1``) are read by :func:`decrypt` through the read-only
:mod:`syncengine.credentials._legacy_cipher`; the store's next save rewrites them as ``WSC2``.
"""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from syncengine.credentials import _legacy_cipher

KEY_LEN = 32
"""Length of the master key held in the key file."""

MAGIC = b"WSC2"
_NONCE_LEN = 12
_TAG_LEN = 16
_INFO = b"wats-sync/credentials/aes-gcm/v2"


def _aes_key(master: bytes) -> AESGCM:
    if len(master) != KEY_LEN:
        raise ValueError(f"the master key must be {KEY_LEN} bytes")
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(master)
    return AESGCM(derived)


def encrypt(master: bytes, plaintext: bytes) -> bytes:
    """Encrypt and authenticate ``plaintext`` with the 32-byte ``master`` key (``WSC2``)."""
    nonce = secrets.token_bytes(_NONCE_LEN)
    return MAGIC + nonce + _aes_key(master).encrypt(nonce, plaintext, MAGIC)


def decrypt(master: bytes, blob: bytes) -> bytes:
    """Check and decrypt a blob made by :func:`encrypt` (or a legacy ``WSC1`` one).

    ValueError when the blob is not ours, was altered or truncated, or the key is wrong.
    """
    if blob.startswith(_legacy_cipher.MAGIC):
        return _legacy_cipher.decrypt_v1(master, blob)
    if len(blob) < len(MAGIC) + _NONCE_LEN + _TAG_LEN or not blob.startswith(MAGIC):
        raise ValueError("not a wats-sync credentials file")
    nonce, sealed = blob[len(MAGIC) : len(MAGIC) + _NONCE_LEN], blob[len(MAGIC) + _NONCE_LEN :]
    try:
        return _aes_key(master).decrypt(nonce, sealed, MAGIC)
    except InvalidTag:
        raise ValueError("authentication failed (wrong key or the file was altered)") from None
