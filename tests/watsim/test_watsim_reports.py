"""Report endpoints: submit (upsert), fetch, header query."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from tests.watsim.examples import example_uur, example_uut, minimal_uut
from watsim import Simulator


def _id() -> str:
    return str(uuid.uuid4())


def test_example_uut_is_accepted_and_answers_with_its_id(http: httpx.Client) -> None:
    report = example_uut()
    response = http.post("/api/Report/WSJF", json=report)
    assert response.status_code == 200
    assert response.json() == [{"ID": report["id"]}]


def test_example_uut_reads_back_identically(http: httpx.Client) -> None:
    report = example_uut()
    http.post("/api/Report/WSJF", json=report).raise_for_status()
    fetched = http.get(f"/api/Report/Wsjf/{report['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == report


def test_example_uur_reads_back_identically(http: httpx.Client) -> None:
    report = example_uur()
    http.post("/api/Report/WSJF", json=report).raise_for_status()
    assert http.get(f"/api/Report/Wsjf/{report['id']}").json() == report


def test_fetch_returns_the_exact_text_that_was_posted(http: httpx.Client) -> None:
    text = json.dumps(minimal_uut(_id()), indent=3)
    report_id = json.loads(text)["id"]
    http.post(
        "/api/Report/WSJF", content=text, headers={"Content-Type": "application/json"}
    ).raise_for_status()
    assert http.get(f"/api/Report/Wsjf/{report_id}").text == text


def test_second_post_with_same_id_overwrites_and_counts(http: httpx.Client, sim: Simulator) -> None:
    report_id = _id()
    http.post("/api/Report/WSJF", json=minimal_uut(report_id, result="F")).raise_for_status()
    http.post("/api/Report/WSJF", json=minimal_uut(report_id, result="P")).raise_for_status()
    stats = sim.stats()
    assert stats["distinct_reports"] == 1
    assert stats["receive_counts"] == {report_id: 2}
    assert http.get(f"/api/Report/Wsjf/{report_id}").json()["result"] == "P"


def test_ids_differing_only_in_case_are_the_same_report(http: httpx.Client, sim: Simulator) -> None:
    report_id = _id()
    http.post("/api/Report/WSJF", json=minimal_uut(report_id)).raise_for_status()
    http.post("/api/Report/WSJF", json=minimal_uut(report_id.upper())).raise_for_status()
    assert sim.stats()["receive_counts"] == {report_id: 2}


def test_fetch_of_unknown_id_is_404_with_message(http: httpx.Client) -> None:
    response = http.get(f"/api/Report/Wsjf/{_id()}")
    assert response.status_code == 404
    assert "not found" in response.json()["message"]


def test_fetch_of_non_guid_id_is_400(http: httpx.Client) -> None:
    response = http.get("/api/Report/Wsjf/not-a-guid")
    assert response.status_code == 400
    assert "not a GUID" in response.json()["message"]


@pytest.mark.parametrize(
    "field",
    [
        "id",
        "type",
        "pn",
        "sn",
        "rev",
        "processCode",
        "result",
        "machineName",
        "location",
        "purpose",
        "start",
    ],
)
def test_missing_required_field_is_400_naming_it(http: httpx.Client, field: str) -> None:
    report = minimal_uut(_id())
    del report[field]
    response = http.post("/api/Report/WSJF", json=report)
    assert response.status_code == 400
    assert f"report.{field}" in response.json()["message"]


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"processCode": 999}, "report.processCode"),
        ({"processCode": "10"}, "report.processCode"),
        ({"processCode": True}, "report.processCode"),
        ({"type": "U"}, "report.type"),
        ({"result": "X"}, "report.result"),
        ({"start": "yesterday"}, "report.start"),
        ({"id": "123"}, "report.id"),
        ({"pn": ""}, "report.pn"),
        ({"sn": "x" * 101}, "report.sn"),
        ({"machineName": 7}, "report.machineName"),
        ({"miscInfos": {}}, "report.miscInfos"),
        ({"root": None}, "report.root"),
        ({"root": {"steps": [{"steps": "nope"}]}}, "report.root.steps[0].steps"),
    ],
)
def test_invalid_field_is_400_naming_it(http: httpx.Client, changes: dict, where: str) -> None:
    response = http.post("/api/Report/WSJF", json=minimal_uut(_id(), **changes))
    assert response.status_code == 400
    assert where in response.json()["message"]


def test_rejected_report_is_not_stored(http: httpx.Client, sim: Simulator) -> None:
    http.post("/api/Report/WSJF", json=minimal_uut(_id(), processCode=999))
    stats = sim.stats()
    assert stats["distinct_reports"] == 0
    assert stats["report_posts"] == 1


def test_uur_needs_no_root(http: httpx.Client) -> None:
    report = example_uur()
    assert "root" not in report
    assert http.post("/api/Report/WSJF", json=report).status_code == 200


def test_malformed_json_is_400_with_position(http: httpx.Client) -> None:
    response = http.post(
        "/api/Report/WSJF", content=b'{"id": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "line 1 column" in response.json()["message"]


def test_json_that_is_not_an_object_is_400(http: httpx.Client) -> None:
    response = http.post("/api/Report/WSJF", json=[1, 2])
    assert response.status_code == 400
    assert "expected a JSON object" in response.json()["message"]


def test_unknown_fields_and_step_types_are_kept(http: httpx.Client) -> None:
    report = minimal_uut(_id(), vendorExtra={"a": 1})
    report["root"]["steps"] = [{"id": 2, "stepType": "NI_Switch", "custom": [1, 2]}]
    http.post("/api/Report/WSJF", json=report).raise_for_status()
    assert http.get(f"/api/Report/Wsjf/{report['id']}").json() == report


# -- header query ------------------------------------------------------------------------------


@pytest.fixture
def three_reports(http: httpx.Client) -> list[dict]:
    reports = [
        minimal_uut(_id(), sn="SN-A", pn="PN-1", start="2026-01-10T10:00:00+01:00"),
        minimal_uut(_id(), sn="SN-B", pn="PN-1", start="2026-02-10T10:00:00Z", result="F"),
        minimal_uut(_id(), sn="SN-C", pn="PN-2", start="2026-03-10T10:00:00-05:00"),
    ]
    for report in reports:
        http.post("/api/Report/WSJF", json=report).raise_for_status()
    return reports


def _headers(http: httpx.Client, **params: str) -> list[dict]:
    response = http.get("/api/Report/Query/Header", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_header_has_the_report_header_field_names(
    http: httpx.Client, three_reports: list[dict]
) -> None:
    header = _headers(http, **{"$filter": "serialNumber eq 'SN-A'"})[0]
    assert header["uuid"] == three_reports[0]["id"]
    assert header["serialNumber"] == "SN-A"
    assert header["partNumber"] == "PN-1"
    assert header["revision"] == "A"
    assert header["reportType"] == "U"
    assert header["stationName"] == "STATION-1"
    assert header["processCode"] == 10
    assert header["processName"] == "ICT"
    assert header["result"] == "P"
    assert header["start"] == "2026-01-10T10:00:00+01:00"
    assert header["startUtc"] == "2026-01-10T09:00:00Z"
    assert header["receiveCount"] == 1


def test_header_of_example_uut_carries_uut_info(http: httpx.Client) -> None:
    http.post("/api/Report/WSJF", json=example_uut()).raise_for_status()
    header = _headers(http)[0]
    assert header["operator"] == "operator1"
    assert header["batchNumber"] == "LOT-42"
    assert header["fixtureId"] == "FX-7"
    assert header["rootNodeType"] == "SequenceCall"
    assert header["swFilename"] == "Main.seq"


def test_filter_on_part_number(http: httpx.Client, three_reports: list[dict]) -> None:
    found = _headers(http, **{"$filter": "partNumber eq 'PN-1'"})
    assert [h["serialNumber"] for h in found] == ["SN-A", "SN-B"]


def test_filter_on_start_range_compares_instants(
    http: httpx.Client, three_reports: list[dict]
) -> None:
    flt = "start ge 2026-02-01T00:00:00Z and start le 2026-03-10T15:00:00Z"
    found = _headers(http, **{"$filter": flt})
    # SN-C starts 2026-03-10T15:00Z exactly (10:00-05:00), so `le` includes it.
    assert [h["serialNumber"] for h in found] == ["SN-B", "SN-C"]


def test_orderby_desc_then_top_and_skip(http: httpx.Client, three_reports: list[dict]) -> None:
    found = _headers(http, **{"$orderby": "start desc", "$top": "1", "$skip": "1"})
    assert [h["serialNumber"] for h in found] == ["SN-B"]


def test_report_type_r_lists_only_repairs(http: httpx.Client, three_reports: list[dict]) -> None:
    http.post("/api/Report/WSJF", json=example_uur()).raise_for_status()
    found = _headers(http, reportType="R")
    assert [h["reportType"] for h in found] == ["R"]
    assert found[0]["referencedUut"] == example_uut()["id"]


def test_expand_fills_misc_info(http: httpx.Client) -> None:
    http.post("/api/Report/WSJF", json=example_uut()).raise_for_status()
    assert _headers(http)[0]["miscInfo"] is None
    expanded = _headers(http, **{"$expand": "miscInfo,subUnits"})[0]
    assert expanded["miscInfo"] == [{"description": "Firmware", "text": "1.4.2"}]
    assert expanded["subUnits"][0]["sn"] == "PSU-777"


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"$filter": "colour eq 'red'"}, "unknown field 'colour'"),
        ({"$filter": "serialNumber eq 5"}, "cannot be compared"),
        ({"$filter": "serialNumber eq 'x"}, "position"),
        ({"$filter": "serialNumber like 'x'"}, "expected one of eq ne"),
        ({"$top": "-1"}, "$top"),
        ({"$orderby": "start sideways"}, "asc or desc"),
        ({"reportType": "X"}, "reportType"),
    ],
)
def test_bad_query_is_400_with_a_clear_message(
    http: httpx.Client, params: dict, fragment: str
) -> None:
    response = http.get("/api/Report/Query/Header", params=params)
    assert response.status_code == 400
    assert fragment in response.json()["message"]


def test_header_receive_count_follows_upserts(http: httpx.Client) -> None:
    report = minimal_uut(_id())
    for _ in range(3):
        http.post("/api/Report/WSJF", json=report).raise_for_status()
    assert _headers(http)[0]["receiveCount"] == 3
