"""Plugin API v1: what a converter is, what it is given, and what it may raise.

```
SyncEngineError                 (syncengine._errors) root of the whole syncengine package
 +-- ConverterError             root of everything this package raises on purpose
      +-- ConversionError       raised by a converter: the input is malformed (says what, where)
      +-- ConversionFailed      raised by the worker pool: the conversion did not produce
      |                         reports (exception, timeout, crash, bad output, no converter)
      +-- WorkerUnavailableError raised by the worker pool: no worker process could be started,
                                or the pool is closed; the file is not at fault
```

A converter is any object with the attributes of :class:`Converter`. Subclassing
:class:`ConverterBase` is the easy way to get one. The engine never calls a converter in its own
process: converters run in worker subprocesses (see ``_pool``), so a converter may be slow,
raise, hang or crash without harming the engine.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from syncengine._errors import SyncEngineError

API_VERSION = 1
"""The one plugin API version this engine accepts."""


class ConverterError(SyncEngineError):
    """Root of the converters exception tree (a :class:`syncengine.SyncEngineError`)."""


class ConversionError(ConverterError, ValueError):
    """Raised by a converter when its input is malformed; the message says what and where."""


class ConversionFailed(ConverterError):
    """Raised by the worker pool when a file could not be converted.

    ``kind`` is one of ``invalid_file`` (the file is empty, or the converter raised
    :class:`ConversionError`: a malformed file, said in one line), ``exception`` (the converter
    raised anything else; ``details`` has the traceback), ``timeout`` (the per-file time limit
    passed and the worker was killed), ``crashed`` (the worker died: ``os._exit``, a segfault,
    the memory limit), ``bad_output`` (the converter returned something other than a list of
    JSON-serialisable dicts), ``no_converter`` (nothing accepts the file, or the named converter
    does not exist).
    """

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        converter: str | None = None,
        details: str = "",
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.converter = converter
        self.details = details

    def __str__(self) -> str:
        who = f"converter {self.converter!r}" if self.converter else "no converter"
        return f"{self.kind}: {self.message} ({who})"


class WorkerUnavailableError(ConverterError):
    """Raised when no worker process can run a conversion (start failed, pool closed).

    The file is not at fault: callers leave it where it is and try again later.
    """


@dataclass(frozen=True)
class ConversionContext:
    """What a converter gets besides the file path.

    ``options`` are the watch folder's ``options`` table from the configuration (JSON types
    only); ``station_name`` is the engine's configured station name, to fill ``machineName``
    when the file does not carry one; ``logger`` writes to the worker's stderr, which the engine
    logs and quotes in the error sidecar when the conversion fails.
    """

    station_name: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("syncengine.plugin"))

    def option(self, name: str, default: Any = None) -> Any:
        """The option ``name``, or ``default`` when the configuration does not set it."""
        return self.options.get(name, default)


@runtime_checkable
class Converter(Protocol):
    """The plugin API v1 protocol.

    - ``api_version``: must be ``1``; a converter declaring anything else is refused.
    - ``name``: unique, used in configuration (``converter = "name"``) and in the journal.
    - ``version``: the converter's own version, recorded with every submission it produced.
    - ``patterns``: file-name globs it accepts (``"*.json"``), matched case-insensitively.
    - ``convert(path, context)``: returns a list of WSJF report dicts (one file may hold many).
      A report without ``"id"`` gets one derived from its submission key. Raise
      :class:`ConversionError` for malformed input.
    - optional ``validate(path) -> float``: confidence in ``[0, 1]`` that this converter
      understands the file, used when a folder's converter is ``"auto"``.
    """

    api_version: int
    name: str
    version: str
    patterns: Sequence[str]

    def convert(self, path: Path, context: ConversionContext) -> list[dict[str, Any]]:
        """Read ``path`` and return its reports as WSJF dicts."""
        ...


class ConverterBase:
    """Convenience base class for plugins: set the class attributes, implement ``convert``."""

    api_version: ClassVar[int] = API_VERSION
    name: ClassVar[str] = ""
    version: ClassVar[str] = "0"
    patterns: ClassVar[tuple[str, ...]] = ()

    def validate(self, path: Path) -> float:
        """Confidence in ``[0, 1]`` that this converter understands ``path`` (default 0.1)."""
        return 0.1

    def convert(self, path: Path, context: ConversionContext) -> list[dict[str, Any]]:
        """Read ``path`` and return its reports as WSJF dicts; subclasses must override."""
        raise NotImplementedError(f"converter {self.name!r} does not implement convert()")
