"""One station file in: convert, key, validate, commit, then archive the source file.

The order is the safety argument. Nothing touches the source file until ``submit_many`` has
returned, i.e. until every report of the file is durable in one journal transaction. A crash
after the commit and before the move leaves the file in place; converting it again yields the
same keys (they are derived from the file's SHA-256 and the report's index), and the journal's
idempotent submit returns the records it already has. A file is all or nothing: if it converts
to zero reports or any report fails the pywats models, nothing is submitted and the file goes to
the error folder with a ``<name>.error.txt`` sidecar that says which converter, what, and when.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from journal import Submission, file_sha256, fsync_dir
from pywats import ReportFieldError, parse_report

from ._config import WatchFolder
from ._error_folder import SIDECAR_SUFFIX, Condemned, fit_name, sidecar_for, write_sidecar
from ._errors import EngineStoppingError, SyncEngineError
from ._signals import conversion_failed, emit, file_converted
from .converters import Conversion, ConversionFailed, WorkerPool, WorkerUnavailableError
from .converters._loops import OPTION as LOOPS_OPTION
from .converters._loops import LoopChange
from .converters._loops import normalize_loops as rewrite_loops

log = logging.getLogger("syncengine.ingest")

KEY_NAMESPACE = uuid.UUID("5d1f0b7e-6c2a-4f0e-9a41-3b8f2c7d9e60")
"""uuid5 namespace of converted-file submission keys. Never change it: keys would change."""

__all__ = [
    "SIDECAR_SUFFIX",
    "IngestResult",
    "Ingestor",
    "build_submissions",
    "convert_file",
    "submission_key",
]

SubmitMany = Callable[
    [Sequence[tuple[str, dict[str, Any], dict[str, Any] | None]]], Sequence[str | Submission]
]
"""Commits a file's items in one transaction: the engine's, which answers with the journal's
Submissions (``existed`` marks keys journaled before), or one that answers with the keys."""
Outcome = Literal["done", "error", "deferred", "gone"]


class MetricsSink(Protocol):
    """The part of ``syncengine._metrics.Metrics`` ingest uses."""

    def inc(self, name: str, n: float = 1) -> None:
        """Add ``n`` to counter ``name``."""

    def observe(self, name: str, seconds: float) -> None:
        """Record one timing sample."""


@dataclass(frozen=True)
class IngestResult:
    """What happened to one file.

    ``done``: reports committed, file archived per ``done_action``. ``error``: nothing
    committed, file (and sidecar) in the error folder. ``deferred``: nothing decided, file left
    in place to be tried again (engine stopping, journal error, file changed while converting).
    ``gone``: the file disappeared before it could be read. ``retry``: deferred because the
    file changed or is too young to condemn; the watcher makes it a candidate again at once.
    ``backoff``: with ``retry``, the file could not be set aside (the error folder cannot be
    made, or Windows refuses to move a file the station holds open); the watcher tries it again
    after a delay that doubles each time, so a stuck file is not converted every ``stable_s``.
    """

    outcome: Outcome
    path: Path
    keys: tuple[str, ...] = ()
    converter: str | None = None
    reason: str = ""
    moved_to: Path | None = None
    retry: bool = False
    backoff: bool = False


def submission_key(sha256_hex: str, index: int, variant: str = "") -> str:
    """The submission key of report ``index`` of a file whose content has this SHA-256.

    ``variant`` names a rewrite of the report (``normalize_loops``): a rewritten report is
    another submission than the file's report as it was, so turning the option on after a
    refusal lets the same file through again without a journal conflict.
    """
    name = f"{sha256_hex}:{index}" + (f":{variant}" if variant else "")
    return str(uuid.uuid5(KEY_NAMESPACE, name))


def _free_name(directory: Path, name: str, n: int) -> Path:
    # A name too long for the file system (255 bytes) is shortened the same way every time;
    # the journal's source path and the error note keep the full original name.
    if n == 0:
        return directory / fit_name(name)
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        return directory / fit_name(f"{name}.{n}")
    return directory / fit_name(f"{stem}.{n}.{suffix}")


_NOT_SAME_DEVICE = 17  # Windows ERROR_NOT_SAME_DEVICE: a rename across drives


def _unlink(path: Path) -> None:
    """Delete ``path``; on Windows also when it carries the read-only attribute."""
    try:
        path.unlink()
    except PermissionError:
        if os.name != "nt":
            raise
        os.chmod(path, stat.S_IWRITE)  # Windows refuses to delete a read-only file
        path.unlink()


def move_without_overwrite(src: Path, directory: Path) -> Path:
    """Move ``src`` into ``directory`` under its name, or ``name.N.ext`` if taken; return it.

    Never overwrites: on POSIX a hard link claims the target atomically (then the source is
    unlinked); on Windows ``os.rename`` already refuses an existing target. File systems without
    hard links, and moves across devices, fall back to check-then-move.
    """
    directory.mkdir(parents=True, exist_ok=True)
    for n in range(100_000):
        target = _free_name(directory, src.name, n)
        sidecar = sidecar_for(target)
        if target.exists() or target.is_symlink() or sidecar.exists():
            continue
        try:
            if sys.platform == "win32":
                os.rename(src, target)
                return target
            os.link(src, target, follow_symlinks=False)
        except FileExistsError:
            continue
        except OSError as exc:
            if target.exists():
                continue
            if sys.platform == "win32" and getattr(exc, "winerror", None) != _NOT_SAME_DEVICE:
                # E.g. a sharing violation (the station still has the file open): a copy
                # would leave the source behind and a stray copy here; try again later.
                raise
            shutil.move(str(src), str(target))
            return target
        # Only the claim of the name is retried above: once the link exists, a failure here
        # must not send the loop on to claim further names for the same file. The new name is
        # made durable before the old one goes: a power cut may keep an unlink and lose an
        # unsynced link, and the source file would be gone.
        fsync_dir(directory)
        os.unlink(src)
        fsync_dir(src.parent)
        return target
    raise OSError(f"no free name for {src.name} in {directory}")


class InvalidReportsError(SyncEngineError, ValueError):
    """Raised by :func:`build_submissions` when a file's reports cannot all be submitted.

    ``converter`` is ``"<name> <version>"`` of the converter that made them.
    """

    def __init__(self, message: str, details: str = "", *, converter: str | None = None) -> None:
        super().__init__(message)
        self.details = details
        self.converter = converter


def build_submissions(
    path: Path, sha256_hex: str, size: int, conversion: Conversion, *, normalize_loops: bool = False
) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """The ``(key, payload, source)`` items for ``submit_many`` from one converted file.

    All or nothing: raises :class:`InvalidReportsError` if the file gave zero reports or any
    report fails ``pywats.parse_report(...).check()``. A report without ``id`` gets its key as
    id; the payload is ``to_wsjf(for_submit=True)``. Anything that submits converted files (the
    watcher, ``syncengine submit FILE``) must build them here, so the same bytes always give the
    same keys AND the same payloads (else the journal sees a conflict, not a repeat).
    With ``normalize_loops`` a report whose loop summaries were rewritten gets its own key and
    the changes in ``source["normalize_loops"]``.
    """
    reports = conversion.reports
    who = f"{conversion.converter} {conversion.version}"
    if not reports:
        message = f"converter {conversion.converter!r}: the file has zero reports"
        raise InvalidReportsError(message, converter=who)
    items = []
    for index, report in enumerate(reports):
        changes: list[LoopChange] = []
        if normalize_loops:
            report, changes = rewrite_loops(report)
        key = submission_key(sha256_hex, index, LOOPS_OPTION if changes else "")
        if not report.get("id"):
            report = {**report, "id": key}
        try:
            model = parse_report(report)
            model.check()
            payload = model.to_wsjf(for_submit=True)
        except Exception as exc:  # pydantic.ValidationError, ReportFieldError, TypeError
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            message = f"report {index} of {len(reports)} failed validation: {first}"
            raise InvalidReportsError(message, _details(exc), converter=who) from None
        source = {
            "path": str(path),
            "sha256": sha256_hex,
            "size": size,
            "converter": conversion.converter,
            "converter_version": conversion.version,
            "index": index,
            "count": len(reports),
        }
        if changes:
            source[LOOPS_OPTION] = {"rewritten": True, "changes": changes}
        items.append((key, payload, source))
    return items


def _details(exc: Exception) -> str:
    """The note's details of a validation error: every bad field on a line of its own."""
    if isinstance(exc, ReportFieldError) and len(exc.problems) > 1:
        lines = [f"{field}: {problem}" for field, problem in exc.problems]
        return f"{len(lines)} bad fields:\n" + "\n".join(lines)
    return f"{type(exc).__name__}: {exc}"


