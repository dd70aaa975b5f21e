"""ISO-8601 parsing that behaves the same on Python 3.10 and 3.11+."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"(Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)


def parse_datetime(text: str) -> datetime:
    """Parse an ISO-8601 date or date-time into an aware datetime (no offset means UTC).

    Raises ValueError with the offending text when it is not ISO-8601.
    """
    match = _ISO.match(text.strip())
    if match is None:
        raise ValueError(f"not an ISO-8601 date-time: {text!r}")
    year, month, day, hour, minute, second, frac, offset = match.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    tz = timezone.utc
    if offset and offset not in ("Z", "z"):
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:4] or "0")
        if hours > 23 or minutes > 59:
            raise ValueError(f"bad UTC offset in {text!r}")
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            micro,
            tzinfo=tz,
        )
    except ValueError as exc:
        raise ValueError(f"not a valid date-time: {text!r} ({exc})") from None


def format_utc(moment: datetime, *, seconds_only: bool = False) -> str:
    """Format an aware datetime as UTC ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``.

    ``seconds_only`` drops the fraction (the ReportHeader's ``yyyy-MM-ddTHH:mm:ssZ``).
    """
    utc = moment.astimezone(timezone.utc).replace(tzinfo=None)
    if seconds_only:
        utc = utc.replace(microsecond=0)
    return utc.isoformat() + "Z"


def utc_now_text() -> str:
    """The current time as UTC ISO-8601 text with a ``Z``."""
    return format_utc(datetime.now(timezone.utc))
