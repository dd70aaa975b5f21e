"""Shared pieces of the WSJF models: the base class, scalar types, enums, field checks.

Losslessness comes from these choices made here: every model keeps unknown keys
(``extra="allow"``), dumping uses ``exclude_unset`` so absent stays absent and null stays null,
and scalar fields are strict so that nothing is coerced silently (1 stays an int, 1.0 stays a
float).

Tolerance comes from one wrap validator on :class:`WatsModel`: what real files carry and the
server accepts is read too, and written back exactly as it came. An enum value in another case
(``"IgnoreCase"``, ``"p"``) reads as the enum member; a number given as a JSON string (``"10"``,
``"3.30"``) reads as the number. The text is remembered per field and dumped again as long as
the field still holds the value it was read as (``to_json_dict``/``to_wsjf`` do that; plain
``model_dump`` gives canonical values); a value set in code is dumped in the canonical form, so
a model built in code serialises as it always did.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any, ClassVar, Literal, Union, cast, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidatorFunctionWrapHandler,
    model_validator,
)
from pydantic.alias_generators import to_camel


class _NumberText:
    """Marks a numeric field that also reads a JSON string holding the number."""

    def __init__(self, integer: bool) -> None:
        self.integer = integer

    def __repr__(self) -> str:
        return "INT_TEXT" if self.integer else "NUMBER_TEXT"


_INT_TEXT = _NumberText(integer=True)
_NUMBER_TEXT = _NumberText(integer=False)

#: A JSON number kept exactly as given: an int stays an int, a float stays a float. A string
#: holding a number (``"3.30"``) is read as that number and written back as the same string.
Number = Annotated[Union[StrictInt, StrictFloat], _NUMBER_TEXT]  # noqa: UP007 - runtime alias
#: A JSON integer; a string holding an integer (``"10"``) is read and written back the same way.
Int = Annotated[StrictInt, _INT_TEXT]
Str = StrictStr
Bool = StrictBool

# What Json.NET (the server's reader) takes as a number inside a string: invariant culture,
# optional sign and exponent, surrounding blanks. No NaN/Infinity, no "1_000", no "0x10".
_INT_RE = re.compile(r"\s*[+-]?[0-9]+\s*", re.ASCII)
_FLOAT_RE = re.compile(r"\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*", re.ASCII)

#: Turns a tolerated input into the canonical value, or returns it unchanged when it is not one.
_Normaliser = Callable[[Any], Any]

FORBIDDEN_SN_PN_CHARS = "*%?[]^!/\\"
MAX_TEXT = 100


#: Key, in a model's private slot, of {field name: (text as read, value it was read as)}.
_RAW = "_raw_text"


class WatsModel(BaseModel):
    """Base of every WSJF model: camelCase on the wire, snake_case in Python, unknown keys kept.

    Tolerant fields (enums, numbers) read the other spellings real files use and remember the
    text, which the dump writes back; see the module docstring.
    """

    model_config = ConfigDict(
        extra="allow",
        alias_generator=to_camel,
        populate_by_name=True,
        validate_assignment=True,
        use_enum_values=False,
    )

    #: Input key (alias and field name) -> (field name, canonical texts, normaliser), per class.
    _tolerant_keys: ClassVar[dict[str, tuple[str, frozenset[str], _Normaliser]]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        keys: dict[str, tuple[str, frozenset[str], _Normaliser]] = {}
        for name, info in cls.model_fields.items():
            found = _normaliser_for(info.annotation, info.metadata)
            if found is not None:
                keys[name] = (name, *found)
                if info.alias:
                    keys[info.alias] = (name, *found)
        cls._tolerant_keys = keys

    @model_validator(mode="wrap")
    @classmethod
    def _read_tolerantly(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if not isinstance(data, dict):
            return handler(data)
        raw: dict[str, tuple[Any, Any]] | None = None
        fixed = data
        tolerant = cls._tolerant_keys
        for key, value in data.items():
            # The common case, decided without a call: not text, or text already canonical.
            if type(value) is not str:
                continue
            entry = tolerant.get(key)
            if entry is None:
                continue
            name, canonical_texts, normalise = entry
            if value in canonical_texts:
                continue
            canonical = normalise(value)
            if canonical is value:
                continue
            if raw is None:
                raw, fixed = {}, dict(data)
            fixed[key] = canonical.value if isinstance(canonical, Enum) else canonical
            raw[name] = (value, canonical)
        model = handler(fixed)
        if raw is not None and isinstance(model, WatsModel):
            # Kept in pydantic's private-attribute slot, set only on the few models that need
            # it: declaring a PrivateAttr would cost every model an initialiser call.
            object.__setattr__(model, "__pydantic_private__", {_RAW: raw})
        return model

    def to_json_dict(self) -> dict[str, Any]:
        """This object as the JSON dict it was read from (camelCase, only fields that were set).

        Values read in a tolerated spelling are written back in that spelling while they hold
        the value they were read as. ``model_dump()`` itself gives the canonical values.
        """
        out = self.model_dump(mode="json", by_alias=True, exclude_unset=True)
        _restore_text(self, out)
        return out

    @classmethod
    def _model_fields_with_models(cls) -> tuple[tuple[str, str], ...]:
        """(field name, JSON key) of the fields that may hold WatsModels; cached per class."""
        cached = cls.__dict__.get("_child_fields_cache")
        if cached is None:
            cached = tuple(
                (name, info.alias or name)
                for name, info in cls.model_fields.items()
                if any(
                    isinstance(m, type) and issubclass(m, WatsModel)
                    for m in _flatten(info.annotation)
                )
            )
            type.__setattr__(cls, "_child_fields_cache", cached)
        return cast("tuple[tuple[str, str], ...]", cached)


def _restore_text(model: WatsModel, out: dict[str, Any]) -> None:
    """Write back, into ``model``'s dump ``out``, the texts its values were read from."""
    private = model.__pydantic_private__
    raw = private.get(_RAW) if private else None
    if raw:
        fields = type(model).model_fields
        for name, (text, canonical) in raw.items():
            key = fields[name].alias or name
            current = getattr(model, name, None)
            if key in out and type(current) is type(canonical) and current == canonical:
                out[key] = text
    for name, key in type(model)._model_fields_with_models():
        child = model.__dict__.get(name)
        dumped = out.get(key)
        if isinstance(child, WatsModel):
            if isinstance(dumped, dict):
                _restore_text(child, dumped)
        elif isinstance(child, list) and isinstance(dumped, list) and len(child) == len(dumped):
            for item, item_out in zip(child, dumped, strict=True):
                if isinstance(item, WatsModel) and isinstance(item_out, dict):
                    _restore_text(item, item_out)


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
    """A report field holds a value the WATS server would reject; ``field`` names it.

    ``problems`` is every ``(field path, problem)`` found at once (parsing reports them all;
    a builder or ``check()`` stops at the first): ``((field, problem),)`` when there is one.
    """

    def __init__(
        self, field: str, problem: str, *, problems: tuple[tuple[str, str], ...] = ()
    ) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem
        self.problems = problems or ((field, problem),)


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


