"""Metrics: the Metrics book, the prometheus_client collector, /metrics and the textfile.

Expositions are read back with ``prometheus_client.parser``, the library's own parser, and the
engine runs against the real simulator on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from syncengine import SyncEngine, WatchFolder
from syncengine._metrics import (
    BREAKER_STATES,
    BUCKETS,
    CONNECTION_STATES,
    ERROR_CLASS_LABELS,
    HEALTH_STATES,
    UPLOAD_OUTCOMES,
    EngineCollector,
    Metrics,
    TextfileWriter,
    build_registry,
    error_class_label,
    exposition,
)
from tests.syncengine.test_engine_support import fast_config, report, wait_for
from watsim import Simulator

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> tuple[dict[str, str], Samples]:
    """``({family: type}, {(sample name, sorted labels): value})`` via the library's parser."""
    types: dict[str, str] = {}
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return types, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def scrape(engine: SyncEngine) -> str:
    address = engine.health_address
    assert address is not None
    with urllib.request.urlopen(f"http://{address[0]}:{address[1]}/metrics", timeout=10) as r:
        assert r.headers["Content-Type"].startswith("text/plain; version=")
        return str(r.read().decode())


class FakeSource:
    """A source with a fixed status snapshot, for the collector's rules."""

    def __init__(self, status: dict[str, Any]) -> None:
        self.metrics = Metrics()
        self._status = status

    def status(self) -> dict[str, Any]:
        return self._status


STATUS: dict[str, Any] = {
    "health": "stuck",
    "connection": "circuit_open",
    "breaker": "open",
    "counts": {"pending": 3, "in_flight": 1, "acked": 10, "failed": 2},
    "oldest_pending_at": 1_700_000_000.5,
    "last_ack_at": 1_700_000_100.25,
    "started_at": 1_699_999_000.0,
    "offline_for_s": 0.0,
    "journal_path": None,
}


def collect_text(source: Any) -> str:
    return exposition(build_registry(source, process=False))[0].decode()


# --- the Metrics book ---------------------------------------------------------------------------
def test_snapshot_always_has_the_documented_names() -> None:
    snap = Metrics().snapshot()
    assert {"uploads_success", "uploads_failed", "retries", "offline_duration_s"} <= set(
        snap["counters"]
    )
    assert "queue_depth" in snap["gauges"]
    assert {"upload_latency", "conversion_duration"} <= set(snap["timings"])


def test_timing_count_sum_and_percentiles() -> None:
    m = Metrics()
    for i in range(1, 101):
        m.observe("upload_latency", i / 100)
    t = m.snapshot()["timings"]["upload_latency"]
    assert (t["count"], t["sum"], t["p50"], t["p95"]) == (100, pytest.approx(50.5), 0.5, 0.95)


def test_reservoir_bounds_memory_but_not_count_and_sum() -> None:
    m = Metrics(reservoir=10)
    for _ in range(1000):
        m.observe("conversion_duration", 1.0)
    m.observe("conversion_duration", 99.0)
    t = m.snapshot()["timings"]["conversion_duration"]
    assert (t["count"], t["sum"], t["p95"]) == (1001, 1099.0, 99.0)


def test_counters_only_grow() -> None:
    with pytest.raises(ValueError, match="can only grow"):
        Metrics().inc("retries", -1)


def test_unknown_names_are_created_on_first_use() -> None:
    m = Metrics()
    m.inc("files_converted")
    m.inc("custom_thing", 3)
    assert m.snapshot()["counters"]["custom_thing"] == 3


def test_histogram_buckets_are_cumulative_and_end_with_inf() -> None:
    m = Metrics()
    for seconds in (0.001, 0.01, 0.3, 7.0, 1000.0):
        m.observe("upload_latency", seconds)
    buckets, total = m.histogram("upload_latency")
    as_dict = dict(buckets)
    assert [le for le, _ in buckets][-1] == "+Inf" and len(buckets) == len(BUCKETS) + 1
    assert (as_dict["0.01"], as_dict["0.5"], as_dict["10.0"], as_dict["+Inf"]) == (2, 3, 4, 5)
    assert total == pytest.approx(1007.311)


def test_derived_total_never_drops() -> None:
    m = Metrics()
    assert (m.monotonic("x", 5.0), m.monotonic("x", 4.0), m.monotonic("x", 6.0)) == (5, 5, 6)


