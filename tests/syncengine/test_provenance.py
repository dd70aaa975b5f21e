"""A foreign `pywats` (the vendor's pywats-api imports under the same name) is refused at start
with a clear message: one line and exit 3 for the command, ForeignPywatsError for importers.

Most subprocesses run with ``python -S`` so that only PYTHONPATH decides what is imported (the
editable install's import hook lives in site-packages): the check must run before anything else
in syncengine imports a third-party package. The ones that copy both our packages into a site
folder (as pip installs them) keep site-packages for the dependencies; PYTHONPATH comes first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _python(
    args: list[str], pythonpath: list[Path], cwd: Path, *, isolated: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "SYNCENGINE_"))}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in pythonpath)
    return subprocess.run(
        [sys.executable, *(["-S"] if isolated else []), *args],
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
    # A control for the tests below: the same copy, untouched, starts.
    site = _installed(tmp_path / "site")
    result = _python(["-m", "syncengine", "--version"], [site], tmp_path, isolated=False)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def _installed(site: Path) -> Path:
    """wats-sync's two packages as pip installs them: side by side in one site folder."""
    for name in ("syncengine", "pywats"):
        shutil.copytree(ROOT / name, site / name, ignore=shutil.ignore_patterns("__pycache__"))
    return site


VENDOR_INIT = '''"""pyWATS: the WATS vendor's Python API (pywats-api)."""

__version__ = "0.3.1"


class pyWATS:
    def __init__(self, base_url, token):
        self.base_url, self.token = base_url, token
'''


def test_vendor_init_written_over_ours_is_one_line_and_exit_3(tmp_path: Path):
    # What 'pip install pywats-api' leaves: its __init__.py over ours, our other files behind.
    site = _installed(tmp_path / "site")
    (site / "pywats" / "__init__.py").write_text(VENDOR_INIT, encoding="utf-8")
    result = _python(["-m", "syncengine", "--version"], [site], tmp_path, isolated=False)
    assert result.returncode == 3, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("syncengine: error: environment:")
    assert "was installed over it" in lines[0] and "Traceback" not in result.stderr


def test_an_import_error_from_pywats_is_one_line_and_exit_3(tmp_path: Path):
    # Our __init__.py (the marker is there), but a module it imports needs a name its
    # dependency lacks (another version of it was installed).
    site = _installed(tmp_path / "site")
    module = site / "pywats" / "_paging.py"
    module.write_text(module.read_text(encoding="utf-8") + "\nfrom pydantic import NoSuchName\n")
    result = _python(["-m", "syncengine", "--version"], [site], tmp_path, isolated=False)
    assert result.returncode == 3, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("syncengine: error: environment:")
    assert "cannot be imported (ImportError: cannot import name 'NoSuchName'" in lines[0]
