"""The public surface of pywats: __all__, docstrings, the contract, import boundaries."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pywats

PACKAGE = Path(pywats.__file__).resolve().parent


def _isort_key(name: str) -> tuple[int, str]:
    # ruff RUF022 order: CONSTANTS, then CamelCase, then everything else.
    if name.isupper() and len(name) > 1:
        return (0, name)
    return (1, name) if name[0].isupper() else (2, name)


def test_all_is_sorted() -> None:
    assert pywats.__all__ == sorted(pywats.__all__, key=_isort_key)


def test_all_names_exist_and_are_unique() -> None:
    assert len(set(pywats.__all__)) == len(pywats.__all__)
    for name in pywats.__all__:
        assert hasattr(pywats, name), name


def test_every_public_class_and_function_has_a_docstring() -> None:
    for name in pywats.__all__:
        obj = getattr(pywats, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), name


def test_contract_names_import() -> None:
    from pywats import Client, parse_report

    assert callable(parse_report)
    assert {"reports", "app"} <= set(vars(Client("http://127.0.0.1:9", "t")))


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_httpx_is_imported_only_in_the_transport_module() -> None:
    users = {
        p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py") if "httpx" in _imports(p)
    }
    assert users == {"_transport.py"}


def test_pywats_imports_neither_journal_nor_syncengine() -> None:
    for path in PACKAGE.rglob("*.py"):
        assert not {"journal", "syncengine", "tools"} & _imports(path), path


def test_no_threads_or_disk_io_in_the_library() -> None:
    banned = {"threading", "sqlite3", "shutil", "tempfile", "time", "asyncio"}
    for path in PACKAGE.rglob("*.py"):
        assert not banned & _imports(path), path
