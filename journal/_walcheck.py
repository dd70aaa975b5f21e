"""Checks on the raw files before SQLite opens them, so that damage is reported, not absorbed.

SQLite recovers a WAL by replaying frames until the first one whose checksum fails and silently
ignores the rest; a bit flip in the middle of the WAL, or a deleted ``-wal`` next to a surviving
``-shm``, would therefore lose committed transactions without a word. These checks read the
documented on-disk formats (https://www.sqlite.org/fileformat2.html, "WAL file format" and
"wal-index format") and raise :class:`CorruptJournalError` when committed frames would be lost.

A bad frame at the very end of the WAL with no index to compare against is indistinguishable
from a torn write of an uncommitted transaction and is left to SQLite (see docs/journal.md).
"""

from __future__ import annotations

import os
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ._errors import CorruptJournalError

SQLITE_MAGIC = b"SQLite format 3\x00"
_WAL_MAGIC = (0x377F0682, 0x377F0683)
_WAL_HEADER = 32
_FRAME_HEADER = 24
_SHM_VERSION = 3007000
_MASK = 0xFFFFFFFF


@dataclass(frozen=True)
class WalScan:
    """What the WAL holds: salts, page size and how many leading frames verify."""

    salt: bytes
    page_size: int
    valid_frames: int
    last_commit_frame: int


@dataclass(frozen=True)
class ShmHeader:
    """The wal-index header fields that matter: frames indexed and frames checkpointed."""

    max_frame: int
    backfilled: int
    salt: bytes


def _checksum(data: bytes, s0: int, s1: int, big_endian: bool) -> tuple[int, int]:
    words = struct.unpack(f"{'>' if big_endian else '<'}{len(data) // 4}I", data)
    it = iter(words)
    for a, b in zip(it, it, strict=False):
        s0 = (s0 + a + s1) & _MASK
        s1 = (s1 + b + s0) & _MASK
    return s0, s1


def scan_wal(wal: Path, committed_frames: int | None = None) -> WalScan | None:
    """Verify the WAL's frames; ``None`` if it has no valid header (SQLite ignores it then).

    Raises :class:`CorruptJournalError` when a frame fails its checksum but frames after it
    (same salts, checksums chained from the stored ones) are intact: the writer finished those
    later frames, so the bad one is damage, not a torn tail. The exception is a bad frame
    beyond ``committed_frames`` (the wal-index's count, when it describes this WAL): a power
    cut can write back a later page of an unsynced transaction and tear an earlier one, and
    that transaction was never promised to anyone.
    """
    with open(wal, "rb") as f:
        header = f.read(_WAL_HEADER)
        if len(header) < _WAL_HEADER:
            return None
        magic, _version, page_size, _ckpt, _s1, _s2, c0, c1 = struct.unpack(">8I", header)
        if magic not in _WAL_MAGIC or page_size < 512 or page_size & (page_size - 1):
            return None
        big = bool(magic & 1)
        if _checksum(header[:24], 0, 0, big) != (c0, c1):
            return None
        salt = header[16:24]
        seed = (c0, c1)
        valid = last_commit = 0
        frame_no = 0
        bad_frame = 0
        while True:
            frame = f.read(_FRAME_HEADER + page_size)
            if len(frame) < _FRAME_HEADER + page_size or frame[8:16] != salt:
                break
            frame_no += 1
            _pgno, commit, f0, f1 = struct.unpack(">II8xII", frame[:_FRAME_HEADER])
            computed = _checksum(frame[:8] + frame[_FRAME_HEADER:], seed[0], seed[1], big)
            seed = (f0, f1)
            if computed != (f0, f1):
                if bad_frame == 0:
                    bad_frame = frame_no
                continue
            if bad_frame and (committed_frames is None or bad_frame <= committed_frames):
                raise CorruptJournalError(
                    wal,
                    f"WAL frame {bad_frame} fails its checksum while later frame {frame_no} is "
                    f"intact; SQLite would silently drop every transaction after frame "
                    f"{last_commit}. Keep this file; see 'Recovery' in docs/journal.md",
                )
            if bad_frame:
                continue  # an intact frame after a torn, never-committed one: not replayed
            valid = frame_no
            if commit:
                last_commit = frame_no
        return WalScan(salt, page_size, valid, last_commit)


def read_shm(shm: Path) -> ShmHeader | None:
    """The wal-index header, or ``None`` when absent, uninitialised or mid-update."""
    try:
        with open(shm, "rb") as f:
            # Only the two header copies and nBackfill (bytes 0..99): SQLite on Windows holds
            # byte-range locks from offset 120 while any connection writes, and reading them
            # would fail and skip this check.
            raw = f.read(100)
    except OSError:
        # Absent, or (Windows) locked by a live connection: nothing to compare with.
        return None
    if len(raw) < 100 or raw[:48] != raw[48:96]:
        return None
    order = "<" if sys.byteorder == "little" else ">"
    version, _unused, _change, is_init = struct.unpack(f"{order}IIIB", raw[:13])
    if version != _SHM_VERSION or not is_init:
        return None
    (max_frame,) = struct.unpack(f"{order}I", raw[16:20])
    (backfilled,) = struct.unpack(f"{order}I", raw[96:100])
    return ShmHeader(max_frame, backfilled, raw[32:40])


def precheck(path: Path, *, attempts: int = 3) -> None:
    """Check the database header, the WAL frames and the WAL against its index.

    Raises :class:`CorruptJournalError` naming the damaged file; returns quietly for a journal
    that does not exist yet or whose files are consistent. Another process may checkpoint and
    restart the WAL while we read it, so a finding is confirmed by re-reading before it is raised.
    """
    for attempt in range(attempts):
        try:
            _precheck_once(path)
            return
        except CorruptJournalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


def _precheck_once(path: Path) -> None:
    try:
        size = os.path.getsize(path)
    except FileNotFoundError:
        return
    if size > 0:
        with open(path, "rb") as f:
            magic = f.read(16)
        if magic != SQLITE_MAGIC:
            raise CorruptJournalError(path, "not an SQLite database (bad file header)")
    wal = Path(f"{path}-wal")
    shm = read_shm(Path(f"{path}-shm"))
    committed = None
    if shm is not None and wal.exists():
        with open(wal, "rb") as f:
            wal_salt = f.read(_WAL_HEADER)[16:24]
        if wal_salt == shm.salt:
            committed = shm.max_frame
    scan = scan_wal(wal, committed) if wal.exists() else None
    if shm is None or shm.max_frame <= shm.backfilled:
        return
    if scan is None:
        raise CorruptJournalError(
            wal,
            f"the WAL is missing or unreadable but its index says frames "
            f"{shm.backfilled + 1}..{shm.max_frame} hold committed transactions not yet in the "
            "database; restore the -wal file (see 'Recovery' in docs/journal.md)",
        )
    if scan.salt == shm.salt and scan.valid_frames < shm.max_frame:
        raise CorruptJournalError(
            wal,
            f"only {scan.valid_frames} WAL frames verify but {shm.max_frame} were committed; "
            "the WAL is truncated or damaged (see 'Recovery' in docs/journal.md)",
        )
