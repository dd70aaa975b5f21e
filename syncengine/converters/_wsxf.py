"""WSXF, the WATS server's XML report format, to WSJF (and back, for tests and tools).

Namespace ``http://wats.virinco.com/schemas/WATS/Report/wsxf``. The subset handled is UUT reports
(``type="UUT"``) with: the report header attributes, ``UUT``, ``Process``, ``MiscInfo``,
``ReportUnitHierarchy`` (sub-units) and the ``Step`` tree with ``SequenceCall``,
``NumericLimit`` (single and multiple numeric steps), ``PassFail``, ``StringValue``, ``Chart``
with ``Series``, ``Attachment``, ``ReportText`` and ``Loop``. Other step types are kept with
their type and common fields. docs/converters.md has the attribute table.

Security: a DOCTYPE or ENTITY declaration is refused before parsing (no billion-laughs, no
external entities), and files in encodings that are not ASCII-compatible are refused, so that
check cannot be dodged.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ._api import ConversionContext, ConversionError, ConverterBase
from ._text import head, read_bytes

NS = "http://wats.virinco.com/schemas/WATS/Report/wsxf"
_Q = "{" + NS + "}"

# XML attribute <-> WSJF key, shared by the reader and the writer.
_AttrMap = tuple[tuple[str, str], ...]
_CHART_ATTRS: _AttrMap = (
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
_DECL = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)

_STATUS = {
    "Passed": "P",
    "Failed": "F",
    "Skipped": "S",
    "Done": "D",
    "Error": "E",
    "Terminated": "T",
}
_STATUS_NAME = {v: k for k, v in _STATUS.items()}
_GROUP = {"Setup": "S", "Main": "M", "Cleanup": "C"}
_GROUP_NAME = {v: k for k, v in _GROUP.items()}
_NUMERIC = ("ET_NLT", "ET_MNLT", "NumericLimitTest", "MultiNumericLimitTest", "WATS_XYGMNLT")
_BOOLEAN = ("ET_PFT", "ET_MPFT", "PassFailTest", "MultiBooleanTest")
_STRING = ("ET_SVT", "ET_MSVT", "StringValueTest", "MultiStringTest")


class _Reader:
    """Turns one ``Report`` element into a WSJF dict; errors name the element path."""

    def __init__(self, name: str) -> None:
        self.name = name

    def fail(self, where: str, what: str) -> ConversionError:
        return ConversionError(f"{self.name}: {where}: {what}")

    def num(self, el: ET.Element, attr: str, where: str) -> float | None:
        text = el.get(attr)
        if text is None or text == "":
            return None
        try:
            return float(text)
        except ValueError:
            raise self.fail(where, f"{attr}={text!r} is not a number") from None

    def int_(self, el: ET.Element, attr: str, where: str) -> int | None:
        text = el.get(attr)
        if text is None or text == "":
            return None
        try:
            return int(text)
        except ValueError:
            raise self.fail(where, f"{attr}={text!r} is not an integer") from None

    def status(self, el: ET.Element, where: str, attr: str = "Status") -> str:
        text = el.get(attr, "Done")
        if text in _STATUS:
            return _STATUS[text]
        if text in _STATUS_NAME:
            return text
        raise self.fail(where, f"{attr}={text!r} is not one of {', '.join(_STATUS)}")

    def report(self, el: ET.Element, index: int) -> dict[str, Any]:
        where = f"Report[{index}]"
        kind = el.get("type", "UUT")
        if kind != "UUT":
            raise self.fail(where, f"type={kind!r}: only UUT reports are supported in WSXF")
        out: dict[str, Any] = {"type": "T"}
        if el.get("ID"):
            out["id"] = el.get("ID")
        for attr, key in (
            ("PN", "pn"),
            ("SN", "sn"),
            ("Rev", "rev"),
            ("MachineName", "machineName"),
            ("Location", "location"),
            ("Purpose", "purpose"),
        ):
            out[key] = el.get(attr, "")
        out["result"] = self.status(el, where, "Result")
        start = el.get("Start") or el.get("Start_utc")
        if not start:
            raise self.fail(where, "no Start attribute")
        out["start"] = start
        process = el.find(_Q + "Process")
        code = self.int_(process, "Code", where + "/Process") if process is not None else None
        if code is None:
            raise self.fail(where, "no Process element with a Code attribute")
        out["processCode"] = code
        uut = el.find(_Q + "UUT")
        if uut is not None:
            out["uut"] = self.uut(uut, where + "/UUT")
        misc = [self.misc(m) for m in el.findall(_Q + "MiscInfo")]
        if misc:
            out["miscInfos"] = misc
        subs = [
            self.sub_unit(u, f"{where}/ReportUnitHierarchy[{i}]")
            for i, u in enumerate(el.findall(_Q + "ReportUnitHierarchy"))
        ]
        if subs:
            out["subUnits"] = subs
        steps = el.findall(_Q + "Step")
        if len(steps) == 1 and steps[0].get("StepType") == "SequenceCall":
            out["root"] = self.step(steps[0], where + "/Step")
        elif steps:
            out["root"] = {
                "id": 0,
                "group": "M",
                "stepType": "SequenceCall",
                "name": "MainSequence Callback",
                "status": out["result"],
                "steps": [self.step(s, f"{where}/Step[{i}]") for i, s in enumerate(steps)],
            }
        return out

    def uut(self, el: ET.Element, where: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for attr, key in (
            ("UserLoginName", "user"),
            ("BatchSN", "batchSN"),
            ("FixtureId", "fixtureId"),
            ("ErrorMessage", "errorMessage"),
        ):
            if el.get(attr) is not None:
                out[key] = el.get(attr)
        for attr, key in (("TestSocketIndex", "testSocketIndex"), ("ErrorCode", "errorCode")):
            if (value := self.int_(el, attr, where)) is not None:
                out[key] = value
        if (exec_time := self.num(el, "ExecutionTime", where)) is not None:
            out["execTime"] = exec_time
        comment = el.find(_Q + "Comment")
        if comment is not None:
            out["comment"] = comment.text or ""
        return out

    def misc(self, el: ET.Element) -> dict[str, Any]:
        out: dict[str, Any] = {"description": el.get("Description", ""), "text": el.text or ""}
        if el.get("Numeric") not in (None, ""):
            out["numeric"] = self.num(el, "Numeric", "MiscInfo")
        return out

    def sub_unit(self, el: ET.Element, where: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            key: el.get(attr, "")
            for attr, key in (("PartType", "partType"), ("PN", "pn"), ("Rev", "rev"), ("SN", "sn"))
        }
        if (position := self.int_(el, "Position", where)) is not None:
            out["position"] = position
        return out

    def step(self, el: ET.Element, where: str) -> dict[str, Any]:
        kind = el.get("StepType") or "Action"
        out: dict[str, Any] = {
            "stepType": kind,
            "name": el.get("Name", ""),
            "status": self.status(el, where),
        }
        where = f"{where}({out['name']!r})"
        if (step_id := self.int_(el, "Id", where)) is not None:
            out["id"] = step_id
        group = el.get("Group", "Main")
        if group not in _GROUP:
            raise self.fail(where, f"Group={group!r} is not Setup/Main/Cleanup")
        out["group"] = _GROUP[group]
        if (tot := self.num(el, "total_time", where)) is not None:
            out["totTime"] = tot
        if (code := self.int_(el, "ErrorCode", where)) is not None:
            out["errorCode"] = code
        if el.get("ErrorMessage") is not None:
            out["errorMessage"] = el.get("ErrorMessage")
        text = el.find(_Q + "ReportText")
        if text is not None:
            out["reportText"] = text.text or ""
        loop = el.find(_Q + "Loop")
        if loop is not None:
            out["loop"] = {
                "i": self.int_(loop, "Index", where) or 0,
                "n": self.int_(loop, "Num", where) or 0,
            }
        if kind == "SequenceCall":
            call = el.find(_Q + "SequenceCall")
            if call is not None:
                out["seqCall"] = {
                    "path": call.get("Filepath", ""),
                    "name": call.get("Name", ""),
                    "version": call.get("Version", ""),
                }
            out["steps"] = [
                self.step(s, f"{where}/Step[{i}]") for i, s in enumerate(el.findall(_Q + "Step"))
            ]
        elif kind in _NUMERIC:
            out["numericMeas"] = [self.numeric(m, where) for m in el.findall(_Q + "NumericLimit")]
        elif kind in _BOOLEAN:
            out["booleanMeas"] = [self.passfail(m, where) for m in el.findall(_Q + "PassFail")]
        elif kind in _STRING:
            out["stringMeas"] = [self.string(m, where) for m in el.findall(_Q + "StringValue")]
        chart = el.find(_Q + "Chart")
        if chart is not None:
            out["chart"] = self.chart(chart)
        attachment = el.find(_Q + "Attachment")
        if attachment is not None:
            out["attachment"] = {
                "name": attachment.get("Name", ""),
                "contentType": attachment.get("ContentType", ""),
                "data": (attachment.text or "").strip(),
            }
        return out

    def numeric(self, el: ET.Element, where: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "compOp": el.get("CompOperator", "LOG"),
            "status": self.status(el, where),
        }
        if el.get("Name") is not None:
            out["name"] = el.get("Name")
        value = self.num(el, "NumericValue", where)
        if value is None:
            raise self.fail(where, "NumericLimit without NumericValue")
        out["value"] = value
        if el.get("Units") is not None:
            out["unit"] = el.get("Units")
        for attr, key in (("LowLimit", "lowLimit"), ("HighLimit", "highLimit")):
            if (limit := self.num(el, attr, where)) is not None:
                out[key] = limit
        return out

    def passfail(self, el: ET.Element, where: str) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status(el, where)}
        if el.get("Name") is not None:
            out["name"] = el.get("Name")
        return out

    def string(self, el: ET.Element, where: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "compOp": el.get("CompOperator", "LOG"),
            "status": self.status(el, where),
            "value": el.get("StringValue", ""),
        }
        if el.get("StringLimit") is not None:
            out["limit"] = el.get("StringLimit")
        if el.get("Name") is not None:
            out["name"] = el.get("Name")
        return out

    def chart(self, el: ET.Element) -> dict[str, Any]:
        out: dict[str, Any] = {key: el.get(attr, "") for attr, key in _CHART_ATTRS}
        out["series"] = [
            {
                "dataType": s.get("DataType", "XYG"),
                "name": s.get("Name", ""),
                "xdata": (s.findtext(_Q + "xdata") or "").strip(),
                "ydata": (s.findtext(_Q + "ydata") or "").strip(),
            }
            for s in el.findall(_Q + "Series")
        ]
        return out


def parse_wsxf(data: bytes, name: str = "<wsxf>") -> list[dict[str, Any]]:
    """Parse WSXF bytes into WSJF report dicts; :class:`ConversionError` on bad input."""
    if _DECL.search(data):
        raise ConversionError(f"{name}: DOCTYPE/ENTITY declarations are not allowed in WSXF")
    if b"\x00" in data[:4096]:
        raise ConversionError(f"{name}: not an ASCII-compatible encoding (UTF-16/32?) or binary")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line, col = exc.position
        raise ConversionError(f"{name}: malformed XML at line {line} column {col}: {exc}") from None
    except LookupError as exc:  # an encoding declaration Python does not know
        raise ConversionError(f"{name}: unsupported XML encoding: {exc}") from None
    except RecursionError:
        raise ConversionError(f"{name}: XML nested too deeply to be a report") from None
    if root.tag != _Q + "Reports":
        raise ConversionError(f"{name}: root element is {root.tag!r}, expected {{{NS}}}Reports")
    reader = _Reader(name)
    return [reader.report(el, i) for i, el in enumerate(root.findall(_Q + "Report"))]


def _set(el: ET.Element, attr: str, value: Any) -> None:
    if value is not None:
        el.set(attr, repr(value) if isinstance(value, float) else str(value))


def _set_from(el: ET.Element, source: Mapping[str, Any], pairs: _AttrMap) -> None:
    for attr, key in pairs:
        _set(el, attr, source.get(key))


def _write_step(parent: ET.Element, step: Mapping[str, Any]) -> None:
    el = ET.SubElement(parent, _Q + "Step")
    _set(el, "Id", step.get("id"))
    _set(el, "Group", _GROUP_NAME[step.get("group", "M")])
    _set(el, "Name", step.get("name", ""))
    _set(el, "StepType", step["stepType"])
    _set(el, "Status", _STATUS_NAME[step["status"]])
    _set(el, "total_time", step.get("totTime"))
    _set(el, "ErrorCode", step.get("errorCode"))
    _set(el, "ErrorMessage", step.get("errorMessage"))
    if "reportText" in step:
        ET.SubElement(el, _Q + "ReportText").text = step["reportText"]
    if "loop" in step:
        loop = ET.SubElement(el, _Q + "Loop")
        _set(loop, "Index", step["loop"]["i"])
        _set(loop, "Num", step["loop"]["n"])
    if "seqCall" in step:
        call = ET.SubElement(el, _Q + "SequenceCall")
        for attr, key in (("Name", "name"), ("Version", "version"), ("Filepath", "path")):
            _set(call, attr, step["seqCall"].get(key))
    for meas in step.get("numericMeas", ()):
        m = ET.SubElement(el, _Q + "NumericLimit")
        _set_from(m, meas, _NUMERIC_ATTRS)
        _set(m, "Status", _STATUS_NAME[meas["status"]])
    for meas in step.get("booleanMeas", ()):
        m = ET.SubElement(el, _Q + "PassFail")
        _set(m, "Name", meas.get("name"))
        _set(m, "Status", _STATUS_NAME[meas["status"]])
    for meas in step.get("stringMeas", ()):
        m = ET.SubElement(el, _Q + "StringValue")
        _set_from(m, meas, _STRING_ATTRS)
        _set(m, "Status", _STATUS_NAME[meas["status"]])
    if "chart" in step:
        chart = step["chart"]
        c = ET.SubElement(el, _Q + "Chart")
        _set_from(c, chart, _CHART_ATTRS)
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
        a.text = att.get("data", "")
    for child in step.get("steps", ()):
        _write_step(el, child)


def write_wsxf(reports: Sequence[Mapping[str, Any]]) -> bytes:
    """Write WSJF UUT report dicts (the subset :func:`parse_wsxf` reads) as WSXF bytes."""
    root = ET.Element(_Q + "Reports")
    for report in reports:
        el = ET.SubElement(root, _Q + "Report")
        el.set("type", "UUT")
        for attr, key in (
            ("ID", "id"),
            ("Start", "start"),
            ("SN", "sn"),
            ("PN", "pn"),
            ("Rev", "rev"),
            ("MachineName", "machineName"),
            ("Location", "location"),
            ("Purpose", "purpose"),
        ):
            _set(el, attr, report.get(key))
        _set(el, "Result", _STATUS_NAME[report["result"]])
        uut = report.get("uut")
        if uut is not None:
            u = ET.SubElement(el, _Q + "UUT")
            for attr, key in (
                ("UserLoginName", "user"),
                ("BatchSN", "batchSN"),
                ("TestSocketIndex", "testSocketIndex"),
                ("ExecutionTime", "execTime"),
                ("FixtureId", "fixtureId"),
                ("ErrorCode", "errorCode"),
                ("ErrorMessage", "errorMessage"),
            ):
                _set(u, attr, uut.get(key))
            if "comment" in uut:
                ET.SubElement(u, _Q + "Comment").text = uut["comment"]
        _set(ET.SubElement(el, _Q + "Process"), "Code", report["processCode"])
        for misc in report.get("miscInfos", ()):
            m = ET.SubElement(el, _Q + "MiscInfo")
            _set(m, "Description", misc.get("description"))
            _set(m, "Numeric", misc.get("numeric"))
            m.text = misc.get("text", "")
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
    ET.register_namespace("", NS)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body


class WsxfConverter(ConverterBase):
    """WSXF XML files (``*.xml``, ``*.wsxf``) in the WATS report namespace."""

    name = "wsxf"
    version = "1.0"
    patterns = ("*.xml", "*.wsxf")

    def validate(self, path: Path) -> float:
        """0.95 when the WSXF namespace appears near the start of the file."""
        return 0.95 if NS.encode() in head(path) else 0.0

    def convert(self, path: Path, context: ConversionContext) -> list[dict[str, Any]]:
        """Parse every ``Report`` element of the file."""
        return parse_wsxf(read_bytes(path), path.name)
