"""`syncengine run --metrics-textfile`: a real process writes the file; stop and kill it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from syncengine import SyncEngine
from syncengine._metrics import TextfileWriter
from syncengine.service import Notifier, ServiceRuntime
from tests.syncengine.test_engine_support import fast_config, report, wait_for
from watsim import Simulator


def samples(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(path.read_text()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def start_run(tmp_path: Path, sim: Simulator, textfile: Path) -> subprocess.Popen[bytes]:
    inbox = tmp_path / "inbox"
    inbox.mkdir(exist_ok=True)
    config = tmp_path / "config.toml"
    config.write_text(
        f'server_url = "{sim.base_url}"\ntoken = "test-token"\njournal_path = "journal.db"\n'
        f'idle_poll_s = 0.05\n[[watch]]\npath = "inbox"\nconverter = "wsjf"\nstable_s = 0.05\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SYNCENGINE_", "NOTIFY_"))}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "syncengine",
            "--config",
            str(config),
            "run",
            "--metrics-textfile",
            str(textfile),
            "--metrics-interval",
            "0.1",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def drop_report(tmp_path: Path, n: int) -> None:
    import json

    from tests.syncengine.test_engine_support import report

    target = tmp_path / "inbox" / f"r{n}.json"
    tmp = target.with_suffix(".part")
    tmp.write_text(json.dumps(report(n, tag="textfile-run")))
    tmp.rename(target)


def healthy_file(path: Path) -> bool:
    try:
        return ("wats_sync_uploads_total", (("outcome", "success"),)) in samples(path)
    except (OSError, ValueError):
        return False


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM/SIGKILL of a child process")
def test_run_writes_the_textfile_and_its_last_write_says_stopped(
    tmp_path: Path, sim: Simulator
) -> None:
    textfile = tmp_path / "node-exporter" / "wats_sync.prom"
    proc = start_run(tmp_path, sim, textfile)
    try:
        drop_report(tmp_path, 1)
        wait_for(
            lambda: (
                healthy_file(textfile)
                and samples(textfile)[("wats_sync_uploads_total", (("outcome", "success"),))] == 1
            ),
            timeout=60,
            what="the textfile to show the upload",
        )
        got = samples(textfile)
        assert (
            got[("wats_sync_conversions_total", (("converter", "wsjf"), ("outcome", "success")))]
            == 1
        )
        assert got[("wats_sync_health", (("state", "ok"),))] == 1
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    final = samples(textfile)
    assert final[("wats_sync_health", (("state", "stopped"),))] == 1
    assert final[("wats_sync_submissions", (("state", "acked"),))] == 1
    assert [p.name for p in textfile.parent.iterdir()] == ["wats_sync.prom"]
    assert sim.stats()["distinct_reports"] == 1


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_killed_writer_never_leaves_half_a_file(tmp_path: Path, sim: Simulator) -> None:
    textfile = tmp_path / "wats_sync.prom"
    for round_ in range(3):
        textfile.unlink(missing_ok=True)
        proc = start_run(tmp_path, sim, textfile)
        try:
            drop_report(tmp_path, round_)
            wait_for(lambda: healthy_file(textfile), timeout=60, what="this run's first textfile")
            time.sleep(0.03 * round_)  # kill at a different point of the 0.1 s write cycle
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        # Whatever moment the kill hit, the exporter's file is a whole exposition: it parses,
        # and the collector's first and last families are both in it.
        names = {name for name, _labels in samples(textfile)}
        assert {"wats_sync_build_info", "wats_sync_connectivity_probes_total"} <= names
    # The only other files a kill can leave are the library's temporaries, which the textfile
    # collector ignores (it reads *.prom only).
    assert [p.name for p in tmp_path.glob("*.prom")] == ["wats_sync.prom"]

    # A last, clean run delivers whatever the killed ones left: nothing lost, nothing twice.
    proc = start_run(tmp_path, sim, textfile)
    try:
        acked = ("wats_sync_submissions", (("state", "acked"),))
        wait_for(
            lambda: healthy_file(textfile) and samples(textfile).get(acked) == 3,
            timeout=60,
            what="all three reports acknowledged",
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert sim.stats()["distinct_reports"] == 3


def test_start_removes_temporaries_of_killed_writers_only(tmp_path: Path) -> None:
    textfile = tmp_path / "wats_sync.prom"
    stale = tmp_path / "wats_sync.prom.999999.140001"  # another process, killed mid-write
    mine = tmp_path / f"wats_sync.prom.{os.getpid()}.140002"  # this process's own
    others = [tmp_path / "wats_sync.prom.bak", tmp_path / "other.prom.999999.1"]
    for path in (stale, mine, *others):
        path.write_text("x")
    writer = TextfileWriter(CollectorRegistry(), textfile, interval_s=3600)
    writer.start()
    writer.stop()
    assert not stale.exists()
    assert mine.exists() and all(p.exists() for p in others)
    assert textfile.exists()


# --- the file as the exporter (another user) sees it ---------------------------------------------
@pytest.fixture
def service_umask() -> Iterator[None]:
    """The generated unit's ``UMask=0077`` for this process, restored after the test."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def write_once(sim: Simulator, tmp_path: Path, textfile: Path) -> None:
    """A real engine (one report acknowledged) written to ``textfile`` the way ``run`` does."""
    with SyncEngine(fast_config(tmp_path, sim)) as engine:
        engine.submit(report(1, tag="textfile-mode"))
        assert engine.wait_idle(30)
        runtime = ServiceRuntime(engine, textfile=textfile, notifier=Notifier({}))
        runtime.started()
        runtime.stopping()
    runtime.stopped()


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes (Windows: only read-only is set)")
def test_the_textfile_is_readable_by_others_under_the_service_umask(
    tmp_path: Path, service_umask: None
) -> None:
    textfile = tmp_path / "textfile" / "wats_sync.prom"
    writer = TextfileWriter(CollectorRegistry(), textfile, interval_s=3600)
    assert writer.write()
    assert stat.S_IMODE(textfile.stat().st_mode) == 0o644
    assert writer.write()  # rewriting keeps the mode (a new file is renamed over the old)
    assert stat.S_IMODE(textfile.stat().st_mode) == 0o644
    assert [p.name for p in textfile.parent.iterdir()] == ["wats_sync.prom"]


