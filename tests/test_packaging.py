"""What the wheel ships: exactly pywats, journal, syncengine and watsim, with a standalone watsim.

The wheel is built for real (``pip wheel --no-deps``) from a copy of the checkout, so the test
never writes ``build/`` or ``*.egg-info`` into the working tree. It takes a few seconds to a
minute and runs in CI with the rest of the suite.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"pywats", "journal", "syncengine", "watsim"}
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", ".venv",
    "bench-out", "*.db", "*.db-wal", "*.db-shm", "*.sqlite3*",
)  # fmt: skip


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCE)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
         "-w", str(work / "out"), str(source)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    (built,) = (work / "out").glob("wats_sync-*.whl")
    with zipfile.ZipFile(built) as archive:
        yield archive


def _top_level(names: list[str]) -> set[str]:
    return {PurePosixPath(n).parts[0] for n in names if ".dist-info/" not in n}


def test_the_wheel_holds_exactly_the_four_packages(wheel: zipfile.ZipFile) -> None:
    assert _top_level(wheel.namelist()) == PACKAGES


def test_every_package_ships_its_py_typed_marker(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    assert {p for p in PACKAGES if f"{p}/py.typed" not in names} == set()


def test_the_wheel_declares_cryptography_for_the_credentials_file(
    wheel: zipfile.ZipFile,
) -> None:
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    requires = [
        line.split(":", 1)[1].strip()
        for line in wheel.read(metadata).decode().splitlines()
        if line.startswith("Requires-Dist:")
    ]
    assert any(r.startswith("cryptography") for r in requires), requires


def test_the_wheel_declares_its_license_as_an_spdx_expression(wheel: zipfile.ZipFile) -> None:
    # PEP 639: setuptools stops accepting the `license = { text = ... }` table on 2027-02-18.
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    headers = wheel.read(metadata).decode().split("\n\n", 1)[0].splitlines()
    assert "License-Expression: MIT" in headers
    assert not [h for h in headers if h.startswith("License:")]


def _imported_roots(source: str) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_shipped_watsim_imports_only_itself_and_the_standard_library(
    wheel: zipfile.ZipFile,
) -> None:
    allowed = set(sys.stdlib_module_names) | {"watsim", "__future__"}
    foreign = {
        name: sorted(_imported_roots(wheel.read(name).decode("utf-8")) - allowed)
        for name in wheel.namelist()
        if name.startswith("watsim/") and name.endswith(".py")
    }
    assert "watsim/__init__.py" in foreign  # the check read the shipped sources
    assert {name: roots for name, roots in foreign.items() if roots} == {}


def test_the_watsim_alias_still_runs_from_the_checkout() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.watsim", "--help"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout.lower()
