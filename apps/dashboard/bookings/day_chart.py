"""The bookings-per-day bar chart of the dashboard home, as geometry for a server-rendered
SVG plus the sentences that describe it to people who cannot see it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.formats import date_format
from django.utils.translation import gettext

WIDTH = 640
HEIGHT = 190
LEFT = 30  # room for the count labels
RIGHT = 6
TOP = 12
BOTTOM = 34  # room for the date labels
LABEL_EVERY_DAYS = 7


@dataclass(frozen=True)
class Bar:
    day: dt.date
    count: int
    x: float
    y: float
    width: float
    height: float
    when: str  # "past" | "today" | "future"


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class DateLabel:
    text: str
    x: float


@dataclass(frozen=True)
class DayChart:
    bars: list[Bar]
    ticks: list[Tick]
    labels: list[DateLabel]
    title: str
    description: str
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    baseline: int = HEIGHT - BOTTOM
    label_y: int = HEIGHT - BOTTOM + 18


def _nice_top(value: int) -> int:
    """A round axis maximum at or above `value`, divisible by 4 so the five ticks are
    whole numbers (at least 4; steps of 5 once a tick is more than 5)."""
    step = max(1, -(-value // 4))
    if step > 5:
        step = -(-step // 5) * 5
    return 4 * step


def _busiest(counts: Sequence[tuple[dt.date, int]]) -> str:
    day, count = max(counts, key=lambda item: (item[1], item[0]), default=(None, 0))
    if day is None or count == 0:
        return gettext("none")
    return f"{date_format(day, 'D j M')} ({count})"


def day_chart(*, counts: Sequence[tuple[dt.date, int]], today: dt.date) -> DayChart:
    """`counts` is one (day, bookings) per consecutive day, oldest first."""
    top = _nice_top(max((count for _, count in counts), default=0))
    plot_height = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(counts), 1)
    bars = []
    labels = []
    for index, (day, count) in enumerate(counts):
        height = plot_height * count / top
        bars.append(
            Bar(
                day=day,
                count=count,
                x=round(LEFT + index * slot + slot * 0.1, 2),
                y=round(TOP + plot_height - height, 2),
                width=round(slot * 0.8, 2),
                height=round(height, 2),
                when="today" if day == today else ("past" if day < today else "future"),
            )
        )
        if (day - today).days % LABEL_EVERY_DAYS == 0:
            labels.append(
                DateLabel(
                    text=gettext("Today") if day == today else date_format(day, "j M"),
                    x=round(LEFT + index * slot + slot / 2, 2),
                )
            )
    ticks = [
        Tick(value=top * step // 4, y=round(TOP + plot_height * (4 - step) / 4, 2))
        for step in range(5)
    ]
    past = [(day, count) for day, count in counts if day < today]
    ahead = [(day, count) for day, count in counts if day > today]
    today_count = next((count for day, count in counts if day == today), 0)
    first, last = (counts[0][0], counts[-1][0]) if counts else (today, today)
    description = gettext(
        "Past %(past_days)s days: %(past_count)s bookings, busiest day %(past_busiest)s. "
        "Today: %(today)s. "
        "Next %(ahead_days)s days: %(ahead_count)s booked so far, busiest day %(ahead_busiest)s."
    ) % {
        "past_days": len(past),
        "past_count": sum(c for _, c in past),
        "past_busiest": _busiest(past),
        "today": today_count,
        "ahead_days": len(ahead),
        "ahead_count": sum(c for _, c in ahead),
        "ahead_busiest": _busiest(ahead),
    }
    return DayChart(
        bars=bars,
        ticks=ticks,
        labels=labels,
        title=gettext("Bookings per day, %(first)s to %(last)s")
        % {"first": date_format(first, "j M"), "last": date_format(last, "j M Y")},
        description=description,
    )
