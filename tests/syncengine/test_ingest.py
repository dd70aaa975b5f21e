"""Ingest: file -> converter -> keys -> one journal transaction -> archive, all or nothing."""

# ruff: noqa: F811  (fixtures imported from the shared harness are redefined as parameters)

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import pytest

from journal import SubmissionConflictError
from syncengine._config import WatchFolder
from syncengine._errors import EngineStoppingError
from syncengine._ingest import (
    Ingestor,
    build_submissions,
    move_without_overwrite,
    submission_key,
)

from .converters.harness import (  # noqa: F401
    FIXTURES,
    journal,
    metrics,
    shared_pool,
    signals,
    submit,
    wsjf_text,
)


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    path = tmp_path / "in"
    path.mkdir()
    return path


@pytest.fixture
def folder(inbox: Path) -> WatchFolder:
    return WatchFolder(path=inbox)


@pytest.fixture
def ingestor(shared_pool, submit, metrics) -> Ingestor:
    return Ingestor(shared_pool, submit, metrics, station_name="ST-1")


def _drop(inbox: Path, name: str, content: str | bytes) -> Path:
    path = inbox / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _sidecar(result) -> str:
    return result.moved_to.with_name(result.moved_to.name + ".error.txt").read_text()


def test_keys_derive_from_file_digest_and_report_index(ingestor, folder, inbox):
    path = shutil.copy(FIXTURES / "two_reports.json", inbox / "two.json")
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    result = ingestor.ingest(Path(path), folder)
    assert result.outcome == "done"
    assert result.keys == (submission_key(digest, 0), submission_key(digest, 1))


def test_converted_file_is_committed_then_moved_to_done(ingestor, folder, inbox, journal):
    path = _drop(inbox, "r.json", wsjf_text())
    result = ingestor.ingest(path, folder)
    assert not path.exists() and result.moved_to == inbox / "done" / "r.json"
    assert journal.counts()["pending"] == 1


def test_journal_records_the_source_of_each_submission(ingestor, folder, inbox, journal):
    path = _drop(inbox, "r.json", wsjf_text())
    data = path.read_bytes()
    (key,) = ingestor.ingest(path, folder).keys
    source = journal.submission(key).source
    assert source == {
        "path": str(path),
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "converter": "wsjf",
        "converter_version": "1.0",
        "index": 0,
        "count": 1,
    }


def test_report_id_from_the_file_is_kept(ingestor, folder, inbox, journal):
    (key,) = ingestor.ingest(_drop(inbox, "r.json", wsjf_text(with_id=True)), folder).keys
    assert journal.submission(key).payload["id"] == "11111111-2222-4333-8444-555555555555"


def test_report_without_id_gets_the_key_as_id(ingestor, folder, inbox, journal):
    (key,) = ingestor.ingest(_drop(inbox, "r.json", wsjf_text()), folder).keys
    assert journal.submission(key).payload["id"] == key


def test_same_file_again_after_crash_before_move_is_the_same_submission(
    ingestor, folder, inbox, journal
):
    text = wsjf_text()
    first = ingestor.ingest(_drop(inbox, "r.json", text), folder)
    # The state a crash between commit and move leaves: committed, file still in the inbox.
    again = ingestor.ingest(_drop(inbox, "r.json", text), folder)
    assert again.outcome == "done" and again.keys == first.keys
    assert journal.counts()["pending"] == 1
    assert again.moved_to == inbox / "done" / "r.1.json"


def test_signals_fire_after_commit_with_path_keys_and_converter(
    ingestor, folder, inbox, journal, signals
):
    path = _drop(inbox, "r.json", wsjf_text())
    result = ingestor.ingest(path, folder)
    assert signals == [
        (
            "file_converted",
            {"path": path, "keys": list(result.keys), "converter": "wsjf", "existing": {}},
        )
    ]


def test_file_converted_names_the_keys_the_journal_had_already(
    shared_pool, folder, inbox, journal, metrics, signals
):
    # The engine's submit answers with the journal's Submissions; ``existed`` is the journal's
    # own word that nothing was appended, however soon the same bytes come again.
    ingestor = Ingestor(shared_pool, lambda items: journal.submit_many(list(items)), metrics)
    text = wsjf_text()
    first = ingestor.ingest(_drop(inbox, "r.json", text), folder)
    again = ingestor.ingest(_drop(inbox, "copy.json", text), folder)
    assert again.keys == first.keys
    assert [kw["existing"] for _name, kw in signals] == [{}, {first.keys[0]: "pending"}]


