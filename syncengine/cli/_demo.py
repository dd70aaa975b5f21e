"""``syncengine demo``: the whole product in well under a minute, on 127.0.0.1 only.

The demo starts the bundled simulator in-process, makes a station folder and a journal in a
temporary directory, and runs a real engine with a folder watcher. The story:

1. the station writes two good reports; they are converted, journaled and acknowledged;
2. the server goes down; meanwhile the station writes more reports (WSJF, WSXF when that
   converter is present, a repair report), one malformed file, one report with an unknown
   process code and one re-sent server export whose loop summary the real server's import
   refuses. Everything good is journaled at once and waits, nothing is lost;
3. the server comes back but answers 503 for a while; the engine backs off and retries;
4. the server recovers; everything drains. The export is refused with the real server's 400
   text (``root -> step ... -> loop ...: num is required to be one more than endingIndex.``);
5. the operator drops the same export into a folder watched with ``normalize_loops = true``:
   it goes through, recorded in the journal as rewritten.

It then prints the status table, the ``inspect`` view of one report that needed retries and
that of the refused export (which names the option that fixes it), and checks what was
designed: each good report stored on the server exactly once, the malformed file in ``error/``
with its reason, the rejected reports ``failed`` with the server's reason, nothing pending, and
an intact journal. ``run_demo`` returns True only then.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from syncengine.cli._demo_files import DemoFile, first_batch, reprocessed, second_batch
from syncengine.cli._views import inspect_lines, inspect_view, status_lines

if TYPE_CHECKING:
    from syncengine import EngineConfig, SyncEngine

Echo = Callable[[str], None]

_OUTAGE_S = 3.0
_ERRORS_AFTER_OUTAGE = 3
_DEADLINE_S = 45.0


@dataclass
class _Run:
    """Shared state of one demo run: the clock, the output and the deviations found."""

    echo: Echo
    started: float = field(default_factory=time.monotonic)
    problems: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    narrated: set[str] = field(default_factory=set)
    """Keys whose final outcome (acked or failed) has been told."""

    def say(self, text: str) -> None:
        with self.lock:
            self.echo(f"[{time.monotonic() - self.started:5.1f}s] {text}")

    def check(self, ok: bool, good: str, bad: str) -> None:
        self.say(("ok    " if ok else "FAIL  ") + (good if ok else bad))
        if not ok:
            self.problems.append(bad)


def _write(folder: Path, item: DemoFile) -> None:
    # Written under a temporary name and renamed, as a well-behaved station does.
    tmp = folder / item.folder / (item.name + ".part")
    tmp.write_bytes(item.content)
    tmp.replace(folder / item.folder / item.name)


def _wait(predicate: Callable[[], bool], timeout: float, poll: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return predicate()


@contextmanager
def _progress(run: _Run) -> Iterator[None]:
    """Narrate the engine's signals while the demo runs."""
    from syncengine import signals
    from syncengine.cli._logs import connected

    def label(key: str) -> str:
        return run.labels.get(key, key[:8])

    def on_converted(_sender: object, **kw: Any) -> None:
        run.say(
            f"journaled  {Path(kw['path']).name} -> {len(kw['keys'])} report(s) ({kw['converter']})"
        )

    def on_conversion_failed(_sender: object, **kw: Any) -> None:
        run.say(f"bad file   {Path(kw['path']).name}: {kw['reason']}")

    def on_acked(_sender: object, **kw: Any) -> None:
        run.narrated.add(kw["key"])
        run.say(f"acked      {label(kw['key'])} ({kw['latency_s'] * 1000:.0f} ms)")

    def on_retry(_sender: object, **kw: Any) -> None:
        run.say(f"retry      {label(kw['key'])} in {kw['delay_s']:.1f} s after {kw['error_class']}")

    def on_failed(_sender: object, **kw: Any) -> None:
        run.narrated.add(kw["key"])
        status = kw.get("status_code") or "-"
        run.say(f"failed     {label(kw['key'])}: HTTP {status}: {kw['reason']}")

    def on_connection(_sender: object, **kw: Any) -> None:
        run.say(f"connection {kw['old']} -> {kw['new']} ({kw['reason']})")

    receivers = [
        (signals.file_converted, on_converted),
        (signals.conversion_failed, on_conversion_failed),
        (signals.upload_succeeded, on_acked),
        (signals.retry_scheduled, on_retry),
        (signals.submission_failed, on_failed),
        (signals.connection_changed, on_connection),
    ]
    with connected(receivers):
        yield


