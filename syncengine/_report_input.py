"""What ``SyncEngine.submit`` accepts: a report turned into a WSJF payload and a key.

A pywats ``UUTReport``/``UURReport`` or a WSJF mapping becomes a plain dict; the key is the one
given or the report's ``id``; with ``validate_submit`` the report is checked by pywats first.
Anything else is a :class:`ReportInputError`, raised before the journal is touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._errors import ReportInputError


def payload_of(report: object) -> dict[str, Any]:
    """The WSJF payload of a pywats report or a WSJF mapping; ReportInputError otherwise."""
    if isinstance(report, Mapping):
        return dict(report)
    to_wsjf = getattr(report, "to_wsjf", None)
    if callable(to_wsjf):
        try:
            payload = to_wsjf(for_submit=True)
        except TypeError:
            payload = to_wsjf()
        if isinstance(payload, Mapping):
            return dict(payload)
    raise ReportInputError(
        "submit() takes a pywats UUTReport/UURReport or a WSJF dict, "
        f"got {type(report).__module__}.{type(report).__qualname__}"
    )


def check_locally(payload: Mapping[str, Any], key: str) -> None:
    """Refuse a report the server would refuse, before it is journaled (``validate_submit``)."""
    from pywats import parse_report

    try:
        parse_report(dict(payload)).check()
    except Exception as exc:  # pydantic.ValidationError, ReportFieldError, TypeError
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ReportInputError(
            f"submit(): report {key} is not valid: {text} (nothing was journaled; "
            "EngineConfig.validate_submit=False journals it anyway)"
        ) from exc


def key_of(payload: Mapping[str, Any], key: str | None, where: str) -> str:
    """``key``, or the report's own ``id`` when None; ReportInputError when neither is usable."""
    if key is None:
        key = payload.get("id")
        if not isinstance(key, str) or not key.strip():
            raise ReportInputError(
                f"{where}: the report has no string 'id' to use as its key; pass key=..."
            )
    if not isinstance(key, str) or not key.strip():
        raise ReportInputError(f"{where}: key must be a non-empty string, got {key!r}")
    return key
