"""Security: the token never leaks, OData values are escaped, files are private, health is local.

The leak test runs the real CLI engine with a distinctive token through success, a rejected
(expired) token, a bad file and the read-only commands, then greps every byte it wrote.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from journal import Journal
from pywats import AuthenticationError, Client, PyWATSError, Q, make_token
from syncengine import EngineConfig, HealthHttpConfig, SyncEngine
from syncengine.credentials import CredentialsStoreError, EncryptedFileStore, StoredToken
from tools.torture._reports import report_for
from watsim import Simulator

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "S3CRET-KEY-d41d8cd98f00b204"
TOKEN = make_token("proof-user", SECRET_KEY)
POSIX = os.name == "posix"


def _leaks(blob: bytes) -> list[str]:
    return [t for t in (TOKEN, SECRET_KEY) if t.encode() in blob]


def _env(work: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCENGINE_")}
    env.update(
        SYNCENGINE_SERVER_URL=url,
        SYNCENGINE_TOKEN=TOKEN,
        SYNCENGINE_JOURNAL=str(work / "journal.db"),
        SYNCENGINE_WATCH=str(work / "watch"),
        SYNCENGINE_LOG_FILE=str(work / "engine.log"),
        SYNCENGINE_LOG_LEVEL="DEBUG",
        PYTHONPATH=str(ROOT),
    )
    return env


def _rejections(sim: Simulator) -> int:
    return sum(n for code, n in sim.stats()["status_counts"].items() if str(code) == "401")


def _wait(predicate: Callable[[], bool], timeout_s: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture(scope="module")
def engine_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """A CLI engine run with the distinctive token; returns everything it printed and wrote."""
    with Simulator(token=TOKEN, seed=3) as sim:
        yield _engine_run(tmp_path_factory.mktemp("leak") / "station", sim)


def _engine_run(work: Path, sim: Simulator) -> dict[str, object]:
    (work / "watch").mkdir(parents=True)
    for i in range(3):
        (work / "watch" / f"ok{i}.json").write_text(json.dumps(report_for("sec", i)))
    (work / "watch" / "bad.json").write_text('{"type": "T", "broken": ')
    env = _env(work, sim.base_url)
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncengine", "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=str(work),
    )
    try:
        assert _wait(lambda: sim.stats()["distinct_reports"] == 3), "uploads did not happen"
        # Now the token expires: every request is rejected with 401 until the run ends.
        sim.set_faults(token_expires_after=1)
        for i in range(3):
            (work / "watch" / f"late{i}.json").write_text(json.dumps(report_for("sec", 90 + i)))
        assert _wait(lambda: _rejections(sim) > 0, 30.0), sim.stats()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    outputs = [out, err]
    key = report_for("sec", 0)["id"]
    for args in (
        ["status", "--json"],
        ["journal", "dump"],
        ["inspect", key],
        ["journal", "verify"],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "syncengine", *args],
            capture_output=True,
            env=env,
            cwd=str(work),
            timeout=60,
        )
        outputs += [done.stdout, done.stderr]
    return {"work": work, "outputs": outputs, "dump": outputs[4]}


def test_engine_run_never_writes_the_token_to_any_file(engine_run: dict[str, object]) -> None:
    work = engine_run["work"]
    assert isinstance(work, Path)
    written = [p for p in work.rglob("*") if p.is_file()]
    assert any(p.name == "engine.log" for p in written)
    assert any(p.name.endswith(".error.txt") or "error" in p.parts for p in written)
    leaks = {str(p.relative_to(work)): _leaks(p.read_bytes()) for p in written}
    assert {name: found for name, found in leaks.items() if found} == {}


def test_engine_run_never_prints_the_token(engine_run: dict[str, object]) -> None:
    outputs = engine_run["outputs"]
    assert isinstance(outputs, list)
    assert [i for i, blob in enumerate(outputs) if _leaks(blob)] == []


def test_journal_dump_holds_the_reports_but_not_the_token(engine_run: dict[str, object]) -> None:
    dump = engine_run["dump"]
    assert isinstance(dump, bytes)
    assert b"Submitted" in dump and not _leaks(dump)


def test_client_and_config_reprs_hide_the_token(tmp_path: Path) -> None:
    client = Client("http://127.0.0.1:9", TOKEN)
    config = EngineConfig(server_url="http://127.0.0.1:9", token=TOKEN, journal_path=tmp_path / "j")
    texts = [repr(client), str(client), repr(config), str(config), config.model_dump_json()]
    assert [t for t in texts if _leaks(t.encode())] == []


def test_auth_rejection_error_does_not_carry_the_token(sim: Simulator) -> None:
    client = Client(sim.base_url, TOKEN)
    with pytest.raises(AuthenticationError) as info:
        client.app.version()
    text = f"{info.value!s} {info.value!r} {vars(info.value)!r}"
    assert not _leaks(text.encode())


def test_transport_error_does_not_carry_the_token() -> None:
    client = Client("http://127.0.0.1:9", TOKEN)
    with pytest.raises(PyWATSError) as info:
        client.app.version()
    text = f"{info.value!s} {info.value!r} {vars(info.value)!r}"
    assert not _leaks(text.encode())


NASTY_SERIALS = [
    "O'Brien",
    "x' or serialNumber ne 'x",
    "a eq 'b'",
    "''",
    "100% (and) ;DROP",
    "back\\slash",
    "amp&$filter=1",
    "plus+sign #hash",
    "unicode-\u00e6\u00f8\u00e5-\u4e2d",
]


@pytest.fixture
def nasty_server(sim: Simulator, sim_token: str) -> Client:
    client = Client(sim.base_url, sim_token)
    for i, sn in enumerate(NASTY_SERIALS):
        report = report_for("odata", i)
        report["sn"] = sn
        client.reports.submit(report)
    plain = report_for("odata", 100)
    plain["sn"] = "x"
    client.reports.submit(plain)
    return client


@pytest.mark.parametrize("sn", NASTY_SERIALS)
def test_odata_filter_on_a_nasty_serial_matches_exactly_that_report(
    nasty_server: Client, sn: str
) -> None:
    found = [h.serial_number for h in nasty_server.reports.headers(Q.serial_number == sn)]
    assert found == [sn]


def test_odata_injection_attempt_does_not_widen_the_match(nasty_server: Client) -> None:
    found = list(nasty_server.reports.headers(Q.serial_number == "nobody' or '1' eq '1"))
    assert found == []


@pytest.mark.skipif(not POSIX, reason="owner-only modes are POSIX permissions")
def test_journal_files_are_created_owner_only(tmp_path: Path) -> None:
    os.umask(0o022)
    path = tmp_path / "journal.db"
    with Journal(path) as j:
        j.submit("k1", {"id": "k1", "type": "T"})
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir() if p.is_file()}
    assert {"journal.db", "journal.db-wal"} <= set(modes)
    assert {name: oct(m) for name, m in modes.items() if m & 0o077} == {}


@pytest.mark.skipif(not POSIX, reason="owner-only modes are POSIX permissions")
def test_credential_files_are_created_owner_only(tmp_path: Path) -> None:
    os.umask(0o022)
    store = EncryptedFileStore(tmp_path / "creds" / "credentials.bin")
    store.put("http://127.0.0.1:9", StoredToken("proof-user", TOKEN, time.time()))
    files = [store.path, store.key_path]
    assert all(p.exists() for p in files)
    assert {
        str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in files if p.stat().st_mode & 0o077
    } == {}


def test_credential_file_does_not_hold_the_token_in_clear(tmp_path: Path) -> None:
    store = EncryptedFileStore(tmp_path / "credentials.bin")
    store.put("http://127.0.0.1:9", StoredToken("proof-user", TOKEN, time.time()))
    assert not _leaks(store.path.read_bytes())


def _damage_file(store: EncryptedFileStore) -> None:
    data = bytearray(store.path.read_bytes())
    data[len(data) // 2] ^= 0x40
    store.path.write_bytes(bytes(data))


def _other_key(store: EncryptedFileStore) -> None:
    store.key_path.write_bytes(b"WSK1" + bytes(32))


def _no_key(store: EncryptedFileStore) -> None:
    store.key_path.unlink()


def _truncate(store: EncryptedFileStore) -> None:
    store.path.write_bytes(store.path.read_bytes()[:40])


@pytest.mark.parametrize("damage", [_damage_file, _other_key, _no_key, _truncate])
def test_a_refused_credentials_file_names_no_secret(
    tmp_path: Path, damage: Callable[[EncryptedFileStore], None]
) -> None:
    store = EncryptedFileStore(tmp_path / "credentials.bin")
    store.put("http://127.0.0.1:9", StoredToken("proof-user", TOKEN, time.time()))
    damage(store)
    with pytest.raises(CredentialsStoreError) as info:
        store.get("http://127.0.0.1:9")
    assert "run 'syncengine login' again" in str(info.value)
    assert not _leaks(f"{info.value!s} {info.value!r}".encode())


def test_a_credentials_file_is_bound_to_its_own_key(tmp_path: Path) -> None:
    """Swapping in another store's file (same key-file format, other key) is refused."""
    one = EncryptedFileStore(tmp_path / "one" / "credentials.bin")
    two = EncryptedFileStore(tmp_path / "two" / "credentials.bin")
    one.put("http://127.0.0.1:9", StoredToken("proof-user", TOKEN, time.time()))
    two.put("http://127.0.0.1:9", StoredToken("other", "b3RoZXI6a2V5", time.time()))
    two.path.write_bytes(one.path.read_bytes())
    with pytest.raises(CredentialsStoreError, match="authentication failed"):
        two.get("http://127.0.0.1:9")


def test_health_endpoint_binds_loopback_by_default(tmp_path: Path, sim: Simulator) -> None:
    assert HealthHttpConfig().host == "127.0.0.1"
    config = EngineConfig(
        server_url=sim.base_url,
        token="test-token",
        journal_path=tmp_path / "journal.db",
        health_http=HealthHttpConfig(enabled=True),
    )
    engine = SyncEngine(config)
    engine.start()
    try:
        address = engine.health_address
    finally:
        engine.stop(grace=1.0)
    assert address is not None and address[0] == "127.0.0.1"
