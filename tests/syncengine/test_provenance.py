"""A foreign `pywats` (the vendor's pywats-api imports under the same name) is refused at start
with a clear message: one line and exit 3 for the command, ForeignPywatsError for importers.

The subprocesses run with ``python -S`` so that only PYTHONPATH decides what is imported (the
editable install's import hook lives in site-packages): the check must run before anything else
in syncengine imports a third-party package.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _python(args: list[str], pythonpath: list[Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "SYNCENGINE_"))}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in pythonpath)
    return subprocess.run(
        [sys.executable, "-S", *args],
        env=env,
        cwd=cwd,  # not the checkout: '' on sys.path would put our own pywats first
        capture_output=True,
        text=True,
        timeout=60,
    )


def _vendor_pywats(where: Path) -> Path:
    package = where / "pywats"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("class pyWATS:  # the vendor's client\n    pass\n")
    return where


def test_command_refuses_to_start_when_a_foreign_pywats_comes_first(tmp_path: Path):
    result = _python(
        ["-m", "syncengine", "status"], [_vendor_pywats(tmp_path / "v"), ROOT], tmp_path
    )
    assert result.returncode == 3, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("syncengine: error: environment:")
    assert "shadows it" in lines[0] and "docs/deployment.md" in lines[0]


def test_import_raises_a_clear_error_with_a_foreign_pywats(tmp_path: Path):
    code = "import syncengine"
    result = _python(["-c", code], [_vendor_pywats(tmp_path / "v"), ROOT], tmp_path)
    assert result.returncode == 1
    assert "ForeignPywatsError" in result.stderr and "virtual environment" in result.stderr


def test_pywats_installed_over_ours_is_refused(tmp_path: Path):
    site = tmp_path / "site"
    shutil.copytree(
        ROOT / "syncengine", site / "syncengine", ignore=shutil.ignore_patterns("__pycache__")
    )
    _vendor_pywats(site)
    (site / "pywats" / "_client.py").write_text("")  # same file names, not ours
    result = _python(["-c", "import syncengine"], [site], tmp_path)
    assert "ForeignPywatsError" in result.stderr and "was installed over it" in result.stderr


def test_our_own_pywats_passes_the_check(tmp_path: Path):
    # Without site-packages, importing goes past the check and stops at the first third-party
    # package instead (a control: the check itself does not refuse our pywats).
    result = _python(["-c", "import syncengine"], [ROOT], tmp_path)
    assert "ForeignPywatsError" not in result.stderr
    assert "ModuleNotFoundError" in result.stderr
