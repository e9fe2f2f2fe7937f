"""Which hours a resource is open on a local date, from its rules and its location's.

Precedence (documented on `AvailabilityRule`): kinds in the order exception, date range,
weekly; within a kind the resource's own rules before its location's; the first set of
rules that applies to the date decides it. A closure in that set closes the date;
otherwise the set's windows add up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from uuid import UUID

from apps.calendars.models import AvailabilityRule
from apps.calendars.timezones import expand_window, without_overlaps

PRECEDENCE = (
    AvailabilityRule.Kind.EXCEPTION,
    AvailabilityRule.Kind.DATE_RANGE,
    AvailabilityRule.Kind.WEEKLY,
)
ALL_DAYS = frozenset(range(1, 8))

# (starts_at, ends_at, capacity) in UTC: one grid step a rule allows.
AllowedSlot = tuple[dt.datetime, dt.datetime, int | None]


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """The part of a rule that decides hours; validation builds one before saving."""

    kind: str
    days_of_week: frozenset[int]
    start_minute: int | None
    end_minute: int | None
    valid_from: dt.date | None
    valid_to: dt.date | None
    granularity_minutes: int
    capacity: int | None
    is_closed: bool
    id: UUID | None = None

    @classmethod
    def of(cls, rule: AvailabilityRule) -> RuleSpec:
        return cls(
            kind=rule.kind,
            days_of_week=frozenset(rule.days_of_week or ()),
            start_minute=rule.start_minute,
            end_minute=rule.end_minute,
            valid_from=rule.valid_from,
            valid_to=rule.valid_to,
            granularity_minutes=rule.granularity_minutes,
            capacity=rule.capacity,
            is_closed=rule.is_closed,
            id=rule.id,
        )

    @property
    def weekdays(self) -> frozenset[int]:
        return self.days_of_week or ALL_DAYS

    def applies_on(self, day: dt.date) -> bool:
        if self.valid_from is not None and day < self.valid_from:
            return False
        if self.valid_to is not None and day > self.valid_to:
            return False
        return day.isoweekday() in self.weekdays

    def conflicts_with(self, other: RuleSpec) -> bool:
        """Two openings of one kind and one scope that share a date and overlap in hours
        would give the resource overlapping grids: such a pair is refused."""
        if self.kind != other.kind or self.is_closed or other.is_closed:
            return False
        assert self.start_minute is not None and self.end_minute is not None
        assert other.start_minute is not None and other.end_minute is not None
        if not (self.start_minute < other.end_minute and other.start_minute < self.end_minute):
            return False
        return _share_a_date(self, other)


def _share_a_date(a: RuleSpec, b: RuleSpec) -> bool:
    first = max(a.valid_from or dt.date.min, b.valid_from or dt.date.min)
    last = min(a.valid_to or dt.date.max, b.valid_to or dt.date.max)
    if first > last:
        return False
    weekdays = a.weekdays & b.weekdays
    if not weekdays:
        return False
    span = (last - first).days
    if span >= 6:
        return True
    return any(
        (first + dt.timedelta(days=offset)).isoweekday() in weekdays for offset in range(span + 1)
    )


class OpeningHours:
    """The rules that decide one resource's hours: its own and its location's."""

    def __init__(self, *, own: Iterable[RuleSpec], location: Iterable[RuleSpec]) -> None:
        own_by_kind: dict[str, list[RuleSpec]] = {kind: [] for kind in PRECEDENCE}
        location_by_kind: dict[str, list[RuleSpec]] = {kind: [] for kind in PRECEDENCE}
        for spec in own:
            own_by_kind[spec.kind].append(spec)
        for spec in location:
            location_by_kind[spec.kind].append(spec)
        self._levels: list[Sequence[RuleSpec]] = []
        for kind in PRECEDENCE:
            self._levels.extend((own_by_kind[kind], location_by_kind[kind]))

    def windows_on(self, day: dt.date) -> list[RuleSpec]:
        """The open windows deciding `day` (empty: closed, or no rule says anything)."""
        for level in self._levels:
            deciding = [spec for spec in level if spec.applies_on(day)]
            if not deciding:
                continue
            if any(spec.is_closed for spec in deciding):
                return []
            return deciding
        return []

    def allowed_slots(
        self, *, tz_name: str, first_day: dt.date, last_day: dt.date
    ) -> list[AllowedSlot]:
        """Every grid step the rules allow on local dates first_day…last_day, in UTC,
        sorted and non-overlapping."""
        allowed: list[AllowedSlot] = []
        day = first_day
        one_day = dt.timedelta(days=1)
        while day <= last_day:
            for spec in self.windows_on(day):
                assert spec.start_minute is not None and spec.end_minute is not None
                for start, end in expand_window(
                    tz_name, day, spec.start_minute, spec.end_minute, spec.granularity_minutes
                ):
                    allowed.append((start, end, spec.capacity))
            day += one_day
        return without_overlaps(allowed)
