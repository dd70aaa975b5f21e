"""LEGACY, READ-ONLY: decrypt credentials files written before wats-sync used ``cryptography``.

Files starting with ``WSC1`` were written by a standard-library construction: a keystream of
HMAC-SHA256(enc_key, nonce || counter) blocks XORed with the plaintext, then an
HMAC-SHA256(mac_key, magic || nonce || ciphertext) tag (encrypt-then-MAC), with both sub-keys
derived from the 32-byte master key in the key file. This module only reads that format, so
that an existing store keeps working after an upgrade; the next save rewrites the file as
``WSC2`` (AES-256-GCM, :mod:`syncengine.credentials._cipher`). Nothing here encrypts. Delete
this module once no station can still hold a ``WSC1`` file (see docs/operations.md).
"""

from __future__ import annotations

import hashlib
import hmac

MAGIC = b"WSC1"
_NONCE_LEN = 16
_TAG_LEN = 32


def decrypt_v1(master: bytes, blob: bytes) -> bytes:
    """Check and decrypt a ``WSC1`` blob; ValueError when it is malformed or fails the MAC."""
    if len(blob) < len(MAGIC) + _NONCE_LEN + _TAG_LEN or not blob.startswith(MAGIC):
        raise ValueError("not a wats-sync credentials file")
    enc_key = hmac.new(master, b"wats-sync/enc/v1", hashlib.sha256).digest()
    mac_key = hmac.new(master, b"wats-sync/mac/v1", hashlib.sha256).digest()
    body, tag = blob[:-_TAG_LEN], blob[-_TAG_LEN:]
    if not hmac.compare_digest(tag, hmac.new(mac_key, body, hashlib.sha256).digest()):
        raise ValueError("authentication failed (wrong key or the file was altered)")
    nonce, ciphertext = body[len(MAGIC) : len(MAGIC) + _NONCE_LEN], body[len(MAGIC) + _NONCE_LEN :]
    stream = b"".join(
        hmac.new(enc_key, nonce + n.to_bytes(8, "big"), hashlib.sha256).digest()
        for n in range((len(ciphertext) + 31) // 32)
    )
    return bytes(c ^ s for c, s in zip(ciphertext, stream, strict=False))
