"""A report the server refuses for its loops: failed with the server's message, nothing lost;
with normalize_loops the same file goes through, recorded as rewritten."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pytest

from syncengine import SyncEngine
from syncengine._config import WatchFolder
from syncengine._ingest import submission_key
from syncengine.cli._views import inspect_lines, inspect_view
from tests.watsim.examples import REFUSED_LOOPS_LINES, export_loops_uut, refused_loops_uut
from watsim import Simulator

from .test_engine_support import fast_config, wait_for

INDEX_RULE = "endingIndex is required to be the same as highest index"
NUM_RULE = "num is required to be one more than endingIndex"


def _folder(tmp_path: Path, **values: object) -> WatchFolder:
    (tmp_path / "in").mkdir(exist_ok=True)
    return WatchFolder(path=tmp_path / "in", stable_s=0.05, **values)  # type: ignore[arg-type]


def _drop(tmp_path: Path, name: str, report: dict[str, object]) -> None:
    staged = tmp_path / f"{name}.tmp"
    staged.write_text(json.dumps(report), encoding="utf-8")
    staged.rename(tmp_path / "in" / name)


def test_a_refused_loop_report_fails_with_the_servers_message_and_is_kept(
    tmp_path: Path, sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    report = refused_loops_uut()
    caplog.set_level(logging.WARNING, logger="syncengine.outbox")
    with SyncEngine(fast_config(tmp_path, sim)) as engine:
        key = engine.submit(report)
        wait_for(lambda: engine.counts().get("failed") == 1, 30, "the refusal")
        sub = engine.submission(key)
        events = engine.history(key)
    assert sub is not None and sub.state == "failed"
    assert sub.payload == report  # nothing lost: the journal holds the report as submitted
    error = sub.last_error or {}
    assert error.get("status_code") == 400
    assert INDEX_RULE in str(error.get("message"))  # the server's lines, all of them
    assert sim.stats()["distinct_reports"] == 0
    assert sim.stats()["status_counts"] == {"400": 1}  # refused once, never retried
    view = inspect_view(sub, events)
    assert "normalize_loops = true" in str(view["fix"])
    assert any(line.startswith("fix") for line in inspect_lines(view))
    logged = [r.getMessage() for r in caplog.records if key in r.getMessage()]
    assert logged and "normalize_loops = true" in logged[0]


def _late_loop_uut() -> dict[str, object]:
    """Six steps whose status differs from their measurement's, then a loop in export shape."""
    report = export_loops_uut("5c4b3a29-1807-4f6e-9d5c-4b3a29180706")
    report["result"] = "F"
    wrong = [
        {
            "id": 100 + i,
            "group": "M",
            "name": f"Pass/fail check number {i} with a long station-given name",
            "status": "D",
            "stepType": "ET_PFT",
            "booleanMeas": [{"status": "P"}],
        }
        for i in range(6)
    ]
    report["root"]["steps"] = wrong + report["root"]["steps"]  # type: ignore[index]
    return report


def test_every_line_of_a_long_refusal_is_kept_and_a_late_loop_line_still_gives_the_fix(
    tmp_path: Path, sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="syncengine.outbox")
    with SyncEngine(fast_config(tmp_path, sim)) as engine:
        key = engine.submit(_late_loop_uut())
        wait_for(lambda: engine.counts().get("failed") == 1, 30, "the refusal")
        sub = engine.submission(key)
        events = engine.history(key)
    assert sub is not None and sub.state == "failed"
    message = str(events[-1].data["reason"])  # the Failed event, as the journal holds it
    status_lines = [line for line in message.splitlines() if "measurement status" in line]
    assert len(status_lines) == 6
    assert message.index(NUM_RULE) > 500  # past the old cut
    view = inspect_view(sub, events)
    shown = "\n".join(inspect_lines(view))
    for i in range(6):
        assert f"Pass/fail check number {i} with" in shown
    assert NUM_RULE in shown
    assert "normalize_loops = true" in str(view["fix"])
    logged = [r.getMessage() for r in caplog.records if key in r.getMessage()]
    assert len(logged) == 1 and "\n" not in logged[0]  # one readable log line
    assert "+6 more lines" in logged[0] and "normalize_loops = true" in logged[0]


def test_the_notes_four_line_answer_is_kept_whole(tmp_path: Path, sim: Simulator) -> None:
    with SyncEngine(fast_config(tmp_path, sim)) as engine:
        key = engine.submit(refused_loops_uut())
        wait_for(lambda: engine.counts().get("failed") == 1, 30, "the refusal")
        events = engine.history(key)
    message = str(events[-1].data["reason"])
    for line in REFUSED_LOOPS_LINES:
        assert line in message


def test_an_export_file_fails_without_the_option(tmp_path: Path, sim: Simulator) -> None:
    with SyncEngine(fast_config(tmp_path, sim, watch=[_folder(tmp_path)])) as engine:
        _drop(tmp_path, "export.json", export_loops_uut())
        wait_for(lambda: engine.counts().get("failed") == 1, 30, "the refusal")
    assert sim.stats()["distinct_reports"] == 0
    assert (tmp_path / "in" / "done" / "export.json").exists()


def test_with_normalize_loops_the_export_file_goes_through_recorded_as_rewritten(
    tmp_path: Path, sim: Simulator
) -> None:
    report = export_loops_uut()
    config = fast_config(tmp_path, sim, watch=[_folder(tmp_path, normalize_loops=True)])
    content = json.dumps(report).encode("utf-8")
    key = submission_key(hashlib.sha256(content).hexdigest(), 0, "normalize_loops")
    with SyncEngine(config) as engine:
        _drop(tmp_path, "export.json", report)
        wait_for(lambda: engine.counts().get("acked") == 1, 30, "the upload")
        sub = engine.submission(key)
        events = engine.history(key)
    submitted = events[0]
    assert sub is not None and sub.state == "acked"
    shown = "\n".join(inspect_lines(inspect_view(sub, events)))
    assert "by normalize_loops (1 changes to loop summaries)" in shown
    assert "root -> step Loops -> loop Voltage loop: endingIndex 3 -> 2" in shown
    record = submitted.data["source"]["normalize_loops"]  # what `journal dump` prints
    assert record["changes"] == [
        {
            "path": "root -> step Loops -> loop Voltage loop",
            "field": "endingIndex",
            "old": 3,
            "new": 2,
        }
    ]
    stored = sim.report(report["id"])
    assert stored is not None
    loop = stored["root"]["steps"][0]["steps"][0]["loop"]
    assert (loop["num"], loop["endingIndex"]) == (3, 2)
    assert sim.stats()["receive_counts"] == {report["id"]: 1}


def test_turning_the_option_on_after_a_refusal_lets_the_same_file_through(
    tmp_path: Path, sim: Simulator
) -> None:
    report = export_loops_uut()
    with SyncEngine(fast_config(tmp_path, sim, watch=[_folder(tmp_path)])) as engine:
        _drop(tmp_path, "export.json", report)
        wait_for(lambda: engine.counts().get("failed") == 1, 30, "the refusal")
    config = fast_config(tmp_path, sim, watch=[_folder(tmp_path)], normalize_loops=True)
    with SyncEngine(config) as engine:
        _drop(tmp_path, "again.json", report)  # the same bytes: the station re-sends the file
        wait_for(lambda: engine.counts().get("acked") == 1, 30, "the rewritten upload")
        counts = engine.counts()
    assert counts["failed"] == 1  # the refused original stays, for an operator to dismiss
    assert sim.stats()["receive_counts"] == {report["id"]: 1}
