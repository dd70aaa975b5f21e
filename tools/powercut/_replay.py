"""Rebuild the disk image a power cut would have left, from an interposer log.

The log (see ``interpose.c``) lists, in the order they took effect, every open, write,
truncate, fsync/fdatasync, close, unlink, rename, link, mkdir and rmdir a process made under
the watched directory. A power cut keeps:

* per file (inode): its content at the start of the run, every write and truncate up to its
  last fsync, and then a random subset of the later, unsynced ones, each possibly torn (only a
  sector-aligned prefix of it reached the disk). The subset models the page cache writing back
  dirty pages in any order; the tear models a write that was in progress.
* per namespace (the directory entries): every create, unlink, rename, mkdir and rmdir made
  durable, plus a random part of the rest. What "durable" means is the ``dir_model``:
  ``"ext4"`` (journaled metadata, data=ordered: an fsync of *any* file commits every earlier
  metadata change, and the unsynced tail is lost as a prefix, in order) or ``"strict"`` (POSIX:
  only an fsync of the parent directory makes an entry durable; each unsynced change survives
  or not independently).

Content that was never written under the log (a file moved into the tree from outside) is read
from the real file at replay time; the harness does not do that in its own workloads.
"""

from __future__ import annotations

import random
import shutil
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

OP_OPEN, OP_WRITE, OP_TRUNC, OP_SYNC, OP_CLOSE = 1, 2, 3, 4, 5
OP_UNLINK, OP_RENAME, OP_MKDIR, OP_RMDIR, OP_LINK = 6, 7, 8, 9, 10
_CREATED = 1 << 30
_O_TRUNC = 0o1000
_O_DIRECTORY = 0o200000
_HEADER = struct.Struct("<B3xiiiqqII")
SECTOR = 512

DirModel = Literal["ext4", "strict"]


@dataclass(frozen=True)
class Record:
    """One logged call."""

    op: int
    pid: int
    fd: int
    flags: int
    off: int
    length: int
    path: str
    path2: str
    data: bytes


def read_log(path: Path) -> list[Record]:
    """Parse an interposer log; a record cut short by the kill is dropped (it never returned)."""
    raw = path.read_bytes() if path.exists() else b""
    out: list[Record] = []
    pos = 0
    while pos + _HEADER.size <= len(raw):
        op, pid, fd, flags, off, length, plen, p2len = _HEADER.unpack_from(raw, pos)
        start = pos + _HEADER.size
        dlen = length if op == OP_WRITE else 0
        end = start + plen + p2len + dlen
        if end > len(raw):
            break
        p = raw[start : start + plen].decode("utf-8", "surrogateescape")
        p2 = raw[start + plen : start + plen + p2len].decode("utf-8", "surrogateescape")
        data = raw[start + plen + p2len : end]
        out.append(Record(op, pid, fd, flags, off, length, p, p2, data))
        pos = end
    return out


@dataclass
class _Inode:
    base: bytes
    ops: list[tuple[str, int, bytes]] = field(default_factory=list)
    synced: int = 0


@dataclass
class _Meta:
    kind: str  # create | unlink | rename | link | mkdir | rmdir
    path: str
    path2: str = ""
    inode: int = -1
    durable: bool = False


@dataclass
class Snapshot:
    """The tree's files and directories at the start of a run (relative paths)."""

    files: dict[str, bytes]
    dirs: set[str]

    @classmethod
    def take(cls, root: Path) -> Snapshot:
        """Read every file and directory under ``root``."""
        files: dict[str, bytes] = {}
        dirs: set[str] = set()
        for p in sorted(root.rglob("*")):
            rel = p.relative_to(root).as_posix()
            if p.is_dir():
                dirs.add(rel)
            elif p.is_file():
                files[rel] = p.read_bytes()
        return cls(files, dirs)


@dataclass
class CutStats:
    """What one reconstruction kept and dropped (for the figures)."""

    records: int = 0
    unsynced_ops: int = 0
    kept_unsynced: int = 0
    torn: int = 0
    meta_unsynced: int = 0
    meta_kept: int = 0


