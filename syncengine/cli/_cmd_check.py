"""``syncengine check FILE...``: what the WATS server would refuse, found before sending.

Each file goes through the converter the engine would use and through the same report building
(``build_submissions``, with ``normalize_loops`` as configured: a file inside a ``[[watch]]``
folder, or any file with ``--watch N``, gets that folder's converter, options and setting),
then through the real server's documented rules (``watsim.validate_report``, the one
implementation the simulator also enforces). Lines are printed with the server's own paths.
Nothing changes: no journal is opened, no file is moved. The server stays the judge:
journaling never depends on this check, and a report that passes here may still be refused for
a rule nobody has documented.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from syncengine.cli._commands import _State, cli
from syncengine.cli._runtime import EXIT_FAILED, EXIT_USAGE
from syncengine.cli._submit_files import command_pool, file_items
from syncengine.cli._views import redact

if TYPE_CHECKING:
    from syncengine._config import WatchFolder
    from syncengine.converters import WorkerPool

Validate = Callable[[dict[str, Any]], Sequence[object]]


@dataclass
class ReportCheck:
    """One report of a checked file: its id, the server's refusal lines, and the fixes."""

    index: int
    report_id: str | None
    refusals: list[str] = field(default_factory=list)
    fix: str | None = None
    rewritten: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FileCheck:
    """One checked file: its reports, or why it could not even be converted or built."""

    path: Path
    error: str | None = None
    reports: list[ReportCheck] = field(default_factory=list)
    watch: int | None = None
    """The ``[[watch]]`` folder (0-based) whose settings the file was checked with, if any."""

    @property
    def refused(self) -> bool:
        """Whether anything in this file would not reach the server."""
        return self.error is not None or any(r.refusals for r in self.reports)


def _load_rules() -> Validate:
    try:
        from watsim import validate_report
    except ImportError:
        click.echo(
            "syncengine: error: 'check' needs the watsim package, which carries the WATS "
            "server's documented rules; install wats-sync with it (pip install wats-sync, "
            "or from a checkout: pip install -e .)",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    return validate_report


def watch_folder_of(path: Path, folders: Sequence[WatchFolder]) -> int | None:
    """The index of the ``[[watch]]`` folder ``path`` lies in (the deepest one), or None.

    A file there is checked with that folder's settings, as the watcher would convert it.
    """
    where = path.resolve()
    best: tuple[int, int] | None = None
    for index, folder in enumerate(folders):
        root = folder.path.resolve()
        if where.is_relative_to(root) and (best is None or len(root.parts) > best[1]):
            best = (index, len(root.parts))
    return None if best is None else best[0]


def check_file(
    path: Path,
    pool: WorkerPool,
    validate: Validate,
    *,
    converter: str,
    station_name: str | None,
    normalize_loops: bool,
    options: dict[str, object] | None = None,
    watch: int | None = None,
) -> FileCheck:
    """Convert ``path`` and build its reports exactly as ``syncengine submit`` would
    (:func:`~syncengine.cli._submit_files.file_items`), then run the server's rules over each. Never
    raises for a bad file."""
    from syncengine.converters import refusal_hint

    result = FileCheck(path, watch=watch)
    items, result.error = file_items(
        pool,
        path,
        converter=converter,
        station_name=station_name,
        normalize_loops=normalize_loops,
        refused_prefix="wats-sync would not journal it: ",
        options=options,
    )
    if result.error is not None:
        return result
    for index, (_key, payload, source) in enumerate(items):
        lines = [str(refusal) for refusal in validate(payload)]
        record = source.get("normalize_loops") or {}
        result.reports.append(
            ReportCheck(
                index=index,
                report_id=payload.get("id"),
                refusals=lines,
                fix=refusal_hint("\n".join(lines)),
                rewritten=list(record.get("changes") or []),
            )
        )
    return result


def check_lines(result: FileCheck) -> list[str]:
    """The people's rendering of one file's check."""
    if result.error is not None:
        return [f"{result.path}: {result.error}"]
    lines: list[str] = []
    count = len(result.reports)
    for report in result.reports:
        name = f"{result.path}: report {report.index + 1} of {count} ({report.report_id})"
        if report.rewritten:
            lines.append(f"{name}: rewritten by normalize_loops ({len(report.rewritten)} changes)")
        if not report.refusals:
            lines.append(f"{name}: ok, no documented rule refuses it")
            continue
        lines.append(f"{name}: the server would refuse it with HTTP 400:")
        lines += [f"    {line}" for line in report.refusals]
        if report.fix:
            lines.append(f"  fix: {report.fix}")
    return lines


def _as_json(result: FileCheck) -> dict[str, Any]:
    return {
        "path": str(result.path),
        "watch": None if result.watch is None else result.watch + 1,
        "error": result.error,
        "refused": result.refused,
        "reports": [
            {
                "index": r.index,
                "id": r.report_id,
                "refusals": r.refusals,
                "fix": r.fix,
                "normalize_loops_changes": r.rewritten,
            }
            for r in result.reports
        ],
    }


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--converter",
    metavar="NAME",
    default=None,
    help="Converter name for every file, or 'auto' to pick by file "
    "(default: the watch folder's converter, else auto).",
)
@click.option(
    "--normalize-loops/--no-normalize-loops",
    default=None,
    help="Check the reports as rewritten by normalize_loops (default: the setting of the "
    "[[watch]] folder the file is in, else the config's).",
)
@click.option(
    "--watch",
    "watch",
    metavar="N",
    type=click.IntRange(min=1),
    default=None,
    help="Check every file with the settings of the N-th [[watch]] folder (1 = the first), "
    "wherever it lies.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file, one per line.")
@click.pass_obj
def check(
    state: _State,
    files: tuple[Path, ...],
    converter: str | None,
    normalize_loops: bool | None,
    watch: int | None,
    as_json: bool,
) -> None:
    """Show what the WATS server would refuse in FILES, without sending or journaling anything.

    Runs the converter, then the server's documented report rules (loop summaries, limits of
    loop iterations, step versus measurement status), and prints each refusal with the path
    the server itself would print. Exit code 1 when any report would be refused or any file
    cannot be converted; 0 when every report passes the documented rules.
    """
    validate = _load_rules()
    config = state.settings().partial_config()
    if watch is not None and watch > len(config.watch):
        click.echo(
            f"syncengine: error: --watch {watch}: the configuration has "
            f"{len(config.watch)} [[watch]] folder(s)",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    pool = command_pool(config)
    refused = 0
    with pool:
        for path in files:
            index = watch - 1 if watch is not None else watch_folder_of(path, config.watch)
            folder = None if index is None else config.watch[index]
            # A watch folder's normalize_loops is already resolved against the engine's.
            rewrite = folder.normalize_loops if folder is not None else config.normalize_loops
            result = check_file(
                path,
                pool,
                validate,
                converter=converter or (folder.converter if folder is not None else "auto"),
                station_name=config.station_name,
                normalize_loops=bool(rewrite if normalize_loops is None else normalize_loops),
                options=dict(folder.options) if folder is not None and converter is None else None,
                watch=index,
            )
            refused += result.refused
            if as_json:
                click.echo(redact(json.dumps(_as_json(result), sort_keys=True)))
            else:
                for line in check_lines(result):
                    click.echo(redact(line))
    if refused:
        sys.exit(EXIT_FAILED)
