"""The public surface of syncengine.converters and the plugin API v1 helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

import syncengine.converters as converters
from syncengine.converters import (
    ConversionContext,
    ConversionFailed,
    Converter,
    ConverterBase,
    WsjfConverter,
)

EXPORTS = [
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


def test_public_names_are_exported_in_sorted_all():
    assert converters.__all__ == EXPORTS  # isort-style order, kept by ruff RUF022
    assert all(hasattr(converters, name) for name in EXPORTS)


def test_builtin_converters_satisfy_the_protocol():
    assert isinstance(WsjfConverter(), Converter)


def test_base_class_declares_api_version_one_and_low_default_confidence(tmp_path):
    class Minimal(ConverterBase):
        name = "minimal"

    assert Minimal.api_version == 1 and Minimal().validate(tmp_path) == 0.1


def test_base_class_convert_must_be_overridden(tmp_path):
    class Lazy(ConverterBase):
        name = "lazy"

    with pytest.raises(NotImplementedError, match="'lazy' does not implement convert"):
        Lazy().convert(Path(tmp_path), ConversionContext())


def test_context_option_falls_back_to_default():
    context = ConversionContext(options={"a": 1})
    assert (context.option("a"), context.option("b", 2)) == (1, 2)


def test_conversion_failed_names_kind_and_converter():
    failure = ConversionFailed("timeout", "no result within 3 s", converter="slow")
    assert str(failure) == "timeout: no result within 3 s (converter 'slow')"
