"""The inbox is safe: a file still being written, or changed after it was judged, is never
condemned; long names move; files that change in error/ are looked at again."""

# ruff: noqa: F811  (fixtures imported from the shared harness are redefined as parameters)

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from syncengine import SyncEngine, signals
from syncengine._config import WatchFolder
from syncengine._error_folder import (
    NAME_MAX,
    ErrorFolderWatch,
    fit_name,
    read_condemned,
    sidecar_for,
    write_sidecar,
)
from syncengine._ingest import Ingestor, move_without_overwrite
from syncengine._watcher import WatchFolderError
from syncengine.converters import WorkerPool
from watsim import Simulator

from .converters.harness import journal, metrics, submit, wsjf_text  # noqa: F401
from .test_engine_support import fast_config, wait_for

TOUCHING = str(Path(__file__).parent / "inbox_plugins" / "touching.py")

WRITER = textwrap.dedent(
    """
    import os, sys, time
    path, text, pause, marker = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    half = len(text) // 2
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text[:half]); fh.flush(); os.fsync(fh.fileno())
        time.sleep(pause)               # longer than stable_s: the watcher sees a stable file
        fh.write(text[half:]); fh.flush(); os.fsync(fh.fileno())
        open(marker, "w").close()       # finished writing, but the file stays open a while
        time.sleep(1.0)
    """
)


