"""The pages over HTTP: the list's filters and paging, the report view, fragments for live
updates, static files, and pages that do not exist."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncengine import SyncEngine
from syncengine._config import WatchFolder
from syncengine._error_folder import SIDECAR_SUFFIX, read_note
from syncengine.ui import _pages
from syncengine.ui._chart import chart
from watsim import Simulator

from ..test_engine_support import report, wait_for
from .conftest import ui_config
from .test_security import failed_key


def keys_on(html: str) -> list[str]:
    return re.findall(r'/report\?key=([0-9a-f-]+)"', html)


def test_filters_narrow_the_list(engine: SyncEngine, client: httpx.Client, sim: Simulator) -> None:
    keys = [
        engine.submit({**report(i), "pn": f"PN-{i % 2}", "processCode": (10, 20, 30)[i % 3]})
        for i in range(9)
    ]
    assert engine.wait_idle(20)
    assert set(keys_on(client.get("/reports").text)) == set(keys)
    assert keys_on(client.get("/reports", params={"sn": "SN-000004"}).text) == [keys[4]]
    assert set(keys_on(client.get("/reports", params={"pn": "PN-1"}).text)) == set(keys[1::2])
    assert set(keys_on(client.get("/reports", params={"process": "20"}).text)) == set(keys[1::3])
    assert keys_on(client.get("/reports", params={"state": "failed"}).text) == []
    assert set(keys_on(client.get("/reports", params={"since": "1h"}).text)) == set(keys)
    assert keys_on(client.get("/reports", params={"until": "1h"}).text) == []


def test_a_bad_time_says_so_and_still_lists(engine: SyncEngine, client: httpx.Client) -> None:
    engine.submit(report(1))
    page = client.get("/reports", params={"since": "last tuesday"})
    assert page.status_code == 200
    assert "neither an ISO-8601 time" in page.text
    assert len(keys_on(page.text)) == 1


def test_paging_walks_every_report_once(engine: SyncEngine, client: httpx.Client) -> None:
    keys = [engine.submit(report(i)) for i in range(120)]
    assert engine.wait_idle(30)
    seen: list[str] = []
    url = "/reports"
    for _ in range(10):
        html = client.get(url).text
        seen += keys_on(html)
        found = re.search(r'href="(/reports\?[^"]*before=\d+)"', html)
        if not found:
            break
        url = found.group(1).replace("&amp;", "&")
    assert sorted(seen) == sorted(keys)
    assert len(seen) == len(set(seen))


def test_the_live_fragments_render_without_the_page_around_them(
    engine: SyncEngine, client: httpx.Client, sim: Simulator
) -> None:
    engine.submit(report(1))
    assert engine.wait_idle(20)
    wait_for(lambda: "accepted" in client.get("/live/overview").text, what="overview")
    fragment = client.get("/live/overview").text
    assert "<html" not in fragment and "health-word" in fragment
    rows = client.get("/live/reports", params={"state": "acked"}).text
    assert "<tr>" in rows and "<html" not in rows


def test_static_files_and_unknown_paths(client: httpx.Client) -> None:
    css = client.get("/static/style.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    js = client.get("/static/live.js")
    assert js.headers["content-type"].startswith("text/javascript")
    for path in ("/static/../_app.py", "/static/nope.css", "/static/.hidden.js", "/nope"):
        assert client.get(path).status_code == 404
    assert client.get("/report", params={"key": "unknown"}).status_code == 404


def test_an_error_before_acceptance_is_not_shown_as_a_problem(
    engine: SyncEngine, client: httpx.Client, sim: Simulator
) -> None:
    sim.set_faults(error_rate=1.0, error_statuses=[503])
    key = engine.submit(report(1))
    wait_for(lambda: engine.submission(key).attempts >= 1, what="a refused try")
    sim.clear_faults()
    assert engine.wait_idle(20)
    assert engine.submission(key).state == "acked"
    html = client.get("/reports").text
    cell = re.search(r'<td class="([^"]*)">Earlier try: HTTP 503', html)
    assert cell is not None, html
    assert cell.group(1) == "err past"


def test_the_breaker_is_said_in_words(client: httpx.Client) -> None:
    assert "closed (sending normally)" in client.get("/").text


def test_event_details_read_as_words_not_python_literals(
    engine: SyncEngine, client: httpx.Client
) -> None:
    key = engine.submit(report(2), source={"path": "/in/r2.json", "tags": ["a", "b"]})
    assert engine.wait_idle(20)
    html = client.get("/report", params={"key": key}).text
    events = html.split("Journal events", 1)[1].split("Report as stored", 1)[0]
    assert "source path: /in/r2.json" in events and "source tags: a, b" in events
    assert "{&#39;" not in events and "[&#39;" not in events


def text_of(html: str, start: str, end: str) -> str:
    """The words between two markers of a page, tags removed and entities decoded."""
    part = html.split(start, 1)[1].split(end, 1)[0]
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", part)).split())


def test_an_unreadable_file_is_named_on_the_overview(tmp_path: Path, sim: Simulator) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    folder = WatchFolder(path=inbox, converter="wsjf", stable_s=0.05, rescan_s=0.3)
    with (
        SyncEngine(ui_config(tmp_path, sim, watch=[folder])) as engine,
        httpx.Client(base_url=str(engine.ui_url), timeout=10.0) as http,
    ):
        (inbox / "bad-042.json").write_text("not json")
        wait_for(lambda: engine.status()["error_files"]["count"] == 1, 30, "error/ counted")
        note = read_note(inbox / "error" / ("bad-042.json" + SIDECAR_SUFFIX))
        html = http.get("/").text
    health = text_of(html, 'class="health-says">', "</div>")
    assert health == "Reports are moving, but something needs a look: 1 file could not be read."
    card = text_of(html, 'aria-label="files that could not be read">', "</section>")
    assert card.startswith("Files that could not be read (1)")
    assert str(inbox / "error") in card
    assert "Oldest set aside" in card and " ago (" in card
    reason = note["reason"].removeprefix("bad-042.json: ")  # the note's, without the name
    assert "invalid JSON" in reason and f"Newest: bad-042.json {reason}" in card
    assert "bad-042.json.error.txt" in card


def test_no_card_when_the_error_folders_are_empty(client: httpx.Client) -> None:
    assert "Files that could not be read" not in client.get("/").text


def snapshot(**facts: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "health": "ok",
        "connection": "online",
        "breaker": "closed",
        "counts": {"pending": 0, "failed": 0},
        "last_ack_at": 100.0,
        "last_error": None,
        "error_files": {"count": 0, "oldest_at": None, "folders": {}},
        "next_due_at": None,
    }
    return {**base, **facts}


def test_the_degraded_sentence_names_every_cause() -> None:
    status = snapshot(
        health="degraded",
        counts={"pending": 0, "failed": 2},
        breaker="open",
        error_files={"count": 3, "oldest_at": 50.0, "folders": {"/in/error": 3}},
    )
    sentence = _pages.overview(status, None)["health_text"]
    assert sentence == (
        "Reports are moving, but something needs a look: 2 reports were refused by the server; "
        "the circuit breaker is open (paused after repeated errors); 3 files could not be read."
    )


def test_a_failed_upload_is_named_when_nothing_else_explains_it() -> None:
    error = {
        "key": "k",
        "error_class": "ServerError",
        "status_code": 503,
        "at": 200.0,
        "message": "reports.submit: HTTP 503; server said: busy",
    }
    status = snapshot(health="degraded", last_error=error)
    assert _pages.degraded_causes(status) == ["the last upload failed (HTTP 503 ServerError: busy)"]
    # A refusal is the failed report itself: said once, not twice.
    refused = snapshot(health="degraded", counts={"failed": 1}, last_error=error)
    assert _pages.degraded_causes(refused) == ["1 report was refused by the server"]


def test_an_error_older_than_the_last_acceptance_is_no_cause() -> None:
    old = snapshot(last_error={"error_class": "ServerError", "message": "x", "at": 50.0})
    assert _pages.degraded_causes(old) == []  # last_ack_at is 100.0: it was sent since
    new = snapshot(last_error={"error_class": "ServerError", "message": "x", "at": 150.0})
    assert _pages.degraded_causes(new) == ["the last upload failed (ServerError: x)"]


@pytest.mark.parametrize(
    ("health", "label"),
    [
        ("ok", "OK"),
        ("degraded", "Degraded"),
        ("offline", "Offline"),
        ("stuck", "Stuck"),
        ("auth_failed", "Login refused"),
        ("stopped", "Stopped"),
    ],
)
def test_each_health_renders_its_word_and_colour(health: str, label: str) -> None:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("syncengine.ui", "templates"),
        autoescape=select_autoescape(default=True),
    )
    env.globals["state_labels"] = _pages.STATE_LABELS
    facts = _pages.overview(snapshot(health=health), None)
    facts["chart"] = chart([], 1800.0, 10.0)
    html = env.get_template("_overview_live.html").render(o=facts)
    assert f'class="health health-{health}"' in html
    assert f'<div class="health-word">{label}</div>' in html
    assert _pages.HEALTH_TEXT[health][1].split(":")[0] in unescape(html)


def test_next_retry_while_offline_waits_for_the_server() -> None:
    status = snapshot(connection="offline", counts={"pending": 4}, next_due_at=0.0)
    assert _pages.overview(status, None)["next_retry"].startswith("as soon as the server answers")
    assert _pages.overview({**status, "connection": "online"}, None)["next_retry"] == "now"


def test_the_throughput_says_it_is_an_average_over_its_window() -> None:
    shown = _pages.overview(snapshot(), 2.04, 300.0)["throughput"]
    assert shown == "2.0 (average over the last 5 min)"


def test_the_live_report_fragment_carries_attempts_and_events(
    engine: SyncEngine, client: httpx.Client, sim: Simulator
) -> None:
    key = failed_key(engine, sim)
    history = {"key": key, "part": "history"}
    before = client.get("/live/report", params=history).text
    assert "Upload attempts (1)" in before and "<html" not in before
    engine.requeue(key, reason="fixed", who="anna")
    assert engine.wait_idle(20)
    after = client.get("/live/report", params=history).text
    assert "Upload attempts (2)" in after
    assert ">Requeued<" in after and ">Acknowledged<" in after


def test_a_dismissal_is_named_in_the_facts_with_who_and_why(
    engine: SyncEngine, client: httpx.Client, sim: Simulator
) -> None:
    key = failed_key(engine, sim)
    engine.dismiss(key, reason="unit scrapped", who="Anna", origin="station page")
    facts = text_of(client.get("/live/report", params={"key": key}).text, "<table", "</table>")
    assert "Dismissed by Anna: unit scrapped (" in facts and "from the station page)" in facts


def test_a_replaced_report_names_who_why_and_the_corrected_one(
    engine: SyncEngine, client: httpx.Client, sim: Simulator
) -> None:
    key = failed_key(engine, sim)
    new_key = engine.supersede(
        key, {**report(1), "sn": "SN-FIXED"}, reason="sn corrected", who="Bo", origin="cli"
    )
    facts = text_of(
        client.get("/report", params={"key": key}).text, 'class="facts-table"', "</table>"
    )
    assert "Replaced by Bo: sn corrected (" in facts
    assert f"from the cli); the corrected report is {new_key}" in facts
