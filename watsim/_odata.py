"""The OData subset the WATS list endpoints accept: ``$filter``, ``$orderby``, ``$top``, ``$skip``.

``$filter`` grammar (case-insensitive keywords)::

    expr    := and ( "or" and )*
    and     := unary ( "and" unary )*
    unary   := "not" unary | "(" expr ")" | FIELD OP literal
    OP      := eq | ne | gt | ge | lt | le
    literal := 'text' ('' is a quote) | number | true | false | null | ISO date-time
               | datetime'ISO date-time' | GUID (bare, as the spec's examples write it)

Fields are declared per endpoint with a kind (``str``, ``int``, ``num``, ``bool``,
``datetime``, ``guid``); comparing a field with a literal of another kind is an error, so a
typo'd filter is a 400 instead of an empty result.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ._digits import is_digits
from ._errors import ApiError
from ._timeutil import parse_datetime

Row = Mapping[str, Any]
Predicate = Callable[[Row], bool]

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
_KINDS = ("str", "int", "num", "bool", "datetime", "guid")

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<paren>[()])
  | (?P<guid>[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}(?![\w-]))
  | (?P<string>'(?:[^']|'')*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?)
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_$][A-Za-z0-9_./]*)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    pos: int
    value: Any = None


class _Literal:
    """A parsed literal and the kinds of field it may be compared with."""

    def __init__(self, value: Any, kind: str) -> None:
        self.value = value
        self.kind = kind


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ApiError(400, f"$filter: unexpected character {text[pos]!r} at position {pos}")
        kind = match.lastgroup or ""
        chunk = match.group()
        if kind == "string":
            tokens.append(_Tok("string", chunk, pos, chunk[1:-1].replace("''", "'")))
        elif kind == "name" and chunk.lower() == "datetime" and text.startswith("'", match.end()):
            end = _TOKEN.match(text, match.end())
            if end is None or end.lastgroup != "string":
                raise ApiError(400, f"$filter: unterminated datetime literal at position {pos}")
            inner = end.group()[1:-1]
            tokens.append(_Tok("datetime", inner, pos, _parse_dt(inner, pos)))
            match = end
        elif kind == "datetime":
            tokens.append(_Tok("datetime", chunk, pos, _parse_dt(chunk, pos)))
        elif kind == "guid":
            tokens.append(_Tok("guid", chunk, pos, chunk.lower()))
        elif kind == "number":
            value: Any = float(chunk) if any(c in chunk for c in ".eE") else int(chunk)
            tokens.append(_Tok("number", chunk, pos, value))
        elif kind != "ws":
            tokens.append(_Tok(kind, chunk, pos))
        pos = match.end()
    return tokens


def _parse_dt(text: str, pos: int) -> datetime:
    try:
        return parse_datetime(text)
    except ValueError as exc:
        raise ApiError(400, f"$filter: {exc} at position {pos}") from None


class _Parser:
    def __init__(self, text: str, fields: Mapping[str, str]) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.fields = {name.lower(): (name, kind) for name, kind in fields.items()}

    def peek_word(self) -> str | None:
        if self.i < len(self.tokens) and self.tokens[self.i].kind == "name":
            return self.tokens[self.i].text.lower()
        return None

    def next(self, what: str) -> _Tok:
        if self.i >= len(self.tokens):
            raise ApiError(400, f"$filter: expected {what} at end of {self.text!r}")
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse(self) -> Predicate:
        if not self.tokens:
            raise ApiError(400, "$filter: empty expression")
        pred = self.expr()
        if self.i < len(self.tokens):
            tok = self.tokens[self.i]
            raise ApiError(400, f"$filter: unexpected {tok.text!r} at position {tok.pos}")
        return pred

    def expr(self) -> Predicate:
        parts = [self.conj()]
        while self.peek_word() == "or":
            self.i += 1
            parts.append(self.conj())
        if len(parts) == 1:
            return parts[0]
        return lambda row: any(p(row) for p in parts)

    def conj(self) -> Predicate:
        parts = [self.unary()]
        while self.peek_word() == "and":
            self.i += 1
            parts.append(self.unary())
        if len(parts) == 1:
            return parts[0]
        return lambda row: all(p(row) for p in parts)

    def unary(self) -> Predicate:
        if self.peek_word() == "not":
            self.i += 1
            inner = self.unary()
            return lambda row: not inner(row)
        tok = self.next("a comparison")
        if tok.kind == "paren" and tok.text == "(":
            pred = self.expr()
            close = self.next("')'")
            if close.text != ")":
                raise ApiError(400, f"$filter: expected ')' at position {close.pos}")
            return pred
        if tok.kind != "name":
            raise ApiError(400, f"$filter: expected a field name at position {tok.pos}")
        return self.comparison(tok)

    def comparison(self, field_tok: _Tok) -> Predicate:
        entry = self.fields.get(field_tok.text.lower())
        if entry is None:
            known = ", ".join(sorted(name for name, _ in self.fields.values()))
            raise ApiError(
                400,
                f"$filter: unknown field {field_tok.text!r} at position {field_tok.pos} "
                f"(known: {known})",
            )
        name, kind = entry
        op_tok = self.next("an operator")
        op = _OPS.get(op_tok.text.lower()) if op_tok.kind == "name" else None
        if op is None:
            raise ApiError(
                400,
                f"$filter: expected one of eq ne gt ge lt le at position {op_tok.pos}, "
                f"got {op_tok.text!r}",
            )
        literal = self.literal(kind, name)
        return _compare(name, kind, op, op_tok.text.lower(), literal)

    def literal(self, kind: str, name: str) -> _Literal:
        tok = self.next("a value")
        if tok.kind == "name" and tok.text.lower() in ("true", "false", "null"):
            word = tok.text.lower()
            if word == "null":
                return _Literal(None, "null")
            lit = _Literal(word == "true", "bool")
        elif tok.kind == "string":
            lit = _Literal(tok.value, "str")
            if kind == "datetime":
                lit = _Literal(_parse_dt(tok.value, tok.pos), "datetime")
        elif tok.kind == "number":
            lit = _Literal(tok.value, "num")
        elif tok.kind == "datetime":
            lit = _Literal(tok.value, "datetime")
        elif tok.kind == "guid":
            lit = _Literal(tok.value, "guid")
        else:
            raise ApiError(400, f"$filter: expected a value at position {tok.pos}")
        compatible = {
            "str": ("str",),
            "int": ("num",),
            "num": ("num",),
            "bool": ("bool",),
            "datetime": ("datetime",),
            "guid": ("guid",),
        }[kind]
        if lit.kind not in compatible:
            raise ApiError(
                400,
                f"$filter: field {name!r} holds {kind} values and cannot be compared with "
                f"{tok.text!r} at position {tok.pos}",
            )
        return lit


def _compare(
    name: str, kind: str, op: Callable[[Any, Any], bool], op_name: str, lit: _Literal
) -> Predicate:
    if lit.kind == "null":
        if op_name not in ("eq", "ne"):
            raise ApiError(400, f"$filter: null can only be compared with eq or ne ({name})")
        want_null = op_name == "eq"
        return lambda row: (row.get(name) is None) == want_null
    target = lit.value

    def pred(row: Row) -> bool:
        value = _field_value(row, name, kind)
        if value is None:
            return op_name == "ne"
        try:
            return bool(op(value, target))
        except TypeError:
            return False

    return pred


def _field_value(row: Row, name: str, kind: str) -> Any:
    value = row.get(name)
    if value is None:
        return None
    if kind == "datetime":
        if isinstance(value, datetime):
            return value
        try:
            return parse_datetime(str(value))
        except ValueError:
            return None
    if kind in ("int", "num") and isinstance(value, bool):
        return None
    if kind == "guid":
        return str(value).lower()
    return value


def compile_filter(text: str, fields: Mapping[str, str]) -> Predicate:
    """Compile an OData ``$filter`` over rows whose ``fields`` (name -> kind) are comparable.

    Raises ApiError(400) naming the position of the first problem.
    """
    for kind in fields.values():
        if kind not in _KINDS:
            raise ValueError(f"unknown field kind {kind!r}")
    return _Parser(text, fields).parse()


def sort_rows(rows: list[Row], orderby: str, fields: Mapping[str, str]) -> list[Row]:
    """Sort rows by an OData ``$orderby`` (``field [asc|desc]``, comma separated); stable."""
    by_lower = {name.lower(): (name, kind) for name, kind in fields.items()}
    keys: list[tuple[str, str, bool]] = []
    for part in orderby.split(","):
        words = part.split()
        if not words or len(words) > 2:
            raise ApiError(400, f"$orderby: expected 'field [asc|desc]', got {part.strip()!r}")
        entry = by_lower.get(words[0].lower())
        if entry is None:
            known = ", ".join(sorted(fields))
            raise ApiError(400, f"$orderby: unknown field {words[0]!r} (known: {known})")
        direction = words[1].lower() if len(words) == 2 else "asc"
        if direction not in ("asc", "desc"):
            raise ApiError(400, f"$orderby: expected asc or desc after {words[0]!r}")
        keys.append((entry[0], entry[1], direction == "desc"))
    result = list(rows)
    for name, kind, descending in reversed(keys):
        result.sort(key=_key_func(name, kind), reverse=descending)
    return result


def _key_func(name: str, kind: str) -> Callable[[Row], tuple[int, Any]]:
    return lambda row: _sort_key(row, name, kind)


def _sort_key(row: Row, name: str, kind: str) -> tuple[int, Any]:
    value = _field_value(row, name, kind)
    if value is None:
        return (0, 0)
    if kind == "str":
        return (1, str(value))
    if kind == "bool":
        return (1, int(bool(value)))
    return (1, value)


def non_negative_int(params: Mapping[str, str], name: str) -> int | None:
    """Read ``$top``/``$skip``-style parameters; None when absent, ApiError(400) when bad."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not is_digits(raw):
        raise ApiError(400, f"{name}: expected a non-negative integer, got {raw!r}")
    return int(raw)


