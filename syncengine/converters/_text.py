"""Shared input checks for the built-in converters: size, encoding, binary garbage."""

from __future__ import annotations

from pathlib import Path

from ._api import ConversionError

DEFAULT_MAX_BYTES = 256 * 1024 * 1024


def read_text(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, encoding: str = "utf-8") -> str:
    """The file's text; :class:`ConversionError` naming the byte offset if it is not text.

    A UTF-8 byte-order mark is accepted and dropped (Windows tools write one). With the default
    UTF-8, a UTF-16 byte-order mark selects UTF-16 (PowerShell 5's ``Out-File`` and ``>``
    write that).
    """
    data = read_bytes(path, max_bytes=max_bytes)
    if encoding.lower().replace("-", "") == "utf8" and data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        encoding = "utf-16"  # the BOM gives the byte order and is dropped
    nul = data.find(b"\x00")
    if nul >= 0 and encoding.lower().replace("-", "") == "utf8":
        raise ConversionError(f"{path.name}: binary content (NUL byte at offset {nul})")
    codec = "utf-8-sig" if encoding.lower().replace("-", "") == "utf8" else encoding
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        raise ConversionError(
            f"{path.name}: not valid {encoding} at byte offset {exc.start} ({exc.reason})"
        ) from None
    except LookupError:
        raise ConversionError(f"unknown encoding {encoding!r} in converter options") from None


def read_bytes(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The file's bytes; :class:`ConversionError` if it is larger than ``max_bytes``."""
    size = path.stat().st_size
    if size > max_bytes:
        raise ConversionError(f"{path.name}: {size} bytes exceeds the {max_bytes}-byte limit")
    return path.read_bytes()


def head(path: Path, size: int = 4096) -> bytes:
    """The first ``size`` bytes, for cheap ``validate`` checks."""
    with path.open("rb") as fh:
        return fh.read(size)
