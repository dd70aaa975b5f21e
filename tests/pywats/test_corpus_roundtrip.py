"""The report corpus (tests/fixtures/reports): every report survives parse -> dump unchanged.

The corpus stands for real exports and for what TestStand- and vendor-library-made stations
write (see its README). Equality is on canonical JSON text, so 1 vs 1.0, "10" vs 10 and
"IgnoreCase" vs "IGNORECASE" all count as differences.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pywats

from . import samples

pytestmark = pytest.mark.filterwarnings("error")

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "reports"
FILES = sorted(CORPUS.glob("*.json"))


def canonical(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, ensure_ascii=False)


def load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def steps(step: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield step
    for child in step.get("steps") or []:
        yield from steps(child)


def test_the_corpus_is_there() -> None:
    assert len(FILES) >= 6


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_corpus_report_round_trips_exactly(path: Path) -> None:
    doc = load(path)
    original = copy.deepcopy(doc)
    report = pywats.parse_report(doc)
    assert canonical(report.to_wsjf()) == canonical(original)
    assert canonical(doc) == canonical(original), "parse_report changed its input"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_corpus_report_passes_the_header_checks(path: Path) -> None:
    pywats.parse_report(load(path)).check()


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_for_submit_drops_only_the_output_only_fields(path: Path) -> None:
    doc = load(path)
    expected = {k: v for k, v in doc.items() if k not in pywats.OUTPUT_ONLY_FIELDS}
    out = pywats.parse_report(doc).to_wsjf(for_submit=True)
    assert canonical(out) == canonical(expected)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_known_step_types_get_their_class_in_any_case(path: Path) -> None:
    report = pywats.parse_report(load(path))
    if not isinstance(report, pywats.UUTReport):
        return
    known = {name.casefold() for name in pywats.STEP_CLASSES}
    for step in report.root.walk():
        folded = (step.step_type or "").casefold()
        if folded in known:
            expected = pywats.STEP_CLASSES[
                next(n for n in pywats.STEP_CLASSES if n.casefold() == folded)
            ]
            assert type(step) is expected, step.step_type
        elif not folded.startswith("ni_flow_"):
            assert type(step) is pywats.UnknownStep, step.step_type


def test_the_corpus_covers_every_step_type_and_report_feature() -> None:
    docs = [load(p) for p in FILES]
    uuts = [d for d in docs if d["type"].upper() == "T"]
    all_steps = [s for d in uuts for s in steps(d["root"])]
    types = {s["stepType"].casefold() for s in all_steps}
    for long_name, short_name, _ in samples.STEP_TYPES:
        assert long_name.casefold() in types or (short_name or "").casefold() in types, long_name
    loops = [s["loop"] for s in all_steps if s.get("loop")]
    assert any(loop.get("idx") is None and loop.get("num") for loop in loops), "export summary"
    assert any(loop.get("idx") is not None for loop in loops), "export iteration"
    assert any("i" in loop for loop in loops), "submit form"
    assert any(s.get("messagePopup") for s in all_steps)
    assert any(s.get("callExe") for s in all_steps)
    assert any(s.get("chart") for s in all_steps)
    assert any(s.get("attachment") for s in all_steps)
    assert any(s.get("additionalResults") for s in all_steps)
    assert any(d.get("binaryData") for d in docs)
    assert any(d.get("additionalData") for d in docs)
    assert all(d.get("miscInfos") for d in docs)
    assert any(d.get("subUnits") for d in docs)
    uurs = [d for d in docs if d["type"].upper() == "R"]
    assert len(uurs) >= 2
    assert all({"confirmDate", "finalizeDate", "active"} <= set(d["uur"]) for d in uurs)
    assert any(f for d in uurs for unit in d["subUnits"] for f in unit.get("failures") or []), (
        "failures"
    )


def test_a_hand_written_station_file_reads_strings_as_numbers_and_any_case_enums() -> None:
    report = pywats.parse_report(load(CORPUS / "station_strings_uut.json"))
    assert isinstance(report, pywats.UUTReport)
    assert report.process_code == 10
    assert report.result is pywats.Status.PASSED
    step = report.root.steps[0]  # type: ignore[index]
    assert isinstance(step, pywats.NumericLimitStep)
    meas = step.numeric_meas[0]  # type: ignore[index]
    assert (meas.value, meas.low_limit, meas.comp_op) == (3.31, 3.2, pywats.CompOp.GELE)


def test_a_server_export_reads_mixed_case_comp_ops_as_the_enum() -> None:
    report = pywats.parse_report(load(CORPUS / "server_export_uut.json"))
    assert isinstance(report, pywats.UUTReport)
    ops = {
        m.comp_op for step in report.root.walk() for m in getattr(step, "string_meas", None) or []
    }
    assert pywats.CompOp.IGNORECASE in ops and pywats.CompOp.CASESENSIT in ops
