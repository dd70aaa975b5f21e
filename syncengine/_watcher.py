"""Folder watching: the only module that imports watchdog.

``WatchService`` owns the converter worker pool, one watchdog observer, a scheduler thread and a
small thread pool that runs :class:`~syncengine._ingest.Ingestor`. A file becomes a *candidate*
when an event or a scan mentions it; the scheduler converts it only once its size and mtime have
not changed for the folder's ``stable_s`` and it can be opened for reading, so a station still
writing is never read half-way. A path is in at most one of {candidate, in progress}, so the
create/modify/move event burst of one file, or a rescan racing an event, converts it once. A
periodic rescan backs up watchdog, whose events can be lost on network shares.

A file that changed while it was converted, or whose conversion failed while it was young (see
``YOUNG_WINDOWS``), becomes a candidate again at once. The error folders are looked at every
``ERROR_LOOK_S``: what sits there is counted for health, and a file that changed since it was
set aside is moved back into its watch folder to be converted again (``_error_folder``).

A watch folder that does not exist is a configuration error (:class:`WatchFolderError`) unless
the folder says ``create = true``: a mistyped path must not pile reports up unseen elsewhere.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from ._config import EngineConfig, WatchFolder
from ._error_folder import SIDECAR_SUFFIX, ErrorFolderWatch, sidecar_for
from ._errors import SyncEngineError
from ._ingest import Ingestor, IngestResult, MetricsSink, SubmitMany, move_without_overwrite
from ._paths import watch_folder_problem
from .converters import WorkerPool

log = logging.getLogger("syncengine.watcher")

TEMP_PATTERNS = ("*.tmp", "*.temp", "*.part", "*.partial", "*.crdownload", "*.swp", "~*", ".*")
"""Names never converted: editors' and copy tools' temporary files, hidden files."""

_TICK_S = 0.1
YOUNG_WINDOWS = 3
"""A failed conversion of a file modified within this many ``stable_s`` is tried again first."""
ERROR_LOOK_S = 2.0
"""How often the error folders are listed (counted, and checked for changed files)."""
SET_ASIDE_BACKOFF_MAX_S = 300.0
"""Longest wait before a file that could not be set aside (``IngestResult.backoff``) is tried
again; the wait starts at the folder's ``stable_s`` (at least 1 s) and doubles each time."""


