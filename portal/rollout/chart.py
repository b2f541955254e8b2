"""The enrollments chart as plain geometry, drawn as SVG by `rollout/_chart.html`.

No script and no colour needed to read it: every bar carries its number as text, the axis
names the dates, and the same numbers are in the table next to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .funnel import Bucket

WIDTH = 640
HEIGHT = 240
LEFT = 36
RIGHT = 8
TOP = 20
BOTTOM = 36


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    count: int
    label: str  # the bucket's date, short
    show_label: bool
    bucket: Bucket


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    ticks: list[tuple[float, int]]  # (y, value) of the horizontal grid lines
    baseline: float
    left: int
    right_edge: int
    peak: int


def _nice_max(peak: int) -> int:
    """The axis top: four grid steps of 1, 2 or 5 × 10ⁿ that reach `peak`."""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            if factor * magnitude * 4 >= peak:
                return factor * magnitude * 4
        magnitude *= 10


def build(buckets: list[Bucket], label) -> Chart:
    """Bars for `buckets`; `label(bucket)` gives each one's short date."""
    peak = max((b.count for b in buckets), default=0)
    top = _nice_max(peak)
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    n = max(len(buckets), 1)
    slot = plot_w / n
    gap = min(slot * 0.2, 6)
    # Date labels under at most ~10 bars, evenly spread, so they never overlap.
    every = max(1, -(-n // 10))
    bars = []
    for i, bucket in enumerate(buckets):
        h = plot_h * bucket.count / top if top else 0
        bars.append(
            Bar(
                x=round(LEFT + i * slot + gap / 2, 2),
                y=round(TOP + plot_h - h, 2),
                width=round(max(slot - gap, 1), 2),
                height=round(h, 2),
                count=bucket.count,
                label=label(bucket),
                show_label=i % every == 0,
                bucket=bucket,
            )
        )
    ticks = [(round(TOP + plot_h - plot_h * k / 4, 2), top * k // 4) for k in range(5)]
    return Chart(WIDTH, HEIGHT, bars, ticks, TOP + plot_h, LEFT, WIDTH - RIGHT, peak)
