"""POST actions without JavaScript: each is a form post, recorded in the journal with origin
"station page", then a redirect back (303) with a message."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from syncengine import SyncEngine
from watsim import Simulator

from ..test_engine_support import assert_exactly, report, wait_for
from .conftest import csrf_of, origin_headers, page_form, submit_form
from .test_security import failed_key


def post(client: httpx.Client, path: str, **data: str) -> httpx.Response:
    """A crafted POST (not one of the page's forms): for actions the page does not offer."""
    return client.post(path, data={"csrf": csrf_of(client), **data}, headers=origin_headers(client))


def on_report(key: str) -> str:
    return f"/report?key={key}"


def test_requeue_one_records_origin_and_redirects_back(
    engine: SyncEngine, client: httpx.Client, sim: Simulator
) -> None:
    key = failed_key(engine, sim)
    answer = submit_form(
        client, on_report(key), "/action/requeue", who="anna", reason="process code added"
    )
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/report?key=")
    assert engine.wait_idle(20)
    requeued = [e for e in engine.history(key) if e.type == "Requeued"]
    assert (requeued[0].data["origin"], requeued[0].data["who"]) == ("station page", "anna")
    assert requeued[0].data["reason"] == "process code added"
    assert_exactly(sim, [key])
    page = client.get(answer.headers["location"]).text
    assert "will be sent again" in page


def test_requeue_all_failed(engine: SyncEngine, client: httpx.Client, sim: Simulator) -> None:
    sim.set_faults(error_rate=1.0, error_statuses=[422])
    keys = [engine.submit(report(i)) for i in range(3)]
    wait_for(lambda: engine.counts()["failed"] == 3, what="failed")
    sim.clear_faults()
    answer = submit_form(client, "/", "/action/requeue-failed", who="anna", reason="fixed")
    assert answer.status_code == 303
    assert engine.wait_idle(20)
    assert_exactly(sim, keys)
    for key in keys:
        requeued = next(e for e in engine.history(key) if e.type == "Requeued")
        assert (requeued.data["who"], requeued.data["reason"]) == ("anna", "fixed")


@pytest.mark.parametrize(
    ("page", "action"),
    [("report", "/action/requeue"), ("/", "/action/requeue-failed")],
    ids=["one", "all-failed"],
)
def test_requeue_needs_a_name_and_the_form_asks_for_it(
    engine: SyncEngine, client: httpx.Client, sim: Simulator, page: str, action: str
) -> None:
    key = failed_key(engine, sim)
    page = on_report(key) if page == "report" else page
    form = page_form(client, page, action)
    assert "who" in form.required and "reason" in form.fields and "reason" not in form.required
    answer = submit_form(client, page, action, reason="no name given")
    assert "who you are" in client.get(answer.headers["location"]).text
    assert engine.submission(key).state == "failed"
    assert [e.type for e in engine.history(key)] == ["Submitted", "UploadStarted", "Failed"]


def test_a_requeue_without_a_reason_says_so_in_the_journal(
    engine: SyncEngine, client: httpx.Client, sim: Simulator
) -> None:
    key = failed_key(engine, sim)
    submit_form(client, on_report(key), "/action/requeue", who="anna")
    requeued = next(e for e in engine.history(key) if e.type == "Requeued")
    assert (requeued.data["who"], requeued.data["reason"]) == ("anna", "no reason given")


def test_dismiss_is_recorded_and_never_sent(
    engine: SyncEngine, client: httpx.Client, sim: Simulator
) -> None:
    key = failed_key(engine, sim)
    posts = sim.stats()["report_posts"]
    answer = submit_form(
        client, on_report(key), "/action/dismiss", reason="unit scrapped", who="anna"
    )
    assert answer.status_code == 303
    counts = engine.counts()
    assert (counts["failed"], counts["dismissed"]) == (0, 1)
    last = engine.history(key)[-1]
    assert (last.type, last.data["reason"], last.data["origin"]) == (
        "Dismissed",
        "unit scrapped",
        "station page",
    )
    engine.submit(report(2))
    assert engine.wait_idle(20)
    assert sim.stats()["report_posts"] == posts + 1  # only the new report went out
    assert "Dismissed" in client.get("/report", params={"key": key}).text
    metrics = client.get("/metrics").text
    assert 'wats_sync_submissions{state="dismissed"} 1.0' in metrics
    assert 'wats_sync_submissions{state="failed"} 0.0' in metrics


def test_dismiss_without_a_reason_does_nothing(
    engine: SyncEngine, client: httpx.Client, sim: Simulator
) -> None:
    key = failed_key(engine, sim)
    answer = submit_form(client, on_report(key), "/action/dismiss", reason="  ", who="anna")
    assert answer.status_code == 303
    assert engine.submission(key).state == "failed"
    assert "Say why" in client.get(answer.headers["location"]).text


def upload(client: httpx.Client, key: str, body: bytes, name: str = "fixed.json") -> httpx.Response:
    fields = {"csrf": csrf_of(client), "key": key, "reason": "sn corrected", "who": "anna"}
    assert {*fields, "file"} == set(page_form(client, on_report(key), "/action/supersede").fields)
    return client.post(
        "/action/supersede",
        data=fields,
        files={"file": (name, body, "application/json")},
        headers=origin_headers(client),
    )


def test_supersede_with_an_uploaded_file_reaches_the_server(
    engine: SyncEngine, client: httpx.Client, sim: Simulator
) -> None:
    key = failed_key(engine, sim)
    fixed = {**report(1), "sn": "SN-FIXED"}  # same report id: the server overwrites by id
    answer = upload(client, key, json.dumps(fixed).encode())
    assert answer.status_code == 303
    assert engine.wait_idle(20)
    old = engine.submission(key)
    by = engine.history(key)[-1].data["by"]
    new = engine.submission(by)
    assert (old.state, new.state) == ("superseded", "acked")
    assert new.source["supersedes"] == key
    assert engine.counts()["failed"] == 0
    assert sim.stats()["distinct_reports"] == 1
    page = client.get("/report", params={"key": key}).text
    assert "Replaced by the corrected report" in page and by in page


def test_supersede_with_an_uploaded_wats_text_file_takes_the_old_report_id(
    engine: SyncEngine, client: httpx.Client, sim: Simulator
) -> None:
    # The station's own format, without an id: the corrected report keeps the refused one's id.
    from syncengine.converters import write_wats_text

    key = failed_key(engine, sim)
    old_id = engine.submission(key).payload["id"]
    fixed = {k: v for k, v in report(1).items() if k != "id"}
    answer = upload(client, key, write_wats_text([{**fixed, "sn": "SN-TEXT"}]).encode(), "x.txt")
    assert answer.status_code == 303, answer.text
    assert engine.wait_idle(20)
    new = engine.submission(engine.history(key)[-1].data["by"])
    assert (new.state, new.payload["id"], new.payload["sn"]) == ("acked", old_id, "SN-TEXT")
    assert sim.stats()["distinct_reports"] == 1


def test_a_bad_upload_changes_nothing(
    engine: SyncEngine, client: httpx.Client, sim: Simulator
) -> None:
    key = failed_key(engine, sim)
    for body in (b"not json", b"[1, 2]", json.dumps({"type": "Z"}).encode(), b"\xff\xfe\x00"):
        answer = upload(client, key, body)
        assert answer.status_code == 303
        assert "Nothing was done" in client.get(answer.headers["location"]).text
    assert engine.submission(key).state == "failed"
    assert [e.type for e in engine.history(key)] == ["Submitted", "UploadStarted", "Failed"]


def test_probe_now_is_shown_and_logged(
    engine: SyncEngine, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    # Not a journal event (it changes no report; docs/operations.md says so): a log line.
    with caplog.at_level(logging.INFO, logger="syncengine.ui"):
        answer = submit_form(client, "/", "/action/probe")
    assert answer.status_code == 303
    assert "connection is online" in client.get(answer.headers["location"]).text
    assert "probe requested on the station page: the connection is online" in caplog.messages


def test_acked_reports_offer_no_action(engine: SyncEngine, client: httpx.Client) -> None:
    key = engine.submit(report(5))
    assert engine.wait_idle(20)
    page = client.get("/report", params={"key": key}).text
    assert "/action/" not in page.split("<main>")[1]
    answer = post(client, "/action/dismiss", key=key, reason="x", who="anna")
    assert "Nothing was done" in client.get(answer.headers["location"]).text
    assert engine.submission(key).state == "acked"


def test_dismiss_needs_a_name(engine: SyncEngine, client: httpx.Client, sim: Simulator) -> None:
    key = failed_key(engine, sim)
    answer = submit_form(client, on_report(key), "/action/dismiss", reason="scrapped")
    assert "who you are" in client.get(answer.headers["location"]).text
    assert engine.submission(key).state == "failed"


def test_a_crafted_link_cannot_put_words_on_the_page(client: httpx.Client) -> None:
    for query in ("msg=error&k=Call+555-0100+now", "flash=made-up", "flash=&k=x"):
        page = client.get("/?" + query).text
        assert "Call 555" not in page
        assert 'class="flash' not in page


def test_archived_reports_leave_the_list_and_say_where_they_went(
    engine: SyncEngine, client: httpx.Client, tmp_path
) -> None:
    from journal import Journal, ReportFilter

    key = engine.submit(report(9))
    assert engine.wait_idle(20)
    with Journal(engine.config.journal_path) as journal:
        assert journal.archive(0, tmp_path).submissions == 1
    assert key[:12] not in client.get("/reports").text
    with Journal(engine.config.journal_path) as journal:
        assert journal.check().ok
        assert journal.reports(ReportFilter()).rows == []
    page = client.get("/report", params={"key": key})
    assert page.status_code == 404 and "Archived report" in page.text


@pytest.mark.parametrize(
    ("csrf", "headers"),
    [
        (True, {"Origin": "http://evil.example"}),
        (True, {"Referer": "http://evil.example/form"}),
        (True, {}),
        (False, None),  # the page's own origin, no token
        ("forged", None),
    ],
    ids=["foreign-origin", "foreign-referer", "no-origin", "no-token", "wrong-token"],
)
def test_a_forged_upload_is_refused_and_nothing_is_journaled(
    engine: SyncEngine, client: httpx.Client, sim: Simulator, csrf: object, headers: object
) -> None:
    key = failed_key(engine, sim)
    before = engine.counts()
    fields = {"key": key, "reason": "sn corrected", "who": "anna"}
    if csrf is True:
        fields["csrf"] = csrf_of(client)
    elif csrf:
        fields["csrf"] = str(csrf)
    fixed = json.dumps({**report(1), "sn": "SN-FORGED"}).encode()
    answer = client.post(
        "/action/supersede",
        data=fields,
        files={"file": ("fixed.json", fixed, "application/json")},
        headers=origin_headers(client) if headers is None else headers,
    )
    assert answer.status_code == 403
    assert engine.submission(key).state == "failed"
    assert engine.counts() == before
    assert [e.type for e in engine.history(key)] == ["Submitted", "UploadStarted", "Failed"]
