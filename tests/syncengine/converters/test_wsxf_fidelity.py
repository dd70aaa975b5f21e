"""WSXF: every field a server export carries reaches WSJF; unknown XML is never lost silently."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pywats
from syncengine.converters import (
    ConversionContext,
    ConversionError,
    WsxfConverter,
    parse_wsxf,
    write_wsxf,
)

from .strategies import uut_reports

NS = "http://wats.virinco.com/schemas/WATS/Report/wsxf"


def doc(steps: str, *, report_attrs: str = "", uut: str = "", extra: str = "") -> bytes:
    """A one-report WSXF document with ``steps`` inside a root sequence."""
    return (
        f'<?xml version="1.0" encoding="utf-8"?><Reports xmlns="{NS}">'
        f'<Report type="UUT" ID="3C9D1F5E-7A2B-4E8C-9D10-5B6A7C8D9E01" SN="SN-1" PN="PN-1" '
        f'Rev="A" MachineName="ST" Location="L" Purpose="P" Result="Passed" '
        f'Start="2026-03-03T08:30:12.500+01:00" {report_attrs}>{uut}'
        f'<Process Code="20" Name="FCT"/>{extra}'
        f'<Step Id="1" Group="Main" Name="Main" StepType="SequenceCall" Status="Passed">'
        f"{steps}</Step></Report></Reports>"
    ).encode()


def one(data: bytes, **kwargs) -> dict:
    (report,) = parse_wsxf(data, "t.xml", **kwargs)
    return report


def first_step(data: bytes, **kwargs) -> dict:
    return one(data, **kwargs)["root"]["steps"][0]


def test_loop_summary_keeps_num_ending_index_passed_and_failed() -> None:
    step = first_step(
        doc(
            '<Step Id="2" Name="L" StepType="ET_NLT" Status="Failed">'
            '<Loop num="3" passed="1" failed="2" ending_index="3"/></Step>'
        )
    )
    assert step["loop"] == {"num": 3, "endingIndex": 3, "passed": 1, "failed": 2}


def test_each_loop_iteration_keeps_its_index() -> None:
    steps = one(
        doc(
            "".join(
                f'<Step Id="{i + 2}" Name="L" StepType="ET_PFT" Status="Passed">'
                f'<Loop index="{i}"/><PassFail Status="Passed"/></Step>'
                for i in range(3)
            )
        )
    )["root"]["steps"]
    assert [s["loop"] for s in steps] == [{"idx": 0}, {"idx": 1}, {"idx": 2}]


def test_step_error_code_and_message_reach_the_step() -> None:
    step = first_step(
        doc(
            '<Step Id="2" Name="E" StepType="Action" Status="Error" StepErrorCode="-17100" '
            'StepErrorMessage="Instrument timeout"/>'
        )
    )
    assert (step["errorCode"], step["errorMessage"]) == (-17100, "Instrument timeout")


def test_message_popup_button_and_response_and_call_exe_exit_code() -> None:
    steps = one(
        doc(
            '<Step Id="2" Name="Ask" StepType="MessagePopup" Status="Passed">'
            '<MessagePopup Button="1" Response="Good job" MeasIndex="0"/></Step>'
            '<Step Id="3" Name="Run" StepType="CallExecutable" Status="Passed">'
            '<Callexe ExitCode="17232" MeasIndex="0"/></Step>'
            '<Step Id="4" Name="Run2" StepType="CallExecutable" Status="Passed">'
            '<CallExe ExitCode="-1"/></Step>'
        )
    )["root"]["steps"]
    assert steps[0]["messagePopup"] == {"button": 1, "response": "Good job"}
    assert steps[1]["callExe"] == {"exitCode": 17232.0}
    assert steps[2]["callExe"] == {"exitCode": -1.0}


def test_uut_batch_fail_count_and_step_that_caused_the_failure() -> None:
    report = one(
        doc(
            "",
            uut='<UUT UserLoginName="op" BatchFailCount="10" BatchLoopIndex="2" '
            'StepIdCausedUUTFailure="5"/>',
        )
    )
    assert report["uut"] == {
        "user": "op",
        "batchFailCount": 10,
        "batchLoopIndex": 2,
        "stepIdCausedUUTFailure": 5,
    }


@pytest.mark.parametrize(("text", "value"), [("true", True), ("False", False), ("1", True)])
def test_step_caused_uut_failure_reads_true_false_and_digits(text: str, value: bool) -> None:
    step = first_step(
        doc(
            f'<Step Id="2" Name="S" StepType="Action" Status="Done" StepCausedUUTFailure="{text}"/>'
        )
    )
    assert step["causedUUTFailure"] is value


def test_export_header_attributes_reach_the_output_only_fields() -> None:
    report = one(
        doc(
            "",
            report_attrs='Start_utc="2026-03-03T07:30:12.5Z" origin="4C5F70D62FF4" ProductName="C"',
        )
    )
    assert (report["startUTC"], report["origin"], report["productName"]) == (
        "2026-03-03T07:30:12.5Z",
        "4C5F70D62FF4",
        "C",
    )
    assert report["processName"] == "FCT"


def test_chart_attachment_and_additional_results_reach_the_step() -> None:
    step = first_step(
        doc(
            '<Step Id="2" Name="G" StepType="WATS_XYGMNLT" Status="Passed">'
            '<NumericLimit NumericValue="1.5" CompOperator="LOG" Status="Passed"/>'
            '<Chart idx="0" ChartType="Line" Label="L" XLabel="x" XUnit="s" YLabel="y" YUnit="V">'
            '<Series Name="S" DataType="XYG"><ydata>1;2</ydata><xdata>0;1</xdata></Series></Chart>'
            '<Attachment Name="a.png" ContentType="image/png" Size="3">AAEC</Attachment>'
            '<AdditionalResults Name="Raw"><Value>42</Value></AdditionalResults></Step>'
        )
    )
    assert step["chart"]["series"] == [
        {"dataType": "XYG", "name": "S", "xdata": "0;1", "ydata": "1;2"}
    ]
    assert step["attachment"] == {"name": "a.png", "contentType": "image/png", "data": "AAEC"}
    assert step["additionalResults"] == [
        {
            "element": "AdditionalResults",
            "attributes": {"Name": "Raw"},
            "children": [{"element": "Value", "text": "42"}],
        }
    ]


def test_report_additional_data_reaches_the_report() -> None:
    report = one(doc("", extra='<AdditionalData Name="Cfg" Value="3"/>'))
    assert report["additionalData"] == [
        {"element": "AdditionalData", "attributes": {"Name": "Cfg", "Value": "3"}}
    ]


def test_names_are_matched_in_any_case() -> None:
    step = first_step(
        doc(
            '<Step id="2" name="S" steptype="ET_NLT" status="passed" group="setup">'
            '<numericlimit numericvalue="2" compoperator="GeLe" lowlimit="1" highlimit="3" '
            'status="PASSED"/></Step>'
        )
    )
    assert step == {
        "stepType": "ET_NLT",
        "name": "S",
        "status": "P",
        "id": 2,
        "group": "S",
        "numericMeas": [
            {"compOp": "GeLe", "status": "P", "value": 2.0, "lowLimit": 1.0, "highLimit": 3.0}
        ],
    }


def test_the_index_attributes_of_an_export_are_known_and_not_reported() -> None:
    warnings: list[str] = []
    one(
        doc(
            '<Step Id="2" Name="S" StepType="ET_NLT" Status="Passed" StepIndex="0" Idx="1">'
            '<NumericLimit NumericValue="2" CompOperator="LOG" Status="Passed" MeasIndex="0" '
            'MeasOrderNumber="7"/></Step>',
            extra='<MiscInfo Typedef="" Description="D" idx="0" order_no="0">x</MiscInfo>',
        ),
        warn=warnings.append,
    )
    assert warnings == []


UNKNOWN = doc(
    '<Step Id="2" Name="S" StepType="Action" Status="Done" Vendor="acme">'
    '<Probe Pin="7">ok<Sub/></Probe><ReportText Lang="en">hello</ReportText></Step>',
    uut='<UUT UserLoginName="op" Shift="night"><Comment>c</Comment></UUT>',
    extra='<Station Rack="3"/>',
)


def test_unknown_attributes_and_elements_are_kept_and_reported() -> None:
    warnings: list[str] = []
    report = one(UNKNOWN, warn=warnings.append)
    step = report["root"]["steps"][0]
    assert step["reportText"] == "hello"
    assert step["wsxfUnknown"] == {
        "attributes": {"Vendor": "acme"},
        "elements": [
            {"element": "ReportText", "attributes": {"Lang": "en"}},
            {
                "element": "Probe",
                "attributes": {"Pin": "7"},
                "text": "ok",
                "children": [{"element": "Sub"}],
            },
        ],
    }
    assert report["uut"]["wsxfUnknown"] == {"attributes": {"Shift": "night"}}
    assert report["wsxfUnknown"] == {
        "elements": [{"element": "Station", "attributes": {"Rack": "3"}}]
    }
    text = "\n".join(warnings)
    for what in ("attribute Vendor", "element Probe", "attribute Shift", "element Station"):
        assert what in text
    assert "Report[0]/Step('Main')/Step('S'): unknown attribute Vendor" in text


def test_kept_unknowns_survive_pywats_and_ingest_checks() -> None:
    report = one(UNKNOWN)
    model = pywats.parse_report(report)
    model.check()
    assert model.to_wsjf(for_submit=True)["root"]["steps"][0]["wsxfUnknown"]["attributes"] == {
        "Vendor": "acme"
    }


def test_unknowns_can_be_dropped_but_are_still_reported() -> None:
    warnings: list[str] = []
    report = one(UNKNOWN, unknown_xml="drop", warn=warnings.append)
    assert "wsxfUnknown" not in str(report)
    assert len(warnings) == 4 and all("dropped" in w for w in warnings)


def test_unknowns_can_refuse_the_file_naming_where() -> None:
    with pytest.raises(ConversionError, match=r"Report\[0\]/UUT: unknown attribute Shift"):
        one(UNKNOWN, unknown_xml="error")


def test_a_bad_unknown_xml_option_is_a_clear_error() -> None:
    with pytest.raises(ConversionError, match="unknown_xml must be one of keep, drop, error"):
        one(UNKNOWN, unknown_xml="ignore")


def test_the_converter_logs_unknowns_and_takes_the_option(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "u.xml"
    path.write_bytes(UNKNOWN)
    logger = logging.getLogger("test.wsxf")
    with caplog.at_level(logging.WARNING, logger="test.wsxf"):
        (report,) = WsxfConverter().convert(path, ConversionContext(logger=logger))
    assert "wsxfUnknown" in report["root"]["steps"][0]
    assert any("attribute Vendor" in r.getMessage() for r in caplog.records)
    with pytest.raises(ConversionError, match="unknown"):
        WsxfConverter().convert(
            path, ConversionContext(logger=logger, options={"unknown_xml": "error"})
        )


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        (
            '<Step Id="2" Name="L" StepType="ET_NLT" Status="Passed"><Loop index="first"/></Step>',
            r"Step\('L'\)/Loop: index='first' is not an integer",
        ),
        (
            '<Step Id="2" Name="P" StepType="MessagePopup" Status="Passed">'
            '<MessagePopup Button="OK"/></Step>',
            r"Step\('P'\)/MessagePopup: Button='OK' is not an integer",
        ),
        (
            '<Step Id="2" Name="X" StepType="CallExecutable" Status="Passed">'
            '<Callexe ExitCode="NaN"/></Step>',
            r"Step\('X'\)/Callexe: ExitCode='NaN' is not a finite number",
        ),
        (
            '<Step Id="2" Name="E" StepType="Action" Status="Done" StepErrorCode="x1"/>',
            r"Step\('E'\): StepErrorCode='x1' is not an integer",
        ),
        (
            '<Step Id="2" Name="B" StepType="Action" Status="Done" StepCausedUUTFailure="yes"/>',
            r"Step\('B'\): StepCausedUUTFailure='yes' is not true/false",
        ),
        (
            '<Step Id="2" Name="S" StepType="Action" Status="Maybe"/>',
            r"Step\('S'\): Status='Maybe' is not one of Passed",
        ),
    ],
)
def test_malformed_values_name_the_element_path(steps: str, expected: str) -> None:
    with pytest.raises(ConversionError, match=expected):
        one(doc(steps))


def test_uut_batch_fail_count_that_is_not_a_number_names_the_field() -> None:
    with pytest.raises(ConversionError, match=r"Report\[0\]/UUT: BatchFailCount='many'"):
        one(doc("", uut='<UUT BatchFailCount="many"/>'))


def _strip_unknown(value):
    if isinstance(value, dict):
        return {k: _strip_unknown(v) for k, v in value.items() if k != "wsxfUnknown"}
    if isinstance(value, list):
        return [_strip_unknown(v) for v in value]
    return value


def _unknown_attribute_names(value, found: set[str]) -> set[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "attributes" and isinstance(item, dict):
                found.update(item)
            _unknown_attribute_names(item, found)
    elif isinstance(value, list):
        for item in value:
            _unknown_attribute_names(item, found)
    return found


@settings(max_examples=60, deadline=None)
@given(report=uut_reports(), data=st.data())
def test_unknown_attributes_anywhere_are_kept_and_nothing_else_changes(report, data) -> None:
    if data.draw(st.booleans()):
        report.pop("root", None)
    expected = _export_form(report)
    tree = ET.fromstring(write_wsxf([expected]))
    elements = list(tree.iter())[1:]  # not the Reports root
    chosen = data.draw(st.lists(st.sampled_from(elements), min_size=1, max_size=5))
    injected = set()
    for n, el in enumerate(chosen):
        name = f"Vendor{n}"
        el.set(name, data.draw(st.text(st.characters(min_codepoint=32, max_codepoint=126))))
        injected.add(name)
    warnings: list[str] = []
    (back,) = parse_wsxf(ET.tostring(tree), warn=warnings.append)
    assert _strip_unknown(back) == expected
    assert _unknown_attribute_names([v for k, v in _walk_unknown(back)], set()) == injected
    assert all(any(name in w for w in warnings) for name in injected)


def _walk_unknown(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "wsxfUnknown":
                yield key, item
            else:
                yield from _walk_unknown(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk_unknown(item)


def _export_form(report: dict) -> dict:
    """Loops as WSXF carries them (the shared strategy writes the submit form {i, n})."""

    def fix(step):
        if "loop" in step:
            step["loop"] = {"idx": step["loop"]["i"], "num": step["loop"]["n"]}
        for child in step.get("steps", ()):
            fix(child)

    if "root" in report:
        fix(report["root"])
    return report


def test_a_second_element_that_has_no_place_in_wsjf_is_kept_not_lost() -> None:
    warnings: list[str] = []
    step = first_step(
        doc(
            '<Step Id="2" Name="L" StepType="Action" Status="Done">'
            '<Loop index="0"/><Loop index="1"/></Step>'
        ),
        warn=warnings.append,
    )
    assert step["loop"] == {"idx": 0}
    assert step["wsxfUnknown"] == {"elements": [{"element": "Loop", "attributes": {"index": "1"}}]}
    assert "element Loop" in warnings[0]


def test_the_same_attribute_in_two_spellings_keeps_both() -> None:
    step = first_step(doc('<Step Id="2" Name="a" name="b" StepType="Action" Status="Done"/>'))
    assert step["name"] == "a"
    assert step["wsxfUnknown"] == {"attributes": {"name": "b"}}


def test_text_where_none_belongs_and_foreign_namespaces_are_kept() -> None:
    warnings: list[str] = []
    step = first_step(
        doc(
            '<Step Id="2" Name="T" StepType="Action" Status="Done">stray'
            '<Loop index="0">zero</Loop><a:Probe xmlns:a="urn:acme" a:pin="7">x<b/>tail</a:Probe>'
            "</Step>"
        ),
        warn=warnings.append,
    )
    assert step["loop"] == {"idx": 0, "wsxfUnknown": {"text": "zero"}}
    assert step["wsxfUnknown"] == {
        "elements": [
            {
                "element": "{urn:acme}Probe",
                "attributes": {"{urn:acme}pin": "7"},
                "text": "x",
                "children": [{"element": "b", "tail": "tail"}],
            }
        ],
        "text": "stray",
    }
    assert any("unknown text" in w for w in warnings)
