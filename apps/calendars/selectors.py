"""Reads of the slot grid: what a customer can book, and what the tenant must resolve.

Availability costs two SQL queries whatever the number of bookings: one for the
resources in scope (with their location's zone), one for their slot rows around the
asked time (with the count of expired holds per held slot). Everything else is Python
over those rows, following the "places left" rule of the slot contract:

    A start T of service S on resource R is offered when the slots covering
    [T, T + duration) exist back to back, none is blocked, and either
    - none carries a live session (booked > 0 or an unexpired hold) and the buffered
      interval [T - before, T + duration + after] overlaps no live session's
      [busy_from, busy_until] (touching is fine): places = min(S.capacity, caps of the
      covered slots); or
    - all carry exactly the session (S, T, T + duration): places =
      session_capacity - booked - unexpired holds.
    Places must be > 0, T ≥ now + minimum notice, and T before the end of the
    location's local day `horizon_days` after today.

For a location or "anyone" (no resource given) one start is offered once: the resource
whose session it would join wins, then the least busy resource, then the lowest id.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple
from uuid import UUID

from django.db.models import Case, Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.accounts.errors import FieldError, ValidationFailed
from apps.accounts.models import Tenant
from apps.calendars.models import SlotHold, SlotInstance
from apps.calendars.services import current_tenant
from apps.calendars.slot_exposure import EXPOSURE_VARIANTS, slots_expose
from apps.calendars.timezones import (
    as_seen_in,
    local_date,
    local_day_bounds,
    local_day_start,
    zone,
)
from apps.resources.field_checks import is_timezone
from apps.resources.models import Location, Resource, Service
from apps.resources.services import MAX_HORIZON_DAYS

ONE_DAY = dt.timedelta(days=1)
MAX_DATES_SPAN_DAYS = 92


class AvailableSlot(NamedTuple):
    """A start a customer can book: `id` is the slot starting at `start` (the first one
    the session covers); `end - start` is the service's duration. `start` and `end` carry
    the display zone's wall time and UTC offset as a fixed offset (the zone's name is
    `AvailableSlots.display_timezone`), so they compare and hash as the instants they are
    even in a repeated fall-back hour."""

    id: UUID
    start: dt.datetime
    end: dt.datetime
    resource_id: UUID
    remaining: int


@dataclass(frozen=True)
class AvailableSlots:
    slots: list[AvailableSlot]
    total: int  # every free start that day (the exposed ones are a subset when curated)
    has_more: bool
    timezone: str  # the location's zone (the tenant's when "anyone" spans zones)
    display_timezone: str  # the zone `start`/`end` are expressed in


class DateAvailability(NamedTuple):
    day: dt.date
    free: int


@dataclass(frozen=True)
class AvailableDates:
    dates: list[DateAvailability]
    timezone: str
    display_timezone: str


class _Row(NamedTuple):
    id: UUID
    resource_id: UUID
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int | None
    status: str
    booked: int
    held: int
    session_service_id: UUID | None
    session_starts_at: dt.datetime | None
    session_ends_at: dt.datetime | None
    session_capacity: int | None
    busy_from: dt.datetime | None
    busy_until: dt.datetime | None
    expired_holds: int

    @property
    def live_holds(self) -> int:
        return max(self.held - self.expired_holds, 0)

    @property
    def live(self) -> bool:
        return self.booked > 0 or self.live_holds > 0


_ROW_FIELDS = list(_Row._fields)


class _Candidate(NamedTuple):
    start: dt.datetime
    end: dt.datetime
    slot_id: UUID
    resource_id: UUID
    remaining: int
    joins_session: bool


class _ScopeRow(NamedTuple):
    resource_id: UUID
    location_id: UUID
    tz_name: str


# --- Scope -------------------------------------------------------------------------


def _scope(
    *, service: Service, resource: Resource | None, location: Location | None
) -> list[_ScopeRow]:
    """Active resources that deliver the active `service`, narrowed to a resource or a
    location; "anyone" when both are None. One query."""
    if not service.is_active:
        return []
    resources = Resource.objects.filter(is_active=True, services=service)
    if resource is not None:
        resources = resources.filter(pk=resource.pk)
    if location is not None:
        resources = resources.filter(location=location)
    return [
        _ScopeRow(*row)
        for row in resources.order_by("pk").values_list("pk", "location_id", "location__timezone")
    ]


def _location_timezone(
    *,
    scope: Sequence[_ScopeRow],
    resource: Resource | None,
    location: Location | None,
    tenant: Tenant,
) -> str:
    if location is not None:
        return location.timezone
    zones = {row.tz_name for row in scope}
    if len(zones) == 1:
        return zones.pop()
    if resource is not None and not scope:
        return resource.location.timezone  # only when nothing is bookable anyway
    return tenant.timezone


def _display_timezone(tz: str | None, default: str) -> str:
    if tz in (None, ""):
        return default
    if not is_timezone(tz):
        raise ValidationFailed(
            "Unknown time zone.",
            [FieldError("tz", f"“{tz}” is not an IANA time zone (e.g. Europe/London).")],
        )
    return str(tz)


# --- The places-left rule ----------------------------------------------------------


def _slot_rows(
    *,
    resource_ids: list[UUID],
    grid_from: dt.datetime,
    grid_until: dt.datetime,
    around_from: dt.datetime,
    around_until: dt.datetime,
    now: dt.datetime,
) -> QuerySet[SlotInstance, tuple[object, ...]]:
    """Every slot starting in [grid_from, grid_until), plus the occupied ones in the
    wider [around_from, around_until) whose buffers may reach into it. One query."""
    expired_holds = (
        SlotHold.objects.filter(slot=OuterRef("pk"), expires_at__lte=now)
        .order_by()
        .values("slot")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        SlotInstance.objects.filter(
            resource_id__in=resource_ids,
            starts_at__gte=around_from,
            starts_at__lt=around_until,
        )
        .filter(
            Q(starts_at__gte=grid_from, starts_at__lt=grid_until) | Q(booked__gt=0) | Q(held__gt=0)
        )
        .annotate(
            expired_holds=Case(
                When(held__gt=0, then=Coalesce(Subquery(expired_holds), Value(0))),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        .order_by("resource_id", "starts_at")
        .values_list(*_ROW_FIELDS)
    )


class _BusyIntervals:
    """Live sessions' [busy_from, busy_until] on one resource; answers "does this
    interval overlap any of them" in O(log n)."""

    def __init__(self, intervals: Iterable[tuple[dt.datetime, dt.datetime]]) -> None:
        ordered = sorted(intervals)
        self._starts = [start for start, _ in ordered]
        self._reach: list[dt.datetime] = []  # running max of busy_until
        for _, until in ordered:
            self._reach.append(max(until, self._reach[-1]) if self._reach else until)

    def overlaps(self, start: dt.datetime, end: dt.datetime) -> bool:
        # Intervals starting before `end`; does any of them last beyond `start`?
        count = bisect.bisect_left(self._starts, end)
        return count > 0 and self._reach[count - 1] > start


