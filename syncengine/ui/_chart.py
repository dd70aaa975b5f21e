"""The overview's chart, drawn on the server as SVG coordinates (numbers only, no script)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from ._sampler import Sample

WIDTH, HEIGHT = 1000, 220
BASE = HEIGHT - 18
"""The zero line; the time labels sit below it."""


@dataclass(frozen=True)
class Chart:
    """Two polylines in a ``WIDTH`` x ``HEIGHT`` box: queue depth and acks per interval."""

    depth: str
    acks: str
    max: int
    minutes: int
    interval: str = "sample"
    """The time between two points, in words ("10 s"): the green line counts per interval."""
    width: int = WIDTH
    height: int = HEIGHT
    base: int = BASE

    @property
    def points(self) -> bool:
        """True when there is something to draw."""
        return bool(self.depth)


def chart(samples: list[Sample], window_s: float, sample_s: float) -> Chart:
    """Queue depth and acks per sample interval (``sample_s``) over the last ``window_s``."""
    interval = f"{sample_s:g} s"
    if len(samples) < 2:
        return Chart("", "", 0, max(1, round(window_s / 60)), interval)
    end = samples[-1].at
    # A young engine's chart spans what it has seen (at least a minute), not 30 empty minutes.
    window_s = min(window_s, max(60.0, end - samples[0].at))
    minutes = max(1, round(window_s / 60))
    start = end - window_s
    shown = [s for s in samples if s.at >= start]
    acks = [0] + [max(0, b.acked_total - a.acked_total) for a, b in itertools.pairwise(shown)]
    depth = [s.waiting for s in shown]
    top = max([1, *depth, *acks])

    def line(values: list[int]) -> str:
        return " ".join(
            f"{(s.at - start) / window_s * WIDTH:.1f},{BASE - v / top * (BASE - 24):.1f}"
            for s, v in zip(shown, values, strict=True)
        )

    return Chart(line(depth), line(acks), top, minutes, interval)
