"""Report endpoints: submit (upsert), fetch, header query."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import httpx
import pytest

from pywats import Q, Status
from tests.watsim.examples import example_uur, example_uut, minimal_uut
from watsim import Simulator
from watsim._validation import RULE_MESSAGES


def _id() -> str:
    return str(uuid.uuid4())


def test_example_uut_is_accepted_and_answers_with_its_id(http: httpx.Client) -> None:
    report = example_uut()
    response = http.post("/api/Report/WSJF", json=report)
    assert response.status_code == 200
    assert response.json() == {"ID": report["id"], "uuid": report["id"], "Report_ID": 1}


def test_submit_answers_one_insert_report_result_per_report(http: httpx.Client) -> None:
    ids = [_id(), _id()]
    answers = [http.post("/api/Report/WSJF", json=minimal_uut(i)).json() for i in ids]
    assert [a["ID"] for a in answers] == ids
    assert answers[0]["Report_ID"] < answers[1]["Report_ID"]


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
        ({"processCode": "ten"}, "report.processCode"),
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


@pytest.mark.parametrize(("field", "value"), [("type", "t"), ("result", "f"), ("result", "F")])
def test_enum_values_are_accepted_in_any_case(http: httpx.Client, field: str, value: str) -> None:
    report = minimal_uut(_id(), **{field: value})
    text = json.dumps(report)
    response = http.post(
        "/api/Report/WSJF", content=text, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert http.get(f"/api/Report/Wsjf/{report['id']}").text == text  # stored as posted
    header = _headers(http, **{"$filter": f"uuid eq {report['id']}"})[0]
    assert header["reportType"] == "T"
    assert header["result"] == ("Passed" if field == "type" else "Failed")


CORPUS = sorted((Path(__file__).resolve().parents[1] / "fixtures" / "reports").glob("*.json"))
_REFUSAL_LINE = re.compile(
    r"^root( -> [^:]+)?: (" + "|".join(re.escape(m) for m in RULE_MESSAGES.values()) + r")$"
)


def test_the_corpus_is_there() -> None:
    assert len(CORPUS) >= 6


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_every_corpus_report_is_stored_or_refused_only_by_documented_rules(
    http: httpx.Client, path: Path
) -> None:
    response = http.post(
        "/api/Report/WSJF", content=path.read_bytes(), headers={"Content-Type": "application/json"}
    )
    if response.status_code == 400:
        lines = response.text.splitlines()
        assert lines and all(_REFUSAL_LINE.match(line) for line in lines), response.text
    else:
        assert 200 <= response.status_code < 300, response.text


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
    assert header["reportType"] == "T"
    assert header["stationName"] == "STATION-1"
    assert header["processCode"] == 10
    assert header["processName"] == "ICT"
    assert header["result"] == "Passed"
    assert header["start"] == "2026-01-10T09:00:00Z"
    assert header["receiveCount"] == 1
    assert header["run"] == 1
    assert isinstance(header["timeStamp"], int)
    assert "startUtc" not in header
    assert "operator" not in header


def test_header_of_example_uut_carries_uut_info(http: httpx.Client) -> None:
    http.post("/api/Report/WSJF", json=example_uut()).raise_for_status()
    header = _headers(http)[0]
    assert header["userName"] == "operator1"
    assert header["batchNumber"] == "LOT-42"
    assert header["fixtureId"] == "FX-7"
    assert header["swFilename"] == "Main.seq"
    assert header["result"] == "Failed"


def test_header_run_counts_tests_of_the_same_unit_in_one_process(http: httpx.Client) -> None:
    for start in ("2026-01-01T10:00:00Z", "2026-01-01T09:00:00Z"):
        http.post("/api/Report/WSJF", json=minimal_uut(_id(), start=start)).raise_for_status()
    found = _headers(http, **{"$orderby": "start"})
    assert [h["run"] for h in found] == [1, 2]


def test_header_default_is_ten_most_recent_first(http: httpx.Client) -> None:
    for day in range(1, 13):
        report = minimal_uut(_id(), start=f"2026-01-{day:02d}T10:00:00Z")
        http.post("/api/Report/WSJF", json=report).raise_for_status()
    found = _headers(http)
    assert len(found) == 10
    assert found[0]["start"] == "2026-01-12T10:00:00Z"
    assert found[-1]["start"] == "2026-01-03T10:00:00Z"


def test_header_filter_on_uuid_takes_a_bare_guid(
    http: httpx.Client, three_reports: list[dict]
) -> None:
    wanted = three_reports[1]["id"]
    found = _headers(http, **{"$filter": f"uuid eq {wanted.upper()}"})
    assert [h["uuid"] for h in found] == [wanted]
    quoted = http.get("/api/Report/Query/Header", params={"$filter": f"uuid eq '{wanted}'"})
    assert quoted.status_code == 400


def test_filter_on_part_number(http: httpx.Client, three_reports: list[dict]) -> None:
    found = _headers(http, **{"$filter": "partNumber eq 'PN-1'"})
    assert [h["serialNumber"] for h in found] == ["SN-B", "SN-A"]


@pytest.mark.parametrize("result", ["F", Status.FAILED, "Failed"])
def test_the_clients_result_filter_finds_the_failed_report(
    http: httpx.Client, three_reports: list[dict], result: str | Status
) -> None:
    found = _headers(http, **{"$filter": str(Q.result == result)})
    assert [h["serialNumber"] for h in found] == ["SN-B"]


def test_filter_on_start_range_compares_instants(
    http: httpx.Client, three_reports: list[dict]
) -> None:
    flt = "start ge 2026-02-01T00:00:00Z and start le 2026-03-10T15:00:00Z"
    found = _headers(http, **{"$filter": flt, "$orderby": "start"})
    # SN-C starts 2026-03-10T15:00Z exactly (10:00-05:00), so `le` includes it.
    assert [h["serialNumber"] for h in found] == ["SN-B", "SN-C"]


def test_orderby_desc_then_top_and_skip(http: httpx.Client, three_reports: list[dict]) -> None:
    found = _headers(http, **{"$orderby": "start desc", "$top": "1", "$skip": "1"})
    assert [h["serialNumber"] for h in found] == ["SN-B"]


def test_report_type_r_lists_only_repairs(http: httpx.Client, three_reports: list[dict]) -> None:
    http.post("/api/Report/WSJF", json=example_uur()).raise_for_status()
    found = _headers(http, **{"$filter": "reportType eq 'R'"})
    assert [h["reportType"] for h in found] == ["R"]
    assert found[0]["referencedUut"] == example_uut()["id"]


def test_expand_fills_misc_info(http: httpx.Client) -> None:
    http.post("/api/Report/WSJF", json=example_uut()).raise_for_status()
    assert "miscInfo" not in _headers(http)[0]
    expanded = _headers(http, **{"$expand": "miscInfo,subUnits"})[0]
    assert expanded["miscInfo"] == [{"description": "Firmware", "value": "1.4.2"}]
    assert expanded["subUnits"][0]["serialNumber"] == "PSU-777"


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"$filter": "colour eq 'red'"}, "unknown field 'colour'"),
        ({"$filter": "serialNumber eq 5"}, "cannot be compared"),
        ({"$filter": "serialNumber eq 'x"}, "position"),
        ({"$filter": "serialNumber like 'x'"}, "expected one of eq ne"),
        ({"$top": "-1"}, "$top"),
        ({"$orderby": "start sideways"}, "asc or desc"),
        ({"$orderby": "partNumber"}, "unknown field 'partNumber'"),
        ({"$top": "10001"}, "$top"),
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


def test_a_process_code_written_as_a_string_is_read_as_the_integer(
    http: httpx.Client, sim: Simulator
) -> None:
    report = minimal_uut(str(uuid.uuid4()))
    report["processCode"] = str(report["processCode"])
    assert http.post("/api/Report/WSJF", json=report).status_code == 200
    bad = minimal_uut(str(uuid.uuid4()))
    bad["processCode"] = "ten"
    answer = http.post("/api/Report/WSJF", json=bad)
    assert answer.status_code == 400
    assert "processCode" in answer.text