# --- the collector's rules ----------------------------------------------------------------------
def test_every_family_is_named_by_the_rules() -> None:
    types, _samples = parse(collect_text(FakeSource(dict(STATUS))))
    ours = {name for name in types if name.startswith("wats_sync_")}
    assert ours == {
        "wats_sync_build_info",
        "wats_sync_start_time_seconds",
        "wats_sync_submissions",
        "wats_sync_uploads",
        "wats_sync_upload_errors",
        "wats_sync_upload_duration_seconds",
        "wats_sync_uploads_in_flight",
        "wats_sync_oldest_pending_timestamp_seconds",
        "wats_sync_last_ack_timestamp_seconds",
        "wats_sync_health",
        "wats_sync_connection_state",
        "wats_sync_circuit_breaker_state",
        "wats_sync_journal_size_bytes",
        "wats_sync_error_files",
        "wats_sync_error_files_oldest_timestamp_seconds",
        "wats_sync_conversions",
        "wats_sync_conversion_duration_seconds",
        "wats_sync_offline_seconds",
        "wats_sync_auth_refreshes",
        "wats_sync_connectivity_probes",
    }
    for family in text_string_to_metric_families(collect_text(FakeSource(dict(STATUS)))):
        for sample in family.samples:
            if family.type == "counter":
                assert sample.name == family.name + "_total", sample.name
            # snake_case, and no non-base units (ms, minutes, kilobytes...) in any name
            assert re.fullmatch(r"[a-z_]+", sample.name), sample.name
            unit = re.search(r"_(ms|milliseconds|minutes|hours|kb|mb|percent)(_|$)", sample.name)
            assert unit is None, sample.name
    assert types["wats_sync_upload_duration_seconds"] == "histogram"
    assert types["wats_sync_conversion_duration_seconds"] == "histogram"


def test_state_gauges_are_one_hot_over_fixed_sets() -> None:
    _types, samples = parse(collect_text(FakeSource(dict(STATUS))))
    for family, states, current in (
        ("wats_sync_health", HEALTH_STATES, "stuck"),
        ("wats_sync_connection_state", CONNECTION_STATES, "circuit_open"),
        ("wats_sync_circuit_breaker_state", BREAKER_STATES, "open"),
    ):
        got = {dict(labels)["state"]: v for (name, labels), v in samples.items() if name == family}
        assert got == {s: (1.0 if s == current else 0.0) for s in states}


def test_counts_timestamps_and_fixed_label_sets_are_exposed() -> None:
    _types, samples = parse(collect_text(FakeSource(dict(STATUS))))
    assert value(samples, "wats_sync_submissions", state="pending") == 3
    assert value(samples, "wats_sync_submissions", state="failed") == 2
    assert value(samples, "wats_sync_oldest_pending_timestamp_seconds") == 1_700_000_000.5
    assert value(samples, "wats_sync_last_ack_timestamp_seconds") == 1_700_000_100.25
    outcomes = {dict(k[1])["outcome"] for k in samples if k[0] == "wats_sync_uploads_total"}
    classes = {dict(k[1])["class"] for k in samples if k[0] == "wats_sync_upload_errors_total"}
    assert outcomes == set(UPLOAD_OUTCOMES)
    assert classes == set(ERROR_CLASS_LABELS)


def test_timestamps_are_absent_when_nothing_waits_and_nothing_was_acked() -> None:
    status = dict(STATUS, oldest_pending_at=None, last_ack_at=None)
    types, samples = parse(collect_text(FakeSource(status)))
    # The families stay declared (dashboards see them), with no sample that an alert on
    # "time() - oldest > N" could misread as 1970.
    assert "wats_sync_oldest_pending_timestamp_seconds" in types
    assert not [k for k in samples if k[0].startswith("wats_sync_oldest_pending")]
    assert not [k for k in samples if k[0].startswith("wats_sync_last_ack")]


def test_error_classes_map_to_a_fixed_set() -> None:
    assert error_class_label("ConnectError") == "connect"
    assert error_class_label("AuthorizationError") == "auth"
    assert error_class_label("SomethingNewError") == "other"
    assert error_class_label(None) == "other"
    assert set(ERROR_CLASS_LABELS) >= {"server_error", "rate_limited", "validation", "other"}


def test_a_broken_status_fails_the_scrape_not_the_engine() -> None:
    class Broken(FakeSource):
        def status(self) -> dict[str, Any]:
            raise RuntimeError("journal gone")

    with pytest.raises(RuntimeError, match="journal gone"):
        list(EngineCollector(Broken({})).collect())


def test_offline_total_includes_the_running_period_and_never_drops() -> None:
    source = FakeSource(dict(STATUS, offline_for_s=12.0))
    source.metrics.inc("offline_duration_s", 30.0)
    _t, samples = parse(collect_text(source))
    assert value(samples, "wats_sync_offline_seconds_total") == 42.0
    # The period closed into the counter but the reader saw the old counter: no drop.
    source._status["offline_for_s"] = 0.0
    _t, samples = parse(collect_text(source))
    assert value(samples, "wats_sync_offline_seconds_total") == 42.0


