"""Damage to the files themselves, on copies: truncation, flipped bytes in the database and in
the WAL, deleted -wal / -shm files. Each is detected (a clear CorruptJournalError naming the
file, or a failing verify()) or recovered without loss; never a crash or a silent loss."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from journal import CorruptJournalError, Journal

from .conftest import report

KEYS = [f"key-{i:03d}" for i in range(60)]


def write_all(j: Journal) -> None:
    for i, key in enumerate(KEYS):
        j.submit(key, report(i, size=300) | {"marker": f"MARK{i:03d}"})


def opens_and_is_whole(path: Path) -> bool:
    """True if the journal opens, verifies, matches its rebuild and holds every key; False if
    damage is reported."""
    try:
        with Journal(path) as j:
            if not j.verify().ok or not j.check().ok:
                return False
            missing = [k for k in KEYS if j.state(k) is None]
            assert not missing, f"silent loss of {missing[:5]}"
            return True
    except CorruptJournalError:
        return False


@pytest.fixture
def crash_image(tmp_path: Path) -> Iterator[Path]:
    """A copy of database + WAL + shm taken while the writer still has them open (= a crash)."""
    live = tmp_path / "live" / "j.db"
    live.parent.mkdir()
    copy = tmp_path / "copy" / "j.db"
    copy.parent.mkdir()
    with Journal(live) as j:
        j._store.conn.execute("PRAGMA wal_autocheckpoint = 0")  # keep every frame in the WAL
        write_all(j)
        for suffix in ("", "-wal", "-shm"):
            shutil.copyfile(f"{live}{suffix}", f"{copy}{suffix}")
    yield copy


@pytest.fixture
def closed(tmp_path: Path) -> Path:
    path = tmp_path / "closed.db"
    with Journal(path) as j:
        write_all(j)
    assert not Path(f"{path}-wal").exists()
    return path


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x40
    path.write_bytes(bytes(data))


def test_crash_image_opens_with_everything(crash_image: Path) -> None:
    assert Path(f"{crash_image}-wal").stat().st_size > 0
    assert opens_and_is_whole(crash_image)


def test_truncated_database_is_detected(closed: Path) -> None:
    size = closed.stat().st_size
    with open(closed, "r+b") as f:
        f.truncate(size // 2)
    assert not opens_and_is_whole(closed)


def test_flipped_byte_in_event_data_is_reported_with_its_key(closed: Path) -> None:
    offset = closed.read_bytes().index(b"MARK017")
    flip(closed, offset + 5)
    with Journal(closed) as j:
        result = j.verify()
    assert not result.ok and result.first_bad_key == "key-017"


def test_payload_that_no_longer_matches_its_digest_is_flagged_not_parsed(closed: Path) -> None:
    offset = closed.read_bytes().index(b"MARK017")
    flip(closed, offset + 5)  # "MARK017" -> "MARKp17": still valid JSON, different bytes
    with Journal(closed) as j:
        rotten = j.submission("key-017")
        intact = j.submission("key-018")
        due = {s.key: s.payload_intact for s in j.due(float("inf"), 100)}
    assert rotten is not None and not rotten.payload_intact and rotten.payload == {}
    assert intact is not None and intact.payload_intact and intact.payload["marker"] == "MARK018"
    assert due["key-017"] is False and due["key-018"] is True


def test_payload_rotted_into_invalid_utf8_is_flagged_and_reported_not_fatal(
    closed: Path,
) -> None:
    data = bytearray(closed.read_bytes())
    data[data.index(b"MARK017") + 5] = 0xFF  # no longer UTF-8: SQLite cannot decode it as text
    closed.write_bytes(bytes(data))
    with Journal(closed) as j:
        due = {s.key: s.payload_intact for s in j.due(float("inf"), 100, parse_payloads=False)}
        result = j.verify()
    assert due["key-017"] is False and due["key-018"] is True and len(due) == len(KEYS)
    assert not result.ok and result.first_bad_key == "key-017"


def test_event_data_rotted_into_invalid_utf8_leaves_the_queue_readable(closed: Path) -> None:
    with Journal(closed) as j:
        before = {s.key for s in j.due(float("inf"), 100)}
    data = bytearray(closed.read_bytes())
    marker = b'"payload_sha256":"'  # in each Submitted event's data, not in the report body
    data[data.index(marker) + len(marker)] = 0xFF
    closed.write_bytes(bytes(data))
    with Journal(closed, check_on_open=False) as j:
        due = {s.key for s in j.due(float("inf"), 100, parse_payloads=False)}
        result = j.verify()
    assert due == before and not result.ok


def test_flipped_header_byte_is_refused_at_open_naming_the_file(closed: Path) -> None:
    flip(closed, 3)
    with pytest.raises(CorruptJournalError, match=r"closed\.db"):
        Journal(closed)


def test_flipped_byte_in_early_wal_frame_is_refused_not_dropped(crash_image: Path) -> None:
    wal = Path(f"{crash_image}-wal")
    flip(wal, 32 + 24 + 100)  # page data of frame 1; many committed frames follow
    with pytest.raises(CorruptJournalError, match="WAL frame 1") as info:
        Journal(crash_image)
    assert info.value.path == wal


def test_flipped_byte_in_last_wal_frame_is_caught_by_the_index(crash_image: Path) -> None:
    wal = Path(f"{crash_image}-wal")
    flip(wal, wal.stat().st_size - 100)
    with pytest.raises(CorruptJournalError, match="frames verify"):
        Journal(crash_image)


def test_refusal_is_stable_and_changes_no_file(crash_image: Path) -> None:
    wal = Path(f"{crash_image}-wal")
    flip(wal, 32 + 24 + 100)
    before = [Path(f"{crash_image}{s}").read_bytes() for s in ("", "-wal", "-shm")]
    for _ in range(3):
        with pytest.raises(CorruptJournalError):
            Journal(crash_image)
    assert [Path(f"{crash_image}{s}").read_bytes() for s in ("", "-wal", "-shm")] == before


def test_deleted_shm_is_recovered_from_the_wal(crash_image: Path) -> None:
    Path(f"{crash_image}-shm").unlink()
    assert opens_and_is_whole(crash_image)


def test_deleted_wal_with_surviving_index_is_refused(crash_image: Path) -> None:
    Path(f"{crash_image}-wal").unlink()
    with pytest.raises(CorruptJournalError, match="WAL is missing"):
        Journal(crash_image)


def test_truncated_wal_is_refused(crash_image: Path) -> None:
    wal = Path(f"{crash_image}-wal")
    with open(wal, "r+b") as f:
        f.truncate(wal.stat().st_size // 2)
    with pytest.raises(CorruptJournalError, match="frames verify"):
        Journal(crash_image)


def test_deleted_wal_and_shm_after_clean_close_lose_nothing(closed: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(f"{closed}{suffix}").unlink(missing_ok=True)
    assert opens_and_is_whole(closed)


@pytest.mark.parametrize("seed", range(12))
def test_random_byte_flips_are_detected_or_harmless(closed: Path, seed: int) -> None:
    import random

    rng = random.Random(seed)
    size = closed.stat().st_size
    for _ in range(3):
        flip(closed, rng.randrange(100, size))
    opens_and_is_whole(closed)  # asserts no silent loss when nothing is reported
