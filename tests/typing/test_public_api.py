"""mypy --strict accepts the embedder's view of the public API (tests/typing/public_api.py) and
rejects the misuse marked in it; a type that degrades to Any fails here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKED = Path(__file__).with_name("public_api.py")


def _mypy(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--follow-imports=silent", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_public_api_type_checks_under_mypy_strict() -> None:
    done = _mypy(CHECKED)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_check_fails_when_a_public_type_is_wrong(tmp_path: Path) -> None:
    # The check can fail: the same file with one pinned type changed must be refused.
    text = CHECKED.read_text(encoding="utf-8")
    wrong = text.replace(
        "assert_type(engine.counts(), dict[str, int])", "assert_type(engine.counts(), list[str])"
    )
    assert wrong != text
    broken = tmp_path / "public_api_wrong.py"
    broken.write_text(wrong, encoding="utf-8")
    done = _mypy(broken)
    assert done.returncode == 1
    assert "public_api_wrong.py" in done.stdout and "assert-type" in done.stdout
