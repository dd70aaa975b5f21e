"""The twin test: a server's WSXF export converts to the same report as its WSJF export.

The pair is ``tests/fixtures/reports/server_export_uut.{xml,json}``, one report rendered both
ways as the format descriptions say a server exports it (see the corpus README). Kept as a
regression test: every value the XML carries must come out equal to the WSJF's; absence may
differ only in form (``""``, ``null``, an empty list or object, a missing key). Numbers compare
by value (the XML says ``10``, the JSON ``10.0``) and a GUID by value (the XML writes it in
upper case).
"""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

import pywats
from syncengine.converters import parse_wsxf

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "reports"
ABSENT: tuple[Any, ...] = (None, "", [], {})
GUID_KEYS = {"id", "refUUT"}


def normalise(value: Any, key: str = "") -> Any:
    """``value`` with every absent form removed and GUIDs in one case."""
    if isinstance(value, dict):
        out = {k: normalise(v, k) for k, v in value.items()}
        return {k: v for k, v in out.items() if not _absent(v)}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if key in GUID_KEYS and isinstance(value, str):
        return str(uuid.UUID(value))
    return value


def _absent(value: Any) -> bool:
    return any(value == a and type(value) is type(a) for a in ABSENT)


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Every path where ``a`` and ``b`` differ (both normalised)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            if key not in a:
                out.append(f"{path}.{key}: only in the conversion ({b[key]!r:.60})")
            elif key not in b:
                out.append(f"{path}.{key}: only in the WSJF export ({a[key]!r:.60})")
            else:
                out.extend(differences(a[key], b[key], f"{path}.{key}"))
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items in the WSJF export, {len(b)} in the conversion"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in differences(x, y, f"{path}[{i}]")
        ]
    same = a is b if isinstance(a, bool) or isinstance(b, bool) else a == b  # True != 1 here
    return [] if same else [f"{path}: WSJF {a!r}, WSXF {b!r}"]


@pytest.fixture(scope="module")
def wsjf() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((CORPUS / "server_export_uut.json").read_text("utf-8"))
    return doc


@pytest.fixture(scope="module")
def wsxf() -> bytes:
    return (CORPUS / "server_export_uut.xml").read_bytes()


def convert(data: bytes) -> tuple[dict[str, Any], list[str]]:
    warnings: list[str] = []
    (report,) = parse_wsxf(data, "server_export_uut.xml", warn=warnings.append)
    return report, warnings


def test_the_wsxf_export_converts_to_the_wsjf_export(wsjf: dict[str, Any], wsxf: bytes) -> None:
    report, _ = convert(wsxf)
    assert differences(normalise(wsjf), normalise(report)) == []


def test_a_real_export_has_nothing_the_converter_does_not_know(wsxf: bytes) -> None:
    _, warnings = convert(wsxf)
    assert warnings == []


def test_both_twins_give_the_same_submission_through_pywats(
    wsjf: dict[str, Any], wsxf: bytes
) -> None:
    report, _ = convert(wsxf)
    from_xml = pywats.parse_report(report)
    from_json = pywats.parse_report(copy.deepcopy(wsjf))
    from_xml.check()
    a = normalise(from_json.to_wsjf(for_submit=True))
    b = normalise(from_xml.to_wsjf(for_submit=True))
    assert differences(a, b) == []


def test_the_twin_holds_the_fields_this_test_is_about(wsjf: dict[str, Any]) -> None:
    """Guards the fixture: if a feature disappears from it, the twin test proves nothing."""
    text = json.dumps(wsjf)
    for needle in (
        '"endingIndex": 3',
        '"idx": 2',
        '"messagePopup"',
        '"callExe"',
        '"errorCode": -17100',
        '"batchFailCount": 2',
        '"stepIdCausedUUTFailure": 4',
        '"chart"',
        '"attachment"',
        '"IgnoreCase"',
        '"startUTC"',
    ):
        assert needle in text, needle


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b'NumericValue="3.31"', b'NumericValue="3.32"'),
        (b'<Loop index="1" />', b'<Loop index="7" />'),
        (b'ending_index="3"', b'ending_index="4"'),
        (b'Response="Retry"', b'Response="Cancel"'),
        (b'ExitCode="17232"', b'ExitCode="1"'),
        (b'BatchFailCount="2"', b'BatchFailCount="3"'),
        (b'StepErrorMessage="Executable', b'StepErrorMessage="Program'),
        (b'StepCausedUUTFailure="true"', b'StepCausedUUTFailure="false"'),
        (b"<xdata>10;100;1000;10000</xdata>", b"<xdata>10;100;1000;20000</xdata>"),
    ],
)
def test_the_twin_comparison_notices_a_changed_value(
    wsjf: dict[str, Any], wsxf: bytes, old: bytes, new: bytes
) -> None:
    assert wsxf.count(old) >= 1, old
    report, _ = convert(wsxf.replace(old, new, 1))
    assert differences(normalise(wsjf), normalise(report)) != []
