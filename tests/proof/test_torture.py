"""Kill torture: SIGKILL the real engine (CLI and embedded) at random moments against a faulty
simulator, restart, repeat; at the end nothing is lost, invented, duplicated or left behind.

CI size: 24 kill points, 240 reports. ``WATS_TORTURE_SCALE=42`` gives ~1,000 kill points and
~10,000 reports (or run ``python -m tools.torture --kill-points 1000 --reports 10000``).
"""

from __future__ import annotations

import pytest

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
