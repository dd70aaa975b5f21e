"""A small pool of converter worker subprocesses with a per-file time limit.

Each worker is ``python -m syncengine.converters._worker`` (plain ``subprocess``, so Windows and
POSIX behave alike). A conversion that outlives its time limit gets its worker killed and
replaced; a worker that dies (``os._exit``, segfault, memory limit) is reported as ``crashed``
with its exit status and the tail of its stderr. Either way the caller gets
:class:`ConversionFailed`, never a hung thread or a dead engine.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ._api import ConversionFailed, WorkerUnavailableError
from ._discovery import DiscoveryReport

log = logging.getLogger("syncengine.converters")

_STDERR_TAIL = 40
# Windows reports a crash as an NTSTATUS exit code rather than a signal.
_NTSTATUS = {0xC0000005: "access violation", 0xC00000FD: "stack overflow"}


@dataclass(frozen=True)
class Conversion:
    """A successful conversion: the converter used and the report dicts it returned."""

    converter: str
    version: str
    reports: list[dict[str, Any]]


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "worker closed its output but is still running"
    if code < 0:
        try:
            return f"worker killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"worker killed by signal {-code}"
    unsigned = code & 0xFFFFFFFF
    if unsigned in _NTSTATUS:
        return f"worker crashed: exit code {unsigned:#x} ({_NTSTATUS[unsigned]})"
    return f"worker exited with status {code}"


class _Worker:
    """One subprocess plus the threads that read its stdout (answers) and stderr (log)."""

    def __init__(self, hello: dict[str, Any], start_timeout_s: float, python: str) -> None:
        env = dict(os.environ)
        # The worker must import this very syncengine, installed or not, from any cwd.
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        env["PYTHONFAULTHANDLER"] = "1"
        env.setdefault("PYTHONIOENCODING", "utf-8")
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)
        self.proc = subprocess.Popen(
            [python, "-m", "syncengine.converters._worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            creationflags=flags,
        )
        self.answers: queue.Queue[bytes | None] = queue.Queue()
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=_STDERR_TAIL)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        threading.Thread(target=self._pump_answers, args=(self.proc.stdout,), daemon=True).start()
        threading.Thread(target=self._pump_stderr, args=(self.proc.stderr,), daemon=True).start()
        try:
            self.send(hello)
            ready = self.receive(start_timeout_s)
        except (queue.Empty, OSError):
            self.kill()
            raise
        if ready is None or not ready.get("ready"):
            self.kill()
            tail = "\n".join(self.stderr_tail)
            raise WorkerUnavailableError(f"converter worker did not start: {tail or 'no output'}")
        self.discovery = DiscoveryReport.from_json(ready["discovery"])
        self.memory_note: str = ready.get("memory_limit", "")

    def _pump_answers(self, stream: IO[bytes]) -> None:
        for line in stream:
            self.answers.put(line)
        self.answers.put(None)

    def _pump_stderr(self, stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip()
            self.stderr_tail.append(line)
            log.debug("converter worker %s: %s", self.proc.pid, line)

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message).encode("utf-8") + b"\n")
        self.proc.stdin.flush()

    def receive(self, timeout_s: float) -> dict[str, Any] | None:
        """The next answer; None when the worker died; raises queue.Empty on timeout."""
        line = self.answers.get(timeout=timeout_s)
        if line is None:
            return None
        answer: dict[str, Any] = json.loads(line)
        return answer

    def exit_description(self) -> str:
        try:
            code = self.proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            self.kill()
            code = None
        time.sleep(0.05)  # let the stderr pump catch the last lines (faulthandler output)
        return _describe_exit(code)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=10.0)
        except subprocess.TimeoutExpired:
            log.error("converter worker %s did not die after kill", self.proc.pid)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


class WorkerPool:
    """Up to ``workers`` converter subprocesses, started on demand and reused.

    ``convert`` is thread-safe and blocks while all workers are busy. ``memory_mb`` is applied
    with ``RLIMIT_AS`` inside each worker on POSIX and skipped (with a note in
    :attr:`memory_note`) on Windows. ``close`` kills every worker; conversions running at that
    moment raise :class:`WorkerUnavailableError`, not :class:`ConversionFailed`.
    """

    def __init__(
        self,
        converter_paths: Sequence[str] = (),
        *,
        workers: int = 2,
        timeout_s: float = 60.0,
        memory_mb: int | None = 1024,
        entry_points: bool = True,
        start_timeout_s: float = 60.0,
        python: str | None = None,
    ) -> None:
        self._hello = {
            "paths": list(converter_paths),
            "memory_mb": memory_mb,
            "entry_points": entry_points,
        }
        self.timeout_s = timeout_s
        self._start_timeout_s = start_timeout_s
        self._python = python or sys.executable
        self._slots = threading.BoundedSemaphore(workers)
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        self.discovery: DiscoveryReport | None = None
        self.memory_note = ""

    def start(self) -> DiscoveryReport:
        """Start one worker now and return what it discovered (plugins load in the worker)."""
        with self._slots:
            worker = self._spawn()
            with self._lock:
                self._idle.append(worker)
        assert self.discovery is not None
        return self.discovery

    def _spawn(self) -> _Worker:
        if self._closed:
            raise WorkerUnavailableError("the converter pool is closed")
        try:
            worker = _Worker(self._hello, self._start_timeout_s, self._python)
        except queue.Empty:
            raise WorkerUnavailableError("converter worker did not answer in time") from None
        except OSError as exc:
            raise WorkerUnavailableError(f"cannot start converter worker: {exc}") from exc
        self.discovery = worker.discovery
        self.memory_note = worker.memory_note
        return worker

    def _checkout(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise WorkerUnavailableError("the converter pool is closed")
            worker = self._idle.pop() if self._idle else None
        if worker is None or worker.proc.poll() is not None:
            if worker is not None:
                worker.kill()
            worker = self._spawn()
        with self._lock:
            self._busy.add(worker)
        return worker

    def _release(self, worker: _Worker, healthy: bool) -> None:
        with self._lock:
            self._busy.discard(worker)
            if healthy and not self._closed:
                self._idle.append(worker)
                return
        worker.kill()

    def convert(
        self,
        path: Path,
        *,
        converter: str = "auto",
        options: Mapping[str, Any] | None = None,
        station_name: str | None = None,
    ) -> Conversion:
        """Convert ``path`` in a worker; raise :class:`ConversionFailed` if that fails."""
        request = {
            "path": str(path),
            "converter": converter,
            "options": dict(options or {}),
            "station_name": station_name,
        }
        with self._slots:
            worker = self._checkout()
            healthy = False
            try:
                try:
                    worker.send(request)
                except OSError:
                    # The worker died while idle; the file is not at fault, so try a fresh one.
                    worker.kill()
                    worker = self._checkout()
                    worker.send(request)
                answer = self._await(worker, converter)
                healthy = True
            finally:
                self._release(worker, healthy)
        if not answer.get("ok"):
            raise ConversionFailed(
                answer.get("kind", "exception"),
                answer.get("error", "unknown error"),
                converter=answer.get("converter"),
                details=answer.get("details", ""),
            )
        return Conversion(answer["converter"], answer["version"], answer["reports"])

    def _await(self, worker: _Worker, converter: str) -> dict[str, Any]:
        named = None if converter == "auto" else converter
        try:
            answer = worker.receive(self.timeout_s)
        except queue.Empty:
            worker.kill()
            if self._closed:
                raise WorkerUnavailableError("the converter pool was closed") from None
            raise ConversionFailed(
                "timeout",
                f"no result within {self.timeout_s:g} s; worker killed and replaced",
                converter=named,
                details="\n".join(worker.stderr_tail),
            ) from None
        if answer is None:
            description = worker.exit_description()
            if self._closed:
                raise WorkerUnavailableError("the converter pool was closed")
            raise ConversionFailed(
                "crashed",
                description,
                converter=named,
                details="\n".join(worker.stderr_tail),
            )
        return answer

    def close(self) -> None:
        """Kill every worker; later ``convert`` calls raise :class:`WorkerUnavailableError`."""
        with self._lock:
            self._closed = True
            workers = [*self._idle, *self._busy]
            self._idle.clear()
        for worker in workers:
            worker.kill()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def list_converters(
    converter_paths: Sequence[str] = (),
    *,
    entry_points: bool = True,
    timeout_s: float = 60.0,
) -> DiscoveryReport:
    """Discover converters in a throwaway worker process and report found and refused ones.

    This is what ``syncengine converters list`` shows. Plugin code is imported only in the
    worker, so a plugin that crashes on import cannot take the caller down.
    """
    pool = WorkerPool(
        converter_paths,
        workers=1,
        memory_mb=None,
        entry_points=entry_points,
        start_timeout_s=timeout_s,
    )
    try:
        return pool.start()
    finally:
        pool.close()