def test_the_textfile_leaves_process_metrics_to_the_exporter(
    tmp_path: Path, sim: Simulator
) -> None:
    """node_exporter and windows_exporter export their own ``process_*`` series under the same
    target: the engine's would collide with them, so the textfile carries none."""
    textfile = tmp_path / "wats_sync.prom"
    write_once(sim, tmp_path, textfile)
    names = {name for name, _labels in samples(textfile)}
    assert ("wats_sync_submissions", (("state", "acked"),)) in samples(textfile)
    assert {n for n in names if n.startswith(("process_", "python_"))} == set()
    assert not names - {n for n in names if n.startswith("wats_sync_")}


def node_exporter_can_run_as_nobody() -> str | None:
    if sys.platform != "linux":
        return "node_exporter and POSIX users: Linux only"
    if shutil.which("prometheus-node-exporter") is None:
        return "prometheus-node-exporter is not installed (Debian package of that name)"
    if os.geteuid() != 0:
        return "running node_exporter as another user needs root"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape_node_exporter(directory: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Run the real node_exporter as ``nobody`` on loopback, its textfile collector reading
    ``directory``, and return one scrape's samples."""
    exporter = shutil.which("prometheus-node-exporter")
    assert exporter is not None
    port = free_port()
    proc = subprocess.Popen(
        [
            exporter,
            f"--web.listen-address=127.0.0.1:{port}",
            "--collector.disable-defaults",
            "--collector.textfile",
            f"--collector.textfile.directory={directory}",
        ],
        user="nobody",
        group="nogroup",
        extra_groups=[],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        body: list[str] = []

        def scraped() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    body.append(r.read().decode())
            except OSError:
                return False
            return True

        wait_for(scraped, timeout=30, what="node_exporter to answer")
    finally:
        proc.terminate()
        proc.wait(30)
    out = {}
    for family in text_string_to_metric_families(body[-1]):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_node_exporter_as_another_user_reads_the_textfile_written_under_umask_0077(
    tmp_path: Path, sim: Simulator, service_umask: None
) -> None:
    """The real collector, as ``nobody``, reads the file the service (``UMask=0077``) wrote:
    no ``node_textfile_scrape_error``, and the engine's series are in its exposition."""
    reason = node_exporter_can_run_as_nobody()
    if reason is not None:
        pytest.skip(reason)
    # A folder nobody can reach (tmp_path's parents are 0700), like Debian's 0755 one.
    directory = Path(tempfile.mkdtemp(prefix="wats-sync-textfile-"))
    try:
        directory.chmod(0o755)
        write_once(sim, tmp_path, directory / "wats_sync.prom")
        got = scrape_node_exporter(directory)
    finally:
        shutil.rmtree(directory)
    assert got[("node_textfile_scrape_error", ())] == 0
    assert got[("wats_sync_submissions", (("state", "acked"),))] == 1
    assert ("node_textfile_mtime_seconds", (("file", f"{directory}/wats_sync.prom"),)) in got
