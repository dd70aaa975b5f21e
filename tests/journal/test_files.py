"""The shared file helpers: one file digest, one directory fsync with one error policy."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

from journal import file_sha256, fsync_dir, write_atomic

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="directory fsync is POSIX")


def test_file_sha256_is_the_digest_and_size_of_the_whole_file(tmp_path: Path) -> None:
    data = os.urandom(3 * (1 << 20) + 17)  # spans several read chunks and a partial one
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    assert file_sha256(path) == (hashlib.sha256(data).hexdigest(), len(data))


def test_file_sha256_of_an_empty_file(tmp_path: Path) -> None:
    (tmp_path / "e").write_bytes(b"")
    assert file_sha256(tmp_path / "e") == (hashlib.sha256(b"").hexdigest(), 0)


def test_file_sha256_of_a_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        file_sha256(tmp_path / "missing")


@posix_only
def test_fsync_dir_syncs_an_ordinary_directory(tmp_path: Path) -> None:
    assert fsync_dir(tmp_path) is True


@posix_only
def test_fsync_dir_of_a_missing_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        fsync_dir(tmp_path / "missing")


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux procfs")
def test_fsync_dir_tolerates_a_file_system_that_cannot_sync_directories() -> None:
    # procfs answers fsync on a directory with EINVAL, like some network and FUSE mounts.
    assert fsync_dir("/proc/self") is False


@pytest.mark.skipif(sys.platform != "win32", reason="Windows only")
def test_fsync_dir_is_a_no_op_on_windows(tmp_path: Path) -> None:
    assert fsync_dir(tmp_path) is False


def test_write_atomic_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "status.json"
    target.write_text("old")
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["status.json"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_write_atomic_gives_the_mode_asked_for_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        write_atomic(tmp_path / "a.prom", b"x", mode=0o644)
        write_atomic(tmp_path / "b.prom", b"x", tmp=tmp_path / "b.prom.1.2", mode=0o644)
    finally:
        os.umask(old)
    assert {(tmp_path / n).stat().st_mode & 0o777 for n in ("a.prom", "b.prom")} == {0o644}


def test_a_failed_write_atomic_keeps_the_old_file_and_removes_its_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The disk fails at the fsync (EIO, ENOSPC): a reader must still find the old, whole file.
    target = tmp_path / "wats_sync.prom"
    target.write_bytes(b"old, whole")

    def failing_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    for tmp in (None, tmp_path / "wats_sync.prom.77.1"):
        with pytest.raises(OSError, match="Input/output error"):
            write_atomic(target, b"new", tmp=tmp)
        assert target.read_bytes() == b"old, whole"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["wats_sync.prom"]
