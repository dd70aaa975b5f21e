"""WSJF report validation and the ReportHeader view the header query returns."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from ._digits import is_digits
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

#: ReportHeader fields (the spec's definition) that ``$filter`` accepts, with their kinds.
HEADER_FIELDS: dict[str, str] = {
    "uuid": "guid",
    "serialNumber": "str",
    "partNumber": "str",
    "reportType": "str",
    "start": "datetime",
    "revision": "str",
    "result": "str",
    "batchNumber": "str",
    "userName": "str",
    "stationName": "str",
    "location": "str",
    "purpose": "str",
    "measuresDeleted": "bool",
    "timeStamp": "int",
    "processCode": "int",
    "processName": "str",
    "comment": "str",
    "executionTime": "num",
    "swFilename": "str",
    "swVersion": "str",
    "testSocketIndex": "int",
    "fixtureId": "str",
    "errorCode": "int",
    "errorMessage": "str",
    "run": "int",
    "receiveCount": "int",
    "reportSize": "int",
    "causedUutFailure": "str",
    "causedUutFailurePath": "str",
    "passedInRun": "int",
    "referencedUut": "guid",
}
#: ``$orderby`` is documented only for these (the spec writes ``timestamp``; both spellings).
HEADER_ORDERABLE = ("start", "uuid", "serialNumber", "timeStamp")
_RESULT_WORDS = {"P": "Passed", "F": "Failed", "E": "Error", "T": "Terminated", "D": "Done"}


def canonical_id(value: object, where: str = "report.id") -> str:
    """The lower-case canonical form of a GUID; ApiError(400) when it is not one."""
    if not isinstance(value, str):
        raise ApiError(400, f"{where}: expected a GUID string, got {_kind(value)}")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ApiError(400, f"{where}: {value!r} is not a GUID") from None


def check_structure(report: object, process_codes: Mapping[int, str]) -> str:
    """Check a WSJF report's fields and types; return its canonical id.

    Raises ApiError(400) naming the first field that is missing or wrong. These checks and
    their messages are the simulator's own (the real server's are not documented); the
    server's documented rules are in ``_validation``.
    """
    if not isinstance(report, dict):
        raise ApiError(400, f"report: expected a JSON object, got {_kind(report)}")
    for name in REQUIRED_FIELDS:
        if report.get(name) is None:
            raise ApiError(400, f"report.{name}: required field is missing")
    key = canonical_id(report["id"])
    kind = _enum_letter(report, "type", ("T", "R"))
    if kind not in ("T", "R"):
        raise ApiError(400, f"report.type: expected 'T' (UUT) or 'R' (UUR), got {kind!r}")
    for name in _TEXT_FIELDS_REQUIRED:
        _text(report, name, allow_empty=False)
    for name in _TEXT_FIELDS_MAY_BE_EMPTY:
        _text(report, name, allow_empty=True)
    code = report["processCode"]
    if isinstance(code, str) and is_digits(code.strip().removeprefix("-")):
        # Assumption: the server's Json.NET reader converts an integer written as a JSON string
        # (real station files carry "10"), as it does by default for integer properties.
        code = int(code.strip())
        report["processCode"] = code  # stored as the server's model would hold it
    if not isinstance(code, int) or isinstance(code, bool):
        raise ApiError(400, f"report.processCode: expected an integer, got {_kind(code)}")
    if code not in process_codes:
        raise ApiError(
            400,
            f"report.processCode: {code} is not a known process code "
            f"(known: {', '.join(str(c) for c in sorted(process_codes))})",
        )
    if _enum_letter(report, "result", RESULTS) not in RESULTS:
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


def _enum_letter(report: dict[str, Any], name: str, allowed: tuple[str, ...]) -> object:
    """An enum field's value in the canonical (upper) case, stored so; others as they came.

    The real server reads enums with Json.NET, which matches their names in any case ("t" is
    a UUT; real exports write enums in mixed case, WATS-API-NOTES.md section 4). The stored
    text is left as posted; the parsed copy holds the value as the server's model would.
    """
    value = report[name]
    if isinstance(value, str) and value.upper() in allowed:
        value = report[name] = value.upper()
    return value


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
    time_stamp: int,
    run: int,
    process_names: Mapping[int, str],
    expand: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The ReportHeader of a stored report, with the spec's field names and value forms."""
    is_uut = report.get("type") == "T"
    info = report.get("uut" if is_uut else "uur")
    info = info if isinstance(info, dict) else {}
    root = report.get("root") if is_uut else None
    root = root if isinstance(root, dict) else {}
    seq = root.get("seqCall")
    seq = seq if isinstance(seq, dict) else {}
    result = report.get("result")
    header: dict[str, Any] = {
        "uuid": report.get("id"),
        "serialNumber": report.get("sn"),
        "partNumber": report.get("pn"),
        "reportType": "T" if is_uut else "R",
        "start": format_utc(parse_datetime(str(report.get("start"))), seconds_only=True),
        "revision": report.get("rev"),
        "result": _RESULT_WORDS.get(str(result), result),
        "batchNumber": info.get("batchSN") if is_uut else None,
        "userName": info.get("user"),
        "stationName": report.get("machineName"),
        "location": report.get("location"),
        "purpose": report.get("purpose"),
        "measuresDeleted": False,
        "timeStamp": time_stamp,
        "processCode": report.get("processCode"),
        "processName": process_names.get(report.get("processCode")),  # type: ignore[arg-type]
        "comment": info.get("comment"),
        "executionTime": info.get("execTime"),
        "swFilename": seq.get("name"),
        "swVersion": seq.get("version"),
        "testSocketIndex": info.get("testSocketIndex") if is_uut else None,
        "fixtureId": info.get("fixtureId") if is_uut else None,
        "errorCode": info.get("errorCode") if is_uut else None,
        "errorMessage": info.get("errorMessage") if is_uut else None,
        "run": run,
        "receiveCount": receive_count,
        "reportSize": -(-size // 1024),
        "causedUutFailure": None,
        "causedUutFailurePath": None,
        "passedInRun": None,
        "referencedUut": None if is_uut else info.get("refUUT"),
    }
    header.update(_expanded(report, is_uut, expand))
    return header


def _expanded(report: Mapping[str, Any], is_uut: bool, expand: frozenset[str]) -> dict[str, Any]:
    """The ``$expand`` parts; only the expanded ones appear (OData leaves the rest out)."""
    subs = [s for s in report.get("subUnits") or [] if isinstance(s, dict)]
    misc = [m for m in report.get("miscInfos") or [] if isinstance(m, dict)]
    parts: dict[str, Any] = {}
    if is_uut and "subunits" in expand:
        parts["subUnits"] = [
            {
                "partType": s.get("partType"),
                "serialNumber": s.get("sn"),
                "partNumber": s.get("pn"),
                "revision": s.get("rev"),
            }
            for s in subs
        ]
    if not is_uut and "uursubunits" in expand:
        parts["uurSubUnits"] = [
            {"serialNumber": s.get("sn"), "partNumber": s.get("pn"), "revision": s.get("rev")}
            for s in subs
        ]
    name = "miscInfo" if is_uut else "uurMiscInfo"
    if name.lower() in expand:
        parts[name] = [
            {
                "description": m.get("description"),
                "value": m.get("text") if m.get("text") is not None else m.get("numeric"),
            }
            for m in misc
        ]
    return parts
