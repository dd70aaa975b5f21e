from __future__ import annotations

import logging
from typing import Any

import pytest

from syncengine import signals
from syncengine._signals import ALL_SIGNALS, emit

EXPECTED = {
    "submission_appended",
    "upload_started",
    "upload_succeeded",
    "upload_failed",
    "retry_scheduled",
    "submission_failed",
    "connection_changed",
    "engine_started",
    "engine_stopping",
    "engine_stopped",
    "file_converted",
    "conversion_failed",
}


def test_every_signal_is_declared() -> None:
    assert {s.name for s in ALL_SIGNALS} == EXPECTED


@pytest.mark.parametrize("signal", ALL_SIGNALS, ids=lambda s: s.name)
def test_every_signal_documents_sender_and_kwargs(signal: Any) -> None:
    assert "sender" in signal.__doc__
    assert "kwargs" in signal.__doc__


def test_emit_delivers_kwargs_to_receivers() -> None:
    got: list[tuple[object, dict[str, Any]]] = []

    def receiver(sender: object, **kwargs: Any) -> None:
        got.append((sender, kwargs))

    signals.file_converted.connect(receiver)
    try:
        emit(signals.file_converted, "watcher", path="a.xml", keys=["k"], converter="c")
    finally:
        signals.file_converted.disconnect(receiver)
    assert got == [("watcher", {"path": "a.xml", "keys": ["k"], "converter": "c"})]


def test_a_raising_receiver_is_logged_and_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    got: list[str] = []

    def bad(sender: object, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    def good(sender: object, **kwargs: Any) -> None:
        got.append(kwargs["reason"])

    signals.conversion_failed.connect(bad)
    signals.conversion_failed.connect(good)
    try:
        with caplog.at_level(logging.ERROR, logger="syncengine.signals"):
            emit(signals.conversion_failed, "w", path="p", converter=None, reason="bad xml")
    finally:
        signals.conversion_failed.disconnect(bad)
        signals.conversion_failed.disconnect(good)
    assert got == ["bad xml"]
    assert "boom" in caplog.text
