"""`python -m tests.outages.seed`, run by the outage tests against their own database:
gives acme a bookable service (one resource, open every day, slots materialized) and an
API key, and prints what the tests need as JSON."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys

import django


def seed() -> dict[str, object]:
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from apps.accounts.models import Tenant
    from apps.api.services import api_key_create
    from apps.calendars.grid.services import resources_materialize
    from apps.calendars.models import SlotInstance
    from apps.calendars.rules.services import availability_rule_create
    from apps.resources.models import Resource
    from apps.resources.services import location_create, resource_create, service_create

    tenant = Tenant.objects.get(slug="acme")
    with tenant_context(tenant):
        location = location_create(name="Outage street", timezone="Europe/London")
        resource = resource_create(name="Outage practitioner", location=location)
        service = service_create(name="Outage check-up", duration_minutes=30, resources=[resource])
        availability_rule_create(
            kind="weekly",
            location=location,
            days_of_week=[1, 2, 3, 4, 5, 6, 7],
            start_time="08:00",
            end_time="18:00",
            granularity_minutes=30,
        )
        located = list(Resource.objects.filter(pk=resource.pk).select_related("location"))
        resources_materialize(resources=located, days=14)
        _, api_key = api_key_create(role="admin", name="outage tests")
        # Well past any minimum notice, well before the horizon.
        after = timezone.now() + dt.timedelta(days=3)
        slots = SlotInstance.objects.filter(
            resource=resource, starts_at__gte=after, status=SlotInstance.Status.OPEN
        ).order_by("starts_at")[:6]
        slot_ids = [str(slot.id) for slot in slots]
    return {
        "api_key": api_key,
        "service_id": str(service.id),
        "service_name": service.name,
        "slot_ids": slot_ids,
    }


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.outages.settings")
    django.setup()
    json.dump(seed(), sys.stdout)
