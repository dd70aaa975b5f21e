"""Converters that change the file they convert, as a station still writing it would."""

from __future__ import annotations

from syncengine.converters import ConverterBase


class TouchesThenFails(ConverterBase):
    """Appends to the file (the writer went on), then fails on the half it read."""

    name = "touch_fails"
    patterns = ("*.tf",)

    def convert(self, path, context):
        with path.open("ab") as handle:
            handle.write(b" more")
        raise ValueError("the file is only half written")
