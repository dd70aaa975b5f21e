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
    assert client.reports.submit(report) == report.id
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
    assert client.reports.submit({"id": "x", "type": "T", "pn": 5}) == "x"


def test_submit_bytes_are_sent_byte_for_byte_as_json(
    client: pywats.Client, recorder: Recorder
) -> None:
    body = b'{"id":"x","type":"T","z":1.0}'
    recorder.answer(200, {"id": "x"})
    assert client.reports.submit(body, idempotency_key="x") == "x"
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
    [[{"ID": "id-1"}], {"id": "id-1"}, {"ID": "id-1"}, {"uuid": "id-1"}, "id-1"],
)
def test_submit_reads_the_id_from_every_known_answer_shape(
    client: pywats.Client, recorder: Recorder, answer: Any
) -> None:
    recorder.answer(200, answer)
    assert client.reports.submit({"id": "id-1"}) == "id-1"


@pytest.mark.parametrize("answer", [[], {}, [{"ID": ""}], {"status": "ok"}, 42, [{"ID": 1}]])
def test_submit_answer_without_id_is_invalid_response(
    client: pywats.Client, recorder: Recorder, answer: Any
) -> None:
    recorder.answer(200, answer)
    with pytest.raises(pywats.InvalidResponseError, match="no report id"):
        client.reports.submit({"id": "id-1"})


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
        "reportType": "R",
        "$filter": "serialNumber eq 'a''b'",
        "$orderby": "start desc",
        "$top": "50",
        "$skip": "0",
    }


def test_headers_accepts_a_raw_filter_string(client: pywats.Client, recorder: Recorder) -> None:
    recorder.answer(200, [])
    list(client.reports.headers("result eq 'F'"))
    assert query(recorder.last)["$filter"] == "result eq 'F'"


def test_headers_rejects_report_type_t(client: pywats.Client) -> None:
    with pytest.raises(ValueError, match="'U' or 'R'"):
        client.reports.headers(report_type="T")


def test_headers_parse_known_fields_and_keep_unknown(
    client: pywats.Client, recorder: Recorder
) -> None:
    recorder.answer(200, [{"uuid": "u", "serialNumber": "S", "receiveCount": 2, "newField": 1}])
    (header,) = client.reports.headers()
    assert (header.uuid, header.serial_number, header.receive_count) == ("u", "S", 2)
    assert header.to_json_dict()["newField"] == 1


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


def test_product_revision_uses_query_parameters(client: pywats.Client, recorder: Recorder) -> None:
    recorder.answer(200, {"partNumber": "P1", "revision": "B"})
    client.products.revision("P1", "B")
    assert recorder.last.url.path == "/api/Product"
    assert query(recorder.last) == {"partNumber": "P1", "revision": "B"}


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
    recorder.answer(200, {"insertCount": 1, "updateCount": 0})
    saved = client.production.save_units([pywats.Unit(serial_number="S", part_number="P")])
    assert recorder.last_json() == [{"serialNumber": "S", "partNumber": "P"}]
    assert saved.insert_count == 1


def test_take_serial_numbers(client: pywats.Client, recorder: Recorder) -> None:
    recorder.answer(200, ["SN-000001", "SN-000002"])
    assert client.production.take_serial_numbers(2) == ["SN-000001", "SN-000002"]
    assert query(recorder.last) == {"serialNumberType": "Default", "quantity": "2"}


def test_take_serial_numbers_garbage_is_invalid_response(
    client: pywats.Client, recorder: Recorder
) -> None:
    recorder.answer(200, {"serials": []})
    with pytest.raises(pywats.InvalidResponseError):
        client.production.take_serial_numbers(1)


def test_verify_unit(client: pywats.Client, recorder: Recorder) -> None:
    recorder.answer(200, {"status": "Passed", "grade": "A", "results": []})
    result = client.production.verify_unit("S", "P", "A")
    assert result is not None and result.grade == "A"
    assert query(recorder.last) == {"serialNumber": "S", "partNumber": "P", "revision": "A"}


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
    recorder.answer(200, ["SN-1"])
    client.production.take_serial_numbers(1)
    assert "Idempotency-Key" not in recorder.last.headers
    client.production.take_serial_numbers(1, idempotency_key="take-1")
    assert recorder.last.headers["Idempotency-Key"] == "take-1"


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
