"""The watcher: stable files only, each file once, temp and archive folders ignored, a
misbehaving converter never stalls the next file, stop() leaves unfinished files in place."""

# ruff: noqa: F811  (fixtures imported from the shared harness are redefined as parameters)

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from syncengine._config import EngineConfig, WatchFolder
from syncengine._watcher import WatchService

from .converters.harness import (  # noqa: F401
    MISBEHAVING,
    journal,
    metrics,
    shared_pool,
    signals,
    submit,
    wsjf_text,
)

WAIT_S = 30.0


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    path = tmp_path / "in"
    path.mkdir()
    return path


@pytest.fixture
def make_service(
    tmp_path, inbox, submit, metrics, shared_pool
) -> Iterator[Callable[..., WatchService]]:
    services: list[WatchService] = []

    def make(*, own_pool: bool = False, polling: bool = False, **folder_kw) -> WatchService:
        folder_kw.setdefault("stable_s", 0.2)
        config = EngineConfig(
            server_url="http://127.0.0.1:9",
            token="t",
            journal_path=tmp_path / "journal.db",
            station_name="ST-W",
            watch=(WatchFolder(path=inbox, **folder_kw),),
            converter_paths=(MISBEHAVING,),
            converter_timeout_s=3.0,
            converter_workers=2,
        )
        pool = None if own_pool else shared_pool
        service = WatchService(config, submit, metrics, pool=pool, polling=polling)
        services.append(service)
        service.start()
        return service

    yield make
    for service in services:
        service.stop(5.0)


