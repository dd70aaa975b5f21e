"""The pages over HTTP: the list's filters and paging, the report view, fragments for live
updates, static files, and pages that do not exist."""

from __future__ import annotations

import re

import httpx

from syncengine import SyncEngine
from watsim import Simulator

from ..test_engine_support import report, wait_for


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
