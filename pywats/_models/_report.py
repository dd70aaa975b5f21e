"""UUT and UUR reports in WSJF, ``parse_report``, and the report builders.

``parse_report(d).to_wsjf() == d`` holds for every valid WSJF document: fields that were absent
stay absent, nulls stay null, numbers keep their JSON type, ``start`` is kept as the text it was,
unknown keys and step types are kept. ``to_wsjf(for_submit=True)`` also drops the fields only a
server export carries (:data:`OUTPUT_ONLY_FIELDS`).
"""

from __future__ import annotations

import re
import reprlib
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import Field, ValidationError

from ._base import (
    Bool,
    Int,
    Number,
    ReportFieldError,
    Status,
    Str,
    WatsModel,
    check_text,
)
from ._measure import SeqCall
from ._steps import STEP_TAGS, SequenceCallStep

#: Top-level keys present in server exports that must not be sent back on submit.
OUTPUT_ONLY_FIELDS = (
    "startUTC",
    "origin",
    "productName",
    "processName",
    "processCodeFormat",
    "assetStats",
)


class MiscInfo(WatsModel):
    """A free description/text pair (``numeric`` is deprecated by the server)."""

    description: Str | None = None
    text: Str | None = None
    numeric: Number | None = None


class Failure(WatsModel):
    """A failure found during repair, on a UUR sub-unit."""

    category: Str | None = None
    code: Str | None = None
    comment: Str | None = None
    com_ref: Str | None = None
    func_block: Str | None = None
    ref_step_id: Int | None = None
    ref_step_name: Str | None = None
    art_number: Str | None = None
    art_rev: Str | None = None
    art_vendor: Str | None = None
    art_description: Str | None = None


class SubUnit(WatsModel):
    """A part inside the unit; UUR sub-units also carry indexes and ``failures``."""

    part_type: Str | None = None
    pn: Str | None = None
    rev: Str | None = None
    sn: Str | None = None
    position: Int | None = None
    idx: Int | None = None
    parent_idx: Int | None = None
    replaced_idx: Int | None = None
    failures: list[Failure] | None = None


class ReportAsset(WatsModel):
    """An asset (instrument, fixture) used while testing."""

    sn: Str | None = None
    asset_type: Str | None = None
    part_number: Str | None = None
    usage_count: Int | None = None
    calibration_date: Str | None = None
    calibration_due: Str | None = None


class BinaryData(WatsModel):
    """A report attachment; ``data`` is base64 text, ``fail_idx`` ties it to a UUR failure."""

    name: Str | None = None
    content_type: Str | None = None
    data: Str | None = None
    fail_idx: Int | None = None


class UUTInfo(WatsModel):
    """UUT-specific header (``uut``)."""

    user: Str | None = None
    comment: Str | None = None
    exec_time: Number | None = None
    fixture_id: Str | None = None
    test_socket_index: Int | None = None
    error_code: Int | None = None
    error_message: Str | None = None
    batch_sn: Str | None = Field(None, alias="batchSN")
    batch_fail_count: Int | None = None
    batch_loop_index: Int | None = None
    step_id_caused_uut_failure: Int | None = Field(None, alias="stepIdCausedUUTFailure")
    referenced_by_uurs: Any = Field(None, alias="referencedByUURs")


class UURInfo(WatsModel):
    """UUR-specific header (``uur``); ``process_code`` is the test operation that failed."""

    user: Str | None = None
    comment: Str | None = None
    exec_time: Number | None = None
    process_code: Int | None = None
    process_name: Str | None = None
    ref_uut: Str | None = Field(None, alias="refUUT")
    confirm_date: Str | None = None
    finalize_date: Str | None = None
    active: Bool | None = None
    parent: Any = None
    children: Any = None


