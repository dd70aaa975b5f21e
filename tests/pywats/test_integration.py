"""pywats against the real simulator over HTTP on 127.0.0.1, including every error class."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import pywats
from pywats import Q
from watsim import Simulator

from . import samples

FAST = pywats.Timeout(connect=2, read=5, write=5, pool=2)


@pytest.fixture
def api(sim: Simulator, sim_token: str) -> Iterator[pywats.Client]:
    with pywats.Client(sim.base_url, sim_token, timeout=FAST) as client:
        yield client


def new_uut(sn: str = "SN-1", **fields: Any) -> dict[str, Any]:
    doc = samples.example_uut()
    doc.update(id=str(uuid.uuid4()), sn=sn, **fields)
    return doc


# ------------------------------------------------------------------ the happy paths


def test_submit_then_get_returns_the_same_document(api: pywats.Client) -> None:
    doc = samples.all_step_types_uut()
    result = api.reports.submit(doc)
    assert (result.id, result.status_code, result.raw_answer) == (doc["id"], 200, None)
    report = api.reports.get(doc["id"])
    assert report is not None
    assert report.to_wsjf() == doc


def test_submit_built_report_round_trips_through_the_server(api: pywats.Client) -> None:
    report = pywats.UUTReport.create(
        pn="PCBA-1",
        sn="SN-9",
        rev="A",
        process_code=10,
        station="ST",
        location="L",
        purpose="Production",
    )
    report.root.add_numeric_step("3V3", 3.3, low=3.2, high=3.4, unit="V")
    report.root.add_pass_fail("LED", True)
    api.reports.submit(report)
    back = api.reports.get(report.id)
    assert back is not None and back.to_wsjf() == report.to_wsjf()


def test_submit_of_a_server_export_model_strips_output_only_fields(
    api: pywats.Client, sim: Simulator
) -> None:
    report = pywats.parse_report(samples.server_export_uut())
    api.reports.submit(report)
    stored = sim.report(report.id)
    assert stored is not None
    assert not set(pywats.OUTPUT_ONLY_FIELDS) & set(stored)


def test_uur_round_trips(api: pywats.Client) -> None:
    doc = samples.example_uur()
    api.reports.submit(doc)
    back = api.reports.get(doc["id"])
    assert isinstance(back, pywats.UURReport)
    assert back.to_wsjf() == doc


def test_resubmit_with_same_key_upserts(api: pywats.Client, sim: Simulator) -> None:
    doc = new_uut()
    api.reports.submit(doc)
    api.reports.submit(doc)
    assert sim.stats()["receive_counts"] == {doc["id"]: 2}


def test_quote_in_serial_number_filters_exactly(api: pywats.Client) -> None:
    nasty = ["O'Brien", "x' or serialNumber ne '", "''", "a''b'"]
    for sn in [*nasty, "plain"]:
        api.reports.submit(new_uut(sn=sn))
    for sn in nasty:
        found = [h.serial_number for h in api.reports.headers(Q.serial_number == sn)]
        assert found == [sn]


def test_headers_page_through_the_server(api: pywats.Client) -> None:
    ids = [api.reports.submit(new_uut(sn=f"P-{i}")).id for i in range(7)]
    headers = list(api.reports.headers(Q.part_number == "PCBA-1001", page_size=3))
    assert [h.uuid for h in headers] == ids
    assert all(h.receive_count == 1 for h in headers)


def test_headers_top_and_orderby(api: pywats.Client) -> None:
    for i in range(5):
        api.reports.submit(new_uut(sn=f"O-{i}"))
    headers = api.reports.headers(orderby="serialNumber desc", top=2, page_size=1)
    assert [h.serial_number for h in headers] == ["O-4", "O-3"]


def test_version_and_processes(api: pywats.Client) -> None:
    assert api.app.version()
    codes = {p.code for p in api.app.processes()}
    assert {10, 500} <= codes
    assert {p.code for p in api.app.processes(test=False, wip=False)} == {500}


def test_products_save_get_list_and_revisions(api: pywats.Client) -> None:
    api.products.save(pywats.Product(part_number="P-1", name="Board", state=1))
    api.products.save_revision(pywats.ProductRevision(part_number="P-1", revision="A"))
    product = api.products.get("P-1")
    assert product is not None and product.name == "Board"
    assert [r.revision for r in api.products.revisions("P-1")] == ["A"]
    revision = api.products.revision("P-1", "A")
    assert revision is not None and revision.revision == "A"
    assert [p.part_number for p in api.products.list(Q.part_number == "P-1")] == ["P-1"]


def test_production_units_serials_and_verification(api: pywats.Client) -> None:
    saved = api.production.save_units([pywats.Unit(serial_number="U-1", part_number="PCBA-1001")])
    assert saved.insert_count == 1
    unit = api.production.get_unit("U-1", "PCBA-1001")
    assert unit is not None and unit.unit_phase_id == 2
    serials = api.production.take_serial_numbers(3)
    assert len(set(serials)) == 3
    doc = new_uut(sn="U-1", result="P")
    api.reports.submit(doc)
    grade = api.production.verify_unit("U-1", "PCBA-1001")
    assert grade is not None and grade.grade == "A"


def test_take_serial_numbers_in_csv_too(api: pywats.Client) -> None:
    xml = api.production.take_serial_numbers(2)
    csv = api.production.take_serial_numbers(2, format="CSV")
    assert len(set(xml + csv)) == 4


def test_save_units_with_a_refused_unit_names_it_and_keeps_the_others(
    api: pywats.Client,
) -> None:
    units = [
        pywats.Unit(serial_number="GOOD-1", part_number="PCBA-1001"),
        pywats.Unit(serial_number="BAD-1", part_number=""),
    ]
    with pytest.raises(pywats.UnitsRejectedError) as info:
        api.production.save_units(units)
    assert info.value.error_count == 1 and info.value.named_by_server
    assert [u.split(" ")[0] for u in info.value.failed_units] == ["BAD-1/"]
    assert api.production.get_unit("GOOD-1", "PCBA-1001") is not None


def test_product_revision_is_stored_and_read_with_capital_part_number(
    api: pywats.Client,
) -> None:
    api.products.save(pywats.Product(part_number="P-CAP", name="Board"))
    saved = api.products.save_revision(pywats.ProductRevision(part_number="P-CAP", revision="C"))
    assert saved.part_number == "P-CAP"
    read = api.products.revision("P-CAP", "C")
    assert read is not None and read.to_json_dict()["PartNumber"] == "P-CAP"


def test_assets_crud(api: pywats.Client) -> None:
    saved = api.assets.save(pywats.Asset(serial_number="DMM-1", asset_name="DMM"))
    assert saved.asset_id
    assert [a.serial_number for a in api.assets.list()] == ["DMM-1"]
    got = api.assets.get("DMM-1")
    assert got is not None and got.asset_id == saved.asset_id
    assert api.assets.delete(serial_number="DMM-1") is True
    with pytest.raises(pywats.NotFoundError):
        api.assets.get("DMM-1")


def test_lenient_client_returns_none_for_missing(sim: Simulator, sim_token: str) -> None:
    with pywats.Client(sim.base_url, sim_token, lenient=True, timeout=FAST) as client:
        assert client.reports.get(str(uuid.uuid4())) is None
        assert client.products.get("nope") is None
        assert client.production.get_unit("nope", "nope") is None
        assert client.assets.get("nope") is None
        assert client.assets.delete(serial_number="nope") is False


# ------------------------------------------------------------------ every error class


def test_not_found(api: pywats.Client) -> None:
    with pytest.raises(pywats.NotFoundError) as info:
        api.reports.get(str(uuid.uuid4()))
    assert "not found" in (info.value.server_message or "")


def test_server_rejection_is_validation_error_naming_the_field(api: pywats.Client) -> None:
    doc = new_uut(processCode=999)
    with pytest.raises(pywats.ValidationError) as info:
        api.reports.submit(doc)
    assert info.value.status_code == 400
    assert "processCode" in (info.value.server_message or "")
    assert not info.value.retryable


def test_reused_key_with_other_body_is_validation_error_422(
    api: pywats.Client, sim: Simulator
) -> None:
    sim.set_faults(idempotency_conflicts=True)  # invented by the simulator, off by default
    api.reports.submit(new_uut(), idempotency_key="k-1")
    with pytest.raises(pywats.ValidationError) as info:
        api.reports.submit(new_uut(), idempotency_key="k-1")
    assert info.value.status_code == 422


def test_wrong_token_is_authentication_error(sim: Simulator) -> None:
    with pywats.Client(sim.base_url, "wrong", timeout=FAST) as client:
        with pytest.raises(pywats.AuthenticationError) as info:
            client.app.version()
    assert info.value.status_code == 401


def test_expired_token_is_authentication_error(api: pywats.Client, sim: Simulator) -> None:
    sim.set_faults(token_expires_after=1)
    api.app.version()
    with pytest.raises(pywats.AuthenticationError, match="expired"):
        api.app.version()


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (403, pywats.AuthorizationError),
        (409, pywats.ConflictError),
        (500, pywats.ServerError),
        (503, pywats.ServerError),
        (405, pywats.UnexpectedStatusError),
        (422, pywats.ValidationError),
    ],
)
def test_injected_status_maps_to_class(
    api: pywats.Client, sim: Simulator, status: int, cls: type[pywats.PyWATSError]
) -> None:
    sim.set_faults(error_rate=1.0, error_statuses=[status])
    with pytest.raises(cls) as info:
        api.reports.submit(new_uut())
    assert info.value.status_code == status
    assert sim.stats()["distinct_reports"] == 0


@pytest.mark.parametrize("seconds", [3, 0.5])
def test_rate_limited_carries_retry_after(
    api: pywats.Client, sim: Simulator, seconds: float
) -> None:
    sim.set_faults(rate_limit_rate=1.0, retry_after_s=seconds)
    with pytest.raises(pywats.RateLimitedError) as info:
        api.reports.submit(new_uut())
    assert info.value.retry_after == seconds
    assert info.value.retryable


def test_garbage_answer_is_invalid_response(api: pywats.Client, sim: Simulator) -> None:
    sim.set_faults(garbage_rate=1.0)
    with pytest.raises(pywats.InvalidResponseError):
        api.app.version()


def test_dropped_after_store_may_have_reached_server(api: pywats.Client, sim: Simulator) -> None:
    doc = new_uut()
    sim.set_faults(drop_after_store_rate=1.0)
    with pytest.raises(pywats.ConnectionDropped) as info:
        api.reports.submit(doc)
    assert info.value.may_have_reached_server
    assert info.value.retryable
    assert sim.stats()["receive_counts"] == {doc["id"]: 1}


def test_dropped_before_store_is_connection_dropped_and_nothing_stored(
    api: pywats.Client, sim: Simulator
) -> None:
    sim.set_faults(drop_before_store_rate=1.0)
    with pytest.raises(pywats.ConnectionDropped) as info:
        api.reports.submit(new_uut())
    # The client cannot tell this from a drop after the store, so it must say "maybe".
    assert info.value.may_have_reached_server
    assert sim.stats()["distinct_reports"] == 0


def test_slow_server_is_request_timeout(sim: Simulator, sim_token: str) -> None:
    sim.set_faults(latency_ms=1500)
    timeout = pywats.Timeout(connect=2, read=0.2, write=2, pool=2)
    with pywats.Client(sim.base_url, sim_token, timeout=timeout) as client:
        with pytest.raises(pywats.RequestTimeout) as info:
            client.app.version()
    assert info.value.may_have_reached_server


def test_down_server_is_connect_error_that_never_reached_it(
    api: pywats.Client, sim: Simulator
) -> None:
    sim.set_faults(down_for_s=30)
    try:
        with pytest.raises(pywats.ConnectError) as info:
            api.app.version()
        assert info.value.may_have_reached_server is False
    finally:
        sim.clear_faults()
    assert api.app.version()


def test_mapping_submit_is_byte_for_byte_what_the_server_stores(
    api: pywats.Client, sim: Simulator
) -> None:
    doc = new_uut()
    doc["vendorExtra"] = {"n": 1.0, "m": 1}
    api.reports.submit(copy.deepcopy(doc))
    assert sim.report(doc["id"]) == doc
