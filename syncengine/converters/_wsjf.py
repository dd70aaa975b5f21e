"""WSJF JSON passthrough: a file holding one WSJF report object or a list of them.

The reports are handed on unchanged; the ingest step validates each with the pywats models and
refuses the whole file if any report is invalid.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ._api import ConversionContext, ConversionError, ConverterBase
from ._text import head, read_text


class WsjfConverter(ConverterBase):
    """WSJF JSON files (``*.json``, ``*.wsjf``): one report object or a list of them."""

    name = "wsjf"
    version = "1.0"
    patterns = ("*.json", "*.wsjf")

    def validate(self, path: Path) -> float:
        """0.9 when the file starts like a JSON object/array mentioning a report type."""
        start = head(path).lstrip(b"\xef\xbb\xbf \t\r\n")
        if start[:1] not in (b"{", b"["):
            return 0.0
        return 0.9 if b'"type"' in start else 0.3

    def convert(self, path: Path, context: ConversionContext) -> list[dict[str, Any]]:
        """Parse the JSON; each element must be an object (a WSJF report)."""
        text = read_text(path)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConversionError(
                f"{path.name}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from None
        except RecursionError:
            raise ConversionError(f"{path.name}: JSON nested too deeply to be a report") from None
        except ValueError as exc:  # e.g. an integer longer than Python's digit limit
            raise ConversionError(f"{path.name}: invalid JSON: {exc}") from None
        reports = data if isinstance(data, list) else [data]
        for index, report in enumerate(reports):
            if not isinstance(report, dict):
                kind = type(report).__name__
                raise ConversionError(
                    f"{path.name}: report {index} is a JSON {kind}, not an object"
                )
        return reports
