"""Two first bookings with one email address at the same moment (a double submit, two
tabs): each thread has its own PostgreSQL connection, all start together. One customer
row comes of it, with one audit entry, and every booking points at it; no request
fails for it (the customer's INSERT does nothing for the later ones, no savepoint)."""

from __future__ import annotations

from functools import partial

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType

from apps.bookings.models import Booking, Customer
from apps.bookings.services import CustomerInput, booking_hold
from tests.bookings.factories import (
    CUSTOMER,
    ResourceFactory,
    ServiceFactory,
    future_start,
    slots_create,
)
from tests.bookings.races import race
from tests.plugins.tenant_tables import business_tables_truncate

pytestmark = pytest.mark.slow


def test_simultaneous_first_bookings_make_one_customer(committed):
    resources = [ResourceFactory.create() for _ in range(6)]
    service = ServiceFactory.create(resources=resources)
    start = future_start(days=3)
    for resource in resources:
        slots_create(resource=resource, starts_at=start)
    try:
        calls = [
            partial(
                booking_hold,
                service=service,
                resource=resource,
                starts_at=start,
                customer=CustomerInput(name=f"Tab {n}", email="Twin@Race.example"),
                actor=CUSTOMER,
            )
            for n, resource in enumerate(resources)
        ]
        result = race(committed, calls)

        assert result.crashes == []
        assert result.count() == 6
        (customer,) = Customer.objects.all()
        assert set(Booking.objects.values_list("customer_id", flat=True)) == {customer.pk}
        entries = LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Customer),
            object_pk=str(customer.pk),
            action=LogEntry.Action.CREATE,
        )
        assert entries.count() == 1
    finally:
        business_tables_truncate(committed.schema_name)
