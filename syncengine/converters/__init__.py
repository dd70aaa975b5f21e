"""Converters: turn station files into WSJF reports, out of the engine's process.

Plugin API v1 (:class:`Converter`, :class:`ConverterBase`, :class:`ConversionContext`),
discovery (:func:`discover`, :func:`list_converters`), the worker pool (:class:`WorkerPool`),
the built-in converters (WSJF JSON, WSXF XML, WATS Standard Text Format, configurable CSV) and
the ``normalize_loops`` rewrite (:func:`normalize_loops`, :func:`refusal_hint`).
See docs/converters.md.
"""

from __future__ import annotations

from ._api import (
    API_VERSION,
    ConversionContext,
    ConversionError,
    ConversionFailed,
    Converter,
    ConverterBase,
    ConverterError,
    WorkerUnavailableError,
)
from ._csv import CsvConverter
from ._discovery import (
    ENTRY_POINT_GROUP,
    ConverterInfo,
    Discovery,
    DiscoveryReport,
    RefusedConverter,
    discover,
)
from ._loops import LoopChange, normalize_loops, refusal_hint
from ._pool import Conversion, WorkerPool, list_converters
from ._wats_text import WatsTextConverter, parse_wats_text, write_wats_text
from ._wsjf import WsjfConverter
from ._wsxf import WsxfConverter, parse_wsxf, write_wsxf

__all__ = [
    "API_VERSION",
    "ENTRY_POINT_GROUP",
    "Conversion",
    "ConversionContext",
    "ConversionError",
    "ConversionFailed",
    "Converter",
    "ConverterBase",
    "ConverterError",
    "ConverterInfo",
    "CsvConverter",
    "Discovery",
    "DiscoveryReport",
    "LoopChange",
    "RefusedConverter",
    "WatsTextConverter",
    "WorkerPool",
    "WorkerUnavailableError",
    "WsjfConverter",
    "WsxfConverter",
    "discover",
    "list_converters",
    "normalize_loops",
    "parse_wats_text",
    "parse_wsxf",
    "refusal_hint",
    "write_wats_text",
    "write_wsxf",
]
