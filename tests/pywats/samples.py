"""Hand-written WSJF documents: one of every step type, loops, server-export fields."""

from __future__ import annotations

import copy
from typing import Any

UUT_ID = "6f1c2a9e-3b7d-4c55-9a0e-2d8f4b1c7e10"


def step(step_id: int, step_type: str, name: str, **payload: Any) -> dict[str, Any]:
    return {
        "id": step_id,
        "group": "M",
        "stepType": step_type,
        "name": name,
        "status": "P",
        **payload,
    }


NUM = {
    "compOp": "GELE",
    "status": "P",
    "unit": "V",
    "value": 3.31,
    "lowLimit": 3.2,
    "highLimit": 3.4,
}
CHART = {
    "chartType": "Line",
    "label": "Ramp",
    "xLabel": "t",
    "xUnit": "s",
    "yLabel": "U",
    "yUnit": "V",
    "series": [{"dataType": "XYG", "name": "U(t)", "xdata": "0;1;2", "ydata": "0;0.5;1.0"}],
}
SEQ = {"path": "C:/seq/Sub.seq", "name": "Sub.seq", "version": "1.0.0"}

#: (long name, short name or None, payload) for every known step type.
STEP_TYPES: list[tuple[str, str | None, dict[str, Any]]] = [
    ("SequenceCall", "WATS_SeqCall", {"seqCall": SEQ, "steps": []}),
    ("NumericLimitTest", "ET_NLT", {"numericMeas": [NUM]}),
    (
        "MultiNumericLimitTest",
        "ET_MNLT",
        {
            "numericMeas": [
                {**NUM, "name": "a"},
                {
                    "name": "b",
                    "compOp": "LT",
                    "status": "F",
                    "unit": "mA",
                    "value": 42,
                    "lowLimit": 40,
                },
            ]
        },
    ),
    ("PassFailTest", "ET_PFT", {"booleanMeas": [{"status": "P"}]}),
    (
        "MultiBooleanTest",
        "ET_MPFT",
        {"booleanMeas": [{"name": "x", "status": "P"}, {"name": "y", "status": "F"}]},
    ),
    (
        "StringValueTest",
        "ET_SVT",
        {
            "stringMeas": [
                {"compOp": "IGNORECASE", "status": "P", "value": "v1.4.2", "limit": "V1.4.2"}
            ]
        },
    ),
    (
        "MultiStringTest",
        "ET_MSVT",
        {
            "stringMeas": [
                {"name": "a", "compOp": "CASESENSIT", "status": "P", "value": "x", "limit": "x"},
                {"name": "b", "compOp": "LOG", "status": "P", "value": "y"},
            ]
        },
    ),
    ("WATS_XYGMNLT", None, {"numericMeas": [{**NUM, "compOp": "LOG"}], "chart": CHART}),
    ("Chart", None, {"chart": CHART}),
    ("Action", "ET_A", {}),
    ("GenericTest", None, {}),
    ("Goto", None, {}),
    ("Label", None, {}),
    ("Statement", None, {}),
    ("NI_Flow_If", None, {}),
    ("NI_Wait", None, {}),
    ("NI_Lock", None, {}),
    ("CallExecutable", None, {"callExe": {"exitCode": 0}}),
    ("MessagePopup", None, {"messagePopup": {"response": "OK", "button": 1}}),
    ("DoWhile", None, {"vendorThing": [1, 2.0, None, {"deep": True}]}),
    ("NI_IVIDmm", None, {}),
]


def all_step_types_uut() -> dict[str, Any]:
    """A UUT whose root holds every step type under both its names."""
    steps: list[dict[str, Any]] = []
    n = 2
    for long_name, short_name, payload in STEP_TYPES:
        for type_name in filter(None, (long_name, short_name)):
            steps.append(step(n, type_name, f"{type_name} step", **copy.deepcopy(payload)))
            n += 1
    return {**example_uut(), "root": {**example_uut()["root"], "steps": steps}}


def example_uut() -> dict[str, Any]:
    """The UUT example of WATS-API-NOTES.md, verbatim (a fresh deep copy each call)."""
    return copy.deepcopy(_EXAMPLE_UUT)


