"""WSXF, the WATS server's XML report format, read into WSJF (the writer is ``_wsxf_write``).

Namespace ``http://wats.virinco.com/schemas/WATS/Report/wsxf``. UUT reports (``type="UUT"``):
the report header, ``UUT``, ``Process``, ``MiscInfo``, ``ReportUnitHierarchy`` and the ``Step``
tree with ``SequenceCall``, ``NumericLimit``, ``PassFail``, ``StringValue``, ``Chart``/``Series``,
``Attachment``, ``ReportText``, ``Loop`` (export summaries and iterations), ``MessagePopup``,
``CallExe`` and ``AdditionalResults``. A server's WSXF export converts to the report the same
server exports as WSJF (``tests/fixtures/reports/server_export_uut.*`` is the twin pair).
Element and attribute names are matched in any case (real exports write ``Callexe``).
docs/converters.md has the mapping table.

Nothing is dropped silently: an attribute or element this reader does not know is kept, under
the key ``wsxfUnknown`` of the WSJF object it belongs to, and logged (option ``unknown_xml``:
``keep``, the default; ``drop``, logged only; ``error``, the file is refused). The index
attributes a server export adds (``StepIndex``, ``MeasIndex``...), which its own WSJF export does
not carry either, are known and not carried (:data:`NOT_CARRIED`).

Security: a DOCTYPE or ENTITY declaration is refused before parsing (no billion-laughs, no
external entities), and files in encodings that are not ASCII-compatible are refused, so that
check cannot be dodged. Where the bytes ``<!DOCTYPE`` or ``<!ENTITY`` appear, an expat pass
that stops at the start of a DOCTYPE decides, so the text inside a comment or CDATA section
does not refuse a report.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.parsers import expat

from ._api import ConversionContext, ConversionError, ConverterBase, ConverterError
from ._status import status_letter
from ._text import head, read_bytes
from ._wsxf_write import CHART_ATTRS, NS, write_wsxf

__all__ = ["NOT_CARRIED", "NS", "WsxfConverter", "parse_wsxf", "write_wsxf"]

_DECL = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
_GROUP = {"setup": "S", "main": "M", "cleanup": "C", "s": "S", "m": "M", "c": "C"}
_TRUE = {"true": True, "1": True, "false": False, "0": False}

#: Attributes (element -> lower-case names) a server export carries that its WSJF export does
#: not: indexes and sizes derived from the document itself. Known, so not "unknown"; not carried.
NOT_CARRIED: dict[str, frozenset[str]] = {
    "step": frozenset({"stepindex", "idx"}),
    "sequencecall": frozenset({"filename", "measindex"}),
    "numericlimit": frozenset({"measindex", "measordernumber"}),
    "passfail": frozenset({"measindex", "measordernumber"}),
    "stringvalue": frozenset({"measindex", "measordernumber"}),
    "messagepopup": frozenset({"measindex"}),
    "callexe": frozenset({"measindex"}),
    "chart": frozenset({"idx"}),
    "attachment": frozenset({"size"}),
    "miscinfo": frozenset({"typedef", "idx", "order_no"}),
}
UNKNOWN_KEY = "wsxfUnknown"
_UNKNOWN_MODES = ("keep", "drop", "error")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].casefold() if isinstance(tag, str) else ""


class _Node:
    """One element: attributes and children looked up in any case; what is not used is unknown."""

    def __init__(self, el: ET.Element, where: str) -> None:
        self.el = el
        self.where = where
        self.kind = _local(el.tag)
        self.attrs: dict[str, tuple[str, str]] = {}
        for name, value in el.attrib.items():
            if name.startswith(_XSI):
                continue
            key = name.casefold()
            # A second spelling of the same name (Name and name) is kept as unknown, not lost.
            self.attrs[key if key not in self.attrs else "\x00" + name] = (name, value)
        self.used: set[str] = set(NOT_CARRIED.get(self.kind, ()))
        self.children_used: set[int] = set()
        self.text_used = False

    def text(self) -> str:
        """The element's own text, which then counts as read."""
        self.text_used = True
        return self.el.text or ""

    def get(self, *names: str) -> str | None:
        return self.named(*names)[1]

    def named(self, *names: str) -> tuple[str, str | None]:
        """(the attribute's name as written, its value) for the first of ``names`` present."""
        for name in names:
            key = name.casefold()
            if key in self.attrs:
                self.used.add(key)
                return self.attrs[key]
        return names[0], None

    def children(self, *names: str, first: bool = False) -> list[_Node]:
        """The child elements named ``names`` (only the first one with ``first``)."""
        wanted = {n.casefold() for n in names}
        found = [
            (i, child)
            for i, child in enumerate(self.el)
            if isinstance(child.tag, str)
            and child.tag.startswith("{" + NS + "}")
            and _local(child.tag) in wanted
        ]
        if first:
            # A second Loop, Chart... has no place in WSJF: left unused, so it is kept as unknown.
            found = found[:1]
        out = []
        for k, (i, child) in enumerate(found):
            self.children_used.add(i)
            tag = child.tag.rsplit("}", 1)[-1]
            out.append(_Node(child, f"{self.where}/{tag}" + (f"[{k}]" if len(found) > 1 else "")))
        return out

    def child(self, *names: str) -> _Node | None:
        found = self.children(*names, first=True)
        return found[0] if found else None

    def unknown(self) -> dict[str, Any]:
        attrs = {orig: value for key, (orig, value) in self.attrs.items() if key not in self.used}
        elements = [
            _generic(child) for i, child in enumerate(self.el) if i not in self.children_used
        ]
        # Text where none belongs (<Loop index="1">x</Loop>, text between child elements).
        texts = [] if self.text_used else [self.el.text or ""]
        texts += [child.tail or "" for i, child in enumerate(self.el) if i in self.children_used]
        text = "".join(t for t in texts if t.strip())
        out: dict[str, Any] = {}
        if attrs:
            out["attributes"] = attrs
        if elements:
            out["elements"] = elements
        if text:
            out["text"] = text
        return out