def wait_for(predicate: Callable[[], bool], timeout: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def outcomes(service: WatchService) -> dict[str, str]:
    return {r.path.name: r.outcome for r in list(service.results)}


def test_files_present_at_start_are_converted(make_service, inbox, journal):
    for i in range(3):
        (inbox / f"r{i}.json").write_text(wsjf_text(f"SN-{i}"))
    service = make_service()
    assert wait_for(lambda: len(service.results) == 3)
    assert set(outcomes(service).values()) == {"done"}
    assert journal.counts()["pending"] == 3
    assert sorted(p.name for p in (inbox / "done").iterdir()) == ["r0.json", "r1.json", "r2.json"]


def test_new_file_is_converted_and_moved_to_done(make_service, inbox, signals):
    service = make_service()
    (inbox / "new.json").write_text(wsjf_text())
    assert wait_for(lambda: outcomes(service).get("new.json") == "done")
    assert (inbox / "done" / "new.json").exists()
    assert [name for name, _ in signals] == ["file_converted"]


def test_file_still_being_written_is_converted_only_when_complete(make_service, inbox):
    service = make_service(stable_s=1.5)
    text = wsjf_text("SN-SLOW")
    path = inbox / "slow.json"

    def write_slowly() -> None:
        with path.open("w") as fh:
            for i in range(0, len(text), 40):
                fh.write(text[i : i + 40])
                fh.flush()
                time.sleep(0.1)

    writer = threading.Thread(target=write_slowly)
    writer.start()
    writer.join(timeout=WAIT_S)
    assert wait_for(lambda: len(service.results) == 1)
    assert outcomes(service) == {"slow.json": "done"}  # a half-read file would be invalid JSON


def test_burst_of_events_for_one_file_converts_it_once(make_service, inbox, submit, journal):
    service = make_service()
    tmp = inbox / "burst.json.tmp"
    tmp.write_text(wsjf_text()[:20])
    with tmp.open("a") as fh:
        fh.write(wsjf_text()[20:])
    tmp.rename(inbox / "burst.json")
    (inbox / "burst.json").touch()
    assert wait_for(lambda: len(service.results) >= 1)
    time.sleep(0.5)  # give any duplicate a chance to show up
    assert len(service.results) == 1 and submit.calls == 1
    assert journal.counts()["pending"] == 1


@pytest.mark.parametrize(
    "name", ["x.tmp", "~lock.json", ".hidden.json", "r.json.part", "a.txt.swp"]
)
def test_temporary_and_hidden_files_are_ignored(make_service, inbox, name):
    (inbox / name).write_text(wsjf_text())
    (inbox / "marker.json").write_text(wsjf_text("SN-MARK"))
    service = make_service()
    assert wait_for(lambda: "marker.json" in outcomes(service))
    assert name not in outcomes(service) and (inbox / name).exists()


def test_done_and_error_folders_are_not_reconverted_on_restart(make_service, inbox, submit):
    (inbox / "ok.json").write_text(wsjf_text())
    (inbox / "bad.json").write_text("[]")
    first = make_service(recursive=True)
    # bad.json is tried again while young (deferred), then set aside: wait for the final outcomes.
    assert wait_for(lambda: sorted(outcomes(first).values()) == ["done", "error"])
    first.stop(5.0)
    (inbox / "marker.json").write_text(wsjf_text("SN-MARK"))
    second = make_service(recursive=True)
    assert wait_for(lambda: "marker.json" in outcomes(second))
    assert len(second.results) == 1 and submit.calls == 2


def test_kept_file_is_converted_once_per_content(make_service, inbox, submit):
    path = inbox / "keep.json"
    path.write_text(wsjf_text())
    service = make_service(done_action="keep", rescan_s=0.2)
    assert wait_for(lambda: len(service.results) == 1)
    time.sleep(1.0)  # several rescans
    assert len(service.results) == 1 and path.exists()
    path.write_text(wsjf_text("SN-CHANGED"))
    assert wait_for(lambda: len(service.results) == 2)
    assert submit.calls == 2


def test_misbehaving_converters_do_not_stall_the_next_files(make_service, inbox, metrics):
    (inbox / "a.raises").write_text("x")
    (inbox / "b.exits").write_text("x")
    (inbox / "c.segv").write_text("x")
    (inbox / "d.hangs").write_text("x")
    for i in range(3):
        (inbox / f"ok{i}.json").write_text(wsjf_text(f"SN-{i}"))
    service = make_service()
    # Young failures are tried again first (deferred): wait for every file's final outcome.
    assert wait_for(
        lambda: len(outcomes(service)) == 7 and "deferred" not in outcomes(service).values()
    )
    got = outcomes(service)
    assert [got[f"ok{i}.json"] for i in range(3)] == ["done"] * 3
    assert {got[n] for n in ("a.raises", "b.exits", "c.segv", "d.hangs")} == {"error"}
    errors = sorted(p.name for p in (inbox / "error").iterdir())
    assert "d.hangs.error.txt" in errors and metrics.counters["conversions_failed"] == 4


def test_stop_during_a_hung_conversion_leaves_the_file_in_place(make_service, inbox):
    service = make_service(own_pool=True)
    (inbox / "stuck.hangs").write_text("x")
    assert wait_for(lambda: not service.idle() and not service._candidates)
    service.stop(0.5)
    assert (inbox / "stuck.hangs").exists() and not (inbox / "error").exists()


def test_polling_observer_also_picks_up_new_files(make_service, inbox):
    service = make_service(polling=True)
    (inbox / "p.json").write_text(wsjf_text())
    assert wait_for(lambda: outcomes(service).get("p.json") == "done")


def test_unknown_converter_name_is_refused_at_start(tmp_path, inbox, submit, metrics, shared_pool):
    config = EngineConfig(
        server_url="http://127.0.0.1:9",
        token="t",
        journal_path=tmp_path / "j.db",
        watch=(WatchFolder(path=inbox, converter="nope"),),
    )
    with pytest.raises(ValueError, match="converter 'nope' is not available"):
        WatchService(config, submit, metrics, pool=shared_pool).start()


def test_folder_patterns_limit_what_is_converted(make_service, inbox):
    (inbox / "r.json").write_text(wsjf_text())
    (inbox / "r.wsjf").write_text(json.dumps(json.loads(wsjf_text("SN-W"))))
    service = make_service(patterns=("*.wsjf",))
    assert wait_for(lambda: "r.wsjf" in outcomes(service))
    assert "r.json" not in outcomes(service)


def test_periodic_rescan_finds_files_the_observer_did_not_report(make_service, inbox):
    # A polling observer that never polls again stands in for a share that loses events.
    service = make_service(polling=3600.0, rescan_s=0.3)
    (inbox / "missed.json").write_text(wsjf_text())
    assert wait_for(lambda: outcomes(service).get("missed.json") == "done")
