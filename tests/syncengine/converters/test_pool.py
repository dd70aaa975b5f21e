"""The worker pool: every way a converter can misbehave ends as ConversionFailed, and the
next file converts normally on a fresh worker."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from syncengine.converters import ConversionFailed, WorkerPool, WorkerUnavailableError

SERIALS = '["SN-1", "SN-2"]'


def _fails(pool: WorkerPool, path: Path, **kw) -> ConversionFailed:
    with pytest.raises(ConversionFailed) as info:
        pool.convert(path, **kw)
    return info.value


@pytest.fixture
def echo_file(make_file) -> Path:
    return make_file("ok.echo", SERIALS)


def test_named_converter_returns_its_reports_name_and_version(pool, echo_file):
    result = pool.convert(echo_file, converter="echo", station_name="ST-9")
    assert (result.converter, result.version) == ("echo", "1.5")
    assert [r["sn"] for r in result.reports] == ["SN-1", "SN-2"]
    assert result.reports[0]["machineName"] == "ST-9"


def test_options_reach_the_converter(pool, echo_file):
    result = pool.convert(echo_file, converter="echo", options={"location": "Line 9"})
    assert result.reports[0]["location"] == "Line 9"


def test_auto_selects_by_pattern_and_confidence(pool, echo_file):
    assert pool.convert(echo_file).converter == "echo"


def test_auto_with_no_matching_pattern_is_no_converter(pool, make_file):
    failure = _fails(pool, make_file("x.unknownext", "data"))
    assert failure.kind == "no_converter" and "x.unknownext" in failure.message


def test_unknown_converter_name_is_no_converter(pool, echo_file):
    failure = _fails(pool, echo_file, converter="nope")
    assert failure.kind == "no_converter" and "'nope' not found" in failure.message


def test_refused_converter_name_says_why(pool, echo_file):
    failure = _fails(pool, echo_file, converter="future_api")
    assert "refused" in failure.message and "api_version" in failure.message


def test_exception_in_converter_is_reported_with_traceback(pool, make_file):
    failure = _fails(pool, make_file("a.raises"))
    assert failure.kind == "exception" and failure.converter == "raises"
    assert "RuntimeError: boom in converter" in failure.message
    assert "misbehaving.py" in failure.details


def test_system_exit_in_converter_is_an_exception_not_a_dead_worker(pool, make_file, echo_file):
    failure = _fails(pool, make_file("a.sysexit"))
    assert failure.kind == "exception" and "SystemExit" in failure.message
    assert pool.convert(echo_file).converter == "echo"


def test_hang_is_killed_at_the_time_limit(pool, make_file):
    failure = _fails(pool, make_file("a.hangs"))
    assert failure.kind == "timeout" and "killed and replaced" in failure.message


def test_os_exit_is_reported_as_crash_with_status(pool, make_file):
    failure = _fails(pool, make_file("a.exits"))
    assert failure.kind == "crashed" and "status 7" in failure.message


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signal name")
def test_segfault_is_reported_as_crash_with_python_traceback(pool, make_file):
    failure = _fails(pool, make_file("a.segv"))
    assert failure.kind == "crashed" and "SIGSEGV" in failure.message
    assert "Segmentation fault" in failure.details or "Fatal Python error" in failure.details


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_AS is POSIX only")
def test_memory_limit_stops_a_converter_that_allocates_too_much(pool, make_file):
    failure = _fails(pool, make_file("a.mem"))
    assert failure.kind in ("exception", "crashed")
    assert "MemoryError" in failure.message or failure.kind == "crashed"
    assert "RLIMIT_AS" in pool.memory_note


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a.badout", "must return a list of report dicts"), ("a.noser", "not JSON-serialisable")],
)
def test_bad_output_is_refused(pool, make_file, name, expected):
    failure = _fails(pool, make_file(name))
    assert failure.kind == "bad_output" and expected in failure.message


def test_converter_printing_to_stdout_cannot_forge_an_answer(pool, make_file):
    result = pool.convert(make_file("n.noisy", SERIALS))
    assert (result.converter, result.version) == ("noisy", "2.1")
    assert [r["sn"] for r in result.reports] == ["SN-1", "SN-2"]


@pytest.mark.parametrize("bad", ["a.raises", "a.hangs", "a.exits", "a.segv"])
def test_next_file_converts_normally_after_a_failure(pool, make_file, echo_file, bad):
    _fails(pool, make_file(bad))
    assert pool.convert(echo_file).reports[1]["sn"] == "SN-2"


def test_closed_pool_refuses_work_as_unavailable(misbehaving, echo_file):
    pool = WorkerPool([misbehaving], workers=1)
    pool.close()
    with pytest.raises(WorkerUnavailableError):
        pool.convert(echo_file)


def test_two_workers_convert_concurrently_requested_files(misbehaving, make_file):
    import threading

    files = [make_file(f"f{i}.echo", f'["SN-{i}"]') for i in range(6)]
    results: dict[int, str] = {}
    with WorkerPool([misbehaving], workers=2, timeout_s=10) as pool:

        def run(i: int) -> None:
            results[i] = pool.convert(files[i]).reports[0]["sn"]

        threads = [threading.Thread(target=run, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert results == {i: f"SN-{i}" for i in range(6)}
