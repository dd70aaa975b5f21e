"""WSJF report validation and the ReportHeader view the header query returns."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from ._errors import ApiError
from ._timeutil import format_utc, parse_datetime

RESULTS = ("P", "F", "D", "E", "T")
#: Fields every WSJF report must carry (a UUT also needs ``root``).
REQUIRED_FIELDS = (
    "id",
    "type",
    "pn",
    "sn",
    "rev",
    "processCode",
    "result",
    "machineName",
    "location",
    "purpose",
    "start",
)
_TEXT_FIELDS_REQUIRED = ("pn", "sn", "rev", "machineName")
_TEXT_FIELDS_MAY_BE_EMPTY = ("location", "purpose")
_LIST_FIELDS = ("miscInfos", "subUnits", "assets", "binaryData", "additionalData")
_MAX_TEXT = 100
_MAX_DEPTH = 64

#: Header fields that ``$filter`` / ``$orderby`` accept, with their kinds.
HEADER_FIELDS: dict[str, str] = {
    "uuid": "str",
    "serialNumber": "str",
    "partNumber": "str",
    "revision": "str",
    "batchNumber": "str",
    "reportType": "str",
    "stationName": "str",
    "location": "str",
    "purpose": "str",
    "processCode": "int",
    "processName": "str",
    "result": "str",
    "start": "datetime",
    "startUtc": "datetime",
    "operator": "str",
    "comment": "str",
    "executionTime": "num",
    "swFilename": "str",
    "swVersion": "str",
    "testSocketIndex": "int",
    "fixtureId": "str",
    "receiveCount": "int",
    "reportSize": "int",
    "errorCode": "int",
    "errorMessage": "str",
    "referencedUut": "str",
    "rootNodeType": "str",
}


def canonical_id(value: object, where: str = "report.id") -> str:
    """The lower-case canonical form of a GUID; ApiError(400) when it is not one."""
    if not isinstance(value, str):
        raise ApiError(400, f"{where}: expected a GUID string, got {_kind(value)}")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ApiError(400, f"{where}: {value!r} is not a GUID") from None


def validate_report(report: object, process_codes: Mapping[int, str]) -> str:
    """Check a WSJF report the way the server does; return its canonical id.

    Raises ApiError(400) naming the first field that is missing or wrong.
    """
    if not isinstance(report, dict):
        raise ApiError(400, f"report: expected a JSON object, got {_kind(report)}")
    for name in REQUIRED_FIELDS:
        if report.get(name) is None:
            raise ApiError(400, f"report.{name}: required field is missing")
    key = canonical_id(report["id"])
    kind = report["type"]
    if kind not in ("T", "R"):
        raise ApiError(400, f"report.type: expected 'T' (UUT) or 'R' (UUR), got {kind!r}")
    for name in _TEXT_FIELDS_REQUIRED:
        _text(report, name, allow_empty=False)
    for name in _TEXT_FIELDS_MAY_BE_EMPTY:
        _text(report, name, allow_empty=True)
    code = report["processCode"]
    if not isinstance(code, int) or isinstance(code, bool):
        raise ApiError(400, f"report.processCode: expected an integer, got {_kind(code)}")
    if code not in process_codes:
        raise ApiError(
            400,
            f"report.processCode: {code} is not a known process code "
            f"(known: {', '.join(str(c) for c in sorted(process_codes))})",
        )
    if report["result"] not in RESULTS:
        raise ApiError(
            400, f"report.result: expected one of {' '.join(RESULTS)}, got {report['result']!r}"
        )
    start = report["start"]
    if not isinstance(start, str):
        raise ApiError(400, f"report.start: expected an ISO-8601 string, got {_kind(start)}")
    try:
        parse_datetime(start)
    except ValueError as exc:
        raise ApiError(400, f"report.start: {exc}") from None
    for name in _LIST_FIELDS:
        if name in report and report[name] is not None and not isinstance(report[name], list):
            raise ApiError(400, f"report.{name}: expected a list, got {_kind(report[name])}")
    if kind == "T":
        root = report.get("root")
        if root is None:
            raise ApiError(400, "report.root: a UUT report (type 'T') needs a root step")
        _check_step(root, "report.root", 0)
        _object_or_absent(report, "uut")
    else:
        _object_or_absent(report, "uur")
    return key


def _text(report: Mapping[str, Any], name: str, *, allow_empty: bool) -> None:
    value = report[name]
    if not isinstance(value, str):
        raise ApiError(400, f"report.{name}: expected a string, got {_kind(value)}")
    if not allow_empty and not value.strip():
        raise ApiError(400, f"report.{name}: must not be empty")
    if len(value) > _MAX_TEXT:
        raise ApiError(400, f"report.{name}: longer than {_MAX_TEXT} characters ({len(value)})")


def _object_or_absent(report: Mapping[str, Any], name: str) -> None:
    value = report.get(name)
    if value is not None and not isinstance(value, dict):
        raise ApiError(400, f"report.{name}: expected an object, got {_kind(value)}")


def _check_step(step: object, where: str, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise ApiError(400, f"{where}: steps nested deeper than {_MAX_DEPTH} levels")
    if not isinstance(step, dict):
        raise ApiError(400, f"{where}: expected a step object, got {_kind(step)}")
    steps = step.get("steps")
    if steps is None:
        return
    if not isinstance(steps, list):
        raise ApiError(400, f"{where}.steps: expected a list, got {_kind(steps)}")
    for index, child in enumerate(steps):
        _check_step(child, f"{where}.steps[{index}]", depth + 1)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    return "an object"


def build_header(
    report: Mapping[str, Any],
    *,
    receive_count: int,
    size: int,
    process_names: Mapping[int, str],
    expand: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The ReportHeader of a stored report (field names as the real API returns them)."""
    is_uut = report.get("type") == "T"
    info = report.get("uut" if is_uut else "uur")
    info = info if isinstance(info, dict) else {}
    root = report.get("root") if is_uut else None
    root = root if isinstance(root, dict) else {}
    seq = root.get("seqCall")
    seq = seq if isinstance(seq, dict) else {}
    start = str(report.get("start"))
    sub_units = report.get("subUnits") if "subunits" in expand else None
    return {
        "uuid": report.get("id"),
        "serialNumber": report.get("sn"),
        "partNumber": report.get("pn"),
        "revision": report.get("rev"),
        "batchNumber": info.get("batchSN") if is_uut else None,
        "reportType": "U" if is_uut else "R",
        "stationName": report.get("machineName"),
        "location": report.get("location"),
        "purpose": report.get("purpose"),
        "processCode": report.get("processCode"),
        "processName": process_names.get(report.get("processCode")),  # type: ignore[arg-type]
        "result": report.get("result"),
        "start": start,
        "startUtc": format_utc(parse_datetime(start)),
        "operator": info.get("user"),
        "comment": info.get("comment"),
        "executionTime": info.get("execTime"),
        "swFilename": seq.get("name"),
        "swVersion": seq.get("version"),
        "testSocketIndex": info.get("testSocketIndex") if is_uut else None,
        "fixtureId": info.get("fixtureId") if is_uut else None,
        "passedInRun": None,
        "receiveCount": receive_count,
        "reportSize": size,
        "causedUutFailure": None,
        "causedUutFailurePath": None,
        "errorCode": info.get("errorCode") if is_uut else None,
        "errorMessage": info.get("errorMessage") if is_uut else None,
        "referencedUut": None if is_uut else info.get("refUUT"),
        "rootNodeType": root.get("stepType") if is_uut else None,
        "subUnits": sub_units if is_uut else None,
        "uurSubUnits": None if is_uut else sub_units,
        "miscInfo": report.get("miscInfos") if "miscinfo" in expand else None,
    }
