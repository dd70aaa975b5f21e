"""``syncengine check FILE...``: what the WATS server would refuse, found before sending.

Each file goes through the converter the engine would use and through the same report building
(``build_submissions``, with ``normalize_loops`` as configured), then through the real server's
documented rules (``watsim.validate_report``, the one implementation the simulator also
enforces). Lines are printed with the server's own paths. Nothing changes: no journal is opened,
no file is moved. The server stays the judge: journaling never depends on this check, and a
report that passes here may still be refused for a rule nobody has documented.
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


def check_file(
    path: Path,
    pool: WorkerPool,
    validate: Validate,
    *,
    converter: str,
    station_name: str | None,
    normalize_loops: bool,
) -> FileCheck:
    """Convert ``path`` and build its reports exactly as ``syncengine submit`` would
    (:func:`~syncengine.cli._submit_files.file_items`), then run the server's rules over each. Never
    raises for a bad file."""
    from syncengine.converters import refusal_hint

    result = FileCheck(path)
    items, result.error = file_items(
        pool,
        path,
        converter=converter,
        station_name=station_name,
        normalize_loops=normalize_loops,
        refused_prefix="wats-sync would not journal it: ",
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
    default="auto",
    show_default=True,
    help="Converter name for every file, or 'auto' to pick by file.",
)
@click.option(
    "--normalize-loops/--no-normalize-loops",
    default=None,
    help="Check the reports as rewritten by normalize_loops (default: the config's setting).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file, one per line.")
@click.pass_obj
def check(
    state: _State,
    files: tuple[Path, ...],
    converter: str,
    normalize_loops: bool | None,
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
    rewrite = config.normalize_loops if normalize_loops is None else normalize_loops
    pool = command_pool(config)
    refused = 0
    with pool:
        for path in files:
            result = check_file(
                path,
                pool,
                validate,
                converter=converter,
                station_name=config.station_name,
                normalize_loops=rewrite,
            )
            refused += result.refused
            if as_json:
                click.echo(redact(json.dumps(_as_json(result), sort_keys=True)))
            else:
                for line in check_lines(result):
                    click.echo(redact(line))
    if refused:
        sys.exit(EXIT_FAILED)
