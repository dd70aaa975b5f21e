"""Conversion error notes are one line: a malformed file is `invalid_file` with the converter's
reason and no traceback; an empty file reads the same whatever the converter."""

# ruff: noqa: F811  (fixtures imported from the shared harness are redefined as parameters)

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncengine._config import WatchFolder
from syncengine._error_folder import sidecar_for
from syncengine._ingest import Ingestor
from syncengine.converters import ConversionFailed, WorkerPool
from tests.watsim.examples import example_uut

from .converters.harness import journal, metrics, submit  # noqa: F401

CSV_OPTIONS = {"steps": [{"column": "Vout", "unit": "V"}]}


@pytest.fixture(scope="module")
def pool() -> Iterator[WorkerPool]:
    with WorkerPool([], workers=1, timeout_s=10.0, memory_mb=512) as p:
        p.start()
        yield p


def _fail(pool: WorkerPool, path: Path, converter: str) -> ConversionFailed:
    options = CSV_OPTIONS if converter == "csv" else {}
    with pytest.raises(ConversionFailed) as caught:
        pool.convert(path, converter=converter, options=options)
    return caught.value


@pytest.mark.parametrize(
    ("name", "converter"),
    [
        ("e.json", "wsjf"),
        ("e.xml", "wsxf"),
        ("e.csv", "csv"),
        ("e.txt", "wats_text"),
        ("e.json", "auto"),
    ],
)
def test_empty_file_has_one_wording_in_every_converter(pool, tmp_path: Path, name, converter):
    path = tmp_path / name
    path.write_bytes(b"")
    failure = _fail(pool, path, converter)
    assert (failure.kind, failure.message, failure.details) == (
        "invalid_file",
        f"{name}: the file is empty",
        "",
    )


def test_malformed_file_is_one_line_without_a_traceback(pool, tmp_path: Path):
    path = tmp_path / "half.json"
    path.write_text('{"type": "T", "sn": ', encoding="utf-8")
    failure = _fail(pool, path, "wsjf")
    assert failure.kind == "invalid_file" and failure.details == ""
    assert failure.message.startswith("half.json: invalid JSON at line 1")
    assert "Traceback" not in failure.message and "ConversionError" not in failure.message


def test_error_note_of_a_malformed_file_has_no_details_section(
    pool, tmp_path: Path, submit, metrics
):
    inbox = tmp_path / "in"
    inbox.mkdir()
    path = inbox / "half.json"
    path.write_text('{"type": "T", "sn": ', encoding="utf-8")
    result = Ingestor(pool, submit, metrics).ingest(path, WatchFolder(path=inbox))
    assert result.outcome == "error" and result.moved_to is not None
    note = sidecar_for(result.moved_to).read_text(encoding="utf-8")
    assert "failure:   invalid_file" in note and "details:" not in note
    assert "reason:    half.json: invalid JSON at line 1" in note


def test_error_note_of_an_invalid_report_names_every_bad_field(
    pool, tmp_path: Path, submit, metrics
):
    inbox = tmp_path / "in"
    inbox.mkdir()
    doc = example_uut()
    for name in ("pn", "sn", "rev"):
        del doc[name]
    path = inbox / "three-missing.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    result = Ingestor(pool, submit, metrics).ingest(path, WatchFolder(path=inbox))
    assert result.outcome == "error" and result.moved_to is not None
    note = sidecar_for(result.moved_to).read_text(encoding="utf-8")
    reason = next(line for line in note.splitlines() if line.startswith("reason:"))
    assert reason.endswith("failed validation: pn: Field required; 3 bad fields: pn, sn, rev")
    details = note.split("details:", 1)[1].splitlines()
    assert [line.strip() for line in details if line.strip()][-3:] == [
        "pn: Field required",
        "sn: Field required",
        "rev: Field required",
    ]
