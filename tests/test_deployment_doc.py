"""docs/deployment.md works as written: the command that writes ``requirements.lock`` gives a
lock pip installs from with hashes checked; the cron lines have the /etc/cron.d format (six
fields, the user the generated unit runs as) and commands that run, as cron would run them,
against a journal, a backup folder and a ``done/`` folder in a temporary directory."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from journal import Journal
from syncengine import EngineConfig
from syncengine.service import render_unit, unit_spec

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "deployment.md"
FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day", 1, 31), ("month", 1, 12), ("weekday", 0, 7))
DAY = 86_400.0
NOT_SOURCE = shutil.ignore_patterns(
    ".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", ".venv",
    "bench-out", "*.db", "*.db-wal", "*.db-shm", "*.sqlite3*",
)  # fmt: skip


def cron_lines() -> list[str]:
    blocks = re.findall(r"^```cron\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.M | re.S)
    lines = [ln for b in blocks for ln in b.splitlines() if ln.strip() and ln[0] != "#"]
    assert len(lines) == 3, lines  # backup, archive, done/ cleanup
    return lines


def unit_user() -> str:
    config = EngineConfig(
        server_url="https://wats.example.com",
        token="t" * 8,
        journal_path=Path("/var/lib/wats-sync/journal.sqlite3"),
    )
    unit = render_unit(unit_spec(config, Path("/etc/wats-sync/config.toml")))
    (user,) = re.findall(r"^User=(.+)$", unit, re.M)
    return user


def valid_field(text: str, low: int, high: int) -> bool:
    for part in text.split(","):
        base, _, step = part.partition("/")
        if step and not step.isdigit():
            return False
        if base == "*":
            continue
        bounds = base.split("-")
        if len(bounds) > 2 or not all(b.isdigit() and low <= int(b) <= high for b in bounds):
            return False
    return True


def test_the_cron_lines_have_six_fields_and_the_units_user() -> None:
    user = unit_user()
    for line in cron_lines():
        *times, who, command = line.split(None, 6)
        assert len(times) == 5 and command, line
        for value, (name, low, high) in zip(times, FIELDS, strict=True):
            assert valid_field(value, low, high), (name, value, line)
        assert who == user, f"runs as {who!r}, the service as {user!r}: {line}"
        assert not re.search(r"(?<!\\)%", command), f"a bare % ends cron's command: {line}"


def test_the_backup_folder_is_created_for_the_units_user() -> None:
    user = unit_user()
    assert f"install -d -o {user} -g {user} -m 0700 /var/backups/wats-sync" in DOC.read_text()


def acked(journal: Journal, key: str, n: int) -> None:
    body = {"id": f"00000000-0000-4000-8000-{n:012d}", "type": "T", "sn": f"SN-{n}", "pn": "P"}
    journal.submit(key, body)
    journal.upload_started([key])
    answer = {"report_id": body["id"], "latency_s": 0.1, "status_code": 200}
    journal.acknowledged(key, answer={**answer, "correlation_id": None})


def as_cron_runs(command: str, paths: dict[str, str], home: Path) -> None:
    for doc_path, here in paths.items():
        command = command.replace(doc_path, here)
    assert not re.search(r"(?<![\w.-])/(opt|etc|var|data)/", command), command  # all replaced
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "PYTHONPATH": str(ROOT), "LANG": "C.UTF-8"}
    # cron hands the text after the user to /bin/sh -c, with every "\%" turned into "%"
    done = subprocess.run(
        ["/bin/sh", "-c", command.replace("\\%", "%")],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, (command, done.stdout, done.stderr)


def private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="cron lines are for Linux")
def test_the_cron_commands_back_up_archive_and_clean_up_as_documented(tmp_path: Path) -> None:
    state, backups, done = tmp_path / "state", tmp_path / "backups", tmp_path / "done"
    for folder in (state, backups, done):
        folder.mkdir()
    journal_path = state / "journal.sqlite3"
    long_ago = time.time() - 40 * DAY
    with Journal(journal_path, clock=lambda: long_ago) as journal:
        acked(journal, "old", 1)
    with Journal(journal_path) as journal:
        acked(journal, "recent", 2)
    config = tmp_path / "config.toml"
    config.write_text(
        f'server_url = "http://127.0.0.1:9"\njournal_path = "{journal_path}"\n', encoding="utf-8"
    )
    stale_backup = backups / "journal-20000101.db"
    stale_backup.write_bytes(b"old")
    (old_file, new_file) = (done / "old.json", done / "new.json")
    for path in (old_file, new_file):
        path.write_text("{}")
    os.utime(stale_backup, (time.time() - 20 * DAY,) * 2)
    os.utime(old_file, (time.time() - 100 * DAY,) * 2)
    paths = {
        "/opt/wats-sync/current/bin/syncengine": f"{shlex.quote(sys.executable)} -m syncengine",
        "/etc/wats-sync/config.toml": str(config),
        "/var/backups/wats-sync": str(backups),
        "/data/reports/done": str(done),
    }

    for line in cron_lines():
        as_cron_runs(line.split(None, 6)[6], paths, tmp_path)

    (backup,) = backups.glob("journal-*.db")
    assert backup.name == time.strftime("journal-%Y%m%d.db") and private(backup)
    with Journal(backup) as copy:
        assert copy.verify().ok and copy.state("recent") == "acked"
    (archive,) = state.glob("journal.sqlite3.archive-*.jsonl.gz")
    assert private(archive)
    with Journal(journal_path) as journal:
        assert journal.archived_count() == 1 and journal.submission("recent") is not None
    assert sorted(p.name for p in done.iterdir()) == ["new.json"]


def lock_script() -> str:
    blocks = re.findall(r"^```sh\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.M | re.S)
    (script,) = [b for b in blocks if "> wheelhouse/requirements.lock <<'EOF'" in b]
    return script


def pip_install(wheelhouse: Path, target: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-index", "--find-links", str(wheelhouse),
         "--require-hashes", "--no-deps", "-q", "--target", str(target),
         "-r", str(wheelhouse / "requirements.lock")],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sh block is for Linux")
def test_the_documented_lock_installs_the_wheelhouse_and_refuses_another_file(
    tmp_path: Path,
) -> None:
    wheelhouse, source = tmp_path / "wheelhouse", tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)  # the build writes beside its source
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheelhouse),
         str(source)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    path = f"{Path(sys.executable).parent}:/usr/bin:/bin"  # `python` is this interpreter
    made = subprocess.run(
        ["/bin/sh", "-c", lock_script()], cwd=tmp_path, env={"PATH": path},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    (line,) = (wheelhouse / "requirements.lock").read_text().splitlines()
    assert re.fullmatch(r"wats_sync==\S+ --hash=sha256:[0-9a-f]{64}", line), line
    installed = pip_install(wheelhouse, tmp_path / "site")
    assert installed.returncode == 0, installed.stderr[-3000:]
    assert (tmp_path / "site" / "syncengine" / "__init__.py").exists()

    (wheel,) = wheelhouse.glob("wats_sync-*.whl")
    wheel.write_bytes(wheel.read_bytes() + b"\0")  # another file under the same name
    refused = pip_install(wheelhouse, tmp_path / "site2")
    assert refused.returncode != 0 and "THESE PACKAGES DO NOT MATCH THE HASHES" in refused.stderr