# --- a real engine, scraped over HTTP ---------------------------------------------------------
@pytest.fixture
def engine(tmp_path: Path, sim: Simulator) -> Any:
    # validate_submit off: a test below journals a report the server refuses, on purpose.
    config = fast_config(
        tmp_path, sim, health_http={"enabled": True, "port": 0}, validate_submit=False
    )
    with SyncEngine(config) as eng:
        yield eng


def test_scrape_counts_successes_rejections_and_errors_by_class(
    engine: SyncEngine, sim: Simulator
) -> None:
    keys = [engine.submit(report(i, tag="scrape")) for i in range(5)]
    assert engine.wait_idle(30)
    bad = report(99, tag="scrape")
    bad["processCode"] = 9999  # valid here, refused by the server (400: unknown process code)
    engine.submit(bad)
    wait_for(lambda: engine.counts()["failed"] == 1, what="the refusal")
    sim.set_faults(error_rate=1.0, error_statuses=[503])
    engine.submit(report(100, tag="scrape"))
    wait_for(lambda: engine.metrics.upload_errors_by_class()["server_error"] >= 2, what="503s")
    sim.clear_faults()
    assert engine.wait_idle(30)

    types, samples = parse(scrape(engine))
    assert value(samples, "wats_sync_uploads_total", outcome="success") == len(keys) + 1
    assert value(samples, "wats_sync_uploads_total", outcome="rejected") == 1
    retries = value(samples, "wats_sync_uploads_total", outcome="retry")
    assert retries >= 2
    assert value(samples, "wats_sync_upload_errors_total", **{"class": "validation"}) == 1
    assert value(samples, "wats_sync_upload_errors_total", **{"class": "server_error"}) == retries
    attempts = len(keys) + 1 + 1 + retries
    assert value(samples, "wats_sync_upload_duration_seconds_count") == attempts
    assert value(samples, "wats_sync_upload_duration_seconds_bucket", le="+Inf") == attempts
    assert value(samples, "wats_sync_submissions", state="acked") == len(keys) + 1
    assert value(samples, "wats_sync_submissions", state="failed") == 1
    assert value(samples, "wats_sync_health", state="degraded") == 1  # one failed report waits
    assert value(samples, "wats_sync_connection_state", state="online") == 1
    assert value(samples, "wats_sync_circuit_breaker_state", state="closed") == 1
    assert value(samples, "wats_sync_last_ack_timestamp_seconds") > 1_700_000_000
    assert value(samples, "wats_sync_journal_size_bytes") > 4096
    if sys.platform.startswith("linux"):  # the library reads /proc
        assert "process_resident_memory_bytes" in types
    # nothing lost, nothing duplicated on the way
    assert sim.stats()["distinct_reports"] == len(keys) + 1


def test_oldest_pending_is_the_first_waiting_arrival(tmp_path: Path, sim: Simulator) -> None:
    sim.set_faults(error_rate=1.0, error_statuses=[503])
    config = fast_config(tmp_path, sim, health_http={"enabled": True, "port": 0})
    with SyncEngine(config) as eng:
        eng.submit(report(1, tag="oldest"))
        eng.submit(report(2, tag="oldest"))
        wait_for(lambda: eng.metrics.uploads_by_outcome()["retry"] >= 2, what="retries")
        _t, samples = parse(scrape(eng))
        oldest = eng.status()["oldest_pending_at"]
        assert value(samples, "wats_sync_oldest_pending_timestamp_seconds") == oldest
        assert (
            value(samples, "wats_sync_submissions", state="pending")
            + value(samples, "wats_sync_submissions", state="in_flight")
            == 2
        )
        sim.clear_faults()
        assert eng.wait_idle(30)
        _t, samples = parse(scrape(eng))
        assert not [k for k in samples if k[0] == "wats_sync_oldest_pending_timestamp_seconds"]
    assert sim.stats()["distinct_reports"] == 2


def test_conversions_are_counted_per_converter_and_outcome(tmp_path: Path, sim: Simulator) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    folder = WatchFolder(path=inbox, converter="wsjf", stable_s=0.05)
    config = fast_config(tmp_path, sim, watch=(folder,), health_http={"enabled": True})
    with SyncEngine(config) as eng:
        for i in range(3):
            (inbox / f"r{i}.json").write_text(json.dumps(report(i, tag="conv")))
        (inbox / "garbage.json").write_text("{not json")
        wait_for(lambda: sum(eng.metrics.conversions().values()) == 4, what="four conversions")
        assert eng.wait_idle(30)
        _t, samples = parse(scrape(eng))
    assert value(samples, "wats_sync_conversions_total", converter="wsjf", outcome="success") == 3
    assert value(samples, "wats_sync_conversions_total", converter="wsjf", outcome="error") == 1
    # a young file that failed is tried once more before it goes to error/: 4 or more runs
    assert value(samples, "wats_sync_conversion_duration_seconds_count") >= 4
    assert sim.stats()["distinct_reports"] == 3