class WatchFolderError(SyncEngineError, ValueError):
    """Raised at start when a watch folder is misconfigured; ``key`` names the setting.

    A missing folder (without ``create = true``), a path that is not a folder, a folder that
    cannot be read, or a converter name that no converter has.
    """

    def __init__(self, message: str, *, key: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass
class _Candidate:
    folder: WatchFolder
    signature: tuple[int, int]
    since: float
    not_before: float = 0.0


class _Handler(FileSystemEventHandler):
    def __init__(self, service: WatchService, folder: WatchFolder) -> None:
        self._service = service
        self._folder = folder

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if raw:
                text = raw.decode() if isinstance(raw, bytes) else raw
                self._service.notify(Path(text), self._folder)


class WatchService:
    """Watch the configured folders and ingest every stable report file exactly once.

    Constructed by the engine with its config, its ``submit_many`` and its metrics. ``pool``
    shares an existing worker pool; ``polling`` uses watchdog's portable polling observer
    (``True``: every 0.5 s, a number: that interval in seconds) instead of native events.
    """

    def __init__(
        self,
        config: EngineConfig,
        submit_many: SubmitMany,
        metrics: MetricsSink,
        *,
        pool: WorkerPool | None = None,
        polling: bool | float = False,
    ) -> None:
        self._config = config
        self._own_pool = pool is None
        self._pool = pool or WorkerPool(
            config.converter_paths,
            workers=config.converter_workers,
            timeout_s=config.converter_timeout_s,
            memory_mb=config.converter_memory_mb,
            start_timeout_s=config.timeouts.converter_start_s,
        )
        self._ingestor = Ingestor(
            self._pool, submit_many, metrics, station_name=config.station_name, sender=self
        )
        self._polling = polling
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._candidates: dict[Path, _Candidate] = {}
        self._in_progress: set[Path] = set()
        # Files left in place after a final outcome (done_action "keep", or an error folder we
        # could not move to), by signature, so a rescan does not convert them again.
        self._settled: dict[Path, tuple[int, int]] = {}
        # Files that could not be set aside, by how many times in a row (for the backoff).
        self._setbacks: dict[Path, int] = {}
        self._patterns: dict[Path, tuple[str, ...]] = {}
        self._excluded: list[Path] = []
        self._executor: ThreadPoolExecutor | None = None
        self._observer: Observer | PollingObserver | None = None  # type: ignore[valid-type]
        self._scheduler: threading.Thread | None = None
        self._last_scan: dict[Path, float] = {}
        self._errors = ErrorFolderWatch([f.effective_error_dir for f in config.watch])
        self._next_error_look = 0.0
        self.results: list[IngestResult] = []
        """Every outcome so far, in completion order (for status and tests); bounded."""
        self.metrics = metrics
        """The engine's metrics; its conversion signals count there (``sender.metrics``)."""

    # lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the pool, pick up files already present, then watch for new ones."""
        report = self._pool.start()
        known = {c.name: c.patterns for c in report.converters}
        for r in report.refused:
            log.warning("converter refused (%s): %s", r.source, r.reason)
        for index, folder in enumerate(self._config.watch):
            if folder.patterns:
                patterns = folder.patterns
            elif folder.converter == "auto":
                patterns = tuple(p for pats in known.values() for p in pats)
            elif folder.converter in known:
                patterns = known[folder.converter]
            else:
                raise WatchFolderError(
                    f"watch[{index}].converter: converter {folder.converter!r} is not available "
                    f"(available: {', '.join(sorted(known)) or 'none'}, or 'auto')",
                    key=f"watch[{index}].converter",
                )
            check_watch_folder(folder, index)
            self._patterns[folder.path] = tuple(p.lower() for p in patterns)
            self._excluded += [folder.effective_done_dir, folder.effective_error_dir]
        self._excluded = [p.resolve() for p in self._excluded]
        self._executor = ThreadPoolExecutor(
            max_workers=self._config.converter_workers, thread_name_prefix="syncengine-ingest"
        )
        if self._polling is False:
            observer = Observer()
        else:
            interval = 0.5 if self._polling is True else float(self._polling)
            observer = PollingObserver(timeout=interval)
        for folder in self._config.watch:
            observer.schedule(_Handler(self, folder), str(folder.path), recursive=folder.recursive)
        observer.start()
        self._observer = observer
        for folder in self._config.watch:
            self._scan(folder)
        self._errors.look()
        self._next_error_look = time.monotonic() + ERROR_LOOK_S
        self._scheduler = threading.Thread(target=self._run, name="syncengine-watch", daemon=True)
        self._scheduler.start()

    def stop(self, timeout: float) -> None:
        """Stop watching, wait up to ``timeout`` s for conversions in progress, kill the rest.

        A conversion cut short leaves its file in place (nothing was committed), to be picked up
        at the next start.
        """
        deadline = time.monotonic() + max(0.0, timeout)
        self._stopping.set()
        self._wake.set()
        if self._observer is not None:
            self._observer.stop()
        if self._scheduler is not None:
            self._scheduler.join(timeout=max(0.1, deadline - time.monotonic()))
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        while time.monotonic() < deadline:
            with self._lock:
                if not self._in_progress:
                    break
            time.sleep(0.02)
        if self._own_pool:
            self._pool.close()
        if self._observer is not None:
            self._observer.join(timeout=max(0.1, deadline - time.monotonic()))

    def error_files(self) -> dict[str, object]:
        """What sits in the error folders: ``{"count", "oldest_at", "folders": {dir: n}}``."""
        return self._errors.summary.as_dict()

    def idle(self) -> bool:
        """True when no file is waiting to become stable or being converted."""
        with self._lock:
            return not self._candidates and not self._in_progress

    # events ----------------------------------------------------------------------------------

    def notify(self, path: Path, folder: WatchFolder) -> None:
        """Make ``path`` a candidate if it is a report file of ``folder`` (events, scans)."""
        if self._stopping.is_set() or not self._wanted(path, folder):
            return
        with self._lock:
            if path in self._in_progress or path in self._candidates:
                return
            self._candidates[path] = _Candidate(folder, (-1, -1), time.monotonic())
        self._wake.set()

    def _wanted(self, path: Path, folder: WatchFolder) -> bool:
        name = path.name.lower()
        if name.endswith(SIDECAR_SUFFIX) or any(
            fnmatch.fnmatchcase(name, p) for p in TEMP_PATTERNS
        ):
            return False
        if not any(fnmatch.fnmatchcase(name, p) for p in self._patterns.get(folder.path, ())):
            return False
        parent = path.parent
        if parent != folder.path and not folder.recursive:
            return False
        try:
            resolved = parent.resolve()
        except OSError:
            return False
        return not any(resolved == ex or ex in resolved.parents for ex in self._excluded)

    def _scan(self, folder: WatchFolder) -> None:
        self._last_scan[folder.path] = time.monotonic()
        for path in self._list(folder.path, folder.recursive):
            self.notify(path, folder)

    def _list(self, root: Path, recursive: bool) -> Iterator[Path]:
        try:
            entries = list(os.scandir(root))
        except OSError as exc:
            log.warning("cannot list %s: %s", root, exc)
            return
        for entry in entries:
            path = Path(entry.path)
            try:
                if entry.is_file(follow_symlinks=False) or entry.is_symlink():
                    yield path
                elif (
                    recursive
                    and entry.is_dir(follow_symlinks=False)
                    and path.resolve() not in self._excluded
                ):
                    yield from self._list(path, recursive)
            except OSError:
                continue

    # scheduling ------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(_TICK_S)
            self._wake.clear()
            now = time.monotonic()
            for folder in self._config.watch:
                if now - self._last_scan.get(folder.path, 0.0) >= folder.rescan_s:
                    self._scan(folder)
            try:
                self._dispatch_stable(now)
                if now >= self._next_error_look:
                    self._next_error_look = now + ERROR_LOOK_S
                    self._look_at_error_folders()
            except Exception:
                log.exception("watch scheduler error; continuing")

    def _look_at_error_folders(self) -> None:
        for path in self._errors.look():
            folder = next(
                (
                    f
                    for f in self._config.watch
                    if f.effective_error_dir.resolve() == path.parent.resolve()
                ),
                None,
            )
            if folder is None or self._stopping.is_set():
                continue
            try:
                back = move_without_overwrite(path, folder.path)
            except OSError as exc:
                log.warning(
                    "%s changed in the error folder but cannot be moved back: %s", path, exc
                )
                continue
            self._errors.forget(path)
            sidecar_for(path).unlink(missing_ok=True)
            log.info(
                "%s changed after it was set aside; moved back to %s to be converted again",
                path,
                back,
            )
            self.notify(back, folder)

    def _dispatch_stable(self, now: float) -> None:
        with self._lock:
            snapshot = list(self._candidates.items())
        for path, cand in snapshot:
            if now < cand.not_before:
                continue
            try:
                st = path.lstat()
            except FileNotFoundError:
                with self._lock:
                    self._settled.pop(path, None)
                self._drop(path)
                continue
            except OSError:
                continue
            signature = (st.st_size, st.st_mtime_ns)
            with self._lock:
                settled = self._settled.get(path) == signature
            if settled:
                self._drop(path)
                continue
            if signature != cand.signature:
                cand.signature, cand.since = signature, now
                if cand.folder.stable_s > 0:
                    continue
            if now - cand.since < cand.folder.stable_s or not _openable(path):
                continue
            with self._lock:
                if self._candidates.pop(path, None) is None:
                    continue
                self._in_progress.add(path)
            self._submit(path, cand.folder)

    def _submit(self, path: Path, folder: WatchFolder) -> None:
        assert self._executor is not None
        try:
            future = self._executor.submit(
                self._ingestor.ingest, path, folder, young_s=YOUNG_WINDOWS * folder.stable_s
            )
        except RuntimeError:  # executor shut down: we are stopping
            with self._lock:
                self._in_progress.discard(path)
            return
        future.add_done_callback(lambda f: self._finished(path, folder, f))

    def _finished(self, path: Path, folder: WatchFolder, future: Future[IngestResult]) -> None:
        try:
            result = future.result()
        except CancelledError:
            result = IngestResult("deferred", path, reason="stopped before it started")
        except BaseException:
            log.exception("ingest of %s raised; the file stays for the next scan", path)
            result = IngestResult("deferred", path, reason="internal error")
        signature = None
        if result.outcome in ("done", "error") and result.moved_to is None:
            try:
                st = path.stat()
                signature = (st.st_size, st.st_mtime_ns)
            except OSError:
                pass
        with self._lock:
            if signature is not None:
                self._settled[path] = signature
            self._in_progress.discard(path)
            if result.retry and not self._stopping.is_set():
                # Changed while converted, or failed while young: look again once it is stable.
                # One that could not be set aside waits longer each time it fails again.
                not_before = 0.0
                if result.backoff:
                    times = self._setbacks.get(path, 0)
                    self._setbacks[path] = times + 1
                    delay = min(
                        max(folder.stable_s, 1.0) * 2 ** min(times, 16), SET_ASIDE_BACKOFF_MAX_S
                    )
                    not_before = time.monotonic() + delay
                else:
                    self._setbacks.pop(path, None)
                self._candidates[path] = _Candidate(folder, (-1, -1), 0.0, not_before)
            else:
                self._setbacks.pop(path, None)
            self.results.append(result)
            del self.results[:-1000]
        if result.outcome == "error":
            self._next_error_look = 0.0  # count it in health soon
        self._wake.set()

    def _drop(self, path: Path) -> None:
        with self._lock:
            self._candidates.pop(path, None)


def _openable(path: Path) -> bool:
    # On Windows a file still open for writing by the station cannot be opened; elsewhere this
    # at least proves we have read permission before spending a worker on it.
    try:
        with path.open("rb"):
            return True
    except OSError:
        return False


def check_watch_folders(config: EngineConfig) -> None:
    """:func:`check_watch_folder` for every folder of ``config``, in order, then the names of
    their converters (:func:`check_converter_names`)."""
    for index, folder in enumerate(config.watch):
        check_watch_folder(folder, index)
    check_converter_names(config)


def check_converter_names(config: EngineConfig) -> None:
    """Raise :class:`WatchFolderError` naming ``watch[i].converter`` for a converter that does
    not exist, with the available names and a near miss.

    Built-in names are known without a worker; any other name is looked up by discovery in a
    throwaway worker process (plugins are never imported here), as ``converters list`` does.
    """
    from ._settings import _did_you_mean
    from .converters._builtins import BUILTIN_CONVERTERS

    builtin = {str(getattr(c, "name", "")) for c in BUILTIN_CONVERTERS}
    unknown = [
        (index, folder.converter)
        for index, folder in enumerate(config.watch)
        if folder.converter != "auto" and folder.converter not in builtin
    ]
    if not unknown:
        return
    from .converters import list_converters

    found = list_converters(config.converter_paths, timeout_s=config.converter_timeout_s)
    available = sorted({c.name for c in found.converters} | builtin)
    for index, name in unknown:
        if name not in available:
            key = f"watch[{index}].converter"
            raise WatchFolderError(
                f"{key}: no converter is named {name!r}{_did_you_mean(name, available)} "
                f"(available: {', '.join(available)}, or 'auto'; see 'syncengine converters "
                "list')",
                key=key,
            )


def check_watch_folder(folder: WatchFolder, index: int) -> None:
    """Raise :class:`WatchFolderError` naming ``watch[index].*`` if the folder cannot be used.

    Creates the folder first when it says ``create = true``.
    """
    if folder.create and not folder.path.exists():
        try:
            folder.path.mkdir(parents=True, exist_ok=True)
            log.info("created watch folder %s (create = true)", folder.path)
        except OSError:
            pass  # reported below, naming the key
    problem = watch_folder_problem(folder, index)
    if problem is not None:
        key, message = problem
        raise WatchFolderError(f"{key}: {message}", key=key)
