"""parse_report(d).to_wsjf() == d for every valid WSJF document: fixtures and property tests.

Size knob: each property runs 150 x ``WATS_TORTURE_SCALE`` (default 1) generated documents.

Equality is checked on canonical JSON text (sorted keys), which also tells 1 from 1.0 and
true from 1, so "ints stay ints and floats stay floats" is part of every assertion.
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pywats

from . import samples

pytestmark = pytest.mark.filterwarnings("error")


def canonical(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, ensure_ascii=False)


def assert_lossless(doc: dict[str, Any]) -> None:
    original = copy.deepcopy(doc)
    report = pywats.parse_report(doc)
    assert canonical(report.to_wsjf()) == canonical(original)
    assert canonical(doc) == canonical(original), "parse_report changed its input"


@pytest.mark.parametrize(
    "doc",
    [
        samples.example_uut(),
        samples.example_uur(),
        samples.server_export_uut(),
        samples.all_step_types_uut(),
    ],
    ids=["notes-uut", "notes-uur", "server-export", "every-step-type"],
)
def test_fixture_round_trips(doc: dict[str, Any]) -> None:
    assert_lossless(doc)


@pytest.mark.parametrize(
    ("step_type", "cls"),
    [
        ("SequenceCall", pywats.SequenceCallStep),
        ("WATS_SeqCall", pywats.SequenceCallStep),
        ("NumericLimitTest", pywats.NumericLimitStep),
        ("ET_NLT", pywats.NumericLimitStep),
        ("MultiNumericLimitTest", pywats.MultiNumericLimitStep),
        ("ET_MNLT", pywats.MultiNumericLimitStep),
        ("PassFailTest", pywats.PassFailStep),
        ("ET_PFT", pywats.PassFailStep),
        ("MultiBooleanTest", pywats.MultiBooleanStep),
        ("ET_MPFT", pywats.MultiBooleanStep),
        ("StringValueTest", pywats.StringValueStep),
        ("ET_SVT", pywats.StringValueStep),
        ("MultiStringTest", pywats.MultiStringStep),
        ("ET_MSVT", pywats.MultiStringStep),
        ("WATS_XYGMNLT", pywats.XYGraphStep),
        ("Chart", pywats.ChartStep),
        ("Action", pywats.ActionStep),
        ("ET_A", pywats.ActionStep),
        ("GenericTest", pywats.GenericStep),
        ("NI_Flow_While", pywats.GenericStep),
        ("DoWhile", pywats.UnknownStep),
        ("CallExecutable", pywats.UnknownStep),
    ],
)
def test_step_type_names_select_the_step_class(step_type: str, cls: type) -> None:
    doc = samples.example_uut()
    doc["root"]["steps"] = [{"stepType": step_type, "name": "s"}]
    report = pywats.parse_report(doc)
    assert isinstance(report, pywats.UUTReport)
    child = report.root.steps[0]  # type: ignore[index]
    assert type(child) is cls
    assert child.step_type == step_type


def test_unknown_step_keeps_every_key() -> None:
    doc = samples.example_uut()
    raw = {
        "stepType": "NI_Switch",
        "name": "route",
        "routes": [{"from": "a", "to": "b"}],
        "steps": [{"stepType": "ET_NLT"}],
    }
    doc["root"]["steps"] = [raw]
    report = pywats.parse_report(doc)
    assert report.to_wsjf()["root"]["steps"] == [raw]


def test_int_and_float_keep_their_json_type() -> None:
    doc = samples.example_uut()
    doc["root"]["steps"][0]["numericMeas"] = [{"value": 3, "lowLimit": 3.0, "highLimit": 4}]
    out = pywats.parse_report(doc).to_wsjf()
    meas = out["root"]["steps"][0]["numericMeas"][0]
    assert [type(meas[k]) for k in ("value", "lowLimit", "highLimit")] == [int, float, int]


def test_null_stays_null_and_absent_stays_absent() -> None:
    doc = samples.example_uut()
    doc["location"] = None
    del doc["purpose"]
    out = pywats.parse_report(doc).to_wsjf()
    assert out["location"] is None
    assert "purpose" not in out


def test_start_text_is_kept_verbatim() -> None:
    doc = samples.example_uut()
    doc["start"] = "2026-03-01T09:15:02.1250000+01:00"
    assert pywats.parse_report(doc).to_wsjf()["start"] == "2026-03-01T09:15:02.1250000+01:00"


def test_for_submit_drops_output_only_fields() -> None:
    out = pywats.parse_report(samples.server_export_uut()).to_wsjf(for_submit=True)
    assert not set(pywats.OUTPUT_ONLY_FIELDS) & set(out)
    expected = samples.server_export_uut()
    for key in pywats.OUTPUT_ONLY_FIELDS:
        expected.pop(key)
    assert canonical(out) == canonical(expected)


def test_uur_process_name_is_not_output_only() -> None:
    doc = samples.example_uur()
    doc["uur"]["processName"] = "ICT"
    out = pywats.parse_report(doc).to_wsjf(for_submit=True)
    assert out["uur"]["processName"] == "ICT"


# ---------------------------------------------------------------- property tests

_KEY_ALPHABET = st.characters(min_codepoint=97, max_codepoint=122)
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
JSON_INTS = st.integers(min_value=-(2**53), max_value=2**53)
FLOATS = st.floats(allow_nan=False, allow_infinity=False)
#: Real files give numbers as JSON strings too ("10", " 3.30", "-1E-3"); they must round-trip.
INTS = JSON_INTS | JSON_INTS.map(str) | JSON_INTS.map(lambda i: f" {i:+d} ")
NUMBERS = INTS | FLOATS | FLOATS.map(repr) | FLOATS.map(lambda f: f"{f:.6E}")
JSON = st.recursive(
    st.none() | st.booleans() | JSON_INTS | FLOATS | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)
#: Keys no model declares: "vendor" + lowercase letters.
EXTRA_KEYS = st.text(_KEY_ALPHABET, min_size=1, max_size=6).map(lambda s: "vendor" + s)


def any_case(values: list[str]) -> st.SearchStrategy[str]:
    """Each value as written, lower case, title case or swapped (real exports mix cases)."""
    return st.sampled_from(values).flatmap(
        lambda v: st.sampled_from([v, v.lower(), v.title(), v.swapcase()])
    )


STATUS = any_case([s.value for s in pywats.Status])
RESULT = any_case(["P", "F", "D", "E", "T"])
COMPOP = any_case([c.value for c in pywats.CompOp])


def nullable(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def obj(
    required: dict[str, st.SearchStrategy[Any]] | None = None,
    **optional: st.SearchStrategy[Any],
) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object: required keys, optional keys (absent, null or a value), unknown extras."""
    body = st.fixed_dictionaries(
        required or {}, optional={k: nullable(v) for k, v in optional.items()}
    )
    extras = st.dictionaries(EXTRA_KEYS, JSON, max_size=2)
    return st.builds(lambda b, e: {**e, **b}, body, extras)


