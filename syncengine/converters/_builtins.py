"""The converters that ship with the engine, in discovery order."""

from __future__ import annotations

from ._csv import CsvConverter
from ._wats_text import WatsTextConverter
from ._wsjf import WsjfConverter
from ._wsxf import WsxfConverter

BUILTIN_CONVERTERS: tuple[type, ...] = (
    WsjfConverter,
    WsxfConverter,
    WatsTextConverter,
    CsvConverter,
)
