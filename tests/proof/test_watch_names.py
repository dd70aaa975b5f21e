"""Bad input through the watch folder: tricky file names, oversized files, encodings, garbage.

Every valid file is delivered and moved to ``done/`` under its own name, every bad one goes to
``error/`` with a readable reason next to it, and nothing is created, moved or deleted outside
the watch folder (a symlink pointing outside is refused and its target left alone).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncengine import EngineConfig, RetryConfig, SyncEngine, WatchFolder
from tools.torture._reports import report_for
from watsim import Simulator

NAMES = [
    "CON.json",
    "nul.json",
    "com1.json",
    "name with spaces.json",
    "tr\u00e6ki \u00fc\u00f1\u00ee\u00e7\u00f8d\u00e9 \u4e2d\u6587.json",
    "emoji-\U0001f600.json",
    "semi;colon&amp$dollar'quote.json",
    "x" * 200 + ".json",
    "UPPER.JSON",
    "-leading-dash.json",
]
# Names starting with "." are temporary/hidden by the documented rule (docs/converters.md):
# never converted, never moved, left where they are.
HIDDEN = ["..json", "...json", ".hidden.json"]
if os.name == "posix":
    NAMES += ["back\\slash.json", "new\nline.json", "colon:name.json"]


def _bad_files() -> dict[str, bytes]:
    return {
        "garbage.json": os.urandom(4096),
        # UTF-16 without a byte order mark (with one it is read as UTF-16 and accepted).
        "utf16.json": json.dumps(report_for("names", 900)).encode("utf-16-le"),
        "truncated.json": json.dumps(report_for("names", 901)).encode()[:300],
        "not-a-report.json": b'{"hello": "world"}',
        "oversized.json": b" " * (2 * 1024 * 1024) + b"{}",
    }


@pytest.fixture
def watched(tmp_path: Path, sim: Simulator, sim_token: str) -> Iterator[tuple[Path, Simulator]]:
    root = tmp_path / "station"
    watch = root / "watch"
    watch.mkdir(parents=True)
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps(report_for("names", 999)))
    if os.name == "posix":  # Windows needs a privilege to create symlinks
        os.symlink(outside, watch / "link.json")
    for i, name in enumerate(NAMES):
        (watch / name).write_text(json.dumps(report_for("names", i)), encoding="utf-8")
    for name in HIDDEN:
        (watch / name).write_text(json.dumps(report_for("hidden", len(name))), encoding="utf-8")
    for name, data in _bad_files().items():
        (watch / name).write_bytes(data)
    config = EngineConfig(
        server_url=sim.base_url,
        token=sim_token,
        journal_path=root / "journal.db",
        idle_poll_s=0.05,
        retry=RetryConfig(base_s=0.05, cap_s=0.3),
        watch=(
            WatchFolder(path=watch, converter="wsjf", stable_s=0.05, rescan_s=0.3, max_file_mb=1),
        ),
    )
    engine = SyncEngine(config)
    engine.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            left = [
                p
                for p in watch.iterdir()
                if p.is_file() and not p.is_symlink() and not p.name.startswith(".")
            ]
            if not left and sim.stats()["distinct_reports"] >= len(NAMES):
                break
            time.sleep(0.1)
        engine.wait_idle(30)
    finally:
        engine.stop(grace=1.0)
    yield tmp_path, sim


def test_every_tricky_but_valid_name_is_delivered_and_moved_to_done(watched) -> None:
    tmp_path, sim = watched
    done = tmp_path / "station" / "watch" / "done"
    assert sorted(p.name for p in done.iterdir()) == sorted(NAMES)
    ids = {report_for("names", i)["id"] for i in range(len(NAMES))}
    assert ids <= set(sim.stats()["receive_counts"])


def test_every_bad_file_goes_to_error_with_a_readable_reason(watched) -> None:
    tmp_path, _ = watched
    error = tmp_path / "station" / "watch" / "error"
    names = {p.name for p in error.iterdir()}
    for bad in _bad_files():
        assert bad in names
        sidecars = [n for n in names if n.startswith(bad) and n != bad]
        assert sidecars, f"no reason written next to {bad}"
        reason = (error / sidecars[0]).read_text(encoding="utf-8")
        assert reason.strip() and bad in reason


def test_hidden_names_are_left_alone_not_lost(watched) -> None:
    tmp_path, sim = watched
    watch = tmp_path / "station" / "watch"
    assert sorted(p.name for p in watch.iterdir() if p.name.startswith(".")) == sorted(HIDDEN)
    hidden_ids = {report_for("hidden", len(n))["id"] for n in HIDDEN}
    assert not hidden_ids & set(sim.stats()["receive_counts"])


def test_nothing_outside_the_watch_folder_is_touched(watched) -> None:
    tmp_path, sim = watched
    outside = tmp_path / "outside.json"
    assert outside.exists()
    assert report_for("names", 999)["id"] not in sim.stats()["receive_counts"]
    top = sorted(p.name for p in tmp_path.iterdir())
    assert top == ["outside.json", "station"]