def test_success_counts_and_times_the_conversion(ingestor, folder, inbox, metrics):
    ingestor.ingest(_drop(inbox, "r.json", wsjf_text()), folder)
    assert metrics.counters["files_converted"] == 1
    assert len(metrics.timings["conversion_duration"]) == 1


def test_done_action_delete_removes_the_file(ingestor, inbox):
    path = _drop(inbox, "r.json", wsjf_text())
    result = ingestor.ingest(path, WatchFolder(path=inbox, done_action="delete"))
    assert result.outcome == "done" and not path.exists() and not (inbox / "done").exists()


def test_done_action_keep_leaves_the_file(ingestor, inbox):
    path = _drop(inbox, "r.json", wsjf_text())
    result = ingestor.ingest(path, WatchFolder(path=inbox, done_action="keep"))
    assert result.outcome == "done" and path.exists()


def test_file_with_zero_reports_goes_to_error(ingestor, folder, inbox, journal, metrics):
    result = ingestor.ingest(_drop(inbox, "empty.json", "[]"), folder)
    assert result.outcome == "error" and result.moved_to == inbox / "error" / "empty.json"
    assert "the file has zero reports" in _sidecar(result)
    assert journal.counts()["pending"] == 0 and metrics.counters["conversions_failed"] == 1


def test_one_invalid_report_sends_the_whole_file_to_error(ingestor, folder, inbox, journal):
    good = json.loads(wsjf_text("SN-OK"))
    bad = json.loads(wsjf_text("SN/BAD"))  # '/' is forbidden in serial numbers
    result = ingestor.ingest(_drop(inbox, "mixed.json", json.dumps([good, bad])), folder)
    assert result.outcome == "error"
    assert "report 1 of 2 failed validation" in _sidecar(result)
    assert journal.counts()["pending"] == 0


def test_failing_converter_writes_sidecar_with_converter_kind_and_time(ingestor, inbox, signals):
    path = _drop(inbox, "a.raises", "x")
    result = ingestor.ingest(path, WatchFolder(path=inbox, converter="raises"))
    text = _sidecar(result)
    assert "converter: raises" in text and "failure:   exception" in text
    assert "RuntimeError: boom in converter" in text and "when:      20" in text
    assert signals == [
        ("conversion_failed", {"path": path, "converter": "raises", "reason": result.reason})
    ]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signal name")
def test_segfaulting_converter_sends_file_to_error_and_next_file_converts(ingestor, folder, inbox):
    crashed = ingestor.ingest(_drop(inbox, "a.segv", "x"), folder)
    assert crashed.outcome == "error" and "SIGSEGV" in _sidecar(crashed)
    assert ingestor.ingest(_drop(inbox, "r.json", wsjf_text()), folder).outcome == "done"


@pytest.mark.parametrize(
    ("name", "converter", "content", "expected"),
    [
        ("t.json", "wsjf", wsjf_text()[:40], "invalid JSON"),
        ("g.json", "wsjf", bytes(range(256)) * 4, "binary content"),
        ("g.json", "auto", bytes(range(256)) * 4, "no converter recognised the file"),
        ("l.json", "wsjf", wsjf_text().replace("SN-1", "SN-\u00e9").encode("latin-1"), "not valid"),
        ("w.xml", "wsxf", b"<Reports xmlns='urn:x'/>", "root element is '{urn:x}Reports'"),
    ],
    ids=["truncated", "binary", "binary-auto", "latin1", "wrong-namespace"],
)
def test_malformed_file_goes_to_error_with_a_clear_reason(
    ingestor, inbox, journal, name, converter, content, expected
):
    folder = WatchFolder(path=inbox, converter=converter)
    result = ingestor.ingest(_drop(inbox, name, content), folder)
    assert result.outcome == "error" and expected in _sidecar(result)
    assert journal.counts()["pending"] == 0


def test_file_over_the_size_cap_goes_to_error_unconverted(ingestor, inbox):
    path = _drop(inbox, "big.json", " " * 2048 + wsjf_text())
    result = ingestor.ingest(path, WatchFolder(path=inbox, max_file_mb=0.001))
    assert result.outcome == "error" and "exceeds the 1048-byte limit" in _sidecar(result)


