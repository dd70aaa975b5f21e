"""Repositories against httpx.MockTransport: request shapes, answer parsing, lenient mode."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

import pywats
from pywats import Q

from . import samples
from .conftest import Recorder

pytestmark = pytest.mark.filterwarnings("error")


def query(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}


# ------------------------------------------------------------------ reports.submit


def test_submit_model_posts_submit_form_with_id_as_idempotency_key(
    client: pywats.Client, recorder: Recorder
) -> None:
    report = pywats.parse_report(samples.server_export_uut())
    recorder.answer(200, [{"ID": report.id}])
    assert client.reports.submit(report).id == report.id
    req = recorder.last
    assert (req.method, req.url.path) == ("POST", "/api/Report/WSJF")
    assert req.headers["Idempotency-Key"] == report.id
    assert req.headers["Content-Type"] == "application/json"
    assert recorder.last_json() == report.to_wsjf(for_submit=True)


def test_submit_mapping_is_sent_exactly_as_given(client: pywats.Client, recorder: Recorder) -> None:
    doc = samples.server_export_uut()
    doc["vendorField"] = {"kept": [1, 2.0]}
    recorder.answer(200, [{"ID": doc["id"]}])
    client.reports.submit(doc)
    assert recorder.last_json() == doc  # output-only fields included: the caller decides


def test_submit_mapping_is_not_validated(client: pywats.Client, recorder: Recorder) -> None:
    recorder.answer(200, {"id": "x"})
    assert client.reports.submit({"id": "x", "type": "T", "pn": 5}).id == "x"


def test_submit_bytes_are_sent_byte_for_byte_as_json(
    client: pywats.Client, recorder: Recorder
) -> None:
    body = b'{"id":"x","type":"T","z":1.0}'
    recorder.answer(200, {"id": "x"})
    assert client.reports.submit(body, idempotency_key="x").id == "x"
    assert recorder.last.content == body
    assert recorder.last.headers["Content-Type"] == "application/json"
    assert recorder.last.headers["Idempotency-Key"] == "x"


def test_submit_bytes_need_an_idempotency_key(client: pywats.Client, recorder: Recorder) -> None:
    with pytest.raises(ValueError, match="Idempotency-Key"):
        client.reports.submit(b'{"id":"x"}')
    assert recorder.requests == []


def test_submit_given_idempotency_key_wins(client: pywats.Client, recorder: Recorder) -> None:
    recorder.answer(200, [{"ID": samples.UUT_ID}])
    client.reports.submit(samples.example_uut(), idempotency_key="key-1")
    assert recorder.last.headers["Idempotency-Key"] == "key-1"


def test_submit_without_id_or_key_is_refused_before_sending(
    client: pywats.Client, recorder: Recorder
) -> None:
    with pytest.raises(ValueError, match="Idempotency-Key"):
        client.reports.submit({"type": "T"})
    assert recorder.requests == []


def test_submit_rejects_other_types(client: pywats.Client) -> None:
    with pytest.raises(TypeError, match="report"):
        client.reports.submit("{}")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "answer",
    [
        {"ID": "id-1", "uuid": "id-1", "Report_ID": 7},  # the spec's InsertReportResult
        {"uuid": "id-1"},
        [{"ID": "id-1"}],  # older answers, still read
        {"id": "id-1"},
        {"ID": "id-1"},
        "id-1",
    ],
)
def test_submit_reads_the_id_from_every_known_answer_shape(
    client: pywats.Client, recorder: Recorder, answer: Any
) -> None:
    recorder.answer(200, answer)
    assert client.reports.submit({"id": "id-1"}).id == "id-1"


def test_submit_prefers_the_destination_uuid_and_keeps_the_source_id(
    client: pywats.Client, recorder: Recorder
) -> None:
    recorder.answer(200, {"ID": "src-1", "uuid": "dst-1", "Report_ID": 0})
    result = client.reports.submit({"id": "src-1"})
    assert (result.id, result.source_id, result.raw_answer) == ("dst-1", "src-1", None)


def test_submit_result_carries_the_real_status_and_correlation_id(
    client: pywats.Client, recorder: Recorder
) -> None:
    recorder.answer(201, {"uuid": "id-1"}, headers={"X-Correlation-Id": "corr-9"})
    result = client.reports.submit({"id": "id-1"})
    assert result == pywats.SubmitResult(
        id="id-1", status_code=201, correlation_id="corr-9", source_id=None
    )


def test_submit_result_is_frozen(client: pywats.Client, recorder: Recorder) -> None:
    recorder.answer(200, {"uuid": "id-1"})
    result = client.reports.submit({"id": "id-1"})
    with pytest.raises(AttributeError):
        result.id = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("answer", "raw"),
    [
        ([], b"[]"),
        ({}, b"{}"),
        ([{"ID": ""}], b'[{"ID":""}]'),
        ({"status": "ok"}, b'{"status":"ok"}'),
        (42, b"42"),
        ([{"ID": 1}], b'[{"ID":1}]'),
        ({"ID": "00000000-0000-0000-0000-000000000000"}, None),  # the spec's empty Guid
        (None, b""),
    ],
)
def test_a_2xx_submit_answer_without_an_id_is_acknowledged_with_the_raw_answer(
    client: pywats.Client,
    recorder: Recorder,
    caplog: pytest.LogCaptureFixture,
    answer: Any,
    raw: bytes | None,
) -> None:
    # The server took the report (2xx): raising would make the caller send it again forever.
    if raw is None:
        raw = json.dumps(answer, separators=(",", ":")).encode()
    recorder.answer(200, content=raw)
    with caplog.at_level("WARNING", logger="pywats"):
        result = client.reports.submit({"id": "id-1"})
    assert result.id is None and result.status_code == 200
    assert result.raw_answer == raw.decode()
    assert "no report id" in caplog.text and "reports.submit" in caplog.text


@pytest.mark.parametrize(
    "body", [b"<html><body>Please log in to the proxy</body></html>", b"\xff\xfe not text"]
)
def test_a_2xx_submit_answer_that_is_not_json_is_an_invalid_response(
    client: pywats.Client, recorder: Recorder, body: bytes
) -> None:
    # A proxy or login portal answering 200 with a page is not the WATS server: taking it as
    # "stored" would lose the report, while a retry is safe (the server upserts by id).
    recorder.answer(200, content=body)
    with pytest.raises(pywats.InvalidResponseError, match="not JSON") as info:
        client.reports.submit({"id": "id-1"})
    assert info.value.operation == "reports.submit"
    assert info.value.status_code == 200


# ------------------------------------------------------------------ reports.get


def test_get_parses_a_uut(client: pywats.Client, recorder: Recorder) -> None:
    recorder.answer(200, samples.example_uut())
    report = client.reports.get(samples.UUT_ID)
    assert isinstance(report, pywats.UUTReport)
    assert report.to_wsjf() == samples.example_uut()
    assert recorder.last.url.path == f"/api/Report/Wsjf/{samples.UUT_ID}"


def test_get_parses_a_uur(client: pywats.Client, recorder: Recorder) -> None:
    recorder.answer(200, samples.example_uur())
    assert isinstance(client.reports.get("0b6e9d42"), pywats.UURReport)


def test_get_quotes_the_id_as_one_path_segment(client: pywats.Client, recorder: Recorder) -> None:
    recorder.answer(404, {"message": "no"})
    with pytest.raises(pywats.NotFoundError):
        client.reports.get("../App/Version?x=1")
    assert recorder.last.url.raw_path == b"/api/Report/Wsjf/..%2FApp%2FVersion%3Fx%3D1"


@pytest.mark.parametrize("dots", [".", ".."])
def test_a_dot_segment_is_refused_before_anything_is_sent(
    client: pywats.Client, recorder: Recorder, dots: str
) -> None:
    # Quoted or not, the URL resolves "." and ".." away: the request would reach another route.
    with pytest.raises(ValueError, match="cannot be"):
        client.production.get_unit(dots, "PN-1")
    with pytest.raises(ValueError, match="cannot be"):
        client.production.get_unit("SN-1", dots)
    with pytest.raises(ValueError, match="cannot be"):
        client.reports.get(dots)
    assert recorder.requests == []


def test_get_sends_the_specs_options_only_when_given(
    client: pywats.Client, recorder: Recorder
) -> None:
    recorder.answer(200, samples.example_uut())
    client.reports.get(samples.UUT_ID)
    assert query(recorder.last) == {}
    client.reports.get(
        samples.UUT_ID, detail_level=3, include_chartdata=False, include_attachments=True
    )
    assert query(recorder.last) == {
        "detailLevel": "3",
        "includeChartdata": "false",
        "includeAttachments": "true",
    }


@pytest.mark.parametrize("level", [-1, 8, True, "7"])
def test_get_refuses_a_detail_level_outside_0_to_7(client: pywats.Client, level: Any) -> None:
    with pytest.raises(ValueError, match="detail_level"):
        client.reports.get(samples.UUT_ID, detail_level=level)


def test_get_missing_raises_in_strict_mode(client: pywats.Client, recorder: Recorder) -> None:
    recorder.answer(404, {"message": "report not found"})
    with pytest.raises(pywats.NotFoundError):
        client.reports.get("x")


def test_get_missing_is_none_in_lenient_mode(
    lenient_client: pywats.Client, recorder: Recorder
) -> None:
    recorder.answer(404, {"message": "report not found"})
    assert lenient_client.reports.get("x") is None


def test_lenient_mode_still_raises_other_errors(
    lenient_client: pywats.Client, recorder: Recorder
) -> None:
    recorder.answer(500, {"message": "boom"})
    with pytest.raises(pywats.ServerError):
        lenient_client.reports.get("x")


def test_lenient_mode_does_not_hide_404_on_submit(
    lenient_client: pywats.Client, recorder: Recorder
) -> None:
    recorder.answer(404, {"message": "no route"})
    with pytest.raises(pywats.NotFoundError):
        lenient_client.reports.submit({"id": "x"})


def test_get_answer_that_is_not_a_report_is_invalid_response(
    client: pywats.Client, recorder: Recorder
) -> None:
    recorder.answer(200, {"type": "T", "pn": 5})
    with pytest.raises(pywats.InvalidResponseError, match="model") as info:
        client.reports.get("x")
    assert info.value.operation == "reports.get"


def test_get_old_export_without_type_but_with_uur_is_a_uur(
    client: pywats.Client, recorder: Recorder
) -> None:
    doc = samples.example_uur()
    del doc["type"]
    recorder.answer(200, doc)
    assert isinstance(client.reports.get("x"), pywats.UURReport)


# ------------------------------------------------------------------ reports.headers


def test_headers_sends_filter_type_order_and_paging(
    client: pywats.Client, recorder: Recorder
) -> None:
    recorder.answer(200, [])
    list(
        client.reports.headers(
            Q.serial_number == "a'b", report_type="R", orderby="start desc", page_size=50
        )
    )
    assert query(recorder.last) == {
        "$filter": "(reportType eq 'R') and (serialNumber eq 'a''b')",
        "$orderby": "start desc",
        "$top": "50",
        "$skip": "0",
    }


def test_headers_default_to_uut_reports_and_u_is_read_as_t(
    client: pywats.Client, recorder: Recorder
) -> None:
    recorder.answer(200, [])
    list(client.reports.headers())
    assert query(recorder.last)["$filter"] == "reportType eq 'T'"
    list(client.reports.headers(report_type="U"))
    assert query(recorder.last)["$filter"] == "reportType eq 'T'"
    list(client.reports.headers(report_type=None))
    assert "$filter" not in query(recorder.last)


def test_headers_accepts_a_raw_filter_string(client: pywats.Client, recorder: Recorder) -> None:
    recorder.answer(200, [])
    list(client.reports.headers("result eq 'Failed'", report_type=None))
    assert query(recorder.last)["$filter"] == "result eq 'Failed'"


def test_headers_rejects_an_unknown_report_type(client: pywats.Client) -> None:
    with pytest.raises(ValueError, match="'T', 'R' or None"):
        client.reports.headers(report_type="X")


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("start", "start"),
        ("START DESC", "start desc"),
        ("serialnumber asc", "serialNumber asc"),
        ("timestamp desc", "timeStamp desc"),
        ("uuid,start desc", "uuid,start desc"),
    ],
)
def test_headers_orderby_is_sent_with_the_specs_spelling(
    client: pywats.Client, recorder: Recorder, given: str, sent: str
) -> None:
    recorder.answer(200, [])
    list(client.reports.headers(orderby=given))
    assert query(recorder.last)["$orderby"] == sent


@pytest.mark.parametrize("orderby", ["partNumber", "start sideways", "start desc extra", ","])
def test_headers_orderby_outside_the_spec_is_refused_before_sending(
    client: pywats.Client, recorder: Recorder, orderby: str
) -> None:
    with pytest.raises(ValueError, match=r"orderby|ordered only by"):
        client.reports.headers(orderby=orderby)
    assert recorder.requests == []


def test_headers_parse_the_specs_field_names(client: pywats.Client, recorder: Recorder) -> None:
    row = {
        "uuid": "u",
        "reportType": "T",
        "start": "2026-01-02T03:04:05Z",
        "result": "Passed",
        "userName": "op1",
        "timeStamp": 123456789012,
        "run": 2,
    }
    recorder.answer(200, [row])
    (header,) = client.reports.headers()
    assert (header.user_name, header.time_stamp, header.run, header.result) == (
        "op1",
        123456789012,
        2,
        "Passed",
    )
    assert header.to_json_dict() == row


def test_headers_parse_known_fields_and_keep_unknown(
    client: pywats.Client, recorder: Recorder
) -> None:
    recorder.answer(200, [{"uuid": "u", "serialNumber": "S", "receiveCount": 2, "newField": 1}])
    (header,) = client.reports.headers()
    assert (header.uuid, header.serial_number, header.receive_count) == ("u", "S", 2)
    assert header.to_json_dict()["newField"] == 1


def test_headers_still_read_the_older_field_names(
    client: pywats.Client, recorder: Recorder
) -> None:
    recorder.answer(200, [{"uuid": "u", "operator": "op1", "startUtc": "2026-01-01T00:00:00Z"}])
    (header,) = client.reports.headers()
    assert (header.operator, header.start_utc) == ("op1", "2026-01-01T00:00:00Z")


# ------------------------------------------------------------------ app


def test_version_reads_object_or_string(client: pywats.Client, recorder: Recorder) -> None:
    recorder.answer(200, {"version": "24.1.0", "product": "watsim"})
    assert client.app.version() == "24.1.0"
    recorder.answer(200, "2025.2")
    assert client.app.version() == "2025.2"


def test_version_is_never_cached(client: pywats.Client, recorder: Recorder) -> None:
    recorder.answer(200, {"version": "1"})
    client.app.version()
    client.app.version()
    assert len(recorder.requests) == 2


def test_version_without_version_is_invalid_response(
    client: pywats.Client, recorder: Recorder
) -> None:
    recorder.answer(200, {"product": "x"})
    with pytest.raises(pywats.InvalidResponseError):
        client.app.version()


def test_processes_sends_flags_and_parses(client: pywats.Client, recorder: Recorder) -> None:
    recorder.answer(200, [{"code": 10, "name": "ICT", "isTestOperation": True}])
    (proc,) = client.app.processes(repair=False)
    assert (proc.code, proc.name, proc.is_test_operation) == (10, "ICT", True)
    assert query(recorder.last) == {
        "includeTestOperations": "true",
        "includeRepairOperations": "false",
        "includeWipOperations": "true",
        "includeInactiveProcesses": "false",
    }


# ------------------------------------------------------------------ products


def test_product_get_quotes_part_number(client: pywats.Client, recorder: Recorder) -> None:
    recorder.answer(
        200, {"partNumber": "A/B", "revisions": [{"partNumber": "A/B", "revision": "1"}]}
    )
    product = client.products.get("A/B")
    assert product is not None and product.revisions[0].revision == "1"  # type: ignore[index]
    assert recorder.last.url.raw_path == b"/api/Product/A%2FB"


def test_product_save_puts_the_product_json(client: pywats.Client, recorder: Recorder) -> None:
    recorder.answer(200, {"partNumber": "P1", "productId": "g"})
    saved = client.products.save(pywats.Product(part_number="P1", name="Board"))
    assert recorder.last.method == "PUT"
    assert recorder.last_json() == {"partNumber": "P1", "name": "Board"}
    assert saved.product_id == "g"


def test_product_revision_is_the_path_route(client: pywats.Client, recorder: Recorder) -> None:
    recorder.answer(200, {"PartNumber": "P/1", "revision": "B 2"})
    revision = client.products.revision("P/1", "B 2")
    assert revision is not None and revision.part_number == "P/1"
    assert recorder.last.url.raw_path == b"/api/Product/P%2F1/B%202"
    assert query(recorder.last) == {}


def test_product_revision_reads_old_lowercase_part_number_and_writes_capital(
    client: pywats.Client, recorder: Recorder
) -> None:
    recorder.answer(200, {"partNumber": "P1", "revision": "B"})
    revision = client.products.revision("P1", "B")
    assert revision is not None and revision.part_number == "P1"
    recorder.answer(200, {"PartNumber": "P1", "revision": "B"})
    client.products.save_revision(revision)
    assert recorder.last_json() == {"PartNumber": "P1", "revision": "B"}


def test_product_list_is_paged(client: pywats.Client, recorder: Recorder) -> None:
    recorder.answer(200, [{"partNumber": "P1"}])
    assert [p.part_number for p in client.products.list(Q.state == 1)] == ["P1"]
    assert query(recorder.last) == {"$filter": "state eq 1", "$top": "100", "$skip": "0"}


# ------------------------------------------------------------------ production


def test_get_unit_path(client: pywats.Client, recorder: Recorder) -> None:
    recorder.answer(200, {"serialNumber": "S 1", "partNumber": "P"})
    client.production.get_unit("S 1", "P")
    assert recorder.last.url.raw_path == b"/api/Production/Unit/S%201/P"


def test_save_units_puts_a_list(client: pywats.Client, recorder: Recorder) -> None:
    recorder.answer(200, {"insertCount": 1, "updateCount": 0, "errorCount": 0})
    saved = client.production.save_units([pywats.Unit(serial_number="S", part_number="P")])
    assert recorder.last_json() == [{"serialNumber": "S", "partNumber": "P"}]
    assert (saved.insert_count, saved.error_count) == (1, 0)


def test_save_units_empty_answer_is_success(client: pywats.Client, recorder: Recorder) -> None:
    recorder.answer(200, content=b"")
    saved = client.production.save_units([pywats.Unit(serial_number="S", part_number="P")])
    assert saved.error_count is None


def test_save_units_error_count_names_the_units_the_answer_lists(
    client: pywats.Client, recorder: Recorder
) -> None:
    answer = {
        "insertCount": 1,
        "errorCount": 1,
        "errors": [{"serialNumber": "S2", "partNumber": "P", "message": "unknown part"}],
    }
    recorder.answer(200, answer)
    units = [pywats.Unit(serial_number=sn, part_number="P") for sn in ("S1", "S2")]
    with pytest.raises(pywats.UnitsRejectedError) as info:
        client.production.save_units(units)
    err = info.value
    assert (err.error_count, err.failed_units, err.named_by_server) == (
        1,
        ("S2/P (unknown part)",),
        True,
    )
    assert err.operation == "production.save_units" and not err.retryable
    assert isinstance(err, pywats.ValidationError)
    assert "S2/P" in str(err) and "S1/P" not in str(err)


def test_save_units_error_count_without_names_names_every_unit_sent(
    client: pywats.Client, recorder: Recorder
) -> None:
    recorder.answer(200, {"insertCount": 0, "updateCount": 1, "errorCount": 1})
    units = [pywats.Unit(serial_number=sn, part_number="P") for sn in ("S1", "S2")]
    with pytest.raises(pywats.UnitsRejectedError) as info:
        client.production.save_units(units)
    assert info.value.failed_units == ("S1/P", "S2/P")
    assert not info.value.named_by_server
    assert "the answer names none" in str(info.value)


def test_save_units_answer_that_is_not_an_object_is_invalid(
    client: pywats.Client, recorder: Recorder
) -> None:
    recorder.answer(200, [1, 2])
    with pytest.raises(
        pywats.InvalidResponseError, match=r"production\.save_units: .*not an object"
    ):
        client.production.save_units([pywats.Unit(serial_number="S", part_number="P")])


def test_take_serial_numbers_sends_the_specs_parameters(
    client: pywats.Client, recorder: Recorder
) -> None:
    recorder.answer(200, content=b'<SerialNumbers><SN id="SN-1"/></SerialNumbers>')
    client.production.take_serial_numbers(1)
    assert query(recorder.last) == {
        "serialNumberType": "Default",
        "quantity": "1",
        "format": "XML",
    }
    client.production.take_serial_numbers(
        1, ref_sn="R", ref_pn="P", station_name="ST", only_in_sequence=False, format="csv"
    )
    assert query(recorder.last) == {
        "serialNumberType": "Default",
        "quantity": "1",
        "format": "CSV",
        "refSN": "R",
        "refPN": "P",
        "stationName": "ST",
        "onlyInSequence": "false",
    }


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><SerialNumbers type="Default"><SN id="SN-1" /><SN id="SN-2" />'
        b"</SerialNumbers>",
        b'<SerialNumbers xmlns="urn:x"><SN id="SN-1"/><SN>SN-2</SN></SerialNumbers>',
        b"SN-1\r\nSN-2\r\n",
        b"SerialNumber\nSN-1\nSN-2\n",
        b"SN-1,2026-01-01\nSN-2,2026-01-01\n",
        b'"<SerialNumbers><SN id=\\"SN-1\\"/><SN id=\\"SN-2\\"/></SerialNumbers>"',
        b'"SN-1\\nSN-2"',
        b'["SN-1", "SN-2"]',  # the older JSON list, still read
        b'<string xmlns="http://schemas.microsoft.com/2003/10/Serialization/">'
        b"&lt;SerialNumbers&gt;&lt;SN id=&quot;SN-1&quot;/&gt;&lt;SN id=&quot;SN-2&quot;/&gt;"
        b"&lt;/SerialNumbers&gt;</string>",
    ],
    ids=[
        "xml",
        "xml-ns-text",
        "csv-crlf",
        "csv-header",
        "csv-columns",
        "json-xml",
        "json-csv",
        "list",
        "xml-string",
    ],
)
def test_take_serial_numbers_reads_xml_csv_and_the_older_list(
    client: pywats.Client, recorder: Recorder, body: bytes
) -> None:
    recorder.answer(200, content=body)
    assert client.production.take_serial_numbers(2) == ["SN-1", "SN-2"]


def test_take_serial_numbers_fewer_than_asked_are_returned(
    client: pywats.Client, recorder: Recorder
) -> None:
    recorder.answer(200, content=b"<SerialNumbers />")
    assert client.production.take_serial_numbers(5) == []


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'{"serials": []}', "neither XML nor CSV"),
        (b"<SerialNumbers><SN id=", "does not parse"),
        (b"<Other><X/></Other>", "no <SN> elements"),
        (b"<SerialNumbers><SN/></SerialNumbers>", "without an id"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><SerialNumbers/>', "DOCTYPE"),
        (b"A\nB\nC\n", "3 serial numbers answered, 2 asked"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_take_serial_numbers_malformed_answer_is_a_clear_error(
    client: pywats.Client, recorder: Recorder, body: bytes, why: str
) -> None:
    recorder.answer(200, content=body)
    with pytest.raises(pywats.InvalidResponseError) as info:
        client.production.take_serial_numbers(2)
    assert info.value.operation == "production.take_serial_numbers"
    assert why in str(info.value)


def test_take_serial_numbers_refuses_an_unknown_format(client: pywats.Client) -> None:
    with pytest.raises(ValueError, match="XML' or 'CSV"):
        client.production.take_serial_numbers(1, format="json")


def test_take_serial_numbers_makes_no_idempotency_promise(
    client: pywats.Client, recorder: Recorder
) -> None:
    # The real server cannot spot a repeated Take; the parameter is gone rather than lying.
    recorder.answer(200, content=b"SN-1")
    with pytest.raises(TypeError):
        client.production.take_serial_numbers(1, idempotency_key="k")  # type: ignore[call-arg]
    assert recorder.requests == []


def test_verify_unit_sends_only_the_specs_parameters(
    client: pywats.Client, recorder: Recorder
) -> None:
    recorder.answer(200, {"status": "Passed", "grade": "A", "results": []})
    result = client.production.verify_unit("S", "P")
    assert result is not None and result.grade == "A"
    assert query(recorder.last) == {"serialNumber": "S", "partNumber": "P"}
    client.production.verify_unit("S")
    assert query(recorder.last) == {"serialNumber": "S"}


# ------------------------------------------------------------------ assets


def test_asset_delete_by_serial_number(client: pywats.Client, recorder: Recorder) -> None:
    recorder.answer(200, {"deleted": 1})
    assert client.assets.delete(serial_number="DMM-1") is True
    assert (recorder.last.method, query(recorder.last)) == ("DELETE", {"serialNumber": "DMM-1"})


def test_asset_delete_empty_answer_is_success(client: pywats.Client, recorder: Recorder) -> None:
    recorder.answer(200, content=b"")
    assert client.assets.delete(asset_id="a") is True


def test_asset_delete_missing_is_false_when_lenient(
    lenient_client: pywats.Client, recorder: Recorder
) -> None:
    recorder.answer(404, {"message": "no"})
    assert lenient_client.assets.delete(asset_id="a") is False


def test_asset_delete_needs_exactly_one_key(client: pywats.Client) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        client.assets.delete()


def test_asset_save_round_trips_unknown_fields(client: pywats.Client, recorder: Recorder) -> None:
    recorder.answer(200, {"serialNumber": "DMM-1", "assetId": "g", "tags": ["a"]})
    asset = client.assets.get("DMM-1")
    assert asset is not None
    recorder.handler = lambda request: httpx.Response(200, content=request.content)
    client.assets.save(asset)
    assert json.loads(recorder.last.content) == {
        "serialNumber": "DMM-1",
        "assetId": "g",
        "tags": ["a"],
    }


def test_write_calls_send_an_idempotency_key_only_when_given(
    client: pywats.Client, recorder: Recorder
) -> None:
    recorder.answer(200, {"partNumber": "P"})
    client.products.save(pywats.Product(part_number="P"))
    assert "Idempotency-Key" not in recorder.last.headers
    client.products.save(pywats.Product(part_number="P"), idempotency_key="k-1")
    assert recorder.last.headers["Idempotency-Key"] == "k-1"


@pytest.mark.parametrize(
    ("call", "answer"),
    [
        (
            lambda c: c.products.save(pywats.Product(part_number="P"), idempotency_key="k"),
            {"partNumber": "P"},
        ),
        (
            lambda c: c.products.save_revision(
                pywats.ProductRevision(part_number="P", revision="A"), idempotency_key="k"
            ),
            {"partNumber": "P", "revision": "A"},
        ),
        (
            lambda c: c.production.save_units(
                [pywats.Unit(serial_number="S", part_number="P")], idempotency_key="k"
            ),
            {},
        ),
        (
            lambda c: c.assets.save(pywats.Asset(serial_number="S"), idempotency_key="k"),
            {"serialNumber": "S"},
        ),
    ],
    ids=["products.save", "products.save_revision", "production.save_units", "assets.save"],
)
def test_save_calls_pass_the_idempotency_key(
    client: pywats.Client, recorder: Recorder, call: Any, answer: Any
) -> None:
    recorder.answer(200, answer)
    call(client)
    assert recorder.last.headers["Idempotency-Key"] == "k"


def test_null_body_is_not_mistaken_for_not_found(
    lenient_client: pywats.Client, recorder: Recorder
) -> None:
    recorder.answer(200, content=b"null")
    with pytest.raises(pywats.InvalidResponseError):
        lenient_client.reports.get("x")


# ------------------------------------------------------------------ malformed answers


@pytest.mark.parametrize(
    ("call", "body", "why"),
    [
        (lambda c: c.app.version(), b"<html>login</html>", "body is not JSON"),
        (lambda c: c.app.version(), b"", "empty body"),
        (lambda c: c.app.version(), b'{"product": "x"}', "carries no version"),
        (lambda c: c.app.processes(), b'{"code": 1}', "not a list"),
        (lambda c: c.reports.get("x"), b'{"type": "T"}', "does not match the model"),
        (lambda c: list(c.reports.headers()), b'{"rows": []}', "expected a JSON list page"),
        (lambda c: c.products.get("P"), b'{"name": "no part number"}', "partNumber"),
        (lambda c: c.products.revision("P", "A"), b'{"revision": "A"}', "PartNumber"),
        (lambda c: c.production.get_unit("S", "P"), b"[1]", "does not match the model"),
        (lambda c: c.assets.get("A"), b"17", "does not match the model"),
    ],
    ids=[
        "version-html",
        "version-empty",
        "version-object",
        "processes",
        "report",
        "headers",
        "product",
        "revision",
        "unit",
        "asset",
    ],
)
def test_a_malformed_answer_is_an_error_naming_the_operation_and_the_fault(
    client: pywats.Client, recorder: Recorder, call: Any, body: bytes, why: str
) -> None:
    recorder.answer(200, content=body, headers={"X-Request-Id": "req-5"})
    with pytest.raises(pywats.InvalidResponseError) as info:
        call(client)
    err = info.value
    assert err.operation and str(err).startswith(f"{err.operation}: ")
    assert why in str(err)
    assert not err.retryable
