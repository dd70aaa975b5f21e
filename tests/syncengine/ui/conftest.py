"""Fixtures for the station page: a real engine with the page on, against the simulator, and
Debian's chromium driven by Playwright (pytest-playwright's fixtures, our launch arguments)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncengine import SyncEngine
from watsim import Simulator

from ..test_engine_support import fast_config

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # DNS rebinding, simulated: this name resolves to 127.0.0.1 in the test browser only.
    "--host-resolver-rules=MAP rebound.test 127.0.0.1",
]
SCREENSHOTS = os.environ.get("WATS_UI_SCREENSHOTS")
"""A directory to save the browser tests' screenshots into (docs/img for the docs)."""


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch the system chromium: Playwright cannot download its own browser here."""
    if not os.path.exists(CHROMIUM):
        reason = f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": CHROMIUM_ARGS,
    }


def ui_config(tmp_path: Path, sim: Simulator, **overrides: Any) -> Any:
    """An engine config with the page on a free loopback port and quick samples."""
    ui = {"enabled": True, "port": 0, "sample_s": 0.1, "refresh_s": 0.5, **overrides.pop("ui", {})}
    return fast_config(tmp_path, sim, ui=ui, station_name="ICT-01", **overrides)


@pytest.fixture
def engine(tmp_path: Path, sim: Simulator) -> Iterator[SyncEngine]:
    with SyncEngine(ui_config(tmp_path, sim)) as running:
        yield running


@pytest.fixture
def client(engine: SyncEngine) -> Iterator[httpx.Client]:
    assert engine.ui_url is not None
    with httpx.Client(base_url=engine.ui_url, timeout=10.0) as http:
        yield http


def save_screenshot(page: Any, name: str) -> None:
    """Save a full-page screenshot when WATS_UI_SCREENSHOTS names a directory."""
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / name), full_page=True)


def origin_headers(client: httpx.Client) -> dict[str, str]:
    """The headers a browser on the page itself sends with a form POST."""
    return {"Origin": str(client.base_url).rstrip("/")}


def csrf_of(client: httpx.Client) -> str:
    """The page's CSRF token, read from a rendered form."""
    html = client.get("/").text
    marker = 'name="csrf" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


class _FormReader(HTMLParser):
    """The named fields of one ``<form action=...>`` of a page, with their values."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action
        self.inside = False
        self.found = False
        self.fields: dict[str, str] = {}
        self.required: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "form" and attr.get("action") == self.action and not self.found:
            self.inside = self.found = True
        elif self.inside and tag in ("input", "select", "textarea") and attr.get("name"):
            name = str(attr["name"])
            self.fields[name] = attr.get("value") or ""
            if "required" in attr:
                self.required.add(name)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False


def page_form(client: httpx.Client, page: str, action: str) -> _FormReader:
    """The form posting to ``action`` on ``page`` as the page renders it (fails if none)."""
    reader = _FormReader(action)
    reader.feed(client.get(page).text)
    assert reader.found, f"{page} has no form posting to {action}"
    return reader


def submit_form(client: httpx.Client, page: str, action: str, **typed: str) -> httpx.Response:
    """Post the page's own form as a browser would: its hidden values plus what the operator
    typed into its visible fields, and no field the form does not have."""
    form = page_form(client, page, action)
    unknown = set(typed) - set(form.fields)
    assert not unknown, f"the form {action} on {page} has no field {sorted(unknown)}"
    return client.post(action, data={**form.fields, **typed}, headers=origin_headers(client))
