"""Canonical JSON, digests and the hash chain: the bytes that integrity is computed over.

Canonical JSON is ``json.dumps`` with sorted keys, no whitespace, UTF-8 text and no NaN or
infinity, so equal documents give equal bytes on every platform and Python version >= 3.10.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first event of every journal."""


def canonical(value: Any, *, what: str = "value") -> str:
    """Return the canonical JSON text of ``value``; ``ValueError``/``TypeError`` name ``what``."""
    try:
        text = json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except TypeError as exc:
        raise TypeError(f"{what} is not JSON-serialisable: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"{what} cannot be stored as JSON: {exc}") from None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{what} contains text that is not valid UTF-8: {exc}") from None
    return text


def sha256_text(text: str) -> str:
    """Hex sha256 of the UTF-8 bytes of ``text``."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def iso_utc(ts: float) -> str:
    """ISO-8601 UTC text (microseconds, ``Z``) for a UNIX timestamp."""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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
    without hashing a large payload twice.
    """
    header = json.dumps(
        [seq, event_id, key, type_, ts, ts_iso, digest], separators=(",", ":"), ensure_ascii=True
    )
    return hashlib.sha256(f"{prev_hash}|{header}".encode()).hexdigest()
