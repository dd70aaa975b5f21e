# ruff: noqa: E501  (the example reports are kept verbatim from WATS-API-NOTES.md)
"""The vendor-style example reports from WATS-API-NOTES.md, verbatim, for round-trip tests.

Other test packages may import these (``from tests.watsim.examples import example_uut``); the
functions return fresh copies so a test can change one without affecting another.
"""

from __future__ import annotations

import copy
import json
from typing import Any

_UUT = json.loads(
    r"""
{"type":"T","id":"6f1c2a9e-3b7d-4c55-9a0e-2d8f4b1c7e10","pn":"PCBA-1001","sn":"SN-000123","rev":"B",
 "processCode":10,"result":"F","machineName":"ICT-STATION-01","location":"Line 2","purpose":"Production",
 "start":"2026-03-01T09:15:02.125+01:00",
 "uut":{"user":"operator1","execTime":12.5,"fixtureId":"FX-7","testSocketIndex":0,"batchSN":"LOT-42"},
 "miscInfos":[{"description":"Firmware","text":"1.4.2"}],
 "subUnits":[{"partType":"PSU","pn":"PSU-20","rev":"A","sn":"PSU-777"}],
 "assets":[{"sn":"DMM-0042","usageCount":1}],
 "root":{"id":1,"group":"M","stepType":"SequenceCall","name":"MainSequence Callback","status":"F",
  "seqCall":{"path":"C:/seq/Main.seq","name":"Main.seq","version":"1.0.0"},
  "steps":[
   {"id":2,"group":"M","stepType":"ET_NLT","name":"3V3 rail","status":"P","totTime":0.012,
    "numericMeas":[{"compOp":"GELE","status":"P","unit":"V","value":3.31,"lowLimit":3.2,"highLimit":3.4}]},
   {"id":3,"group":"M","stepType":"ET_MNLT","name":"Currents","status":"F","numericMeas":[
    {"name":"Idle","compOp":"LT","status":"P","unit":"mA","value":42.0,"lowLimit":50.0},
    {"name":"Load","compOp":"GELT","status":"F","unit":"mA","value":910.0,"lowLimit":100.0,"highLimit":900.0}]},
   {"id":4,"group":"M","stepType":"ET_PFT","name":"LED check","status":"P","booleanMeas":[{"status":"P"}]},
   {"id":5,"group":"M","stepType":"ET_SVT","name":"FW version","status":"P",
    "stringMeas":[{"compOp":"IGNORECASE","status":"P","value":"v1.4.2","limit":"V1.4.2"}]},
   {"id":6,"group":"M","stepType":"WATS_XYGMNLT","name":"Ramp","status":"P",
    "numericMeas":[{"compOp":"LOG","status":"P","unit":"V","value":1.0}],
    "chart":{"chartType":"Line","label":"Ramp","xLabel":"t","xUnit":"s","yLabel":"U","yUnit":"V",
     "series":[{"dataType":"XYG","name":"U(t)","xdata":"0;1;2","ydata":"0;0.5;1.0"}]}},
   {"id":7,"group":"M","stepType":"Action","name":"Log image","status":"D",
    "attachment":{"name":"board.png","contentType":"image/png","data":"iVBORw0KGgo="}},
   {"id":8,"group":"M","stepType":"SequenceCall","name":"Retest loop","status":"P","loop":{"i":0,"n":2},
    "seqCall":{"path":"C:/seq/Sub.seq","name":"Sub.seq","version":"1.0.0"},"steps":[]}]}}
"""
)

_UUR = json.loads(
    r"""
{"type":"R","id":"0b6e9d42-8c1a-4f7e-b3d2-5a9c1e0f4d21","pn":"PCBA-1001","sn":"SN-000123","rev":"B",
 "processCode":500,"result":"P","machineName":"REPAIR-01","location":"Line 2","purpose":"Repair",
 "start":"2026-03-01T11:02:00+01:00",
 "uur":{"user":"tech1","comment":"Replaced R12","processCode":10,"refUUT":"6f1c2a9e-3b7d-4c55-9a0e-2d8f4b1c7e10",
        "confirmDate":"2026-03-01T10:05:00Z","finalizeDate":"2026-03-01T10:06:00Z","execTime":240.0},
 "subUnits":[{"partType":"Main","pn":"PCBA-1001","rev":"B","sn":"SN-000123","idx":0,
   "failures":[{"category":"Component","code":"Wrong value","comRef":"R12","comment":"Load current too high","refStepId":3}]}],
 "miscInfos":[]}
"""
)


def example_uut() -> dict[str, Any]:
    """A fresh copy of the example UUT (SequenceCall root; numeric, multi-numeric, pass/fail,
    string, chart, action and nested sequence steps)."""
    return copy.deepcopy(_UUT)


def example_uur() -> dict[str, Any]:
    """A fresh copy of the example UUR (repair of the example UUT)."""
    return copy.deepcopy(_UUR)


