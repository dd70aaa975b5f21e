"""The sd_notify protocol against a real AF_UNIX datagram socket standing in for systemd."""

from __future__ import annotations

import os
import signal
import socket
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncengine import SyncEngine
from syncengine.service import Notifier, Watchdog
from tests.syncengine.run_process import running_cli
from tests.syncengine.test_engine_support import fast_config, report, wait_for
from watsim import Simulator

pytestmark = pytest.mark.skipif(
    not hasattr(socket, "AF_UNIX") or sys.platform == "win32",
    reason="sd_notify is a Linux/systemd protocol over AF_UNIX datagrams; Windows has neither",
)


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """A datagram socket where systemd's would be; yields (socket, NOTIFY_SOCKET value)."""
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(20)
    yield sock, path
    sock.close()


def messages_until(sock: socket.socket, wanted: str, limit: int = 500) -> list[str]:
    """Datagrams received until one contains the line ``wanted`` (bounded)."""
    got: list[str] = []
    for _ in range(limit):
        data = sock.recv(4096).decode()
        got.append(data)
        if wanted in data.splitlines():
            return got
    raise AssertionError(f"{wanted} not received in {limit} datagrams: {got[-5:]}")


def test_ready_reaches_the_socket_with_a_status_line(manager: tuple[socket.socket, str]) -> None:
    sock, path = manager
    assert Notifier({"NOTIFY_SOCKET": path}).ready("delivering reports")
    assert sock.recv(4096) == b"READY=1\nSTATUS=delivering reports"


def test_abstract_namespace_socket_names_work(tmp_path: Path) -> None:
    name = f"wats-sync-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        sock.settimeout(5)
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).watchdog()
        assert sock.recv(4096) == b"WATCHDOG=1"


def test_without_a_socket_nothing_is_sent_and_nothing_fails() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert notifier.ready() is False and notifier.watchdog() is False


def test_a_vanished_manager_is_not_an_error(tmp_path: Path) -> None:
    assert Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")}).stopping() is False


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WATCHDOG_USEC": "60000000"}, 60.0),
        ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": str(os.getpid())}, 60.0),
        ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "1"}, None),  # meant for another process
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval_follows_sd_watchdog_enabled(
    env: dict[str, str], expected: float | None
) -> None:
    assert Notifier(env).watchdog_interval() == expected


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_watchdog_pings_only_while_the_heartbeat_is_fresh(
    manager: tuple[socket.socket, str],
) -> None:
    sock, path = manager
    clock = Clock()
    beat: list[float | None] = [clock.now]
    dog = Watchdog(Notifier({"NOTIFY_SOCKET": path}), 60.0, lambda: beat[0], clock=clock)
    assert dog.tick() is True
    assert sock.recv(4096) == b"WATCHDOG=1"
    clock.now += 31  # the loop has not gone round for more than half the interval
    assert dog.tick() is False
    beat[0] = clock.now  # it moved again
    assert dog.tick() is True
    beat[0] = None  # the engine stopped
    assert dog.tick() is False
    assert (dog.pings, dog.withheld) == (2, 2)


def test_a_running_engine_has_a_moving_heartbeat_and_a_stopped_one_none(
    tmp_path: Path, sim: Simulator
) -> None:
    engine = SyncEngine(fast_config(tmp_path, sim))
    assert engine.heartbeat_at is None
    with engine:
        engine.submit(report(1, tag="beat"))
        assert engine.wait_idle(30)
        first = engine.heartbeat_at
        assert first is not None
        # idle_poll_s is 50 ms: with nothing to do, the loop still goes round by itself
        wait_for(lambda: engine.heartbeat_at != first, what="the heartbeat to move")
    assert engine.heartbeat_at is None


