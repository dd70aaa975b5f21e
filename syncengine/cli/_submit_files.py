"""``syncengine submit FILE...`` without click: converter options, converting a file into the
folder watcher's submissions, and committing them to the journal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from journal import Journal
    from syncengine._config import EngineConfig
    from syncengine.converters import WorkerPool


def parse_options(pairs: Sequence[str]) -> dict[str, object]:
    """Converter options from ``NAME=VALUE`` pairs; a VALUE that is JSON is parsed as JSON.

    ``delimiter=;`` gives ``";"``, ``header_row=2`` gives ``2``, ``steps=[...]`` a list.
    Raises ValueError for a pair without ``=`` or with an empty name.
    """
    options: dict[str, object] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"{pair!r} is not NAME=VALUE")
        try:
            options[name.strip()] = json.loads(value)
        except ValueError:
            options[name.strip()] = value
    return options


def command_pool(config: EngineConfig) -> WorkerPool:
    """The converter pool of a command that converts files: one worker, the config's limits."""
    from syncengine.converters import WorkerPool

    return WorkerPool(
        config.converter_paths,
        workers=1,
        timeout_s=config.converter_timeout_s,
        memory_mb=config.converter_memory_mb,
        start_timeout_s=config.timeouts.converter_start_s,
    )


@dataclass
class FileOutcome:
    """What ``syncengine submit`` did with one file: its keys, or why it failed."""

    path: Path
    keys: list[str] = field(default_factory=list)
    error: str | None = None


SubmitItems = list[tuple[str, dict[str, Any], dict[str, Any]]]


def file_items(
    pool: WorkerPool,
    path: Path,
    *,
    converter: str = "auto",
    station_name: str | None = None,
    normalize_loops: bool = False,
    refused_prefix: str = "",
    options: Mapping[str, object] | None = None,
) -> tuple[SubmitItems, str | None]:
    """The ``submit_many`` items of one file, or why there are none (never raises for a bad file).

    The engine's own step (``syncengine._ingest.convert_file`` after ``journal.file_sha256``),
    so the keys (file SHA-256 and report index) and payloads are the watcher's. ``syncengine
    submit`` journals the items; ``syncengine check`` runs the server's rules over them.
    ``refused_prefix`` goes before the reason when the reports themselves are refused.
    """
    from journal import file_sha256
    from syncengine._ingest import InvalidReportsError, convert_file
    from syncengine.converters import ConversionFailed

    if not path.is_file():
        return [], "no such file" if not path.exists() else "not a regular file"
    try:
        sha, size = file_sha256(path)
        _conversion, items = convert_file(
            pool,
            path,
            sha,
            size,
            converter=converter,
            station_name=station_name,
            normalize_loops=normalize_loops,
            source_path=path.resolve(),
            options=options,
        )
    except OSError as exc:
        return [], f"cannot read: {exc.strerror or exc}"
    except ConversionFailed as exc:
        return [], f"conversion failed: {exc}"
    except InvalidReportsError as exc:
        return [], f"{refused_prefix}{exc}"
    return items, None


def submit_file(
    journal: Journal,
    pool: WorkerPool,
    path: Path,
    *,
    converter: str = "auto",
    station_name: str | None = None,
    normalize_loops: bool = False,
    options: Mapping[str, object] | None = None,
) -> FileOutcome:
    """Convert one file in the worker pool and commit its reports in one transaction.

    Keys and payloads are the folder watcher's (:func:`file_items`): a file submitted here and
    later dropped into a watch folder is one submission. The file itself is not moved. Never
    raises for a bad file: the reason is in ``error``.
    """
    outcome = FileOutcome(path)
    items, outcome.error = file_items(
        pool,
        path,
        converter=converter,
        station_name=station_name,
        normalize_loops=normalize_loops,
        options=options,
    )
    if outcome.error is not None:
        return outcome
    for _key, _payload, source in items:
        source["via"] = "cli submit"
    outcome.keys = [sub.key for sub in journal.submit_many(items)]
    return outcome
