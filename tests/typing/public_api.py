"""The public API as an embedder writes it, checked by mypy --strict (never run).

Checked by ``tools/check`` and by ``tests/typing/test_public_api.py``. ``assert_type`` pins each
return type, so a signature that degrades to ``Any`` (or changes) fails the check. The lines
marked ``type: ignore[...]`` are misuse that mypy must reject: with ``warn_unused_ignores`` an
ignore that is no longer needed (because a type became ``Any``) fails the check too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typing_extensions import assert_type

import journal
import pywats
from syncengine import (
    EngineConfig,
    EngineJournalError,
    StatusSnapshot,
    StoredStatus,
    SyncEngine,
    SyncEngineError,
    read_status,
    signals,
)


def embed(report: pywats.UUTReport, path: Path) -> None:
    config = EngineConfig(server_url="https://x.wats.com", token="t", journal_path=path)
    assert_type(config.concurrency, int)
    assert_type(config.timeouts.journal_busy_s, float)
    with SyncEngine(config) as engine:
        assert_type(engine, SyncEngine)
        assert_type(engine.submit(report), str)
        assert_type(engine.submit({"id": "k"}, key="k", source={"file": "a.xml"}), str)
        assert_type(engine.submit_many([("k2", {"id": "k2"}, None)]), list[str])
        assert_type(engine.wait_idle(30.0, include_backoff=False), bool)
        assert_type(engine.counts(), dict[str, int])
        sub = engine.submission("k")
        assert_type(sub, journal.Submission | None)
        if sub is not None:
            assert_type(sub.state, journal.State)
            assert_type(sub.attempts, int)
        assert_type(engine.history("k"), list[journal.Event])
        assert_type(engine.history("k")[0].data, dict[str, Any])  # JSON
        snapshot = engine.status()
        assert_type(snapshot, StatusSnapshot)
        assert_type(snapshot["health"], str)
        assert_type(snapshot["counts"], dict[str, int])
        assert_type(snapshot["oldest_pending_age_s"], float | None)
        assert_type(engine.requeue_failed(), list[str])
        assert_type(engine.connection_state, str)
        assert_type(engine.health_address, tuple[str, int] | None)
        missing = engine.status()["no_such_key"]  # type: ignore[typeddict-item]
        state = sub.state  # type: ignore[union-attr]
        print(missing, state)
        engine.submit(report, key=3)  # type: ignore[arg-type]
    SyncEngine("https://x.wats.com")  # type: ignore[arg-type]


def read_stopped(path: Path) -> None:
    stored = read_status(path, path)
    assert_type(stored, StoredStatus)
    assert_type(stored["health"], str)
    assert_type(stored.get("pid"), int | None)
    stored["no_such_key"]  # type: ignore[typeddict-item]


def catch(engine: SyncEngine) -> str | None:
    try:
        engine.submit({"id": "k"})
    except EngineJournalError as exc:
        assert_type(exc, EngineJournalError)
        return str(exc)
    except SyncEngineError as exc:
        return str(exc)
    return None


def on_success(sender: object, **kwargs: object) -> None:
    print(kwargs["key"])


def subscribe() -> None:
    signals.upload_succeeded.connect(on_success)


def use_journal(path: Path) -> None:
    with journal.Journal(path, synchronous="NORMAL", busy_timeout_s=5.0) as j:
        assert_type(j.submit("k", {"id": "k"}), journal.Submission)
        assert_type(j.counts(), dict[str, int])
        assert_type(j.due(0.0, 10), list[journal.Submission])
        assert_type(j.history("k"), list[journal.Event])
        assert_type(j.next_due_at(), float | None)
        j.upload_started(["k"])
        answer: journal.AckAnswer = {
            "report_id": "k",
            "latency_s": 0.04,
            "status_code": 200,
            "correlation_id": None,
        }
        j.acknowledged("k", answer=answer)
        j.acknowledged("k", answer={"id": "k", "latency_ms": 41})  # type: ignore[typeddict-item, typeddict-unknown-key]
        j.submit("k", "not a dict")  # type: ignore[arg-type]


def use_client(data: dict[str, object]) -> None:
    with pywats.Client("https://x.wats.com", "token") as client:
        assert_type(client, pywats.Client)
        assert_type(client.app.version(), str)
        result = client.reports.submit(data, idempotency_key="k")
        assert_type(result, pywats.SubmitResult)
        assert_type(result.status_code, int)
        assert_type(result.correlation_id, str | None)
    report = pywats.parse_report(data)
    assert_type(report, pywats.UUTReport | pywats.UURReport)
    assert_type(report.to_wsjf(), dict[str, Any])  # JSON
