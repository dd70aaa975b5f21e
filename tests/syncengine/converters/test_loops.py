"""normalize_loops: the rewrite, its record, its key, its configuration, and the refusal hints."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncengine._config import EngineConfig, WatchFolder
from syncengine._ingest import build_submissions, submission_key
from syncengine.converters import Conversion, normalize_loops, refusal_hint
from tests.watsim.examples import (
    REFUSED_LOOPS_LINES,
    example_uut,
    export_loops_uut,
    minimal_uut,
    refused_loops_uut,
)
from watsim import validate_report


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    return report["root"]["steps"][0]["steps"][0]["loop"]


def test_an_export_loop_is_rewritten_to_what_the_server_accepts() -> None:
    report = export_loops_uut()
    assert validate_report(report)
    fixed, changes = normalize_loops(report)
    assert validate_report(fixed) == []
    assert changes == [
        {
            "path": "root -> step Loops -> loop Voltage loop",
            "field": "endingIndex",
            "old": 3,
            "new": 2,
        }
    ]
    assert _summary(fixed) == {"idx": None, "num": 3, "endingIndex": 2, "passed": 3, "failed": 0}


def test_only_the_summary_changes() -> None:
    report = export_loops_uut()
    fixed, _changes = normalize_loops(report)
    _summary(fixed)["endingIndex"] = 3
    assert fixed == report


def test_the_input_is_not_modified() -> None:
    report = export_loops_uut()
    before = copy.deepcopy(report)
    normalize_loops(report)
    assert report == before


def test_a_second_pass_changes_nothing() -> None:
    fixed, _ = normalize_loops(export_loops_uut())
    again, changes = normalize_loops(fixed)
    assert changes == []
    assert again == fixed


def test_a_report_without_loop_summaries_is_left_alone() -> None:
    report = example_uut()
    fixed, changes = normalize_loops(report)
    assert (fixed, changes) == (report, [])


def test_a_summary_without_iterations_keeps_its_count() -> None:
    report = export_loops_uut()
    del report["root"]["steps"][0]["steps"][1:]
    _summary(report).update(num=4, endingIndex=9)
    fixed, changes = normalize_loops(report)
    assert (_summary(fixed)["num"], _summary(fixed)["endingIndex"]) == (4, 3)
    assert [c["field"] for c in changes] == ["endingIndex"]


def test_limits_and_statuses_are_not_rewritten() -> None:
    fixed, changes = normalize_loops(refused_loops_uut())
    assert {c["field"] for c in changes} == {"endingIndex", "num"}
    remaining = [str(r) for r in validate_report(fixed)]
    assert remaining == [REFUSED_LOOPS_LINES[0], REFUSED_LOOPS_LINES[2]]


@pytest.mark.parametrize(
    "root",
    [
        None,
        [],
        {"steps": "x"},
        {"steps": [None, 1, {"loop": 5}, {"loop": {"num": "many"}}]},
        # str.isdigit() takes these, int() does not: a crash here kept the file in the inbox,
        # retried at every scan, instead of a report refused with one clear line.
        {"steps": [{"name": "a", "loop": {"idx": None, "num": "--2"}}]},
        {"steps": [{"name": "a", "loop": {"idx": None, "num": "\u00b2"}}]},
    ],
)
def test_garbage_shapes_are_left_as_they_are(root: object) -> None:
    report = export_loops_uut()
    report["root"] = root
    fixed, changes = normalize_loops(report)
    assert fixed == report
    assert changes == []


# -- refusal hints ------------------------------------------------------------------------------


@pytest.mark.parametrize("line", REFUSED_LOOPS_LINES[1:2] + REFUSED_LOOPS_LINES[3:])
def test_a_loop_count_refusal_points_at_normalize_loops(line: str) -> None:
    hint = refusal_hint(f"HTTP 400 Bad Request: {line}")
    assert hint is not None and "normalize_loops = true" in hint


def test_a_limit_refusal_says_no_option_fixes_it() -> None:
    hint = refusal_hint(REFUSED_LOOPS_LINES[2])
    assert hint is not None and "no option rewrites limits" in hint


def test_the_whole_four_line_answer_gets_every_hint() -> None:
    hint = refusal_hint("\n".join(REFUSED_LOOPS_LINES)) or ""
    assert "normalize_loops = true" in hint
    assert "limits" in hint and "statuses" in hint


@pytest.mark.parametrize("message", [None, "", "HTTP 400: report.pn: must not be empty"])
def test_other_refusals_get_no_hint(message: str | None) -> None:
    assert refusal_hint(message) is None


# -- the ingest hook ----------------------------------------------------------------------------


def _conversion(reports: list[dict[str, Any]]) -> Conversion:
    return Conversion(reports=reports, converter="wsjf", version="1")


def test_without_the_option_the_file_report_is_sent_as_it_is(tmp_path: Path) -> None:
    report = export_loops_uut()
    items = build_submissions(tmp_path / "f.json", "ab" * 32, 10, _conversion([report]))
    key, payload, source = items[0]
    assert key == submission_key("ab" * 32, 0)
    assert _summary(payload)["endingIndex"] == 3
    assert "normalize_loops" not in source


def test_with_the_option_the_rewrite_is_recorded_and_keyed_apart(tmp_path: Path) -> None:
    report = export_loops_uut()
    items = build_submissions(
        tmp_path / "f.json", "ab" * 32, 10, _conversion([report]), normalize_loops=True
    )
    key, payload, source = items[0]
    assert key != submission_key("ab" * 32, 0)
    assert key == submission_key("ab" * 32, 0, "normalize_loops")
    assert payload["id"] == report["id"]  # the server still overwrites by the file's own id
    assert validate_report(payload) == []
    assert source["normalize_loops"]["rewritten"] is True
    assert source["normalize_loops"]["changes"][0]["field"] == "endingIndex"
    json.dumps(source)  # the record is journal-ready JSON


def test_with_the_option_an_untouched_report_keeps_its_key(tmp_path: Path) -> None:
    items = build_submissions(
        tmp_path / "f.json", "cd" * 32, 10, _conversion([example_uut()]), normalize_loops=True
    )
    assert items[0][0] == submission_key("cd" * 32, 0)
    assert "normalize_loops" not in items[0][2]


# -- configuration ------------------------------------------------------------------------------


def _config(tmp_path: Path, **values: Any) -> EngineConfig:
    return EngineConfig(
        server_url="http://127.0.0.1:1", token="t", journal_path=tmp_path / "j.db", **values
    )


def test_it_is_off_by_default(tmp_path: Path) -> None:
    config = _config(tmp_path, watch=[WatchFolder(path=tmp_path)])
    assert config.normalize_loops is False
    assert config.watch[0].normalize_loops is False


def test_folders_inherit_the_engine_setting_unless_they_set_their_own(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        normalize_loops=True,
        watch=[
            WatchFolder(path=tmp_path / "a"),
            WatchFolder(path=tmp_path / "b", normalize_loops=False),
        ],
    )
    assert [f.normalize_loops for f in config.watch] == [True, False]


# -- properties: the rewrite always satisfies the server's count rules ----------------------------

_COUNTS = st.one_of(st.none(), st.integers(-3, 12), st.sampled_from(["3", 2.0, True, "x"]))


@st.composite
def _loop_reports(draw: st.DrawFn) -> dict[str, Any]:
    """A report with 1..3 loops of random shape (indices, counts, types, order)."""
    steps: list[dict[str, Any]] = []
    for number in range(draw(st.integers(1, 3))):
        name = f"L{number}"
        indexes = draw(st.lists(st.integers(0, 8), max_size=5))
        loop = {"idx": None, "num": draw(_COUNTS), "endingIndex": draw(_COUNTS)}
        group = [{"id": 1, "name": name, "status": "P", "loop": loop}]
        group += [{"id": 2, "name": name, "status": "P", "loop": {"idx": i}} for i in indexes]
        steps += draw(st.permutations(group))
    report = minimal_uut("3d1f5a7c-9b2e-4c8d-a6f0-1e2d3c4b5a69")
    report["root"]["steps"] = [{"id": 0, "name": "Seq", "status": "P", "steps": steps}]
    return report


@settings(max_examples=300, deadline=None)
@given(_loop_reports())
def test_rewritten_loops_pass_the_servers_count_rules(report: dict[str, Any]) -> None:
    fixed, changes = normalize_loops(report)
    counts = {"loop_num", "loop_ending_index"}
    left = [r for r in validate_report(fixed) if r.rule in counts]
    summaries = [s["loop"] for s in fixed["root"]["steps"][0]["steps"] if s["id"] == 1]
    # Only a summary with neither iterations nor a usable num is left as it was.
    unfixable = [s for s in summaries if not isinstance(s.get("num"), int) or s["num"] is True]
    assert not left or unfixable
    assert normalize_loops(fixed)[1] == []
    assert all(c["path"].startswith("root -> step Seq -> loop L") for c in changes)


def test_a_deeply_nested_report_is_rewritten_without_recursion(tmp_path: Path) -> None:
    # ~900 JSON levels: json reads it, copy.deepcopy (two frames a level) did not copy it.
    report = export_loops_uut()
    node = report["root"]
    for depth in range(450):
        child: dict[str, Any] = {"id": 1000 + depth, "name": "n", "status": "P", "steps": []}
        node["steps"] = [*node.get("steps", []), child]
        node = child
    report = json.loads(json.dumps(report))
    fixed, changes = normalize_loops(report)
    assert changes == normalize_loops(export_loops_uut())[1]
    assert fixed["root"]["steps"][-1] is not report["root"]["steps"][-1]
    assert _summary(fixed)["num"] == _summary(fixed)["endingIndex"] + 1