def lists(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    return st.lists(strategy, max_size=3)


NUMERIC_MEAS = obj(
    name=TEXT,
    compOp=COMPOP,
    status=STATUS,
    unit=TEXT,
    value=NUMBERS,
    lowLimit=NUMBERS,
    highLimit=NUMBERS,
    valueFormat=TEXT,
    lowLimitFormat=TEXT,
    highLimitFormat=TEXT,
)
BOOLEAN_MEAS = obj(name=TEXT, status=STATUS)
STRING_MEAS = obj(name=TEXT, compOp=COMPOP, status=STATUS, value=TEXT, limit=TEXT)
SERIES = obj(dataType=TEXT, name=TEXT, xdata=TEXT, ydata=TEXT)
CHART_S = obj(
    chartType=TEXT,
    label=TEXT,
    xLabel=TEXT,
    xUnit=TEXT,
    yLabel=TEXT,
    yUnit=TEXT,
    series=lists(SERIES),
)
LOOP = obj(i=INTS, n=INTS, idx=INTS, num=INTS, endingIndex=INTS, passed=INTS, failed=INTS)
ATTACHMENT = obj(name=TEXT, contentType=TEXT, data=TEXT, description=TEXT)
COMMON = {
    "id": INTS,
    "name": TEXT,
    "group": st.sampled_from(["S", "M", "C"]),
    "status": STATUS,
    "errorCode": INTS,
    "errorCodeFormat": TEXT,
    "errorMessage": TEXT,
    "reportText": TEXT,
    "start": TEXT,
    "totTime": NUMBERS,
    "totTimeFormat": TEXT,
    "tsGuid": TEXT,
    "causedSeqFailure": st.booleans(),
    "causedUUTFailure": st.booleans(),
    "loop": LOOP,
    "additionalResults": lists(JSON),
    "chart": CHART_S,
    "attachment": ATTACHMENT,
}
PAYLOAD_BY_TYPE: dict[str, dict[str, st.SearchStrategy[Any]]] = {}
for _long, _short, _ in samples.STEP_TYPES:
    for _name in filter(None, (_long, _short)):
        PAYLOAD_BY_TYPE[_name] = {}
for _name in ("NumericLimitTest", "ET_NLT", "MultiNumericLimitTest", "ET_MNLT", "WATS_XYGMNLT"):
    PAYLOAD_BY_TYPE[_name] = {"numericMeas": lists(NUMERIC_MEAS)}
for _name in ("PassFailTest", "ET_PFT", "MultiBooleanTest", "ET_MPFT"):
    PAYLOAD_BY_TYPE[_name] = {"booleanMeas": lists(BOOLEAN_MEAS)}
for _name in ("StringValueTest", "ET_SVT", "MultiStringTest", "ET_MSVT"):
    PAYLOAD_BY_TYPE[_name] = {"stringMeas": lists(STRING_MEAS)}
LEAF_TYPES = sorted(set(PAYLOAD_BY_TYPE) - {"SequenceCall", "WATS_SeqCall"})
PAYLOAD_FOLDED = {name.casefold(): payload for name, payload in PAYLOAD_BY_TYPE.items()}


@st.composite
def leaf_step(draw: st.DrawFn) -> dict[str, Any]:
    step_type = draw(any_case(LEAF_TYPES) | st.none() | TEXT)
    payload = PAYLOAD_FOLDED.get(step_type.casefold(), {}) if isinstance(step_type, str) else {}
    doc = draw(obj(**COMMON, **payload))
    if step_type is not None:
        doc["stepType"] = step_type
    return doc


def sequence(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    seq_call = obj(path=TEXT, name=TEXT, version=TEXT)
    return obj(
        {"stepType": any_case(["SequenceCall", "WATS_SeqCall"])},
        **COMMON,
        seqCall=seq_call,
        steps=lists(children),
    )


STEPS = st.recursive(leaf_step(), sequence, max_leaves=12)
ROOT = sequence(STEPS)
HEADER_REQUIRED = {
    "id": TEXT,
    "pn": TEXT,
    "sn": TEXT,
    "rev": TEXT,
    "processCode": INTS,
    "result": RESULT,
    "start": TEXT,
}
SUB_UNIT = obj(
    partType=TEXT,
    pn=TEXT,
    rev=TEXT,
    sn=TEXT,
    position=INTS,
    idx=INTS,
    parentIdx=INTS,
    replacedIdx=INTS,
    failures=lists(
        obj(
            category=TEXT,
            code=TEXT,
            comment=TEXT,
            comRef=TEXT,
            funcBlock=TEXT,
            refStepId=INTS,
            refStepName=TEXT,
            artNumber=TEXT,
            artRev=TEXT,
            artVendor=TEXT,
            artDescription=TEXT,
        )
    ),
)
HEADER_OPTIONAL = {
    "machineName": TEXT,
    "location": TEXT,
    "purpose": TEXT,
    "miscInfos": lists(obj(description=TEXT, text=TEXT, numeric=NUMBERS)),
    "subUnits": lists(SUB_UNIT),
    "assets": lists(
        obj(
            sn=TEXT,
            assetType=TEXT,
            partNumber=TEXT,
            usageCount=INTS,
            calibrationDate=TEXT,
            calibrationDue=TEXT,
        )
    ),
    "binaryData": lists(obj(name=TEXT, contentType=TEXT, data=TEXT, failIdx=INTS)),
    "additionalData": lists(JSON),
    "startUTC": TEXT,
    "origin": JSON,
    "productName": TEXT,
    "processName": TEXT,
    "processCodeFormat": JSON,
    "assetStats": JSON,
}
UUT_INFO = obj(
    user=TEXT,
    comment=TEXT,
    execTime=NUMBERS,
    fixtureId=TEXT,
    testSocketIndex=INTS,
    errorCode=INTS,
    errorMessage=TEXT,
    batchSN=TEXT,
    batchFailCount=INTS,
    batchLoopIndex=INTS,
    stepIdCausedUUTFailure=INTS,
    referencedByUURs=JSON,
)
UUR_INFO = obj(
    user=TEXT,
    comment=TEXT,
    execTime=NUMBERS,
    processCode=INTS,
    processName=TEXT,
    refUUT=TEXT,
    confirmDate=TEXT,
    finalizeDate=TEXT,
    active=st.booleans(),
    parent=JSON,
    children=JSON,
)
UUT_DOCS = obj(
    {**HEADER_REQUIRED, "type": st.sampled_from(["T", "t"])},
    **HEADER_OPTIONAL,
    uut=UUT_INFO,
    root=ROOT,
)
UUR_DOCS = obj(
    {**HEADER_REQUIRED, "type": st.sampled_from(["R", "r"])}, **HEADER_OPTIONAL, uur=UUR_INFO
)

SCALE = max(1, int(os.environ.get("WATS_TORTURE_SCALE", "1")))
PROPERTY = settings(
    max_examples=150 * SCALE,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@PROPERTY
@given(UUT_DOCS)
def test_any_uut_document_round_trips(doc: dict[str, Any]) -> None:
    assert_lossless(doc)


@PROPERTY
@given(UUR_DOCS)
def test_any_uur_document_round_trips(doc: dict[str, Any]) -> None:
    assert_lossless(doc)


@PROPERTY
@given(UUT_DOCS | UUR_DOCS)
def test_for_submit_is_the_document_minus_output_only_fields(doc: dict[str, Any]) -> None:
    expected = {k: v for k, v in doc.items() if k not in pywats.OUTPUT_ONLY_FIELDS}
    out = pywats.parse_report(doc).to_wsjf(for_submit=True)
    assert canonical(out) == canonical(expected)


@PROPERTY
@given(UUT_DOCS)
def test_reparsing_a_dump_is_stable(doc: dict[str, Any]) -> None:
    once = pywats.parse_report(doc).to_wsjf()
    assert canonical(pywats.parse_report(once).to_wsjf()) == canonical(once)
