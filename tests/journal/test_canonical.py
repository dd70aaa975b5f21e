"""Canonical JSON form 2 (orjson) against form 1 (json.dumps): identity rules and old journals.

Form 2 must give one text per value, refuse what form 1 refuses, parse back to the same value as
form 1's text, and a journal written in form 1 must still verify, archive-read and recognise a
re-submit of its own payloads (see journal/_codec.py and tests/fixtures/journal-form1).
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journal import Journal, SubmissionConflictError, read_archive
from journal._codec import (
    canonical,
    canonical_forms,
    canonical_v1,
    chain_hash,
    matches_digest,
    sha256_text,
)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "journal-form1"

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _valid_utf8(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_form_2_means_the_same_value_as_form_1_and_is_stable(value: Any) -> None:
    if not _valid_utf8(value):  # lone surrogates: both forms refuse (tested below)
        with pytest.raises(ValueError):
            canonical(value)
        with pytest.raises(ValueError):
            canonical_v1(value)
        return
    v2, v1 = canonical(value), canonical_v1(value)
    assert json.loads(v2) == json.loads(v1)
    # One text per value: parsing and writing again changes nothing, in either form.
    assert canonical(json.loads(v2)) == v2
    assert canonical_v1(json.loads(v1)) == v1
    # Texts differ only where a float is written differently.
    if v1 != v2:
        assert any(isinstance(x, float) for x in _leaves(value))
    # Either stored text is recognised from the parsed value.
    assert matches_digest(json.loads(v1), _sha(v1))
    assert matches_digest(json.loads(v2), _sha(v2))
    assert next(iter(canonical_forms(value))) == v2


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


@settings(max_examples=200, deadline=None)
@given(json_values, json_values)
def test_different_values_never_share_a_form_2_text(a: Any, b: Any) -> None:
    if not (_valid_utf8(a) and _valid_utf8(b)):
        return
    if canonical(a) == canonical(b):
        assert json.loads(canonical_v1(a)) == json.loads(canonical_v1(b))


@pytest.mark.parametrize(
    "value, v1, v2",
    [
        (1e-07, "1e-07", "1e-7"),
        (2.5e-05, "2.5e-05", "0.000025"),
        (1e16, "1e+16", "1e+16"),
        (-0.0, "-0.0", "-0.0"),
        ({"b": 1, "a": [None, True]}, '{"a":[null,true],"b":1}', '{"a":[null,true],"b":1}'),
        ("é\u2028\x01", '"é\u2028\\u0001"', '"é\u2028\\u0001"'),
    ],
)
def test_known_texts_of_both_forms(value: Any, v1: str, v2: str) -> None:
    assert (canonical_v1(value), canonical(value)) == (v1, v2)


@pytest.mark.parametrize(
    "value",
    [
        math.nan,
        {"x": math.inf},
        {"x": None, "y": [1, -math.inf]},  # a null present must not hide the infinity
        [None, math.nan],
    ],
)
def test_nan_and_infinity_are_refused_although_orjson_writes_null(value: Any) -> None:
    with pytest.raises(ValueError, match="cannot be stored as JSON"):
        canonical(value, what="payload")


@dataclasses.dataclass
class _Point:
    x: int


class _Str(str):
    pass


@pytest.mark.parametrize(
    "value, error",
    [
        ({"x": object()}, TypeError),
        ({"x": datetime.datetime(2026, 1, 1)}, TypeError),
        ({"x": _Point(1)}, TypeError),
        ({"x": {1, 2}}, TypeError),
        ({"x": "\ud800"}, ValueError),
        ({1: "a", "b": 2}, TypeError),  # mixed keys cannot be sorted, in form 1 either
    ],
)
def test_refused_like_form_1(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        canonical_v1(value)
    with pytest.raises(error):
        canonical(value)


@pytest.mark.parametrize(
    "value",
    [
        {"big": 2**64, "small": 1e-07},  # orjson refuses ints beyond 64 bits
        {1: "int key", 2: 1e-07},  # orjson refuses non-str keys
        {"s": _Str("sub"), "f": 1e-07},  # subclasses are passed through to form 1
        [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]] * 8,
    ],
)
def test_what_orjson_refuses_is_written_in_form_1(value: Any) -> None:
    assert canonical(value) == canonical_v1(value)
    assert canonical(value) == canonical(value)


def test_the_hand_built_chain_header_equals_json_dumps() -> None:
    def expected(prev: str, *header: Any) -> str:
        text = json.dumps(list(header), separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(f"{prev}|{text}".encode()).hexdigest()

    cases: list[tuple[Any, ...]] = [
        (1, "e", 'k\u00e9\n"\ud800\U0001f600', "Submitted", 1733480000.123456, "iso", "d"),
        (2**70, "e", "k", "T", 5, "i", "d"),
        (3, "e", "k", "T", math.nan, "i", None),
        (True, "e", "k", "T", -0.0, "i", "d"),
        (4, "e", "k", "T", 1e-07, "i", "d"),
    ]
    for case in cases:
        assert chain_hash("p", *case) == expected("p", *case)


# -- a journal written in form 1 -------------------------------------------------------------


def old_payload(n: int) -> dict[str, Any]:
    """The payloads of tests/fixtures/journal-form1 (see its README)."""
    return {
        "id": f"00000000-0000-0000-0000-00000000000{n}",
        "sn": f"SN-{n}",
        "pn": "PN-1",
        "steps": [
            {"name": "leak", "value": 1e-07 * n, "limit": 2.5e-05},
            {"name": "big", "value": 1e16},
        ],
        "note": "Ünïcödé \u2028 \x01",
    }


@pytest.fixture
def old_journal(tmp_path: Path) -> Path:
    for name in ("journal.sqlite3", "archive.jsonl.gz"):
        shutil.copy(FIXTURE / name, tmp_path / name)
    return tmp_path / "journal.sqlite3"


def test_fixture_payloads_really_differ_between_forms() -> None:
    for n in (1, 2, 3):
        assert canonical(old_payload(n)) != canonical_v1(old_payload(n))


def test_a_form_1_journal_verifies_and_its_pending_report_is_intact(old_journal: Path) -> None:
    with Journal(old_journal) as j:
        assert j.verify().ok
        assert j.check().ok
        sub = j.submission("key-pending")
        assert sub is not None and sub.payload_intact
        assert sub.payload == old_payload(1)
        assert sub.payload_json == canonical_v1(old_payload(1))
        assert sub.payload_sha256 == sha256_text(canonical_v1(old_payload(1)))


def test_resubmit_of_a_form_1_submission_is_the_same_payload(old_journal: Path) -> None:
    with Journal(old_journal) as j:
        before = j.dump()
        again = j.submit("key-pending", old_payload(1), source={"path": "C:\\in\\a.json"})
        assert again.state == "pending"
        assert again.payload_sha256 == sha256_text(canonical_v1(old_payload(1)))
        # Archived keys too: recognised, answered acked, nothing appended.
        for key, n in (("key-acked", 2), ("key-archived", 3)):
            assert j.submit(key, old_payload(n)).state == "acked"
        many = j.submit_many([("key-pending", old_payload(1), None)])
        assert many[0].first_seq == again.first_seq
        assert list(j.dump()) == list(before)
        changed = {**old_payload(1), "sn": "SN-other"}
        with pytest.raises(SubmissionConflictError):
            j.submit("key-pending", changed)
        with pytest.raises(SubmissionConflictError):
            j.submit("key-archived", old_payload(1))
        assert j.verify().ok


def test_a_form_1_archive_still_reads_and_verifies(old_journal: Path) -> None:
    events = list(
        read_archive(
            old_journal.parent / "archive.jsonl.gz",
            expected_sha256="d01a71eb879b9b73f0ffe0de0fd4a98b4be0cf98d8b13cff2044131fc7fa7341",
        )
    )
    submitted = {e["key"]: e["data"]["payload"] for e in events if e["type"] == "Submitted"}
    assert submitted == {"key-acked": old_payload(2), "key-archived": old_payload(3)}


def test_new_submissions_in_an_old_journal_are_form_2_and_archive_round_trips(
    old_journal: Path,
) -> None:
    now = [1_900_000_000.0]
    with Journal(old_journal, clock=lambda: now[0]) as j:
        new = j.submit("key-new", old_payload(4))
        assert new.payload_json == canonical(old_payload(4))
        assert j.history("key-new")[0].data["form"] == 2
        j.upload_started(["key-new"])
        j.acknowledged("key-new", answer={"id": "r4", "latency_ms": 1e-05})
        now[0] += 10
        result = j.archive(1.0, old_journal.parent / "second.jsonl.gz")
        assert result.submissions == 1
        assert j.verify().ok
        assert j.submit("key-new", old_payload(4)).state == "acked"
    events = list(read_archive(result.path, expected_sha256=result.sha256))
    assert [e["type"] for e in events] == ["Submitted", "UploadStarted", "Acknowledged"]
    assert events[0]["data"]["payload"] == old_payload(4)
