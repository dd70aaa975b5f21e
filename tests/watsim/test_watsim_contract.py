"""The simulator against the real server's published contract (the Swagger 2.0 file).

Every route the simulator serves must be a path and method of the Swagger file, and every
answer must have the shape the Swagger's response schema gives: the keys of an object are
properties of its definition, and each value has the property's type.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.watsim.examples import example_uur, example_uut
from watsim import Simulator
from watsim._api import ROUTE_TEMPLATES
from watsim._shapes import (
    ASSET_FIELDS,
    PRODUCT_FIELDS,
    PRODUCT_VIEW_FIELDS,
    REVISION_FIELDS,
    UNIT_FIELDS,
)

SPEC_PATH = Path(__file__).resolve().parents[1] / "fixtures" / "wats-openapi-public.json"
SPEC: dict[str, Any] = json.loads(SPEC_PATH.read_text("utf-8"))
_DEFS = "Virinco.WATS.Web.Dashboard.Models."


def _definition(ref: str) -> dict[str, Any]:
    return SPEC["definitions"][ref.rsplit("/", 1)[-1]]


def _shape_errors(value: Any, schema: dict[str, Any], where: str) -> list[str]:
    """Where ``value`` does not have the shape ``schema`` gives (empty = it does)."""
    if "$ref" in schema:
        schema = _definition(schema["$ref"])
    if value is None:
        return []
    kind = schema.get("type")
    checks = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "array": lambda v: isinstance(v, list),
    }
    if kind in checks and not checks[kind](value):
        return [f"{where}: expected {kind}, got {value!r:.60}"]
    if kind == "array":
        errors: list[str] = []
        for index, item in enumerate(value):
            errors += _shape_errors(item, schema.get("items", {}), f"{where}[{index}]")
        return errors
    properties = schema.get("properties")
    if properties is None:
        return []  # the spec's bare {"type": "object"}: any JSON value
    if not isinstance(value, dict):
        return [f"{where}: expected an object, got {value!r:.60}"]
    errors = [f"{where}.{key}: not in the definition" for key in value if key not in properties]
    for key, item in value.items():
        if key in properties:
            errors += _shape_errors(item, properties[key], f"{where}.{key}")
    return errors


def _template_regex_free(template: str) -> str:
    """Path templates compare by their fixed parts: ``{anything}`` is one parameter."""
    return "/".join("{}" if p.startswith("{") else p.lower() for p in template.split("/"))


def test_every_simulator_route_is_in_the_swagger_with_that_method() -> None:
    spec_routes = {
        (method.upper(), _template_regex_free(path))
        for path, ops in SPEC["paths"].items()
        for method in ops
        if method != "parameters"
    }
    assert ROUTE_TEMPLATES
    for method, template in ROUTE_TEMPLATES:
        assert (method, _template_regex_free(template)) in spec_routes, (method, template)


def test_every_simulator_route_spells_the_path_as_the_swagger_does() -> None:
    for _method, template in ROUTE_TEMPLATES:
        assert template in SPEC["paths"], template


@pytest.mark.parametrize(
    ("fields", "definition"),
    [
        (PRODUCT_FIELDS, "Mes.Product.Public.Product"),
        (PRODUCT_VIEW_FIELDS, "Mes.Product.ProductView"),
        (REVISION_FIELDS, "Mes.Product.Public.ProductRevision"),
        (UNIT_FIELDS, "Mes.Production.Public.Unit"),
        (ASSET_FIELDS, "Mes.Asset.OData.Asset"),
    ],
)
def test_field_lists_are_the_swagger_definitions(fields: tuple[str, ...], definition: str) -> None:
    assert set(fields) == set(SPEC["definitions"][_DEFS + definition]["properties"])


def _schema(method: str, template: str) -> dict[str, Any]:
    return SPEC["paths"][template][method.lower()]["responses"]["200"].get("schema") or {}


@pytest.fixture
def answers(sim: Simulator, sim_token: str) -> dict[tuple[str, str], httpx.Response]:
    """One successful answer of every route, from a small scenario of real requests."""
    got: dict[tuple[str, str], httpx.Response] = {}
    with httpx.Client(
        base_url=sim.base_url, headers={"Authorization": f"Basic {sim_token}"}, verify=False
    ) as http:

        def call(method: str, template: str, path: str, **kwargs: Any) -> Any:
            response = http.request(method, path, **kwargs)
            assert response.status_code == 200, (method, path, response.text)
            got[(method, template)] = response
            return response

        uut, uur = example_uut(), example_uur()
        call("POST", "/api/Report/WSJF", "/api/Report/WSJF", json=uut)
        http.post("/api/Report/WSJF", json=uur).raise_for_status()
        call("GET", "/api/Report/Wsjf/{id}", f"/api/Report/Wsjf/{uut['id']}")
        call(
            "GET",
            "/api/Report/Query/Header",
            "/api/Report/Query/Header",
            params={"$expand": "subunits,miscinfo,uursubunits,uurmiscinfo"},
        )
        call("GET", "/api/App/Version", "/api/App/Version")
        call("GET", "/api/App/Processes", "/api/App/Processes")
        call(
            "PUT",
            "/api/Product",
            "/api/Product",
            json={"partNumber": "PCBA-1001", "name": "Board", "extra": "dropped"},
        )
        call(
            "PUT",
            "/api/Product/Revision",
            "/api/Product/Revision",
            json={"PartNumber": "PCBA-1001", "revision": "B"},
        )
        call("GET", "/api/Product/Query", "/api/Product/Query")
        call("GET", "/api/Product/{partNumber}", "/api/Product/PCBA-1001")
        call("GET", "/api/Product/{partNumber}/{revision}", "/api/Product/PCBA-1001/B")
        units = [{"serialNumber": "SN-000123", "partNumber": "PCBA-1001", "revision": "B"}]
        call("PUT", "/api/Production/Units", "/api/Production/Units", json=units)
        call(
            "GET",
            "/api/Production/Unit/{serialNumber}/{partNumber}",
            "/api/Production/Unit/SN-000123/PCBA-1001",
        )
        call(
            "GET",
            "/api/Production/UnitVerification",
            "/api/Production/UnitVerification",
            params={"serialNumber": "SN-000123", "partNumber": "PCBA-1001"},
        )
        call("GET", "/api/Production/SerialNumbers/Types", "/api/Production/SerialNumbers/Types")
        call(
            "POST",
            "/api/Production/SerialNumbers/Take",
            "/api/Production/SerialNumbers/Take",
            params={"serialNumberType": "Default", "quantity": 2},
        )
        types = call("GET", "/api/Asset/Types", "/api/Asset/Types").json()
        asset = {"serialNumber": "DMM-1", "typeId": types[0]["typeId"], "assetName": "DMM"}
        call("PUT", "/api/Asset", "/api/Asset", json=asset)
        call("GET", "/api/Asset", "/api/Asset")
        call("GET", "/api/Asset/{assetId}", "/api/Asset/DMM-1")
        call("DELETE", "/api/Asset", "/api/Asset", params={"serialNumber": "DMM-1"})
    return got


def test_the_scenario_covers_every_route(answers: dict[tuple[str, str], httpx.Response]) -> None:
    assert set(answers) == set(ROUTE_TEMPLATES)


def test_every_json_answer_has_the_swagger_shape(
    answers: dict[tuple[str, str], httpx.Response],
) -> None:
    errors: list[str] = []
    for (method, template), response in answers.items():
        if not response.headers["content-type"].startswith("application/json"):
            continue
        errors += _shape_errors(response.json(), _schema(method, template), f"{method} {template}")
    assert errors == []


def test_the_checker_catches_a_wrong_shape() -> None:
    schema = _schema("POST", "/api/Report/WSJF")
    assert _shape_errors([{"ID": str(uuid.uuid4())}], schema, "x")  # the old list answer
    assert _shape_errors({"ID": 5}, schema, "x")
    assert _shape_errors({"id": "a"}, schema, "x")
    assert not _shape_errors({"ID": "a", "uuid": "a", "Report_ID": 1}, schema, "x")


def test_serial_numbers_answer_xml_or_csv(answers: dict[tuple[str, str], httpx.Response]) -> None:
    take = answers[("POST", "/api/Production/SerialNumbers/Take")]
    assert take.headers["content-type"].startswith("application/xml")
    assert take.text.count("<SN id=") == 2


# -- parameters: what the spec marks optional, the simulator does not require ------------------

#: Values for the spec's required parameters, matching what the ``answers`` scenario stored.
_REQUIRED_VALUES = {
    "id": example_uut()["id"],
    "serialNumber": "SN-000123",
    "partNumber": "PCBA-1001",
    "revision": "B",
    "assetId": "DMM-1",
    "serialNumberType": "Default",
    "quantity": "2",
}
#: Both of its parameters are optional in the spec, but with neither nothing names an asset to
#: delete: the simulator's 400 says "give exactly one" (docs/simulator.md), not "is required".
_NOTHING_TO_ACT_ON = {("DELETE", "/api/Asset")}


def _parameters(method: str, template: str) -> list[dict[str, Any]]:
    return [
        p
        for p in SPEC["paths"][template][method.lower()].get("parameters", [])
        if p["in"] != "body"
    ]


_WITH_QUERY = [
    (method, template)
    for method, template in ROUTE_TEMPLATES
    if any(p["in"] == "query" for p in _parameters(method, template))
]


def test_the_operations_with_query_parameters_are_found() -> None:
    assert ("GET", "/api/Production/UnitVerification") in _WITH_QUERY
    assert ("GET", "/api/Report/Wsjf/{id}") in _WITH_QUERY


@pytest.mark.parametrize(("method", "template"), _WITH_QUERY)
def test_each_operation_is_taken_with_only_the_specs_required_parameters(
    answers: dict[tuple[str, str], httpx.Response],
    sim: Simulator,
    sim_token: str,
    method: str,
    template: str,
) -> None:
    params = _parameters(method, template)
    path = template
    query: dict[str, str] = {}
    for param in params:
        if not param.get("required"):
            continue
        if param["in"] == "path":
            path = path.replace("{" + param["name"] + "}", _REQUIRED_VALUES[param["name"]])
        else:
            query[param["name"]] = _REQUIRED_VALUES[param["name"]]
    auth = {"Authorization": f"Basic {sim_token}"}
    response = httpx.request(method, sim.base_url + path, params=query, headers=auth)
    optional = [p["name"] for p in params if not p.get("required")]
    assert not (response.status_code == 400 and "is required" in response.text), response.text
    if (method, template) in _NOTHING_TO_ACT_ON:
        return
    assert response.status_code == 200, (method, path, query, optional, response.text)