def _resource_candidates(
    *,
    service: Service,
    rows: list[_Row],
    first_start: dt.datetime,
    last_start: dt.datetime,
) -> list[_Candidate]:
    """Free starts on one resource in [first_start, last_start), from its rows (sorted
    by start)."""
    duration = dt.timedelta(minutes=service.duration_minutes)
    before = dt.timedelta(minutes=service.buffer_before_minutes)
    after = dt.timedelta(minutes=service.buffer_after_minutes)
    busy = _BusyIntervals(
        {
            (row.busy_from or row.starts_at, row.busy_until or row.ends_at)
            for row in rows
            if row.live and row.session_starts_at is not None
        }
    )
    candidates: list[_Candidate] = []
    count = len(rows)
    for index, first in enumerate(rows):
        start = first.starts_at
        if start < first_start or start >= last_start:
            continue
        end = start + duration
        covered = [first]
        cursor = index
        while covered[-1].ends_at < end:
            cursor += 1
            if cursor >= count or rows[cursor].starts_at != covered[-1].ends_at:
                covered = []
                break
            covered.append(rows[cursor])
        if not covered or any(row.status == SlotInstance.Status.BLOCKED for row in covered):
            continue
        live = [row for row in covered if row.live]
        if not live:
            if busy.overlaps(start - before, end + after):
                continue
            caps = [row.capacity for row in covered if row.capacity is not None]
            remaining = min([service.capacity, *caps])
            joins = False
        elif len(live) == len(covered) and all(
            row.session_service_id == service.pk
            and row.session_starts_at == start
            and row.session_ends_at == end
            for row in covered
        ):
            remaining = (first.session_capacity or 0) - first.booked - first.live_holds
            joins = True
        else:
            continue
        if remaining > 0:
            candidates.append(_Candidate(start, end, first.id, first.resource_id, remaining, joins))
    return candidates


