"""Report models: builders, server-side rules checked early, tolerant parsing, enums."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pydantic
import pytest

import pywats
from pywats import CompOp, ReportFieldError, Status

from . import samples

pytestmark = pytest.mark.filterwarnings("error")

HEADER: dict[str, Any] = {
    "pn": "PCBA-1",
    "sn": "SN-1",
    "rev": "A",
    "process_code": 10,
    "station": "ST-1",
    "location": "Line 1",
    "purpose": "Production",
}


@pytest.fixture
def uut() -> pywats.UUTReport:
    return pywats.UUTReport.create(**HEADER)


def test_create_fills_header_and_a_root_sequence(uut: pywats.UUTReport) -> None:
    out = uut.to_wsjf()
    assert out["type"] == "T"
    assert (out["pn"], out["sn"], out["rev"], out["processCode"]) == ("PCBA-1", "SN-1", "A", 10)
    assert out["machineName"] == "ST-1"
    assert out["result"] == "P"
    assert out["root"]["stepType"] == "SequenceCall"
    assert out["root"]["steps"] == []
    uuid.UUID(out["id"])


def test_created_reports_get_distinct_ids() -> None:
    assert pywats.UUTReport.create(**HEADER).id != pywats.UUTReport.create(**HEADER).id


def test_create_keeps_the_given_start_with_its_offset() -> None:
    start = datetime(2026, 3, 1, 9, 15, 2, 125000, tzinfo=timezone(timedelta(hours=1)))
    report = pywats.UUTReport.create(**HEADER, start=start)
    assert report.start == "2026-03-01T09:15:02.125+01:00"


def test_create_rejects_naive_start() -> None:
    with pytest.raises(ReportFieldError, match="start"):
        pywats.UUTReport.create(**HEADER, start=datetime(2026, 3, 1))


def test_default_start_has_an_offset(uut: pywats.UUTReport) -> None:
    assert datetime.fromisoformat(uut.start).tzinfo is not None


@pytest.mark.parametrize("field", ["pn", "sn"])
@pytest.mark.parametrize("char", list("*%?[]^!/\\"))
def test_forbidden_characters_in_serial_and_part_number_are_rejected(field: str, char: str) -> None:
    with pytest.raises(ReportFieldError) as info:
        pywats.UUTReport.create(**{**HEADER, field: f"A{char}B"})
    assert info.value.field == field
    assert char in str(info.value)


@pytest.mark.parametrize("field", ["pn", "sn", "rev", "station", "location", "purpose"])
def test_text_longer_than_100_is_rejected_naming_the_field(field: str) -> None:
    with pytest.raises(ReportFieldError, match="at most 100") as info:
        pywats.UUTReport.create(**{**HEADER, field: "x" * 101})
    assert info.value.field == field


def test_text_of_exactly_100_is_accepted() -> None:
    assert pywats.UUTReport.create(**{**HEADER, "sn": "x" * 100}).sn == "x" * 100


@pytest.mark.parametrize("field", ["pn", "sn", "rev", "station"])
def test_empty_required_text_is_rejected(field: str) -> None:
    with pytest.raises(ReportFieldError, match="empty"):
        pywats.UUTReport.create(**{**HEADER, field: ""})


def test_process_code_must_be_an_int() -> None:
    with pytest.raises(ReportFieldError, match="process_code"):
        pywats.UUTReport.create(**{**HEADER, "process_code": "10"})


def test_report_result_cannot_be_skipped() -> None:
    with pytest.raises(ReportFieldError, match="result"):
        pywats.UUTReport.create(**HEADER, result="S")


def test_check_accepts_the_notes_example() -> None:
    pywats.parse_report(samples.example_uut()).check()


def test_check_names_a_bad_parsed_field() -> None:
    doc = samples.example_uut()
    doc["sn"] = "bad/sn"
    with pytest.raises(ReportFieldError) as info:
        pywats.parse_report(doc).check()
    assert info.value.field == "sn"


def test_numeric_step_with_both_limits_is_gele_and_evaluated(uut: pywats.UUTReport) -> None:
    step = uut.root.add_numeric_step("3V3", 3.31, low=3.2, high=3.4, unit="V")
    assert step.to_json_dict() == {
        "stepType": "ET_NLT",
        "name": "3V3",
        "group": "M",
        "status": "P",
        "numericMeas": [
            {
                "compOp": "GELE",
                "status": "P",
                "unit": "V",
                "value": 3.31,
                "lowLimit": 3.2,
                "highLimit": 3.4,
            }
        ],
    }


def test_numeric_step_out_of_limits_fails(uut: pywats.UUTReport) -> None:
    assert uut.root.add_numeric_step("v", 5.0, low=3.2, high=3.4).status is Status.FAILED


def test_numeric_step_with_only_high_limit_uses_le_in_low_limit(uut: pywats.UUTReport) -> None:
    meas = uut.root.add_numeric_step("I", 40, high=50).numeric_meas[0]  # type: ignore[index]
    assert (meas.comp_op, meas.low_limit, meas.high_limit) == (CompOp.LE, 50, None)
    assert meas.status is Status.PASSED


def test_numeric_step_without_limits_is_log(uut: pywats.UUTReport) -> None:
    step = uut.root.add_numeric_step("t", 21.5)
    assert step.numeric_meas[0].comp_op is CompOp.LOG  # type: ignore[index]


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("GTLT", 1.0, "F"),
        ("GTLT", 1.5, "P"),
        ("GELE", 1.0, "P"),
        ("GELT", 2.0, "F"),
        ("GTLE", 2.0, "P"),
        ("LTGT", 0.5, "P"),
        ("LTGT", 1.5, "F"),
        ("LEGE", 2.0, "P"),
        ("LTGE", 2.0, "P"),
        ("LEGT", 2.0, "F"),
    ],
)
def test_two_limit_operators_evaluate(op: str, value: float, expected: str) -> None:
    meas = pywats.numeric_measurement(value, low=1.0, high=2.0, comp_op=op)
    assert meas.status == Status(expected)


def test_two_limit_operator_without_high_is_rejected() -> None:
    with pytest.raises(ValueError, match="both"):
        pywats.numeric_measurement(1.0, low=1.0, comp_op="GELE")


def test_eqt_needs_an_explicit_status() -> None:
    with pytest.raises(ValueError, match="EQT"):
        pywats.numeric_measurement(1.0, low=1.0, comp_op="EQT")


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_measurement_is_rejected(value: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        pywats.numeric_measurement(value)


def test_multi_numeric_step_fails_when_one_measurement_fails(uut: pywats.UUTReport) -> None:
    step = uut.root.add_multi_numeric_step(
        "currents",
        [
            pywats.numeric_measurement(42.0, high=50.0, name="Idle"),
            pywats.numeric_measurement(910.0, low=100.0, high=900.0, name="Load"),
        ],
    )
    assert step.status is Status.FAILED
    assert step.step_type == "ET_MNLT"


def test_multi_numeric_measurements_need_names(uut: pywats.UUTReport) -> None:
    with pytest.raises(ReportFieldError, match="name"):
        uut.root.add_multi_numeric_step("m", [pywats.numeric_measurement(1.0)])


def test_pass_fail_from_bool(uut: pywats.UUTReport) -> None:
    step = uut.root.add_pass_fail("LED", False)
    assert step.to_json_dict()["booleanMeas"] == [{"status": "F"}]
    assert step.status is Status.FAILED


def test_string_step_with_limit_compares_case_sensitively(uut: pywats.UUTReport) -> None:
    assert uut.root.add_string("fw", "v1", limit="V1").status is Status.FAILED
    assert uut.root.add_string("fw", "v1", limit="V1", comp_op="IGNORECASE").status is Status.PASSED


def test_sub_sequence_nests_steps(uut: pywats.UUTReport) -> None:
    sub = uut.root.add_sequence("Power", path="C:/seq/power.seq", version="2")
    sub.add_action("relay on")
    out = uut.to_wsjf()["root"]["steps"][0]
    assert out["seqCall"] == {"name": "Power", "path": "C:/seq/power.seq", "version": "2"}
    assert out["steps"][0]["stepType"] == "Action"


def test_chart_step_joins_points_as_text(uut: pywats.UUTReport) -> None:
    series = pywats.chart_series("U(t)", [0, 1, 2], [0.0, 0.5, 1.0])
    step = uut.root.add_chart("ramp", [series], x_unit="s", y_unit="V")
    chart = step.to_json_dict()["chart"]
    assert chart["series"] == [
        {"dataType": "XYG", "name": "U(t)", "xdata": "0;1;2", "ydata": "0.0;0.5;1.0"}
    ]
    assert (chart["chartType"], chart["xUnit"], chart["yUnit"]) == ("Line", "s", "V")


def test_chart_series_of_unequal_length_is_rejected() -> None:
    with pytest.raises(ValueError, match="x has 2 points, y has 1"):
        pywats.chart_series("s", [0, 1], [0])


def test_step_name_over_100_is_rejected(uut: pywats.UUTReport) -> None:
    with pytest.raises(ReportFieldError, match="step name"):
        uut.root.add_action("x" * 101)


def test_built_report_round_trips_and_is_accepted_by_check(uut: pywats.UUTReport) -> None:
    uut.root.add_numeric_step("a", 1, low=0, high=2)
    uut.add_misc_info("Firmware", "1.2")
    uut.add_sub_unit("PSU", pn="PSU-1", sn="P-1", rev="A")
    uut.check()
    doc = uut.to_wsjf()
    assert pywats.parse_report(doc).to_wsjf() == doc


def test_root_of_a_report_without_one_is_created_and_sent() -> None:
    doc = samples.example_uut()
    del doc["root"]
    report = pywats.parse_report(doc)
    assert isinstance(report, pywats.UUTReport)
    assert "root" not in report.to_wsjf()
    report.root.add_action("late")
    assert report.to_wsjf()["root"]["steps"][0]["name"] == "late"


def test_uur_create_records_failures_on_the_main_unit() -> None:
    uur = pywats.UURReport.create(
        pn="PCBA-1",
        sn="SN-1",
        rev="A",
        station="REP-1",
        location="L",
        purpose="Repair",
        ref_uut=samples.UUT_ID,
        failed_process_code=10,
    )
    uur.add_failure(category="Component", code="Wrong value", com_ref="R12", ref_step_id=3)
    out = uur.to_wsjf()
    assert out["type"] == "R"
    assert out["processCode"] == 500
    assert {k: out["uur"][k] for k in ("refUUT", "processCode", "active")} == {
        "refUUT": samples.UUT_ID,
        "processCode": 10,
        "active": True,
    }
    assert out["subUnits"][0]["failures"][0]["comRef"] == "R12"
    assert out["subUnits"][0]["idx"] == 0


def test_uur_create_carries_confirm_and_finalize_dates_like_accepted_reports() -> None:
    start = datetime(2026, 3, 1, 11, 2, tzinfo=timezone(timedelta(hours=1)))
    uur = pywats.UURReport.create(
        pn="P", sn="S", rev="A", station="R", location="L", purpose="P", start=start
    )
    info = uur.to_wsjf()["uur"]
    assert info["active"] is True
    for key in ("confirmDate", "finalizeDate"):
        assert info[key].endswith("Z")
        assert datetime.fromisoformat(info[key].replace("Z", "+00:00")) >= start
    uur.check()


def test_uur_create_takes_given_dates_and_inactive() -> None:
    uur = pywats.UURReport.create(
        pn="P",
        sn="S",
        rev="A",
        station="R",
        location="L",
        purpose="P",
        confirm_date=datetime(2026, 3, 1, 10, 5, tzinfo=timezone.utc),
        finalize_date="2026-03-01T10:06:00Z",
        active=False,
    )
    assert uur.to_wsjf()["uur"] == {
        "confirmDate": "2026-03-01T10:05:00.000Z",
        "finalizeDate": "2026-03-01T10:06:00Z",
        "active": False,
    }


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("confirm_date", datetime(2026, 3, 1), "naive"),
        ("finalize_date", "yesterday", "ISO-8601"),
        ("active", 1, "True or False"),
    ],
)
def test_uur_create_refuses_bad_dates_and_active(field: str, value: Any, expected: str) -> None:
    with pytest.raises(ReportFieldError, match=expected) as info:
        pywats.UURReport.create(
            pn="P", sn="S", rev="A", station="R", location="L", purpose="P", **{field: value}
        )
    assert info.value.field == field


def test_uur_ref_uut_must_be_a_guid() -> None:
    with pytest.raises(ReportFieldError, match="ref_uut"):
        pywats.UURReport.create(
            pn="P", sn="S", rev="A", station="R", location="L", purpose="P", ref_uut="nope"
        )


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("processCode",), 10.0, "processCode"),
        (("processCode",), "10.0", "processCode"),
        (("processCode",), "1_000", "processCode"),
        (("pn",), 5, "pn"),
        (("result",), "pass", "result"),
        (("result",), "Passed", "result"),
        (
            ("root", "steps", 0, "numericMeas", 0, "value"),
            "3,3",
            "root.steps[0].numericMeas[0].value",
        ),
        (
            ("root", "steps", 0, "numericMeas", 0, "value"),
            "NaN",
            "root.steps[0].numericMeas[0].value",
        ),
        (
            ("root", "steps", 0, "numericMeas", 0, "value"),
            "1e999",
            "root.steps[0].numericMeas[0].value",
        ),
        (
            ("root", "steps", 0, "numericMeas", 0, "value"),
            True,
            "root.steps[0].numericMeas[0].value",
        ),
        (
            ("root", "steps", 0, "numericMeas", 0, "compOp"),
            "between",
            "root.steps[0].numericMeas[0].compOp",
        ),
        (("root", "steps", 5, "attachment", "name"), 7, "root.steps[5].attachment.name"),
        (("uut", "testSocketIndex"), "٣", "uut.testSocketIndex"),
    ],
)
def test_malformed_values_raise_an_error_naming_the_field_path(
    path: tuple[Any, ...], value: Any, field: str
) -> None:
    doc = samples.example_uut()
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ReportFieldError) as info:
        pywats.parse_report(doc)
    assert info.value.field == field
    assert str(info.value).startswith(field + ": ")


def test_the_error_names_the_step_it_is_in() -> None:
    doc = samples.example_uut()
    doc["root"]["steps"][1]["numericMeas"][1]["value"] = "9l0"
    with pytest.raises(ReportFieldError, match="in step 'Currents'"):
        pywats.parse_report(doc)


@pytest.mark.parametrize(
    ("path", "value", "read_as"),
    [
        (("processCode",), "10", 10),
        (("processCode",), " 10 ", 10),
        (("result",), "f", Status.FAILED),
        (("root", "status"), "f", Status.FAILED),
        (("root", "steps", 0, "numericMeas", 0, "value"), "3.310", 3.31),
        (("root", "steps", 0, "numericMeas", 0, "value"), "-1E-3", -0.001),
        (("root", "steps", 0, "numericMeas", 0, "lowLimit"), "3", 3),
        (("root", "steps", 0, "numericMeas", 0, "compOp"), "GeLe", CompOp.GELE),
        (("root", "steps", 3, "stringMeas", 0, "compOp"), "IgnoreCase", CompOp.IGNORECASE),
        (("root", "steps", 0, "totTime"), "0.012", 0.012),
        (("root", "steps", 0, "id"), "2", 2),
    ],
)
def test_tolerated_values_read_as_the_value_and_write_back_as_they_came(
    path: tuple[Any, ...], value: Any, read_as: Any
) -> None:
    doc = samples.example_uut()
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    report = pywats.parse_report(doc)
    model: Any = report
    for key in path[:-1]:
        model = model[key] if isinstance(key, int) else getattr(model, _ATTRS.get(key, key))
    assert getattr(model, _ATTRS.get(path[-1], path[-1])) == read_as
    assert report.to_wsjf() == doc


_ATTRS = {
    "processCode": "process_code",
    "root": "root",
    "numericMeas": "numeric_meas",
    "stringMeas": "string_meas",
    "lowLimit": "low_limit",
    "compOp": "comp_op",
    "totTime": "tot_time",
}


def test_a_tolerated_value_changed_in_code_is_written_canonically() -> None:
    doc = samples.example_uut()
    doc["result"] = "f"
    doc["root"]["steps"][0]["numericMeas"][0]["value"] = "3.310"
    report = pywats.parse_report(doc)
    assert isinstance(report, pywats.UUTReport)
    report.result = Status.PASSED
    report.root.steps[0].numeric_meas[0].value = 3.5  # type: ignore[union-attr,index]
    out = report.to_wsjf()
    assert out["result"] == "P"
    assert out["root"]["steps"][0]["numericMeas"][0]["value"] == 3.5


@pytest.mark.parametrize("step_type", ["et_nlt", "NUMERICLIMITTEST", "Et_Nlt"])
def test_step_types_are_matched_in_any_case_and_kept(step_type: str) -> None:
    doc = samples.example_uut()
    doc["root"]["steps"][0]["stepType"] = step_type
    report = pywats.parse_report(doc)
    assert isinstance(report, pywats.UUTReport)
    assert type(report.root.steps[0]) is pywats.NumericLimitStep  # type: ignore[index]
    assert report.to_wsjf() == doc


@pytest.mark.parametrize("kind", ["t", "r"])
def test_report_type_is_read_in_any_case_and_kept(kind: str) -> None:
    doc = samples.example_uut() if kind == "t" else samples.example_uur()
    doc["type"] = kind
    assert pywats.parse_report(doc).to_wsjf() == doc


@pytest.mark.parametrize("missing", ["id", "pn", "sn", "rev", "processCode", "result", "start"])
def test_missing_required_header_field_is_named(missing: str) -> None:
    doc = samples.example_uut()
    del doc[missing]
    with pytest.raises(ReportFieldError, match="required") as info:
        pywats.parse_report(doc)
    assert info.value.field == missing


def test_every_bad_field_is_named_not_only_the_first() -> None:
    doc = samples.example_uut()
    for name in ("pn", "sn", "rev"):
        del doc[name]
    with pytest.raises(ReportFieldError) as info:
        pywats.parse_report(doc)
    assert str(info.value) == "pn: Field required; 3 bad fields: pn, sn, rev"
    assert info.value.problems == (
        ("pn", "Field required"),
        ("sn", "Field required"),
        ("rev", "Field required"),
    )


def test_the_message_names_five_bad_fields_and_problems_has_them_all() -> None:
    doc = samples.example_uut()
    missing = ("id", "pn", "sn", "rev", "processCode", "result", "start")
    for name in missing:
        del doc[name]
    with pytest.raises(ReportFieldError) as info:
        pywats.parse_report(doc)
    assert str(info.value).endswith("7 bad fields: id, pn, sn, rev, processCode and 2 more")
    assert [field for field, _ in info.value.problems] == list(missing)


@pytest.mark.parametrize("kind", [None, "U", "X"])
def test_unknown_report_type_is_rejected(kind: str | None) -> None:
    doc = samples.example_uut()
    doc["type"] = kind
    with pytest.raises(ValueError, match="type"):
        pywats.parse_report(doc)


def test_parse_report_needs_a_mapping() -> None:
    with pytest.raises(TypeError, match="dict"):
        pywats.parse_report([samples.example_uut()])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("alias", "status"),
    [("pass", "P"), ("OK", "P"), ("NG", "F"), ("failed", "F"), ("S", "S"), (True, "P")],
)
def test_status_coerce_accepts_aliases_for_builders(alias: Any, status: str) -> None:
    assert Status.coerce(alias) is Status(status)


def test_status_coerce_rejects_unknown() -> None:
    with pytest.raises(ValueError, match="unknown status"):
        Status.coerce("maybe")


def test_comp_op_limit_counts() -> None:
    counts = {op.value: op.limit_count for op in CompOp}
    assert counts["LOG"] == 0
    assert {k for k, v in counts.items() if v == 2} == {
        "GTLT",
        "GTLE",
        "GELT",
        "GELE",
        "LTGT",
        "LTGE",
        "LEGT",
        "LEGE",
    }
    assert {k for k, v in counts.items() if v == 1} == {
        "EQ",
        "NE",
        "LT",
        "LE",
        "GT",
        "GE",
        "EQT",
        "CASESENSIT",
        "IGNORECASE",
    }


def test_walk_visits_every_step_depth_first() -> None:
    report = pywats.parse_report(samples.example_uut())
    assert isinstance(report, pywats.UUTReport)
    assert [s.id for s in report.root.walk()] == [1, 2, 3, 4, 5, 6, 7, 8]


@pytest.mark.parametrize(
    "start",
    ["2026-03-01T09:15:02.1250000+01:00", "2026-03-01T09:15:02Z", "2026-03-01T09:15:02.1-05:00"],
)
def test_check_accepts_net_style_and_zulu_start(start: str) -> None:
    doc = samples.example_uut()
    doc["start"] = start
    pywats.parse_report(doc).check()


def test_check_rejects_start_without_offset() -> None:
    doc = samples.example_uut()
    doc["start"] = "2026-03-01T09:15:02"
    with pytest.raises(ReportFieldError, match="offset"):
        pywats.parse_report(doc).check()


def test_add_step_refuses_the_bare_base_class(uut: pywats.UUTReport) -> None:
    with pytest.raises(TypeError, match="UnknownStep"):
        uut.root.add_step(pywats.StepBase(name="x"))


def test_a_subclassed_step_serialises_with_its_base_schema(uut: pywats.UUTReport) -> None:
    class MyNumeric(pywats.NumericLimitStep):
        pass

    uut.root.add_step(
        MyNumeric(step_type="ET_NLT", name="n", numeric_meas=[pywats.numeric_measurement(1.0)])
    )
    out = uut.to_wsjf()["root"]["steps"][0]
    assert out["numericMeas"][0]["value"] == 1.0


def test_custom_step_type_via_unknown_step_is_sent_as_built(uut: pywats.UUTReport) -> None:
    uut.root.add_step(pywats.UnknownStep(step_type="NI_Switch", name="route", routes=["a-b"]))
    assert uut.to_wsjf()["root"]["steps"] == [
        {"stepType": "NI_Switch", "name": "route", "routes": ["a-b"]}
    ]


def test_assignment_is_validated_and_marks_the_field_sent(uut: pywats.UUTReport) -> None:
    uut.result = "F"  # type: ignore[assignment]
    assert uut.to_wsjf()["result"] == "F"
    with pytest.raises(pydantic.ValidationError):
        uut.process_code = "10"  # type: ignore[assignment]


@pytest.mark.parametrize("field", ["location", "purpose"])
def test_location_and_purpose_may_be_empty(field: str) -> None:
    pywats.UUTReport.create(**{**HEADER, field: ""}).check()


@pytest.mark.parametrize("field", ["machineName", "location", "purpose"])
def test_check_requires_station_location_and_purpose(field: str) -> None:
    doc = samples.example_uut()
    doc[field] = None
    with pytest.raises(ReportFieldError, match="required") as info:
        pywats.parse_report(doc).check()
    assert info.value.field == field
