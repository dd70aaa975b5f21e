"""WSXF XML: a realistic fixture, hypothesis round trip, hostile and malformed XML."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pywats import parse_report
from syncengine.converters import (
    ConversionContext,
    ConversionError,
    WsxfConverter,
    parse_wsxf,
    write_wsxf,
)

from .conftest import FIXTURES
from .strategies import uut_reports

CTX = ConversionContext()


@pytest.fixture(scope="module")
def fct() -> dict:
    (report,) = WsxfConverter().convert(FIXTURES / "fct_report.xml", CTX)
    return report


def test_fixture_header_maps_to_wsjf(fct):
    assert fct["id"] == "3c9d1f5e-7a2b-4e8c-9d10-5b6a7c8d9e01"
    assert (fct["sn"], fct["pn"], fct["rev"], fct["result"]) == ("SN-4711", "CTRL-300", "C", "F")
    assert (fct["processCode"], fct["machineName"]) == (20, "FCT-STATION-02")
    assert fct["start"] == "2026-03-03T08:30:12.500+01:00"


def test_fixture_uut_misc_info_and_sub_units_map_to_wsjf(fct):
    assert fct["uut"] == {
        "user": "operator7",
        "batchSN": "LOT-77",
        "fixtureId": "FX-12",
        "testSocketIndex": 1,
        "execTime": 48.25,
        "comment": "Retest after rework",
    }
    assert fct["miscInfos"][1] == {"description": "Ambient temperature", "text": "23.4"}
    assert fct["subUnits"][1] == {
        "partType": "PSU",
        "pn": "PSU-20",
        "rev": "B",
        "sn": "PSU-1193",
        "position": 2,
    }


def test_fixture_step_tree_maps_to_wsjf(fct):
    root = fct["root"]
    assert root["seqCall"] == {
        "path": "D:\\Sequences\\FCT.seq",
        "name": "FCT.seq",
        "version": "3.2.0",
    }
    setup, nlt, mnlt, pft, svt, chart, loop, cleanup = root["steps"]
    assert (setup["group"], cleanup["group"]) == ("S", "C")
    assert nlt["numericMeas"] == [
        {
            "compOp": "GELE",
            "status": "P",
            "value": 5.02,
            "unit": "V",
            "lowLimit": 4.9,
            "highLimit": 5.1,
        }
    ]
    assert [m["name"] for m in mnlt["numericMeas"]] == ["L1", "L2"] and mnlt["status"] == "F"
    assert pft["booleanMeas"] == [{"status": "P"}]
    assert (
        svt["stringMeas"][0]["limit"] == "AT24C02" and svt["reportText"] == "read via I2C at 0x50"
    )
    assert chart["chart"]["series"][0]["xdata"] == "10;100;1000;10000"
    assert loop["loop"] == {"idx": 2} and loop["steps"][0]["numericMeas"][0]["value"] == 41.5


def test_fixture_converts_to_a_valid_pywats_report(fct):
    model = parse_report(fct)
    model.check()
    assert model.to_wsjf() == fct


def _export_loops(report: dict) -> dict:
    """The shared strategy writes submit-form loops {i, n}; WSXF carries the export form."""
    for step in _walk(report.get("root")):
        if "loop" in step:
            step["loop"] = {"idx": step["loop"]["i"], "num": step["loop"]["n"]}
    return report


def _walk(step):
    if step is None:
        return
    yield step
    for child in step.get("steps", ()):
        yield from _walk(child)


WSXF_REPORTS = uut_reports().map(_export_loops)


@settings(max_examples=80, deadline=None)
@given(reports=st.lists(WSXF_REPORTS, min_size=1, max_size=3))
def test_reports_written_as_wsxf_convert_back_unchanged(reports):
    warnings: list[str] = []
    assert parse_wsxf(write_wsxf(reports), warn=warnings.append) == reports
    assert warnings == []


@settings(max_examples=20, deadline=None)
@given(report=WSXF_REPORTS)
def test_round_tripped_reports_are_valid_for_pywats(report):
    (back,) = parse_wsxf(write_wsxf([report]))
    assert parse_report(back).to_wsjf() == back


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<Reports xmlns="http://wats.virinco.com/schemas/WATS/Report/wsxf">&lol2;</Reports>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!doctype r [<!ENTITY x SYSTEM "file:///etc/passwd">]><Reports>&x;</Reports>"""
NS = b'xmlns="http://wats.virinco.com/schemas/WATS/Report/wsxf"'


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (BILLION_LAUGHS, "DOCTYPE/ENTITY declarations are not allowed"),
        (EXTERNAL, "DOCTYPE/ENTITY declarations are not allowed"),
        ("<?xml version='1.0' encoding='utf-16'?><Reports/>".encode("utf-16"), "UTF-16"),
        (b"<Reports " + NS + b"><Report type='UUT' SN='1'", "malformed XML at line 1"),
        (b"<Report " + NS + b"/>", "expected {http://wats.virinco.com"),
        (b"<Reports xmlns='urn:other'/>", "root element is '{urn:other}Reports'"),
        (b"\x00\x01\x02garbage\xff\xfe", "not an ASCII-compatible encoding"),
        (
            b"<?xml version='1.0' encoding='utf-7'?><Reports " + NS + b"/>",
            "unsupported XML encoding: multi-byte encodings are not supported",
        ),
        (b"<Reports " + NS + b"><Report type='UUR'/></Reports>", "only UUT reports"),
        (
            b"<Reports " + NS + b"><Report Start='2026-01-01T00:00:00Z' Result='Passed'>"
            b"<Process Code='ten'/></Report></Reports>",
            r"Report\[0\]/Process: Code='ten' is not an integer",
        ),
        (
            b"<Reports " + NS + b"><Report Start='2026-01-01T00:00:00Z' Result='Maybe'>"
            b"</Report></Reports>",
            "Result='Maybe' is not one of",
        ),
    ],
)
def test_hostile_or_malformed_xml_raises_a_clear_conversion_error(data, expected):
    with pytest.raises(ConversionError, match=expected):
        parse_wsxf(data, "bad.xml")


def test_declaration_text_in_a_comment_or_cdata_does_not_refuse_the_file():
    # The bytes "<!DOCTYPE" in a comment or CDATA section declare nothing.
    data = (FIXTURES / "fct_report.xml").read_bytes()
    assert b"<!DOCTYPE" not in data
    marked = data.replace(
        b"</Reports>",
        b"<!-- exported from <!DOCTYPE html> tool; <!ENTITY x 'y'> -->"
        b"<![CDATA[<!DOCTYPE html>]]></Reports>",
    )
    assert marked != data
    assert parse_wsxf(marked, "fct.xml") == parse_wsxf(data, "fct.xml")


def test_steps_nested_deeper_than_the_reader_recurses_are_a_conversion_error():
    step = b'<Step Name="a" StepType="SequenceCall" Status="Passed">'
    data = (
        b"<Reports " + NS + b"><Report Start='2026-01-01T00:00:00Z' Result='Passed' SN='1' "
        b"PN='2'><Process Code='10'/>" + step * 3000 + b"</Step>" * 3000 + b"</Report></Reports>"
    )
    with pytest.raises(ConversionError, match=r"Report\[0\]: steps nested too deeply"):
        parse_wsxf(data, "deep.xml")


def test_numeric_step_with_bad_value_names_the_step():
    data = (FIXTURES / "fct_report.xml").read_bytes().replace(b'"5.02"', b'"5,02"')
    with pytest.raises(ConversionError, match=r"'Supply voltage'.*NumericValue='5,02'"):
        parse_wsxf(data, "fct.xml")
