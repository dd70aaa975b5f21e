"""Measurement models of a step and the builder helpers that fill and evaluate them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._base import CompOp, Int, Number, Status, StepGroup, Str, WatsModel, check_text


class Loop(WatsModel):
    """Loop position: ``{"i", "n"}`` on submit; server exports use ``idx/num/endingIndex...``."""

    i: Int | None = None
    n: Int | None = None
    idx: Int | None = None
    num: Int | None = None
    ending_index: Int | None = None
    passed: Int | None = None
    failed: Int | None = None


class SeqCall(WatsModel):
    """What a SequenceCall step called: sequence file ``path``, sequence ``name``, ``version``."""

    path: Str | None = None
    name: Str | None = None
    version: Str | None = None


class Attachment(WatsModel):
    """A file attached to a step; ``data`` is base64 text."""

    name: Str | None = None
    content_type: Str | None = None
    data: Str | None = None
    description: Str | None = None


class ChartSeries(WatsModel):
    """One chart series; ``xdata``/``ydata`` are ``;``-separated numbers as text."""

    data_type: Str | None = None
    name: Str | None = None
    xdata: Str | None = None
    ydata: Str | None = None


class Chart(WatsModel):
    """A step's chart (``chartType`` Line / LineLogXY / LineLogX / LineLogY)."""

    chart_type: Str | None = None
    label: Str | None = None
    x_label: Str | None = None
    x_unit: Str | None = None
    y_label: Str | None = None
    y_unit: Str | None = None
    series: list[ChartSeries] | None = None


class NumericMeasurement(WatsModel):
    """One numeric measurement; single-limit operators keep their limit in ``low_limit``."""

    name: Str | None = None
    comp_op: CompOp | None = None
    status: Status | None = None
    unit: Str | None = None
    value: Number | None = None
    low_limit: Number | None = None
    high_limit: Number | None = None
    value_format: Str | None = None
    low_limit_format: Str | None = None
    high_limit_format: Str | None = None


class BooleanMeasurement(WatsModel):
    """One pass/fail measurement."""

    name: Str | None = None
    status: Status | None = None


class StringMeasurement(WatsModel):
    """One string measurement, compared with ``limit`` by ``comp_op``."""

    name: Str | None = None
    comp_op: CompOp | None = None
    status: Status | None = None
    value: Str | None = None
    limit: Str | None = None


def numeric_measurement(
    value: float,
    *,
    low: float | None = None,
    high: float | None = None,
    comp_op: CompOp | str | None = None,
    unit: str | None = None,
    status: Status | str | None = None,
    name: str | None = None,
) -> NumericMeasurement:
    """A numeric measurement with its status computed from the limits unless given."""
    check_number("value", value)
    op = CompOp(comp_op) if comp_op is not None else _default_op(low, high)
    fields: dict[str, Any] = {"comp_op": op, "value": value}
    if op.limit_count == 2:
        if low is None or high is None:
            raise ValueError(f"comp_op {op.value} needs both low and high limits")
        fields["low_limit"], fields["high_limit"] = (
            check_number("low", low),
            check_number("high", high),
        )
    elif op.limit_count == 1:
        limit = low if low is not None else high
        if limit is None or (low is not None and high is not None):
            raise ValueError(f"comp_op {op.value} needs exactly one limit (low or high)")
        fields["low_limit"] = check_number("limit", limit)
    if status is None:
        if op is CompOp.EQT:
            raise ValueError("comp_op EQT needs an explicit status (the tolerance is not known)")
        status = _numeric_status(op, value, fields.get("low_limit"), fields.get("high_limit"))
    fields["status"] = Status.coerce(status)
    if unit is not None:
        fields["unit"] = unit
    if name is not None:
        fields["name"] = check_text("name", name)
    return NumericMeasurement(**fields)


def chart_series(
    name: str, x: Sequence[float], y: Sequence[float], *, data_type: str = "XYG"
) -> ChartSeries:
    """A chart series from numbers; WSJF carries them as ``;``-separated text."""
    if len(x) != len(y):
        raise ValueError(f"chart series {name!r}: x has {len(x)} points, y has {len(y)}")
    return ChartSeries(data_type=data_type, name=name, xdata=_join(x), ydata=_join(y))


def _join(values: Sequence[float]) -> str:
    return ";".join(repr(check_number("point", v)) for v in values)


def check_number(field: str, value: object) -> float:
    """``value`` if it is a finite JSON number (not a bool), else TypeError/ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{field} must be a number, got {value!r}")
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{field} must be finite (JSON has no NaN or infinity), got {value!r}")
    return value


def _default_op(low: float | None, high: float | None) -> CompOp:
    if low is not None and high is not None:
        return CompOp.GELE
    if low is not None:
        return CompOp.GE
    if high is not None:
        return CompOp.LE
    return CompOp.LOG


def _numeric_status(op: CompOp, v: float, lo: float | None, hi: float | None) -> Status:
    if op is CompOp.LOG:
        return Status.PASSED
    if lo is None:
        raise ValueError(f"comp_op {op.value} needs a limit")
    one_limit = {
        CompOp.EQ: v == lo,
        CompOp.NE: v != lo,
        CompOp.LT: v < lo,
        CompOp.LE: v <= lo,
        CompOp.GT: v > lo,
        CompOp.GE: v >= lo,
    }
    if op in one_limit:
        return Status.PASSED if one_limit[op] else Status.FAILED
    if hi is None:
        raise ValueError(f"comp_op {op.value} needs two limits")
    two_limits = {
        CompOp.GTLT: lo < v < hi,
        CompOp.GTLE: lo < v <= hi,
        CompOp.GELT: lo <= v < hi,
        CompOp.GELE: lo <= v <= hi,
        CompOp.LTGT: v < lo or v > hi,
        CompOp.LTGE: v < lo or v >= hi,
        CompOp.LEGT: v <= lo or v > hi,
        CompOp.LEGE: v <= lo or v >= hi,
    }
    if op not in two_limits:
        raise ValueError(f"comp_op {op.value} is not a numeric operator")
    return Status.PASSED if two_limits[op] else Status.FAILED


def string_status(op: CompOp, value: str, limit: str | None) -> Status:
    """P or F for a string measurement under ``op``."""
    if op is CompOp.LOG:
        return Status.PASSED
    if limit is None:
        raise ValueError(f"comp_op {op.value} needs a limit")
    if op is CompOp.CASESENSIT or op is CompOp.EQ:
        return Status.PASSED if value == limit else Status.FAILED
    if op is CompOp.IGNORECASE:
        return Status.PASSED if value.casefold() == limit.casefold() else Status.FAILED
    if op is CompOp.NE:
        return Status.PASSED if value != limit else Status.FAILED
    raise ValueError(f"comp_op {op.value} is not a string operator; pass status explicitly")


def worst(given: Status | str | None, statuses: Sequence[Status | None]) -> Status:
    """``given`` if set, else F when any of ``statuses`` is F, else P."""
    if given is not None:
        return Status.coerce(given)
    return Status.FAILED if Status.FAILED in statuses else Status.PASSED


def common_fields(
    name: str, step_type: str, status: Status | str, group: StepGroup | str, step_id: int | None
) -> dict[str, Any]:
    """The common constructor fields of a new step, checked."""
    fields: dict[str, Any] = {
        "name": check_text("step name", name),
        "step_type": step_type,
        "group": StepGroup(group).value,
        "status": Status.coerce(status),
    }
    if step_id is not None:
        fields["id"] = step_id
    return fields