class _Model:
    def __init__(self, root: Path, snap: Snapshot, dir_model: DirModel) -> None:
        self.root = str(root)
        self.dir_model = dir_model
        self.inodes: list[_Inode] = []
        self.start_ns: dict[str, int] = {}
        self.live: dict[str, int] = {}
        self.dirs: set[str] = {""} | set(snap.dirs)
        self.start_dirs = set(self.dirs)
        self.fds: dict[tuple[int, int], int | str] = {}
        self.meta: list[_Meta] = []
        for rel, content in snap.files.items():
            self.start_ns[rel] = self.live[rel] = self._new_inode(content)

    def _new_inode(self, content: bytes) -> int:
        self.inodes.append(_Inode(content))
        return len(self.inodes) - 1

    def rel(self, path: str) -> str:
        if path == self.root:
            return ""
        return path[len(self.root) + 1 :]

    def apply(self, r: Record) -> None:
        handler = {
            OP_OPEN: self._open,
            OP_WRITE: self._data,
            OP_TRUNC: self._data,
            OP_SYNC: self._sync,
            OP_CLOSE: self._close,
            OP_UNLINK: self._unlink,
            OP_RENAME: self._rename,
            OP_MKDIR: self._mkdir,
            OP_RMDIR: self._rmdir,
            OP_LINK: self._link,
        }[r.op]
        handler(r)

    def _open(self, r: Record) -> None:
        rel = self.rel(r.path)
        if rel in self.dirs or r.flags & _O_DIRECTORY:
            if r.fd >= 0:
                self.fds[(r.pid, r.fd)] = rel
            return
        if r.fd < 0 or (r.flags & _CREATED) or rel not in self.live:
            # a new file (or one moved in from outside the tree: its content is on disk now)
            content = b""
            if r.fd < 0:
                real = Path(self.root) / rel
                content = real.read_bytes() if real.is_file() else b""
            ino = self._new_inode(content)
            self.live[rel] = ino
            self.meta.append(_Meta("create", rel, inode=ino))
        ino = self.live[rel]
        if r.fd >= 0:
            self.fds[(r.pid, r.fd)] = ino
            if r.flags & _O_TRUNC:
                self.inodes[ino].ops.append(("t", 0, b""))

    def _target(self, r: Record) -> int | str | None:
        return self.fds.get((r.pid, r.fd))

    def _data(self, r: Record) -> None:
        ino = self._target(r)
        if not isinstance(ino, int):
            return
        if r.op == OP_WRITE:
            self.inodes[ino].ops.append(("w", r.off, r.data))
        else:
            self.inodes[ino].ops.append(("t", r.length, b""))

    def _sync(self, r: Record) -> None:
        target = self._target(r)
        if isinstance(target, int):
            node = self.inodes[target]
            node.synced = len(node.ops)
            if self.dir_model == "ext4":
                self._commit_meta(None)
        elif isinstance(target, str):
            self._commit_meta(target)

    def _commit_meta(self, directory: str | None) -> None:
        for m in self.meta:
            if (
                directory is None
                or _parent(m.path) == directory
                or (m.kind == "rename" and _parent(m.path2) == directory)
            ):
                m.durable = True

    def _close(self, r: Record) -> None:
        self.fds.pop((r.pid, r.fd), None)

    def _unlink(self, r: Record) -> None:
        rel = self.rel(r.path)
        self.live.pop(rel, None)
        self.meta.append(_Meta("unlink", rel))

    def _rename(self, r: Record) -> None:
        a, b = self.rel(r.path), self.rel(r.path2)
        if a in self.live:
            self.live[b] = self.live.pop(a)
        self.meta.append(_Meta("rename", a, b))

    def _link(self, r: Record) -> None:
        a, b = self.rel(r.path), self.rel(r.path2)
        if a in self.live:
            self.live[b] = self.live[a]
        self.meta.append(_Meta("link", a, b))

    def _mkdir(self, r: Record) -> None:
        rel = self.rel(r.path)
        self.dirs.add(rel)
        self.meta.append(_Meta("mkdir", rel))

    def _rmdir(self, r: Record) -> None:
        rel = self.rel(r.path)
        self.dirs.discard(rel)
        self.meta.append(_Meta("rmdir", rel))


