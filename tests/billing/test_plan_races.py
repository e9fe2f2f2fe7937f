"""Allowances hold under concurrency: requests racing for the last place a plan allows
get it once (rows committed, each request on its own connection)."""

from __future__ import annotations

from apps.accounts.models import Tenant
from apps.resources.models import Location, Resource
from apps.resources.services import resource_create
from tests.bookings.races import race
from tests.plugins.tenant_tables import business_tables_truncate


def test_ten_requests_for_the_last_resource_a_plan_allows_add_exactly_one(committed):
    tenant: Tenant = committed
    tenant.plan, tenant.status = "starter", Tenant.Status.ACTIVE  # five resources
    tenant.save(update_fields=["plan", "status"])
    try:
        location = Location.objects.create(name="Camden", timezone="Europe/London")
        for number in range(4):
            Resource.objects.create(name=f"Room {number}", location=location)

        def add(number: int):
            return lambda: resource_create(name=f"Racer {number}", location=location.pk)

        result = race(tenant, [add(number) for number in range(10)])

        assert result.crashes == []
        assert result.count() == 1
        assert result.count("PLAN_LIMIT") == 9
        assert Resource.objects.filter(is_active=True).count() == 5
    finally:
        business_tables_truncate(tenant.schema_name)
        tenant.plan, tenant.status = "trial", Tenant.Status.TRIAL
        tenant.save(update_fields=["plan", "status"])
