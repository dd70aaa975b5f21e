"""One status table: every converter reads status words and letters the same way."""

from __future__ import annotations

import inspect

import pytest

from syncengine.converters import _csv, _wats_text, _wsxf, _wsxf_write, parse_wats_text
from syncengine.converters._status import STATUS_WORDS, status_letter

from .test_wats_text import CTX, GOOD


@pytest.mark.parametrize(
    ("text", "letter"),
    [("Passed", "P"), ("FAILED", "F"), ("skipped", "S"), (" Done ", "D"), ("e", "E"), ("T", "T")],
)
def test_words_and_letters_in_any_case_give_the_letter(text: str, letter: str) -> None:
    assert status_letter(text) == letter


def test_an_unknown_status_has_no_letter() -> None:
    assert status_letter("Maybe") is None


def test_every_letter_has_its_word_and_back() -> None:
    assert {status_letter(word) for word in STATUS_WORDS.values()} == set(STATUS_WORDS)


@pytest.mark.parametrize("module", [_csv, _wats_text, _wsxf, _wsxf_write])
def test_no_converter_keeps_its_own_status_table(module: object) -> None:
    source = inspect.getsource(module)  # type: ignore[arg-type]
    assert '"terminated"' not in source.lower(), module
    assert "from ._status import" in source


def test_wats_text_reads_a_lower_case_letter_as_wsxf_does() -> None:
    (report,) = parse_wats_text(GOOD.replace("UUTStatus\tFailed", "UUTStatus\tf"), "x.txt", CTX)
    assert report["result"] == "F"
