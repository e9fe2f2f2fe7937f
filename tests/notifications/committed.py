"""Committed data for tests that start real worker processes: a tenant of its own (so no
other test ever sees these rows), dropped at the end of the session."""

from __future__ import annotations

import email
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.accounts.models import Tenant, User
from apps.accounts.services import tenant_create
from apps.bookings.models import Booking, Customer
from apps.core.tenancy import use_public_schema
from apps.notifications.models import Notification
from apps.resources.models import Location, Resource, Service
from tests.notifications.factories import (
    BookingFactory,
    CustomerFactory,
    ResourceFactory,
    ServiceFactory,
)


@pytest.fixture(scope="session")
def worker_tenant(django_db_setup: None, django_db_blocker: Any) -> Iterator[Tenant]:
    slug = f"notif-{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        # The owner is an existing test user: deleting a user reaches into tenant tables
        # (resources link to users), which the public schema does not have.
        owner = User.objects.get(email="owner@acme.test")
        tenant = tenant_create(slug=slug, name="Bright Smiles", owner=owner, timezone="UTC")
    yield tenant
    with django_db_blocker.unblock():
        use_public_schema()
        tenant.delete(force_drop=True)


@pytest.fixture
def committed(worker_tenant: Tenant, django_db_blocker: Any) -> Iterator[Tenant]:
    """Runs the test inside the worker tenant in autocommit mode; empties it afterwards."""
    with django_db_blocker.unblock():
        worker_tenant.refresh_from_db()
        with tenant_context(worker_tenant):
            try:
                yield worker_tenant
            finally:
                Notification.objects.all().delete()
                Booking.objects.all().delete()
                Customer.objects.all().delete()
                Service.objects.all().delete()
                Resource.objects.all().delete()
                Location.objects.all().delete()


def due_notifications(
    count: int, *, due_at: datetime | None = None, spread: float = 0.0
) -> list[Notification]:
    """`count` confirmed bookings (committed), each with a confirmation email due at
    `due_at` (default: now), the i-th one `i * spread` seconds later."""
    resource = ResourceFactory()
    service = ServiceFactory(resources=[resource], name="Cleaning")
    customer = CustomerFactory(email="patient@example.test", name="Pat Smith")
    first = timezone.now().replace(microsecond=0) + timedelta(days=5)
    bookings = Booking.objects.bulk_create(
        BookingFactory.build(
            resource=resource,
            service=service,
            customer=customer,
            starts_at=first + timedelta(minutes=30 * i),
            ends_at=first + timedelta(minutes=30 * i + 30),
        )
        for i in range(count)
    )
    due_at = due_at or timezone.now()
    return Notification.objects.bulk_create(
        Notification(
            booking=booking,
            kind=Notification.Kind.CONFIRMED,
            channel=Notification.Channel.EMAIL,
            scheduled_for=due_at + timedelta(seconds=i * spread),
            next_attempt_at=due_at + timedelta(seconds=i * spread),
        )
        for i, booking in enumerate(bookings)
    )


def eml_message_ids(directory: Path) -> list[str]:
    """The Message-ID of every complete .eml file (partial writes are `.part` files)."""
    ids = []
    for path in sorted(directory.glob("*.eml")):
        with path.open("rb") as stream:
            ids.append(str(email.message_from_binary_file(stream)["Message-ID"]))
    return ids
