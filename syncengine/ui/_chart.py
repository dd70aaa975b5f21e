"""The overview's chart, drawn on the server as SVG coordinates (numbers only, no script)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from ._sampler import Sample

WIDTH, HEIGHT = 600, 160


@dataclass(frozen=True)
class Chart:
    """Two polylines in a ``WIDTH`` x ``HEIGHT`` box: queue depth and acks per interval."""

    depth: str
    acks: str
    max: int
    minutes: int
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def points(self) -> bool:
        """True when there is something to draw."""
        return bool(self.depth)


def chart(samples: list[Sample], window_s: float) -> Chart:
    """Queue depth and acks per sample interval over the last ``window_s`` seconds."""
    minutes = max(1, round(window_s / 60))
    if len(samples) < 2:
        return Chart("", "", 0, minutes)
    end = samples[-1].at
    start = end - window_s
    shown = [s for s in samples if s.at >= start]
    acks = [0] + [max(0, b.acked_total - a.acked_total) for a, b in itertools.pairwise(shown)]
    depth = [s.waiting for s in shown]
    top = max([1, *depth, *acks])

    def line(values: list[int]) -> str:
        return " ".join(
            f"{(s.at - start) / window_s * WIDTH:.1f},{HEIGHT - v / top * (HEIGHT - 20):.1f}"
            for s, v in zip(shown, values, strict=True)
        )

    return Chart(line(depth), line(acks), top, minutes)
