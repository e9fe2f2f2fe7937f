"""A business of its own with committed rows for the trace and log tests: a bookable
catalogue and a webhook endpoint subscribed to `booking.held`, so a booking request
queues a `webhooks.send` task after it commits."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from apps.accounts.models import Tenant, User
from apps.accounts.services import tenant_create
from apps.core.tenancy import use_public_schema
from apps.notifications.webhooks.services import webhook_endpoint_create
from tests.api.calls import Catalogue
from tests.api.factories import (
    LocationFactory,
    ResourceFactory,
    ServiceFactory,
    future_start,
    slots_create,
)
from tests.notifications.webhooks.receivers import WebhookReceiver
from tests.plugins.audit_guard import audit_guard_lifted
from tests.plugins.tenant_tables import BUSINESS_APPS, business_tables

SLUG = "traces"


@dataclass(frozen=True)
class TracedBusiness:
    tenant: Tenant
    catalogue: Catalogue
    receiver: WebhookReceiver

    @property
    def host(self) -> str:
        return f"{SLUG}.{settings.BASE_DOMAIN}"


def _tables_truncate(schema: str) -> None:
    tables = ", ".join(
        f'"{schema}"."{table}"' for table in business_tables((*BUSINESS_APPS, "notifications"))
    )
    with audit_guard_lifted(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} CASCADE")


@pytest.fixture(scope="session")
def traced_business(django_db_setup: None, django_db_blocker: Any) -> Iterator[TracedBusiness]:
    receiver = WebhookReceiver().start()
    with django_db_blocker.unblock():
        tenant = Tenant.objects.filter(slug=SLUG).first()
        if tenant is None:
            owner, _ = User.objects.get_or_create(email=f"owner@{SLUG}.test")
            tenant = tenant_create(slug=SLUG, name="Traces", owner=owner)
        _tables_truncate(tenant.schema_name)
        with schema_context(tenant.schema_name):
            location = LocationFactory.create()
            resource = ResourceFactory.create(location=location)
            service = ServiceFactory.create(resources=[resource])
            slots = slots_create(resource=resource, starts_at=future_start(), count=4)
            webhook_endpoint_create(url=receiver.url, events=["booking.held"])
        use_public_schema()
    try:
        yield TracedBusiness(tenant, Catalogue(location, resource, service, slots), receiver)
    finally:
        receiver.stop()
        with django_db_blocker.unblock():
            _tables_truncate(tenant.schema_name)
            use_public_schema()
