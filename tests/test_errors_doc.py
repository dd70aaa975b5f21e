"""Every exception class of pywats, journal and syncengine: one root per package, documented.

Classes are found by importing every module of the packages, so a class added anywhere (a
subpackage included) is checked without editing this file.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pywats", "journal", "syncengine")
ERRORS_DOC = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")

# Outside every tree on purpose (docs/errors.md, "Outside the trees"): misuse of our own API.
OUTSIDE_THE_TREES = {"pywats.ReportFieldError"}
# Kept in two packages on purpose (docs/errors.md, "One name in two packages").
SHARED_NAMES = {"UnknownSubmissionError"}


def _exception_classes(package: str) -> dict[str, type[BaseException]]:
    root = importlib.import_module(package)
    found: dict[str, type[BaseException]] = {}
    modules = [package] + [
        info.name for info in pkgutil.walk_packages(root.__path__, package + ".")
    ]
    for name in modules:
        for obj in vars(importlib.import_module(name)).values():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__.split(".")[0] == package
            ):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


ALL = {package: _exception_classes(package) for package in PACKAGES}


@pytest.mark.parametrize(
    "qualified", sorted(q for classes in ALL.values() for q in classes), ids=str
)
def test_every_exception_class_is_in_the_error_reference(qualified: str) -> None:
    name = qualified.rsplit(".", 1)[1]
    assert re.search(rf"\b{name}\b", ERRORS_DOC), f"{qualified} is not in docs/errors.md"


def test_every_syncengine_exception_is_a_syncengine_error() -> None:
    from syncengine import SyncEngineError

    outside = [q for q, cls in ALL["syncengine"].items() if not issubclass(cls, SyncEngineError)]
    assert outside == []


def test_every_journal_exception_is_a_journal_error() -> None:
    from journal import JournalError

    assert [q for q, cls in ALL["journal"].items() if not issubclass(cls, JournalError)] == []


def test_every_pywats_exception_is_a_pywats_error_or_documented_misuse() -> None:
    from pywats import PyWATSError

    outside = {
        f"pywats.{cls.__name__}"
        for cls in ALL["pywats"].values()
        if not issubclass(cls, PyWATSError)
    }
    assert outside == OUTSIDE_THE_TREES


def test_class_names_are_unique_across_the_packages_but_the_documented_one() -> None:
    packages_by_name: dict[str, set[str]] = {}
    for package, classes in ALL.items():
        for cls in classes.values():
            packages_by_name.setdefault(cls.__name__, set()).add(package)
    shared = {name for name, packages in packages_by_name.items() if len(packages) > 1}
    assert shared == SHARED_NAMES
