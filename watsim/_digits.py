"""The one test for "a plain non-negative decimal integer" that every request parser uses."""

from __future__ import annotations


def is_digits(text: str) -> bool:
    """True when ``int(text)`` is a non-negative integer written with ASCII digits only.

    ``str.isdigit()`` alone also accepts ``"²"`` and other Unicode digits that ``int()``
    refuses: the parser would then crash (a 500) where the server answers 400.
    """
    return text.isascii() and text.isdigit()