class ReportBase(WatsModel):
    """Header fields shared by UUT and UUR reports."""

    id: Str
    pn: Str
    sn: Str
    rev: Str
    process_code: Int
    result: Status
    machine_name: Str | None = None
    location: Str | None = None
    purpose: Str | None = None
    start: Str
    misc_infos: list[MiscInfo] | None = None
    sub_units: list[SubUnit] | None = None
    assets: list[ReportAsset] | None = None
    binary_data: list[BinaryData] | None = None
    additional_data: list[Any] | None = None
    # Output-only: present in server exports, dropped by to_wsjf(for_submit=True).
    start_utc: Str | None = Field(None, alias="startUTC")
    origin: Any = None
    product_name: Str | None = None
    process_name: Str | None = None
    process_code_format: Any = None
    asset_stats: Any = None

    def to_wsjf(self, *, for_submit: bool = False) -> dict[str, Any]:
        """The report as a WSJF dict; ``for_submit`` drops :data:`OUTPUT_ONLY_FIELDS`."""
        data = self.to_json_dict()
        if for_submit:
            for key in OUTPUT_ONLY_FIELDS:
                data.pop(key, None)
        return data

    def check(self) -> None:
        """Raise ReportFieldError naming the first header field the server would reject."""
        check_text("pn", self.pn, identifier=True)
        check_text("sn", self.sn, identifier=True)
        check_text("rev", self.rev)
        check_text("machineName", self.machine_name)
        check_text("location", self.location, allow_empty=True)
        check_text("purpose", self.purpose, allow_empty=True)
        if self.result is Status.SKIPPED:
            raise ReportFieldError("result", "must be one of P F D E T (S is for steps only)")
        _parse_start(self.start)

    def add_misc_info(self, description: str, text: str) -> MiscInfo:
        """Append a misc info (description/text pair) and return it."""
        info = MiscInfo(
            description=check_text("miscInfo.description", description),
            text=check_text("miscInfo.text", text, required=False, allow_empty=True),
        )
        if self.misc_infos is None:
            self.misc_infos = []
        self.misc_infos.append(info)
        return info

    def add_sub_unit(self, part_type: str, *, pn: str, sn: str, rev: str, **fields: Any) -> SubUnit:
        """Append a sub-unit (a part inside this unit) and return it."""
        unit = SubUnit(
            part_type=check_text("subUnit.partType", part_type),
            pn=check_text("subUnit.pn", pn, identifier=True),
            sn=check_text("subUnit.sn", sn, identifier=True),
            rev=check_text("subUnit.rev", rev),
            **fields,
        )
        if self.sub_units is None:
            self.sub_units = []
        self.sub_units.append(unit)
        return unit


class UUTReport(ReportBase):
    """A test report (``type "T"``) with its step tree under ``root``."""

    report_type: Literal["T"] = Field("T", alias="type")
    uut: UUTInfo | None = None
    root_step: SequenceCallStep | None = Field(None, alias="root")

    @property
    def root(self) -> SequenceCallStep:
        """The root SequenceCall; created (and then sent) on first use if the report has none."""
        if self.root_step is None:
            self.root_step = SequenceCallStep(
                step_type="SequenceCall",
                name="MainSequence Callback",
                group="M",
                status=Status.PASSED,
                seq_call=SeqCall(name="MainSequence"),
                steps=[],
            )
        return self.root_step

    @classmethod
    def create(
        cls,
        *,
        pn: str,
        sn: str,
        rev: str,
        process_code: int,
        station: str,
        location: str,
        purpose: str,
        result: Status | str = Status.PASSED,
        start: datetime | str | None = None,
        operator: str | None = None,
        report_id: str | None = None,
        sequence_name: str = "MainSequence Callback",
    ) -> UUTReport:
        """A new UUT report with an empty root sequence, checked as the server would check it."""
        header = _header(
            pn, sn, rev, process_code, station, location, purpose, result, start, report_id
        )
        uut = {"user": check_text("operator", operator)} if operator is not None else {}
        report = cls(report_type="T", uut=UUTInfo(**uut), **header)
        report.root_step = SequenceCallStep(
            step_type="SequenceCall",
            name=check_text("sequence_name", sequence_name),
            group="M",
            status=Status.coerce(result),
            seq_call=SeqCall(name=sequence_name),
            steps=[],
        )
        return report