def _generic(el: ET.Element) -> dict[str, Any]:
    """Any element as JSON: tag, attributes, text, children (for what has no WSJF field).

    The tag loses the WSXF namespace only; a foreign one stays (``{urn:acme}Probe``).
    """
    tag = el.tag if isinstance(el.tag, str) else ""
    out: dict[str, Any] = {"element": tag.removeprefix("{" + NS + "}")}
    if el.attrib:
        out["attributes"] = dict(el.attrib)
    if el.text and el.text.strip():
        out["text"] = el.text
    kids = []
    for child in el:
        kid = _generic(child)
        if child.tail and child.tail.strip():
            kid["tail"] = child.tail
        kids.append(kid)
    if kids:
        out["children"] = kids
    return out


class _Reader:
    """Turns one ``Report`` element into a WSJF dict; errors name the element path."""

    def __init__(self, name: str, unknown: str, warn: Callable[[str], None]) -> None:
        self.name = name
        self.unknown_mode = unknown
        self.warn = warn

    def fail(self, where: str, what: str) -> ConversionError:
        return ConversionError(f"{self.name}: {where}: {what}")

    def finish(self, node: _Node, out: dict[str, Any]) -> dict[str, Any]:
        """Deal with what ``node`` held that was not read into ``out``; return ``out``."""
        extra = node.unknown()
        if extra:
            self._unknown(node.where, extra, out, extra)
        return out

    def finish_text(self, node: _Node, parent: dict[str, Any]) -> None:
        """A text-only child (``Comment``, ``ReportText``...): its unknowns go to ``parent``."""
        extra = node.unknown()
        if extra:
            entry = {"element": node.el.tag.rsplit("}", 1)[-1], **extra}
            self._unknown(node.where, extra, parent, {"elements": [entry]})

    def _unknown(
        self, where: str, found: dict[str, Any], out: dict[str, Any], kept: dict[str, Any]
    ) -> None:
        what = ", ".join(
            [f"attribute {a}" for a in found.get("attributes", {})]
            + [f"element {e['element']}" for e in found.get("elements", [])]
            + (["text"] if found.get("text") else [])
        )
        if self.unknown_mode == "error":
            raise self.fail(where, f"unknown {what} (option unknown_xml = 'error')")
        keep = self.unknown_mode == "keep"
        self.warn(
            f"{self.name}: {where}: unknown {what} "
            + (f"kept under {UNKNOWN_KEY!r}" if keep else "dropped (unknown_xml = 'drop')")
        )
        if keep:
            held = out.setdefault(UNKNOWN_KEY, {})
            if kept.get("attributes"):
                held.setdefault("attributes", {}).update(kept["attributes"])
            if kept.get("elements"):
                held.setdefault("elements", []).extend(kept["elements"])
            if kept.get("text"):
                held["text"] = held.get("text", "") + kept["text"]

    # -- scalars -------------------------------------------------------------------------

    def num(self, node: _Node, *attrs: str) -> float | None:
        attr, text = node.named(*attrs)
        if text is None or text.strip() == "":
            return None
        try:
            value = float(text)
        except ValueError:
            raise self.fail(node.where, f"{attr}={text!r} is not a number") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise self.fail(node.where, f"{attr}={text!r} is not a finite number")
        return value

    def int_(self, node: _Node, *attrs: str) -> int | None:
        attr, text = node.named(*attrs)
        if text is None or text.strip() == "":
            return None
        try:
            return int(text)
        except ValueError:
            raise self.fail(node.where, f"{attr}={text!r} is not an integer") from None

    def bool_(self, node: _Node, attr: str) -> bool | None:
        text = node.get(attr)
        if text is None or text.strip() == "":
            return None
        if text.strip().casefold() not in _TRUE:
            raise self.fail(node.where, f"{attr}={text!r} is not true/false")
        return _TRUE[text.strip().casefold()]

    def status(self, node: _Node, attr: str = "Status") -> str:
        text = node.get(attr)
        if text is None:
            return "D"
        found = status_letter(text)
        if found is None:
            raise self.fail(
                node.where,
                f"{attr}={text!r} is not one of Passed, Failed, Skipped, Done, Error, Terminated",
            )
        return found

    def put(self, out: dict[str, Any], key: str, value: Any) -> None:
        if value is not None:
            out[key] = value

    # -- report --------------------------------------------------------------------------

    def report(self, node: _Node) -> dict[str, Any]:
        kind = node.get("type") or "UUT"
        if kind.casefold() != "uut":
            raise self.fail(node.where, f"type={kind!r}: only UUT reports are supported in WSXF")
        out: dict[str, Any] = {"type": "T"}
        self.put(out, "id", node.get("ID") or None)
        for attr, key in (
            ("PN", "pn"),
            ("SN", "sn"),
            ("Rev", "rev"),
            ("MachineName", "machineName"),
            ("Location", "location"),
            ("Purpose", "purpose"),
        ):
            out[key] = node.get(attr) or ""
        out["result"] = self.status(node, "Result")
        start, start_utc = node.get("Start"), node.get("Start_utc")
        if not start and not start_utc:
            raise self.fail(node.where, "no Start attribute")
        out["start"] = start or start_utc
        self.put(out, "startUTC", start_utc if start else None)
        self.put(out, "origin", node.get("origin"))
        self.put(out, "productName", node.get("ProductName"))
        process = node.child("Process")
        code = self.int_(process, "Code") if process is not None else None
        if code is None:
            raise self.fail(node.where, "no Process element with a Code attribute")
        out["processCode"] = code
        if process is not None:
            self.put(out, "processName", process.get("Name"))
            self.finish(process, out)
        uut = node.child("UUT")
        if uut is not None:
            out["uut"] = self.uut(uut)
        misc = [self.misc(m) for m in node.children("MiscInfo")]
        if misc:
            out["miscInfos"] = misc
        subs = [self.sub_unit(u) for u in node.children("ReportUnitHierarchy")]
        if subs:
            out["subUnits"] = subs
        extra = [self.generic_child(a) for a in node.children("AdditionalData")]
        if extra:
            out["additionalData"] = extra
        steps = node.children("Step")
        if len(steps) == 1 and (steps[0].get("StepType") or "").casefold() == "sequencecall":
            out["root"] = self.step(steps[0])
        elif steps:
            out["root"] = {
                "id": 0,
                "group": "M",
                "stepType": "SequenceCall",
                "name": "MainSequence Callback",
                "status": out["result"],
                "steps": [self.step(s) for s in steps],
            }
        return self.finish(node, out)

    def uut(self, node: _Node) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for attr, key in (
            ("UserLoginName", "user"),
            ("BatchSN", "batchSN"),
            ("FixtureId", "fixtureId"),
            ("ErrorMessage", "errorMessage"),
        ):
            self.put(out, key, node.get(attr))
        for attr, key in (
            ("TestSocketIndex", "testSocketIndex"),
            ("ErrorCode", "errorCode"),
            ("BatchFailCount", "batchFailCount"),
            ("BatchLoopIndex", "batchLoopIndex"),
            ("StepIdCausedUUTFailure", "stepIdCausedUUTFailure"),
        ):
            self.put(out, key, self.int_(node, attr))
        self.put(out, "execTime", self.num(node, "ExecutionTime"))
        comment = node.child("Comment")
        if comment is not None:
            out["comment"] = comment.text()
            self.finish_text(comment, out)
        return self.finish(node, out)

    def misc(self, node: _Node) -> dict[str, Any]:
        out: dict[str, Any] = {"description": node.get("Description") or ""}
        out["text"] = node.text()
        self.put(out, "numeric", self.num(node, "Numeric"))
        return self.finish(node, out)

    def sub_unit(self, node: _Node) -> dict[str, Any]:
        out: dict[str, Any] = {
            key: node.get(attr) or ""
            for attr, key in (("PartType", "partType"), ("PN", "pn"), ("Rev", "rev"), ("SN", "sn"))
        }
        for attr, key in (
            ("Position", "position"),
            ("Idx", "idx"),
            ("ParentIdx", "parentIdx"),
            ("ReplacedIdx", "replacedIdx"),
        ):
            self.put(out, key, self.int_(node, attr))
        return self.finish(node, out)

    def generic_child(self, node: _Node) -> dict[str, Any]:
        node.used.update(node.attrs)
        node.children_used.update(range(len(node.el)))
        node.text_used = True
        return _generic(node.el)

    # -- steps ---------------------------------------------------------------------------

    def step(self, node: _Node) -> dict[str, Any]:
        kind = node.get("StepType") or "Action"
        out: dict[str, Any] = {"stepType": kind, "name": node.get("Name") or ""}
        node.where = f"{node.where}({out['name']!r})"
        out["status"] = self.status(node)
        self.put(out, "id", self.int_(node, "Id"))
        group = node.get("Group") or "Main"
        if group.casefold() not in _GROUP:
            raise self.fail(node.where, f"Group={group!r} is not Setup/Main/Cleanup")
        out["group"] = _GROUP[group.casefold()]
        self.put(out, "totTime", self.num(node, "total_time"))
        self.put(out, "errorCode", self.int_(node, "StepErrorCode", "ErrorCode"))
        self.put(out, "errorMessage", node.get("StepErrorMessage", "ErrorMessage"))
        self.put(out, "causedUUTFailure", self.bool_(node, "StepCausedUUTFailure"))
        self.put(out, "causedSeqFailure", self.bool_(node, "StepCausedSequenceFailure"))
        self.put(out, "tsGuid", node.get("TSGuid"))
        text = node.child("ReportText")
        if text is not None:
            out["reportText"] = text.text()
            self.finish_text(text, out)
        loop = node.child("Loop")
        if loop is not None:
            out["loop"] = self.loop(loop)
        call = node.child("SequenceCall")
        if call is not None:
            out["seqCall"] = {
                key: call.get(attr) or ""
                for attr, key in (("Filepath", "path"), ("Name", "name"), ("Version", "version"))
            }
            self.finish(call, out["seqCall"])
        for tag, key, read in (
            ("NumericLimit", "numericMeas", self.numeric),
            ("PassFail", "booleanMeas", self.passfail),
            ("StringValue", "stringMeas", self.string),
        ):
            found = [read(m) for m in node.children(tag)]
            if found:
                out[key] = found
        popup = node.child("MessagePopup")
        if popup is not None:
            out["messagePopup"] = {}
            self.put(out["messagePopup"], "button", self.int_(popup, "Button"))
            self.put(out["messagePopup"], "response", popup.get("Response"))
            self.finish(popup, out["messagePopup"])
        exe = node.child("CallExe")
        if exe is not None:
            out["callExe"] = {}
            self.put(out["callExe"], "exitCode", self.num(exe, "ExitCode"))
            self.finish(exe, out["callExe"])
        chart = node.child("Chart")
        if chart is not None:
            out["chart"] = self.chart(chart)
        attachment = node.child("Attachment")
        if attachment is not None:
            out["attachment"] = self.attachment(attachment)
        results = [self.generic_child(a) for a in node.children("AdditionalResults")]
        if results:
            out["additionalResults"] = results
        children = node.children("Step")
        if kind.casefold() == "sequencecall" or children:
            out["steps"] = [self.step(s) for s in children]
        return self.finish(node, out)

    def loop(self, node: _Node) -> dict[str, Any]:
        """``<Loop index>`` (one iteration) or ``<Loop num passed failed ending_index>``."""
        out: dict[str, Any] = {}
        for attr, key in (
            ("index", "idx"),
            ("num", "num"),
            ("ending_index", "endingIndex"),
            ("passed", "passed"),
            ("failed", "failed"),
        ):
            self.put(out, key, self.int_(node, attr))
        return self.finish(node, out)

    def numeric(self, node: _Node) -> dict[str, Any]:
        out: dict[str, Any] = {"compOp": node.get("CompOperator") or "LOG"}
        out["status"] = self.status(node)
        self.put(out, "name", node.get("Name"))
        value = self.num(node, "NumericValue")
        if value is None:
            raise self.fail(node.where, "NumericLimit without NumericValue")
        out["value"] = value
        self.put(out, "unit", node.get("Units"))
        self.put(out, "lowLimit", self.num(node, "LowLimit"))
        self.put(out, "highLimit", self.num(node, "HighLimit"))
        return self.finish(node, out)

    def passfail(self, node: _Node) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status(node)}
        self.put(out, "name", node.get("Name"))
        return self.finish(node, out)

    def string(self, node: _Node) -> dict[str, Any]:
        out: dict[str, Any] = {"compOp": node.get("CompOperator") or "LOG"}
        out["status"] = self.status(node)
        out["value"] = node.get("StringValue") or ""
        self.put(out, "limit", node.get("StringLimit"))
        self.put(out, "name", node.get("Name"))
        return self.finish(node, out)

    def chart(self, node: _Node) -> dict[str, Any]:
        out: dict[str, Any] = {key: node.get(attr) or "" for attr, key in CHART_ATTRS}
        out["series"] = []
        for series in node.children("Series"):
            item: dict[str, Any] = {
                "dataType": series.get("DataType") or "XYG",
                "name": series.get("Name") or "",
            }
            for tag in ("xdata", "ydata"):
                data = series.child(tag)
                item[tag] = (data.text() if data is not None else "").strip()
                if data is not None:
                    self.finish_text(data, item)
            out["series"].append(self.finish(series, item))
        return self.finish(node, out)

    def attachment(self, node: _Node) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": node.get("Name") or "",
            "contentType": node.get("ContentType") or "",
            "data": node.text().strip(),
        }
        self.put(out, "description", node.get("Description"))
        return self.finish(node, out)