def apply_query(
    rows: Sequence[Row],
    params: Mapping[str, str],
    fields: Mapping[str, str],
    *,
    orderable: Sequence[str] | None = None,
    default_orderby: str | None = None,
    default_top: int | None = None,
    max_top: int | None = None,
) -> list[Row]:
    """Apply ``$filter``, ``$orderby``, ``$skip`` and ``$top`` from ``params`` to ``rows``.

    ``orderable`` limits ``$orderby`` to those fields (the spec lists them per endpoint);
    ``default_orderby``/``default_top`` apply when the request gives none; a ``$top`` above
    ``max_top`` is a 400.
    """
    selected = list(rows)
    flt = params.get("$filter")
    if flt is not None and flt.strip():
        pred = compile_filter(flt, fields)
        selected = [row for row in selected if pred(row)]
    orderby = params.get("$orderby")
    if orderby is None or not orderby.strip():
        orderby = default_orderby
    if orderby is not None and orderby.strip():
        sortable = fields
        if orderable is not None:
            sortable = {name: kind for name, kind in fields.items() if name in orderable}
        selected = sort_rows(selected, orderby, sortable)
    skip = non_negative_int(params, "$skip") or 0
    top = non_negative_int(params, "$top")
    if top is None:
        top = default_top
    if top is not None and max_top is not None and top > max_top:
        raise ApiError(400, f"$top: at most {max_top}, got {top}")
    selected = selected[skip:]
    if top is not None:
        selected = selected[:top]
    return selected
