"""WATS Standard Text Format: fixture mapping, hypothesis round trip, malformed files."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pywats import parse_report
from syncengine.converters import (
    ConversionContext,
    ConversionError,
    WatsTextConverter,
    parse_wats_text,
    write_wats_text,
)

from .conftest import FIXTURES
from .strategies import STATUSES, finite, identifier, nonempty, small_int, start_times, text

CTX = ConversionContext(station_name="ST-TXT")


@pytest.fixture(scope="module")
def eol() -> dict:
    (report,) = WatsTextConverter().convert(FIXTURES / "eol_station.txt", CTX)
    return report


def test_fixture_header_maps_to_wsjf(eol):
    assert (eol["sn"], eol["pn"], eol["rev"], eol["processCode"]) == (
        "SN-88001",
        "AMP-400",
        "D",
        30,
    )
    assert (eol["result"], eol["machineName"], eol["start"]) == (
        "F",
        "EOL-AMP-02",
        "2026-03-06T13:45:10+01:00",
    )
    assert eol["uut"]["user"] == "kari" and eol["uut"]["execTime"] == 22.75
    assert eol["subUnits"] == [
        {"partType": "Power stage", "pn": "PWR-12", "sn": "PWR-99120", "rev": "B"}
    ]
    assert eol["miscInfos"] == [{"description": "Ambient humidity", "text": "41 %"}]
    assert eol["root"]["seqCall"] == {"path": "", "name": "AmpEOL", "version": "4.1.7"}


def test_fixture_steps_nest_and_group_multiple_measurements(eol):
    action, seq, multi, string, thd = eol["root"]["steps"]
    assert action["stepType"] == "Action" and action["totTime"] == 0.8
    assert [s["name"] for s in seq["steps"]] == ["Idle current", "Fan spins"]
    assert multi["stepType"] == "ET_MNLT" and [m["status"] for m in multi["numericMeas"]] == [
        "P",
        "F",
    ]
    assert string["stringMeas"][0]["limit"] == "4.1.7" and string["reportText"] == "read over SPI"
    assert thd["numericMeas"][0]["compOp"] == "LE"
    assert thd["chart"]["series"] == [
        {"dataType": "XYG", "name": "THD", "xdata": "-10;0;10", "ydata": "0.01;0.011;0.012"}
    ]


def test_fixture_report_is_valid_for_pywats(eol):
    report = {**eol, "id": "00000000-0000-4000-8000-000000000000"}
    parse_report(report).check()


def test_validate_recognises_the_header_marker_only():
    conv = WatsTextConverter()
    assert conv.validate(FIXTURES / "eol_station.txt") >= 0.9
    assert conv.validate(FIXTURES / "eol_rows.csv") == 0.0


# --- round trip ---------------------------------------------------------------------------

RESERVED = {
    "SerialNumber",
    "PartNumber",
    "Revision",
    "OperationTypeCode",
    "UUTStatus",
    "StartDateTime",
    "ExecutionTime",
    "StationName",
    "OperatorName",
    "FixtureId",
    "BatchSerialNumber",
    "TestSocketIndex",
    "Comment",
    "ErrorCode",
    "ErrorMessage",
    "SoftwareName",
    "SoftwareVersion",
    "Location",
    "Purpose",
    "Subunit",
}
status = st.sampled_from(STATUSES)


def _common(draw, step):
    for key, strategy in (
        ("totTime", finite.filter(lambda x: x >= 0)),
        ("reportText", nonempty),
        ("errorCode", small_int),
        ("errorMessage", nonempty),
    ):
        if draw(st.booleans()):
            step[key] = draw(strategy)
    return step


def _meas(draw, named, meas_status):
    meas = {"compOp": draw(st.sampled_from(["LOG", "GELE", "LT", "EQ"])), "status": meas_status}
    if named:
        meas["name"] = draw(nonempty)
    meas["value"] = draw(finite)
    for key, strategy in (("unit", nonempty), ("lowLimit", finite), ("highLimit", finite)):
        if draw(st.booleans()):
            meas[key] = draw(strategy)
    return meas


@st.composite
def leaf(draw):
    kind = draw(st.sampled_from(["Action", "ET_NLT", "ET_MNLT", "ET_PFT", "ET_SVT"]))
    step = _common(draw, {"stepType": kind, "name": draw(text), "status": draw(status)})
    if kind == "ET_NLT":
        step["numericMeas"] = [_meas(draw, False, step["status"])]
    elif kind == "ET_MNLT":
        n = draw(st.integers(1, 3))
        step["numericMeas"] = [_meas(draw, True, draw(status)) for _ in range(n)]
    elif kind == "ET_PFT":
        step["booleanMeas"] = [{"status": step["status"]}]
    elif kind == "ET_SVT":
        meas = {"compOp": draw(st.sampled_from(["LOG", "CASESENSIT"])), "status": step["status"]}
        meas["value"] = draw(text)
        if draw(st.booleans()):
            meas["limit"] = draw(nonempty)
        step["stringMeas"] = [meas]
    if draw(st.booleans()):
        keys = ("chartType", "label", "xLabel", "xUnit", "yLabel", "yUnit")
        series = st.fixed_dictionaries(
            {"dataType": st.just("XYG"), "name": text, "xdata": text, "ydata": text}
        )
        step["chart"] = {
            **{k: draw(text) for k in keys},
            "series": draw(st.lists(series, max_size=2)),
        }
    return step


def _sequence(children):
    return st.builds(
        lambda name, s, kids: {
            "stepType": "SequenceCall",
            "name": name,
            "status": s,
            "steps": kids,
        },
        text,
        status,
        st.lists(children, max_size=3),
    )


def _number(steps, next_id=2):
    for step in steps:
        step["id"], step["group"] = next_id, "M"
        next_id += 1
        if step["stepType"] == "SequenceCall":
            next_id = _number(step["steps"], next_id)
    return next_id


@st.composite
def text_reports(draw):
    result = draw(st.sampled_from(["P", "F", "D", "E", "T"]))
    report = {
        "type": "T",
        "sn": draw(identifier),
        "pn": draw(identifier),
        "rev": draw(identifier),
        "processCode": draw(small_int),
        "result": result,
        "start": draw(start_times()),
        "machineName": draw(identifier),
        "location": draw(text),
        "purpose": draw(text),
    }
    uut = {}
    for key, strategy in (
        ("user", text),
        ("fixtureId", text),
        ("testSocketIndex", small_int),
        ("execTime", finite),
    ):
        if draw(st.booleans()):
            uut[key] = draw(strategy)
    if uut:
        report["uut"] = uut
    descriptions = identifier.filter(lambda d: d not in RESERVED and not d.startswith("-"))
    misc = draw(
        st.lists(st.fixed_dictionaries({"description": descriptions, "text": text}), max_size=2)
    )
    if misc:
        report["miscInfos"] = misc
    subs = draw(
        st.lists(
            st.fixed_dictionaries(
                {"partType": nonempty, "pn": identifier, "sn": identifier, "rev": identifier}
            ),
            max_size=2,
        )
    )
    if subs:
        report["subUnits"] = subs
    steps = draw(st.lists(st.recursive(leaf(), _sequence, max_leaves=8), max_size=4))
    _number(steps)
    root = {
        "id": 1,
        "group": "M",
        "stepType": "SequenceCall",
        "name": "MainSequence Callback",
        "status": result,
        "steps": steps,
    }
    if draw(st.booleans()):
        root["seqCall"] = {"path": "", "name": draw(text), "version": draw(text)}
    report["root"] = root
    return report


@settings(max_examples=60, deadline=None)
@given(reports=st.lists(text_reports(), min_size=1, max_size=3))
def test_reports_written_as_standard_text_convert_back_unchanged(reports):
    assert parse_wats_text(write_wats_text(reports), "gen.txt", CTX) == reports


@settings(max_examples=15, deadline=None)
@given(report=text_reports())
def test_round_tripped_text_reports_are_valid_for_pywats(report):
    (back,) = parse_wats_text(write_wats_text([report]), "gen.txt", CTX)
    back["id"] = "00000000-0000-4000-8000-000000000000"
    parse_report(back).check()


# --- malformed ------------------------------------------------------------------------------

GOOD = (FIXTURES / "eol_station.txt").read_text()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (GOOD[: len(GOOD) // 2], r"file ends before --UUT-End-- \(truncated\?\)"),
        (GOOD.replace("0.215", "0,2x5"), r"line 24: Value '0,2x5' is not a number"),
        (GOOD.replace("UUTStatus\tFailed", "UUTStatus\tMaybe"), "status 'Maybe'"),
        (GOOD.replace("EndSequenceCall\n", ""), "1 open SequenceCall"),
        (GOOD.replace("ActionStep", "TeleportStep"), "unknown step type 'TeleportStep'"),
        (GOOD.replace("SerialNumber\tSN-88001\n", ""), "no SerialNumber header line"),
        (
            GOOD.replace("StartDateTime\t2026-03-06T13:45:10+01:00", "StartDateTime\tmonday"),
            "ISO 8601",
        ),
        ("garbage first line\n" + GOOD, "expected --Header-Start--"),
        (GOOD.replace("Series\tTHD\tXYG", "Series\tTHD\tXYZ"), "data type 'XYZ'"),
    ],
    ids=[
        "truncated",
        "bad-number",
        "bad-status",
        "open-sequence",
        "unknown-step",
        "no-serial",
        "bad-date",
        "garbage-first-line",
        "bad-series-type",
    ],
)
def test_malformed_text_raises_a_clear_conversion_error(content, expected):
    with pytest.raises(ConversionError, match=expected):
        parse_wats_text(content, "bad.txt", CTX)


def test_binary_file_raises_a_clear_conversion_error(tmp_path):
    path = tmp_path / "bin.txt"
    path.write_bytes(b"--Header-Start--\n\x00\x01\x02")
    with pytest.raises(ConversionError, match="binary content"):
        WatsTextConverter().convert(path, CTX)
