"""The WATS Standard Text Format (tab-separated header and step sections) to WSJF, and back.

Chosen over TestStand ATML because it is the WATS client's own station-side text format. The
subset read (and written by :func:`write_wats_text`, used by the tests) is::

    --Header-Start--
    SerialNumber<TAB>SN-1          (also PartNumber, Revision, OperationTypeCode, UUTStatus,
    ...                             StartDateTime, ExecutionTime, StationName, OperatorName,
                                    FixtureId, BatchSerialNumber, TestSocketIndex, Comment,
                                    ErrorCode, ErrorMessage, SoftwareName, SoftwareVersion,
                                    Location, Purpose; any other key becomes a misc info)
    Subunit<TAB>PartType<TAB>PartNumber<TAB>SerialNumber<TAB>Revision
    --Step-Data-Start--
    StepType StepName MeasureName Value LowLimit HighLimit CompOperator Unit Status
             StepExecutionTime StepReportText StepErrorCode StepErrorMessage   (tab-separated)
    --Step-Data-End--
    --UUT-End--

Step types: ``SequenceCall`` ... ``EndSequenceCall`` (nesting), ``NumericLimitTest``,
``MultipleNumericLimitTest`` (opens a multi step; ``NumericLimitTest`` lines with an empty
StepName and a MeasureName add measurements; ``EndMultipleNumericLimitTest`` closes it),
``PassFailTest`` (Value True/False), ``StringValueTest`` (the limit is in LowLimit),
``ActionStep``, ``Chart`` (ChartType, Label, XLabel, XUnit, YLabel, YUnit in the following
columns; belongs to the step before it) and ``Series`` (Name, XYG, YData, XData). A header row
starting with ``StepType`` is skipped. One file may hold several ``--Header-Start--`` ...
``--UUT-End--`` blocks, one report each. There is no report id in this format: ingest derives it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ._api import ConversionContext, ConversionError, ConverterBase
from ._status import STATUS_WORDS, status_letter
from ._text import head, read_text

_COLUMNS = (
    "StepType",
    "StepName",
    "MeasureName",
    "Value",
    "LowLimit",
    "HighLimit",
    "CompOperator",
    "Unit",
    "Status",
    "StepExecutionTime",
    "StepReportText",
    "StepErrorCode",
    "StepErrorMessage",
)
_HEADER_TEXT = {
    "SerialNumber": "sn",
    "PartNumber": "pn",
    "Revision": "rev",
    "StationName": "machineName",
    "Location": "location",
    "Purpose": "purpose",
}
_UUT_TEXT = {
    "OperatorName": "user",
    "FixtureId": "fixtureId",
    "BatchSerialNumber": "batchSN",
    "Comment": "comment",
    "ErrorMessage": "errorMessage",
}
_UUT_INT = {"TestSocketIndex": "testSocketIndex", "ErrorCode": "errorCode"}


class _Parser:
    def __init__(self, name: str, context: ConversionContext) -> None:
        self.name = name
        self.context = context

    def fail(self, line: int, what: str) -> ConversionError:
        return ConversionError(f"{self.name}: line {line}: {what}")

    def status(self, text: str, line: int) -> str:
        value = status_letter(text)
        if value is None:
            raise self.fail(line, f"status {text!r} is not Passed/Failed/Skipped/Done/Error")
        return value

    def number(self, text: str, line: int, what: str) -> float:
        try:
            return float(text)
        except ValueError:
            raise self.fail(line, f"{what} {text!r} is not a number") from None

    def integer(self, text: str, line: int, what: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise self.fail(line, f"{what} {text!r} is not an integer") from None

    def start(self, text: str, line: int) -> str:
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise self.fail(line, f"StartDateTime {text!r} is not ISO 8601") from None
        if when.tzinfo is None:
            offset = self.context.option("utc_offset_minutes")
            if offset is None:
                when = when.astimezone()
            else:
                when = when.replace(tzinfo=timezone(timedelta(minutes=int(offset))))
        return when.isoformat()

    def parse(self, text: str) -> list[dict[str, Any]]:
        reports: list[dict[str, Any]] = []
        # Only \n ends a line: str.splitlines() would also split on \x1c, \x85, \u2028 in values.
        lines = [line.rstrip("\r") for line in text.split("\n")]
        i = 0
        while i < len(lines):
            if lines[i].strip() == "--Header-Start--":
                report, i = self.report(lines, i + 1)
                reports.append(report)
            elif lines[i].strip():
                raise self.fail(i + 1, f"expected --Header-Start--, found {lines[i][:40]!r}")
            else:
                i += 1
        return reports

    def report(self, lines: list[str], i: int) -> tuple[dict[str, Any], int]:
        report: dict[str, Any] = {"type": "T"}
        uut: dict[str, Any] = {}
        misc: list[dict[str, Any]] = []
        subs: list[dict[str, Any]] = []
        software: dict[str, str] = {}
        state = "header"
        root: dict[str, Any] = {
            "id": 1,
            "group": "M",
            "stepType": "SequenceCall",
            "name": "MainSequence Callback",
            "status": "D",
            "steps": [],
        }
        builder = _StepBuilder(self, root)
        while i < len(lines):
            raw, n = lines[i], i + 1
            i += 1
            marker = raw.strip()
            if marker == "--UUT-End--":
                if state == "steps":
                    raise self.fail(n, "--UUT-End-- before --Step-Data-End--")
                return self.finish(report, uut, misc, subs, software, root, n), i
            if marker == "--Step-Data-Start--":
                state = "steps"
                continue
            if marker == "--Step-Data-End--":
                builder.close(n)
                state = "footer"
                continue
            if not marker:
                continue
            cells = raw.split("\t")
            if state == "steps":
                builder.line(cells, n)
                continue
            key, value = cells[0].strip(), "\t".join(cells[1:])
            if key == "Subunit":
                parts = [*cells[1:], "", "", "", ""][:4]
                subs.append(dict(zip(("partType", "pn", "sn", "rev"), parts, strict=True)))
            elif key in _HEADER_TEXT:
                report[_HEADER_TEXT[key]] = value
            elif key in _UUT_TEXT:
                uut[_UUT_TEXT[key]] = value
            elif key in _UUT_INT:
                uut[_UUT_INT[key]] = self.integer(value, n, key)
            elif key == "ExecutionTime":
                uut["execTime"] = self.number(value, n, key)
            elif key == "OperationTypeCode":
                report["processCode"] = self.integer(value, n, key)
            elif key == "UUTStatus":
                report["result"] = self.status(value, n)
            elif key == "StartDateTime":
                report["start"] = self.start(value, n)
            elif key in ("SoftwareName", "SoftwareVersion"):
                software[key] = value
            elif state == "header":
                misc.append({"description": key, "text": value})
            else:
                raise self.fail(n, f"unexpected footer line {key!r}")
        raise self.fail(len(lines), "file ends before --UUT-End-- (truncated?)")

    def finish(
        self,
        report: dict[str, Any],
        uut: dict[str, Any],
        misc: list[dict[str, Any]],
        subs: list[dict[str, Any]],
        software: Mapping[str, str],
        root: dict[str, Any],
        n: int,
    ) -> dict[str, Any]:
        for field, key in (
            ("sn", "SerialNumber"),
            ("pn", "PartNumber"),
            ("start", "StartDateTime"),
        ):
            if field not in report:
                raise self.fail(n, f"report has no {key} header line")
        report.setdefault("rev", str(self.context.option("default_revision", "1")))
        report.setdefault("processCode", int(self.context.option("default_process_code", 10)))
        report.setdefault("result", "P")
        report.setdefault("machineName", self.context.station_name or "unknown")
        report.setdefault("location", str(self.context.option("location", "")))
        report.setdefault("purpose", str(self.context.option("purpose", "")))
        if uut:
            report["uut"] = uut
        if misc:
            report["miscInfos"] = misc
        if subs:
            report["subUnits"] = subs
        if software:
            root["seqCall"] = {
                "path": "",
                "name": software.get("SoftwareName", ""),
                "version": software.get("SoftwareVersion", ""),
            }
        root["status"] = report["result"]
        report["root"] = root
        return report


class _StepBuilder:
    """Turns step lines into the nested step tree, tracking sequences and multi steps."""

    def __init__(self, parser: _Parser, root: dict[str, Any]) -> None:
        self.p = parser
        self.stack = [root]
        self.multi: dict[str, Any] | None = None
        self.last: dict[str, Any] | None = None
        self.next_id = 2

    def new_step(self, kind: str, c: dict[str, str], n: int) -> dict[str, Any]:
        step: dict[str, Any] = {
            "id": self.next_id,
            "group": "M",
            "stepType": kind,
            "name": c["StepName"],
            "status": self.p.status(c["Status"] or "Done", n),
        }
        self.next_id += 1
        if c["StepExecutionTime"]:
            step["totTime"] = self.p.number(c["StepExecutionTime"], n, "StepExecutionTime")
        if c["StepReportText"]:
            step["reportText"] = c["StepReportText"]
        if c["StepErrorCode"]:
            step["errorCode"] = self.p.integer(c["StepErrorCode"], n, "StepErrorCode")
        if c["StepErrorMessage"]:
            step["errorMessage"] = c["StepErrorMessage"]
        self.stack[-1]["steps"].append(step)
        self.last = step
        return step

    def numeric(self, c: dict[str, str], n: int) -> dict[str, Any]:
        meas: dict[str, Any] = {
            "compOp": c["CompOperator"] or "LOG",
            "status": self.p.status(c["Status"] or "Done", n),
        }
        if c["MeasureName"]:
            meas["name"] = c["MeasureName"]
        meas["value"] = self.p.number(c["Value"], n, "Value")
        if c["Unit"]:
            meas["unit"] = c["Unit"]
        for col, key in (("LowLimit", "lowLimit"), ("HighLimit", "highLimit")):
            if c[col]:
                meas[key] = self.p.number(c[col], n, col)
        return meas

    def line(self, cells: list[str], n: int) -> None:
        if len(cells) > len(_COLUMNS):
            raise self.p.fail(n, f"{len(cells)} columns; at most {len(_COLUMNS)}")
        c = dict(zip(_COLUMNS, [*cells, *[""] * (len(_COLUMNS) - len(cells))], strict=True))
        kind = c["StepType"]
        if kind == "StepType":
            return
        if kind == "Chart":
            self.chart(cells, n)
            return
        if kind == "Series":
            self.series(cells, n)
            return
        if self.multi is not None and kind not in (
            "NumericLimitTest",
            "EndMultipleNumericLimitTest",
        ):
            raise self.p.fail(n, f"{kind} inside an open MultipleNumericLimitTest")
        if kind == "SequenceCall":
            step = self.new_step("SequenceCall", c, n)
            step["steps"] = []
            self.stack.append(step)
        elif kind == "EndSequenceCall":
            if len(self.stack) == 1:
                raise self.p.fail(n, "EndSequenceCall without SequenceCall")
            self.last = self.stack.pop()
        elif kind == "MultipleNumericLimitTest":
            self.multi = self.new_step("ET_MNLT", c, n)
            self.multi["numericMeas"] = []
        elif kind == "EndMultipleNumericLimitTest":
            if self.multi is None:
                raise self.p.fail(n, "EndMultipleNumericLimitTest without MultipleNumericLimitTest")
            self.last, self.multi = self.multi, None
        elif kind == "NumericLimitTest" and self.multi is not None:
            if c["StepName"] or not c["MeasureName"]:
                raise self.p.fail(
                    n, "a measurement of a multiple step needs a MeasureName and an empty StepName"
                )
            self.multi["numericMeas"].append(self.numeric(c, n))
        elif kind == "NumericLimitTest":
            self.new_step("ET_NLT", c, n)["numericMeas"] = [self.numeric(c, n)]
        elif kind == "PassFailTest":
            step = self.new_step("ET_PFT", c, n)
            step["booleanMeas"] = [{"status": step["status"]}]
        elif kind == "StringValueTest":
            step = self.new_step("ET_SVT", c, n)
            meas = {
                "compOp": c["CompOperator"] or "LOG",
                "status": step["status"],
                "value": c["Value"],
            }
            if c["LowLimit"]:
                meas["limit"] = c["LowLimit"]
            step["stringMeas"] = [meas]
        elif kind == "ActionStep":
            self.new_step("Action", c, n)
        else:
            raise self.p.fail(n, f"unknown step type {kind!r}")

    def chart(self, cells: list[str], n: int) -> None:
        if self.last is None or "chart" in self.last:
            raise self.p.fail(n, "Chart line without a step before it, or a second chart")
        keys = ("chartType", "label", "xLabel", "xUnit", "yLabel", "yUnit")
        values = [*cells[1:], *[""] * 6][:6]
        self.last["chart"] = {**dict(zip(keys, values, strict=True)), "series": []}

    def series(self, cells: list[str], n: int) -> None:
        if self.last is None or "chart" not in self.last:
            raise self.p.fail(n, "Series line without a Chart line before it")
        name, data_type, ydata, xdata = [*cells[1:], "", "", "", ""][:4]
        if data_type != "XYG":
            raise self.p.fail(n, f"series data type {data_type!r} is not XYG")
        self.last["chart"]["series"].append(
            {"dataType": "XYG", "name": name, "xdata": xdata, "ydata": ydata}
        )

    def close(self, n: int) -> None:
        if self.multi is not None:
            raise self.p.fail(n, "--Step-Data-End-- inside a MultipleNumericLimitTest")
        if len(self.stack) > 1:
            raise self.p.fail(
                n, f"--Step-Data-End-- with {len(self.stack) - 1} open SequenceCall(s)"
            )


def parse_wats_text(
    text: str, name: str = "<text>", context: ConversionContext | None = None
) -> list[dict[str, Any]]:
    """Parse WATS Standard Text Format into WSJF report dicts (see the module docstring)."""
    return _Parser(name, context or ConversionContext()).parse(text)


def _fmt(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _step_lines(step: Mapping[str, Any], out: list[str]) -> None:
    def row(kind: str, s: Mapping[str, Any], **cells: Any) -> str:
        values = {
            "StepType": kind,
            "StepName": s.get("name", ""),
            "Status": STATUS_WORDS[s["status"]],
            "StepExecutionTime": s.get("totTime", ""),
            "StepReportText": s.get("reportText", ""),
            "StepErrorCode": s.get("errorCode", ""),
            "StepErrorMessage": s.get("errorMessage", ""),
            **cells,
        }
        return "\t".join(_fmt(values.get(col, "")) for col in _COLUMNS)

    def meas_cells(m: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "MeasureName": m.get("name", ""),
            "Value": m["value"],
            "CompOperator": m["compOp"],
            "LowLimit": m.get("lowLimit", ""),
            "HighLimit": m.get("highLimit", ""),
            "Unit": m.get("unit", ""),
            "Status": STATUS_WORDS[m["status"]],
        }

    kind = step["stepType"]
    if kind == "SequenceCall":
        out.append(row("SequenceCall", step))
        for child in step.get("steps", ()):
            _step_lines(child, out)
        out.append("EndSequenceCall")
    elif kind == "ET_MNLT":
        out.append(row("MultipleNumericLimitTest", step))
        for m in step["numericMeas"]:
            out.append(row("NumericLimitTest", {"status": m["status"]}, **meas_cells(m)))
        out.append("EndMultipleNumericLimitTest")
    elif kind == "ET_NLT":
        out.append(row("NumericLimitTest", step, **meas_cells(step["numericMeas"][0])))
    elif kind == "ET_PFT":
        out.append(row("PassFailTest", step, Value=step["status"] != "F"))
    elif kind == "ET_SVT":
        m = step["stringMeas"][0]
        out.append(
            row(
                "StringValueTest",
                step,
                Value=m["value"],
                LowLimit=m.get("limit", ""),
                CompOperator=m["compOp"],
            )
        )
    else:
        out.append(row("ActionStep", step))
    chart = step.get("chart")
    if chart is not None:
        keys = ("chartType", "label", "xLabel", "xUnit", "yLabel", "yUnit")
        out.append("\t".join(["Chart", *(chart.get(k, "") for k in keys)]))
        for s in chart.get("series", ()):
            out.append("\t".join(["Series", s["name"], "XYG", s["ydata"], s["xdata"]]))


def write_wats_text(reports: Sequence[Mapping[str, Any]]) -> str:
    """Write WSJF UUT reports (the subset :func:`parse_wats_text` reads) as standard text."""
    out: list[str] = []
    for r in reports:
        out.append("--Header-Start--")
        names = {v: k for k, v in _HEADER_TEXT.items()}
        for field in ("sn", "pn", "rev", "machineName", "location", "purpose"):
            out.append(f"{names[field]}\t{r[field]}")
        out += [
            f"OperationTypeCode\t{r['processCode']}",
            f"UUTStatus\t{STATUS_WORDS[r['result']]}",
            f"StartDateTime\t{r['start']}",
        ]
        uut_names = {
            v: k for k, v in {**_UUT_TEXT, **_UUT_INT, "ExecutionTime": "execTime"}.items()
        }
        for key, value in r.get("uut", {}).items():
            out.append(f"{uut_names[key]}\t{_fmt(value)}")
        call = r["root"].get("seqCall")
        if call is not None:
            out += [f"SoftwareName\t{call['name']}", f"SoftwareVersion\t{call['version']}"]
        for sub in r.get("subUnits", ()):
            out.append("\t".join(["Subunit", sub["partType"], sub["pn"], sub["sn"], sub["rev"]]))
        for m in r.get("miscInfos", ()):
            out.append(f"{m['description']}\t{m['text']}")
        out.append("--Step-Data-Start--")
        out.append("\t".join(_COLUMNS))
        for step in r["root"].get("steps", ()):
            _step_lines(step, out)
        out += ["--Step-Data-End--", "--UUT-End--"]
    return "\n".join(out) + "\n"


class WatsTextConverter(ConverterBase):
    """WATS Standard Text Format files (``*.txt``, ``*.wtf``)."""

    name = "wats_text"
    version = "1.0"
    patterns = ("*.txt", "*.wtf")

    def validate(self, path: Path) -> float:
        """0.95 when the file starts with the ``--Header-Start--`` marker."""
        return (
            0.95 if head(path).lstrip(b"\xef\xbb\xbf \r\n").startswith(b"--Header-Start--") else 0.0
        )

    def convert(self, path: Path, context: ConversionContext) -> list[dict[str, Any]]:
        """Parse every report block of the file."""
        encoding = str(context.option("encoding", "utf-8"))
        return parse_wats_text(read_text(path, encoding=encoding), path.name, context)