class UURReport(ReportBase):
    """A repair report (``type "R"``); failures live on ``sub_units[].failures``."""

    report_type: Literal["R"] = Field("R", alias="type")
    uur: UURInfo | None = None

    @classmethod
    def create(
        cls,
        *,
        pn: str,
        sn: str,
        rev: str,
        station: str,
        location: str,
        purpose: str,
        process_code: int = 500,
        ref_uut: str | None = None,
        failed_process_code: int | None = None,
        result: Status | str = Status.PASSED,
        start: datetime | str | None = None,
        operator: str | None = None,
        report_id: str | None = None,
        confirm_date: datetime | str | None = None,
        finalize_date: datetime | str | None = None,
        active: bool = True,
    ) -> UURReport:
        """A new UUR report for the unit; ``ref_uut`` is the id of the failed UUT report.

        Like the repair reports a real server accepts, it carries ``uur.confirmDate`` and
        ``uur.finalizeDate`` (UTC; default now, never before ``start``) and ``uur.active``.
        """
        header = _header(
            pn, sn, rev, process_code, station, location, purpose, result, start, report_id
        )
        started = _parse_start(header["start"])
        uur: dict[str, Any] = {
            "confirm_date": _utc_text("confirm_date", confirm_date, started),
            "finalize_date": _utc_text("finalize_date", finalize_date, started),
            "active": _check_bool("active", active),
        }
        if operator is not None:
            uur["user"] = check_text("operator", operator)
        if ref_uut is not None:
            uur["ref_uut"] = _check_guid("ref_uut", ref_uut)
        if failed_process_code is not None:
            uur["process_code"] = _check_int("failed_process_code", failed_process_code)
        return cls(report_type="R", uur=UURInfo(**uur), **header)

    def add_failure(
        self,
        *,
        category: str,
        code: str,
        comment: str | None = None,
        com_ref: str | None = None,
        ref_step_id: int | None = None,
        sub_unit_idx: int = 0,
    ) -> Failure:
        """Record a failure on sub-unit ``sub_unit_idx`` (0: the unit itself, added if absent)."""
        unit = self._sub_unit(sub_unit_idx)
        fields: dict[str, Any] = {
            "category": check_text("failure.category", category),
            "code": check_text("failure.code", code),
        }
        for key, val in (("comment", comment), ("com_ref", com_ref), ("ref_step_id", ref_step_id)):
            if val is not None:
                fields[key] = val
        failure = Failure(**fields)
        if unit.failures is None:
            unit.failures = []
        unit.failures.append(failure)
        return failure

    def _sub_unit(self, idx: int) -> SubUnit:
        for unit in self.sub_units or []:
            if unit.idx == idx:
                return unit
        if idx != 0:
            raise ValueError(f"no sub-unit with idx {idx}; add it with add_sub_unit(..., idx=)")
        return self.add_sub_unit("Main", pn=self.pn, sn=self.sn, rev=self.rev, idx=0)


def parse_report(data: Mapping[str, Any]) -> UUTReport | UURReport:
    """Parse a WSJF dict into a UUTReport (``type "T"``) or UURReport (``type "R"``).

    Tolerant (enum values in any case, numbers given as strings) and lossless: ``to_wsjf()``
    gives back ``data``. A value that cannot be read raises :class:`ReportFieldError` (a
    ValueError) whose ``field`` is the path of the first bad value, such as
    ``root.steps[2].numericMeas[0].value``, and whose ``problems`` lists every bad path with
    its problem (the message names up to five); a missing or unknown ``type`` raises
    ValueError.
    """
    if not isinstance(data, Mapping):
        raise TypeError(f"parse_report needs a dict, got {type(data).__name__}")
    kind = data.get("type")
    folded = kind.upper() if isinstance(kind, str) else None
    cls: type[UUTReport] | type[UURReport]
    if folded == "T":
        cls = UUTReport
    elif folded == "R":
        cls = UURReport
    else:
        # reprlib bounds the text: a hostile, deeply nested value must not turn the clear
        # ValueError into a RecursionError.
        raise ValueError(f"type: must be 'T' (UUT) or 'R' (UUR), got {reprlib.repr(kind)}")
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise _field_error(exc, data) from None


def _field_error(exc: ValidationError, data: Mapping[str, Any]) -> ReportFieldError:
    """Every problem of ``exc`` as one ReportFieldError: ``field`` is the first path in
    ``data``, ``problems`` has each bad path with its problem, the message names up to
    ``_NAMED`` of the paths."""
    located: dict[str, list[tuple[str | None, Any]]] = {}
    for error in exc.errors(include_url=False):
        path, step = _path(error["loc"], data)
        located.setdefault(path or "report", []).append((step, error))
    problems = tuple((path, _problem(same)) for path, same in located.items())
    field, problem = problems[0]
    if len(problems) > 1:
        paths = [path for path, _ in problems]
        more = f" and {len(paths) - _NAMED} more" if len(paths) > _NAMED else ""
        problem += f"; {len(paths)} bad fields: {', '.join(paths[:_NAMED])}{more}"
    return ReportFieldError(field, problem, problems=problems)


_NAMED = 5
"""How many bad fields a one-line validation message names (``problems`` has them all)."""


