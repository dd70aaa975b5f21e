"""Deterministic, valid WSJF reports for the torture runs (one id per feed and index)."""

from __future__ import annotations

import copy
import json
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

_TEMPLATE = (
    Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "converters" / "ict_uut.json"
)
_NS = uuid.UUID("6a1d7c7e-5b0a-4d8e-9a43-0c1f0e9b2f10")


@lru_cache(maxsize=1)
def _template() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_TEMPLATE.read_text(encoding="utf-8"))
    return data


def report_id(feed: str, i: int) -> str:
    """The report id (and, for API submissions, the key) of report ``i`` of ``feed``."""
    return str(uuid.uuid5(_NS, f"{feed}/{i}"))


def report_for(feed: str, i: int) -> dict[str, Any]:
    """Report ``i`` of ``feed`` (``"api"`` or ``"file"``): the ICT fixture with its own id/SN."""
    report = copy.deepcopy(_template())
    report["id"] = report_id(feed, i)
    report["sn"] = f"TORTURE-{feed.upper()}-{i:07d}"
    return report
