"""The demo tenant's schedule (the "schedule" part of fixtures/demo.json): a location,
its people and room, services and weekly hours, written through the services and then
materialized, so a fresh `make run` shows real availability.

Loading is idempotent: a location, resource or service that exists by name is kept
as it is, and so is a rule with the same scope, kind, days and hours; the grid is a diff.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from apps.calendars.grid.services import MaterializationResult, tenant_materialize
from apps.calendars.models import AvailabilityRule
from apps.calendars.rules.services import availability_rule_create
from apps.calendars.timezones import parse_wall_time
from apps.resources.models import Location, Resource, Service
from apps.resources.services import location_create, resource_create, service_create

logger = logging.getLogger(__name__)


@dataclass
class DemoScheduleResult:
    created: dict[str, int] = field(
        default_factory=lambda: {"locations": 0, "resources": 0, "services": 0, "rules": 0}
    )
    slots: MaterializationResult = field(default_factory=MaterializationResult)


def _rule_exists(*, scope: Mapping[str, Any], rule: Mapping[str, Any]) -> bool:
    return AvailabilityRule.objects.filter(
        **scope,
        kind=rule["kind"],
        days_of_week=sorted(rule.get("days_of_week", [])),
        start_minute=parse_wall_time(rule["start_time"]),
        end_minute=parse_wall_time(rule["end_time"]),
    ).exists()


def demo_schedule_load(*, spec: Mapping[str, Any]) -> DemoScheduleResult:
    """Creates what `spec` describes in the current tenant (whatever is missing), then
    materializes every grid to the horizon."""
    result = DemoScheduleResult()
    with transaction.atomic():
        location = Location.objects.filter(name=spec["location"]["name"]).first()
        if location is None:
            location = location_create(**spec["location"])
            result.created["locations"] += 1

        resources: dict[str, Resource] = {}
        for item in spec["resources"]:
            found = Resource.objects.filter(location=location, name=item["name"]).first()
            if found is None:
                found = resource_create(location=location, **item)
                result.created["resources"] += 1
            resources[item["name"]] = found

        for item in spec["services"]:
            if not Service.objects.filter(name=item["name"]).exists():
                delivered_by = [resources[name] for name in item["resources"]]
                service_create(**{**item, "resources": delivered_by})
                result.created["services"] += 1

        for item in spec["rules"]:
            rule = dict(item)
            target = rule.pop("for")
            scope: dict[str, Any] = (
                {"location": location} if target == "location" else {"resource": resources[target]}
            )
            if not _rule_exists(scope=scope, rule=rule):
                availability_rule_create(**scope, **rule)
                result.created["rules"] += 1

    # After the commit: the rules' own rebuild tasks may run too, and find nothing to do.
    result.slots = tenant_materialize()
    logger.info(
        "demo.schedule_loaded",
        extra={f"added_{name}": count for name, count in result.created.items()}
        | {f"slots_{name}": count for name, count in result.slots.as_dict().items()},
    )
    return result