def test_two_engines_in_one_process_keep_separate_books(tmp_path: Path, sim: Simulator) -> None:
    a = SyncEngine(fast_config(tmp_path / "a", sim, health_http={"enabled": True}))
    b = SyncEngine(fast_config(tmp_path / "b", sim, health_http={"enabled": True}))
    with a, b:
        for i in range(3):
            a.submit(report(i, tag="a"))
        b.submit(report(0, tag="b"))
        assert a.wait_idle(30) and b.wait_idle(30)
        _t, sa = parse(scrape(a))
        _t, sb = parse(scrape(b))
    assert value(sa, "wats_sync_uploads_total", outcome="success") == 3
    assert value(sb, "wats_sync_uploads_total", outcome="success") == 1


def test_series_do_not_grow_with_reports(engine: SyncEngine) -> None:
    for i in range(3):
        engine.submit(report(i, tag="card"))
    assert engine.wait_idle(30)
    before = set(parse(scrape(engine))[1])
    for i in range(3, 60):
        engine.submit(report(i, tag="card"))
    assert engine.wait_idle(30)
    after = set(parse(scrape(engine))[1])
    assert after == before  # no key, serial number or message ever becomes a label


def test_a_stopped_engine_still_exposes_its_final_state(tmp_path: Path, sim: Simulator) -> None:
    eng = SyncEngine(fast_config(tmp_path, sim))
    with eng:
        eng.submit(report(1, tag="stop"))
        assert eng.wait_idle(30)
    _t, samples = parse(collect_text(eng))
    assert value(samples, "wats_sync_health", state="stopped") == 1
    assert value(samples, "wats_sync_submissions", state="acked") == 1


# --- the textfile -------------------------------------------------------------------------------
def test_textfile_holds_the_same_metrics_and_is_replaced_whole(
    engine: SyncEngine, tmp_path: Path
) -> None:
    engine.submit(report(1, tag="textfile"))
    assert engine.wait_idle(30)
    target = tmp_path / "textfile" / "wats_sync.prom"
    writer = TextfileWriter(build_registry(engine), target, interval_s=0.05)
    writer.start()
    wait_for(lambda: writer.writes >= 3, what="three writes")
    writer.stop()
    _t, samples = parse(target.read_text())
    assert value(samples, "wats_sync_uploads_total", outcome="success") == 1
    # only the finished file is left: the temporary files were renamed over it
    assert [p.name for p in target.parent.iterdir()] == ["wats_sync.prom"]


def test_a_failed_textfile_write_keeps_the_previous_file(tmp_path: Path) -> None:
    source = FakeSource(dict(STATUS))
    target = tmp_path / "m.prom"
    writer = TextfileWriter(build_registry(source, process=False), target)
    assert writer.write()
    before = target.read_bytes()

    class Exploding(FakeSource):
        def status(self) -> dict[str, Any]:
            raise OSError("disk full")

    broken = TextfileWriter(build_registry(Exploding({}), process=False), target)
    assert broken.write() is False
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.prom"]  # no temporary file left


def test_textfile_name_must_end_in_prom(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\*\.prom"):
        TextfileWriter(build_registry(FakeSource({}), process=False), tmp_path / "m.txt")


def test_connection_states_match_the_connection_service() -> None:
    from syncengine import _connection

    names = {_connection.ONLINE, _connection.OFFLINE, _connection.CIRCUIT_OPEN}
    assert names | {_connection.AUTH_FAILED, "stopped"} == set(CONNECTION_STATES)


def test_files_in_an_error_folder_are_in_the_scrape(tmp_path: Path, sim: Simulator) -> None:
    # A fleet alerts on station files nobody will send (docs/fleet/wats-sync.rules.yml).
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "bad.json").write_text("not json at all")
    folder = WatchFolder(path=inbox, converter="wsjf", stable_s=0.05, rescan_s=0.2)
    before = time.time()
    with SyncEngine(fast_config(tmp_path, sim, watch=[folder])) as engine:
        wait_for(lambda: engine.status()["error_files"]["count"] == 1, 30, "error/ counted")
        _types, samples = parse(collect_text(engine))
    assert value(samples, "wats_sync_error_files") == 1.0
    oldest = value(samples, "wats_sync_error_files_oldest_timestamp_seconds")
    assert before - 5 <= oldest <= time.time()
