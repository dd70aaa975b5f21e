"""The OData filter builder: rendering, escaping, combination, misuse."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pywats import Field, Filter, Q, Status, odata_literal


def _unquote(literal: str) -> str:
    """Read back an OData string literal the way a server tokenizer does."""
    assert literal.startswith("'") and literal.endswith("'")
    body = literal[1:-1]
    out, i = [], 0
    while i < len(body):
        if body[i] == "'":
            # Inside a literal a quote is only legal doubled; a lone one would end it.
            assert body[i + 1] == "'", f"unescaped quote in {literal!r}"
            out.append("'")
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


def test_equality_renders_field_op_literal() -> None:
    assert str(Q.serial_number == "SN1") == "serialNumber eq 'SN1'"


def test_quote_in_value_is_doubled() -> None:
    assert str(Q.serial_number == "O'Brien") == "serialNumber eq 'O''Brien'"


def test_injection_attempt_stays_inside_the_literal() -> None:
    text = str(Q.serial_number == "x' or partNumber ne 'y")
    assert text == "serialNumber eq 'x'' or partNumber ne ''y'"


@given(st.text())
def test_any_string_reads_back_unchanged(value: str) -> None:
    literal = odata_literal(value)
    assert _unquote(literal) == value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (10, "10"),
        (2.5, "2.5"),
        (True, "true"),
        (False, "false"),
        (None, "null"),
        (Status.PASSED, "'P'"),
        (date(2026, 1, 2), "2026-01-02"),
        (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),  # bare, as the spec writes
    ],
)
def test_literals_render_by_type(value: object, expected: str) -> None:
    assert odata_literal(value) == expected  # type: ignore[arg-type]


def test_datetime_renders_as_utc_instant() -> None:
    dt = datetime(2026, 3, 1, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    assert str(Q.start >= dt) == "start ge 2026-03-01T09:00:00Z"


def test_naive_datetime_is_rejected() -> None:
    with pytest.raises(ValueError, match="naive"):
        odata_literal(datetime(2026, 1, 1))


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_float_is_rejected(value: float) -> None:
    with pytest.raises(ValueError):
        odata_literal(value)


def test_unsupported_type_is_rejected() -> None:
    with pytest.raises(TypeError, match="list"):
        odata_literal([1])  # type: ignore[arg-type]


def test_operators_render() -> None:
    rendered = [
        str(Q.process_code != 1),
        str(Q.process_code < 1),
        str(Q.process_code <= 1),
        str(Q.process_code > 1),
        str(Q.process_code >= 1),
    ]
    assert rendered == [
        "processCode ne 1",
        "processCode lt 1",
        "processCode le 1",
        "processCode gt 1",
        "processCode ge 1",
    ]


def test_and_or_not_parenthesise_each_side() -> None:
    f = (Q.part_number == "A") & ((Q.result == "F") | ~(Q.process_code == 10))
    assert str(f) == "(partNumber eq 'A') and ((result eq 'Failed') or (not (processCode eq 10)))"


def test_python_and_between_filters_is_refused() -> None:
    with pytest.raises(TypeError, match="&"):
        _ = (Q.part_number == "A") and (Q.result == "F")


def test_combining_with_a_non_filter_is_refused() -> None:
    with pytest.raises(TypeError):
        _ = (Q.part_number == "A") & "result eq 'F'"  # type: ignore[operator]


def test_custom_field_by_wire_name() -> None:
    assert str(Q.field("swVersion") == "1.0") == "swVersion eq '1.0'"


def test_field_name_with_spaces_is_rejected() -> None:
    with pytest.raises(ValueError, match="field name"):
        Field("a b")


def test_filter_repr_shows_text() -> None:
    assert repr(Filter("a eq 1")) == "Filter('a eq 1')"


def test_guid_fields_write_a_string_as_a_bare_guid_literal() -> None:
    # The spec's own example: $filter=typeId eq FC48E41D-6276-4BF0-83F2-FA8AF9AAB91A
    guid = "FC48E41D-6276-4BF0-83F2-FA8AF9AAB91A"
    assert str(Q.type_id == guid) == f"typeId eq {guid.lower()}"
    assert str(Q.uuid == uuid.UUID(guid)) == f"uuid eq {guid.lower()}"


def test_guid_field_refuses_a_string_that_is_not_a_guid() -> None:
    with pytest.raises(ValueError, match="Guid field"):
        Q.uuid == "x' or 1 eq 1"  # noqa: B015


def test_report_header_fields_are_the_specs_names() -> None:
    assert str(Q.user_name == "op") == "userName eq 'op'"
    assert str(Q.operator == "op") == "userName eq 'op'"
    assert str(Q.start_utc == None) == "start eq null"  # noqa: E711
    assert str(Q.report_type == "R") == "reportType eq 'R'"
    assert str(Q.time_stamp > 5) == "timeStamp gt 5"
    assert str(Q.run == 2) == "run eq 2"
    assert str(Q.result == "Passed") == "result eq 'Passed'"


@pytest.mark.parametrize(
    ("value", "word"),
    [
        ("P", "Passed"),
        ("f", "Failed"),
        (Status.ERROR, "Error"),
        (Status.TERMINATED, "Terminated"),
        ("failed", "Failed"),
        ("Terminated", "Terminated"),
    ],
)
def test_result_letters_and_statuses_are_written_as_the_headers_words(
    value: str | Status, word: str
) -> None:
    assert str(Q.result == value) == f"result eq '{word}'"


@pytest.mark.parametrize("value", ["S", Status.DONE, "Pass", "X"])
def test_result_refuses_what_no_report_header_carries(value: str | Status) -> None:
    with pytest.raises(ValueError, match="Passed, Failed, Error, Terminated"):
        _ = Q.result == value
