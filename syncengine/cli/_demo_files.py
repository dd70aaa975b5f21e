"""The files the demo's station writes: realistic UUT, repair and server-export reports, one
truncated file, and what the demo expects to become of each (acknowledged, failed with the
server's reason, or moved to ``error/``).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

_START = datetime(2026, 3, 2, 8, 0, tzinfo=timezone(timedelta(hours=1)))


@dataclass
class DemoFile:
    """One file the station writes, and what the demo expects to become of it."""

    name: str
    content: bytes
    expect: str  # "acked", "failed" or "error"
    report_id: str | None = None
    label: str = ""
    folder: str = ""  # under the station folder ("" = the station folder itself)
    variant: str = ""  # "normalize_loops" when that folder rewrites loops (another key)
    message: str = ""  # what the server's refusal must say

    @property
    def key(self) -> str:
        from syncengine._ingest import submission_key

        return submission_key(hashlib.sha256(self.content).hexdigest(), 0, self.variant)


def _uut(serial: str, process_code: int, result: str, minutes: int) -> dict[str, Any]:
    passed = result == "P"
    return {
        "type": "T",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"wats-sync-demo/{serial}/{process_code}")),
        "pn": "PCBA-1001",
        "sn": serial,
        "rev": "B",
        "processCode": process_code,
        "result": result,
        "machineName": "ICT-STATION-01",
        "location": "Line 2",
        "purpose": "Production",
        "start": (_START + timedelta(minutes=minutes)).isoformat(timespec="milliseconds"),
        "uut": {"user": "operator1", "execTime": 12.5, "fixtureId": "FX-7", "batchSN": "LOT-42"},
        "miscInfos": [{"description": "Firmware", "text": "1.4.2"}],
        "root": {
            "id": 1,
            "group": "M",
            "stepType": "SequenceCall",
            "name": "MainSequence Callback",
            "status": result,
            "seqCall": {"path": "C:/seq/Main.seq", "name": "Main.seq", "version": "1.0.0"},
            "steps": [
                {
                    "id": 2,
                    "group": "M",
                    "stepType": "ET_NLT",
                    "name": "3V3 rail",
                    "status": "P",
                    "totTime": 0.012,
                    "numericMeas": [
                        {
                            "compOp": "GELE",
                            "status": "P",
                            "unit": "V",
                            "value": 3.31,
                            "lowLimit": 3.2,
                            "highLimit": 3.4,
                        }
                    ],
                },
                {
                    "id": 3,
                    "group": "M",
                    "stepType": "ET_NLT",
                    "name": "Load current",
                    "status": "P" if passed else "F",
                    "numericMeas": [
                        {
                            "compOp": "GELT",
                            "status": "P" if passed else "F",
                            "unit": "mA",
                            "value": 640.0 if passed else 910.0,
                            "lowLimit": 100.0,
                            "highLimit": 900.0,
                        }
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
            ],
        },
    }


def _uur(serial: str, failed_uut: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "R",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"wats-sync-demo/{serial}/repair")),
        "pn": "PCBA-1001",
        "sn": serial,
        "rev": "B",
        "processCode": 500,
        "result": "P",
        "machineName": "REPAIR-01",
        "location": "Line 2",
        "purpose": "Repair",
        "start": (_START + timedelta(minutes=90)).isoformat(timespec="seconds"),
        "uur": {
            "user": "tech1",
            "comment": "Replaced R12",
            "processCode": failed_uut["processCode"],
            "refUUT": failed_uut["id"],
            "execTime": 240.0,
        },
        "subUnits": [
            {
                "partType": "Main",
                "pn": "PCBA-1001",
                "rev": "B",
                "sn": serial,
                "idx": 0,
                "failures": [{"category": "Component", "code": "Wrong value", "comRef": "R12"}],
            }
        ],
        "miscInfos": [],
    }


_LOOP_REFUSAL = "num is required to be one more than endingIndex"


def _export_uut(serial: str, minutes: int) -> dict[str, Any]:
    """A UUT as a WATS server exports it, with a loop the server's own import refuses."""
    report = _uut(serial, 50, "P", minutes)
    report["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"wats-sync-demo/{serial}/export"))
    passes: list[dict[str, Any]] = [
        {
            "id": 10 + index,
            "group": "M",
            "stepType": "ET_NLT",
            "name": "Burn-in voltage",
            "status": "P",
            "loop": {"idx": index},
            "numericMeas": [
                {
                    "compOp": "GELE",
                    "status": "P",
                    "unit": "V",
                    "value": 12.0 + index / 100,
                    "lowLimit": 11.8,
                    "highLimit": 12.2,
                }
            ],
        }
        for index in range(3)
    ]
    summary = {**passes[0], "id": 9, "numericMeas": [dict(passes[0]["numericMeas"][0])]}
    # The export's summary: 3 passes (indices 0..2), endingIndex 3. The import wants 2.
    summary["loop"] = {"idx": None, "num": 3, "endingIndex": 3, "passed": 3, "failed": 0}
    report["root"]["steps"].append(
        {
            "id": 8,
            "group": "M",
            "stepType": "SequenceCall",
            "name": "Burn-in",
            "status": "P",
            "seqCall": {"path": "C:/seq/Burn.seq", "name": "Burn.seq", "version": "1.0.0"},
            "steps": [summary, *passes],
        }
    )
    return report


def _json_file(name: str, report: dict[str, Any], expect: str, label: str) -> DemoFile:
    content = json.dumps(report, indent=2).encode("utf-8")
    return DemoFile(name, content, expect, report_id=report["id"], label=label)


def first_batch() -> list[DemoFile]:
    """The two good reports written before the outage."""
    return [
        _json_file("SN-000101_ICT.json", _uut("SN-000101", 10, "P", 0), "acked", "SN-000101 ICT"),
        _json_file("SN-000102_ICT.json", _uut("SN-000102", 10, "P", 2), "acked", "SN-000102 ICT"),
    ]


def second_batch() -> list[DemoFile]:
    """What the station writes during the outage: good, refused, malformed and an export."""
    failed_uut = _uut("SN-000103", 20, "F", 30)
    files = [
        _json_file("SN-000103_FCT.json", failed_uut, "acked", "SN-000103 functional test (F)"),
        _json_file(
            "SN-000103_repair.json", _uur("SN-000103", failed_uut), "acked", "SN-000103 repair"
        ),
        _json_file(
            "SN-000104_FT.json", _uut("SN-000104", 100, "P", 40), "acked", "SN-000104 final"
        ),
        _json_file(
            "SN-000105_unknown_op.json",
            _uut("SN-000105", 999, "P", 45),
            "failed",
            "SN-000105 with unknown process code 999",
        ),
    ]
    from syncengine.converters import write_wsxf

    # A WSXF (XML) file shows a second format going through the same path.
    report = _uut("SN-000106", 30, "P", 50)
    files.append(
        DemoFile(
            "SN-000106_PRG.xml", write_wsxf([report]), "acked", report["id"], "SN-000106 (WSXF XML)"
        )
    )
    truncated = json.dumps(_uut("SN-000107", 10, "P", 55), indent=2).encode("utf-8")[:300]
    files.append(
        DemoFile("SN-000107_ICT.json", truncated, "error", label="SN-000107 (truncated file)")
    )
    export = _json_file(
        "SN-000108_export.json", _export_uut("SN-000108", 60), "failed", "SN-000108 re-sent export"
    )
    export.message = _LOOP_REFUSAL
    files.append(export)
    return files


def reprocessed(export: DemoFile) -> DemoFile:
    """The same export file, dropped where ``normalize_loops`` is on."""
    return DemoFile(
        export.name,
        export.content,
        "acked",
        export.report_id,
        "SN-000108 export, normalize_loops",
        folder="exports",
        variant="normalize_loops",
    )
