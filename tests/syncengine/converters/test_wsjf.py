"""WSJF passthrough: fixtures, round trip through a file, malformed input."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pywats import parse_report
from syncengine.converters import ConversionContext, ConversionError, WsjfConverter

from .conftest import FIXTURES
from .strategies import uut_reports

CONV = WsjfConverter()
CTX = ConversionContext()


def test_fixture_with_one_report_converts_to_that_report():
    (report,) = CONV.convert(FIXTURES / "ict_uut.json", CTX)
    assert report["id"] == "6f1c2a9e-3b7d-4c55-9a0e-2d8f4b1c7e10"
    assert report["root"]["steps"][1]["numericMeas"][1]["value"] == 910.0


def test_fixture_with_a_list_converts_to_every_report():
    reports = CONV.convert(FIXTURES / "two_reports.json", CTX)
    assert [r["sn"] for r in reports] == ["PSU-1001", "PSU-1002"]


def test_validate_is_confident_for_wsjf_and_not_for_xml():
    assert CONV.validate(FIXTURES / "ict_uut.json") >= 0.9
    assert CONV.validate(FIXTURES / "fct_report.xml") == 0.0


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reports=st.lists(uut_reports(), min_size=1, max_size=3), as_list=st.booleans())
def test_reports_written_as_wsjf_convert_back_unchanged_and_valid(tmp_path, reports, as_list):
    path = tmp_path / "r.json"
    data = reports if as_list or len(reports) > 1 else reports[0]
    path.write_text(json.dumps(data), encoding="utf-8")
    converted = CONV.convert(path, CTX)
    assert converted == reports
    for report in converted:
        assert parse_report(report).to_wsjf() == report


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"type": "T", "sn": "X"', "invalid JSON at line 1"),
        (b'{"type": "T", "sn": "\xe9"}', "not valid utf-8 at byte offset 21"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary content"),
        (b"[1, 2]", "report 0 is a JSON int, not an object"),
        (b"", "invalid JSON"),
    ],
)
def test_malformed_input_raises_a_clear_conversion_error(tmp_path, content, expected):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(ConversionError, match=expected):
        CONV.convert(path, CTX)


def test_utf8_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + (FIXTURES / "ict_uut.json").read_bytes())
    assert CONV.convert(path, CTX)[0]["sn"] == "SN-000123"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_with_byte_order_mark_is_read_as_utf16(tmp_path, codec):
    bom = b"\xff\xfe" if codec.endswith("le") else b"\xfe\xff"
    text = (FIXTURES / "ict_uut.json").read_text(encoding="utf-8")
    path = tmp_path / "powershell.json"
    path.write_bytes(bom + text.encode(codec))  # what PowerShell 5's Out-File writes
    assert CONV.convert(path, CTX)[0]["sn"] == "SN-000123"