def _free_candidates(
    *,
    service: Service,
    scope: Sequence[_ScopeRow],
    lo: dt.datetime,
    hi: dt.datetime,
    now: dt.datetime,
    tenant: Tenant,
) -> tuple[list[_Candidate], dict[UUID, int]]:
    """Free starts in [lo, hi) on the resources in scope, and each resource's count of
    live sessions seen around (its load, used to spread "anyone" bookings)."""
    if not scope:
        return [], {}
    notice = (
        service.min_notice_minutes
        if service.min_notice_minutes is not None
        else tenant.min_notice_minutes
    )
    horizon_days = service.horizon_days if service.horizon_days is not None else tenant.horizon_days
    first_start = max(lo, now + dt.timedelta(minutes=notice))
    horizon_end: dict[str, dt.datetime] = {}
    for tz_name in {row.tz_name for row in scope}:
        tz = zone(tz_name)
        today = local_date(now, tz)
        horizon_end[tz_name] = local_day_start(today + dt.timedelta(days=horizon_days + 1), tz)
    last_start = min(hi, max(horizon_end.values()))
    if first_start >= last_start:
        return [], {}

    duration = dt.timedelta(minutes=service.duration_minutes)
    before = dt.timedelta(minutes=service.buffer_before_minutes)
    after = dt.timedelta(minutes=service.buffer_after_minutes)
    # A session and its buffers fit in one day (constraint service_fits_in_a_day), so a
    # session whose buffers reach the window starts less than a day beyond it.
    rows_by_resource: dict[UUID, list[_Row]] = defaultdict(list)
    for values in _slot_rows(
        resource_ids=[row.resource_id for row in scope],
        grid_from=first_start,
        grid_until=last_start + duration,
        around_from=first_start - before - ONE_DAY,
        around_until=last_start + duration + after + ONE_DAY,
        now=now,
    ):
        row = _Row(*values)  # type: ignore[arg-type]
        rows_by_resource[row.resource_id].append(row)

    candidates: list[_Candidate] = []
    load: dict[UUID, int] = {}
    for scope_row in scope:
        rows = rows_by_resource.get(scope_row.resource_id, [])
        load[scope_row.resource_id] = len(
            {row.session_starts_at for row in rows if row.live and row.session_starts_at}
        )
        candidates.extend(
            _resource_candidates(
                service=service,
                rows=rows,
                first_start=first_start,
                last_start=min(last_start, horizon_end[scope_row.tz_name]),
            )
        )
    candidates.sort(key=lambda candidate: (candidate.start, candidate.resource_id))
    return candidates, load


def _one_per_start(candidates: list[_Candidate], load: dict[UUID, int]) -> list[_Candidate]:
    best: dict[dt.datetime, _Candidate] = {}
    for candidate in candidates:
        current = best.get(candidate.start)
        if current is None or _preference(candidate, load) < _preference(current, load):
            best[candidate.start] = candidate
    return [best[start] for start in sorted(best)]


def _preference(candidate: _Candidate, load: dict[UUID, int]) -> tuple[bool, int, UUID]:
    return (not candidate.joins_session, load.get(candidate.resource_id, 0), candidate.resource_id)


# Nothing is bookable before now or beyond the horizon: calendar days outside
# [now - 2 days, now + the longest horizon + 2 days] (a margin for any zone's date) are
# answered "nothing free" without date arithmetic, which would overflow near the ends of
# the calendar (9999-12-31 + 1 day).
def _earliest_bookable(now: dt.datetime) -> dt.date:
    return (now - 2 * ONE_DAY).date()


def _latest_bookable(now: dt.datetime, *, service: Service, tenant: Tenant) -> dt.date:
    days = max(MAX_HORIZON_DAYS, tenant.horizon_days, service.horizon_days or 0)
    return (now + dt.timedelta(days=days + 2)).date()


# --- Public selectors --------------------------------------------------------------