_EXAMPLE_UUT: dict[str, Any] = {
    "type": "T",
    "id": UUT_ID,
    "pn": "PCBA-1001",
    "sn": "SN-000123",
    "rev": "B",
    "processCode": 10,
    "result": "F",
    "machineName": "ICT-STATION-01",
    "location": "Line 2",
    "purpose": "Production",
    "start": "2026-03-01T09:15:02.125+01:00",
    "uut": {
        "user": "operator1",
        "execTime": 12.5,
        "fixtureId": "FX-7",
        "testSocketIndex": 0,
        "batchSN": "LOT-42",
    },
    "miscInfos": [{"description": "Firmware", "text": "1.4.2"}],
    "subUnits": [{"partType": "PSU", "pn": "PSU-20", "rev": "A", "sn": "PSU-777"}],
    "assets": [{"sn": "DMM-0042", "usageCount": 1}],
    "root": {
        "id": 1,
        "group": "M",
        "stepType": "SequenceCall",
        "name": "MainSequence Callback",
        "status": "F",
        "seqCall": {"path": "C:/seq/Main.seq", "name": "Main.seq", "version": "1.0.0"},
        "steps": [
            {
                "id": 2,
                "group": "M",
                "stepType": "ET_NLT",
                "name": "3V3 rail",
                "status": "P",
                "totTime": 0.012,
                "numericMeas": [NUM],
            },
            {
                "id": 3,
                "group": "M",
                "stepType": "ET_MNLT",
                "name": "Currents",
                "status": "F",
                "numericMeas": [
                    {
                        "name": "Idle",
                        "compOp": "LT",
                        "status": "P",
                        "unit": "mA",
                        "value": 42.0,
                        "lowLimit": 50.0,
                    },
                    {
                        "name": "Load",
                        "compOp": "GELT",
                        "status": "F",
                        "unit": "mA",
                        "value": 910.0,
                        "lowLimit": 100.0,
                        "highLimit": 900.0,
                    },
                ],
            },
            {
                "id": 4,
                "group": "M",
                "stepType": "ET_PFT",
                "name": "LED check",
                "status": "P",
                "booleanMeas": [{"status": "P"}],
            },
            {
                "id": 5,
                "group": "M",
                "stepType": "ET_SVT",
                "name": "FW version",
                "status": "P",
                "stringMeas": [
                    {
                        "compOp": "IGNORECASE",
                        "status": "P",
                        "value": "v1.4.2",
                        "limit": "V1.4.2",
                    }
                ],
            },
            {
                "id": 6,
                "group": "M",
                "stepType": "WATS_XYGMNLT",
                "name": "Ramp",
                "status": "P",
                "numericMeas": [{"compOp": "LOG", "status": "P", "unit": "V", "value": 1.0}],
                "chart": CHART,
            },
            {
                "id": 7,
                "group": "M",
                "stepType": "Action",
                "name": "Log image",
                "status": "D",
                "attachment": {
                    "name": "board.png",
                    "contentType": "image/png",
                    "data": "iVBORw0KGgo=",
                },
            },
            {
                "id": 8,
                "group": "M",
                "stepType": "SequenceCall",
                "name": "Retest loop",
                "status": "P",
                "loop": {"i": 0, "n": 2},
                "seqCall": SEQ,
                "steps": [],
            },
        ],
    },
}


def example_uur() -> dict[str, Any]:
    """The UUR example of WATS-API-NOTES.md, verbatim."""
    return {
        "type": "R",
        "id": "0b6e9d42-8c1a-4f7e-b3d2-5a9c1e0f4d21",
        "pn": "PCBA-1001",
        "sn": "SN-000123",
        "rev": "B",
        "processCode": 500,
        "result": "P",
        "machineName": "REPAIR-01",
        "location": "Line 2",
        "purpose": "Repair",
        "start": "2026-03-01T11:02:00+01:00",
        "uur": {
            "user": "tech1",
            "comment": "Replaced R12",
            "processCode": 10,
            "refUUT": UUT_ID,
            "confirmDate": "2026-03-01T10:05:00Z",
            "finalizeDate": "2026-03-01T10:06:00Z",
            "execTime": 240.0,
        },
        "subUnits": [
            {
                "partType": "Main",
                "pn": "PCBA-1001",
                "rev": "B",
                "sn": "SN-000123",
                "idx": 0,
                "failures": [
                    {
                        "category": "Component",
                        "code": "Wrong value",
                        "comRef": "R12",
                        "comment": "Load current too high",
                        "refStepId": 3,
                    }
                ],
            }
        ],
        "miscInfos": [],
    }


def server_export_uut() -> dict[str, Any]:
    """A UUT as a server export: output-only fields, export loops, server-computed flags."""
    doc = example_uut()
    doc.update(
        {
            "startUTC": "2026-03-01T08:15:02.125Z",
            "origin": "00:1A:2B:3C:4D:5E",
            "productName": "Main board",
            "processName": "ICT",
            "processCodeFormat": "{0}",
            "assetStats": [{"sn": "DMM-0042", "runningCount": 12, "totalCount": 400}],
        }
    )
    loop_step = doc["root"]["steps"][-1]
    loop_step["loop"] = {"idx": 1, "num": 2, "endingIndex": 1, "passed": 2, "failed": 0}
    loop_step["causedUUTFailure"] = False
    loop_step["causedSeqFailure"] = False
    doc["uut"]["stepIdCausedUUTFailure"] = 3
    doc["uut"]["referencedByUURs"] = ["0b6e9d42-8c1a-4f7e-b3d2-5a9c1e0f4d21"]
    return doc
