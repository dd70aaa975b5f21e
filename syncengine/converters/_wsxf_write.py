"""WSJF UUT reports written as WSXF, the way a server export writes them (for tests and tools).

The inverse of ``_wsxf.parse_wsxf`` for what that reader carries: the demo writes its XML
station file with it, and the converter tests write a report and read it back.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

from ._status import STATUS_WORDS

NS = "http://wats.virinco.com/schemas/WATS/Report/wsxf"
_Q = "{" + NS + "}"

_AttrMap = tuple[tuple[str, str], ...]
CHART_ATTRS: _AttrMap = (
    # Read back by _wsxf.parse_wsxf with the same table.
    ("ChartType", "chartType"),
    ("Label", "label"),
    ("XLabel", "xLabel"),
    ("XUnit", "xUnit"),
    ("YLabel", "yLabel"),
    ("YUnit", "yUnit"),
)
_NUMERIC_ATTRS: _AttrMap = (
    ("Name", "name"),
    ("NumericValue", "value"),
    ("LowLimit", "lowLimit"),
    ("HighLimit", "highLimit"),
    ("Units", "unit"),
    ("CompOperator", "compOp"),
)
_STRING_ATTRS: _AttrMap = (
    ("Name", "name"),
    ("CompOperator", "compOp"),
    ("StringLimit", "limit"),
    ("StringValue", "value"),
)
_LOOP_ATTRS: _AttrMap = (
    ("index", "idx"),
    ("num", "num"),
    ("ending_index", "endingIndex"),
    ("passed", "passed"),
    ("failed", "failed"),
)
_UUT_ATTRS: _AttrMap = (
    ("UserLoginName", "user"),
    ("BatchSN", "batchSN"),
    ("TestSocketIndex", "testSocketIndex"),
    ("ExecutionTime", "execTime"),
    ("FixtureId", "fixtureId"),
    ("ErrorCode", "errorCode"),
    ("ErrorMessage", "errorMessage"),
    ("BatchFailCount", "batchFailCount"),
    ("BatchLoopIndex", "batchLoopIndex"),
    ("StepIdCausedUUTFailure", "stepIdCausedUUTFailure"),
)
_REPORT_ATTRS: _AttrMap = (
    ("ID", "id"),
    ("Start", "start"),
    ("Start_utc", "startUTC"),
    ("SN", "sn"),
    ("PN", "pn"),
    ("Rev", "rev"),
    ("origin", "origin"),
    ("MachineName", "machineName"),
    ("Location", "location"),
    ("Purpose", "purpose"),
    ("ProductName", "productName"),
)
GROUP_NAME = {"S": "Setup", "M": "Main", "C": "Cleanup"}


def _set(el: ET.Element, attr: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        el.set(attr, "true" if value else "false")
    else:
        el.set(attr, repr(value) if isinstance(value, float) else str(value))


def _set_from(el: ET.Element, source: Mapping[str, Any], pairs: _AttrMap) -> None:
    for attr, key in pairs:
        _set(el, attr, source.get(key))


def _status(value: str) -> str:
    return STATUS_WORDS.get(value.upper(), value)


def _write_step(parent: ET.Element, step: Mapping[str, Any]) -> None:
    el = ET.SubElement(parent, _Q + "Step")
    _set(el, "Id", step.get("id"))
    _set(el, "Group", GROUP_NAME.get(step.get("group") or "M", step.get("group")))
    _set(el, "Name", step.get("name", ""))
    _set(el, "StepType", step["stepType"])
    _set(el, "Status", _status(step["status"]))
    _set(el, "total_time", step.get("totTime"))
    _set(el, "StepErrorCode", step.get("errorCode"))
    _set(el, "StepErrorMessage", step.get("errorMessage"))
    _set(el, "StepCausedUUTFailure", step.get("causedUUTFailure"))
    _set(el, "TSGuid", step.get("tsGuid"))
    if "reportText" in step:
        ET.SubElement(el, _Q + "ReportText").text = step["reportText"]
    if step.get("loop"):
        _set_from(ET.SubElement(el, _Q + "Loop"), step["loop"], _LOOP_ATTRS)
    if "seqCall" in step:
        call = ET.SubElement(el, _Q + "SequenceCall")
        for attr, key in (("Name", "name"), ("Version", "version"), ("Filepath", "path")):
            _set(call, attr, step["seqCall"].get(key))
    for meas in step.get("numericMeas", ()):
        m = ET.SubElement(el, _Q + "NumericLimit")
        _set_from(m, meas, _NUMERIC_ATTRS)
        _set(m, "Status", _status(meas["status"]))
    for meas in step.get("booleanMeas", ()):
        m = ET.SubElement(el, _Q + "PassFail")
        _set(m, "Name", meas.get("name"))
        _set(m, "Status", _status(meas["status"]))
    for meas in step.get("stringMeas", ()):
        m = ET.SubElement(el, _Q + "StringValue")
        _set_from(m, meas, _STRING_ATTRS)
        _set(m, "Status", _status(meas["status"]))
    if "messagePopup" in step:
        m = ET.SubElement(el, _Q + "MessagePopup")
        _set(m, "Button", step["messagePopup"].get("button"))
        _set(m, "Response", step["messagePopup"].get("response"))
    if "callExe" in step:
        _set(ET.SubElement(el, _Q + "Callexe"), "ExitCode", step["callExe"].get("exitCode"))
    if "chart" in step:
        chart = step["chart"]
        c = ET.SubElement(el, _Q + "Chart")
        _set_from(c, chart, CHART_ATTRS)
        for series in chart.get("series", ()):
            s = ET.SubElement(c, _Q + "Series")
            _set(s, "Name", series.get("name"))
            _set(s, "DataType", series.get("dataType"))
            ET.SubElement(s, _Q + "xdata").text = series.get("xdata", "")
            ET.SubElement(s, _Q + "ydata").text = series.get("ydata", "")
    if "attachment" in step:
        att = step["attachment"]
        a = ET.SubElement(el, _Q + "Attachment")
        _set(a, "Name", att.get("name"))
        _set(a, "ContentType", att.get("contentType"))
        _set(a, "Description", att.get("description"))
        a.text = att.get("data", "")
    for child in step.get("steps", ()):
        _write_step(el, child)


def _write_report(root: ET.Element, report: Mapping[str, Any]) -> None:
    el = ET.SubElement(root, _Q + "Report")
    el.set("type", "UUT")
    _set_from(el, report, _REPORT_ATTRS)
    _set(el, "Result", _status(report["result"]))
    uut = report.get("uut")
    if uut is not None:
        u = ET.SubElement(el, _Q + "UUT")
        _set_from(u, uut, _UUT_ATTRS)
        if "comment" in uut:
            ET.SubElement(u, _Q + "Comment").text = uut["comment"]
    process = ET.SubElement(el, _Q + "Process")
    _set(process, "Code", report["processCode"])
    _set(process, "Name", report.get("processName"))
    for misc in report.get("miscInfos", ()):
        m = ET.SubElement(el, _Q + "MiscInfo")
        _set(m, "Description", misc.get("description"))
        _set(m, "Numeric", misc.get("numeric"))
        m.text = misc.get("text") or ""
    for sub in report.get("subUnits", ()):
        s = ET.SubElement(el, _Q + "ReportUnitHierarchy")
        for attr, key in (
            ("PartType", "partType"),
            ("PN", "pn"),
            ("Rev", "rev"),
            ("SN", "sn"),
            ("Position", "position"),
        ):
            _set(s, attr, sub.get(key))
    if "root" in report:
        _write_step(el, report["root"])


def write_wsxf(reports: Sequence[Mapping[str, Any]]) -> bytes:
    """Write WSJF UUT report dicts (the subset :func:`parse_wsxf` reads) as WSXF bytes."""
    root = ET.Element(_Q + "Reports")
    for report in reports:
        _write_report(root, report)
    ET.register_namespace("", NS)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body
