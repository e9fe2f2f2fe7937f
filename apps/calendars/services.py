"""Writes for availability rules and the materialized slot grid.

Rules: every function validates its whole input and raises `ValidationFailed` listing
every problem by field; nothing is written unless all of it is valid. Rules of one kind
and one scope (a resource, or a location) that would overlap on some date are refused;
between kinds and scopes the precedence documented on `AvailabilityRule` decides. A
committed rule change enqueues `calendars.materialize_resource` for the resources it
affects.

Slots: `slots_materialize` turns rules into SlotInstance rows for a time range, as a
diff: it creates the missing steps, removes free steps no rule allows any more, and marks
`blocked` (never deletes) steps no rule allows that still carry bookings or holds — the
tenant resolves those (see `selectors.slot_conflicts`). Like every writer of a
resource's slots it first locks the Resource row, then the slot rows it changes in
`starts_at` order.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Max, Value, When
from django.utils import timezone
from django_tenants.utils import schema_context
from kombu.exceptions import OperationalError

from apps.accounts.selectors import tenant_current
from apps.calendars import availability_cache
from apps.calendars.models import AvailabilityRule, SlotInstance
from apps.calendars.opening_hours import OpeningHours, RuleSpec
from apps.calendars.timezones import (
    MINUTES_PER_DAY,
    format_wall_time,
    local_date,
    local_day_start,
    parse_wall_time,
    zone,
)
from apps.core.ids import uuid7
from apps.core.task_queue import task_enqueue
from apps.core.tenancy import current_schema
from apps.resources import field_checks as check
from apps.resources.models import Location, Resource, Service

logger = logging.getLogger(__name__)

ISO_WEEKDAY_NAMES = {1: "Mon", 2: "Tue", 3: "Wed", 4: "Thu", 5: "Fri", 6: "Sat", 7: "Sun"}
_RULE_NOUNS = {
    AvailabilityRule.Kind.WEEKLY: "weekly rule",
    AvailabilityRule.Kind.DATE_RANGE: "date-range rule",
    AvailabilityRule.Kind.EXCEPTION: "exception",
}
MAX_RULE_CAPACITY = 1000
SLOT_INSERT_BATCH = 5000
SLOT_ID_BATCH = 5000


# --- Tenant policy -----------------------------------------------------------------


# --- Rules -------------------------------------------------------------------------


@dataclass(frozen=True)
class _RuleInput:
    kind: Any
    resource: Any = None
    location: Any = None
    days_of_week: Any = ()
    start_time: Any = None
    end_time: Any = None
    valid_from: Any = None
    valid_to: Any = None
    granularity_minutes: Any = 30
    capacity: Any = None
    is_closed: Any = False


_RULE_FIELDS = frozenset(f.name for f in fields(_RuleInput))


def _days_clean(problems: check.Problems, value: Any) -> list[int] | None:
    if isinstance(value, str) or not isinstance(value, Iterable):
        problems.add("days_of_week", "Give the days as a list of ISO weekdays (Monday = 1).")
        return None
    days: set[int] = set()
    for day in value:
        if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= 7:
            problems.add("days_of_week", "Days are ISO weekdays: 1 (Monday) to 7 (Sunday).")
            return None
        days.add(day)
    return sorted(days)


def _wall_time_clean(problems: check.Problems, field: str, value: Any) -> int | None:
    if value is None:
        problems.add(field, "This field is required.")
        return None
    try:
        return parse_wall_time(value)
    except ValueError as exc:
        problems.add(field, str(exc))
        return None


def _describe(spec: RuleSpec) -> str:
    days = ",".join(ISO_WEEKDAY_NAMES[d] for d in sorted(spec.weekdays))
    hours = f"{format_wall_time(spec.start_minute or 0)}-{format_wall_time(spec.end_minute or 0)}"
    dates = ""
    if spec.valid_from or spec.valid_to:
        dates = f" {spec.valid_from or '…'}→{spec.valid_to or '…'}"
    return f"{days} {hours}{dates}"


def _rule_clean(raw: _RuleInput, *, rule_id: UUID | None = None) -> dict[str, Any]:
    problems = check.Problems()
    kinds = AvailabilityRule.Kind
    kind = raw.kind
    if kind not in kinds.values:
        problems.add("kind", f"Choose one of: {', '.join(kinds.values)}.")
        kind = None

    # Scope: one resource, or every resource at one location.
    resource: Resource | None = None
    location: Location | None = None
    if raw.resource is not None and raw.location is not None:
        message = "A rule is for one resource or for a whole location, not both."
        problems.add("resource", message)
        problems.add("location", message)
    elif raw.resource is None and raw.location is None:
        problems.add("resource", "Say which resource (or location) these hours are for.")
    elif raw.resource is not None:
        resource = check.instance(problems, "resource", Resource, raw.resource, label="resource")
    else:
        location = check.instance(problems, "location", Location, raw.location, label="location")

    is_closed = check.boolean(problems, "is_closed", raw.is_closed)
    if is_closed and kind is not None and kind != kinds.EXCEPTION:
        problems.add(
            "is_closed", "Only an exception closes dates; weekly and date-range rules open hours."
        )

    days = _days_clean(problems, raw.days_of_week)
    if kind == kinds.WEEKLY and days == []:
        problems.add("days_of_week", "Choose at least one day of the week.")

    start_minute: int | None = None
    end_minute: int | None = None
    if is_closed:
        if raw.start_time is not None or raw.end_time is not None:
            message = (
                "A closure closes whole dates: leave the hours empty (to shorten a day, "
                "give an exception with the hours that stay open)."
            )
            problems.add("start_time" if raw.start_time is not None else "end_time", message)
    else:
        start_minute = _wall_time_clean(problems, "start_time", raw.start_time)
        end_minute = _wall_time_clean(problems, "end_time", raw.end_time)
        if start_minute is not None and start_minute >= MINUTES_PER_DAY:
            problems.add("start_time", "Hours start at 23:59 at the latest.")
            start_minute = None
        if start_minute is not None and end_minute is not None and end_minute <= start_minute:
            problems.add("end_time", "The end must be after the start (use 24:00 for midnight).")
            end_minute = None  # no window: the grid checks below have nothing to say

    valid_from = check.calendar_date(problems, "valid_from", raw.valid_from)
    valid_to = check.calendar_date(problems, "valid_to", raw.valid_to)
    if kind == kinds.EXCEPTION:
        if valid_from is None and not problems.has("valid_from"):
            problems.add("valid_from", "Give the date (or first date) of the exception.")
        if valid_to is None:
            valid_to = valid_from
    if kind == kinds.DATE_RANGE:
        if valid_from is None and not problems.has("valid_from"):
            problems.add("valid_from", "Give the first date of the range.")
        if valid_to is None and not problems.has("valid_to"):
            problems.add("valid_to", "Give the last date of the range.")
    if valid_from is not None and valid_to is not None and valid_to < valid_from:
        problems.add("valid_to", "The last date must not be before the first date.")

    granularity = check.whole_number(
        problems,
        "granularity_minutes",
        raw.granularity_minutes,
        minimum=5,
        maximum=720,
        unit="minutes",
    )
    if granularity is not None and granularity % 5:
        problems.add("granularity_minutes", "Use a multiple of 5 minutes (5, 10, 15, 30, 60, …).")
        granularity = None
    if (
        granularity is not None
        and start_minute is not None
        and end_minute is not None
        and end_minute - start_minute < granularity
    ):
        problems.add(
            "granularity_minutes",
            f"The hours are shorter than one {granularity}-minute slot.",
        )
    capacity = check.whole_number(
        problems,
        "capacity",
        raw.capacity,
        minimum=1,
        maximum=MAX_RULE_CAPACITY,
        unit="places",
        nullable=True,
    )
    problems.raise_if_any("The availability rule could not be saved.")
    assert kind is not None and granularity is not None and days is not None

    spec = RuleSpec(
        kind=kind,
        days_of_week=frozenset(days),
        start_minute=start_minute,
        end_minute=end_minute,
        valid_from=valid_from,
        valid_to=valid_to,
        granularity_minutes=granularity,
        capacity=capacity,
        is_closed=bool(is_closed),
    )
    same_scope = AvailabilityRule.objects.filter(kind=kind, resource=resource, location=location)
    if rule_id is not None:
        same_scope = same_scope.exclude(pk=rule_id)
    for other in same_scope:
        other_spec = RuleSpec.of(other)
        if spec.conflicts_with(other_spec):
            problems.add(
                "start_time",
                f"These hours overlap another {_RULE_NOUNS[kind]} of the same "
                f"{'resource' if resource else 'location'} ({_describe(other_spec)}). "
                "Change or remove that rule first.",
            )
            break
    problems.raise_if_any("The availability rule could not be saved.")
    return {
        "kind": kind,
        "resource": resource,
        "location": location,
        "days_of_week": days,
        "start_minute": start_minute,
        "end_minute": end_minute,
        "valid_from": valid_from,
        "valid_to": valid_to,
        "granularity_minutes": granularity,
        "capacity": capacity,
        "is_closed": bool(is_closed),
    }


def _lock_scope(*, resource: Resource | None, location: Location | None) -> None:
    """Serializes rule writes per scope so two overlapping rules cannot both pass the
    overlap check (the Resource row is also the first lock of every slot writer)."""
    if resource is not None:
        list(Resource.objects.select_for_update().filter(pk=resource.pk).values_list("pk"))
    elif location is not None:
        list(Location.objects.select_for_update().filter(pk=location.pk).values_list("pk"))


def _affected_resource_ids(*, resource_id: UUID | None, location_id: UUID | None) -> list[UUID]:
    if resource_id is not None:
        return [resource_id]
    if location_id is not None:
        return list(
            Resource.objects.filter(location_id=location_id, is_active=True).values_list(
                "id", flat=True
            )
        )
    return []


@transaction.atomic
def availability_rule_create(
    *,
    kind: str,
    resource: Resource | UUID | str | None = None,
    location: Location | UUID | str | None = None,
    days_of_week: Iterable[int] = (),
    start_time: str | dt.time | None = None,
    end_time: str | dt.time | None = None,
    valid_from: dt.date | str | None = None,
    valid_to: dt.date | str | None = None,
    granularity_minutes: int = 30,
    capacity: int | None = None,
    is_closed: bool = False,
) -> AvailabilityRule:
    """Times are local wall time of the location, "HH:MM" (end may be "24:00")."""
    raw = _RuleInput(
        kind=kind,
        resource=resource,
        location=location,
        days_of_week=check.as_list(days_of_week),
        start_time=start_time,
        end_time=end_time,
        valid_from=valid_from,
        valid_to=valid_to,
        granularity_minutes=granularity_minutes,
        capacity=capacity,
        is_closed=is_closed,
    )
    cleaned = _rule_clean(raw)
    _lock_scope(resource=cleaned["resource"], location=cleaned["location"])
    cleaned = _rule_clean(raw)  # again, under the lock
    rule = AvailabilityRule.objects.create(**cleaned)
    logger.info("availability_rule.created", extra={"rule_id": str(rule.id), "kind": rule.kind})
    slots_materialize_enqueue(
        resource_ids=_affected_resource_ids(
            resource_id=rule.resource_id, location_id=rule.location_id
        )
    )
    return rule


def _rule_as_input(rule: AvailabilityRule) -> _RuleInput:
    return _RuleInput(
        kind=rule.kind,
        resource=rule.resource_id,
        location=rule.location_id,
        days_of_week=list(rule.days_of_week),
        start_time=None if rule.start_minute is None else format_wall_time(rule.start_minute),
        end_time=None if rule.end_minute is None else format_wall_time(rule.end_minute),
        valid_from=rule.valid_from,
        valid_to=rule.valid_to,
        granularity_minutes=rule.granularity_minutes,
        capacity=rule.capacity,
        is_closed=rule.is_closed,
    )


@transaction.atomic
def availability_rule_update(
    *, rule: AvailabilityRule, data: Mapping[str, Any]
) -> AvailabilityRule:
    """Change any field of `availability_rule_create`. Moving a rule to another scope
    rebuilds the grids of the resources it leaves and of those it reaches."""
    problems = check.Problems()
    check.only_known_fields(problems, data, _RULE_FIELDS)
    problems.raise_if_any("The availability rule could not be saved.")
    raw = replace(_rule_as_input(rule), **data)
    if raw.is_closed is True and "start_time" not in data and "end_time" not in data:
        raw = replace(raw, start_time=None, end_time=None)  # turning hours into a closure
    cleaned = _rule_clean(raw, rule_id=rule.id)
    before = _affected_resource_ids(resource_id=rule.resource_id, location_id=rule.location_id)
    _lock_scope(resource=cleaned["resource"], location=cleaned["location"])
    cleaned = _rule_clean(raw, rule_id=rule.id)
    for key, value in cleaned.items():
        setattr(rule, key, value)
    rule.save(update_fields=[*cleaned, "updated_at"])
    after = _affected_resource_ids(resource_id=rule.resource_id, location_id=rule.location_id)
    slots_materialize_enqueue(resource_ids=[*before, *after])
    return rule


@transaction.atomic
def availability_rule_delete(*, rule: AvailabilityRule) -> None:
    affected = _affected_resource_ids(resource_id=rule.resource_id, location_id=rule.location_id)
    rule_id = rule.id
    rule.delete()
    logger.info("availability_rule.deleted", extra={"rule_id": str(rule_id)})
    slots_materialize_enqueue(resource_ids=affected)


# --- Materialization ---------------------------------------------------------------


@dataclass
class MaterializationResult:
    created: int = 0
    kept: int = 0
    removed: int = 0
    blocked: int = 0

    def __add__(self, other: MaterializationResult) -> MaterializationResult:
        return MaterializationResult(
            created=self.created + other.created,
            kept=self.kept + other.kept,
            removed=self.removed + other.removed,
            blocked=self.blocked + other.blocked,
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "created": self.created,
            "kept": self.kept,
            "removed": self.removed,
            "blocked": self.blocked,
        }


def slots_materialize_enqueue(*, resource_ids: Iterable[UUID | str]) -> None:
    """After the surrounding transaction commits, rebuild these resources' grids in a
    task (in this tenant's schema, captured now: the commit may happen elsewhere)."""
    ids = sorted({str(resource_id) for resource_id in resource_ids})
    if not ids:
        return
    schema = current_schema()

    def send() -> None:
        try:
            with schema_context(schema):
                task_enqueue("calendars.materialize_resource", resource_ids=ids)
        except OperationalError:
            # The broker is unreachable; the hourly run rebuilds every grid anyway.
            logger.exception(
                "slots.materialize_enqueue_failed", extra={"resources": len(ids), "schema": schema}
            )

    transaction.on_commit(send)


def materialization_horizon_days() -> int:
    """How far ahead grids reach: the tenant's horizon, or a longer one a service asks."""
    tenant_days = tenant_current().horizon_days
    longest = Service.objects.filter(is_active=True).aggregate(days=Max("horizon_days"))["days"]
    return max(tenant_days, longest or 0)


def materialization_range(
    *, tz_name: str, days: int, now: dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
    """From now to the end of the location's local day `days` after today."""
    tz = zone(tz_name)
    today = local_date(now, tz)
    return now, local_day_start(today + dt.timedelta(days=days + 1), tz)


def _rule_specs_for(
    resources: Sequence[Resource],
) -> tuple[dict[UUID, list[RuleSpec]], dict[UUID, list[RuleSpec]]]:
    resource_ids = [resource.pk for resource in resources]
    location_ids = {resource.location_id for resource in resources}
    by_resource: dict[UUID, list[RuleSpec]] = defaultdict(list)
    by_location: dict[UUID, list[RuleSpec]] = defaultdict(list)
    rules = AvailabilityRule.objects.filter(resource_id__in=resource_ids) | (
        AvailabilityRule.objects.filter(location_id__in=location_ids)
    )
    for rule in rules:
        if rule.resource_id is not None:
            by_resource[rule.resource_id].append(RuleSpec.of(rule))
        elif rule.location_id is not None:
            by_location[rule.location_id].append(RuleSpec.of(rule))
    return by_resource, by_location


def slots_materialize(
    *, resource: Resource, start: dt.datetime, end: dt.datetime
) -> MaterializationResult:
    """Make `resource`'s slots starting in [start, end) match its rules (idempotent)."""
    by_resource, by_location = _rule_specs_for([resource])
    hours = OpeningHours(
        own=by_resource.get(resource.pk, []), location=by_location.get(resource.location_id, [])
    )
    tz_name = Location.objects.values_list("timezone", flat=True).get(pk=resource.location_id)
    steps = _allowed_steps(hours=hours, tz_name=tz_name, start=start, end=end)
    return _slots_apply(resource_id=resource.pk, steps=steps, start=start, end=end)


# Materialization compares and writes instants as Unix seconds: loading and dumping
# datetimes through the driver costs more than everything else it does.
_Step = tuple[int, int, int | None]  # (starts_at, ends_at, capacity)


def _allowed_steps(
    *, hours: OpeningHours, tz_name: str, start: dt.datetime, end: dt.datetime
) -> list[_Step]:
    tz = zone(tz_name)
    first_day = local_date(start, tz) - dt.timedelta(days=1)
    last_day = local_date(end, tz)
    return [
        (int(slot_start.timestamp()), int(slot_end.timestamp()), capacity)
        for slot_start, slot_end, capacity in hours.allowed_slots(
            tz_name=tz_name, first_day=first_day, last_day=last_day
        )
        if start <= slot_start < end
    ]


def _overlaps_any(start: int, end: int, taken: list[tuple[int, int]]) -> bool:
    return any(start < taken_end and taken_start < end for taken_start, taken_end in taken)


@transaction.atomic
def _slots_apply(
    *, resource_id: UUID, steps: list[_Step], start: dt.datetime, end: dt.datetime
) -> MaterializationResult:
    # Lock order shared with the booking core: the Resource row first …
    if not Resource.objects.select_for_update().filter(pk=resource_id).exists():
        return MaterializationResult()
    availability_cache.slots_changed(resource_ids=[resource_id])
    result = MaterializationResult()
    wanted = {step_start: (step_end, capacity) for step_start, step_end, capacity in steps}
    table = connection.ops.quote_name(SlotInstance._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT id, extract(epoch FROM starts_at)::bigint, extract(epoch FROM ends_at)::bigint,
                   capacity, status, booked, held
            FROM {table}
            WHERE resource_id = %s AND starts_at >= %s AND starts_at < %s
            """,  # noqa: S608 — the table name is ours; every value is a parameter
            [resource_id, start, end],
        )
        existing = cursor.fetchall()

    to_delete: list[UUID] = []
    to_block: list[UUID] = []
    to_unblock: list[UUID] = []
    new_capacity: dict[int | None, list[UUID]] = defaultdict(list)
    present: set[int] = set()
    occupied_elsewhere: list[tuple[int, int]] = []
    for slot_id, slot_start, slot_end, capacity, status, booked, held in existing:
        want = wanted.get(slot_start)
        if want is not None and want[0] == slot_end:
            result.kept += 1
            present.add(slot_start)
            if capacity != want[1]:
                new_capacity[want[1]].append(slot_id)
            if status == SlotInstance.Status.BLOCKED:
                to_unblock.append(slot_id)
        elif booked or held:
            # No rule allows it, but people are on it: keep it for the tenant to resolve.
            result.blocked += 1
            present.add(slot_start)
            occupied_elsewhere.append((slot_start, slot_end))
            if status != SlotInstance.Status.BLOCKED:
                to_block.append(slot_id)
        else:
            to_delete.append(slot_id)

    # … then the slot rows it changes, in starts_at order.
    changing = [
        *to_delete,
        *to_block,
        *to_unblock,
        *(i for ids in new_capacity.values() for i in ids),
    ]
    for batch in _batches(changing, SLOT_ID_BATCH):
        list(
            SlotInstance.objects.filter(id__in=batch)
            .order_by("starts_at")
            .select_for_update()
            .values_list("id", flat=True)
        )

    now = timezone.now()
    with connection.cursor() as cursor:
        for batch in _batches(to_delete, SLOT_ID_BATCH):
            # Only free rows die, whatever happened since they were read.
            cursor.execute(
                f"DELETE FROM {table} WHERE id = ANY(%s) AND booked = 0 AND held = 0",  # noqa: S608
                [batch],
            )
            result.removed += cursor.rowcount
    for batch in _batches(to_block, SLOT_ID_BATCH):
        SlotInstance.objects.filter(id__in=batch).update(
            status=SlotInstance.Status.BLOCKED, updated_at=now
        )
    for batch in _batches(to_unblock, SLOT_ID_BATCH):
        SlotInstance.objects.filter(id__in=batch).update(
            status=_status_from_counters(), updated_at=now
        )
    for capacity, ids in new_capacity.items():
        for batch in _batches(ids, SLOT_ID_BATCH):
            SlotInstance.objects.filter(id__in=batch).update(capacity=capacity, updated_at=now)

    missing = [
        step
        for step in steps
        if step[0] not in present
        and not (occupied_elsewhere and _overlaps_any(step[0], step[1], occupied_elsewhere))
    ]
    result.created = _slots_insert(resource_id=resource_id, steps=missing, now=now)
    return result


def _slots_insert(*, resource_id: UUID, steps: list[_Step], now: dt.datetime) -> int:
    """One INSERT … SELECT over arrays per batch: an order of magnitude faster than
    `bulk_create`, which compiles every value of every row in Python."""
    table = connection.ops.quote_name(SlotInstance._meta.db_table)
    sql = f"""
        INSERT INTO {table}
            (id, resource_id, starts_at, ends_at, capacity, booked, held, status,
             created_at, updated_at)
        SELECT new.id, %s, to_timestamp(new.starts_at), to_timestamp(new.ends_at),
               new.capacity, 0, 0, %s, %s, %s
        FROM unnest(%s::uuid[], %s::bigint[], %s::bigint[], %s::smallint[])
            AS new(id, starts_at, ends_at, capacity)
    """  # noqa: S608 — the table name is ours; every value is a parameter
    inserted = 0
    with connection.cursor() as cursor:
        for offset in range(0, len(steps), SLOT_INSERT_BATCH):
            batch = steps[offset : offset + SLOT_INSERT_BATCH]
            cursor.execute(
                sql,
                [
                    resource_id,
                    SlotInstance.Status.OPEN.value,
                    now,
                    now,
                    [uuid7() for _ in batch],
                    [step[0] for step in batch],
                    [step[1] for step in batch],
                    [step[2] for step in batch],
                ],
            )
            inserted += cursor.rowcount
    return inserted


def _status_from_counters() -> Case:
    return Case(
        When(booked=0, held=0, then=Value(SlotInstance.Status.OPEN)),
        When(
            session_capacity__isnull=False,
            session_capacity__lte=F("booked") + F("held"),
            then=Value(SlotInstance.Status.FULL),
        ),
        default=Value(SlotInstance.Status.PARTIAL),
    )


def _batches(items: list[UUID], size: int) -> Iterable[list[UUID]]:
    for offset in range(0, len(items), size):
        yield items[offset : offset + size]


def resources_materialize(
    *,
    resources: Sequence[Resource] | None = None,
    resource_ids: Iterable[UUID] | None = None,
    days: int | None = None,
    now: dt.datetime | None = None,
    on_resource_done: Callable[[Resource, MaterializationResult], None] | None = None,
) -> MaterializationResult:
    """Materialize from now to the horizon for the given resources (or ids); inactive
    ones are skipped. Rules are read once; resources sharing their location's rules
    share the computed grid."""
    now = now or timezone.now()
    if resources is None:
        resources = list(
            Resource.objects.filter(pk__in=list(resource_ids or ()), is_active=True)
            .select_related("location")
            .order_by("pk")
        )
    else:
        resources = [resource for resource in resources if resource.is_active]
    if not resources:
        return MaterializationResult()
    days = days if days is not None else materialization_horizon_days()
    by_resource, by_location = _rule_specs_for(resources)
    shared: dict[tuple[UUID, str], list[_Step]] = {}
    total = MaterializationResult()
    for resource in resources:
        tz_name = resource.location.timezone
        start, end = materialization_range(tz_name=tz_name, days=days, now=now)
        own = by_resource.get(resource.pk, [])
        hours = OpeningHours(own=own, location=by_location.get(resource.location_id, []))
        if own:
            steps = _allowed_steps(hours=hours, tz_name=tz_name, start=start, end=end)
        else:
            key = (resource.location_id, tz_name)
            if key not in shared:
                shared[key] = _allowed_steps(hours=hours, tz_name=tz_name, start=start, end=end)
            steps = shared[key]
        result = _slots_apply(resource_id=resource.pk, steps=steps, start=start, end=end)
        total += result
        if on_resource_done is not None:
            on_resource_done(resource, result)
    logger.info(
        "slots.materialized",
        extra={"resources": len(resources)}
        | {f"slots_{name}": count for name, count in total.as_dict().items()},
    )
    return total


def tenant_materialize(
    *,
    days: int | None = None,
    now: dt.datetime | None = None,
    on_resource_done: Callable[[Resource, MaterializationResult], None] | None = None,
) -> MaterializationResult:
    """Every active resource of the current tenant, from now to the horizon."""
    resources = list(
        Resource.objects.filter(is_active=True).select_related("location").order_by("pk")
    )
    return resources_materialize(
        resources=resources, days=days, now=now, on_resource_done=on_resource_done
    )


PRUNE_BATCH = 5000


def slots_prune(*, now: dt.datetime | None = None, batch: int = PRUNE_BATCH) -> int:
    """Deletes the current tenant's slots that ended more than SLOT_RETENTION_DAYS ago,
    in batches (each its own short transaction, so live booking locks wait for a few
    milliseconds at most). Nothing reads them: availability starts at now, bookings carry
    their own start and end, and materialization only ever writes from now on."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.SLOT_RETENTION_DAYS)
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                SlotInstance.objects.filter(ends_at__lt=cutoff)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch]
            )
            if not ids:
                break
            # Holds go with their slot (CASCADE); by now any on such an old slot elapsed.
            SlotInstance.objects.filter(pk__in=ids).delete()
            deleted += len(ids)
    if deleted:
        logger.info("slots.pruned", extra={"slots": deleted, "before": cutoff.isoformat()})
    return deleted
