"""The example plugin in docs/converters.md is real: it loads and converts in a worker."""

from __future__ import annotations

import re
from pathlib import Path

from pywats import parse_report
from syncengine.converters import WorkerPool, discover

DOC = Path(__file__).resolve().parents[3] / "docs" / "converters.md"


def _example(tmp_path: Path) -> str:
    code = re.search(r"```python\n(# acme_ict\.py.*?)```", DOC.read_text(), re.S)
    assert code is not None, "example plugin block missing from docs/converters.md"
    path = tmp_path / "acme_ict.py"
    path.write_text(code.group(1))
    return str(path)


def test_documented_example_plugin_is_accepted(tmp_path):
    found = discover([_example(tmp_path)], entry_points=False)
    assert "acme_ict" in found.converters and not found.refused


def test_documented_example_plugin_converts_a_file_to_a_valid_report(tmp_path):
    sample = tmp_path / "board.acme"
    sample.write_text(
        "#ACME-ICT v2\nsn=SN-1\npn=PCBA-9\nstart=2026-03-01T08:00:00+01:00\n"
        "R12;1003.5;990;1010;Ohm\nC4;0.2;0.09;0.11;uF\n"
    )
    with WorkerPool([_example(tmp_path)], workers=1, timeout_s=30) as pool:
        result = pool.convert(sample, options={"process_code": 30}, station_name="ICT-7")
    (report,) = result.reports
    assert (result.converter, report["result"], report["processCode"]) == ("acme_ict", "F", 30)
    parse_report({**report, "id": "00000000-0000-4000-8000-000000000000"}).check()
