"""The package's public surface."""

from __future__ import annotations

import watsim as watsim


def test_all_is_sorted_and_complete() -> None:
    assert watsim.__all__ == sorted(watsim.__all__)
    assert watsim.__all__ == [
        "DEFAULT_PROCESSES",
        "FAULT_NAMES",
        "FaultConfigError",
        "Refusal",
        "Simulator",
        "validate_report",
    ]


def test_every_public_name_is_documented() -> None:
    for name in watsim.__all__:
        obj = getattr(watsim, name)
        if callable(obj):
            assert obj.__doc__, name


def test_every_fault_name_is_documented() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "simulator.md").read_text("utf-8")
    for name in watsim.FAULT_NAMES:
        assert f"`{name}`" in doc, name
