"""A power cut in the middle of an unsynced WAL write must not make the journal refuse to open.

Found by tools.powercut (``python -m tools.powercut --cuts 500 --seed 11``): after the last
fsynced commit (frame n), the next transaction's frames n+1.. are still in the page cache; the
power cut writes back frame n+2 but not n+1. The wal-index (``-shm``) written back with it says
only n frames are committed, so SQLite's recovery (stop at the first bad frame) loses nothing
that was promised. ``journal._walcheck.scan_wal`` used to raise CorruptJournalError here, so
the station could not restart until someone recovered the file by hand; it now trusts the
wal-index's committed count for frames beyond it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from journal import Journal

_WAL_HEADER = 32


def _report(i: int) -> dict[str, object]:
    return {"id": f"k{i}", "type": "T", "serialNumber": f"SN{i}", "blob": "x" * 3000}


@pytest.fixture
def torn_tail_image(tmp_path: Path) -> tuple[Path, list[str]]:
    """A journal image whose WAL ends in a committed prefix plus a half-written transaction."""
    live = tmp_path / "live"
    live.mkdir()
    path = live / "journal.db"
    keys = [f"k{i}" for i in range(20)]
    image = tmp_path / "image"
    image.mkdir()
    j = Journal(path)
    try:
        for i, key in enumerate(keys):
            j.submit(key, _report(i))
        # What is durable and indexed now: copy it (the station is idle, nothing in flight).
        for suffix in ("", "-wal", "-shm"):
            shutil.copyfile(f"{path}{suffix}", image / f"journal.db{suffix}")
        committed_wal = (image / "journal.db-wal").read_bytes()
        j.submit("k-unreturned", _report(999))  # its submit() "never returned": power cut
        later_wal = Path(f"{path}-wal").read_bytes()
    finally:
        j.close()
    page = int.from_bytes(committed_wal[8:12], "big")
    frame = 24 + page
    first_new = len(committed_wal)
    assert len(later_wal) >= first_new + 2 * frame, "the extra transaction spans >= 2 frames"
    # Frame n+1 was torn (only its first sector reached the disk); frames n+2.. were written
    # back whole (the page cache writes dirty pages in any order).
    torn = (
        later_wal[:first_new]
        + later_wal[first_new : first_new + 512]
        + b"\0" * (frame - 512)
        + later_wal[first_new + frame :]
    )
    (image / "journal.db-wal").write_bytes(torn)
    return image / "journal.db", keys


def test_journal_opens_after_power_cut_tore_an_uncommitted_wal_tail(
    torn_tail_image: tuple[Path, list[str]],
) -> None:
    path, keys = torn_tail_image
    with Journal(path) as j:
        assert j.verify().ok
        assert all(j.submission(k) is not None for k in keys)
