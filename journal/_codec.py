"""Canonical JSON, digests and the hash chain: the bytes that integrity is computed over.

Canonical JSON: sorted keys, no whitespace, UTF-8 text, no NaN or infinity, so equal documents
give equal bytes on every platform and Python version >= 3.10. Two forms exist:

* **form 1** (journals written before form 2): ``json.dumps(sort_keys=True,
  separators=(",", ":"), ensure_ascii=False, allow_nan=False)``.
* **form 2** (written now): orjson with ``OPT_SORT_KEYS`` (about 6x cheaper for a report). It
  differs from form 1 only in how floats below 1e-4 are written (``1e-7``, ``0.00001`` where form
  1 writes ``1e-07``, ``1e-05``). A value orjson refuses (an int beyond 64 bits, a non-str key,
  a subclass of str/int/float/dict/list, nesting deeper than 254) is written in form 1, so form 2
  accepts and refuses exactly what form 1 does, with one documented exception: ``uuid.UUID`` and
  ``enum.Enum`` members, which form 1 refused, are written as their string / value.

Stored text is never re-encoded: digests are over the stored bytes, so journals of either form
verify. Only the places that re-canonicalise a *parsed* value (a re-submit compared with an old
submission, an archive's self-check) accept either form, via :func:`canonical_forms`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import orjson

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first event of every journal."""

CANONICAL_FORM = 2
"""The canonical form :func:`canonical` writes (recorded as ``v`` of Submitted events)."""

_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)
"""Subclasses, datetimes and dataclasses are not orjson's to write: form 1 decides for them."""


def canonical_v1(value: Any, *, what: str = "value") -> str:
    """Canonical form 1 (``json.dumps``); ``ValueError``/``TypeError`` name ``what``."""
    try:
        text = json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except TypeError as exc:
        raise TypeError(f"{what} is not JSON-serialisable: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"{what} cannot be stored as JSON: {exc}") from None
    except RecursionError:
        raise ValueError(f"{what} cannot be stored as JSON: nested too deeply") from None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{what} contains text that is not valid UTF-8: {exc}") from None
    return text


def canonical(value: Any, *, what: str = "value") -> str:
    """Return the canonical JSON text (form 2) of ``value``; errors name ``what``."""
    try:
        out = orjson.dumps(value, option=_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError: form 1 writes it or raises the error
        return canonical_v1(value, what=what)
    if b"null" in out:
        # orjson writes NaN and +-Infinity as null: form 1 refuses them, and so must we.
        _refuse_non_finite(value, what)
    return out.decode("utf-8")


def _refuse_non_finite(value: Any, what: str) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                raise ValueError(
                    f"{what} cannot be stored as JSON: Out of range float values are not JSON "
                    f"compliant: {item!r}"
                )
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)


def canonical_forms(value: Any) -> Iterator[str]:
    """Every canonical text ``value`` may have been stored as: form 2, then form 1 if different.

    For checking a parsed value against a digest of text written by this or an older version.
    """
    text = canonical(value)
    yield text
    old = canonical_v1(value)
    if old != text:
        yield old


def matches_digest(value: Any, digest: str) -> bool:
    """True if the canonical text of ``value`` in any form hashes to ``digest``."""
    return any(sha256_text(text) == digest for text in canonical_forms(value))


def sha256_text(text: str) -> str:
    """Hex sha256 of the UTF-8 bytes of ``text``."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def iso_utc(ts: float) -> str:
    """ISO-8601 UTC text (microseconds, ``Z``) for a UNIX timestamp."""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_ascii_string = json.encoder.encode_basestring_ascii


def _header_number(value: Any) -> str:
    # What json.dumps writes for an int or a finite float; anything else goes through it.
    if type(value) is float and math.isfinite(value):
        return float.__repr__(value)
    if type(value) is int:
        return int.__repr__(value)
    return json.dumps(value)


def chain_hash(
    prev_hash: str,
    seq: int,
    event_id: str,
    key: str,
    type_: str,
    ts: float,
    ts_iso: str,
    digest: str,
) -> str:
    """The hash of one event: sha256 over the previous hash and the event's canonical header.

    The header includes ``digest`` (sha256 of the event's data), so the data is covered too
    without hashing a large payload twice. The header is exactly ``json.dumps([seq, event_id,
    key, type_, ts, ts_iso, digest], separators=(",", ":"), ensure_ascii=True)``, built by hand
    (the same C string escaper, ``float.__repr__`` for numbers) because this runs per event.
    """
    if all(type(v) is str for v in (event_id, key, type_, ts_iso, digest)):
        header = (
            f"[{_header_number(seq)},{_ascii_string(event_id)},{_ascii_string(key)},"
            f"{_ascii_string(type_)},{_header_number(ts)},{_ascii_string(ts_iso)},"
            f"{_ascii_string(digest)}]"
        )
    else:
        header = json.dumps(
            [seq, event_id, key, type_, ts, ts_iso, digest],
            separators=(",", ":"),
            ensure_ascii=True,
        )
    return hashlib.sha256(f"{prev_hash}|{header}".encode()).hexdigest()
