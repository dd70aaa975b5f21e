"""The key file's format: the master key, wrapped with DPAPI on Windows.

``WSK1 || key`` on POSIX (the file's owner-only mode is the protection); ``WSK2 || DPAPI blob``
on Windows, where ``CryptProtectData`` ties the key to the Windows user account. A ``WSK2``
file is only readable on Windows, by the same user.
"""

from __future__ import annotations

import sys
from pathlib import Path

from syncengine.credentials._cipher import KEY_LEN
from syncengine.credentials._errors import CredentialsStoreError

_MAGIC_RAW = b"WSK1"
_MAGIC_DPAPI = b"WSK2"

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

    def wrap_key(key: bytes) -> bytes:
        """The key file's content for ``key`` (DPAPI-protected on Windows)."""
        return _MAGIC_DPAPI + _dpapi(key, protect=True)

else:

    def wrap_key(key: bytes) -> bytes:
        """The key file's content for ``key`` (DPAPI-protected on Windows)."""
        return _MAGIC_RAW + key


def unwrap_key(path: Path, data: bytes) -> bytes:
    """The master key from the key file's content; CredentialsStoreError when unusable."""
    if data.startswith(_MAGIC_RAW) and len(data) == len(_MAGIC_RAW) + KEY_LEN:
        return data[len(_MAGIC_RAW) :]
    if data.startswith(_MAGIC_DPAPI):
        if sys.platform == "win32":
            key = _dpapi(data[len(_MAGIC_DPAPI) :], protect=False)
            if len(key) == KEY_LEN:
                return key
        else:
            raise CredentialsStoreError(f"{path} is DPAPI-protected and only readable on Windows")
    raise CredentialsStoreError(f"{path} is not a wats-sync key file")
