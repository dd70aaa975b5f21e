"""``syncengine run`` and ``syncengine demo``: the engine itself, against the configured server or
the bundled simulator."""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

import click

from syncengine.cli._commands import _State, cli
from syncengine.cli._logs import log_engine_events, setup_logging
from syncengine.cli._runtime import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    engine_config_and_credentials,
    stop_on_signals,
)
from syncengine.cli._views import redact

log = logging.getLogger("syncengine.cli")


@cli.command()
@click.option(
    "--log-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also log to this file, rotated by size (default: [logging] file).",
)
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    help="Log level (default: [logging] level, INFO).",
)
@click.option(
    "--metrics-textfile",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="SYNCENGINE_METRICS_TEXTFILE",
    help="Also write the Prometheus metrics to this *.prom file (node_exporter or "
    "windows_exporter textfile collector), atomically.",
)
@click.option(
    "--metrics-interval",
    type=click.FloatRange(min=0.1),
    default=15.0,
    show_default=True,
    help="Seconds between textfile writes.",
)
@click.pass_obj
def run(
    state: _State,
    log_file: Path | None,
    log_level: str | None,
    metrics_textfile: Path | None,
    metrics_interval: float,
) -> None:
    """Run the engine with its folder watchers until SIGTERM or SIGINT.

    Logs go to stderr and, when configured, to a rotating file. On SIGTERM the engine stops
    its watchers, lets in-flight uploads finish within the grace period, writes the final
    status and exits 0. Under systemd (Type=notify) it reports readiness after recovery and
    feeds the watchdog while the engine makes progress.
    """
    settings = state.settings()
    config, provider = engine_config_and_credentials(settings)
    settings.check_paths(config)  # before anything is created, naming the key to fix
    if config.watch:  # an unknown converter is a config error too
        from syncengine.converters import list_converters

        found = list_converters(config.converter_paths, timeout_s=config.converter_timeout_s)
        settings.check_converters(config, [c.name for c in found.converters])
    setup_logging(settings, level="DEBUG" if state.debug else log_level, log_file=log_file)
    from syncengine._engine import SyncEngine
    from syncengine.service import ServiceRuntime, token_source

    if metrics_textfile is not None and metrics_textfile.suffix != ".prom":
        raise CliError(f"--metrics-textfile must end in .prom, got {metrics_textfile}", EXIT_USAGE)
    stop = threading.Event()
    engine = SyncEngine(config, credentials=provider)
    service = ServiceRuntime(
        engine,
        textfile=metrics_textfile,
        textfile_interval_s=metrics_interval,
        join_s=config.timeouts.stop_join_s,
    )
    acks, every = settings.logging.acks, settings.logging.acks_summary_s
    token_from = token_source(settings)
    events = log_engine_events(engine, acks=acks, summary_s=every, token_from=token_from)
    with stop_on_signals(stop), events:
        engine.start()
        service.started()
        log.info(
            "syncengine running: server %s, journal %s, %d watch folder(s)",
            config.server_url,
            config.journal_path,
            len(config.watch),
        )
        for folder in config.watch:
            log.info("watching %s (converter %s)", folder.path, folder.converter)
        if engine.health_address is not None:
            host, port = engine.health_address
            log.info("health endpoint: http://%s:%d/healthz (metrics: /metrics)", host, port)
        try:
            # A timed wait keeps the main thread responsive to signals on every platform.
            while not stop.wait(0.5):
                pass
        finally:
            log.info("stopping: grace period %.1f s", config.grace_period_s)
            service.stopping()
            engine.stop()
            service.stopped()
    log.info("stopped")


@cli.command()
@click.option(
    "--keep",
    type=click.Path(path_type=Path, file_okay=False),
    help="Keep the station folder and journal in this directory instead of a temporary one.",
)
@click.option("--ui", is_flag=True, help="Serve the station page and print its URL.")
@click.option(
    "--ui-seconds",
    type=float,
    default=120.0,
    show_default=True,
    help="With --ui: how long to keep the page open after the story.",
)
def demo(keep: Path | None, ui: bool, ui_seconds: float) -> None:
    """Run the whole flow against the bundled simulator on 127.0.0.1.

    Drops realistic report files (one malformed, one the server rejects) into a watched
    folder, injects an outage and a few 503s, and checks that every good report reached the
    server exactly once and the bad ones are explained. Exit 0 only when all went as designed.
    """
    from syncengine.cli._demo import run_demo

    # The demo narrates every warning itself; only real errors should add log lines.
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    ok = run_demo(
        workdir=keep,
        echo=lambda line: click.echo(redact(line)),
        ui_seconds=ui_seconds if ui else 0.0,
    )
    sys.exit(EXIT_OK if ok else EXIT_FAILED)
