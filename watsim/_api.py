"""The ``/api/...`` routes: a small router and one function per endpoint.

Handlers get a parsed :class:`Request` and return a :class:`Response` or raise ApiError; they know
nothing about sockets, auth or faults (the server wraps those around them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import unquote

from ._digits import is_digits
from ._errors import ApiError
from ._http import JSON_TYPE
from ._odata import apply_query
from ._reports import HEADER_FIELDS, HEADER_ORDERABLE, build_header, canonical_id, check_structure
from ._shapes import (
    ASSET_FIELDS,
    PRODUCT_FIELDS,
    PRODUCT_VIEW_FIELDS,
    REVISION_FIELDS,
    UNIT_FIELDS,
    project,
    spec_keys,
)
from ._store import DEFAULT_ASSET_TYPES, DEFAULT_SN_TYPES, Store
from ._timeutil import format_utc, parse_datetime
from ._validation import validate_report

TEXT_TYPE = "text/plain; charset=utf-8"

SERVER_VERSION = "24.1.0"

#: The default process list (code, name, kind).
DEFAULT_PROCESSES: tuple[dict[str, Any], ...] = tuple(
    {
        "code": code,
        "name": name,
        "description": f"{name} ({kind} operation)",
        "isTestOperation": kind == "test",
        "isRepairOperation": kind == "repair",
        "isWipOperation": kind == "WIP",
    }
    for code, name, kind in (
        (10, "ICT", "test"),
        (20, "Functional test", "test"),
        (30, "Programming", "test"),
        (50, "Burn-in", "test"),
        (100, "Final test", "test"),
        (500, "Repair", "repair"),
        (900, "Packing", "WIP"),
    )
)

_PRODUCT_FIELDS = {
    "partNumber": "str",
    "name": "str",
    "category": "str",
    "nonSerial": "bool",
    "state": "int",
}
_ASSET_FIELDS = {
    "assetId": "str",
    "serialNumber": "str",
    "typeId": "guid",
    "assetName": "str",
    "partNumber": "str",
    "revision": "str",
    "parentAssetId": "str",
    "parentSerialNumber": "str",
    "state": "int",
    "description": "str",
    "location": "str",
    "firstSeenDate": "datetime",
    "lastSeenDate": "datetime",
    "lastCalibrationDate": "datetime",
    "nextCalibrationDate": "datetime",
    "lastMaintenanceDate": "datetime",
    "nextMaintenanceDate": "datetime",
    "totalCount": "int",
    "runningCount": "int",
    "xmlData": "str",
}


@dataclass
class Request:
    """A parsed API request (query parameters: last value wins)."""

    method: str
    path: str
    params: dict[str, str]
    body: bytes
    args: tuple[str, ...] = ()

    def json(self) -> Any:
        """The body parsed as JSON; ApiError(400) naming line and column when it is not."""
        if not self.body:
            raise ApiError(400, "request body: expected JSON, got an empty body")
        try:
            return json.loads(self.body.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ApiError(400, f"request body: not UTF-8 at byte {exc.start}") from None
        except json.JSONDecodeError as exc:
            raise ApiError(
                400,
                f"request body: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
            ) from None


@dataclass
class Response:
    """What a handler answers; ``raw`` bodies are sent as they are (JSON text)."""

    status: int = 200
    payload: Any = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    stored_report: bool = False
    content_type: str = JSON_TYPE

    def body(self) -> bytes:
        """The encoded body."""
        if self.raw is not None:
            return self.raw
        return json.dumps(self.payload, separators=(",", ":")).encode("utf-8")


Handler = Callable[["Api", Request], Response]


class Api:
    """The endpoint set over one Store and one process list."""

    def __init__(
        self,
        store: Store,
        processes: list[dict[str, Any]] | None = None,
        *,
        enforce_rules: bool = True,
    ) -> None:
        self.store = store
        self.enforce_rules = enforce_rules
        self.processes = [dict(p) for p in (processes or DEFAULT_PROCESSES)]
        for index, proc in enumerate(self.processes):
            code = proc.get("code")
            if isinstance(code, bool) or not isinstance(code, int):
                raise ValueError(f"processes[{index}].code: expected an integer, got {code!r}")
            proc.setdefault("name", str(code))
            proc.setdefault("description", "")
            for flag in ("isTestOperation", "isRepairOperation", "isWipOperation"):
                proc[flag] = bool(proc.get(flag, False))
        self.process_names = {p["code"]: p["name"] for p in self.processes}

    def dispatch(self, method: str, path: str, params: dict[str, str], body: bytes) -> Response:
        """Route a request; 404 for an unknown path, 405 for a known path with another method."""
        allowed: list[str] = []
        for route_method, pattern, handler in _ROUTES:
            match = pattern.match(path)
            if match is None:
                continue
            if route_method != method:
                allowed.append(route_method)
                continue
            args = tuple(unquote(g) for g in match.groups())
            return handler(self, Request(method, path, params, body, args))
        if allowed:
            raise ApiError(
                405,
                f"{method} is not allowed on {path} (allowed: {', '.join(sorted(set(allowed)))})",
                headers={"Allow": ", ".join(sorted(set(allowed)))},
            )
        raise ApiError(404, f"no route {method} {path}")

    # -- reports ----------------------------------------------------------------------------

    def post_wsjf(self, req: Request) -> Response:
        report = req.json()
        key = check_structure(report, self.process_names)
        if self.enforce_rules:
            refusals = validate_report(report)
            if refusals:
                text = "\n".join(str(r) for r in refusals)
                return Response(400, raw=text.encode("utf-8"), content_type=TEXT_TYPE)
        stored = self.store.put_report(key, req.body.decode("utf-8"), report)
        result = {"ID": report["id"], "uuid": key, "Report_ID": stored.seq}
        return Response(200, result, stored_report=True)

    def get_wsjf(self, req: Request) -> Response:
        key = canonical_id(req.args[0], "path id")
        stored = self.store.get_report(key)
        if stored is None:
            raise ApiError(404, f"report {req.args[0]} not found")
        return Response(200, raw=stored.raw.encode("utf-8"))

    def query_headers(self, req: Request) -> Response:
        expand = frozenset(
            part.strip().lower() for part in req.params.get("$expand", "").split(",") if part
        )
        reports = self.store.report_list()
        runs = _run_numbers(reports)
        rows = [
            build_header(
                rep.body,
                receive_count=rep.receive_count,
                size=len(rep.raw.encode("utf-8")),
                time_stamp=rep.stamp,
                run=runs[rep.key],
                process_names=self.process_names,
                expand=expand,
            )
            for rep in reports
        ]
        chosen = apply_query(
            rows,
            req.params,
            HEADER_FIELDS,
            orderable=HEADER_ORDERABLE,
            default_orderby="start desc",
            default_top=10,
            max_top=10_000,
        )
        return Response(200, chosen)

    # -- app --------------------------------------------------------------------------------

    def version(self, req: Request) -> Response:
        return Response(200, SERVER_VERSION)

    def get_processes(self, req: Request) -> Response:
        include = {
            flag: _bool_param(req.params, param, default=True)
            for flag, param in (
                ("isTestOperation", "includeTestOperations"),
                ("isRepairOperation", "includeRepairOperations"),
                ("isWipOperation", "includeWipOperations"),
            )
        }
        _bool_param(req.params, "includeInactiveProcesses", default=False)
        chosen = [
            p
            for p in self.processes
            if any(p[flag] and on for flag, on in include.items())
            or not any(p[flag] for flag in include)
        ]
        return Response(200, chosen)

    # -- products ---------------------------------------------------------------------------

    def product_query(self, req: Request) -> Response:
        rows = [
            {**project(p, PRODUCT_VIEW_FIELDS), "category": p.get("productCategoryName")}
            for p in self.store.product_list()
        ]
        return Response(200, apply_query(rows, req.params, _PRODUCT_FIELDS))

    def product_get(self, req: Request) -> Response:
        product = self.store.product_view(req.args[0], detail=True)
        if product is None:
            raise ApiError(404, f"product {req.args[0]!r} not found")
        return Response(200, _product_answer(product))

    def revision_get(self, req: Request) -> Response:
        pn, rev = req.args
        revision = self.store.revision_view(pn, rev)
        if revision is None:
            raise ApiError(404, f"product revision {pn!r} / {rev!r} not found")
        return Response(200, _revision_answer(revision))

    def product_put(self, req: Request) -> Response:
        body = spec_keys(req.json(), PRODUCT_FIELDS, "product")
        product = _object_with(body, "product", ("partNumber",))
        return Response(200, _product_answer(self.store.put_product(product)))

    def revision_put(self, req: Request) -> Response:
        body = spec_keys(req.json(), REVISION_FIELDS, "revision")
        if "PartNumber" in body:
            body["partNumber"] = body.pop("PartNumber")
        revision = _object_with(body, "revision", ("partNumber", "revision"))
        if revision["partNumber"] not in self.store.products:
            raise ApiError(
                404, f"revision.PartNumber: product {revision['partNumber']!r} not found"
            )
        return Response(200, _revision_answer(self.store.put_revision(revision)))

    # -- production -------------------------------------------------------------------------

    def unit_get(self, req: Request) -> Response:
        sn, pn = req.args
        unit = self.store.unit_view(sn, pn)
        if unit is None:
            raise ApiError(404, f"unit {sn!r} / {pn!r} not found")
        return Response(200, project(unit, UNIT_FIELDS))

    def units_put(self, req: Request) -> Response:
        units = req.json()
        if not isinstance(units, list):
            raise ApiError(400, "request body: expected a list of units")
        good: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for index, unit in enumerate(units):
            try:
                body = spec_keys(unit, UNIT_FIELDS, f"units[{index}]")
                good.append(_object_with(body, f"units[{index}]", ("serialNumber", "partNumber")))
            except ApiError as exc:
                item = unit if isinstance(unit, dict) else {}
                errors.append(
                    {
                        "index": index,
                        "serialNumber": item.get("serialNumber"),
                        "partNumber": item.get("partNumber"),
                        "message": exc.message,
                    }
                )
        inserted, updated = self.store.put_units(good)
        answer = {
            "insertCount": inserted,
            "updateCount": updated,
            "errorCount": len(errors),
            "errors": errors,
        }
        return Response(200, answer)

    def unit_verification(self, req: Request) -> Response:
        sn = _required_param(req.params, "serialNumber")
        pn = req.params.get("partNumber") or None  # optional in the spec: by serial alone
        reports = [
            rep.body
            for rep in self.store.report_list()
            if rep.body.get("sn") == sn and (pn is None or rep.body.get("pn") == pn)
        ]
        if not any(r.get("type") == "T" for r in reports):
            unit = f"{sn!r}" if pn is None else f"{sn!r} / {pn!r}"
            raise ApiError(404, f"no test reports for unit {unit}")
        return Response(200, _grade(reports, self.process_names))

    def sn_types(self, req: Request) -> Response:
        return Response(200, [dict(t) for t in DEFAULT_SN_TYPES])

    def sn_take(self, req: Request) -> Response:
        type_name = _required_param(req.params, "serialNumberType")
        raw_qty = _required_param(req.params, "quantity")
        if not is_digits(raw_qty) or not 1 <= int(raw_qty) <= 10_000:
            raise ApiError(400, f"quantity: expected an integer 1-10000, got {raw_qty!r}")
        _bool_param(req.params, "onlyInSequence", default=False)
        fmt = req.params.get("format", "XML").strip().upper() or "XML"
        if fmt not in ("XML", "CSV"):
            raise ApiError(400, f"format: expected XML or CSV, got {req.params['format']!r}")
        if type_name not in {t["name"] for t in DEFAULT_SN_TYPES}:
            raise ApiError(404, f"serialNumberType: unknown type {type_name!r}")
        serials = self.store.take_serials(type_name, int(raw_qty))
        if fmt == "CSV":
            text = "".join(f"{sn}\r\n" for sn in serials)
            return Response(200, raw=text.encode("utf-8"), content_type="text/csv; charset=utf-8")
        items = "".join(f'<SN id="{escape(sn, quote=True)}" />' for sn in serials)
        xml = f'<?xml version="1.0" encoding="utf-8"?><SerialNumbers>{items}</SerialNumbers>'
        return Response(200, raw=xml.encode("utf-8"), content_type="application/xml; charset=utf-8")

    # -- assets -----------------------------------------------------------------------------

    def asset_list(self, req: Request) -> Response:
        rows = [project(a, ASSET_FIELDS) for a in self.store.asset_list()]
        return Response(200, apply_query(rows, req.params, _ASSET_FIELDS))

    def asset_get(self, req: Request) -> Response:
        asset = self.store.find_asset(req.args[0])
        if asset is None:
            raise ApiError(404, f"asset {req.args[0]!r} not found")
        return Response(200, project(asset, ASSET_FIELDS))

    def asset_put(self, req: Request) -> Response:
        body = spec_keys(req.json(), ASSET_FIELDS, "asset")
        asset = _object_with(body, "asset", ("serialNumber",))
        type_id = asset.get("typeId")
        if type_id is not None and type_id not in {t["typeId"] for t in DEFAULT_ASSET_TYPES}:
            raise ApiError(400, f"asset.typeId: unknown asset type {type_id!r}")
        return Response(200, project(self.store.put_asset(asset), ASSET_FIELDS))

    def asset_delete(self, req: Request) -> Response:
        asset_id, serial = req.params.get("id"), req.params.get("serialNumber")
        if (asset_id is None) == (serial is None):
            raise ApiError(400, "DELETE /api/Asset: give exactly one of id or serialNumber")
        if not self.store.delete_asset(asset_id=asset_id, serial=serial):
            raise ApiError(404, f"asset {asset_id or serial!r} not found")
        return Response(200, {"deleted": 1})

    def asset_types(self, req: Request) -> Response:
        return Response(200, [dict(t) for t in DEFAULT_ASSET_TYPES])


def _required_param(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise ApiError(400, f"query parameter {name} is required")
    return value


def _bool_param(params: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise ApiError(400, f"query parameter {name}: expected true or false, got {raw!r}")


def _object_with(value: object, where: str, required: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ApiError(400, f"{where}: expected a JSON object")
    for name in required:
        item = value.get(name)
        if not isinstance(item, str) or not item.strip():
            raise ApiError(400, f"{where}.{name}: required, a non-empty string")
    return value


def _product_answer(product: Mapping[str, Any]) -> dict[str, Any]:
    answer = project(product, PRODUCT_FIELDS)
    if "revisions" in product:
        answer["revisions"] = [_revision_answer(r) for r in product["revisions"]]
    return answer


def _revision_answer(revision: Mapping[str, Any]) -> dict[str, Any]:
    answer = project(revision, REVISION_FIELDS)
    answer["PartNumber"] = revision.get("partNumber")
    return answer


def _run_numbers(reports: list[Any]) -> dict[str, int]:
    """Each report's run: its 1-based place among the same unit's reports in that process."""
    runs: dict[str, int] = {}
    seen: dict[tuple[Any, ...], list[tuple[Any, str]]] = {}
    for rep in reports:
        body = rep.body
        unit = (body.get("type"), body.get("sn"), body.get("pn"), body.get("processCode"))
        seen.setdefault(unit, []).append((parse_datetime(str(body.get("start"))), rep.key))
    for entries in seen.values():
        for number, (_start, key) in enumerate(sorted(entries, key=lambda e: e[0]), 1):
            runs[key] = number
    return runs


def _grade(reports: list[dict[str, Any]], names: Mapping[int, str]) -> dict[str, Any]:
    uuts = sorted(
        (r for r in reports if r.get("type") == "T"), key=lambda r: parse_datetime(r["start"])
    )
    repairs = sum(1 for r in reports if r.get("type") == "R")
    order: list[int] = []
    runs: dict[int, list[dict[str, Any]]] = {}
    for rep in uuts:
        code = rep["processCode"]
        if code not in runs:
            order.append(code)
            runs[code] = []
        runs[code].append(rep)
    results = []
    for index, code in enumerate(order):
        tries = runs[code]
        last = tries[-1]
        results.append(
            {
                "processCode": code,
                "processName": names.get(code),
                "processIndex": index,
                "status": "Passed" if last["result"] == "P" else "Failed",
                "startUtc": format_utc(parse_datetime(last["start"])),
                "stationName": last.get("machineName"),
                "totalCount": len(tries),
                "nonPassedCount": sum(1 for t in tries if t["result"] != "P"),
                "repairCount": repairs,
            }
        )
    first = all(runs[c][0]["result"] == "P" for c in order)
    last_run = all(runs[c][-1]["result"] == "P" for c in order)
    any_run = all(any(t["result"] == "P" for t in runs[c]) for c in order)
    grade = "A" if first and not repairs else "B" if last_run else "C" if any_run else "F"
    return {
        "status": "Passed" if last_run else "Failed",
        "grade": grade,
        "allProcessesExecutedInCorrectOrder": order == sorted(order),
        "allProcessesPassedFirstRun": first,
        "allProcessesPassedAnyRun": any_run,
        "allProcessesPassedLastRun": last_run,
        "noRepairs": repairs == 0,
        "results": results,
    }


def _route(method: str, template: str, handler: Handler) -> tuple[str, re.Pattern[str], Handler]:
    pattern = re.sub(r"\\\{[A-Za-z]+\\\}", "([^/]+)", re.escape(template))
    ROUTE_TEMPLATES.append((method, template))
    return (method, re.compile(f"^{pattern}/?$", re.IGNORECASE), handler)


#: Every ``(method, path template)`` the API serves, in the Swagger's own spelling.
ROUTE_TEMPLATES: list[tuple[str, str]] = []


# Order matters: fixed paths before the ``{}`` catch-alls that would also match them.
_ROUTES: tuple[tuple[str, re.Pattern[str], Handler], ...] = (
    _route("POST", "/api/Report/WSJF", Api.post_wsjf),
    _route("GET", "/api/Report/Wsjf/{id}", Api.get_wsjf),
    _route("GET", "/api/Report/Query/Header", Api.query_headers),
    _route("GET", "/api/App/Version", Api.version),
    _route("GET", "/api/App/Processes", Api.get_processes),
    _route("GET", "/api/Product/Query", Api.product_query),
    _route("PUT", "/api/Product/Revision", Api.revision_put),
    _route("PUT", "/api/Product", Api.product_put),
    _route("GET", "/api/Product/{partNumber}/{revision}", Api.revision_get),
    _route("GET", "/api/Product/{partNumber}", Api.product_get),
    _route("GET", "/api/Production/Unit/{serialNumber}/{partNumber}", Api.unit_get),
    _route("PUT", "/api/Production/Units", Api.units_put),
    _route("GET", "/api/Production/UnitVerification", Api.unit_verification),
    _route("GET", "/api/Production/SerialNumbers/Types", Api.sn_types),
    _route("POST", "/api/Production/SerialNumbers/Take", Api.sn_take),
    _route("GET", "/api/Asset/Types", Api.asset_types),
    _route("GET", "/api/Asset", Api.asset_list),
    _route("PUT", "/api/Asset", Api.asset_put),
    _route("DELETE", "/api/Asset", Api.asset_delete),
    _route("GET", "/api/Asset/{assetId}", Api.asset_get),
)
