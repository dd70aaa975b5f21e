"""Kill torture: SIGKILL the real engine (CLI and embedded) and concurrent ``journal archive``
runs at random moments against a faulty simulator, restart, repeat; at the end nothing is lost,
invented, duplicated (live or archived) or left behind.

CI size: 24 kill points (8 archive rounds), exactly 240 reports. ``WATS_TORTURE_SCALE=42`` gives
1,008 kill points and 10,080 reports (or run
``python -m tools.torture --kill-points 1000 --reports 10000``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.torture._archiver import ArchiveFigures, account_archives
from tools.torture._run import TortureResult, run_torture


@pytest.fixture(scope="module")
def torture(tmp_path_factory: pytest.TempPathFactory, scale: int) -> TortureResult:
    work = tmp_path_factory.mktemp("torture")
    return run_torture(work, kill_points=24 * scale, reports=240 * scale, seed=5)


def test_torture_really_killed_both_the_cli_and_the_embedded_engine(
    torture: TortureResult, scale: int
) -> None:
    assert torture.kills == 24 * scale
    assert torture.rounds_cli > 0 and torture.rounds_station > 0
    assert torture.api_returned and torture.file_ids


def test_torture_feeds_exactly_the_requested_number_of_reports(
    torture: TortureResult, scale: int
) -> None:
    assert len(torture.api_begun) + len(torture.file_ids) == 240 * scale


def test_torture_killed_archive_runs_that_had_started(torture: TortureResult, scale: int) -> None:
    assert torture.archive.rounds == 8 * scale and torture.archive.kills > 0


def test_torture_archived_reports_and_read_them_back(torture: TortureResult) -> None:
    assert torture.archive.recorded_files > 0 and torture.archive.archived_ids


def test_torture_holds_each_report_once_live_or_in_a_recorded_archive(
    torture: TortureResult,
) -> None:
    assert torture.accounting_problems == []


def test_torture_archive_runs_that_were_not_killed_succeeded(torture: TortureResult) -> None:
    assert torture.archive.failures == []


def test_torture_loses_no_promised_report(torture: TortureResult) -> None:
    assert torture.lost == set()


def test_torture_server_holds_only_submitted_reports(torture: TortureResult) -> None:
    assert torture.unexpected == set()


def test_torture_journal_verifies_with_one_submission_per_report(torture: TortureResult) -> None:
    assert torture.journal_problems == []


def test_torture_loses_no_source_file_and_errors_none(torture: TortureResult) -> None:
    assert (torture.files_missing, torture.files_in_error) == ([], [])


def test_torture_drains_everything_once_the_faults_stop(torture: TortureResult) -> None:
    assert torture.drained


def test_torture_verdict_counts_a_promised_id_missing_on_the_server_as_lost() -> None:
    r = TortureResult(api_returned={"a"}, on_server=set(), drained=True)
    assert r.lost == {"a"} and not r.ok


def test_torture_summary_counts_archive_kills() -> None:
    r = TortureResult(archive=ArchiveFigures(kills=3, kills_mid_write=1))
    assert "archive_kills=3 (mid_write=1 " in r.summary()


def test_torture_verdict_counts_an_unrecorded_archive_file_as_an_orphan(tmp_path: Path) -> None:
    (tmp_path / "a000002.jsonl.gz").write_bytes(b"looks like an archive")
    problems = account_archives(tmp_path, [], ArchiveFigures())
    assert problems == ["orphan archive a000002.jsonl.gz: a final name no Archived event names"]


def test_torture_verdict_counts_a_recorded_archive_that_is_missing(tmp_path: Path) -> None:
    event = {"type": "Archived", "data": {"file": "gone.jsonl.gz", "sha256": "0" * 64, "keys": []}}
    problems = account_archives(tmp_path, [event], ArchiveFigures())
    assert len(problems) == 1 and problems[0].startswith("recorded archive gone.jsonl.gz")


def test_torture_verdict_takes_a_leftover_tmp_for_nobodys_archive(tmp_path: Path) -> None:
    (tmp_path / "a000005.jsonl.gz.tmp").write_bytes(b"partial")
    figures = ArchiveFigures()
    assert (account_archives(tmp_path, [], figures), figures.tmp_left) == ([], 1)
