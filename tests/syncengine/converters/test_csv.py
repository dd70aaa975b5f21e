"""The configurable CSV converter: both layouts on fixtures, round trip, malformed tables."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pywats import parse_report
from syncengine.converters import ConversionContext, ConversionError, CsvConverter

from .conftest import FIXTURES
from .strategies import finite, identifier, start_times

CONV = CsvConverter()
EOL_OPTIONS = {
    "steps": [
        {"column": "Vout", "unit": "V", "low": 11.8, "high": 12.2},
        {"column": "Iq", "unit": "A", "high": 0.9},
        {"column": "LED", "type": "passfail"},
        {"column": "Firmware", "type": "string", "limit": "1.2.0"},
    ]
}
GROUP_OPTIONS = {
    "layout": "group",
    "delimiter": ";",
    "decimal": ",",
    "columns": {"sn": "Serial", "pn": "Part", "start": "Started"},
    "step_columns": {"name": "Test"},
    "start_format": "%Y-%m-%d %H:%M:%S",
    "utc_offset_minutes": 60,
    "defaults": {"rev": "B", "location": "Burn-in room"},
}


def _convert(path, options, station="EOL-DEFAULT"):
    return CONV.convert(path, ConversionContext(station_name=station, options=options))


def test_row_layout_gives_one_report_per_row():
    reports = _convert(FIXTURES / "eol_rows.csv", EOL_OPTIONS)
    assert [r["sn"] for r in reports] == ["PSU-2001", "PSU-2002", "PSU-2003"]
    assert reports[0]["machineName"] == "EOL-01" and reports[0]["uut"] == {"user": "anna"}


def test_row_layout_steps_follow_the_configured_limits():
    second = _convert(FIXTURES / "eol_rows.csv", EOL_OPTIONS)[1]
    vout, iq, led, fw = second["root"]["steps"]
    assert vout["status"] == "F" and vout["numericMeas"][0]["highLimit"] == 12.2
    assert iq["numericMeas"][0]["compOp"] == "LE" and iq["status"] == "P"
    assert led["booleanMeas"] == [{"status": "P"}]
    assert fw["stringMeas"][0] == {
        "value": "1.2.0",
        "compOp": "CASESENSIT",
        "limit": "1.2.0",
        "status": "P",
    }
    assert second["result"] == "F"


def test_every_fixture_report_is_valid_for_pywats():
    for report in _convert(FIXTURES / "eol_rows.csv", EOL_OPTIONS) + _convert(
        FIXTURES / "burnin_group.csv", GROUP_OPTIONS
    ):
        report["id"] = "00000000-0000-4000-8000-000000000000"
        parse_report(report).check()


def test_group_layout_gives_one_report_per_serial_with_a_step_per_row():
    first, second = _convert(FIXTURES / "burnin_group.csv", GROUP_OPTIONS)
    assert (first["sn"], first["rev"], first["location"]) == ("BRD-0001", "B", "Burn-in room")
    assert [s["name"] for s in first["root"]["steps"]] == ["Temp max", "Ripple"]
    assert first["root"]["steps"][0]["numericMeas"][0]["value"] == 61.5
    assert first["start"] == "2026-03-05T07:00:00+01:00"
    assert (first["result"], second["result"]) == ("P", "F")


def test_station_name_fills_machine_name_when_the_file_has_none(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("sn,pn,start\nA1,P1,2026-01-01T00:00:00+00:00\n")
    assert _convert(path, {})[0]["machineName"] == "EOL-DEFAULT"


rows = st.lists(
    st.fixed_dictionaries(
        {
            "sn": identifier,
            "pn": identifier,
            "start": start_times(),
            "m1": finite,
            "m2": finite,
        }
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows, delimiter=st.sampled_from([",", ";", "\t"]), low=finite, high=finite)
def test_rows_written_as_csv_convert_back_to_the_same_values(tmp_path, rows, delimiter, low, high):
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter)
    writer.writerow(["SN", "PN", "Start", "M1", "M2"])
    for row in rows:
        writer.writerow([row["sn"], row["pn"], row["start"], repr(row["m1"]), repr(row["m2"])])
    path = tmp_path / "gen.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    options = {
        "delimiter": delimiter,
        "steps": [{"column": "M1", "low": low, "high": high}, {"column": "m2", "name": "Second"}],
    }
    reports = _convert(path, options)
    assert [(r["sn"], r["pn"]) for r in reports] == [(row["sn"], row["pn"]) for row in rows]
    for report, row in zip(reports, rows, strict=True):
        assert datetime.fromisoformat(report["start"]) == datetime.fromisoformat(row["start"])
        m1, m2 = (s["numericMeas"][0] for s in report["root"]["steps"])
        assert (m1["value"], m2["value"]) == (row["m1"], row["m2"])
        assert (m1["status"] == "P") == (low <= row["m1"] <= high)
        assert report["result"] == ("P" if low <= row["m1"] <= high else "F")


@pytest.mark.parametrize(
    ("content", "options", "expected"),
    [
        (b"sn,pn,start\nA,B\n", {}, "row 2 has 2 fields, the header has 3"),
        (
            b"sn,pn,start,V\nA,B,2026-01-01T00:00:00,abc\n",
            {"steps": [{"column": "V", "type": "numeric"}]},
            r"row 2, column 'V': 'abc' is not a number",
        ),
        (b"sn,pn,start\nA,B,yesterday\n", {}, "'yesterday' is not a date/time"),
        (b"sn,pn\nA,B\n", {}, "no start time"),
        (b"pn,start\nB,2026-01-01T00:00:00\n", {}, "no value for sn"),
        (b"sn,pn,start\n", {"columns": {"sn": "Serial"}}, "column 'Serial'"),
        (b"", {}, "empty file"),
        (b"sn,pn,start\n\xff\xfe,B,C\n", {}, "not valid utf-8 at byte offset 12"),
        (b"sn,pn,start\n\x00\x00\x00", {}, "binary content"),
        (b'sn,pn,start\n"A,B,C\n', {}, "line"),
        (b"sn,pn,start\nA,B,2026-01-01T00:00:00\n", {"layout": "diagonal"}, "layout must be"),
        (b"sn,pn,start\nA,B,2026-01-01T00:00:00\n", {"columns": {"serial": "x"}}, "unknown field"),
    ],
)
def test_malformed_table_raises_a_clear_conversion_error(tmp_path, content, options, expected):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ConversionError, match=expected):
        _convert(path, options)


def test_latin1_file_converts_when_the_encoding_is_configured(tmp_path):
    path = tmp_path / "l1.csv"
    path.write_bytes(
        "sn,pn,start,operator\nA1,P1,2026-01-01T00:00:00+00:00,Jos\xe9\n".encode("latin-1")
    )
    report = _convert(path, {"encoding": "latin-1"})[0]
    assert report["uut"]["user"] == "José"
