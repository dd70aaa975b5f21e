"""docs/pywats.md stays true: its Python blocks run in order against the simulator."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import pywats
from watsim import Simulator

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)


def python_blocks(name: str) -> list[str]:
    return BLOCK.findall((DOCS / name).read_text(encoding="utf-8"))


def test_pywats_md_has_a_quick_start_with_code() -> None:
    assert len(python_blocks("pywats.md")) >= 3


def test_pywats_md_code_runs_against_the_simulator(
    sim: Simulator, sim_token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    namespace: dict[str, object] = {"BASE_URL": sim.base_url, "TOKEN": sim_token}
    for i, block in enumerate(python_blocks("pywats.md")):
        exec(compile(block, f"docs/pywats.md block {i + 1}", "exec"), namespace)
    report = namespace["report"]
    assert isinstance(report, pywats.UUTReport)
    assert sim.stats()["receive_counts"] == {report.id: 1}
    assert report.id in capsys.readouterr().out  # the header loop printed it


def test_errors_md_draws_the_same_tree_as_the_module() -> None:
    module_tree = _tree(pywats._errors.__doc__ or "")
    doc_tree = _tree((DOCS / "errors.md").read_text(encoding="utf-8"))
    assert module_tree == doc_tree
    assert module_tree


def test_errors_md_documents_every_exception_class() -> None:
    text = (DOCS / "errors.md").read_text(encoding="utf-8")
    classes = [
        n
        for n in pywats.__all__
        if n.endswith("Error") or n in ("ConnectionDropped", "RequestTimeout")
    ]
    for name in classes:
        if issubclass(getattr(pywats, name), pywats.PyWATSError):
            assert f"`{name}`" in text, name


def test_errors_md_has_the_pywats_section_then_the_syncengine_one() -> None:
    text = (DOCS / "errors.md").read_text(encoding="utf-8")
    assert 0 <= text.find("\n## pywats errors") < text.find("\n## syncengine")


def _tree(text: str) -> list[str]:
    """The ASCII tree lines: from the PyWATSError line to the first blank line after it."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("PyWATSError"))
    out = []
    for line in lines[start:]:
        if not line.strip() or line.strip().startswith("```"):
            break
        out.append(line.strip())
    return out