def _problem(same: list[tuple[str | None, Any]]) -> str:
    """The problem at one path, from pydantic's errors there (and the step they are in)."""
    step, first = same[0]
    if len(same) > 1 and all(e["type"] in _NUMBER_ERRORS for _, e in same):
        problem = "Input should be a number"  # the int | float union reports both members
    else:
        problem = str(first["msg"])
    if first["type"] != "missing":
        problem += f" (got {reprlib.repr(first.get('input'))})"
    if step is not None:
        problem += f" in step {step!r}"
    return problem


_NUMBER_ERRORS = frozenset({"int_type", "float_type", "int_parsing", "float_parsing"})


def _path(loc: tuple[int | str, ...], data: Any) -> tuple[str, str | None]:
    """``loc`` as ``root.steps[2].numericMeas[0].value``, and the name of the innermost step.

    pydantic's ``loc`` also holds union tags and validator names; only the parts that index
    the document are kept.
    """
    text = ""
    step: str | None = None
    current = data
    for part in loc:
        if isinstance(current, Mapping) and isinstance(part, str) and part in current:
            text += f".{part}" if text else part
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            text += f"[{part}]"
            current = current[part]
        elif isinstance(current, Mapping) and isinstance(part, str) and not _is_tag(part):
            text += f".{part}" if text else part  # a missing key
            current = None
        else:
            continue
        if isinstance(current, Mapping) and "stepType" in current:
            name = current.get("name")
            step = name if isinstance(name, str) else None
    return text, step


def _is_tag(part: str) -> bool:
    # The step union's tags and pydantic's validator names are not document keys.
    return part in STEP_TAGS or part.startswith("function-")


def _header(
    pn: str,
    sn: str,
    rev: str,
    process_code: int,
    station: str,
    location: str,
    purpose: str,
    result: Status | str,
    start: datetime | str | None,
    report_id: str | None,
) -> dict[str, Any]:
    status = Status.coerce(result)
    if status is Status.SKIPPED:
        raise ReportFieldError("result", "must be one of P F D E T (S is for steps only)")
    return {
        "id": _check_guid("report_id", report_id) if report_id is not None else str(uuid.uuid4()),
        "pn": check_text("pn", pn, identifier=True),
        "sn": check_text("sn", sn, identifier=True),
        "rev": check_text("rev", rev),
        "process_code": _check_int("process_code", process_code),
        "result": status,
        "machine_name": check_text("station", station),
        "location": check_text("location", location, allow_empty=True),
        "purpose": check_text("purpose", purpose, allow_empty=True),
        "start": _format_start(start),
    }


def _format_start(start: datetime | str | None) -> str:
    if start is None:
        return datetime.now().astimezone().isoformat(timespec="milliseconds")
    if isinstance(start, datetime):
        if start.tzinfo is None:
            raise ReportFieldError("start", "needs a UTC offset (got a naive datetime)")
        return start.isoformat(timespec="milliseconds")
    _parse_start(start)
    return start


_FRACTION = re.compile(r"(\.\d+)")


def _parse_start(start: str, field: str = "start") -> datetime:
    # Python 3.10's fromisoformat takes only 3 or 6 fraction digits; .NET writes up to 7.
    text = _FRACTION.sub(lambda m: (m.group(1) + "000000")[:7], start.replace("Z", "+00:00"), 1)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ReportFieldError(field, f"is not an ISO-8601 date-time: {start!r}") from None
    if parsed.tzinfo is None:
        raise ReportFieldError(field, f"needs a UTC offset: {start!r}")
    return parsed


def _check_guid(field: str, value: str) -> str:
    try:
        uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        raise ReportFieldError(field, f"is not a GUID: {value!r}") from None
    return value


def _utc_text(field: str, value: datetime | str | None, not_before: datetime) -> str:
    """A UTC time as the server writes it (``2026-03-01T10:05:00.000Z``); default now."""
    if isinstance(value, str):
        _parse_start(value, field)
        return value
    if value is None:
        value = max(datetime.now(timezone.utc), not_before)
    elif value.tzinfo is None:
        raise ReportFieldError(field, "needs a UTC offset (got a naive datetime)")
    utc = value.astimezone(timezone.utc)
    return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _check_bool(field: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ReportFieldError(field, f"must be True or False, got {value!r}")
    return value


def _check_int(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ReportFieldError(field, f"must be an integer, got {value!r}")
    return value