def _engine_config(base_url: str, token: str, work: Path, station: Path) -> EngineConfig:
    from syncengine import BreakerConfig, EngineConfig, RetryConfig, WatchFolder

    # Small delays everywhere so that the whole story fits in a few seconds.
    return EngineConfig(
        server_url=base_url,
        token=token,
        journal_path=work / "journal.sqlite3",
        station_name="ICT-STATION-01",
        concurrency=2,
        grace_period_s=2.0,
        idle_poll_s=0.1,
        probe_interval_s=0.3,
        status_interval_s=0.5,
        stuck_after_s=120.0,
        retry=RetryConfig(base_s=0.2, cap_s=1.0),
        breaker=BreakerConfig(failure_threshold=3, reset_timeout_s=0.5),
        watch=(
            WatchFolder(path=station, converter="auto", stable_s=0.2, rescan_s=1.0),
            # Where an operator re-sends server exports: loops rewritten, and recorded so.
            WatchFolder(path=station / "exports", stable_s=0.2, rescan_s=1.0, normalize_loops=True),
        ),
        converter_workers=1,
        converter_timeout_s=30.0,
    )


def _drain(run: _Run, engine: SyncEngine, station: Path, files: list[DemoFile], what: str) -> None:
    paths = [station / f.folder / f.name for f in files]
    left = _wait(lambda: not any(p.exists() for p in paths), _DEADLINE_S)
    idle = left and engine.wait_idle(_DEADLINE_S)
    # Signals fire just after the commit wait_idle saw; let the narration catch up.
    keys = {f.key for f in files if f.expect != "error"}
    _wait(lambda: keys <= run.narrated, 2.0)
    if not idle:
        run.problems.append(f"{what}: the engine did not become idle within {_DEADLINE_S:.0f} s")
        run.say(f"FAIL  {what}: not idle after {_DEADLINE_S:.0f} s")


def _story(run: _Run, sim: Any, engine: SyncEngine, station: Path, files: list[DemoFile]) -> None:
    first, second = files[:2], files[2:-1]  # the last one is the operator's, later
    run.say("station writes 2 reports")
    for item in first:
        _write(station, item)
    _drain(run, engine, station, first, "first batch")

    run.say(f"SERVER DOWN for {_OUTAGE_S:.0f} s, then it answers 503 until further notice")
    sim.set_faults(down_for_s=_OUTAGE_S, error_rate=1.0, error_statuses=[503], retry_after_s=0.2)
    run.say(f"station writes {len(second)} more files while the server is down")
    for item in second:
        _write(station, item)
    _wait(lambda: not sim.is_down, _OUTAGE_S + 10)
    counts = engine.counts()
    run.say(
        f"server is back (answering 503); journal holds {counts['pending']} pending, "
        f"{counts['acked']} acked: nothing was lost while it was down"
    )
    _wait(
        lambda: sim.stats()["faults_injected"].get("error", 0) >= _ERRORS_AFTER_OUTAGE,
        _DEADLINE_S,
    )
    run.say(f"{sim.stats()['faults_injected'].get('error', 0)} x 503 so far; server recovers")
    sim.clear_faults()
    _drain(run, engine, station, second, "second batch")
    _refused_export(run, engine, station, files)


def _refused_export(run: _Run, engine: SyncEngine, station: Path, files: list[DemoFile]) -> None:
    """The real server's loop refusal, explained, then the operator's way through."""
    export, again = files[-2], files[-1]
    sub = _submission(engine, export.key)
    hint = inspect_view(sub, engine.history(export.key)).get("fix") if sub is not None else None
    run.say(f"the server refused the re-sent export; inspect says: {hint}")
    run.say(f"operator drops the same file into {station / again.folder} (normalize_loops = true)")
    _write(station, again)
    _drain(run, engine, station, [again], "re-sent export")


def _verify(run: _Run, sim: Any, engine: SyncEngine, station: Path, files: list[DemoFile]) -> None:
    stats = sim.stats()
    counts = stats["receive_counts"]
    expected = {f.report_id.lower() for f in files if f.expect == "acked" and f.report_id}
    stored = set(counts)
    run.check(
        stored == expected,
        f"the server holds exactly the {len(expected)} good reports",
        f"server holds {sorted(stored)}, expected {sorted(expected)}",
    )
    twice = {k: v for k, v in counts.items() if v != 1}
    run.check(not twice, "each one was stored exactly once", f"stored more than once: {twice}")
    for item in files:
        if item.expect == "error":
            moved = station / "error" / item.name
            sidecar = station / "error" / (item.name + ".error.txt")
            reason = sidecar.read_text(encoding="utf-8") if sidecar.exists() else ""
            run.check(
                moved.exists() and "reason:" in reason,
                f"{item.name} is in error/ with its reason: {_reason_line(reason)}",
                f"{item.name} is not in {station / 'error'} with a reason sidecar",
            )
        elif item.expect == "failed":
            sub = _submission(engine, item.key)
            error = (sub.last_error or {}) if sub is not None else {}
            run.check(
                sub is not None
                and sub.state == "failed"
                and error.get("status_code") == 400
                and item.message in str(error.get("message")),
                f"{item.label} is failed: HTTP 400 {error.get('message')}",
                f"{item.label} should be failed with HTTP 400 {item.message!r}, is "
                f"{None if sub is None else sub.state} {error}",
            )
        elif item.variant:
            sub = _submission(engine, item.key)
            record = ((sub.source or {}) if sub is not None else {}).get(item.variant) or {}
            run.check(
                sub is not None and sub.state == "acked" and bool(record.get("changes")),
                f"{item.label} is acked, recorded as rewritten: {record.get('changes')}",
                f"{item.label} should be acked with a {item.variant} record, is "
                f"{None if sub is None else (sub.state, sub.source)}",
            )
    final = engine.counts()
    run.check(
        final["pending"] == 0 and final["in_flight"] == 0,
        f"nothing pending: {final['acked']} acked, {final['failed']} failed",
        f"still waiting: {final}",
    )


