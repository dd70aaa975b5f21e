"""A configurable CSV/table converter for simple stations.

Two layouts, chosen with ``options.layout``:

- ``"row"`` (default): one report per row; header fields come from mapped columns and every
  other column (or the ones listed in ``options.steps``) becomes a step.
- ``"group"``: one report per run of rows sharing the ``group_by`` columns (default: the serial
  number column); each row is one step, described by ``options.step_columns``.

All mapping lives in the watch folder's ``options``; see docs/converters.md for the table.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ._api import ConversionContext, ConversionError, ConverterBase
from ._status import status_letter
from ._text import head, read_text

HEADER_FIELDS = (
    "sn",
    "pn",
    "rev",
    "result",
    "start",
    "process_code",
    "station",
    "location",
    "purpose",
    "operator",
    "batch_sn",
    "fixture_id",
    "exec_time",
    "comment",
)
#: What hand-made CSV files write besides the status words and letters.
_ALIASES = {
    **dict.fromkeys(("pass", "ok", "true", "1", "good"), "P"),
    **dict.fromkeys(("fail", "ng", "false", "0", "bad"), "F"),
    "skip": "S",
}


def _status(text: str, where: str, *, step: bool = False) -> str:
    letter = status_letter(text) or _ALIASES.get(text.strip().casefold())
    if letter is None or (letter == "S" and not step):  # a report is never "skipped"
        raise ConversionError(f"{where}: {text!r} is not a result (use P/F/pass/fail/...)")
    return letter


class _Table:
    """The parsed file plus the helpers that report errors with file, row and column."""

    def __init__(self, path: Path, context: ConversionContext) -> None:
        self.path = path
        self.opts: Mapping[str, Any] = context.options
        text = read_text(path, encoding=str(self.opts.get("encoding", "utf-8")))
        delimiter = str(self.opts.get("delimiter", ","))
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        try:
            rows = [r for r in reader if any(cell.strip() for cell in r)]
        except csv.Error as exc:
            raise ConversionError(f"{path.name}: line {reader.line_num}: {exc}") from None
        if not rows:
            raise ConversionError(f"{path.name}: empty file (no header row)")
        self.header = [h.strip() for h in rows[0]]
        self.rows = rows[1:]
        self.by_lower = {h.lower(): i for i, h in enumerate(self.header)}
        for n, row in enumerate(self.rows, start=2):
            if len(row) != len(self.header):
                raise ConversionError(
                    f"{path.name}: row {n} has {len(row)} fields, the header has "
                    f"{len(self.header)} (truncated file or wrong delimiter?)"
                )
        mapping = dict(self.opts.get("columns", {}) or {})
        unknown = set(mapping) - set(HEADER_FIELDS)
        if unknown:
            raise ConversionError(f"options.columns: unknown field(s) {sorted(unknown)}")
        self.columns: dict[str, int] = {}
        for field in HEADER_FIELDS:
            col = mapping.get(field, field)
            idx = self.by_lower.get(str(col).lower())
            if idx is not None:
                self.columns[field] = idx
            elif field in mapping:
                raise ConversionError(
                    f"{path.name}: column {col!r} (options.columns.{field}) not in the header"
                )
        self.decimal = str(self.opts.get("decimal", "."))

    def cell(self, row: list[str], field: str) -> str | None:
        idx = self.columns.get(field)
        value = row[idx].strip() if idx is not None else ""
        if value:
            return value
        default = (self.opts.get("defaults", {}) or {}).get(field)
        return None if default is None else str(default)

    def number(self, text: str, where: str) -> float:
        try:
            value = float(text.strip().replace(self.decimal, "."))
        except ValueError:
            raise ConversionError(f"{where}: {text!r} is not a number") from None
        if not math.isfinite(value):
            raise ConversionError(f"{where}: {text!r} is not a finite number")
        return value

    def where(self, rownum: int, column: str) -> str:
        return f"{self.path.name}: row {rownum}, column {column!r}"


def _start(table: _Table, text: str | None, where: str) -> str:
    if text is None:
        raise ConversionError(f"{where}: no start time (map options.columns.start)")
    fmt = table.opts.get("start_format")
    try:
        when = datetime.strptime(text, str(fmt)) if fmt else datetime.fromisoformat(text)
    except ValueError:
        raise ConversionError(f"{where}: {text!r} is not a date/time") from None
    if when.tzinfo is None:
        offset = table.opts.get("utc_offset_minutes")
        if offset is None:
            when = when.astimezone()  # the station's local zone, as the station wrote it
        else:
            when = when.replace(tzinfo=timezone(timedelta(minutes=int(offset))))
    return when.isoformat()


def _numeric_step(value: float, spec: Mapping[str, Any], name: str, unit: str) -> dict[str, Any]:
    low, high = spec.get("low"), spec.get("high")
    meas: dict[str, Any] = {"value": value, "unit": unit}
    if low is not None and high is not None:
        ok = float(low) <= value <= float(high)
        meas.update(compOp="GELE", lowLimit=float(low), highLimit=float(high))
    elif low is not None:
        ok = value >= float(low)
        meas.update(compOp="GE", lowLimit=float(low))
    elif high is not None:
        ok = value <= float(high)
        meas.update(compOp="LE", lowLimit=float(high))
    else:
        ok = True
        meas["compOp"] = "LOG"
    status = "P" if ok else "F"
    meas["status"] = status
    return {"stepType": "ET_NLT", "name": name, "status": status, "numericMeas": [meas]}


class CsvConverter(ConverterBase):
    """Configurable CSV: one report per row, or per group of rows (one step per row)."""

    name = "csv"
    version = "1.0"
    patterns = ("*.csv", "*.txt", "*.tsv")

    def validate(self, path: Path) -> float:
        """0.5 when the first line looks like a delimited header with a serial number column."""
        first = head(path).split(b"\n", 1)[0].lower()
        if b"\x00" in first or not first.strip():
            return 0.0
        return 0.5 if b"sn" in first and (b"," in first or b";" in first or b"\t" in first) else 0.0

    def convert(self, path: Path, context: ConversionContext) -> list[dict[str, Any]]:
        """Apply the configured layout to every data row."""
        table = _Table(path, context)
        layout = context.options.get("layout", "row")
        if layout == "row":
            return [self._row_report(table, context, row, n) for n, row in _numbered(table)]
        if layout == "group":
            return self._group_reports(table, context)
        raise ConversionError(f"options.layout must be 'row' or 'group', not {layout!r}")

    def _header(
        self, table: _Table, context: ConversionContext, row: list[str], n: int
    ) -> dict[str, Any]:
        def need(field: str) -> str:
            value = table.cell(row, field)
            if value is None:
                raise ConversionError(
                    f"{path.name}: row {n}: no value for {field} "
                    f"(map options.columns.{field} or set options.defaults.{field})"
                )
            return value

        path = table.path
        code_text = table.cell(row, "process_code") or "10"
        try:
            code = int(code_text)
        except ValueError:
            raise ConversionError(table.where(n, "process_code") + ": not an integer") from None
        report: dict[str, Any] = {
            "type": "T",
            "sn": need("sn"),
            "pn": need("pn"),
            "rev": table.cell(row, "rev") or "1",
            "processCode": code,
            "machineName": table.cell(row, "station") or context.station_name or "unknown",
            "location": table.cell(row, "location") or "",
            "purpose": table.cell(row, "purpose") or "",
            "start": _start(table, table.cell(row, "start"), f"{path.name}: row {n}"),
        }
        uut: dict[str, Any] = {}
        for field, key in (("operator", "user"), ("batch_sn", "batchSN"), ("comment", "comment")):
            if (value := table.cell(row, field)) is not None:
                uut[key] = value
        if (fixture := table.cell(row, "fixture_id")) is not None:
            uut["fixtureId"] = fixture
        if (exec_time := table.cell(row, "exec_time")) is not None:
            uut["execTime"] = table.number(exec_time, table.where(n, "exec_time"))
        if uut:
            report["uut"] = uut
        return report

    def _finish(
        self, report: dict[str, Any], steps: list[dict[str, Any]], given: str | None, where: str
    ) -> dict[str, Any]:
        for i, step in enumerate(steps, start=2):
            step["id"] = i
            step["group"] = "M"
        failed = any(s["status"] == "F" for s in steps)
        result = _status(given, where) if given is not None else ("F" if failed else "P")
        report["result"] = result
        report["root"] = {
            "id": 1,
            "group": "M",
            "stepType": "SequenceCall",
            "name": "MainSequence Callback",
            "status": result if result in ("P", "F", "E", "T") else "D",
            "steps": steps,
        }
        return report

    def _row_report(
        self, table: _Table, context: ConversionContext, row: list[str], n: int
    ) -> dict[str, Any]:
        report = self._header(table, context, row, n)
        mapped = set(table.columns.values())
        specs = context.options.get("steps")
        if specs is None:
            specs = [{"column": h} for i, h in enumerate(table.header) if i not in mapped]
        steps = []
        for spec in specs:
            column = str(spec["column"])
            idx = table.by_lower.get(column.lower())
            if idx is None:
                raise ConversionError(f"{table.path.name}: step column {column!r} not in header")
            text = row[idx].strip()
            if text == "":
                continue  # an empty cell is a test that did not run, not a measurement
            steps.append(self._cell_step(table, spec, text, table.where(n, column)))
        return self._finish(report, steps, table.cell(row, "result"), table.where(n, "result"))

    def _cell_step(
        self, table: _Table, spec: Mapping[str, Any], text: str, where: str
    ) -> dict[str, Any]:
        name = str(spec.get("name", spec["column"]))
        kind = spec.get("type", "auto")
        if kind == "auto":
            try:
                table.number(text, where)
                kind = "numeric"
            except ConversionError:
                kind = "string"
        if kind == "numeric":
            value = table.number(text, where)
            return _numeric_step(value, spec, name, str(spec.get("unit", "")))
        if kind == "passfail":
            status = _status(text, where, step=True)
            return {
                "stepType": "ET_PFT",
                "name": name,
                "status": status,
                "booleanMeas": [{"status": status}],
            }
        if kind == "string":
            limit = spec.get("limit")
            meas: dict[str, Any] = {"value": text}
            if limit is None:
                meas.update(compOp="LOG", status="P")
            else:
                ok = text == str(limit)
                meas.update(compOp="CASESENSIT", limit=str(limit), status="P" if ok else "F")
            return {
                "stepType": "ET_SVT",
                "name": name,
                "status": meas["status"],
                "stringMeas": [meas],
            }
        raise ConversionError(f"{where}: step type {kind!r} is not numeric/passfail/string")

    def _group_reports(self, table: _Table, context: ConversionContext) -> list[dict[str, Any]]:
        cols = {
            "name": "step",
            "value": "value",
            "low": "low",
            "high": "high",
            "unit": "unit",
            "status": "status",
        }
        cols.update(context.options.get("step_columns", {}) or {})
        idx = {k: table.by_lower.get(str(v).lower()) for k, v in cols.items()}
        for required in ("name", "value"):
            if idx[required] is None:
                raise ConversionError(
                    f"{table.path.name}: step column {cols[required]!r} not in the header "
                    f"(options.step_columns.{required})"
                )
        group_fields = context.options.get("group_by", ["sn"])
        reports: list[dict[str, Any]] = []
        current: tuple[str | None, ...] | None = None
        steps: list[dict[str, Any]] = []
        first: tuple[list[str], int] | None = None
        for n, row in _numbered(table):
            key = tuple(table.cell(row, f) for f in group_fields)
            if key != current and first is not None:
                reports.append(self._group_report(table, context, first, steps))
                steps = []
            if key != current:
                current, first = key, (row, n)
            steps.append(self._group_step(table, row, n, idx, cols))
        if first is not None:
            reports.append(self._group_report(table, context, first, steps))
        return reports

    def _group_report(
        self,
        table: _Table,
        context: ConversionContext,
        first: tuple[list[str], int],
        steps: list[dict[str, Any]],
    ) -> dict[str, Any]:
        row, n = first
        report = self._header(table, context, row, n)
        return self._finish(report, steps, table.cell(row, "result"), table.where(n, "result"))

    def _group_step(
        self,
        table: _Table,
        row: list[str],
        n: int,
        idx: Mapping[str, int | None],
        cols: Mapping[str, str],
    ) -> dict[str, Any]:
        def get(k: str) -> str:
            i = idx[k]
            return row[i].strip() if i is not None else ""

        spec: dict[str, Any] = {"column": cols["value"], "name": get("name")}
        for limit in ("low", "high"):
            if get(limit):
                spec[limit] = table.number(get(limit), table.where(n, cols[limit]))
        spec["unit"] = get("unit")
        step = self._cell_step(table, spec, get("value"), table.where(n, cols["value"]))
        if get("status"):
            step["status"] = _status(get("status"), table.where(n, cols["status"]), step=True)
        return step


def _numbered(table: _Table) -> Iterator[tuple[int, list[str]]]:
    yield from enumerate(table.rows, start=2)