def availability_slots(
    *,
    service: Service,
    resource: Resource | None = None,
    location: Location | None = None,
    day: dt.date,
    tz: str | None = None,
    now: dt.datetime | None = None,
    viewer_key: str = "",
    exposure_variant: str | None = None,
) -> AvailableSlots:
    """Bookable starts of `service` on calendar `day` in `tz` (default: the location's
    zone; a booker far away may get starts from two of the business's days).

    Scope: `resource`, or every active resource at `location` delivering the service,
    or — both None — every active resource delivering it ("anyone"). In curated
    exposure (the tenant's `exposure_mode`, or `exposure_variant` "all"/"curated" when
    given) only a few starts are returned, chosen per `viewer_key` (SPEC §4.5)."""
    if exposure_variant not in (None, "", *EXPOSURE_VARIANTS):
        raise ValidationFailed(
            "Unknown exposure variant.",
            [FieldError("exposure_variant", f"Choose one of: {', '.join(EXPOSURE_VARIANTS)}.")],
        )
    now = now or timezone.now()
    tenant = current_tenant()
    scope = _scope(service=service, resource=resource, location=location)
    location_tz = _location_timezone(
        scope=scope, resource=resource, location=location, tenant=tenant
    )
    display_tz = _display_timezone(tz, location_tz)
    display = zone(display_tz)
    candidates: list[_Candidate] = []
    if _earliest_bookable(now) <= day <= _latest_bookable(now, service=service, tenant=tenant):
        lo, hi = local_day_bounds(day, display)
        candidates, load = _free_candidates(
            service=service, scope=scope, lo=lo, hi=hi, now=now, tenant=tenant
        )
        if resource is None:
            candidates = _one_per_start(candidates, load)
    free = [
        AvailableSlot(
            id=candidate.slot_id,
            start=as_seen_in(candidate.start, display),
            end=as_seen_in(candidate.end, display),
            resource_id=candidate.resource_id,
            remaining=candidate.remaining,
        )
        for candidate in candidates
    ]
    mode = exposure_variant or tenant.exposure_mode
    if mode == Tenant.ExposureMode.CURATED:
        exposure = slots_expose(
            slots=free,
            viewer_key=viewer_key,
            day=day,
            resource_id=resource.pk if resource is not None else None,
            scope_key=f"{service.pk}:{location.pk if location is not None else 'any'}:{display_tz}",
            now=now,
            bucket_tz=zone(location_tz),
        )
        return AvailableSlots(
            slots=exposure.slots,
            total=exposure.total,
            has_more=exposure.has_more,
            timezone=location_tz,
            display_timezone=display_tz,
        )
    return AvailableSlots(
        slots=free,
        total=len(free),
        has_more=False,
        timezone=location_tz,
        display_timezone=display_tz,
    )


def availability_dates(
    *,
    service: Service,
    resource: Resource | None = None,
    location: Location | None = None,
    start: dt.date,
    end: dt.date,
    tz: str | None = None,
    now: dt.datetime | None = None,
) -> AvailableDates:
    """Free starts per calendar date start…end (inclusive) in `tz`; the same count as
    `availability_slots(...).total` for each date, zero included."""
    problems: list[FieldError] = []
    if end < start:
        problems.append(FieldError("to", "The last date must not be before the first date."))
    elif (end - start).days >= MAX_DATES_SPAN_DAYS:
        problems.append(FieldError("to", f"Ask for at most {MAX_DATES_SPAN_DAYS} days at a time."))
    if problems:
        raise ValidationFailed("Invalid date range.", problems)
    now = now or timezone.now()
    tenant = current_tenant()
    scope = _scope(service=service, resource=resource, location=location)
    location_tz = _location_timezone(
        scope=scope, resource=resource, location=location, tenant=tenant
    )
    display_tz = _display_timezone(tz, location_tz)
    display = zone(display_tz)
    first = max(start, _earliest_bookable(now))
    last = min(end, _latest_bookable(now, service=service, tenant=tenant))
    candidates: list[_Candidate] = []
    if first <= last:
        lo = local_day_start(first, display)
        hi = local_day_start(last + ONE_DAY, display)
        candidates, load = _free_candidates(
            service=service, scope=scope, lo=lo, hi=hi, now=now, tenant=tenant
        )
        if resource is None:
            candidates = _one_per_start(candidates, load)
    counts: dict[dt.date, int] = defaultdict(int)
    for candidate in candidates:
        counts[local_date(candidate.start, display)] += 1
    days = [start + dt.timedelta(days=offset) for offset in range((end - start).days + 1)]
    return AvailableDates(
        dates=[DateAvailability(day, counts.get(day, 0)) for day in days],
        timezone=location_tz,
        display_timezone=display_tz,
    )


def slot_conflicts(
    *,
    resource: Resource | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> QuerySet[SlotInstance]:
    """Slots no rule allows any more that still carry bookings or holds (status
    `blocked`): the tenant moves or cancels those bookings, or restores the hours."""
    conflicts = SlotInstance.objects.filter(status=SlotInstance.Status.BLOCKED).select_related(
        "resource", "session_service"
    )
    if resource is not None:
        conflicts = conflicts.filter(resource=resource)
    if start is not None:
        conflicts = conflicts.filter(starts_at__gte=start)
    if end is not None:
        conflicts = conflicts.filter(starts_at__lt=end)
    return conflicts.order_by("starts_at", "resource_id")
