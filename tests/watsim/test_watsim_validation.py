"""The real server's documented report rules: the function and the simulator's 400 answer."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import httpx
import pytest

from tests.watsim.examples import (
    REFUSED_LOOPS_LINES,
    example_uur,
    example_uut,
    export_loops_uut,
    minimal_uut,
    refused_loops_uut,
)
from watsim import Simulator, validate_report
from watsim._validation import RULE_MESSAGES


def _lines(report: dict[str, Any]) -> list[str]:
    return [str(refusal) for refusal in validate_report(report)]


def test_the_notes_example_gives_the_servers_four_lines_in_tree_order() -> None:
    assert _lines(refused_loops_uut()) == list(REFUSED_LOOPS_LINES)


def test_each_refusal_names_its_rule() -> None:
    rules = [r.rule for r in validate_report(refused_loops_uut())]
    assert rules == ["measurement_status", "loop_ending_index", "loop_limit", "loop_num"]
    assert {r.message for r in validate_report(refused_loops_uut())} == set(RULE_MESSAGES.values())


def test_the_example_reports_pass() -> None:
    assert validate_report(example_uut()) == []
    assert validate_report(example_uur()) == []


def test_a_server_export_loop_is_refused_for_its_count() -> None:
    assert _lines(export_loops_uut()) == [
        "root -> step Loops -> loop Voltage loop: num is required to be one more than endingIndex."
    ]


def test_a_consistent_loop_passes() -> None:
    report = export_loops_uut()
    report["root"]["steps"][0]["steps"][0]["loop"].update(num=3, endingIndex=2)
    assert validate_report(report) == []


def test_ending_index_must_be_the_highest_iteration_index() -> None:
    report = export_loops_uut()
    report["root"]["steps"][0]["steps"][0]["loop"].update(num=5, endingIndex=4)
    assert [r.rule for r in validate_report(report)] == ["loop_ending_index"]


def test_numeric_iteration_limits_must_match_the_summary() -> None:
    report = export_loops_uut()
    report["root"]["steps"][0]["steps"][0]["loop"].update(num=3, endingIndex=2)
    report["root"]["steps"][0]["steps"][2]["numericMeas"][0]["lowLimit"] = 0.5
    assert _lines(report) == [
        "root -> step Loops -> loop Voltage loop -> Index 1 -> numericMeas: "
        "limit is required to match Summary step."
    ]


def test_limits_given_as_strings_compare_as_numbers() -> None:
    report = export_loops_uut()
    report["root"]["steps"][0]["steps"][0]["loop"].update(num=3, endingIndex=2)
    report["root"]["steps"][0]["steps"][1]["numericMeas"][0]["lowLimit"] = "1.0"
    assert validate_report(report) == []


@pytest.mark.parametrize(
    ("step_status", "meas_status", "refused"),
    [("D", "P", True), ("P", "P", False), ("Passed", "P", False), ("passed", "Failed", True)],
)
def test_single_measurement_status_must_match_the_step(
    step_status: str, meas_status: str, refused: bool
) -> None:
    report = minimal_uut(str(uuid.uuid4()))
    step = {"id": 2, "name": "S", "status": step_status, "booleanMeas": [{"status": meas_status}]}
    report["root"]["steps"] = [step]
    assert bool(validate_report(report)) is refused


def test_multi_measurement_steps_are_not_held_to_one_status() -> None:
    report = minimal_uut(str(uuid.uuid4()))
    metas = [{"name": "a", "status": "P"}, {"name": "b", "status": "F"}]
    report["root"]["steps"] = [{"id": 2, "name": "M", "status": "F", "booleanMeas": metas}]
    assert validate_report(report) == []


def test_the_submit_loop_shape_is_not_a_summary() -> None:
    report = minimal_uut(str(uuid.uuid4()))
    report["root"]["steps"] = [{"id": 2, "name": "L", "status": "P", "loop": {"i": 0, "n": 2}}]
    assert validate_report(report) == []


@pytest.mark.parametrize(
    "root",
    [
        None,
        "text",
        {"steps": "not a list"},
        {"steps": [1, None, "x", {"loop": "bad"}, {"loop": {"idx": "x", "num": None}}]},
        {"steps": [{"name": None, "loop": {"idx": None, "num": "3", "endingIndex": []}}]},
        {
            "steps": [
                {"name": "a", "loop": {"idx": None, "num": "--2", "endingIndex": "\u00b2"}},
                {"name": "a", "loop": {"idx": "-"}},
                {"name": "a", "loop": {"idx": "\u00b9"}},
            ]
        },
    ],
)
def test_garbage_shapes_are_skipped_not_crashed_on(root: object) -> None:
    report = minimal_uut(str(uuid.uuid4()))
    report["root"] = root
    assert isinstance(validate_report(report), list)


def test_deep_nesting_does_not_overflow() -> None:
    report = minimal_uut(str(uuid.uuid4()))
    node = report["root"]
    for depth in range(2000):
        child: dict[str, Any] = {"id": depth, "name": "n", "status": "P", "steps": []}
        node["steps"] = [child]
        node = child
    assert validate_report(report) == []


# -- the simulator's answer ------------------------------------------------------------------


def test_simulator_refuses_with_the_servers_text_and_stores_nothing(
    http: httpx.Client, sim: Simulator
) -> None:
    report = refused_loops_uut()
    response = http.post("/api/Report/WSJF", json=report)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.splitlines() == list(REFUSED_LOOPS_LINES)
    assert sim.report(report["id"]) is None
    assert sim.stats()["distinct_reports"] == 0


def test_simulator_accepts_the_same_report_once_its_loops_are_consistent(
    http: httpx.Client, sim: Simulator
) -> None:
    report = export_loops_uut()
    assert http.post("/api/Report/WSJF", json=report).status_code == 400
    fixed = copy.deepcopy(report)
    fixed["root"]["steps"][0]["steps"][0]["loop"].update(num=3, endingIndex=2)
    assert http.post("/api/Report/WSJF", json=fixed).status_code == 200
    assert sim.stats()["receive_counts"] == {report["id"]: 1}


def test_rules_can_be_switched_off(sim_factory: Any, sim_token: str) -> None:
    lax = sim_factory(enforce_rules=False)
    with httpx.Client(base_url=lax.base_url, headers={"Authorization": f"Basic {sim_token}"}) as c:
        assert c.post("/api/Report/WSJF", json=refused_loops_uut()).status_code == 200