def convert_file(
    pool: WorkerPool,
    path: Path,
    sha256_hex: str,
    size: int,
    *,
    converter: str = "auto",
    options: Mapping[str, object] | None = None,
    station_name: str | None = None,
    normalize_loops: bool = False,
    source_path: Path | None = None,
    metrics: MetricsSink | None = None,
) -> tuple[Conversion, list[tuple[str, dict[str, Any], dict[str, Any]]]]:
    """Convert one file in the worker pool and build its ``submit_many`` items.

    The one way a file's content becomes submissions: the watcher's :class:`Ingestor` and
    ``syncengine submit FILE`` both call it, with the file's ``sha256_hex`` and ``size`` from
    ``journal.file_sha256``. ``source_path`` is the path recorded in the sources (default
    ``path``); ``metrics`` gets the ``conversion_duration`` sample. Raises
    ``WorkerUnavailableError``, ``ConversionFailed`` and :class:`InvalidReportsError`.
    """
    started = time.monotonic()
    try:
        conversion = pool.convert(
            path, converter=converter, options=options, station_name=station_name
        )
    except ConversionFailed:
        if metrics is not None:
            metrics.observe("conversion_duration", time.monotonic() - started)
        raise
    if metrics is not None:
        metrics.observe("conversion_duration", time.monotonic() - started)
    items = build_submissions(
        source_path or path, sha256_hex, size, conversion, normalize_loops=normalize_loops
    )
    return conversion, items


