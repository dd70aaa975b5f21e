"""The station page in a real browser (Debian's chromium through Playwright) against a real
engine and the simulator: live overview, find-open-supersede, dismiss, requeue with and without
JavaScript, refused rebinding and cross-site posts, and a large journal."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from journal import Journal
from syncengine import SyncEngine
from syncengine._config import WatchFolder
from watsim import Simulator

from ..test_engine_support import report, wait_for
from . import bigjournal
from .conftest import save_screenshot, ui_config
from .test_security import failed_key

pytestmark = pytest.mark.timeout(120)


def open_page(browser: Browser, url: str, *, js: bool = True) -> Page:
    context = browser.new_context(java_script_enabled=js, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(url)
    return page


def test_overview_follows_the_server_going_offline_and_back(
    browser: Browser, engine: SyncEngine, sim: Simulator
) -> None:
    for i in range(12):
        engine.submit(report(i))
    assert engine.wait_idle(20)
    page = open_page(browser, engine.ui_url)
    word = page.locator(".health-word")
    expect(word).to_have_text("OK")
    sim.set_faults(down_for_s=60)
    engine.submit(report(100))
    expect(word).to_have_text("Offline", timeout=20_000)  # live update, no reload
    expect(page.locator(".count-pending .n")).to_have_text("1")
    save_screenshot(page, "station-page-offline.png")
    sim.clear_faults()
    expect(word).to_have_text("OK", timeout=20_000)
    expect(page.locator(".count-acked .n")).to_have_text("13")
    save_screenshot(page, "station-page-back-online.png")


def test_the_overview_says_why_health_is_degraded(
    browser: Browser, sim: Simulator, tmp_path: Path
) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    folder = WatchFolder(path=inbox, converter="wsjf", stable_s=0.05, rescan_s=0.3)
    with SyncEngine(ui_config(tmp_path, sim, watch=[folder])) as engine:
        for i in range(12):
            engine.submit(report(i))
        engine.submit({**report(77), "sn": "SN-BAD-7", "processCode": 999})  # refused
        (inbox / "ICT-01_SN-000099.json").write_text('{"type": "T", "sn": ', "utf-8")  # cut off
        wait_for(lambda: engine.counts()["failed"] == 1, what="refused")
        wait_for(lambda: engine.status()["error_files"]["count"] == 1, 30, "error/ counted")
        page = open_page(browser, str(engine.ui_url))
        expect(page.locator(".health-word")).to_have_text("Degraded")
        expect(page.locator(".health-says")).to_have_text(
            "Reports are moving, but something needs a look: 1 report was refused by the "
            "server; 1 file could not be read."
        )
        card = page.locator("section.problem")
        expect(card.locator("h2")).to_have_text("Files that could not be read (1)")
        expect(card).to_contain_text(str(inbox / "error"))
        expect(card).to_contain_text("ICT-01_SN-000099.json")
        expect(page.locator(".chart svg")).to_be_visible()
        save_screenshot(page, "station-page-overview.png")


def test_a_failed_report_is_found_opened_superseded_and_delivered(
    browser: Browser, engine: SyncEngine, sim: Simulator, tmp_path: Path
) -> None:
    for i in range(5):
        engine.submit(report(i))
    assert engine.wait_idle(20)
    # The server's own validation refuses it: process code 999 is not one it knows.
    key = engine.submit({**report(77), "sn": "SN-BAD-7", "processCode": 999})
    wait_for(lambda: engine.counts()["failed"] == 1, what="refused")
    assert "999" in str(engine.submission(key).last_error)
    page = open_page(browser, engine.ui_url + "reports")
    page.fill("input[name=sn]", "SN-BAD")
    page.select_option("select[name=state]", "failed")
    page.click("text=Show")
    rows = page.locator("#rows tr")
    expect(rows).to_have_count(1)
    save_screenshot(page, "station-page-reports.png")
    rows.first.locator("a").click()
    expect(page.locator("h1")).to_contain_text(key)
    save_screenshot(page, "station-page-report.png")
    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps({**report(77), "sn": "SN-BAD-7", "processCode": 10}), "utf-8")
    form = page.locator("form[action='/action/supersede']")
    form.locator("input[type=file]").set_input_files(str(fixed))
    form.locator("input[name=reason]").fill("serial number corrected")
    form.locator("input[name=who]").fill("Anna")
    form.locator("button").click()
    expect(page.locator(".flash-ok")).to_contain_text("corrected report")
    assert engine.wait_idle(20)
    assert engine.submission(key).state == "superseded"
    stored = sim.stats()["receive_counts"]
    assert report(77)["id"].lower() in stored  # the same report id, overwritten by the server
    page.reload()
    expect(page.locator(".state").first).to_have_text("accepted")
    expect(page.locator(".link-note")).to_contain_text(key)


def test_a_dismissal_is_recorded(browser: Browser, engine: SyncEngine, sim: Simulator) -> None:
    key = failed_key(engine, sim)
    page = open_page(browser, engine.ui_url + "report?key=" + key)
    form = page.locator("form[action='/action/dismiss']")
    form.locator("input[name=reason]").fill("unit scrapped")
    form.locator("input[name=who]").fill("Anna")
    form.locator("button").click()
    expect(page.locator(".flash-ok")).to_contain_text("dismissed")
    expect(page.locator(".state").first).to_have_text("dismissed")
    last = engine.history(key)[-1]
    assert (last.type, last.data["who"], last.data["origin"]) == (
        "Dismissed",
        "Anna",
        "station page",
    )
    assert engine.counts()["failed"] == 0


@pytest.mark.parametrize("js", [True, False], ids=["js-on", "js-off"])
def test_requeue_works_with_javascript_on_and_off(
    browser: Browser, engine: SyncEngine, sim: Simulator, js: bool
) -> None:
    key = failed_key(engine, sim)
    page = open_page(browser, engine.ui_url + "report?key=" + key, js=js)
    form = page.locator("form[action='/action/requeue']")
    form.locator("input[name=reason]").fill("process code added on the server")
    form.locator("input[name=who]").fill("Anna")
    form.locator("button").click()
    expect(page.locator(".flash-ok")).to_contain_text("sent again")
    assert engine.wait_idle(20)
    assert engine.submission(key).state == "acked"
    requeued = next(e for e in engine.history(key) if e.type == "Requeued")
    assert (requeued.data["who"], requeued.data["reason"], requeued.data["origin"]) == (
        "Anna",
        "process code added on the server",
        "station page",
    )
    if js:  # the report's state, attempts and events follow without a reload
        expect(page.locator(".state").first).to_have_text("accepted", timeout=20_000)
        expect(page.locator("#report-history h2").first).to_have_text("Upload attempts (2)")
        expect(page.locator("#report-history .events")).to_contain_text("Acknowledged")
        expect(page.locator("#report-live tr", has_text="Sent again")).to_contain_text("by Anna")
    else:
        page.reload()
        expect(page.locator(".state").first).to_have_text("accepted")


def test_a_rebound_name_gets_nothing(browser: Browser, engine: SyncEngine) -> None:
    port = engine.ui_url.rsplit(":", 1)[1].strip("/")
    page = browser.new_page()
    answer = page.goto(f"http://rebound.test:{port}/")
    assert answer is not None and answer.status == 421
    assert "Overview" not in page.content()


@pytest.fixture
def attacker_site(engine: SyncEngine) -> Iterator[dict[str, Any]]:
    """Another origin on loopback serving a page that auto-posts a form to the station page."""
    state: dict[str, Any] = {"html": b""}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(state["html"])

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/"
    yield state
    server.shutdown()
    server.server_close()


def test_a_cross_site_form_post_is_refused(
    browser: Browser, engine: SyncEngine, sim: Simulator, attacker_site: dict[str, Any]
) -> None:
    key = failed_key(engine, sim)
    csrf = engine._health_server.ui._page._guard.csrf  # even a leaked token is not enough
    attacker_site["html"] = (
        f'<form id="f" method="post" action="{engine.ui_url}action/dismiss">'
        f'<input name="key" value="{key}"><input name="reason" value="pwned">'
        f'<input name="csrf" value="{csrf}"></form>'
        '<script>document.getElementById("f").submit()</script>'
    ).encode()
    page = browser.new_page()
    with page.expect_navigation(url=engine.ui_url + "action/dismiss") as navigation:
        page.goto(attacker_site["url"])
    assert navigation.value is not None and navigation.value.status == 403
    assert engine.submission(key).state == "failed"
    assert [e.type for e in engine.history(key)] == ["Submitted", "UploadStarted", "Failed"]


@pytest.fixture(scope="module")
def big_journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reuse = os.environ.get("WATS_UI_BIG_JOURNAL")  # a journal built once, for runs by hand
    if reuse and Path(reuse).exists():
        return Path(reuse)
    path = tmp_path_factory.mktemp("big") / "journal.db"
    bigjournal.build(path)
    return path


def test_the_page_stays_usable_on_a_large_journal(
    browser: Browser, big_journal: Path, sim: Simulator, tmp_path: Path
) -> None:
    with Journal(big_journal) as journal:
        needle = journal.reports(bigjournal_filter()).rows[0].key
    config = ui_config(tmp_path, sim)
    config = config.model_copy(update={"journal_path": big_journal})
    with SyncEngine(config) as engine:
        timings: dict[str, float] = {}
        page = open_page(browser, engine.ui_url)
        for name, url in (
            ("overview", ""),
            ("reports", "reports"),
            ("failed", "reports?state=failed"),
            ("by serial", f"reports?sn={bigjournal.NEEDLE_SN}"),
            ("by part number", "reports?pn=PCBA-1049"),
            ("by source file", "reports?file=line-3"),
            ("one report", f"report?key={needle}"),
        ):
            started = time.perf_counter()
            page.goto(engine.ui_url + url)
            timings[name] = time.perf_counter() - started
        expect(page.locator("h1")).to_contain_text(needle)
        page.goto(engine.ui_url + "reports")
        page.click("text=older →")
        expect(page.locator("#rows tr")).to_have_count(50)
        page.goto(engine.ui_url + f"reports?sn={bigjournal.NEEDLE_SN}")
        expect(page.locator("#rows tr")).to_have_count(1)
        save_screenshot(page, "station-page-big-journal.png")
        print(
            f"\nstation page on {bigjournal.BIG_EVENTS} events:",
            {k: f"{v * 1000:.0f} ms" for k, v in timings.items()},
        )
        wait_for(lambda: engine.running, what="engine running")


def bigjournal_filter() -> Any:
    from journal import ReportFilter

    return ReportFilter(sn=bigjournal.NEEDLE_SN)


@pytest.mark.parametrize("js", [True, False], ids=["js-on", "js-off"])
def test_the_page_says_how_it_updates(browser: Browser, engine: SyncEngine, js: bool) -> None:
    page = open_page(browser, engine.ui_url, js=js)
    footer = page.locator("footer")
    if js:
        expect(footer).to_contain_text("updates by itself")
    else:
        expect(footer).to_contain_text("Reload the page")
        assert "updates by itself" not in footer.inner_text()


def test_every_screenshot_the_docs_show_is_saved_by_a_browser_test() -> None:
    root = Path(__file__).resolve().parents[3]
    shown = set(
        re.findall(
            r"\(img/(station-page-[\w-]+\.png)\)", (root / "docs/operations.md").read_text("utf-8")
        )
    )
    saved = set(
        re.findall(r'save_screenshot\(page, "([\w.-]+)"\)', Path(__file__).read_text("utf-8"))
    )
    assert shown, "docs/operations.md shows no station page screenshot"
    assert shown <= saved, f"no browser test saves {sorted(shown - saved)}"
    assert {p.name for p in (root / "docs/img").glob("station-page-*.png")} >= shown
