"""status(): a typed snapshot with the status file's keys, and no side effects."""

from __future__ import annotations

import json
from pathlib import Path

from syncengine import StatusSnapshot, SyncEngine, read_status
from syncengine._status import StoredStatus
from watsim import Simulator

from .test_engine_support import fast_config, report


def test_status_has_every_key_of_the_typed_snapshot_and_is_json(
    tmp_path: Path, sim: Simulator
) -> None:
    with SyncEngine(fast_config(tmp_path, sim)) as engine:
        engine.submit(report(1))
        assert engine.wait_idle(30)
        snapshot = engine.status()
    required = set(StatusSnapshot.__required_keys__)
    assert set(snapshot) == required
    assert json.loads(json.dumps(snapshot)) == snapshot
    assert snapshot["counts"]["acked"] == 1


def test_read_status_answers_only_keys_stored_status_declares(
    tmp_path: Path, sim: Simulator
) -> None:
    config = fast_config(tmp_path, sim)
    with SyncEngine(config) as engine:
        engine.submit(report(1))
        assert engine.wait_idle(30)
    declared = StoredStatus.__required_keys__ | StoredStatus.__optional_keys__
    from_file = read_status(config.effective_status_path, config.journal_path)
    config.effective_status_path.unlink()
    from_journal = read_status(config.effective_status_path, config.journal_path)
    for stored, source in ((from_file, "status_file"), (from_journal, "journal")):
        assert StoredStatus.__required_keys__ <= set(stored) <= declared
        assert stored["source"] == source
    assert StatusSnapshot.__required_keys__ <= set(from_file)


def test_status_changes_no_metric(tmp_path: Path, sim: Simulator) -> None:
    config = fast_config(tmp_path, sim, status_interval_s=3600)  # the loop writes once, at start
    with SyncEngine(config) as engine:
        engine.submit(report(1))
        assert engine.wait_idle(30)
        engine.metrics.set_gauge("queue_depth", 99)
        before = engine.metrics.snapshot()
        snapshot = engine.status()
        assert engine.metrics.snapshot() == before
        # The snapshot itself carries the figure of this moment, not the stale gauge.
        assert snapshot["metrics"]["gauges"]["queue_depth"] == 0


def test_the_status_file_holds_the_same_keys_as_status(tmp_path: Path, sim: Simulator) -> None:
    config = fast_config(tmp_path, sim)
    with SyncEngine(config) as engine:
        keys = set(engine.status())
    written = json.loads(config.effective_status_path.read_text(encoding="utf-8"))
    assert set(written) == keys
