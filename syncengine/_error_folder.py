"""The error folder: safe names for set-aside files and their notes, and a watch over them.

A file that could not be converted is moved to the folder's ``error_dir`` with a note (the
*sidecar*, ``<name>.error.txt``) saying why. Two things can go wrong there, and this module
handles both:

* **Long names.** A file system allows 255 bytes per name. A 250-byte report name fits, but its
  note (``+ .error.txt``) or a de-duplicated ``name.1.ext`` does not. :func:`fit_name` shortens
  such a name to ``<start of the stem>~<10 hex of its SHA-256><suffix>``; the note always keeps
  the original full path, so the scheme is reversible by reading the note.
* **Files that change after they were set aside.** A station that kept the file open and
  finished writing it after the move leaves a now valid report in ``error/``. The note records
  the size, mtime and SHA-256 of what was condemned; :class:`ErrorFolderWatch` notices a file
  whose size or mtime differs (stable across two looks) and hands it back to the watcher, which
  moves it to the inbox to be converted again. An operator who fixes a file in place gets the
  same treatment; moving a file back into the watch folder by hand works as well.

:class:`ErrorFolderWatch` also counts what sits in the error folders (how many, since when) for
the engine's health, status and metrics.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

SIDECAR_SUFFIX = ".error.txt"
NAME_MAX = 255
"""Bytes per file name on ext4, XFS, APFS, NTFS (255 UTF-16 units; UTF-8 bytes never fewer)."""
_TMP_SUFFIX = ".tmp"
_HASH_HEX = 10


def _nbytes(text: str) -> int:
    return len(text.encode("utf-8", "surrogateescape"))


def _cut(text: str, limit: int) -> str:
    """The longest prefix of ``text`` of at most ``limit`` UTF-8 bytes (whole characters)."""
    out = text
    while _nbytes(out) > limit:
        out = out[: max(0, len(out) - max(1, (_nbytes(out) - limit) // 4))]
    return out


def fit_name(name: str, limit: int = NAME_MAX) -> str:
    """``name`` itself if it fits in ``limit`` bytes, else a shortened, unique, stable form.

    The short form keeps the start of the stem and the suffix (when the suffix is short) and
    adds ``~`` and 10 hex digits of the SHA-256 of the full name, so different long names stay
    different and the same name always gives the same short name.
    """
    if _nbytes(name) <= limit:
        return name
    tag = "~" + hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:_HASH_HEX]
    stem, dot, ext = name.rpartition(".")
    suffix = f".{ext}" if dot and stem and _nbytes(ext) <= 16 else ""
    if not suffix:
        stem = name
    room = limit - _nbytes(tag) - _nbytes(suffix)
    return _cut(stem, max(0, room)) + tag + suffix


def sidecar_for(moved: Path) -> Path:
    """The note next to ``moved``: ``<name>.error.txt``, shortened when that is too long.

    Room is kept for the ``.tmp`` the note is first written as.
    """
    limit = NAME_MAX - _nbytes(_TMP_SUFFIX)
    full = moved.name + SIDECAR_SUFFIX
    if _nbytes(full) <= limit:
        return moved.with_name(full)
    return moved.with_name(fit_name(moved.name, limit - _nbytes(SIDECAR_SUFFIX)) + SIDECAR_SUFFIX)


def _printable(text: str) -> str:
    # File names may hold newlines or control characters; never let them forge note lines.
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@dataclass(frozen=True)
class Condemned:
    """What was set aside: the file as it was when it was judged (for the change check)."""

    size: int
    mtime_ns: int
    sha256: str | None


def write_sidecar(
    original: Path,
    moved_to: Path,
    converter: str | None,
    kind: str,
    reason: str,
    details: str = "",
    condemned: Condemned | None = None,
) -> Path:
    """Write the note for a file moved to the error folder (atomically); return its path."""
    when = datetime.now(timezone.utc).isoformat(timespec="seconds")
    lines = [
        "wats-sync could not convert this file; nothing from it was submitted.",
        f"file:      {_printable(str(original))}",
        f"moved to:  {_printable(moved_to.name)}",
        f"converter: {converter or '(none selected)'}",
        f"failure:   {kind}",
        f"reason:    {_printable(reason)}",
        f"when:      {when}",
    ]
    if condemned is not None:
        lines += [f"size:      {condemned.size}", f"mtime_ns:  {condemned.mtime_ns}"]
        if condemned.sha256:
            lines.append(f"sha256:    {condemned.sha256}")
    lines += [
        "to retry:  fix the file here (it is looked at again when it changes), or move it back",
        "           into the watch folder",
    ]
    if details:
        lines += ["", "details:", details]
    sidecar = sidecar_for(moved_to)
    from journal import write_atomic

    tmp = sidecar.with_name(sidecar.name + _TMP_SUFFIX)
    write_atomic(sidecar, ("\n".join(lines) + "\n").encode("utf-8"), tmp=tmp)
    return sidecar


def read_note(sidecar: Path) -> dict[str, str]:
    """The ``name: value`` lines of a note (``file``, ``reason``, ``when``...); {} if unreadable."""
    try:
        text = sidecar.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if line == "":
            break  # the free-text details follow
        name, sep, value = line.partition(":")
        if sep:
            fields.setdefault(name.strip(), value.strip())
    return fields


def read_condemned(sidecar: Path) -> Condemned | None:
    """The size and mtime a note recorded, or None (older notes, unreadable, no such note)."""
    fields = read_note(sidecar)
    try:
        return Condemned(int(fields["size"]), int(fields["mtime_ns"]), fields.get("sha256"))
    except (KeyError, ValueError):
        return None


_DESKTOP_FILES = ("thumbs.db", "desktop.ini")


def _not_ours(name: str) -> bool:
    # Hidden files and what file browsers leave behind (.DS_Store, Thumbs.db) are no report.
    return name.startswith((".", "~")) or name.lower() in _DESKTOP_FILES


@dataclass(frozen=True)
class ErrorFolderSummary:
    """How many files sit in the error folders, since when (oldest note or file time), and
    the newest note (its path, for the reason it gives)."""

    count: int
    oldest_at: float | None
    folders: dict[str, int]
    newest_note: str | None = None

    def as_dict(self) -> dict[str, object]:
        """The JSON shape in the status snapshot (``error_files``)."""
        return {
            "count": self.count,
            "oldest_at": self.oldest_at,
            "folders": dict(self.folders),
            "newest_note": self.newest_note,
        }


@dataclass
class _Seen:
    baseline: tuple[int, int]
    last: tuple[int, int]


class ErrorFolderWatch:
    """Counts error-folder files and finds the ones that changed since they were set aside.

    ``look()`` lists each folder once; a file whose (size, mtime) differs from the one its
    note recorded -- or, for files without such a note, from the one first seen -- and has not
    changed between two looks is returned, once, to be converted again.
    """

    def __init__(self, folders: list[Path]) -> None:
        unique: dict[Path, Path] = {}
        for folder in folders:
            unique.setdefault(folder.resolve(), folder)
        self._folders = list(unique.values())
        self._seen: dict[Path, _Seen] = {}
        self.summary = ErrorFolderSummary(0, None, {})

    def look(self) -> list[Path]:
        """One pass over the folders: refresh ``summary``; return changed, stable files."""
        changed: list[Path] = []
        present: set[Path] = set()
        count, oldest, per_folder = 0, None, {}
        newest: tuple[float, Path] | None = None
        for folder in self._folders:
            n = 0
            try:
                entries = list(os.scandir(folder))
            except OSError:
                per_folder[str(folder)] = 0
                continue
            for entry in entries:
                name = entry.name
                if name.endswith((SIDECAR_SUFFIX, SIDECAR_SUFFIX + _TMP_SUFFIX)) or _not_ours(name):
                    continue
                try:
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                path = Path(entry.path)
                present.add(path)
                n += 1
                sidecar = sidecar_for(path)
                try:
                    since = sidecar.stat().st_mtime
                except OSError:
                    since = st.st_mtime
                else:
                    if newest is None or since > newest[0]:
                        newest = (since, sidecar)
                oldest = since if oldest is None else min(oldest, since)
                if self._changed(path, sidecar, (st.st_size, st.st_mtime_ns)):
                    changed.append(path)
            per_folder[str(folder)] = n
            count += n
        for gone in set(self._seen) - present:
            del self._seen[gone]
        note = None if newest is None else str(newest[1])
        self.summary = ErrorFolderSummary(count, oldest, per_folder, note)
        return changed

    def _changed(self, path: Path, sidecar: Path, signature: tuple[int, int]) -> bool:
        seen = self._seen.get(path)
        if seen is None:
            recorded = read_condemned(sidecar)
            baseline = signature if recorded is None else (recorded.size, recorded.mtime_ns)
            self._seen[path] = _Seen(baseline, signature)
            return False
        if signature != seen.last:
            seen.last = signature
            return False
        if signature == seen.baseline:
            return False
        del self._seen[path]
        return True

    def forget(self, path: Path) -> None:
        """Stop tracking ``path`` (it was moved away)."""
        self._seen.pop(path, None)
