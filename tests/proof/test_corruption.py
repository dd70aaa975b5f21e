"""Corruption: random bit flips and truncations of a real journal are detected, never silent.

See ``tools/torture/_corruption.py`` for how each damaged copy is classified. ``harmless`` means
the copy reads back identical to the original through every access path (so there was nothing
to detect); ``UNDETECTED`` (reads back different, yet opens, verifies and checks clean) and
``crash`` (a foreign exception escaped the journal's error seam) must never happen.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from syncengine import EngineConfig, SyncEngine
from tools.torture._corruption import JOURNAL_NAME, build_pristine, sweep
from tools.torture._reports import report_id
from watsim import Simulator

ROOT = Path(__file__).resolve().parents[2]


def test_random_flips_and_truncations_are_all_detected_or_provably_harmless(
    tmp_path: Path, scale: int
) -> None:
    result = sweep(tmp_path, trials=120 * scale, seed=2026)
    assert result.trials == 120 * scale
    assert result.bad == []
    detected = sum(n for k, n in result.outcomes.items() if k.startswith("detected"))
    assert detected > result.trials // 2, result.outcomes


def _rot(tmp_path: Path, damage: Callable[[bytearray, int], None]) -> tuple[Path, str, str]:
    """A checkpointed journal with one payload byte rotted; returns (path, bad key, good key)."""
    pristine = build_pristine(tmp_path, checkpointed=50, recent=0)
    path = pristine / JOURNAL_NAME
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    raw = bytearray(path.read_bytes())
    # The serial number also stands in the report index; rot the payload's own copy.
    marker = b'"sn":"TORTURE-CORRUPT-0000017"'
    at = raw.find(marker)
    assert at > 0, "the payload text is stored in the clear"
    damage(raw, at + len(b'"sn":"') + 16)
    path.write_bytes(bytes(raw))
    return path, report_id("corrupt", 17), report_id("corrupt", 3)


def _flip_bit(raw: bytearray, at: int) -> None:
    raw[at] ^= 0x01  # ...-0000017 -> ...-1000017 (one bit, still valid text)


def _not_utf8(raw: bytearray, at: int) -> None:
    raw[at] = 0xFF  # no longer UTF-8: SQLite cannot hand it out as text


@pytest.fixture
def damaged_journal(tmp_path: Path) -> tuple[Path, str, str]:
    return _rot(tmp_path, _flip_bit)


@pytest.fixture(params=[_flip_bit, _not_utf8], ids=["bit-flip", "not-utf8"])
def any_damaged_journal(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Path, str, str]:
    return _rot(tmp_path, request.param)


def _cli(journal: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SYNCENGINE_JOURNAL=str(journal), PYTHONPATH=str(ROOT))
    env.pop("SYNCENGINE_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "syncengine", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(journal.parent),
        timeout=120,
    )


def test_cli_journal_verify_names_the_rotten_event_and_exits_non_zero(
    damaged_journal: tuple[Path, str, str],
) -> None:
    path, bad_key, _ = damaged_journal
    proc = _cli(path, "journal", "verify")
    assert proc.returncode != 0
    assert bad_key in proc.stdout + proc.stderr


def test_cli_still_serves_an_intact_submission_of_a_damaged_journal(
    damaged_journal: tuple[Path, str, str],
) -> None:
    path, _, good_key = damaged_journal
    proc = _cli(path, "inspect", good_key)
    assert proc.returncode == 0, proc.stderr
    assert good_key in proc.stdout


def test_damaged_payload_is_not_repaired_by_opening_and_verifying(
    damaged_journal: tuple[Path, str, str],
) -> None:
    path, _, _ = damaged_journal
    before = path.read_bytes()
    _cli(path, "journal", "verify")
    after = path.read_bytes()
    assert b"TORTURE-CORRUPT-1000017" in after
    assert after == before


@pytest.fixture
def engine_on_damaged_journal(
    any_damaged_journal: tuple[Path, str, str], sim: Simulator, sim_token: str
) -> Simulator:
    """Run the engine on the journal with one rotten (pending) payload until it is idle."""
    path, _, _ = any_damaged_journal
    config = EngineConfig(
        server_url=sim.base_url, token=sim_token, journal_path=path, idle_poll_s=0.05
    )
    engine = SyncEngine(config)
    engine.start()
    try:
        engine.wait_idle(30.0)
    finally:
        engine.stop(grace=1.0)
    return sim


def test_engine_keeps_delivering_the_intact_submissions_of_a_damaged_journal(
    engine_on_damaged_journal: Simulator,
) -> None:
    intact_pending = {report_id("corrupt", i) for i in range(50) if i % 3 == 2 and i != 17}
    assert intact_pending <= set(engine_on_damaged_journal.stats()["receive_counts"])


def test_engine_never_uploads_a_payload_that_fails_its_digest(
    engine_on_damaged_journal: Simulator,
) -> None:
    rotten = engine_on_damaged_journal.report(report_id("corrupt", 17))
    assert rotten is None or rotten.get("sn") == "TORTURE-CORRUPT-0000017"
