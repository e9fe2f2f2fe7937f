"""Erasing one customer from several requests at once (a double click, a retry while the
first is still running): each thread has its own PostgreSQL connection, all start
together, and the erasure happens exactly once."""

from __future__ import annotations

from functools import partial

import pytest
from auditlog.models import LogEntry
from django.core import mail

from apps.bookings.customer_data import customer_erase
from apps.bookings.models import Booking, BookingEvent, Customer
from apps.bookings.services import CustomerInput, booking_confirm, booking_hold
from apps.notifications.models import Notification
from tests.bookings.factories import (
    CUSTOMER,
    STAFF,
    ResourceFactory,
    ServiceFactory,
    future_start,
    slots_create,
)
from tests.bookings.races import race
from tests.plugins.tenant_tables import business_tables_truncate

pytestmark = pytest.mark.slow


def test_concurrent_erasures_of_one_customer_erase_once(committed):
    # given a customer with two confirmed bookings to come (committed)
    resource = ResourceFactory.create()
    service = ServiceFactory.create(resources=[resource])
    bookings = []
    for days in (3, 4):
        start = future_start(days=days)
        slots_create(resource=resource, starts_at=start)
        held = booking_hold(
            service=service,
            resource=resource,
            starts_at=start,
            customer=CustomerInput(name="Rita Racewell", email="rita@race.example"),
            actor=CUSTOMER,
        )
        bookings.append(booking_confirm(booking=held, actor=CUSTOMER))
    customer = Customer.objects.get(pk=bookings[0].customer_id)
    mail.outbox = []
    try:
        # when six requests erase them at once
        calls = [
            partial(customer_erase, customer=customer, actor=STAFF, reason=f"Ticket {i}")
            for i in range(6)
        ]
        result = race(committed, calls)

        # then one did the work, the others found it done; nothing failed
        assert result.crashes == []
        assert result.count() == 6
        outcomes = [outcome.value for outcome in result.outcomes]
        assert sorted(o.already_erased for o in outcomes) == [False] + [True] * 5
        assert sum(o.bookings_cancelled for o in outcomes) == 2
        # each booking was cancelled once, its customer told once, the erasure recorded once
        ids = [booking.pk for booking in bookings]
        assert set(Booking.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
            "cancelled"
        }
        assert BookingEvent.objects.filter(booking_id__in=ids, kind="cancelled").count() == 2
        notices = Notification.objects.filter(booking_id__in=ids, kind="cancelled")
        assert sorted(notices.values_list("status", flat=True)) == ["sent", "sent"]
        assert [m.to for m in mail.outbox if "cancel" in m.subject.lower()] == [
            ["rita@race.example"],
            ["rita@race.example"],
        ]
        assert not notices.exclude(recipient_encrypted="").exists()
        erased_entries = LogEntry.objects.filter(
            object_pk=str(customer.pk), additional_data__action="customer.erased"
        )
        assert erased_entries.count() == 1
        assert Customer.objects.get(pk=customer.pk).email_hash == ""
    finally:
        business_tables_truncate(committed.schema_name)
