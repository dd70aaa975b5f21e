"""Fixtures of the proof harnesses: the size knob and the power-cut interposer.

``WATS_TORTURE_SCALE`` multiplies the size of every heavy test here (cuts, kill points,
inputs, corruptions). Unset it (1) for the CI size, which keeps ``tests/proof`` within a few
minutes on two cores; e.g. ``WATS_TORTURE_SCALE=20`` for the full runs quoted in
docs/reliability.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tools.powercut import InterposerUnavailable, build_interposer


def _scale() -> int:
    raw = os.environ.get("WATS_TORTURE_SCALE", "1")
    value = int(raw) if raw.isdigit() else 0
    if value < 1:
        raise pytest.UsageError(f"WATS_TORTURE_SCALE must be a positive integer, got {raw!r}")
    return value


@pytest.fixture(scope="session")
def scale() -> int:
    """The size multiplier from ``WATS_TORTURE_SCALE`` (1 = CI size)."""
    return _scale()


@pytest.fixture(scope="session")
def interposer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The LD_PRELOAD power-cut interposer, compiled once per session; skips where impossible."""
    try:
        return build_interposer(tmp_path_factory.mktemp("powercut-build"))
    except InterposerUnavailable as exc:
        pytest.skip(f"power-cut interposer unavailable: {exc}")