def minimal_uut(report_id: str, **changes: Any) -> dict[str, Any]:
    """A small valid UUT with ``report_id``; ``changes`` override top-level fields."""
    report: dict[str, Any] = {
        "type": "T",
        "id": report_id,
        "pn": "PN-1",
        "sn": "SN-1",
        "rev": "A",
        "processCode": 10,
        "result": "P",
        "machineName": "STATION-1",
        "location": "Line 1",
        "purpose": "Production",
        "start": "2026-03-01T09:00:00+01:00",
        "root": {"id": 1, "stepType": "SequenceCall", "name": "Main", "status": "P", "steps": []},
    }
    report.update(changes)
    return report


def _step(step_id: int, name: str, status: str = "P", **more: Any) -> dict[str, Any]:
    return {"id": step_id, "group": "M", "name": name, "status": status, **more}


def _numeric(step_id: int, name: str, loop: dict[str, Any], low: float = 1.0) -> dict[str, Any]:
    meas = {"compOp": "GELE", "status": "P", "value": 1.5, "lowLimit": low, "highLimit": 2.0}
    return _step(step_id, name, stepType="ET_NLT", numericMeas=[meas], loop=loop)


def _string_seq(step_id: int, name: str, loop: dict[str, Any], limit: str) -> dict[str, Any]:
    meas = {"compOp": "IgnoreCase", "status": "P", "value": "ok", "limit": limit}
    child = _step(step_id * 100, "StringStep", stepType="ET_SVT", stringMeas=[meas])
    return _step(step_id, name, stepType="SequenceCall", loop=loop, steps=[child])


def _summary(num: int, ending: int, passed: int = 3, failed: int = 0) -> dict[str, Any]:
    return {"idx": None, "num": num, "endingIndex": ending, "passed": passed, "failed": failed}


def _seq(step_id: int, name: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
    return _step(step_id, name, stepType="SequenceCall", steps=steps)


def export_loops_uut(report_id: str = "3d1f5a7c-9b2e-4c8d-a6f0-1e2d3c4b5a69") -> dict[str, Any]:
    """A UUT with one numeric loop in the shape a server export gives it.

    The summary says ``num 3, endingIndex 3`` for iterations 0..2: the server's import refuses
    it ("num is required to be one more than endingIndex"); ``normalize_loops`` fixes it.
    """
    iterations = [_numeric(10 + i, "Voltage loop", {"idx": i}) for i in range(3)]
    summary = _numeric(9, "Voltage loop", _summary(3, 3))
    report = minimal_uut(report_id)
    report["root"]["steps"] = [_seq(2, "Loops", [summary, *iterations])]
    return report


#: What the real server answers for :func:`refused_loops_uut` (WATS-API-NOTES.md section 4).
REFUSED_LOOPS_LINES = (
    "root -> step Pass/Fail tests -> step SinglePassDone: "
    "Status cannot be different from measurement status.",
    "root -> step Loops -> step SequenceCallLoopSequence -> loop SequenceCallLoop: "
    "endingIndex is required to be the same as highest index.",
    "root -> step Loops -> step SequenceCallLoopSequence -> loop SequenceCallLoop2 -> Index 2 "
    "-> step StringStep -> stringMeas: limit is required to match Summary step.",
    "root -> step Loops -> step NumericLimitMultipleLoopsSequence -> loop "
    "NumericLimitMultipleLoops2: num is required to be one more than endingIndex.",
)


def refused_loops_uut(report_id: str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d") -> dict[str, Any]:
    """A UUT the real server refuses with exactly :data:`REFUSED_LOOPS_LINES`."""
    pass_fail = _seq(
        2,
        "Pass/Fail tests",
        [_step(3, "SinglePassDone", "D", stepType="ET_PFT", booleanMeas=[{"status": "P"}])],
    )
    loop1 = [_string_seq(20 + i, "SequenceCallLoop", {"idx": i}, "ok") for i in range(3)]
    loop1.insert(0, _string_seq(19, "SequenceCallLoop", _summary(4, 3), "ok"))
    loop2 = [_string_seq(30 + i, "SequenceCallLoop2", {"idx": i}, "ok") for i in range(3)]
    loop2[2]["steps"][0]["stringMeas"][0]["limit"] = "OK?"
    loop2.insert(0, _string_seq(29, "SequenceCallLoop2", _summary(3, 2), "ok"))
    loop3 = [_numeric(40 + i, "NumericLimitMultipleLoops2", {"idx": i}) for i in range(3)]
    loop3.insert(0, _numeric(39, "NumericLimitMultipleLoops2", _summary(3, 3)))
    loops = _seq(
        4,
        "Loops",
        [
            _seq(5, "SequenceCallLoopSequence", loop1 + loop2),
            _seq(6, "NumericLimitMultipleLoopsSequence", loop3),
        ],
    )
    report = minimal_uut(report_id, result="F")
    report["root"]["steps"] = [pass_fail, loops]
    return report
