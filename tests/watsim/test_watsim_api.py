"""App, product, production and asset endpoints, routing errors."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

import httpx
import pytest

from tests.watsim.examples import minimal_uut
from watsim import DEFAULT_PROCESSES, Simulator


def test_version_answers_a_json_string(http: httpx.Client) -> None:
    response = http.get("/api/App/Version")
    assert response.status_code == 200
    assert isinstance(response.json(), str)
    assert response.json()


def test_processes_default_list_has_test_and_repair_codes(http: httpx.Client) -> None:
    processes = http.get("/api/App/Processes").json()
    by_code = {p["code"]: p for p in processes}
    assert {10, 20, 30, 50, 100, 500} <= set(by_code)
    assert by_code[10]["isTestOperation"] is True
    assert by_code[500]["isRepairOperation"] is True
    assert set(by_code[10]) == {
        "code",
        "name",
        "description",
        "isTestOperation",
        "isRepairOperation",
        "isWipOperation",
    }


def test_processes_can_exclude_test_operations(http: httpx.Client) -> None:
    processes = http.get("/api/App/Processes", params={"includeTestOperations": "false"}).json()
    assert processes
    assert not any(p["isTestOperation"] for p in processes)


def test_processes_bad_boolean_is_400(http: httpx.Client) -> None:
    response = http.get("/api/App/Processes", params={"includeTestOperations": "maybe"})
    assert response.status_code == 400


def test_custom_process_list_drives_report_validation(sim_factory, sim_token: str) -> None:
    sim = sim_factory(processes=[{"code": 7, "name": "Only", "isTestOperation": True}])
    with httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Basic {sim_token}"}) as c:
        assert c.post("/api/Report/WSJF", json=minimal_uut(str(uuid.uuid4()))).status_code == 400
        ok = c.post("/api/Report/WSJF", json=minimal_uut(str(uuid.uuid4()), processCode=7))
        assert ok.status_code == 200


def test_default_processes_export_matches_the_endpoint(http: httpx.Client) -> None:
    assert [p["code"] for p in http.get("/api/App/Processes").json()] == [
        p["code"] for p in DEFAULT_PROCESSES
    ]


# -- products ----------------------------------------------------------------------------------


def test_product_put_then_get_by_part_number(http: httpx.Client) -> None:
    saved = http.put("/api/Product", json={"partNumber": "PCBA-1", "name": "Board"}).json()
    assert saved["partNumber"] == "PCBA-1"
    uuid.UUID(saved["productId"])
    fetched = http.get("/api/Product/PCBA-1").json()
    assert fetched["name"] == "Board"
    assert fetched["revisions"] == []


def test_product_put_twice_updates_and_keeps_the_id(http: httpx.Client) -> None:
    first = http.put("/api/Product", json={"partNumber": "P", "name": "a"}).json()
    second = http.put("/api/Product", json={"partNumber": "P", "name": "b"}).json()
    assert second["productId"] == first["productId"]
    assert http.get("/api/Product/P").json()["name"] == "b"


def test_revision_put_then_get_by_part_number_and_revision(http: httpx.Client) -> None:
    http.put("/api/Product", json={"partNumber": "P"}).raise_for_status()
    saved = http.put("/api/Product/Revision", json={"PartNumber": "P", "revision": "B"}).json()
    got = http.get("/api/Product/P/B").json()
    assert got == saved
    assert got["PartNumber"] == "P"
    assert "partNumber" not in got
    assert http.get("/api/Product/P").json()["revisions"] == [saved]


def test_revision_body_names_match_case_insensitively(http: httpx.Client) -> None:
    http.put("/api/Product", json={"partNumber": "P"}).raise_for_status()
    http.put("/api/Product/Revision", json={"partNumber": "P", "revision": "C"}).raise_for_status()
    assert http.get("/api/Product/P/C").json()["PartNumber"] == "P"


def test_revision_query_route_of_older_clients_is_not_served(http: httpx.Client) -> None:
    response = http.get("/api/Product", params={"partNumber": "P", "revision": "B"})
    assert response.status_code == 405


def test_revision_of_unknown_product_is_404(http: httpx.Client) -> None:
    response = http.put("/api/Product/Revision", json={"partNumber": "nope", "revision": "A"})
    assert response.status_code == 404


def test_unknown_revision_is_404(http: httpx.Client) -> None:
    http.put("/api/Product", json={"partNumber": "P"}).raise_for_status()
    assert http.get("/api/Product/P/Z").status_code == 404


def test_product_query_filters_and_pages(http: httpx.Client) -> None:
    for pn in ("A-1", "A-2", "B-1"):
        http.put("/api/Product", json={"partNumber": pn, "name": pn[0]}).raise_for_status()
    found = http.get("/api/Product/Query", params={"$filter": "name eq 'A'", "$top": "1"}).json()
    assert [p["partNumber"] for p in found] == ["A-1"]


def test_unknown_product_is_404(http: httpx.Client) -> None:
    assert http.get("/api/Product/missing").status_code == 404


def test_product_without_part_number_is_400(http: httpx.Client) -> None:
    response = http.put("/api/Product", json={"name": "x"})
    assert response.status_code == 400
    assert "product.partNumber" in response.json()["message"]


# -- production --------------------------------------------------------------------------------


def test_units_put_then_get(http: httpx.Client) -> None:
    answer = http.put(
        "/api/Production/Units",
        json=[{"serialNumber": "S1", "partNumber": "P", "revision": "A"}],
    ).json()
    assert answer == {"insertCount": 1, "updateCount": 0, "errorCount": 0, "errors": []}
    unit = http.get("/api/Production/Unit/S1/P").json()
    assert unit["revision"] == "A"
    assert unit["unitPhaseId"] == 2


def test_units_put_again_counts_an_update(http: httpx.Client) -> None:
    body = [{"serialNumber": "S1", "partNumber": "P"}]
    http.put("/api/Production/Units", json=body).raise_for_status()
    assert http.put("/api/Production/Units", json=body).json() == {
        "insertCount": 0,
        "updateCount": 1,
        "errorCount": 0,
        "errors": [],
    }


def test_units_put_with_bad_item_counts_an_error_naming_the_unit(http: httpx.Client) -> None:
    body = [{"serialNumber": "S"}, {"serialNumber": "S2", "partNumber": "P"}]
    answer = http.put("/api/Production/Units", json=body).json()
    assert (answer["insertCount"], answer["errorCount"]) == (1, 1)
    assert answer["errors"][0]["serialNumber"] == "S"
    assert "units[0].partNumber" in answer["errors"][0]["message"]
    assert http.get("/api/Production/Unit/S2/P").status_code == 200


def test_unknown_unit_is_404(http: httpx.Client) -> None:
    assert http.get("/api/Production/Unit/none/P").status_code == 404


def test_unit_verification_grades_from_reports(http: httpx.Client) -> None:
    for code, result, start in ((10, "F", "09:00"), (10, "P", "09:10"), (20, "P", "09:20")):
        report = minimal_uut(
            str(uuid.uuid4()), processCode=code, result=result, start=f"2026-03-01T{start}:00Z"
        )
        http.post("/api/Report/WSJF", json=report).raise_for_status()
    grade = http.get(
        "/api/Production/UnitVerification", params={"serialNumber": "SN-1", "partNumber": "PN-1"}
    ).json()
    assert grade["grade"] == "B"
    assert grade["allProcessesPassedLastRun"] is True
    assert grade["allProcessesPassedFirstRun"] is False
    assert [(r["processCode"], r["totalCount"]) for r in grade["results"]] == [(10, 2), (20, 1)]


def test_unit_verification_without_reports_is_404(http: httpx.Client) -> None:
    response = http.get(
        "/api/Production/UnitVerification", params={"serialNumber": "x", "partNumber": "y"}
    )
    assert response.status_code == 404


def test_serial_number_types_list(http: httpx.Client) -> None:
    types = http.get("/api/Production/SerialNumbers/Types").json()
    assert {"Default", "MAC"} <= {t["name"] for t in types}
    assert {"name", "description", "format", "regEx"} <= set(types[0])


def _serials_from_xml(text: str) -> list[str]:
    return [element.attrib["id"] for element in ET.fromstring(text).iter("SN")]


def test_take_serial_numbers_never_repeats(http: httpx.Client) -> None:
    take = "/api/Production/SerialNumbers/Take"
    answer = http.post(take, params={"serialNumberType": "Default", "quantity": 3})
    assert answer.headers["content-type"].startswith("application/xml")
    first = _serials_from_xml(answer.text)
    second_answer = http.post(
        take, params={"serialNumberType": "Default", "quantity": 2, "format": "CSV"}
    )
    assert second_answer.headers["content-type"].startswith("text/csv")
    second = second_answer.text.split()
    assert len(first) == 3
    assert len(second) == 2
    assert len(set(first + second)) == 5


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"serialNumberType": "Nope", "quantity": 1}, 404),
        ({"serialNumberType": "Default", "quantity": 0}, 400),
        ({"serialNumberType": "Default"}, 400),
        ({"serialNumberType": "Default", "quantity": 1, "format": "JSON"}, 400),
        ({"serialNumberType": "Default", "quantity": 1, "onlyInSequence": "maybe"}, 400),
    ],
)
def test_take_serial_numbers_rejects_bad_input(
    http: httpx.Client, params: dict, status: int
) -> None:
    response = http.post("/api/Production/SerialNumbers/Take", params=params)
    assert response.status_code == status


# -- assets ------------------------------------------------------------------------------------


def test_asset_put_then_get_by_id_and_by_serial(http: httpx.Client) -> None:
    saved = http.put("/api/Asset", json={"serialNumber": "DMM-1", "assetName": "DMM"}).json()
    assert http.get(f"/api/Asset/{saved['assetId']}").json() == saved
    assert http.get("/api/Asset/DMM-1").json() == saved


def test_asset_put_with_same_serial_updates(http: httpx.Client) -> None:
    first = http.put("/api/Asset", json={"serialNumber": "F-1", "location": "a"}).json()
    second = http.put("/api/Asset", json={"serialNumber": "F-1", "location": "b"}).json()
    assert second["assetId"] == first["assetId"]
    assert len(http.get("/api/Asset").json()) == 1


def test_asset_list_filters(http: httpx.Client) -> None:
    for sn, loc in (("A", "L1"), ("B", "L2"), ("C", "L1")):
        http.put("/api/Asset", json={"serialNumber": sn, "location": loc}).raise_for_status()
    found = http.get("/api/Asset", params={"$filter": "location eq 'L1'", "$skip": "1"}).json()
    assert [a["serialNumber"] for a in found] == ["C"]


def test_asset_delete_by_serial_number(http: httpx.Client) -> None:
    http.put("/api/Asset", json={"serialNumber": "X"}).raise_for_status()
    assert http.delete("/api/Asset", params={"serialNumber": "X"}).status_code == 200
    assert http.get("/api/Asset/X").status_code == 404


def test_asset_delete_by_id(http: httpx.Client) -> None:
    saved = http.put("/api/Asset", json={"serialNumber": "X"}).json()
    assert http.delete("/api/Asset", params={"id": saved["assetId"]}).status_code == 200
    assert http.get("/api/Asset").json() == []


def test_asset_delete_needs_exactly_one_selector(http: httpx.Client) -> None:
    assert http.delete("/api/Asset").status_code == 400


def test_asset_delete_of_unknown_is_404(http: httpx.Client) -> None:
    assert http.delete("/api/Asset", params={"serialNumber": "none"}).status_code == 404


def test_asset_types_and_unknown_type_rejected(http: httpx.Client) -> None:
    types = http.get("/api/Asset/Types").json()
    assert {"typeId", "typeName"} <= set(types[0])
    response = http.put("/api/Asset", json={"serialNumber": "Q", "typeId": str(uuid.uuid4())})
    assert response.status_code == 400
    assert "asset.typeId" in response.json()["message"]


# -- routing -----------------------------------------------------------------------------------


def test_unknown_api_route_is_404_json(http: httpx.Client) -> None:
    response = http.get("/api/Nothing/Here")
    assert response.status_code == 404
    assert "no route GET /api/Nothing/Here" in response.json()["message"]


def test_known_path_with_other_method_is_405_with_allow(http: httpx.Client) -> None:
    response = http.delete("/api/App/Version")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"


def test_routes_are_case_insensitive(http: httpx.Client) -> None:
    assert http.get("/api/app/version").status_code == 200


def test_path_outside_api_is_404_json(http: httpx.Client) -> None:
    response = http.get("/index.html")
    assert response.status_code == 404
    assert "message" in response.json()


def test_state_survives_a_restart_with_a_database(sim_factory, sim_token: str, tmp_path) -> None:
    db = tmp_path / "sim.db"
    report = minimal_uut(str(uuid.uuid4()))
    first: Simulator = sim_factory(db=db)
    auth = {"Authorization": f"Basic {sim_token}"}
    httpx.post(f"{first.base_url}/api/Report/WSJF", json=report, headers=auth).raise_for_status()
    httpx.put(f"{first.base_url}/api/Asset", json={"serialNumber": "K"}, headers=auth)
    first.stop()
    second: Simulator = sim_factory(db=db)
    assert second.stats()["receive_counts"] == {report["id"]: 1}
    assert second.report(report["id"]) == report
    assert httpx.get(f"{second.base_url}/api/Asset/K", headers=auth).status_code == 200
