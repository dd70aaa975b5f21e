"""Step and report status: the words stations and WATS formats write, and the WSJF letters.

One table for every converter that reads a status (WSXF, WATS Standard Text, CSV) and for the
writers that turn letters back into words.
"""

from __future__ import annotations

#: WSJF's status letters by the word WSXF and WATS Standard Text write (lower case).
STATUS_LETTERS: dict[str, str] = {
    "passed": "P",
    "failed": "F",
    "skipped": "S",
    "done": "D",
    "error": "E",
    "terminated": "T",
}
#: The word for each letter, as the formats write it (``"P"`` -> ``"Passed"``).
STATUS_WORDS: dict[str, str] = {
    letter: word.capitalize() for word, letter in STATUS_LETTERS.items()
}

_BY_TEXT = {**STATUS_LETTERS, **{letter.casefold(): letter for letter in STATUS_WORDS}}


def status_letter(text: str) -> str | None:
    """The letter for a status word or letter in any case (``"Passed"``, ``"p"``), else None."""
    return _BY_TEXT.get(text.strip().casefold())