class Ingestor:
    """Runs files through the pool and into the journal; thread-safe (no shared state).

    ``sender`` is the object the ``file_converted``/``conversion_failed`` signals name as their
    sender (the WatchService).
    """

    def __init__(
        self,
        pool: WorkerPool,
        submit_many: SubmitMany,
        metrics: MetricsSink,
        *,
        station_name: str | None = None,
        sender: object = None,
    ) -> None:
        self._pool = pool
        self._submit_many = submit_many
        self._metrics = metrics
        self._station = station_name
        self._sender = sender if sender is not None else self

    def ingest(self, path: Path, folder: WatchFolder, *, young_s: float = 0.0) -> IngestResult:
        """Process one stable file completely; never raises for a bad file.

        A file is only moved (to done/ or error/) while it is still the file that was read:
        same size, mtime and SHA-256; one that changed is ``deferred`` with ``retry``. A failed
        conversion of a file modified less than ``young_s`` seconds ago is deferred the same
        way (the writer may have paused half-way), so it is condemned only once it is older.
        """
        try:
            st = path.lstat()
        except FileNotFoundError:
            return IngestResult("gone", path)
        seen = _Seen(st, None, young_s)
        if path.is_symlink():
            return self._fail(
                path, folder, seen, None, "refused", "symbolic links are not followed"
            )
        limit = int(folder.max_file_mb * 1024 * 1024)
        if st.st_size > limit:
            reason = f"{st.st_size} bytes exceeds the {limit}-byte limit (max_file_mb)"
            return self._fail(path, folder, seen, None, "too_large", reason)
        try:
            sha, size = file_sha256(path)
        except FileNotFoundError:
            return IngestResult("gone", path)
        except OSError as exc:
            log.warning("cannot read %s yet (%s); will retry", path, exc)
            return IngestResult("deferred", path, reason=f"cannot read: {exc}")
        seen = _Seen(st, sha, young_s)
        try:
            conv, items = convert_file(
                self._pool,
                path,
                sha,
                size,
                converter=folder.converter,
                options=folder.options,
                station_name=self._station,
                normalize_loops=bool(folder.normalize_loops),
                metrics=self._metrics,
            )
        except WorkerUnavailableError as exc:
            return IngestResult("deferred", path, reason=str(exc))
        except ConversionFailed as exc:
            return self._fail(path, folder, seen, exc.converter, exc.kind, exc.message, exc.details)
        except InvalidReportsError as exc:
            if size != st.st_size:
                return _changed(path)  # a half-written file's reports prove nothing
            kind = "invalid_report"
            return self._fail(path, folder, seen, exc.converter, kind, str(exc), exc.details)
        if size != st.st_size:
            return _changed(path)
        changed = _check_same(path, seen)
        if changed is not None:
            return changed
        return self._commit(path, folder, seen, items, conv.converter)

    def _commit(
        self,
        path: Path,
        folder: WatchFolder,
        seen: _Seen,
        items: list[tuple[str, dict[str, Any], dict[str, Any]]],
        converter: str,
    ) -> IngestResult:
        from journal import SubmissionConflictError

        try:
            journaled = self._submit_many(items)
        except EngineStoppingError:
            return IngestResult("deferred", path, reason="engine is stopping")
        except SubmissionConflictError as exc:
            reason = f"already submitted with different content: {exc}"
            return self._fail(path, folder, seen, converter, "conflict", reason)
        except Exception as exc:
            # The journal could not commit (disk full, locked): the file is fine, keep it.
            log.exception("committing %s failed; the file stays for a later try", path)
            return IngestResult("deferred", path, reason=f"{type(exc).__name__}: {exc}")
        keys = tuple(j if isinstance(j, str) else j.key for j in journaled)
        existing = {j.key: j.state for j in journaled if isinstance(j, Submission) and j.existed}
        self._metrics.inc("files_converted")
        # Committed: what was read is safe in the journal. A file rewritten since is not what
        # was read; it stays in the inbox and its new content is converted as a new file.
        changed = _check_same(path, seen)
        if changed is not None and changed.outcome == "deferred":
            log.warning(
                "%s changed after its reports were journaled; it stays and is read again", path
            )
            result = IngestResult(
                "deferred", path, keys=keys, converter=converter, reason=changed.reason, retry=True
            )
        else:
            moved_to = self._archive(path, folder)
            result = IngestResult("done", path, keys=keys, converter=converter, moved_to=moved_to)
        emit(
            file_converted,
            self._sender,
            path=path,
            keys=list(keys),
            converter=converter,
            existing=existing,
        )
        return result

    def _archive(self, path: Path, folder: WatchFolder) -> Path | None:
        try:
            if folder.done_action == "move":
                return move_without_overwrite(path, folder.effective_done_dir)
            if folder.done_action == "delete":
                _unlink(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            # Committed already; re-conversion later is idempotent, so a failed move only
            # costs a repeat, never a duplicate.
            log.error(
                "archiving %s failed after its reports were committed: %s", path, _os_reason(exc)
            )
        return None

    def _fail(
        self,
        path: Path,
        folder: WatchFolder,
        seen: _Seen,
        converter: str | None,
        kind: str,
        reason: str,
        details: str = "",
    ) -> IngestResult:
        changed = _check_same(path, seen)
        if changed is not None:
            return changed
        age = time.time() - seen.stat.st_mtime_ns / 1e9
        if 0 <= age < seen.young_s:
            log.info(
                "%s: %s (%s), but it was modified %.1f s ago; trying again before setting it aside",
                path,
                kind,
                reason,
                age,
            )
            return IngestResult(
                "deferred", path, converter=converter, reason=f"young: {reason}", retry=True
            )
        moved_to: Path | None = None
        condemned = Condemned(seen.stat.st_size, seen.stat.st_mtime_ns, seen.sha256)
        try:
            moved_to = move_without_overwrite(path, folder.effective_error_dir)
        except FileNotFoundError:
            pass
        except OSError as exc:
            # E.g. the station still has it open (Windows), or error/ cannot be made: a file
            # left in the inbox as if handled would be counted nowhere and never tried again.
            log.error(
                "%s: %s (%s), but it could not be moved to the error folder (%s); it stays in "
                "the inbox and is tried again",
                path,
                kind,
                reason,
                _os_reason(exc),
            )
            why = f"cannot move to the error folder: {_os_reason(exc)}"
            return IngestResult(
                "deferred", path, converter=converter, reason=why, retry=True, backoff=True
            )
        self._metrics.inc("conversions_failed")
        if moved_to is not None:
            try:
                write_sidecar(path, moved_to, converter, kind, reason, details, condemned)
            except OSError as exc:
                log.error("could not write the note for %s: %s", moved_to, _os_reason(exc))
        log.warning("conversion of %s failed (%s): %s", path, kind, reason)
        emit(conversion_failed, self._sender, path=path, converter=converter, reason=reason)
        return IngestResult("error", path, converter=converter, reason=reason, moved_to=moved_to)


@dataclass(frozen=True)
class _Seen:
    """The file as it was read: its stat before reading and the digest of what was read."""

    stat: os.stat_result
    sha256: str | None
    young_s: float


def _changed(path: Path) -> IngestResult:
    return IngestResult("deferred", path, reason="file changed while being converted", retry=True)


def _check_same(path: Path, seen: _Seen) -> IngestResult | None:
    """None while ``path`` is still the file that was read, else the deferral to return."""
    try:
        now = path.lstat()
        if (now.st_size, now.st_mtime_ns) != (seen.stat.st_size, seen.stat.st_mtime_ns):
            return _changed(path)
        if seen.sha256 is None or stat.S_ISLNK(now.st_mode):
            return None
        sha, _size = file_sha256(path)
    except FileNotFoundError:
        return IngestResult("gone", path)
    except OSError:
        return _changed(path)
    return None if sha == seen.sha256 else _changed(path)


def _os_reason(exc: OSError) -> str:
    name = os.strerror(exc.errno) if exc.errno else ""
    return f"{exc.strerror or name or exc} (errno {exc.errno})"