def _normaliser_for(
    annotation: Any, metadata: list[Any]
) -> tuple[frozenset[str], _Normaliser] | None:
    """The canonical texts and tolerant reader of a field's type; None if it reads strictly."""
    for member in [*metadata, *_flatten(annotation)]:
        if isinstance(member, _NumberText):
            return frozenset(), _number_reader(member.integer)
        if isinstance(member, type) and issubclass(member, Enum):
            values = [m.value for m in member]
        elif isinstance(member, tuple):  # the values of a Literal
            values = list(member)
        else:
            continue
        by_folded = {str(v).casefold(): v for v in values}
        return frozenset(str(v) for v in values), _enum_reader(member, by_folded)
    return None


def _flatten(annotation: Any) -> list[Any]:
    origin = get_origin(annotation)
    if origin is Annotated:
        args = get_args(annotation)
        return [*args[1:], *_flatten(args[0])]
    if origin is Literal:
        return [get_args(annotation)]
    if origin is Union or origin is list or type(annotation).__name__ == "UnionType":
        return [m for arg in get_args(annotation) for m in _flatten(arg)]
    return [annotation]


def _enum_reader(kind: Any, by_folded: dict[str, Any]) -> _Normaliser:
    def read(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        found = by_folded.get(value.casefold())
        if found is None or found == value:
            return value
        return kind(found) if isinstance(kind, type) else found

    return read


def _number_reader(integer: bool) -> _Normaliser:
    pattern = _INT_RE if integer else _FLOAT_RE

    def read(value: Any) -> Any:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            return value
        if integer or _INT_RE.fullmatch(value):
            return int(value)
        number = float(value)
        # "1e999" overflows to infinity, which JSON cannot carry: leave it to fail validation.
        return number if number not in (float("inf"), float("-inf")) else value

    return read
