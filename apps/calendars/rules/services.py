"""Writes for availability rules.

Rules: every function validates its whole input and raises `ValidationFailed` listing
every problem by field; nothing is written unless all of it is valid. Rules of one kind
and one scope (a resource, or a location) that would overlap on some date are refused;
between kinds and scopes the precedence documented on `AvailabilityRule` decides. A
committed rule change enqueues `calendars.materialize_resource` for the resources it
affects; the grid itself is made in apps/calendars/grid/services.py.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils.translation import gettext, gettext_lazy

from apps.calendars.grid.services import slots_materialize_enqueue
from apps.calendars.models import AvailabilityRule
from apps.calendars.rules.opening_hours import RuleSpec
from apps.calendars.timezones import (
    MINUTES_PER_DAY,
    format_wall_time,
    parse_wall_time,
)
from apps.resources import field_checks as check
from apps.resources.models import Location, Resource

logger = logging.getLogger(__name__)

ISO_WEEKDAY_NAMES = {1: "Mon", 2: "Tue", 3: "Wed", 4: "Thu", 5: "Fri", 6: "Sat", 7: "Sun"}
# Whole sentences per kind of rule and scope, so that translators see each one entire.
_OVERLAPS = {
    (AvailabilityRule.Kind.WEEKLY, "resource"): gettext_lazy(
        "These hours overlap another weekly rule of the same resource (%(rule)s). "
        "Change or remove that rule first."
    ),
    (AvailabilityRule.Kind.WEEKLY, "location"): gettext_lazy(
        "These hours overlap another weekly rule of the same location (%(rule)s). "
        "Change or remove that rule first."
    ),
    (AvailabilityRule.Kind.DATE_RANGE, "resource"): gettext_lazy(
        "These hours overlap another date-range rule of the same resource (%(rule)s). "
        "Change or remove that rule first."
    ),
    (AvailabilityRule.Kind.DATE_RANGE, "location"): gettext_lazy(
        "These hours overlap another date-range rule of the same location (%(rule)s). "
        "Change or remove that rule first."
    ),
    (AvailabilityRule.Kind.EXCEPTION, "resource"): gettext_lazy(
        "These hours overlap another exception of the same resource (%(rule)s). "
        "Change or remove that rule first."
    ),
    (AvailabilityRule.Kind.EXCEPTION, "location"): gettext_lazy(
        "These hours overlap another exception of the same location (%(rule)s). "
        "Change or remove that rule first."
    ),
}
MAX_RULE_CAPACITY = 1000


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
        problems.add(
            "kind", gettext("Choose one of: %(choices)s.") % {"choices": ", ".join(kinds.values)}
        )
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
            gettext("The hours are shorter than one %(minutes)s-minute slot.")
            % {"minutes": granularity},
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
                str(_OVERLAPS[(kind, "resource" if resource else "location")])
                % {"rule": _describe(other_spec)},
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