class _DoctypeFound(ConverterError):
    """Internal: stops the DOCTYPE scan of :func:`_declares_dtd`; caught there, never escapes."""


def _declares_dtd(data: bytes) -> bool:
    """Whether the document really has a DOCTYPE (``_DECL`` also matches comments and CDATA).

    A bare expat pass that stops at the start of the DOCTYPE, before its internal subset is
    read: no entity is declared or expanded. A document this pass cannot read to the end is
    taken as declaring one (refused as before): only a clean read clears the match.
    """

    def stop(*_args: object) -> None:
        raise _DoctypeFound

    scanner = expat.ParserCreate()
    scanner.StartDoctypeDeclHandler = stop
    scanner.EntityDeclHandler = stop
    try:
        scanner.Parse(data, True)
    except _DoctypeFound:
        return True
    except (expat.ExpatError, ValueError, LookupError, RecursionError):
        return True
    return False


def parse_wsxf(
    data: bytes,
    name: str = "<wsxf>",
    *,
    unknown_xml: str = "keep",
    warn: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Parse WSXF bytes into WSJF report dicts; :class:`ConversionError` on bad input.

    ``unknown_xml``: what to do with attributes and elements this reader does not know:
    ``keep`` them under ``wsxfUnknown``, ``drop`` them, or raise (``error``). Each is reported
    through ``warn`` unless it raised.
    """
    if unknown_xml not in _UNKNOWN_MODES:
        raise ConversionError(
            f"option unknown_xml must be one of {', '.join(_UNKNOWN_MODES)}, got {unknown_xml!r}"
        )
    if _DECL.search(data) and _declares_dtd(data):
        raise ConversionError(f"{name}: DOCTYPE/ENTITY declarations are not allowed in WSXF")
    if b"\x00" in data[:4096]:
        raise ConversionError(f"{name}: not an ASCII-compatible encoding (UTF-16/32?) or binary")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line, col = exc.position
        raise ConversionError(f"{name}: malformed XML at line {line} column {col}: {exc}") from None
    except (LookupError, ValueError) as exc:
        # An encoding Python does not know (LookupError), or one expat cannot take, such as a
        # multi-byte codec like UTF-7 (ValueError): the file is bad, the converter is not.
        raise ConversionError(f"{name}: unsupported XML encoding: {exc}") from None
    except RecursionError:
        raise ConversionError(f"{name}: XML nested too deeply to be a report") from None
    if root.tag != "{" + NS + "}Reports":
        raise ConversionError(f"{name}: root element is {root.tag!r}, expected {{{NS}}}Reports")
    reader = _Reader(name, unknown_xml, warn or (lambda _message: None))
    top = _Node(root, "Reports")
    reports = []
    for i, node in enumerate(top.children("Report")):
        node.where = f"Report[{i}]"
        try:
            reports.append(reader.report(node))
        except RecursionError:
            # expat builds any depth; the step reader recurses once per level.
            raise ConversionError(f"{name}: Report[{i}]: steps nested too deeply") from None
    others = top.unknown()
    if others and unknown_xml == "error":
        raise reader.fail("Reports", "elements other than Report (option unknown_xml = 'error')")
    if others:
        reader.warn(f"{name}: Reports: content other than Report elements ignored: {others}")
    return reports


class WsxfConverter(ConverterBase):
    """WSXF XML files (``*.xml``, ``*.wsxf``) in the WATS report namespace.

    Option ``unknown_xml`` (``keep``/``drop``/``error``, default ``keep``): see the module doc.
    """

    name = "wsxf"
    version = "2.0"
    patterns = ("*.xml", "*.wsxf")

    def validate(self, path: Path) -> float:
        """0.95 when the WSXF namespace appears near the start of the file."""
        return 0.95 if NS.encode() in head(path) else 0.0

    def convert(self, path: Path, context: ConversionContext) -> list[dict[str, Any]]:
        """Parse every ``Report`` element of the file."""
        return parse_wsxf(
            read_bytes(path),
            path.name,
            unknown_xml=str(context.option("unknown_xml", "keep")),
            warn=context.logger.warning,
        )