def test_syncengine_run_speaks_the_protocol_to_systemd(
    tmp_path: Path, sim: Simulator, manager: tuple[socket.socket, str]
) -> None:
    """READY=1 after start, WATCHDOG=1 repeatedly, STOPPING=1 on SIGTERM, then exit 0."""
    sock, path = manager
    config = tmp_path / "config.toml"
    config.write_text(
        f'server_url = "{sim.base_url}"\ntoken = "test-token"\njournal_path = "journal.db"\n'
        "idle_poll_s = 0.05\n"
    )
    config.chmod(0o600)
    env = dict(
        os.environ,
        NOTIFY_SOCKET=path,
        WATCHDOG_USEC="600000",
        WATCHDOG_PID="",
        PYTHONUNBUFFERED="1",
    )
    with running_cli(["--config", str(config), "run"], env, tmp_path / "run.log") as child:
        got = messages_until(sock, "READY=1")
        got += messages_until(sock, "WATCHDOG=1")
        got += messages_until(sock, "WATCHDOG=1")  # not a one-off: the thread keeps pinging
        child.proc.send_signal(signal.SIGTERM)
        got += messages_until(sock, "STOPPING=1")
        assert child.stop(60) == 0
    lines = [line for message in got for line in message.splitlines()]
    assert lines.index("READY=1") < lines.index("STOPPING=1")
    assert lines.count("WATCHDOG=1") >= 2
    # each ping tells `systemctl status` the engine's health and counts
    assert any(line.startswith("STATUS=ok: 0 waiting, 0 failed") for line in lines), lines


def test_an_idle_engine_with_a_long_idle_poll_keeps_the_watchdog_fed(
    tmp_path: Path, sim: Simulator, manager: tuple[socket.socket, str]
) -> None:
    """idle_poll_s far longer than the watchdog interval: an idle, healthy engine still pings.

    The dispatcher's heartbeat used to move once per loop round, and an idle round sleeps
    idle_poll_s; with idle_poll_s >= WatchdogSec/2 the pings stopped and systemd killed a
    healthy service. Here the watchdog is 1 s (fresh heartbeat needed within 0.5 s) and
    idle_poll_s is 120 s: a dozen pings in a row must arrive, each within a few seconds.
    """
    sock, path = manager
    config = tmp_path / "config.toml"
    config.write_text(
        f'server_url = "{sim.base_url}"\ntoken = "test-token"\njournal_path = "journal.db"\n'
        "idle_poll_s = 120\n"
    )
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="1000000", WATCHDOG_PID="")
    with running_cli(["--config", str(config), "run"], env, tmp_path / "run.log") as child:
        messages_until(sock, "READY=1")
        sock.settimeout(5)  # ten times the watchdog's freshness window, far below idle_poll_s
        for _ in range(12):  # about 4 s of pings at one per interval / 3
            messages_until(sock, "WATCHDOG=1")
        assert child.stop(60) == 0


def test_a_hung_journal_write_stops_the_pings_until_it_moves_again(
    tmp_path: Path, sim: Simulator, manager: tuple[socket.socket, str]
) -> None:
    """Another process holds the journal's write lock: the engine hangs in its journal write,
    and WATCHDOG=1 stops (systemd would restart the service) -- the heartbeat goes stale, and
    the ping's STATUS= read waits for the same journal. When the lock goes, the pings come
    back and the report is delivered once."""
    import sqlite3

    from journal import Journal

    sock, path = manager
    config = tmp_path / "config.toml"
    config.write_text(
        f'server_url = "{sim.base_url}"\ntoken = "test-token"\njournal_path = "journal.db"\n'
        "idle_poll_s = 0.05\n"
    )
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="600000", WATCHDOG_PID="")
    log = tmp_path / "run.log"
    with running_cli(["--config", str(config), "run"], env, log) as child:
        messages_until(sock, "READY=1")
        messages_until(sock, "WATCHDOG=1")
        item = report(1, tag="hung")
        with Journal(tmp_path / "journal.db") as producer:
            producer.submit(item["id"], item)
        holder = sqlite3.connect(tmp_path / "journal.db", isolation_level=None, timeout=30)
        holder.execute("BEGIN IMMEDIATE")  # the write lock, before the dispatcher's next round
        try:
            sock.settimeout(1.5)
            silent = False
            for _ in range(200):  # bounded: pings stop once the dispatcher reaches its write
                try:
                    sock.recv(4096)
                except TimeoutError:
                    silent = True
                    break
            assert silent, "the pings never stopped while the journal write hung"
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        sock.settimeout(20)
        messages_until(sock, "WATCHDOG=1")  # moving again
        assert child.stop(60) == 0
    assert sim.stats()["distinct_reports"] == 1
    # No thread died: the pings came back by themselves and the engine stopped cleanly.
    assert "Traceback" not in log.read_text()
