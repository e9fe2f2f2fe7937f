"""Writes the dashboard's availability screens need beyond the rule services: rebuilding
the week a scheduler is looking at right away."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.utils import timezone

from apps.calendars.services import (
    MaterializationResult,
    materialization_horizon_days,
    materialization_range,
    slots_materialize,
)
from apps.calendars.timezones import local_day_start, zone
from apps.resources.models import Resource


def slots_week_materialize(
    *, resources: Iterable[Resource], day: dt.date, now: dt.datetime | None = None
) -> MaterializationResult:
    """Brings the local week holding `day` of each active resource in line with its rules
    now, so whoever just changed the hours sees the resulting slots at once. A rule change
    also enqueues a rebuild of the whole horizon; both are idempotent, so whichever runs
    second changes nothing. Like the periodic rebuild, it never touches the past or
    reaches beyond the booking horizon."""
    now = now or timezone.now()
    horizon_days = materialization_horizon_days()
    monday = day - dt.timedelta(days=day.weekday())
    total = MaterializationResult()
    for resource in resources:
        if not resource.is_active:
            continue
        tz_name = resource.location.timezone
        tz = zone(tz_name)
        _, horizon_end = materialization_range(tz_name=tz_name, days=horizon_days, now=now)
        start = max(local_day_start(monday, tz), now)
        end = min(local_day_start(monday + dt.timedelta(days=7), tz), horizon_end)
        if start < end:
            total += slots_materialize(resource=resource, start=start, end=end)
    return total
