"""Bad input: mutated files through every built-in converter and mutated reports through
``pywats.parse_report`` give a result or a clear error, never a crash or a hang.

``WATS_TORTURE_SCALE=5`` runs 10,000 inputs (2,000 per target); the CI size is 1,000 per target.
Nothing is tolerated: the sweep fails on any finding. The findings of earlier runs (deep
nesting, an unknown declared encoding) are fixed and keep their own regression tests below.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pywats import parse_report
from syncengine.converters import ConversionContext, ConversionError, WsjfConverter, WsxfConverter
from tools.torture._fuzz import run_all


@pytest.fixture(scope="module")
def fuzz_results(tmp_path_factory: pytest.TempPathFactory, scale: int):
    return run_all(1000 * scale, seed=8, work=tmp_path_factory.mktemp("fuzz"))


def test_fuzz_covers_every_target_with_its_share_of_inputs(fuzz_results, scale: int) -> None:
    assert {r.target for r in fuzz_results} == {"parse_report", "wsjf", "wsxf", "wats_text", "csv"}
    assert all(r.inputs == 1000 * scale for r in fuzz_results)


def test_fuzz_inputs_reach_both_acceptance_and_rejection(fuzz_results) -> None:
    # A fuzzer that only ever produced garbage (or only valid files) would prove nothing.
    for r in fuzz_results:
        accepted = r.outcomes["accepted"] + r.outcomes["parsed"]
        rejected = r.outcomes["conversion_error"] + r.outcomes["rejected"]
        assert accepted > 0 and rejected > 0, (r.target, r.outcomes)


def test_fuzz_finds_nothing(fuzz_results) -> None:
    assert [f for r in fuzz_results for f in r.findings] == []


def _deeply_nested(depth: int) -> object:
    value: object = "T"
    for _ in range(depth):
        value = {"steps": [value]}
    return value


def test_parse_report_rejects_a_deeply_nested_type_value_with_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"\S"):
        parse_report({"type": _deeply_nested(3000)})


def test_wsjf_converter_reports_deeply_nested_json_as_conversion_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(ConversionError, match=r"\S"):
        WsjfConverter().convert(path, ConversionContext())


def test_wsxf_converter_reports_an_unknown_declared_encoding_as_conversion_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "enc.xml"
    path.write_bytes(b'<?xml version="1.0" encoding="utf-bogus"?><Reports/>')
    with pytest.raises(ConversionError, match="encoding"):
        WsxfConverter().convert(path, ConversionContext())
