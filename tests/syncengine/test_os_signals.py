"""The one stop-signal helper, as the engine and the CLI use it (real signals, this process)."""

from __future__ import annotations

import os
import signal
import sys
import threading

import pytest

from syncengine._os_signals import on_stop_signals
from syncengine.cli._runtime import stop_on_signals

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="os.kill with POSIX signals")


@posix_only
def test_a_stop_signal_calls_back_with_its_name() -> None:
    seen: list[str] = []
    restore = on_stop_signals(seen.append)
    try:
        os.kill(os.getpid(), signal.SIGTERM)
    finally:
        restore()
    assert seen == ["SIGTERM"]


def test_restore_puts_the_previous_handlers_back() -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    on_stop_signals(lambda _name: None)()
    assert {s: signal.getsignal(s) for s in before} == before


def test_installing_off_the_main_thread_is_refused() -> None:
    errors: list[BaseException] = []

    def install() -> None:
        try:
            on_stop_signals(lambda _name: None)
        except RuntimeError as exc:
            errors.append(exc)

    worker = threading.Thread(target=install)
    worker.start()
    worker.join(10)
    assert [type(e) for e in errors] == [RuntimeError]


@posix_only
def test_the_cli_stops_on_sighup() -> None:
    stop = threading.Event()
    with stop_on_signals(stop):
        os.kill(os.getpid(), signal.SIGHUP)
    assert stop.is_set()


@posix_only
def test_the_cli_restores_sighup_afterwards() -> None:
    before = signal.getsignal(signal.SIGHUP)
    with stop_on_signals(threading.Event()):
        pass
    assert signal.getsignal(signal.SIGHUP) == before


def test_the_cli_installs_nothing_off_the_main_thread() -> None:
    stop = threading.Event()
    done = threading.Event()

    def run() -> None:
        with stop_on_signals(stop):
            done.set()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(10)
    assert done.is_set() and not stop.is_set()
