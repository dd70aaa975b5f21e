"""Hypothesis strategies for WSJF UUT reports inside the subset every built-in format carries."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime, timedelta, timezone

from hypothesis import strategies as st

STATUSES = ("P", "F", "S", "D", "E", "T")
REPORT_RESULTS = ("P", "F", "D", "E", "T")
NUMERIC_OPS = ("LOG", "EQ", "NE", "LT", "LE", "GT", "GE", "GELE", "GTLT", "LTGT", "LEGE")

# XML 1.0 cannot carry control characters and WSJF names are short; stay inside both.
text = st.text(
    st.characters(whitelist_categories=("L", "N", "P", "Zs", "S"), max_codepoint=0x2FFF),
    max_size=20,
)
nonempty = text.filter(lambda s: s.strip() != "")
identifier = st.text(
    st.sampled_from("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-_."), min_size=1, max_size=16
)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
small_int = st.integers(min_value=0, max_value=10_000)


@st.composite
def start_times(draw: st.DrawFn) -> str:
    """An ISO-8601 local time with a UTC offset, as stations write it."""
    moment = draw(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1)))
    minutes = draw(st.integers(min_value=-12 * 4, max_value=14 * 4)) * 15
    return moment.replace(tzinfo=timezone(timedelta(minutes=minutes))).isoformat()


def _optional(draw: st.DrawFn, out: dict, key: str, strategy: st.SearchStrategy) -> None:
    if draw(st.booleans()):
        out[key] = draw(strategy)


@st.composite
def numeric_meas(draw: st.DrawFn, named: bool) -> dict:
    meas = {"compOp": draw(st.sampled_from(NUMERIC_OPS)), "status": draw(st.sampled_from(STATUSES))}
    if named:
        meas["name"] = draw(text)
    meas["value"] = draw(finite)
    _optional(draw, meas, "unit", text)
    _optional(draw, meas, "lowLimit", finite)
    _optional(draw, meas, "highLimit", finite)
    return meas


@st.composite
def charts(draw: st.DrawFn) -> dict:
    chart = {
        key: draw(text) for key in ("chartType", "label", "xLabel", "xUnit", "yLabel", "yUnit")
    }
    numbers = st.lists(finite, max_size=5).map(lambda xs: ";".join(repr(x) for x in xs))
    chart["series"] = draw(
        st.lists(
            st.fixed_dictionaries(
                {"dataType": st.just("XYG"), "name": text, "xdata": numbers, "ydata": numbers}
            ),
            max_size=2,
        )
    )
    return chart


@st.composite
def leaf_steps(draw: st.DrawFn) -> dict:
    kind = draw(
        st.sampled_from(["ET_NLT", "ET_MNLT", "ET_PFT", "ET_SVT", "WATS_XYGMNLT", "Action"])
    )
    step = {"stepType": kind, "name": draw(text), "status": draw(st.sampled_from(STATUSES))}
    _common(draw, step)
    if kind in ("ET_NLT", "WATS_XYGMNLT"):
        step["numericMeas"] = [draw(numeric_meas(named=False))]
    elif kind == "ET_MNLT":
        step["numericMeas"] = draw(st.lists(numeric_meas(named=True), min_size=1, max_size=3))
    elif kind == "ET_PFT":
        step["booleanMeas"] = [{"status": draw(st.sampled_from(STATUSES))}]
    elif kind == "ET_SVT":
        meas = {
            "compOp": draw(st.sampled_from(["LOG", "CASESENSIT", "IGNORECASE"])),
            "status": draw(st.sampled_from(STATUSES)),
            "value": draw(text),
        }
        _optional(draw, meas, "limit", text)
        step["stringMeas"] = [meas]
    if kind == "WATS_XYGMNLT":
        step["chart"] = draw(charts())
    if kind == "Action" and draw(st.booleans()):
        step["attachment"] = {
            "name": draw(nonempty),
            "contentType": "image/png",
            "data": base64.b64encode(draw(st.binary(max_size=30))).decode("ascii"),
        }
    return step


def _common(draw: st.DrawFn, step: dict) -> None:
    step["id"] = draw(small_int)
    step["group"] = draw(st.sampled_from("SMC"))
    _optional(draw, step, "totTime", finite.filter(lambda x: x >= 0))
    _optional(draw, step, "errorCode", st.integers(min_value=-(2**31), max_value=2**31 - 1))
    _optional(draw, step, "errorMessage", text)
    _optional(draw, step, "reportText", text)


def sequence_steps(children: st.SearchStrategy) -> st.SearchStrategy:
    @st.composite
    def build(draw: st.DrawFn) -> dict:
        step = {
            "stepType": "SequenceCall",
            "name": draw(text),
            "status": draw(st.sampled_from(STATUSES)),
        }
        _common(draw, step)
        if draw(st.booleans()):
            step["loop"] = {"i": draw(small_int), "n": draw(small_int)}
        if draw(st.booleans()):
            step["seqCall"] = {"path": draw(text), "name": draw(text), "version": draw(text)}
        step["steps"] = draw(st.lists(children, max_size=4))
        return step

    return build()


steps = st.recursive(leaf_steps(), sequence_steps, max_leaves=12)


@st.composite
def uut_reports(draw: st.DrawFn, with_id: bool = True) -> dict:
    """A valid WSJF UUT report using the fields WSJF, WSXF and pywats all carry."""
    report: dict = {"type": "T"}
    if with_id:
        report["id"] = str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1))))
    report.update(
        pn=draw(identifier),
        sn=draw(identifier),
        rev=draw(identifier),
        machineName=draw(identifier),
        location=draw(text),
        purpose=draw(text),
        result=draw(st.sampled_from(REPORT_RESULTS)),
        start=draw(start_times()),
        processCode=draw(small_int),
    )
    if draw(st.booleans()):
        uut: dict = {}
        for key in ("user", "batchSN", "fixtureId", "errorMessage", "comment"):
            _optional(draw, uut, key, text)
        for key in ("testSocketIndex", "errorCode"):
            _optional(draw, uut, key, small_int)
        _optional(draw, uut, "execTime", finite.filter(lambda x: x >= 0))
        report["uut"] = uut
    misc = draw(
        st.lists(st.fixed_dictionaries({"description": nonempty, "text": text}), max_size=3)
    )
    if misc:
        report["miscInfos"] = misc
    subs = draw(
        st.lists(
            st.fixed_dictionaries(
                {"partType": nonempty, "pn": identifier, "rev": identifier, "sn": identifier}
            ),
            max_size=3,
        )
    )
    if subs:
        report["subUnits"] = subs
    if draw(st.booleans()):
        report["root"] = draw(sequence_steps(steps))
    return report
