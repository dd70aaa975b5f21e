"""A small OData ``$filter`` builder for report headers, products and assets.

``Q.serial_number == "SN'1"`` renders ``serialNumber eq 'SN''1'``: string literals are always
quoted with inner quotes doubled, so no value can end the literal early and inject a clause.
Combine with ``&`` (and), ``|`` (or) and ``~`` (not).
"""

from __future__ import annotations

import math
import uuid
from datetime import date, datetime, timezone
from enum import Enum

__all__ = ["Field", "Filter", "Q", "odata_literal"]

Literal = str | int | float | bool | datetime | date | uuid.UUID | Enum | None


def odata_literal(value: Literal) -> str:
    """``value`` as an OData literal; raises TypeError/ValueError for what cannot be one."""
    if value is None:
        return "null"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"OData has no literal for {value!r}")
        return repr(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} in a filter; give it a tzinfo")
        text = value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
        return text
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        # A Guid literal is bare, as the spec's own examples write it: typeId eq FC48E41D-...
        return str(value)
    raise TypeError(f"cannot use {type(value).__name__} {value!r} in an OData filter")


class Filter:
    """A rendered filter expression; ``str(f)`` is the ``$filter`` text."""

    __slots__ = ("_text",)

    def __init__(self, text: str) -> None:
        self._text = text

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"Filter({self._text!r})"

    def __and__(self, other: Filter) -> Filter:
        return Filter(f"({self._text}) and ({_as_filter(other)._text})")

    def __or__(self, other: Filter) -> Filter:
        return Filter(f"({self._text}) or ({_as_filter(other)._text})")

    def __invert__(self) -> Filter:
        return Filter(f"not ({self._text})")

    def __bool__(self) -> bool:
        # Guards against `a == b and c == d`, which would silently drop a clause.
        raise TypeError("combine filters with & and |, not 'and'/'or'")


def _as_filter(value: object) -> Filter:
    if not isinstance(value, Filter):
        raise TypeError(f"expected a Filter, got {type(value).__name__}")
    return value


class Field:
    """A filterable field; compare it with a value to get a :class:`Filter`.

    ``guid=True`` marks a Guid-typed field (the spec's ``format: uuid``): a string compared with
    it must be a GUID and is written as a bare Guid literal, as the spec's examples write them.
    """

    __slots__ = ("guid", "name")

    def __init__(self, name: str, *, guid: bool = False) -> None:
        if not name.replace("_", "").replace("/", "").isalnum():
            raise ValueError(f"not an OData field name: {name!r}")
        self.name = name
        self.guid = guid

    def _cmp(self, op: str, value: Literal) -> Filter:
        if self.guid and isinstance(value, str):
            try:
                value = uuid.UUID(value)
            except ValueError:
                raise ValueError(f"{self.name} is a Guid field; {value!r} is not a GUID") from None
        return Filter(f"{self.name} {op} {odata_literal(value)}")

    def __eq__(self, value: Literal) -> Filter:  # type: ignore[override]
        return self._cmp("eq", value)

    def __ne__(self, value: Literal) -> Filter:  # type: ignore[override]
        return self._cmp("ne", value)

    def __lt__(self, value: Literal) -> Filter:
        return self._cmp("lt", value)

    def __le__(self, value: Literal) -> Filter:
        return self._cmp("le", value)

    def __gt__(self, value: Literal) -> Filter:
        return self._cmp("gt", value)

    def __ge__(self, value: Literal) -> Filter:
        return self._cmp("ge", value)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Field({self.name!r})"


#: The report header's ``result`` words (the spec: "Passed, Failed, Error, or Terminated"), by
#: the report's own result letter.
RESULT_WORDS = {"P": "Passed", "F": "Failed", "E": "Error", "T": "Terminated"}
_WORDS_BY_CASE = {word.lower(): word for word in RESULT_WORDS.values()}


class _ResultField(Field):
    """The header's ``result``: a word on the wire, given as a word, a letter or a ``Status``.

    A report carries its result as a letter (``"F"``), the header query answers words
    (``"Failed"``): ``result eq 'F'`` would match nothing, so letters become words here.
    """

    __slots__ = ()

    def _cmp(self, op: str, value: Literal) -> Filter:
        if isinstance(value, Enum):
            value = value.value
        if isinstance(value, str):
            text = value.strip()
            word = RESULT_WORDS.get(text.upper()) if len(text) == 1 else None
            word = word or _WORDS_BY_CASE.get(text.lower())
            if word is None:
                raise ValueError(
                    f"result is one of {', '.join(RESULT_WORDS.values())} "
                    f"(or the letters {' '.join(RESULT_WORDS)}), not {value!r}"
                )
            value = word
        return super()._cmp(op, value)


class _Fields:
    """Report-header, product and asset fields by their Python names (``Q.serial_number``).

    Report-header names are the spec's ``ReportHeader`` definition: ``start`` is UTC,
    ``user_name`` the operator (``operator`` and ``start_utc`` are kept as other names for
    ``user_name`` and ``start``), ``result`` a word (``Passed``...; a letter or a ``Status`` is
    written as its word), ``report_type`` ``T``/``R``, ``time_stamp`` the processing order.
    """

    uuid = Field("uuid", guid=True)
    serial_number = Field("serialNumber")
    part_number = Field("partNumber")
    revision = Field("revision")
    batch_number = Field("batchNumber")
    report_type = Field("reportType")
    station_name = Field("stationName")
    location = Field("location")
    purpose = Field("purpose")
    process_code = Field("processCode")
    process_name = Field("processName")
    result = _ResultField("result")
    start = Field("start")
    start_utc = start
    user_name = Field("userName")
    operator = user_name
    time_stamp = Field("timeStamp")
    run = Field("run")
    passed_in_run = Field("passedInRun")
    receive_count = Field("receiveCount")
    sw_filename = Field("swFilename")
    sw_version = Field("swVersion")
    fixture_id = Field("fixtureId")
    error_code = Field("errorCode")
    referenced_uut = Field("referencedUut", guid=True)
    name = Field("name")
    state = Field("state")
    asset_id = Field("assetId")
    asset_name = Field("assetName")
    type_id = Field("typeId", guid=True)

    @staticmethod
    def field(name: str) -> Field:
        """Any other field by its wire (camelCase) name."""
        return Field(name)


#: Filter fields: ``Q.serial_number == "SN1"``, ``Q.start >= dt``, ``Q.field("swVersion")``.
Q = _Fields()
