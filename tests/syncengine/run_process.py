"""`syncengine run` as a real child process for the CLI tests.

Started with its stderr in a file (the log the tests read), and always stopped: SIGTERM, then a
kill if it does not end in time, whatever the test body did.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    """Poll ``predicate`` every 0.1 s for up to ``timeout`` seconds; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@dataclass
class RunningCli:
    """One ``python -m syncengine ... run`` child and the file its stderr goes to."""

    proc: subprocess.Popen[bytes]
    stderr_path: Path

    def log(self) -> str:
        """Everything the child wrote to stderr so far."""
        return self.stderr_path.read_text(encoding="utf-8")

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, wait up to ``timeout``, kill if it is still there; the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


@contextlib.contextmanager
def running_cli(
    args: Sequence[str], env: Mapping[str, str], stderr_path: Path
) -> Iterator[RunningCli]:
    """Start ``python -m syncengine *args`` (usually ending in ``run``); stop it on exit."""
    with stderr_path.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "syncengine", *args],
            env=dict(env),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    child = RunningCli(proc, stderr_path)
    try:
        yield child
    finally:
        child.stop()
