"""Benchmarks for wats-sync, run as ``python -m tools.bench NAME [options]``.

Each benchmark is a module ``tools/bench/<name>.py`` exposing ``main(argv: list[str]) -> int``;
the runner finds it by name, so adding one needs no change here. Benchmarks print ratios
against baselines measured in the same run and are never timed assertions in tests. Figures
and the exact commands live in ``docs/performance.md``.
"""

from __future__ import annotations

__all__: list[str] = []