def test_file_name_with_control_characters_cannot_forge_sidecar_lines(ingestor, folder, inbox):
    result = ingestor.ingest(_drop(inbox, "x\nconverter: forged.json", "[]"), folder)
    lines = _sidecar(result).splitlines()
    assert [line for line in lines if line.startswith("converter:")] == ["converter: wsjf 1.0"]


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_symlink_is_refused_and_its_target_untouched(ingestor, folder, inbox, tmp_path):
    target = tmp_path / "secret.json"
    target.write_text(wsjf_text())
    link = inbox / "link.json"
    link.symlink_to(target)
    result = ingestor.ingest(link, folder)
    assert result.outcome == "error" and "symbolic links" in result.reason
    assert target.read_text() == wsjf_text()


def test_engine_stopping_leaves_the_file_in_place(shared_pool, metrics, folder, inbox):
    def refuse(items):
        raise EngineStoppingError("stopping")

    path = _drop(inbox, "r.json", wsjf_text())
    result = Ingestor(shared_pool, refuse, metrics).ingest(path, folder)
    assert result.outcome == "deferred" and path.exists()
    assert metrics.counters["conversions_failed"] == 0


def test_journal_failure_leaves_the_file_in_place(shared_pool, metrics, folder, inbox):
    def broken(items):
        raise OSError("disk full")

    path = _drop(inbox, "r.json", wsjf_text())
    result = Ingestor(shared_pool, broken, metrics).ingest(path, folder)
    assert result.outcome == "deferred" and "disk full" in result.reason and path.exists()


def test_conflicting_payload_for_existing_key_goes_to_error(shared_pool, metrics, folder, inbox):
    def conflict(items):
        raise SubmissionConflictError(items[0][0], "a" * 64, "b" * 64)

    result = Ingestor(shared_pool, conflict, metrics).ingest(
        _drop(inbox, "r.json", wsjf_text()), folder
    )
    assert result.outcome == "error" and "already submitted with different content" in result.reason


def test_vanished_file_is_gone_not_error(ingestor, folder, inbox):
    assert ingestor.ingest(inbox / "never.json", folder).outcome == "gone"


@pytest.mark.skipif(sys.platform == "win32", reason="Windows moves by rename, no dir fsync")
def test_move_where_directory_fsync_is_refused_still_moves_once(tmp_path, monkeypatch):
    # Some file systems answer fsync on a directory with EINVAL; the move must complete once,
    # not claim name after name for the same file.
    import errno
    import os

    def fsync(fd: int) -> None:  # the move fsyncs only directories
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(os, "fsync", fsync)
    dest = tmp_path / "done"
    src = tmp_path / "r.json"
    src.write_text("new")
    assert move_without_overwrite(src, dest) == dest / "r.json"
    assert not src.exists()
    assert sorted(p.name for p in dest.iterdir()) == ["r.json"]


def test_move_never_overwrites_an_existing_file(tmp_path):
    dest = tmp_path / "done"
    dest.mkdir()
    (dest / "r.json").write_text("old")
    (dest / "README").write_text("old")
    src = tmp_path / "r.json"
    src.write_text("new")
    bare = tmp_path / "README"
    bare.write_text("new")
    assert move_without_overwrite(src, dest) == dest / "r.1.json"
    assert move_without_overwrite(bare, dest) == dest / "README.1"
    assert (dest / "r.json").read_text() == "old" and (dest / "r.1.json").read_text() == "new"


def test_server_export_fields_are_dropped_from_the_payload(ingestor, folder, inbox, journal):
    exported = json.loads(wsjf_text())
    exported.update(startUTC="2026-03-02T13:01:00Z", productName="Power supply")
    (key,) = ingestor.ingest(_drop(inbox, "export.json", json.dumps(exported)), folder).keys
    payload = journal.submission(key).payload
    assert "startUTC" not in payload and "productName" not in payload


def test_build_submissions_gives_the_same_items_for_the_same_bytes(shared_pool, inbox):
    path = shutil.copy(FIXTURES / "two_reports.json", inbox / "a.json")
    data = Path(path).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    conversion = shared_pool.convert(Path(path))
    first = build_submissions(Path(path), digest, len(data), conversion)
    again = build_submissions(Path(path), digest, len(data), shared_pool.convert(Path(path)))
    assert first == again and [k for k, _, _ in first] == [
        submission_key(digest, i) for i in (0, 1)
    ]
