"""pywats against the WATS server's own Swagger file: every request it can make is in the contract.

The reference is the real server's published Swagger 2.0 file. A copy lives in
``tests/fixtures/wats-openapi-public.json`` (so a checkout without ``../shared`` still runs this);
a test checks the copy is identical to ``../shared/reference/...`` when that exists.

Every public repository method is called (a test checks none is missed) through an
``httpx.MockTransport`` that records each request and answers with the shape the spec defines.
Each recorded request must match an operation of the spec: method, path template, query parameter
names in their exact case (OData list operations may add ``$filter $top $skip $orderby
$expand``), required query parameters, typed query values, and the body's property names where the
spec defines the body. The answers built from the spec's definitions must parse.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

import pywats
from pywats._repositories._base import Repository

from . import samples

REPO = Path(__file__).resolve().parents[2]
SPEC_COPY = REPO / "tests" / "fixtures" / "wats-openapi-public.json"
SPEC_SHARED = REPO / ".." / "shared" / "reference" / "wats-openapi-public.json"
DOCS = REPO / "docs" / "pywats.md"

#: Query options an OData list operation accepts beyond its declared parameters.
ODATA_OPTIONS = frozenset({"$filter", "$top", "$skip", "$orderby", "$expand"})
#: The operations whose description says they take OData query options.
ODATA_OPERATIONS = frozenset({"Report_HeaderQuery", "Product_PublicGetProducts", "Asset_GetAssets"})


# ------------------------------------------------------------------ the spec


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    pattern: re.Pattern[str]
    literal_segments: int
    body: dict[str, Any]

    @property
    def operation_id(self) -> str:
        return str(self.body["operationId"])

    def parameters(self, where: str) -> dict[str, dict[str, Any]]:
        return {p["name"]: p for p in self.body.get("parameters", []) if p["in"] == where}


@cache
def spec() -> dict[str, Any]:
    return json.loads(SPEC_COPY.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@cache
def operations() -> tuple[Operation, ...]:
    found = []
    for template, item in spec()["paths"].items():
        regex = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        literal = sum(1 for part in template.split("/") if part and "{" not in part)
        for method, body in item.items():
            if method == "parameters":
                continue
            found.append(
                Operation(method.upper(), template, re.compile(f"^{regex}$"), literal, body)
            )
    return tuple(found)


def find_operation(method: str, path: str) -> Operation:
    """The spec operation for a request; the most literal template wins (``/Asset/Types``)."""
    candidates = [op for op in operations() if op.method == method and op.pattern.match(path)]
    assert candidates, f"the spec has no operation {method} {path}"
    return max(candidates, key=lambda op: op.literal_segments)


def definition(ref: str) -> dict[str, Any]:
    return spec()["definitions"][ref.rsplit("/", 1)[-1]]  # type: ignore[no-any-return]


def example(schema: dict[str, Any], depth: int = 0) -> Any:
    """A value of ``schema`` built from the spec alone (its examples, else a typed placeholder)."""
    if "$ref" in schema:
        if depth > 2:
            return None
        props = definition(schema["$ref"]).get("properties", {})
        return {name: example(sub, depth + 1) for name, sub in props.items()}
    kind = schema.get("type")
    if kind == "array":
        return [example(schema["items"], depth + 1)] if depth <= 2 else []
    if "example" in schema:
        return schema["example"]
    if kind == "string":
        return "2026-01-01T00:00:00Z" if schema.get("format") == "date-time" else "x"
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    return {}


def response_schema(op: Operation) -> dict[str, Any]:
    return op.body["responses"]["200"].get("schema", {})  # type: ignore[no-any-return]


# ------------------------------------------------------------------ answers


def spec_answer(op: Operation, request: httpx.Request) -> Any:
    """What a server following the spec answers ``request`` with (hand-made where the spec only
    says ``object``)."""
    op_id = op.operation_id
    if op_id == "Report_PostWSJF":
        # InsertReportResult, with every field the definition has and the id that was sent.
        sent = json.loads(request.content)
        props = definition(response_schema(op)["$ref"])["properties"]
        answer = {name: example(sub) for name, sub in props.items()}
        answer.update(ID=sent["id"], uuid=sent["id"])
        return answer
    if op_id == "Report_GetReportAsWSJF":
        return samples.server_export_uut()
    if op_id == "App_Processes":
        return [{"code": 10, "name": "ICT", "isTestOperation": True}]
    if op_id in ("Production_GetUnitPublic",):
        return example(
            {"$ref": "#/definitions/Virinco.WATS.Web.Dashboard.Models.Mes.Production.Public.Unit"}
        )
    if op_id == "Production_PutUnits":
        return {"insertCount": 1, "updateCount": 0, "errorCount": 0}
    if op_id in ("Asset_GetAssetByAssetId", "Asset_GetAssetBySerialNumber", "Asset_PutAsset"):
        return example({"$ref": "#/definitions/Virinco.WATS.Web.Dashboard.Models.Mes.Asset.Asset"})
    if op_id == "Asset_DeleteAsset":
        return {}
    schema = response_schema(op)
    assert schema.get("type") != "object" or schema.get("properties"), (
        f"{op_id}: the spec gives no answer shape; add a hand-made one here"
    )
    return example(schema)


def take_answer(request: httpx.Request) -> httpx.Response:
    """``SerialNumbers/Take`` answers XML or CSV (its ``format`` parameter), as the spec says."""
    fmt = request.url.params.get("format", "xml").lower()
    if fmt == "csv":
        return httpx.Response(200, text="SN-1\r\nSN-2\r\n", headers={"Content-Type": "text/csv"})
    xml = '<SerialNumbers><SN id="SN-1" /><SN id="SN-2" /></SerialNumbers>'
    return httpx.Response(200, text=xml, headers={"Content-Type": "application/xml"})


@dataclass
class Recorded:
    request: httpx.Request
    operation: Operation


class SpecServer:
    """An httpx MockTransport handler that answers as the spec says and records every request."""

    def __init__(self) -> None:
        self.calls: list[Recorded] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        # Matched on the raw path: a quoted "/" (%2F) stays inside its segment.
        path = request.url.raw_path.decode("ascii").split("?", 1)[0]
        op = find_operation(request.method, path)
        self.calls.append(Recorded(request, op))
        if op.operation_id == "Production_TakeSerialNumbers":
            return take_answer(request)
        return httpx.Response(200, json=spec_answer(op, request))


# ------------------------------------------------------------------ every public call

Call = Callable[[pywats.Client], object]

UNIT = pywats.Unit(serial_number="S1", part_number="P1", revision="A", unit_phase_id=1)
REVISION = pywats.ProductRevision(part_number="P1", revision="B", name="Rev B", state=1)
PRODUCT = pywats.Product(part_number="P1", name="Board", revisions=[REVISION])
ASSET = pywats.Asset(serial_number="A1", type_id="6f1c2a9e-3b7d-4c55-9a0e-2d8f4b1c7e10", state=1)

#: One or more calls per public repository method, with every optional argument used somewhere.
CALLS: dict[str, list[Call]] = {
    "reports.submit": [
        lambda c: c.reports.submit(samples.example_uut()),
        lambda c: c.reports.submit(pywats.parse_report(samples.example_uur())),
        lambda c: c.reports.submit(json.dumps(samples.example_uut()).encode(), idempotency_key="k"),
    ],
    "reports.get": [
        lambda c: c.reports.get(samples.UUT_ID),
        lambda c: c.reports.get(
            samples.UUT_ID, detail_level=7, include_chartdata=False, include_attachments=False
        ),
    ],
    "reports.headers": [
        lambda c: list(c.reports.headers()),
        lambda c: list(
            c.reports.headers(
                pywats.Q.serial_number == "SN-1",
                report_type="R",
                top=5,
                orderby="start desc",
                page_size=2,
                expand="subunits,miscinfo",
            )
        ),
    ],
    "app.version": [lambda c: c.app.version()],
    "app.processes": [
        lambda c: c.app.processes(),
        lambda c: c.app.processes(test=False, repair=True, wip=False, inactive=True),
    ],
    "products.list": [
        lambda c: list(c.products.list()),
        lambda c: list(c.products.list(pywats.Q.part_number == "P1", top=3, orderby="partNumber")),
    ],
    "products.get": [lambda c: c.products.get("P/1")],
    "products.save": [lambda c: c.products.save(PRODUCT, idempotency_key="k")],
    "products.revision": [lambda c: c.products.revision("P1", "B/2")],
    "products.revisions": [lambda c: c.products.revisions("P1")],
    "products.save_revision": [lambda c: c.products.save_revision(REVISION)],
    "production.get_unit": [lambda c: c.production.get_unit("S 1", "P1")],
    "production.save_units": [lambda c: c.production.save_units([UNIT])],
    "production.take_serial_numbers": [
        lambda c: c.production.take_serial_numbers(2),
        lambda c: c.production.take_serial_numbers(
            2,
            serial_number_type="MAC",
            ref_sn="S1",
            ref_pn="P1",
            station_name="ST",
            only_in_sequence=True,
            format="csv",
        ),
    ],
    "production.verify_unit": [lambda c: c.production.verify_unit("S1", "P1")],
    "assets.list": [
        lambda c: list(c.assets.list()),
        lambda c: list(c.assets.list(pywats.Q.state == 1, top=2, orderby="assetId desc")),
    ],
    "assets.get": [lambda c: c.assets.get("A1")],
    "assets.save": [lambda c: c.assets.save(ASSET, idempotency_key="k")],
    "assets.delete": [
        lambda c: c.assets.delete(asset_id="1"),
        lambda c: c.assets.delete(serial_number="A1"),
    ],
}


def public_methods() -> set[str]:
    """Every public method of every repository the Client exposes, as ``attr.method``."""
    with pywats.Client("http://127.0.0.1:9", "t") as client:
        repos = {name: repo for name, repo in vars(client).items() if isinstance(repo, Repository)}
    return {
        f"{name}.{method}"
        for name, repo in repos.items()
        for method, _ in inspect.getmembers(type(repo), inspect.isfunction)
        if not method.startswith("_")
    }


@cache
def recorded() -> tuple[tuple[str, Recorded], ...]:
    """Run every call against the spec server once; (method name, recorded request) pairs."""
    server = SpecServer()
    out: list[tuple[str, Recorded]] = []
    with pywats.Client(
        "http://wats.example/", "tok", transport=httpx.MockTransport(server)
    ) as client:
        for name, calls in CALLS.items():
            for call in calls:
                before = len(server.calls)
                call(client)
                assert len(server.calls) > before, f"{name} made no request"
                out.extend((name, rec) for rec in server.calls[before:])
    return tuple(out)


def request_ids() -> Iterator[tuple[str, int]]:
    for name, calls in CALLS.items():
        yield from ((name, i) for i in range(len(calls)))


# ------------------------------------------------------------------ the tests


def test_the_repo_copy_of_the_spec_is_the_shared_reference() -> None:
    if not SPEC_SHARED.exists():
        pytest.skip("../shared/reference is not beside this checkout")
    assert SPEC_COPY.read_bytes() == SPEC_SHARED.read_bytes()


def test_the_spec_is_the_real_servers_swagger() -> None:
    assert spec()["swagger"] == "2.0"
    assert len(spec()["paths"]) == 104


def test_every_public_repository_method_is_exercised() -> None:
    assert public_methods() == set(CALLS)


def test_every_request_is_an_operation_of_the_spec() -> None:
    for name, rec in recorded():
        # find_operation already asserted; the template is what the docs table names.
        assert rec.operation.operation_id, name


@pytest.mark.parametrize("name", sorted(CALLS))
def test_query_parameters_are_the_specs_in_exact_case(name: str) -> None:
    for called, rec in recorded():
        if called != name:
            continue
        op = rec.operation
        declared = op.parameters("query")
        allowed = set(declared) | (ODATA_OPTIONS if op.operation_id in ODATA_OPERATIONS else set())
        sent = dict(parse_qsl(rec.request.url.query.decode(), keep_blank_values=True))
        unknown = set(sent) - allowed
        assert not unknown, f"{name}: {op.method} {op.template} has no query parameter {unknown}"
        missing = {n for n, p in declared.items() if p.get("required")} - set(sent)
        assert not missing, f"{name}: {op.operation_id} requires {missing}"
        for key, value in sent.items():
            kind = declared.get(key, {}).get("type")
            if kind == "boolean":
                assert value in ("true", "false"), f"{name}: {key}={value!r} is not a boolean"
            elif kind == "integer":
                assert re.fullmatch(r"-?\d+", value), f"{name}: {key}={value!r} is not an integer"
        if "$orderby" in sent and op.operation_id == "Report_HeaderQuery":
            field = sent["$orderby"].split()[0]
            assert field in ("start", "uuid", "serialNumber", "timeStamp"), field


def _check_shape(value: Any, schema: dict[str, Any], where: str) -> None:
    if "$ref" in schema:
        assert isinstance(value, dict), f"{where}: expected an object, got {value!r}"
        props = definition(schema["$ref"]).get("properties", {})
        unknown = set(value) - set(props)
        assert not unknown, f"{where}: the spec's {schema['$ref']} has no {sorted(unknown)}"
        for key, sub in value.items():
            _check_shape(sub, props[key], f"{where}.{key}")
    elif schema.get("type") == "array":
        assert isinstance(value, list), f"{where}: expected a list"
        for index, item in enumerate(value):
            _check_shape(item, schema["items"], f"{where}[{index}]")


@pytest.mark.parametrize("name", sorted(CALLS))
def test_bodies_have_the_specs_shape(name: str) -> None:
    for called, rec in recorded():
        if called != name:
            continue
        body_params = list(rec.operation.parameters("body").values())
        if not rec.request.content:
            assert not any(p.get("required") for p in body_params), f"{name}: body missing"
            continue
        if not body_params:
            # POST /api/Report/WSJF: the spec defines no body schema (WSJF is its own format).
            assert rec.operation.operation_id == "Report_PostWSJF", name
            continue
        _check_shape(json.loads(rec.request.content), body_params[0]["schema"], name)


def test_the_client_uses_exactly_these_operations() -> None:
    used = {rec.operation.operation_id for _, rec in recorded()}
    assert used == {
        "Report_PostWSJF",
        "Report_GetReportAsWSJF",
        "Report_HeaderQuery",
        "App_Version",
        "App_Processes",
        "Product_PublicGetProducts",
        "Product_PublicGetProduct",
        "Product_PublicPutProduct",
        "Product_PublicGetProductRevision",
        "Product_PublicPutProductRevision",
        "Production_GetUnitPublic",
        "Production_PutUnits",
        "Production_TakeSerialNumbers",
        "Production_GetUnitVerification",
        "Asset_GetAssets",
        "Asset_GetAssetByAssetId",
        "Asset_PutAsset",
        "Asset_DeleteAsset",
    }


def test_docs_table_names_every_operation_the_client_uses() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for _, rec in recorded():
        op = rec.operation
        assert f"`{op.operation_id}`" in text, op.operation_id
        assert f"`{op.method} {op.template}`" in text, op.template


# ------------------------------------------------------------------ answers in the spec's shape


def _spec_client(handler: Callable[[httpx.Request], httpx.Response]) -> pywats.Client:
    return pywats.Client("http://wats.example", "tok", transport=httpx.MockTransport(handler))


def test_submit_reads_the_insert_report_result() -> None:
    server = SpecServer()
    with _spec_client(server) as client:
        result = client.reports.submit(samples.example_uut())
    assert result.id == samples.UUT_ID
    assert result.status_code == 200


def test_version_reads_the_json_string_the_spec_defines() -> None:
    with _spec_client(lambda r: httpx.Response(200, json="2026.1.5")) as client:
        assert client.app.version() == "2026.1.5"


def test_product_revision_reads_capital_part_number() -> None:
    server = SpecServer()
    with _spec_client(server) as client:
        revision = client.products.revision("P1", "B")
    assert revision is not None and revision.part_number == "x"  # the spec example's value
    assert server.calls[-1].operation.operation_id == "Product_PublicGetProductRevision"


def test_take_reads_xml_and_csv() -> None:
    server = SpecServer()
    with _spec_client(server) as client:
        assert client.production.take_serial_numbers(2) == ["SN-1", "SN-2"]
        assert client.production.take_serial_numbers(2, format="csv") == ["SN-1", "SN-2"]


def test_every_q_field_is_a_property_of_a_queried_definition() -> None:
    prefix = "Virinco.WATS.Web.Dashboard.Models."
    queried = {
        name
        for ref in ("OData.ReportHeader", "Mes.Product.ProductView", "Mes.Asset.OData.Asset")
        for name in spec()["definitions"][prefix + ref]["properties"]
    }
    fields = {
        value.name for value in vars(type(pywats.Q)).values() if isinstance(value, pywats.Field)
    }
    assert fields and fields <= queried, fields - queried


def test_header_filters_name_only_report_header_properties() -> None:
    props = set(
        spec()["definitions"]["Virinco.WATS.Web.Dashboard.Models.OData.ReportHeader"]["properties"]
    )
    for name, rec in recorded():
        if rec.operation.operation_id != "Report_HeaderQuery":
            continue
        text = rec.request.url.params.get("$filter", "")
        used = set(re.findall(r"(\w+) (?:eq|ne|gt|ge|lt|le) ", text))
        assert used <= props, (name, used - props)
