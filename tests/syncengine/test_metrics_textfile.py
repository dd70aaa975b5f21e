"""`syncengine run --metrics-textfile`: a real process writes the file; stop and kill it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from syncengine._metrics import TextfileWriter
from tests.syncengine.test_engine_support import wait_for
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
