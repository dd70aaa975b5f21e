"""Find converters: built-ins, the ``syncengine.converters`` entry points, configured paths.

Discovery imports plugin code, so the engine runs it inside a worker subprocess (see
``_pool.list_converters``); :func:`discover` itself is what the worker calls. Every candidate
that is not accepted is listed with the reason, never silently dropped.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import sys
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from ._api import API_VERSION, Converter

ENTRY_POINT_GROUP = "syncengine.converters"
"""The entry-point group plugins register converters under."""


@dataclass(frozen=True)
class ConverterInfo:
    """A usable converter as ``syncengine converters list`` shows it."""

    name: str
    version: str
    patterns: tuple[str, ...]
    source: str
    has_validate: bool

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict of the fields."""
        return {
            "name": self.name,
            "version": self.version,
            "patterns": list(self.patterns),
            "source": self.source,
            "has_validate": self.has_validate,
        }


@dataclass(frozen=True)
class RefusedConverter:
    """A candidate that was found but not accepted, and why."""

    source: str
    name: str | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict of the fields."""
        return {"source": self.source, "name": self.name, "reason": self.reason}


@dataclass(frozen=True)
class DiscoveryReport:
    """What discovery found (in load order) and what it refused."""

    converters: tuple[ConverterInfo, ...]
    refused: tuple[RefusedConverter, ...]

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict of both lists."""
        return {
            "converters": [c.to_json() for c in self.converters],
            "refused": [r.to_json() for r in self.refused],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DiscoveryReport:
        """The inverse of :meth:`to_json`."""
        return cls(
            converters=tuple(
                ConverterInfo(
                    name=c["name"],
                    version=c["version"],
                    patterns=tuple(c["patterns"]),
                    source=c["source"],
                    has_validate=c["has_validate"],
                )
                for c in data["converters"]
            ),
            refused=tuple(RefusedConverter(**r) for r in data["refused"]),
        )


@dataclass
class Discovery:
    """The loaded converters by name (load order kept) plus the report."""

    converters: dict[str, Converter] = field(default_factory=dict)
    infos: list[ConverterInfo] = field(default_factory=list)
    refused: list[RefusedConverter] = field(default_factory=list)

    @property
    def report(self) -> DiscoveryReport:
        """An immutable, serialisable summary."""
        return DiscoveryReport(tuple(self.infos), tuple(self.refused))

    def _offer(self, candidate: Any, source: str) -> None:
        name = getattr(candidate, "name", None)
        shown = name if isinstance(name, str) and name else None
        if inspect.isclass(candidate):
            problem = _check(candidate)
            if problem is not None:
                self.refused.append(RefusedConverter(source, shown, problem))
                return
            try:
                candidate = candidate()
            except Exception as exc:
                reason = f"could not be instantiated: {type(exc).__name__}: {exc}"
                self.refused.append(RefusedConverter(source, shown, reason))
                return
        problem = _check(candidate)
        if problem is not None:
            self.refused.append(RefusedConverter(source, shown, problem))
            return
        if candidate.name in self.converters:
            first = next(i.source for i in self.infos if i.name == candidate.name)
            reason = f"duplicate name {candidate.name!r}, already provided by {first}"
            self.refused.append(RefusedConverter(source, candidate.name, reason))
            return
        self.converters[candidate.name] = candidate
        self.infos.append(
            ConverterInfo(
                name=candidate.name,
                version=str(candidate.version),
                patterns=tuple(candidate.patterns),
                source=source,
                has_validate=callable(getattr(candidate, "validate", None)),
            )
        )


def _check(obj: Any) -> str | None:
    """Why ``obj`` (class or instance) is not a plugin API v1 converter, or None."""
    version = getattr(obj, "api_version", None)
    if version is None:
        return "has no api_version attribute (plugin API v1 needs api_version = 1)"
    if version != API_VERSION:
        return (
            f"declares api_version = {version!r}; this engine supports plugin API "
            f"v{API_VERSION} only"
        )
    name = getattr(obj, "name", None)
    if not isinstance(name, str) or not name.strip():
        return "has no name (a non-empty string is required)"
    if not isinstance(getattr(obj, "version", None), str):
        return "has no version string"
    patterns = getattr(obj, "patterns", None)
    if isinstance(patterns, str) or not isinstance(patterns, (list, tuple)):
        return "patterns must be a list or tuple of glob strings"
    if not all(isinstance(p, str) and p for p in patterns):
        return "patterns must be non-empty glob strings"
    if not callable(getattr(obj, "convert", None)):
        return "has no convert(path, context) method"
    validate = getattr(obj, "validate", None)
    if validate is not None and not callable(validate):
        return "validate is not callable"
    return None


def _candidates(module: ModuleType) -> Iterable[Any]:
    """Converters a module offers: its ``CONVERTERS`` list, else the classes it defines."""
    explicit = getattr(module, "CONVERTERS", None)
    if explicit is not None:
        return list(explicit)
    return [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and obj.__module__ == module.__name__
        and hasattr(obj, "api_version")
        and hasattr(obj, "convert")
    ]


def _load_path(spec: str) -> ModuleType:
    """Import a dotted module name, or a ``.py`` file by path."""
    if spec.endswith(".py") or "/" in spec or "\\" in spec:
        path = Path(spec).expanduser().resolve()
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {path}")
        digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
        mod_name = f"_syncengine_plugin_{path.stem}_{digest}"
        file_spec = importlib.util.spec_from_file_location(mod_name, path)
        if file_spec is None or file_spec.loader is None:
            raise ImportError(f"cannot import {path}")
        module = importlib.util.module_from_spec(file_spec)
        sys.modules[mod_name] = module
        file_spec.loader.exec_module(module)
        return module
    return importlib.import_module(spec)


def _import_error(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" at {last[0].filename}:{last[0].lineno}" if last else ""
    return f"import failed: {type(exc).__name__}: {exc}{where}"


def discover(
    converter_paths: Sequence[str] = (),
    *,
    entry_points: bool = True,
    builtins: bool = True,
) -> Discovery:
    """Load every converter: built-ins first, then entry points, then ``converter_paths``.

    Each path is a dotted module name (``mypkg.myconv``) or a ``.py`` file. A module offers its
    ``CONVERTERS`` list if it has one, else every converter class it defines. Names are unique:
    a later duplicate is refused, so a plugin cannot silently replace a built-in.
    """
    found = Discovery()
    if builtins:
        from ._builtins import BUILTIN_CONVERTERS

        for cls in BUILTIN_CONVERTERS:
            found._offer(cls, f"builtin:{cls.__module__}")
    if entry_points:
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            source = f"entry point {ep.name} = {ep.value}"
            try:
                loaded = ep.load()
            except Exception as exc:
                found.refused.append(RefusedConverter(source, None, _import_error(exc)))
                continue
            items = _candidates(loaded) if isinstance(loaded, ModuleType) else [loaded]
            for item in items:
                found._offer(item, source)
    for spec in converter_paths:
        source = f"path {spec}"
        try:
            module = _load_path(spec)
        except BaseException as exc:  # a plugin's import may even call sys.exit()
            if isinstance(exc, KeyboardInterrupt):
                raise
            found.refused.append(RefusedConverter(source, None, _import_error(exc)))
            continue
        items = list(_candidates(module))
        if not items:
            found.refused.append(
                RefusedConverter(source, None, "module defines no converter class or CONVERTERS")
            )
        for item in items:
            found._offer(item, source)
    return found