def _reason_line(sidecar: str) -> str:
    for line in sidecar.splitlines():
        if line.startswith("reason:"):
            return line.split(":", 1)[1].strip()
    return "?"


def _submission(engine: SyncEngine, key: str) -> Any:
    # A second, read-only use of the journal file: SQLite in WAL mode serves it alongside the
    # engine's own connection.
    from journal import Journal

    with Journal(engine.config.journal_path) as journal:
        return journal.submission(key)


def _verify_journal(run: _Run, journal_path: Path) -> None:
    from journal import Journal

    with Journal(journal_path) as journal:
        result = journal.verify()
    run.check(
        result.ok,
        f"journal verify: hash chain intact ({result.checked} events)",
        f"journal verify failed at {result.first_bad_seq}: {result.reason}",
    )


def _show_report(run: _Run, engine: SyncEngine, files: list[DemoFile]) -> None:
    candidates = [f for f in files if f.expect == "acked"]
    chosen = None
    for item in candidates:
        sub = _submission(engine, item.key)
        if sub is not None and (chosen is None or sub.attempts > chosen[1].attempts):
            chosen = (item, sub)
    if chosen is None:
        return
    _inspect(run, engine, chosen[0], chosen[1])
    for item in files:
        if item.expect == "failed" and item.message:
            sub = _submission(engine, item.key)
            if sub is not None:
                _inspect(run, engine, item, sub)


def _inspect(run: _Run, engine: SyncEngine, item: DemoFile, sub: Any) -> None:
    run.echo("")
    run.echo(f"--- syncengine inspect {sub.key}   ({item.label})")
    for line in inspect_lines(inspect_view(sub, engine.history(sub.key))):
        run.echo(line)


def _hold_page(run: _Run, engine: SyncEngine, seconds: float) -> None:
    run.echo("")
    run.say(f"station page: {engine.ui_url}  (open it in a browser on this computer)")
    run.say(f"keeping the engine and the page up for {seconds:g} s; Ctrl-C ends sooner")
    try:
        time.sleep(seconds)
    except KeyboardInterrupt:
        run.say("interrupted: stopping")


def run_demo(*, workdir: Path | None = None, echo: Echo = print, ui_seconds: float = 0.0) -> bool:
    """Run the demo; True when everything went as designed. ``workdir`` keeps the files.

    With ``ui_seconds`` the station page is on: its URL is printed and the engine keeps
    running that long after the story (Ctrl-C ends it sooner).
    """
    from pywats import make_token

    try:
        from watsim import Simulator
    except ImportError as exc:  # a packager split the simulator out
        from syncengine.cli._runtime import EXIT_CONFIG, CliError

        raise CliError(
            "the demo needs the WATS simulator (the 'watsim' package), which could not be "
            f"imported ({exc}); install wats-sync with its simulator (pip install wats-sync "
            "installs both) and run the demo again",
            EXIT_CONFIG,
        ) from exc

    run = _Run(echo)
    work = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="wats-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    station = work / "station"
    (station / "exports").mkdir(parents=True, exist_ok=True)
    token = make_token("demo", "demo-api-key")
    files = first_batch() + second_batch()
    files.append(reprocessed(files[-1]))
    run.labels = {f.key: f.label for f in files}
    try:
        with Simulator(token=token, seed=7) as sim:
            run.say(f"simulator listening on {sim.base_url} (127.0.0.1 only)")
            run.say(f"station folder {station}")
            from syncengine import SyncEngine

            config = _engine_config(sim.base_url, token, work, station)
            if ui_seconds > 0:
                from syncengine import UiConfig

                config = config.model_copy(update={"ui": UiConfig(enabled=True, port=0)})
            with _progress(run), SyncEngine(config) as engine:
                _story(run, sim, engine, station, files)
                run.echo("")
                run.echo("--- syncengine status")
                for line in status_lines(engine.status()):
                    run.echo(line)
                _show_report(run, engine, files)
                run.echo("")
                run.say("checking the outcome")
                _verify(run, sim, engine, station, files)
                if ui_seconds > 0:
                    _hold_page(run, engine, ui_seconds)
            _verify_journal(run, config.journal_path)
    finally:
        if workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    if run.problems:
        run.say(f"demo FAILED: {len(run.problems)} thing(s) did not go as designed")
        return False
    run.say(
        "demo OK: every good report reached the server exactly once; the bad ones are explained"
    )
    return True