@pytest.fixture
def failures() -> Iterator[list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []

    def on_failed(_sender: object, **kw: Any) -> None:
        seen.append(kw)

    signals.conversion_failed.connect(on_failed)
    yield seen
    signals.conversion_failed.disconnect(on_failed)


def _slow_writer(path: Path, text: str, pause_s: float, marker: Path) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-c", WRITER, str(path), text, str(pause_s), str(marker)]
    return subprocess.Popen(args)


def _deliver_with_slow_writer(
    tmp_path: Path, sim: Simulator, *, stable_s: float, pause_s: float
) -> tuple[Path, str]:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    text = wsjf_text("SN-SLOW", with_id=True)
    report_id = json.loads(text)["id"]
    folder = WatchFolder(path=inbox, converter="wsjf", stable_s=stable_s, rescan_s=0.5)
    marker = tmp_path / "written"
    with SyncEngine(fast_config(tmp_path, sim, watch=[folder])) as engine:
        writer = _slow_writer(inbox / "slow.json", text, pause_s, marker)
        try:
            wait_for(lambda: sim.report(report_id) is not None, 60, "the report on the server")
            assert writer.wait(30) == 0
            assert engine.wait_idle(30)
        finally:
            if writer.poll() is None:
                writer.kill()
                writer.wait()
    return inbox, report_id


def test_slow_writer_pausing_longer_than_stable_s_is_never_condemned(
    tmp_path: Path, sim: Simulator, failures: list[dict[str, Any]]
):
    # Pause 1.5 s > stable_s 1 s: the half file is converted and fails, but it was modified
    # less than 3 x stable_s ago: it is tried again, and by then the writer has finished it.
    inbox, report_id = _deliver_with_slow_writer(tmp_path, sim, stable_s=1.0, pause_s=1.5)
    assert failures == []
    assert not (inbox / "error").exists() or list((inbox / "error").iterdir()) == []
    assert [p.name for p in (inbox / "done").iterdir()] == ["slow.json"]
    assert sim.stats()["receive_counts"] == {report_id: 1}


def test_file_finished_after_it_was_set_aside_is_looked_at_again_and_delivered_once(
    tmp_path: Path, sim: Simulator, failures: list[dict[str, Any]]
):
    # Pause 2.5 s > 3 x stable_s: the half file goes to error/; the writer then finishes it
    # there (the open handle follows the moved file). The change brings it back.
    inbox, report_id = _deliver_with_slow_writer(tmp_path, sim, stable_s=0.3, pause_s=2.5)
    assert len(failures) == 1
    assert list((inbox / "error").iterdir()) == []  # file and note both gone from error/
    assert [p.name for p in (inbox / "done").iterdir()] == ["slow.json"]
    assert sim.stats()["receive_counts"] == {report_id: 1}


@pytest.fixture(scope="module")
def touching_pool() -> Iterator[WorkerPool]:
    with WorkerPool([TOUCHING], workers=1, timeout_s=10.0, memory_mb=512) as pool:
        pool.start()
        yield pool


def test_file_changed_while_its_conversion_failed_goes_back_not_to_error(
    tmp_path: Path, touching_pool: WorkerPool, submit, metrics
):
    inbox = tmp_path / "in"
    inbox.mkdir()
    path = inbox / "r.tf"
    path.write_text("half")
    result = Ingestor(touching_pool, submit, metrics).ingest(
        path, WatchFolder(path=inbox, converter="touch_fails")
    )
    assert (result.outcome, result.retry) == ("deferred", True)
    assert path.read_text() == "half more" and not (inbox / "error").exists()


def test_failure_on_a_young_file_waits_and_an_old_one_is_condemned(tmp_path: Path, submit, metrics):
    inbox = tmp_path / "in"
    inbox.mkdir()
    path = inbox / "bad.json"
    path.write_text("{ half")
    folder = WatchFolder(path=inbox, converter="wsjf")
    with WorkerPool([], workers=1, timeout_s=10.0, memory_mb=512) as pool:
        ingestor = Ingestor(pool, submit, metrics)
        young = ingestor.ingest(path, folder, young_s=3600)
        assert (young.outcome, young.retry) == ("deferred", True) and path.exists()
        old = ingestor.ingest(path, folder, young_s=0)
    assert old.outcome == "error" and old.moved_to == inbox / "error" / "bad.json"
    recorded = read_condemned(sidecar_for(old.moved_to))
    assert recorded is not None and recorded.size == len("{ half")


def test_a_file_that_cannot_be_set_aside_stays_and_is_tried_again(tmp_path: Path, submit, metrics):
    # The error folder cannot be made (a file is in its way), as when Windows refuses to move
    # a file the station holds open: the file must not be left in the inbox as if handled.
    inbox = tmp_path / "in"
    inbox.mkdir()
    path = inbox / "bad.json"
    path.write_text("{ half")
    blocker = tmp_path / "blocked"
    blocker.write_text("a file where the error folder should be")
    folder = WatchFolder(path=inbox, converter="wsjf", error_dir=blocker / "error")
    with WorkerPool([], workers=1, timeout_s=10.0, memory_mb=512) as pool:
        ingestor = Ingestor(pool, submit, metrics)
        stuck = ingestor.ingest(path, folder, young_s=0)
        assert (stuck.outcome, stuck.retry) == ("deferred", True), stuck
        assert "error folder" in (stuck.reason or "") and path.exists()
        blocker.unlink()
        blocker.mkdir()
        done = ingestor.ingest(path, folder, young_s=0)
    assert done.outcome == "error" and done.moved_to == blocker / "error" / "bad.json"
    assert not path.exists() and sidecar_for(done.moved_to).exists()


def test_a_file_that_cannot_be_set_aside_is_tried_again_with_a_growing_wait(
    tmp_path: Path, sim: Simulator, caplog: pytest.LogCaptureFixture
):
    # Without a backoff the file was converted again, and an ERROR logged, every stable_s.
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    blocker = tmp_path / "errors"
    blocker.mkdir()
    folder = WatchFolder(
        path=inbox, converter="wsjf", stable_s=0.05, rescan_s=0.2, error_dir=blocker / "error"
    )
    caplog.set_level("ERROR", logger="syncengine")

    def attempts() -> int:
        return sum(
            "could not be moved to the error folder" in r.getMessage() for r in caplog.records
        )

    with SyncEngine(fast_config(tmp_path, sim, watch=[folder])):
        # Checked at start, then broken while running (a file where the error folder goes).
        for leftover in blocker.iterdir():
            leftover.rmdir()
        blocker.rmdir()
        blocker.write_text("a file where the error folder should be")
        (inbox / "bad.json").write_text("not json at all")
        wait_for(lambda: attempts() >= 1, 30, "the first failed move")
        time.sleep(3.5)  # waits of 1 s and 2 s: at most two more tries, not ~20
        assert 2 <= attempts() <= 4, attempts()
        assert (inbox / "bad.json").exists()
        blocker.unlink()
        blocker.mkdir()
        wait_for(lambda: (blocker / "error" / "bad.json").exists(), 30, "set aside at last")
    assert not (inbox / "bad.json").exists()


def test_file_changed_after_commit_stays_in_the_inbox(tmp_path: Path, journal, metrics):
    inbox = tmp_path / "in"
    inbox.mkdir()
    path = inbox / "r.json"
    path.write_text(wsjf_text("SN-A"))

    def commit_then_writer_goes_on(items):
        keys = journal.submit_many(items) and [key for key, _p, _s in items]
        with path.open("a") as handle:
            handle.write("\n")  # the station rewrote the file after we read it
        return keys

    with WorkerPool([], workers=1, timeout_s=10.0, memory_mb=512) as pool:
        result = Ingestor(pool, commit_then_writer_goes_on, metrics).ingest(
            path, WatchFolder(path=inbox, converter="wsjf")
        )
    assert (result.outcome, result.retry) == ("deferred", True) and len(result.keys) == 1
    assert path.exists() and not (inbox / "done").exists()
    assert journal.counts()["pending"] == 1


# --- error/ folder: counted, and a changed file comes back -----------------------------------


def test_error_folder_watch_counts_and_returns_a_changed_file_once(tmp_path: Path):
    error = tmp_path / "error"
    error.mkdir()
    (error / "a.json").write_text("x")
    (error / ".DS_Store").write_text("file browser litter")
    (error / "Thumbs.db").write_text("file browser litter")
    watch = ErrorFolderWatch([error])
    assert watch.look() == [] and watch.summary.count == 1
    (error / "a.json").write_text("x fixed")
    assert watch.look() == []  # changed: wait until it is stable across two looks
    assert watch.look() == [error / "a.json"]
    assert watch.look() == []


# --- long names -------------------------------------------------------------------------------


def test_fit_name_keeps_short_names_and_shortens_long_ones_stably():
    assert fit_name("r.json") == "r.json"
    long = "x" * 300 + ".json"
    short = fit_name(long)
    assert len(short.encode()) <= NAME_MAX and short.endswith(".json") and "~" in short
    assert fit_name(long) == short and fit_name("y" * 300 + ".json") != short
    assert len(fit_name("é" * 200 + ".json").encode()) <= NAME_MAX


def test_250_character_names_move_to_done_and_to_error_with_a_note(tmp_path: Path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    good = inbox / ("g" * 245 + ".json")
    good.write_text("{}")
    moved = move_without_overwrite(good, inbox / "done")
    assert moved.name == good.name  # fits: kept as is
    again = inbox / good.name
    again.write_text("{}")
    second = move_without_overwrite(again, inbox / "done")  # name.1.json would be too long
    assert second != moved and len(second.name.encode()) <= NAME_MAX
    assert len(sidecar_for(second).name.encode()) + len(".tmp") <= NAME_MAX


def test_long_names_sharing_a_long_prefix_never_collide_and_notes_name_the_original(
    tmp_path: Path,
):
    # Two 250-byte names equal but for their last characters: every shortened form (the
    # .N de-duplication, the note) must stay distinct, and each note must name its own file.
    inbox = tmp_path / "in"
    inbox.mkdir()
    names = ["p" * 240 + "-alpha.json", "p" * 240 + "-omega.json"]
    moved: list[Path] = []
    for _round in range(2):  # the second round needs name.1.json, which is too long
        for name in names:
            src = inbox / name
            src.write_text(name)
            target = move_without_overwrite(src, inbox / "error")
            write_sidecar(src, target, "wsjf", "invalid_report", "bad")
            moved.append(target)
    assert len({m.name for m in moved}) == 4
    assert all(len(m.name.encode()) <= NAME_MAX for m in moved)
    assert sorted(m.read_text() for m in moved) == sorted(names * 2)  # nothing overwritten
    notes = [sidecar_for(m) for m in moved]
    assert len({n.name for n in notes}) == 4 and all(n.exists() for n in notes)
    for target, note in zip(moved, notes, strict=True):
        text = note.read_text(encoding="utf-8")
        assert f"file:      {inbox / target.read_text()}" in text  # the full original name
        assert f"moved to:  {target.name}" in text


def test_long_named_files_reach_done_and_error_through_the_engine(
    tmp_path: Path, sim: Simulator, failures: list[dict[str, Any]]
):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    good = "G" * 245 + ".json"
    bad = "B" * 245 + ".json"
    (inbox / good).write_text(wsjf_text("SN-LONG"))
    (inbox / bad).write_text("not json at all")
    folder = WatchFolder(path=inbox, converter="wsjf", stable_s=0.05, rescan_s=0.3)
    with SyncEngine(fast_config(tmp_path, sim, watch=[folder])) as engine:
        wait_for(lambda: (inbox / "done" / good).exists(), 60, "the good file in done/")
        wait_for(lambda: (inbox / "error" / bad).exists(), 60, "the bad file in error/")
        assert engine.wait_idle(30)
        wait_for(lambda: engine.status()["error_files"]["count"] == 1, 30, "error/ counted")
    notes = [p for p in (inbox / "error").iterdir() if p.name.endswith(".error.txt")]
    assert len(notes) == 1 and bad in notes[0].read_text(encoding="utf-8")
    assert sorted(p.name for p in inbox.iterdir()) == ["done", "error"]  # nothing left behind
    assert sim.stats()["distinct_reports"] == 1 and len(failures) == 1
    time.sleep(0.5)  # a few rescans: nothing is tried again
    assert len(failures) == 1


def test_engine_with_a_missing_watch_folder_refuses_to_start_and_creates_nothing(
    tmp_path: Path, sim: Simulator
):
    folder = WatchFolder(path=tmp_path / "typo", converter="wsjf")
    config = fast_config(tmp_path, sim, watch=[folder])
    with pytest.raises(WatchFolderError, match=r"watch\[0\]\.path: the folder .* does not exist"):
        SyncEngine(config).start()
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no journal, lock or status file
    created = WatchFolder(path=tmp_path / "typo", converter="wsjf", create=True)
    with SyncEngine(fast_config(tmp_path, sim, watch=[created])) as engine:
        assert engine.running and (tmp_path / "typo").is_dir()


def test_engine_with_an_unknown_converter_refuses_to_start_and_creates_nothing(
    tmp_path: Path, sim: Simulator
):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    folder = WatchFolder(path=inbox, converter="wsjff")
    with pytest.raises(WatchFolderError) as caught:
        SyncEngine(fast_config(tmp_path, sim, watch=[folder])).start()
    assert caught.value.key == "watch[0].converter"
    message = str(caught.value)
    assert "did you mean 'wsjf'" in message and "available: csv, wats_text, wsjf, wsxf" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inbox"]  # no journal, lock or status