def _parent(rel: str) -> str:
    return rel.rsplit("/", 1)[0] if "/" in rel else ""


def _materialise(
    node: _Inode, rng: random.Random, keep_p: float, tear_p: float, st: CutStats
) -> bytes:
    buf = bytearray(node.base)

    def put(kind: str, off: int, data: bytes) -> None:
        if kind == "t":
            del buf[off:]
            buf.extend(b"\0" * (off - len(buf)))
            return
        if len(buf) < off:
            buf.extend(b"\0" * (off - len(buf)))
        buf[off : off + len(data)] = data

    for kind, off, data in node.ops[: node.synced]:
        put(kind, off, data)
    for kind, off, data in node.ops[node.synced :]:
        st.unsynced_ops += 1
        if rng.random() >= keep_p:
            continue
        st.kept_unsynced += 1
        if kind == "w" and len(data) > SECTOR and rng.random() < tear_p:
            sectors = (len(data) - 1) // SECTOR
            data = data[: SECTOR * rng.randint(0, sectors)]
            st.torn += 1
        put(kind, off, data)
    return bytes(buf)


def reconstruct(
    root: Path,
    snap: Snapshot,
    records: list[Record],
    rng: random.Random,
    *,
    dir_model: DirModel = "ext4",
    mapped: dict[str, bytes] | None = None,
) -> tuple[Snapshot, CutStats]:
    """The tree a power cut at the end of ``records`` could have left (one random outcome).

    ``mapped`` holds the real content, at kill time, of files the process changed through
    ``mmap`` (SQLite's ``-shm`` wal-index), which the log cannot see: each such file is, at
    random, either written back whole (that content) or not at all (what the log rebuilds).
    """
    model = _Model(root, snap, dir_model)
    for r in records:
        model.apply(r)
    st = CutStats(records=len(records))
    # Each cut draws its own severity: lose all unsynced data, keep all of it, or anything between.
    keep_p = rng.choice((0.0, 1.0, rng.random(), rng.random()))
    tear_p = rng.choice((0.0, 0.3, 1.0))
    ns = dict(model.start_ns)
    dirs = set(model.start_dirs)
    pending = [m for m in model.meta if not m.durable]
    st.meta_unsynced = len(pending)
    if dir_model == "ext4":
        cut = rng.randint(0, len(pending))
        chosen = {id(m) for m in pending[:cut]}
    else:
        chosen = {id(m) for m in pending if rng.random() < 0.5}
    st.meta_kept = len(chosen)
    for m in model.meta:
        if not (m.durable or id(m) in chosen):
            continue
        if m.kind == "create":
            ns[m.path] = m.inode
        elif m.kind == "unlink":
            ns.pop(m.path, None)
        elif m.kind == "rename":
            if m.path in ns:
                ns[m.path2] = ns.pop(m.path)
        elif m.kind == "link":
            if m.path in ns:
                ns[m.path2] = ns[m.path]
        elif m.kind == "mkdir":
            dirs.add(m.path)
        elif m.kind == "rmdir":
            dirs.discard(m.path)
    files = {
        rel: _materialise(model.inodes[ino], rng, keep_p, tear_p, st) for rel, ino in ns.items()
    }
    for rel, content in (mapped or {}).items():
        if rel in files and rng.random() < 0.5:
            files[rel] = content
    # A file whose directory did not survive is unreachable after the cut.
    files = {rel: c for rel, c in files.items() if _parent(rel) == "" or _parent(rel) in dirs}
    return Snapshot(files, dirs), st


def write_image(root: Path, image: Snapshot) -> None:
    """Replace the contents of ``root`` with ``image``."""
    for child in root.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    for rel in sorted(image.dirs, key=len):
        if rel:
            (root / rel).mkdir(parents=True, exist_ok=True)
    for rel, content in image.files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
