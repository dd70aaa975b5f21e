"""Shared pieces of the WSJF models: the base class, scalar types, enums, field checks.

Losslessness comes from three choices made here: every model keeps unknown keys
(``extra="allow"``), dumping uses ``exclude_unset`` so absent stays absent and null stays null,
and scalar fields are strict so that nothing is coerced on the way in (1 stays an int, 1.0 stays
a float, "10" is not silently turned into 10).
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Union

from pydantic import BaseModel, ConfigDict, StrictBool, StrictFloat, StrictInt, StrictStr
from pydantic.alias_generators import to_camel

#: A JSON number kept exactly as given: an int stays an int, a float stays a float.
Number = Union[StrictInt, StrictFloat]  # noqa: UP007 - a runtime alias, must work on 3.10
Int = StrictInt
Str = StrictStr
Bool = StrictBool

FORBIDDEN_SN_PN_CHARS = "*%?[]^!/\\"
MAX_TEXT = 100


class WatsModel(BaseModel):
    """Base of every WSJF model: camelCase on the wire, snake_case in Python, unknown keys kept."""

    model_config = ConfigDict(
        extra="allow",
        alias_generator=to_camel,
        populate_by_name=True,
        validate_assignment=True,
        use_enum_values=False,
    )

    def to_json_dict(self) -> dict[str, Any]:
        """This object as the JSON dict it was read from (camelCase, only fields that were set)."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class Status(str, Enum):
    """Report result / step / measurement status letter (the report result never uses S)."""

    PASSED = "P"
    FAILED = "F"
    SKIPPED = "S"
    DONE = "D"
    ERROR = "E"
    TERMINATED = "T"

    @classmethod
    def coerce(cls, value: Status | str | bool) -> Status:
        """A Status from a letter, a name or a common alias (``"pass"``, ``"OK"``, ``"NG"``...).

        For builders only: parsing WSJF accepts the letters alone, so a parsed report dumps back
        to exactly what it was.
        """
        if isinstance(value, Status):
            return value
        if isinstance(value, bool):
            return cls.PASSED if value else cls.FAILED
        key = str(value).strip().upper()
        found = _STATUS_ALIASES.get(key)
        if found is None:
            raise ValueError(f"unknown status {value!r}; use one of P F S D E T")
        return found


_STATUS_ALIASES: dict[str, Status] = {
    **{s.value: s for s in Status},
    **{s.name: s for s in Status},
    "PASS": Status.PASSED,
    "OK": Status.PASSED,
    "TRUE": Status.PASSED,
    "FAIL": Status.FAILED,
    "NG": Status.FAILED,
    "FALSE": Status.FAILED,
    "SKIP": Status.SKIPPED,
}


class CompOp(str, Enum):
    """Comparison operator of a numeric or string measurement."""

    LOG = "LOG"  #: no limit, value only logged
    EQ = "EQ"
    NE = "NE"
    LT = "LT"
    LE = "LE"
    GT = "GT"
    GE = "GE"
    EQT = "EQT"  #: equal within a tolerance
    CASESENSIT = "CASESENSIT"  #: string, case-sensitive
    IGNORECASE = "IGNORECASE"  #: string, case-insensitive
    GTLT = "GTLT"  #: low < value < high
    GTLE = "GTLE"
    GELT = "GELT"
    GELE = "GELE"
    LTGT = "LTGT"  #: value < low or value > high
    LTGE = "LTGE"
    LEGT = "LEGT"
    LEGE = "LEGE"

    @property
    def limit_count(self) -> int:
        """How many limits the operator needs (0, 1 or 2)."""
        if self is CompOp.LOG:
            return 0
        return 2 if self.value[:2] in ("GT", "GE", "LT", "LE") and len(self.value) == 4 else 1


class StepGroup(str, Enum):
    """Which part of the sequence a step ran in."""

    SETUP = "S"
    MAIN = "M"
    CLEANUP = "C"


class ReportFieldError(ValueError):
    """A report field holds a value the WATS server would reject; ``field`` names it."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def check_text(
    field: str,
    value: object,
    *,
    max_len: int = MAX_TEXT,
    required: bool = True,
    allow_empty: bool = False,
    identifier: bool = False,
) -> str | None:
    """Return ``value`` if the server would accept it for ``field``, else raise ReportFieldError.

    ``required``: None is refused; ``allow_empty``: "" is accepted. ``identifier`` applies the
    serial/part number rule: none of ``* % ? [ ] ^ ! / \\``.
    """
    if value is None:
        if required:
            raise ReportFieldError(field, "is required")
        return None
    if not isinstance(value, str):
        raise ReportFieldError(field, f"must be a string, got {type(value).__name__}")
    if not value and not allow_empty:
        raise ReportFieldError(field, "must not be empty")
    if len(value) > max_len:
        raise ReportFieldError(field, f"is {len(value)} characters long; at most {max_len}")
    if identifier:
        bad = sorted({c for c in value if c in FORBIDDEN_SN_PN_CHARS})
        if bad:
            raise ReportFieldError(
                field,
                f"contains forbidden character(s) {' '.join(bad)} "
                f"(not allowed: {' '.join(FORBIDDEN_SN_PN_CHARS)})",
            )
    return value
